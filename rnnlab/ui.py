"""The only module that renders: progress, per-epoch lines, tables, errors.

On a terminal it draws rich progress bars; otherwise (CI, nohup, SLURM logs) it prints plain
lines, one per finished task or epoch, and never redraws.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from rnnlab.contracts import ReportResult
from rnnlab.events import CellUpdate, EpochDone, Event, Note, RunFinished, RunStarted
from rnnlab.events import Progress as ProgressEvent


def printable(text: Any, newlines: bool = False) -> str:
    """`text` with control characters escaped (ESC as \\x1b, ...): names and values from
    files and directories must not move the cursor, recolour or retitle the terminal.
    Newlines are kept with `newlines` (multi-line table cells), else escaped too."""
    out = []
    for char in str(text):
        if char.isprintable() or (newlines and char == "\n"):
            out.append(char)
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def _plain(key: str) -> str:
    """A metric key without its split: 'dev_accuracy' -> 'accuracy'."""
    for split in ("dev_", "test_", "train_"):
        if key.startswith(split):
            return key[len(split):]
    return key


def _plain_value(value: Any) -> Any:
    """JSON for what a report's rows may hold besides plain values: NumPy scalars as numbers
    (their `item()`), anything else as text."""
    item = getattr(value, "item", None)
    if callable(item):
        try:
            plain = item()
        except (TypeError, ValueError):
            return str(value)
        if isinstance(plain, (int, float, bool, str)):
            return plain
    return str(value)


def fmt_metric(key: str, value: Any, percentages: Collection[str] = ()) -> str:
    """A metric value for people: percentages (as the dataset declares them) with %, times in
    seconds."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if _plain(key) in percentages:
        return f"{value:.1f}%"
    if key.endswith("time_s"):
        return f"{value:.1f} s"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def label(key: str, baselines: dict[str, str] | None = None) -> str:
    """A metric key for people: 'dev_zero_accuracy' -> 'dev always 0' when the dataset
    declares `zero_accuracy` a baseline labelled 'always 0'."""
    plain = _plain(key)
    if baselines and plain in baselines:
        key = key[: len(key) - len(plain)] + baselines[plain]
    return key.removesuffix("_s").replace("train_loss", "loss").replace("_", " ")


