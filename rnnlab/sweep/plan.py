"""What of a sweep is left to run: each cell marked by what the run store holds, and claimed
before it runs so that two sweeps of one grid split the cells between them."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from rnnlab import locks
from rnnlab.errors import RnnlabError
from rnnlab.events import EventSink
from rnnlab.locks import FileLock, Locked, describe
from rnnlab.runs import Run, RunStore
from rnnlab.sweep.grid import Cell, Sweep, primary_value

CLAIM_POLL_S = 1.0  # how often a sweep looks whether another sweep let go of a cell


def plan(sweep: Sweep, *, rerun_failed: bool = False, force: bool = False) -> None:
    """Mark each cell by what the run store already holds: completed cells are skipped,
    interrupted (or abandoned) ones resumed, failed ones rerun only with rerun_failed, all
    with force. Each cell is checked again when it is claimed (see `Claims.take`)."""
    sweep.rerun_failed, sweep.force = rerun_failed, force
    sweep.started_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    if force:  # only runs made from now on count (not: started in this second or later)
        sweep.stale = {run.id for run in RunStore(sweep.runs_dir)}
    mark(sweep, sweep.cells)


def mark(sweep: Sweep, cells: list[Cell]) -> None:
    """Set the state of `cells` from the latest run of each in the store; a curriculum's
    later stage counts only a run warm-started from its previous stage's run as marked
    (after `--force` the store may hold a chain's older runs too)."""
    found: dict[str, list[Run]] = {}
    for run in RunStore(sweep.runs_dir):
        summary = run.summary
        if summary.get("sweep") == sweep.id and summary.get("cell") and (
                run.id not in sweep.stale):
            found.setdefault(summary["cell"], []).append(run)
    for cell in cells:
        runs = sorted(found.get(cell.key, []), key=_created)  # the latest last
        if cell.parent is not None:
            parent = sweep.cells[cell.parent].run_id
            runs = [r for r in runs if parent and r.config.get("init_from") == parent]
        if not runs:
            continue
        run = runs[-1]
        summary = run.summary
        status = run.state()
        cell.run_id = run.id
        if status == "completed":
            cell.state, cell.test = "skipped", primary_value(summary.get("test"), cell.metric)
        elif status in ("interrupted", "abandoned", "running"):
            cell.resume = str(run.dir)
        elif status == "failed" and not sweep.rerun_failed:
            cell.state = "failed"
            cell.info = str(summary.get("reason", "failed"))


def _created(run: Run) -> int:
    """When a run was made, to the nanosecond its file system keeps (ids: to the second)."""
    try:
        return (run.dir / "config.yaml").stat().st_mtime_ns  # written once, at the start
    except OSError:
        return 0


class Claims:
    """Which sweep process runs which cell. A cell is claimed by a lock in the run store
    (RUNS_DIR/.claims/) held while it runs, so two sweeps of one grid, on one machine or on
    several sharing the store, split the cells instead of running each twice; a claim dies
    with its sweep, and a cell claimed by a sweep that died is taken over."""

    def __init__(self, sweep: Sweep, emit: EventSink) -> None:
        self.sweep, self.emit = sweep, emit
        self.folder = Path(sweep.runs_dir) / ".claims"
        self.held: dict[int, FileLock] = {}

    def path(self, cell: Cell) -> Path:
        sweep = hashlib.sha1(self.sweep.id.encode()).hexdigest()[:10]
        return self.folder / f"{sweep}-{cell.key}.lock"

    def take(self, cells: list[Cell], limit: int | None = None) -> list[Cell]:
        """Claim what can be claimed, in order, until `limit` cells need running here; check
        the store again for those (another sweep may have run them meanwhile) and return
        them. Cells claimed elsewhere are marked so; the rest stay queued."""
        if not cells:
            return []
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RnnlabError(f"cannot create '{self.folder}' ({exc.strerror or exc})") from None
        rest, wanted = list(cells), []
        while rest and (limit is None or len(wanted) < limit):
            room = len(rest) if limit is None else limit - len(wanted)
            claimed = []
            while rest and len(claimed) < room:
                cell = rest.pop(0)
                lock = FileLock(self.path(cell), f"cell '{cell.label}' of sweep {self.sweep.id}")
                try:
                    lock.acquire()
                except Locked as exc:
                    cell.state, cell.info = "elsewhere", f"run by {describe(exc.holder)}"
                    self.emit(cell.update())
                    continue
                self.held[cell.index] = lock
                claimed.append(cell)
            for cell in claimed:
                cell.resume = ""
            mark(self.sweep, claimed)
            for cell in claimed:
                if cell.state != "queued":
                    self.release(cell)
                    self.emit(cell.update())
            wanted += [c for c in claimed if c.state == "queued"]
        return wanted

    def wait(self, cells: list[Cell]) -> None:
        """Wait until another sweep lets go of at least one of `cells`."""
        while True:
            free = [c for c in cells if locks.holder(self.path(c)) is None]
            if free:
                for cell in free:
                    cell.state, cell.info = "queued", ""
                return
            time.sleep(CLAIM_POLL_S)

    def release(self, cell: Cell) -> None:
        lock = self.held.pop(cell.index, None)
        if lock is not None:
            lock.release()

    def release_all(self) -> None:
        for lock in self.held.values():
            lock.release()
        self.held.clear()
