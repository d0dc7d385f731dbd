"""Running a planned sweep: claim the pending cells, hand them to an executor plugin, and
record how each ends (the same for every executor)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rnnlab.contracts import ExecutorPlugin, ExecutorRequest, SweepCell
from rnnlab.events import EventSink, ignore
from rnnlab.files import short
from rnnlab.registry import Registry
from rnnlab.registry import default as default_registry
from rnnlab.signals import handled, raise_terminated, stopping
from rnnlab.sweep.grid import Cell, Sweep, primary_value
from rnnlab.sweep.plan import Claims
from rnnlab.sweep.worker import CellTask, run_cell, worker_failed

RESULTS = ("done", "failed", "queued")  # the statuses a result of run_cell may have


def run(sweep: Sweep, *, jobs: int = 1, executor: str = "local", scheduler: str | None = None,
        emit: EventSink = ignore) -> Sweep:
    """Run the pending cells of a planned sweep; the cells' states say how each ended. Cells
    another sweep is running are waited for, then taken over if that sweep did not finish
    them. SIGTERM and SIGHUP interrupt it as Ctrl-C does (KeyboardInterrupt)."""
    plugin = executor_plugin(executor)
    started = time.perf_counter()
    for cell in sweep.cells:
        emit(cell.update())
    claims = Claims(sweep, emit)
    # an executor that asks for more as cells end gets (and this sweep claims) only what it
    # runs at once; on a cluster of its own (a scheduler) it is not told how many that is
    limit = jobs if plugin.in_turn and scheduler is None else None
    try:
        with handled(raise_terminated, *stopping()):
            while True:  # rounds: a curriculum's later stages wait for their previous one
                ready = _ready(sweep, emit)
                mine = claims.take(ready, limit)
                if mine:
                    for cell in mine:
                        _continue_parent(sweep, cell)
                    _execute(plugin, sweep, mine, jobs, scheduler, emit, claims, limit)
                elsewhere = [c for c in sweep.cells if c.state == "elsewhere"]
                if elsewhere:
                    claims.wait(elsewhere)
                elif not ready:
                    break
    finally:
        claims.release_all()
    sweep.wall_time_s = round(time.perf_counter() - started, 1)
    return sweep


def _ready(sweep: Sweep, emit: EventSink) -> list[Cell]:
    """The queued cells that can start: not a later stage of a curriculum, or one whose
    previous stage has completed. A stage whose previous stage failed fails too."""
    ready = []
    for cell in sweep.cells:
        if cell.state != "queued":
            continue
        parent = sweep.cells[cell.parent] if cell.parent is not None else None
        if parent is None or (parent.state in ("done", "skipped") and parent.run_id):
            ready.append(cell)
        elif parent.state in ("done", "skipped", "failed"):
            cell.state = "failed"
            cell.info = f"stage {parent.stage} did not complete ({parent.label})"
            emit(cell.update())
    return ready


def _continue_parent(sweep: Sweep, cell: Cell) -> None:
    """A later stage starts from its previous stage's run (the cell key keeps the stage's
    place in the chain, not the run's id)."""
    if cell.parent is not None:
        cell.config.init_from = sweep.cells[cell.parent].run_id


def executor_plugin(name: str, registry: Registry | None = None) -> ExecutorPlugin:
    """The installed executor `name` (rnnlab.executors); UsageError with a suggestion."""
    return (registry or default_registry()).get("executor", name)


def _job(sweep: Sweep, cell: Cell) -> SweepCell:
    return SweepCell(cell.index, cell.label, CellTask.of(sweep.id, cell), cell.config,
                     cell.resume)


def finish(cell: Cell, result: dict[str, Any], emit: EventSink) -> None:
    """Record how a cell ended, from its result (see `run_cell`), and tell it."""
    cell.state, cell.info = result["status"], str(result.get("info", ""))
    cell.run_id = result.get("run_id", cell.run_id)
    cell.test = primary_value(result.get("test"), cell.metric)
    emit(cell.update())


def _execute(plugin: ExecutorPlugin, sweep: Sweep, cells: list[Cell], jobs: int,
             scheduler: str | None, emit: EventSink, claims: Claims, limit: int | None
             ) -> None:
    """Hand `cells` to the executor; record each result as it comes (and let go of the
    cell's claim). A cell the executor returns without reporting has failed. With a `limit`,
    no more than that many cells are out at once."""
    ours = {cell.index: cell for cell in cells}
    reported: set[int] = set()

    def record(cell: Cell, result: dict[str, Any]) -> None:
        reported.add(cell.index)
        finish(cell, result, emit)
        claims.release(cell)

    def done(job: SweepCell, result: dict[str, Any]) -> None:
        cell = ours.get(job.index)
        if cell is None or cell.index in reported:
            return  # not a cell of this request, or reported twice: the first result counts
        if not isinstance(result, dict) or result.get("status") not in RESULTS:
            result = {"status": "failed", "info": f"executor '{plugin.name}' reported "
                      f"{short(result, 200)}, not a result of run_cell"}
        record(cell, result)

    def more() -> list[SweepCell]:
        """The cells that can start now (queued ones, and later stages whose previous stage
        has ended meanwhile), claimed and handed out now rather than in the next request."""
        room = None if limit is None else max(0, limit - (len(ours) - len(reported)))
        waiting = [c for c in _ready(sweep, emit) if c.index not in ours]
        claimed = claims.take(waiting, room) if room != 0 else []
        for cell in claimed:
            _continue_parent(sweep, cell)
            ours[cell.index] = cell
        return [_job(sweep, c) for c in claimed]

    plugin.run(ExecutorRequest([_job(sweep, c) for c in cells], jobs, scheduler,
                               Path(sweep.runs_dir), emit, done, run_cell, worker_failed, more))
    for cell in list(ours.values()):
        if cell.index not in reported:
            record(cell, {"status": "failed", "info": f"executor '{plugin.name}' returned "
                          "without running it"})