class ConsoleUI:
    """An event sink that renders training and generation progress on a console."""

    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or Console()
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        self.percentages: tuple[str, ...] = ()  # of the current run's dataset
        self.baselines: dict[str, str] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, ProgressEvent):
            self._progress(event)
        elif isinstance(event, Note):
            if not self.quiet or event.text.startswith("warning: "):  # warnings always show
                self._print(event.text)
        elif isinstance(event, RunStarted):
            self.percentages, self.baselines = event.percentages, event.baselines
            if not self.quiet:
                self._print(f"run {event.run_id}  ({event.run_dir})")
        elif isinstance(event, EpochDone):
            self._drop_task("epoch")
            if not self.quiet:
                self._print(self.epoch_line(event))
        elif isinstance(event, RunFinished):
            self.close()

    def epoch_line(self, event: EpochDone) -> str:
        if event.updates_total is not None:
            width = len(str(event.updates_total))
            parts = [f"updates {event.metrics.get('updates', 0):>{width}}/{event.updates_total}"]
        else:
            width = len(str(event.epochs))
            parts = [f"epoch {event.epoch:>{width}}/{event.epochs}"]
        for key, value in event.metrics.items():
            if key in ("epoch", "updates") or _plain(key) in self.baselines:
                continue
            parts.append(f"{label(key)} {fmt_metric(key, value, self.percentages)}")
        return "  ".join(parts)

    def _print(self, text: str) -> None:
        console = self.progress.console if self.progress else self.console
        console.print(printable(text), highlight=False, markup=False, soft_wrap=not self.live)

    def _progress(self, event: ProgressEvent) -> None:
        if self.quiet:
            return
        finished = event.done >= event.total
        if not self.live:
            if finished and event.task != "epoch":
                self._print(f"{event.task}: {event.done}/{event.total} {event.info}".rstrip())
            return
        if self.progress is None:
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                console=self.console, transient=False,
            )
            self.progress.start()
        if event.task not in self.tasks:
            self.tasks[event.task] = self.progress.add_task(event.task, total=event.total, info="")
        self.progress.update(self.tasks[event.task], completed=event.done, total=event.total,
                             info=event.info)
        if finished and event.task != "epoch":
            self.tasks.pop(event.task)

    def _drop_task(self, name: str) -> None:
        if self.progress is not None and name in self.tasks:
            self.progress.remove_task(self.tasks.pop(name))

    def close(self) -> None:
        if self.progress is not None:
            self._drop_task("epoch")
            self.progress.stop()
            self.progress = None
            self.tasks.clear()


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
                info = f"  {event.info}" if event.info else ""
                self.console.print(printable(f"[{event.index + 1}/{self.total}] {event.label}: "
                                             f"{event.state}{info}"), markup=False,
                                   highlight=False, soft_wrap=True)

    def _table(self) -> Table:
        counts = {}
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
                          Text(printable(cell.info)))
        return table

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def run_summary_table(run_id: str, summary: dict[str, Any], percentages: Collection[str] = (),
                      baselines: dict[str, str] | None = None) -> Table:
    table = Table(title=_text(f"run {run_id}"), show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("status", _text(summary.get("status")))
    if summary.get("reason"):
        table.add_row("reason", _text(summary["reason"]))
    for key in ("epochs", "updates", "stopped_early", "train_time_s", "wall_time_s"):
        if key in summary:
            table.add_row(_text(label(key)), _text(fmt_metric(key, summary[key])))
    for split in ("dev", "test"):
        for key, value in (summary.get(split) or {}).items():
            table.add_row(_text(f"{split} {label(key, baselines)}"),
                          _text(fmt_metric(key, value, percentages)))
    return table


def _text(value: Any, newlines: bool = False) -> Text:
    """Table text taken literally: rich reads `[...]` in a plain string as markup (so
    'lstm [adding]' would print as 'lstm'); a Text is never parsed."""
    return Text(printable(value, newlines=newlines))


def simple_table(title: str, headers: list[str], rows: list[list[str]],
                 multiline: bool = False) -> Table:
    """A table whose title, headers and cells are plain text (never markup), control
    characters escaped (also newlines, unless the cells are `multiline` by design, as in
    report tables)."""
    table = Table(title=_text(title))
    for i, header in enumerate(headers):
        table.add_column(_text(header), no_wrap=i == 0)
    for row in rows:
        table.add_row(*(_text(cell, newlines=multiline) for cell in row))
    return table


def render_report(result: ReportResult, fmt: str) -> str | Table:
    """A report as a rich Table ('table') or as markdown, csv or json text."""
    headers = [printable(c.header) for c in result.columns]
    cells = [[printable(c.cell(row), newlines=True) for c in result.columns]
             for row in result.rows]
    if fmt == "json":
        return json.dumps({"title": result.title, "rows": result.rows, "notes": result.notes,
                           "files": [str(f) for f in result.files]}, indent=2, default=_plain_value)
    if fmt == "csv":
        keys: list[str] = []
        for row in result.rows:
            keys += [k for k in row if k not in keys]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: printable(v) if isinstance(v, str) else v for k, v in row.items()}
                         for row in result.rows)
        return buffer.getvalue().rstrip("\n")
    if fmt == "markdown":
        lines = [f"**{result.title}**", "", "| " + " | ".join(headers) + " |",
                 "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(c.replace("\n", "<br>") for c in row) + " |" for row in cells]
        lines += ["", *map(printable, result.notes)] if result.notes else []
        return "\n".join(lines)
    return simple_table(result.title, headers, cells, multiline=True)
