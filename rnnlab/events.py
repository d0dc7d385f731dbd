"""What the runner tells the outside world. The UI renders these; nothing here renders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Note:
    """A line worth telling the user (e.g. 'generating data for L=100')."""

    text: str


@dataclass(frozen=True)
class Progress:
    """`done` of `total` units of a named task; `info` is shown next to the bar. Training's
    batches say which epoch (or evaluation interval of an update budget) of how many they
    belong to (0: not training)."""

    task: str
    done: int
    total: int
    info: str = ""
    epoch: int = 0
    epochs: int = 0


@dataclass(frozen=True)
class RunStarted:
    """A run began. `percentages` and `baselines` are its dataset's declarations (metric keys
    given in %, and {metric key: label} of trivial predictors), for showing its metrics."""

    run_id: str
    run_dir: Path
    config: dict[str, Any]
    percentages: tuple[str, ...] = ()
    baselines: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EpochDone:
    """One epoch (or one evaluation interval of update-based training) finished."""

    epoch: int
    epochs: int
    metrics: dict[str, Any] = field(default_factory=dict)
    updates_total: int | None = None  # set when training counts updates, not epochs


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    run_dir: Path
    summary: dict[str, Any]


@dataclass(frozen=True)
class CellUpdate:
    """A sweep cell changed state or made progress. Structured, so that a UI can render it
    as it likes (a live table, plain lines, JSON lines); nothing here is display text."""

    index: int
    label: str  # which cell, e.g. 'lstm L=100 seed 3 adam'
    state: str  # queued | running | done | failed | skipped | elsewhere
    info: str = ""  # why it failed, or which process runs it elsewhere (words, no metrics)
    run_id: str = ""
    epoch: int | None = None  # where a running cell is: epoch of epochs ...
    epochs: int | None = None
    updates: int | None = None  # ... or, for update-based training, updates of updates_total
    updates_total: int | None = None
    metric: str = ""  # the dataset's primary metric key
    dev: float | None = None  # its latest dev value (running)
    test: float | None = None  # its test value (done, skipped)
    percentages: tuple[str, ...] = ()  # the metric keys the dataset gives in %

Event = Note | Progress | RunStarted | EpochDone | RunFinished | CellUpdate
EventSink = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The default sink: drop every event (library use without a UI)."""
