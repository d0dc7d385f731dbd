"""An rnnlab report plugin in one file: the best run of each model.

For every model (and dataset, when runs of one model used several), the completed run with the
best test value of its dataset's primary metric. "Best" is the highest value, or the lowest for
datasets that declare `higher_is_better = False`; ties go to the run with the smallest id.

Install it (`pip install ./examples/rnnlab-bestrun`), then `rnnlab report best-run` (or
`--format json|csv|markdown`, `--model lstm`, `--L 20` as for any report).
"""

from __future__ import annotations

import math
from typing import Any

from rnnlab import Column, ReportPlugin, ReportRequest, ReportResult, RnnlabError, Run

COLUMNS = [
    Column("model", "model"),
    Column("data", "data"),
    Column("L", "L"),
    Column("metric", "metric"),
    Column("best test", "value"),
    Column("run", "run"),
    Column("seed", "seed"),
    Column("of runs", "runs"),
]


def _score(run: Run) -> tuple[str, float] | None:
    """(primary metric, its finite test value) of a completed run, else None."""
    summary = run.summary
    key = summary.get("primary_metric")
    value = (summary.get("test") or {}).get(key)
    if summary.get("status") != "completed" or not isinstance(key, str):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None  # e.g. null: the metric was NaN when it was measured
    return key, float(value)


def _higher_is_better(data: str, notes: list[str]) -> bool:
    """What the dataset plugin declares; higher when it is not installed (said in a note)."""
    import rnnlab

    try:
        return bool(rnnlab.get_plugin("dataset", data).higher_is_better)
    except RnnlabError:
        notes.append(f"dataset '{data}' is not installed: took higher test values as better")
        return True


class BestRun(ReportPlugin):
    summary = "The best run of each model by its test primary metric (example plugin)."

    def build(self, request: ReportRequest) -> ReportResult:
        """One row per (model, dataset, metric): the best completed run and how many competed."""
        notes: list[str] = []
        groups: dict[tuple[str, str, str], list[tuple[float, Run]]] = {}
        skipped = 0
        for run in request.runs:
            scored = _score(run)
            if scored is None:
                skipped += 1
                continue
            key, value = scored
            summary = run.summary
            model = str(summary.get("model") or run.config.get("model") or "?")
            data = str(summary.get("data") or run.config.get("data") or "?")
            groups.setdefault((model, data, key), []).append((value, run))
        higher = {data: _higher_is_better(data, notes) for data in sorted({g[1] for g in groups})}
        rows: list[dict[str, Any]] = []
        for (model, data, key), scored_runs in sorted(groups.items()):
            sign = -1.0 if higher[data] else 1.0
            value, best = min(scored_runs, key=lambda vr: (sign * vr[0], vr[1].id))
            rows.append({"model": model, "data": data, "L": best.summary.get("L"),
                         "metric": key, "value": value, "run": best.id,
                         "seed": best.summary.get("seed"), "runs": len(scored_runs)})
        if skipped:
            runs, were = ("run", "was") if skipped == 1 else ("runs", "were")
            notes.append(f"{skipped} {runs} not completed or without a finite test value of "
                         f"their primary metric {were} left out")
        if not rows:
            notes.insert(0, "no completed runs match (train some with `rnnlab train MODEL`)")
        return ReportResult(title="Best run per model (test primary metric)", columns=COLUMNS,
                            rows=rows, notes=notes)
