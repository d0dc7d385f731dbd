"""One cell on a worker, whatever the executor: the task it is handed, the training, the
result it reports, and its progress as CellUpdates."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rnnlab
from rnnlab import config as cfgmod
from rnnlab.contracts import Data, Learner
from rnnlab.errors import RnnlabError
from rnnlab.events import CellUpdate, EpochDone, Event, EventSink, RunStarted, ignore
from rnnlab.registry import default as default_registry
from rnnlab.runs import Run, RunStore
from rnnlab.sweep.grid import Cell, primary_value

RESUME_WAIT = 15.0  # s a worker waits for a run still locked by a dying worker of a dead sweep


@dataclass(frozen=True)
class CellTask:
    """What a worker needs to run a cell (`SweepCell.task`): plain, picklable data."""

    config: dict[str, Any]  # the resolved TrainConfig, as a dict
    key: str  # the cell's key, tagged on its run
    recipe: str
    sweep: str  # the sweep id, tagged on its run
    index: int
    label: str
    resume: str = ""  # directory of an interrupted run to continue
    data_files: dict[str, Any] | None = None  # the record of data sent along with the task
    resume_files: dict[str, bytes] | None = None  # that run's files, for a worker without it
    parent_files: tuple[str, dict[str, bytes]] | None = None  # (id, files) of the run it
    # warm-starts from, for a worker without it
    pack: dict[str, Any] | None = None  # trained in a pack: its size, this member, the device
    stage: tuple[int, int] | None = None  # a curriculum's stage: (this one, how many)

    @classmethod
    def of(cls, sweep_id: str, cell: Cell) -> CellTask:
        return cls(cell.config.to_dict(), cell.key, cell.recipe, sweep_id, cell.index,
                   cell.label, cell.resume,
                   stage=(cell.stage, cell.stages) if cell.stages else None)


def run_cell(task: CellTask, progress: Callable[[CellUpdate], None] | None = None, *,
             data: Data | None = None, store: str | Path | None = None,
             learner: Learner | None = None) -> dict[str, Any]:
    """Train one cell (`ExecutorRequest.run_cell`); never raises for a training failure (the
    result says it). `progress` receives its CellUpdates, `data` is its data if it was sent
    along, `store` a run store to write to instead of the sweep's, `learner` the model to
    train (a pack's member) instead of a fresh one."""
    torch = sys.modules.get("torch")  # imported later, it takes OMP_NUM_THREADS=1
    if torch is not None and threading.current_thread() is threading.main_thread():
        torch.set_num_threads(1)
    emit: EventSink = ignore if progress is None else CellProgress(progress, task.index,
                                                                   task.label)
    cfg = cfgmod.merge(task.config)
    tags: dict[str, Any] = {"sweep": task.sweep, "cell": task.key, "recipe": task.recipe}
    if task.pack:
        tags["pack"] = task.pack
    if task.stage:
        tags.update(stage=task.stage[0], stages=task.stage[1])
    try:
        if task.resume:
            # the sweep's data folder is where moved data files are looked for (by hash)
            run = rnnlab.run_training(resume=Run(Path(task.resume)), emit=emit, data=data,
                                      data_files=task.data_files, data_dir=cfg.data_dir,
                                      lock_wait=RESUME_WAIT)
        else:
            run = rnnlab.run_training(cfg, emit=emit, data=data, data_files=task.data_files,
                                      store=RunStore(store) if store else None, tags=tags,
                                      learner=learner)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # the cell failed; the sweep goes on
        message = " ".join(str(exc).split())
        if not isinstance(exc, RnnlabError):
            message = f"{type(exc).__name__}: {message}"
        return {"status": "failed", "info": message}
    return {"status": "done", "info": "", "run_id": run.id, "dir": str(run.dir),
            "test": dict(run.summary.get("test") or {})}


def worker_failed(exc: BaseException) -> dict[str, Any]:
    """The result of a cell whose worker died (the run itself could not report)."""
    return {"status": "failed",
            "info": f"worker failed: {type(exc).__name__}: {' '.join(str(exc).split())}"}


class CellProgress:
    """An EventSink for a cell's run: RunStarted and EpochDone become CellUpdates of the
    running cell, passed to `put` (e.g. a queue's put)."""

    def __init__(self, put: Callable[[CellUpdate], None], index: int, label: str) -> None:
        self.put, self.index, self.label = put, index, label
        self.run_id, self.metric = "", ""
        self.percentages: tuple[str, ...] = ()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_id = event.run_id
            self.metric = primary_metric(str(event.config.get("data", "")))
            self.percentages = tuple(event.percentages)
            self.put(self._running())
        elif isinstance(event, EpochDone):
            counted = bool(event.updates_total)  # training counts updates, not epochs
            self.put(self._running(
                epoch=event.epoch, epochs=event.epochs,
                updates=event.metrics.get("updates") if counted else None,
                updates_total=event.updates_total if counted else None,
                dev=primary_value(event.metrics, f"dev_{self.metric}" if self.metric else "")))

    def _running(self, **progress: Any) -> CellUpdate:
        return CellUpdate(self.index, self.label, "running", run_id=self.run_id,
                          metric=self.metric, percentages=self.percentages, **progress)


def primary_metric(dataset: str) -> str:
    """The primary metric a dataset declares ('' if it declares none or cannot be loaded)."""
    try:
        return str(default_registry().get("dataset", dataset).primary_metric or "")
    except RnnlabError:
        return ""
