"""A sweep's progress from its structured cell updates: a live table on a terminal, else a
line per state change, or JSON lines (`rnnlab sweep --json`); then how the sweep ended."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rnnlab.events import CellUpdate, Event
from rnnlab.ui.text import is_number, one_line, printable


def shown(metric: str, value: float, percentages: tuple[str, ...]) -> str:
    """A primary metric's value: '61.2%' when the dataset gives it in %, else '0.0123'."""
    return f"{value:.1f}%" if metric in percentages else f"{value:.4g}"


def cell_info(cell: CellUpdate) -> str:
    """Where a cell is, in words: 'epoch 3/50, dev accuracy 61.2%' (or 'update 300/1000,
    ...') while it trains, 'run ID' before its first epoch, 'test accuracy 99.4%' when done,
    else its `info` (why it failed, who runs it elsewhere)."""
    if cell.state == "running":
        if cell.updates_total:
            where = f"update {cell.updates}/{cell.updates_total}"
        elif cell.epoch is not None:
            where = f"epoch {cell.epoch}/{cell.epochs}"
        else:
            return f"run {cell.run_id}" if cell.run_id else cell.info
        if cell.metric and is_number(cell.dev):
            return f"{where}, dev {cell.metric} {shown(cell.metric, cell.dev, cell.percentages)}"
        return where
    if cell.state in ("done", "skipped") and cell.metric and is_number(cell.test):
        return f"test {cell.metric} {shown(cell.metric, cell.test, cell.percentages)}"
    return cell.info


def end_lines(sweep_id: str, total: int, completed: int, failed: list[tuple[str, str]],
              wall_time_s: float) -> list[str]:
    """'sweep ID: 3/4 runs completed, 1 failed, 12 s', then '  failed: CELL: REASON' each."""
    lines = [one_line(f"sweep {sweep_id}: {completed}/{total} runs completed, {len(failed)} "
                      f"failed, {wall_time_s:.0f} s")]
    return lines + [f"  failed: {one_line(cell)}: {one_line(reason)}" for cell, reason in failed]


def no_summary(console: Console, dataset: str, sweep_id: str) -> None:
    """The line for a dataset that declares no report to sum up a sweep."""
    console.print(one_line(f"dataset '{dataset}' declares no report to sum up a sweep; "
                           f"`rnnlab report NAME --sweep {sweep_id}` makes one"),
                  markup=False, soft_wrap=True)


class SweepView:
    """Renders sweep cell updates: a live table on a terminal, else a line per state change."""

    STYLE = {"queued": "dim", "running": "cyan", "done": "green", "skipped": "green",
             "failed": "red"}

    def __init__(self, console: Console, total: int, title: str) -> None:
        self.console, self.total, self.title = console, total, title
        self.cells: dict[int, CellUpdate] = {}
        self.live = None
        if console.is_terminal:
            from rich.live import Live

            self.live = Live(self._table(), console=console, refresh_per_second=4)
            self.live.start()

    def __call__(self, event: Event) -> None:
        if not isinstance(event, CellUpdate):
            return
        previous = self.cells.get(event.index)
        self.cells[event.index] = event
        if self.live is not None:
            self.live.update(self._table())
        elif previous is None or previous.state != event.state:
            if event.state != "queued":
                info = cell_info(event)
                info = f"  {info}" if info else ""
                self.console.print(printable(f"[{event.index + 1}/{self.total}] {event.label}: "
                                             f"{event.state}{info}"), markup=False,
                                   highlight=False, soft_wrap=True)

    def _table(self) -> Table:
        counts: dict[str, int] = {}
        for cell in self.cells.values():
            counts[cell.state] = counts.get(cell.state, 0) + 1
        caption = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        table = Table(title=Text(printable(self.title)), caption=caption)
        for header in ("#", "cell", "state", "progress / result"):
            table.add_column(header)
        for index in sorted(self.cells):
            cell = self.cells[index]
            table.add_row(str(index + 1), Text(printable(cell.label)),
                          Text(cell.state, style=self.STYLE.get(cell.state, "")),
                          Text(printable(cell_info(cell))))
        return table

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def finish(self, sweep_id: str, total: int, completed: int, failed: list[tuple[str, str]],
               wall_time_s: float) -> None:
        """How the sweep ended: a line of totals, then a line per failed cell."""
        for line in end_lines(sweep_id, total, completed, failed, wall_time_s):
            self.console.print(line, markup=False, highlight=False)


class SweepJson:
    """Renders sweep cell updates as JSON lines: one object per update with its fields
    ({"event": "cell", "index": ..., "state": ...}), then one with the totals
    ({"event": "sweep", ...}); nothing else."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: Event) -> None:
        if isinstance(event, CellUpdate):
            self._write({"event": "cell", **dataclasses.asdict(event)})

    def close(self) -> None:
        """Nothing to take down (the same interface as SweepView)."""

    def finish(self, sweep_id: str, total: int, completed: int, failed: list[tuple[str, str]],
               wall_time_s: float) -> None:
        self._write({"event": "sweep", "id": sweep_id, "runs": total, "completed": completed,
                     "failed": len(failed), "wall_time_s": round(wall_time_s, 3),
                     "failures": [{"cell": cell, "reason": reason} for cell, reason in failed]})

    def _write(self, record: dict[str, Any]) -> None:
        file = self.console.file
        file.write(json.dumps(record, default=str) + "\n")
        file.flush()
