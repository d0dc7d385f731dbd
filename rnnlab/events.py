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
    """`done` of `total` units of a named task; `info` is shown next to the bar."""

    task: str
    done: int
    total: int
    info: str = ""


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
    """A sweep cell changed state (queued/running/done/failed/skipped) or made progress."""

    index: int
    label: str
    state: str
    info: str = ""


Event = Note | Progress | RunStarted | EpochDone | RunFinished | CellUpdate
EventSink = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The default sink: drop every event (library use without a UI)."""
