"""The executor contract: where the cells of a sweep run (entry-point group
`rnnlab.executors`)."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnlab.contracts.base import Plugin
from rnnlab.events import EventSink

if TYPE_CHECKING:
    from rnnlab.config import TrainConfig


@dataclass(frozen=True)
class SweepCell:
    """One cell of a sweep for an executor to run. `task` is opaque, picklable data (a
    `rnnlab.sweep.CellTask`): hand it to `ExecutorRequest.run_cell` on a worker. `config` is
    the cell's resolved configuration (e.g. to load each dataset once and send it along, see
    `run_cell`'s `data`); `resume` the directory of an interrupted run the cell continues (''
    for a new run)."""

    index: int
    label: str
    task: Any
    config: TrainConfig
    resume: str = ""


@dataclass(frozen=True)
class ExecutorRequest:
    """What a sweep asks its executor to run. `jobs` is --jobs (workers), `scheduler`
    --scheduler (the address of a cluster to use; None: start what is needed here). Report
    each cell's result with `done(cell, result)` as it ends, and progress (`CellUpdate`s,
    such as `run_cell` sends to its `progress`) with `emit`. Runs must land in `runs_dir`
    (`run_cell` writes them there unless its task says otherwise)."""

    cells: list[SweepCell]
    jobs: int
    scheduler: str | None
    runs_dir: Path
    emit: EventSink
    done: Callable[[SweepCell, dict[str, Any]], None]
    # On a worker: train one cell, `run_cell(task, progress=None, *, data=None, store=None,
    # learner=None)` (`learner`: a model to train instead of a fresh one, e.g. a pack's member),
    # and return its result for `done` ({'status': 'done' or 'failed', 'info', 'run_id',
    # 'dir', 'test'}); it never raises for a failed run. `progress` receives the cell's CellUpdates;
    # `data` is the cell's data if it was sent along (else it is loaded from the task's
    # data_dir); `store` a run store to write to instead of the sweep's (e.g. a worker's
    # scratch directory). A module-level function: it pickles, to be sent to workers.
    run_cell: Callable[..., dict[str, Any]]
    # The result to report for a cell whose worker died (the run itself could not report).
    worker_failed: Callable[[BaseException], dict[str, Any]]
    # Cells that can start now that others have ended (a curriculum's later stage once its
    # previous stage is done), each to run and report like `cells`: an executor with workers
    # free may ask after each result; one that never asks gets them in a later request.
    more: Callable[[], list[SweepCell]] = lambda: []


class ExecutorPlugin(Plugin):
    """Runs the cells of a sweep: worker processes here (`local`), a Dask cluster (`dask`), or
    whatever a third-party package provides (SLURM, Ray, Kubernetes), chosen with
    `rnnlab sweep --executor NAME`. The sweep decides which cells run (claims, resumes,
    skips) and records how they end; the executor only runs them.

    `in_turn`: True for an executor that asks `request.more()` after each result and runs
    `request.jobs` cells at a time: it is then handed `jobs` cells at first and the next as
    each ends, so that a second sweep of the same grid (another terminal, another machine)
    finds the cells not yet started unclaimed and runs them. False (the default): every cell
    is handed out, and claimed, at once (e.g. to pack them)."""

    in_turn: bool = False

    @abc.abstractmethod
    def run(self, request: ExecutorRequest) -> None:
        """Run every cell of `request` and report each with `request.done`. On Ctrl-C or
        SIGTERM (KeyboardInterrupt) ask running cells to stop (a run stops between two batches
        and is saved as interrupted) and re-raise; the next sweep resumes them."""
