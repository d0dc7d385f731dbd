"""Tables: plain-text cells (never markup), a run's summary, and reports in four formats."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rnnlab.contracts import ReportResult
from rnnlab.ui.text import fmt_metric, label, one_line, printable


def cell(value: Any, newlines: bool = False) -> Text:
    """Table text taken literally: rich reads `[...]` in a plain string as markup (so
    'lstm [adding]' would print as 'lstm'); a Text is never parsed."""
    return Text(printable(value, newlines=newlines))


def simple_table(title: str, headers: list[str], rows: list[list[str]],
                 multiline: bool = False) -> Table:
    """A table whose title, headers and cells are plain text (never markup), control
    characters escaped (also newlines, unless the cells are `multiline` by design, as in
    report tables)."""
    table = Table(title=cell(title), min_width=len(title))  # a title does not wrap mid-phrase
    for i, header in enumerate(headers):
        table.add_column(cell(header), no_wrap=i == 0 and not multiline)  # long row names wrap
    for row in rows:
        table.add_row(*(cell(value, newlines=multiline) for value in row))
    return table


def run_summary_table(run_id: str, summary: dict[str, Any], percentages: Collection[str] = (),
                      baselines: dict[str, str] | None = None) -> Table:
    """How a run ended: status, length, times, and its dev and test metrics."""
    title = f"run {run_id}"
    table = Table(title=cell(title), show_header=False, min_width=len(title))  # id unbroken
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("status", cell(summary.get("status")))
    if summary.get("reason"):
        table.add_row("reason", cell(summary["reason"]))
    if summary.get("init_from"):
        table.add_row("started from", cell(f"run {summary['init_from']}"))
    for key in ("epochs", "updates", "evaluations", "stopped_early", "train_time_s",
                "wall_time_s"):
        if key in summary:
            table.add_row(cell(label(key)), cell(fmt_metric(key, summary[key])))
    steps, total = summary.get("sequence_steps"), summary.get("total_sequence_steps")
    if isinstance(steps, int):  # data without steps: examples seen
        name = "sequence-steps" if summary.get("L") is not None else "examples seen"
        table.add_row(name, cell(f"{steps:,}"))
    if summary.get("init_from"):
        table.add_row("with ancestors", cell(f"{total:,}" if isinstance(total, int)
                                             else "unknown (an ancestor does not say)"))
    for split in ("dev", "test"):
        for key, value in (summary.get(split) or {}).items():
            table.add_row(cell(f"{split} {label(key, baselines)}"),
                          cell(fmt_metric(key, value, percentages)))
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
        writer.writerows({k: _csv_value(v) for k, v in row.items()} for row in result.rows)
        return buffer.getvalue().rstrip("\n")
    if fmt == "markdown":
        lines = [f"**{result.title}**", "", "| " + " | ".join(headers) + " |",
                 "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(c.replace("\n", "<br>") for c in row) + " |" for row in cells]
        lines += ["", *map(printable, result.notes)] if result.notes else []
        return "\n".join(lines)
    return simple_table(result.title, headers, cells, multiline=True)


def show_report(console: Console, result: ReportResult, fmt: str) -> None:
    """A report on `console`: the table (with its notes) or the text of `fmt`, then the
    files it made (csv and json stay machine-readable to the end: json lists the files)."""
    if result.columns:
        rendered = render_report(result, fmt)
        if isinstance(rendered, str):
            print(rendered, file=console.file)
            if fmt in ("csv", "json"):
                return
        else:
            console.print(rendered)
            for note in result.notes:
                console.print(one_line(note), markup=False)
    else:  # pictures only: what they show, then where they are
        for note in result.notes:
            console.print(one_line(note), markup=False, soft_wrap=True)
    for path in result.files:
        console.print(one_line(str(path)), markup=False)


def _csv_value(value: Any) -> Any:
    """A CSV field: text made printable; a float with 12 significant digits, so that a
    percentage computed as 35.099999999999994 reads 35.1."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, float):
        return float(f"{value:.12g}")
    return value


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
