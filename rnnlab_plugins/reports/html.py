"""One self-contained HTML page of runs or a sweep, to browse and to share as one file: the
accuracy table, its pictures (accuracy and success rate against L), learning curves, an image
model's reconstructions, a classifier's confusion matrix, and the list of runs. Pictures are
embedded as data: URLs; the page loads nothing, runs no script and needs no server.

Every table cell of the accuracy table carries its numbers as data attributes (`data-mean`,
`data-n`) equal to `rnnlab report accuracy --format json`'s rows, so a test (or a script)
can read them back from the page."""

from __future__ import annotations

import base64
import html
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rnnlab import ReportRequest, ReportResult, Run, UsageError, atomic_write
from rnnlab_plugins.reports import by_start, completed_on

MAX_CURVES = 10  # runs drawn in the learning-curve picture (the latest)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em;
       color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { white-space: pre-line; }
img { max-width: 100%; border: 1px solid #eee; }
.notes { color: #555; font-size: 0.9em; }
"""


def _png(figure_bytes: bytes, alt: str) -> str:
    data = base64.b64encode(figure_bytes).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _accuracy(request: ReportRequest, folder: Path) -> tuple[Any, list[str]]:
    """The accuracy report of the runs, with its pictures made in `folder`."""
    from rnnlab_plugins.reports.accuracy import accuracy_table

    result = accuracy_table(replace(request, settings={"plot": True}, out_dir=folder))
    pictures = [_png(path.read_bytes(), path.stem.replace("_", " "))
                for path in result.files if path.name != "epoch_time.png"]
    return result, pictures


def _results_table(result: Any) -> str:
    """The accuracy table; each length's cell holds its numbers in data attributes."""
    head = "".join(f"<th>{html.escape(c.header)}</th>" for c in result.columns)
    body = []
    for row in result.rows:
        cells = [f"<td>{html.escape(str(row['model']))}</td>"]
        for column in result.columns[1:]:
            key = column.header.replace("=", "") if column.header.startswith("L=") else "all"
            data = "".join(f' data-{name}="{row[f"{key}_{field}"]!r}"'
                           for name, field in (("mean", "acc_mean"), ("n", "n"))
                           if f"{key}_{field}" in row)
            cells.append(f'<td class="num"{data}>{html.escape(column.cell(row))}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table id="results"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _curves(runs: list[Run]) -> str:
    from rnnlab_plugins.reports.curves import picture

    chosen = [r for r in by_start(runs) if r.summary.get("status") == "completed"][-MAX_CURVES:]
    if not chosen:
        return ""
    return _png(picture(chosen, 0, []), f"learning curves of {len(chosen)} runs")


def _latest(request: ReportRequest, folder: Path, kind: str, make: Any,
            settings: dict[str, Any], caption: str, alt: str) -> str:
    """The picture `make` (a report's build function) draws of the latest completed run on
    `kind` data, with `caption` and `alt` text ('' without such a run)."""
    found = completed_on(request.runs, kind)
    if not found:
        return ""
    latest = by_start(found)[-1]
    sub = replace(request, runs=[latest], run_ids=[latest.id], out_dir=folder,
                  settings=settings)
    try:
        (path,) = make(sub).files
    except UsageError:  # e.g. images, but not an auto-encoder's: no picture
        return ""
    return (f"<p>Run {html.escape(latest.id)}: {html.escape(caption)}.</p>"
            + _png(path.read_bytes(), f"{alt} of run {latest.id}"))


def _runs_table(runs: list[Run]) -> str:
    rows = []
    for run in runs:
        summary = run.summary
        key = summary.get("primary_metric", "")
        test = (summary.get("test") or {}).get(key)
        shown = "-" if not isinstance(test, (int, float)) else f"{test:.4g} {key}"
        values = [run.id, run.config.get("model"), run.config.get("L") or "-",
                  run.config.get("seed"), summary.get("status"), shown,
                  run.config.get("init_from") or ""]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in values)
                    + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("id", "model", "L", "seed", "status", "test",
                                             "started from"))
    return f'<table id="runs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def html_page(request: ReportRequest) -> ReportResult:
    runs = request.runs
    sweeps = sorted({str(r.summary.get("sweep")) for r in runs if r.summary.get("sweep")})
    what = (f"sweep {sweeps[0]}" if len(sweeps) == 1 and all(r.summary.get("sweep") for r in runs)
            else f"{len(runs)} runs")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        result, pictures = _accuracy(request, folder)
        sections = [f"<h2>{html.escape(result.title)}</h2>"]
        if result.rows:
            sections.append(_results_table(result))
        sections.append('<ul class="notes">' + "".join(
            f"<li>{html.escape(n)}</li>" for n in result.notes) + "</ul>")
        if pictures:
            sections += ["<h2>Against sequence length</h2>", *pictures]
        curves = _curves(runs)
        if curves:
            sections += ["<h2>Learning curves</h2>", curves]
        from rnnlab_plugins.reports.confusion import confusion_report
        from rnnlab_plugins.reports.reconstructions import reconstruction_grid

        reconstructions = _latest(request, folder, "image", reconstruction_grid,
                                  {"count": 20, "zoom": 4}, "test images above their "
                                  "reconstructions", "reconstructions")
        if reconstructions:
            sections += ["<h2>Reconstructions</h2>", reconstructions]
        confusion = _latest(request, folder, "labelled", confusion_report, {},
                            "the confusion matrix on its test set", "confusion matrix")
        if confusion:
            sections += ["<h2>Confusion matrix</h2>", confusion]
    sections += [f"<h2>Runs ({len(runs)})</h2>", _runs_table(runs)]
    title = f"rnnlab: {what}"
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>Made {time.strftime('%Y-%m-%d %H:%M')} by "
            f"<code>rnnlab report html</code>.</p>{''.join(sections)}</body></html>\n")
    name = f"report_{sweeps[0]}.html" if what.startswith("sweep ") else "report.html"
    path = request.out_dir / "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    request.out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(path, page.encode("utf-8"))
    return ReportResult(title="HTML page", files=[path],
                        notes=[f"{what}: {len(runs)} runs in one page"])
