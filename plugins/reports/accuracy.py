"""The homework table: test accuracy per model and sequence length, over every seed run.

Each cell: mean ± std of the test accuracy (%) over the completed runs of that model and L,
their number n, how many reached 99% (the success rate), mean epochs used and mean training
time. Runs of the same configuration and seed (a cell run twice, a copied run directory) are
one result: the first is counted, the others are listed as duplicates. The last row is what
always predicting 0 scores on the same test data: the floor that
means "learned nothing". Runs of one model under different recipes (sweep recipes) get rows
of their own.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

from rnnlab import Column, ReportRequest, ReportResult, Run

BASELINE = "always 0 (baseline)"
SUCCESS = 99.0  # test accuracy (%) that counts as solving the task


def _cell(row: dict[str, Any], L: int) -> str:
    n = row.get(f"L{L}_n")
    if not n:
        return "-"
    text = f"{row[f'L{L}_acc_mean']:.1f}"
    if n > 1:
        text += f" ± {row[f'L{L}_acc_std']:.1f} (n={n})"
    if f"L{L}_epochs" in row:
        text += (f"\n{row[f'L{L}_success']}/{n} ≥{SUCCESS:g}%, {row[f'L{L}_epochs']:.0f} ep, "
                 f"{row[f'L{L}_train_time_s']:.0f} s")
    return text


def _usable(run: Run) -> dict[str, Any] | None:
    summary = run.summary
    key = summary.get("primary_metric")
    test = summary.get("test") or {}
    if summary.get("status") != "completed" or summary.get("L") is None or key not in test:
        return None
    value = test[key]
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return None  # e.g. null: a metric that was NaN when it was measured
    return summary


def accuracy_table(request: ReportRequest) -> ReportResult:
    cells: dict[str, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    skipped = 0
    datasets = {run.summary.get("data") for run in request.runs}
    counted: dict[str, Run] = {}  # config key -> the first completed run of that config
    duplicates: list[tuple[Run, Run]] = []
    for run in request.runs:
        summary = _usable(run)
        if summary is None:
            skipped += 1
            continue
        # the same configuration, seed and recipe: one result, not two seeds
        key = f"{summary.get('recipe', '')}/{run.config_key()}"
        if key in counted:
            duplicates.append((run, counted[key]))
            continue
        counted[key] = run
        name = summary["model"] if len(datasets) == 1 else f"{summary['model']} [{summary['data']}]"
        if summary.get("recipe"):
            name += f" ({summary['recipe']})"
        cells[name][int(summary["L"])].append(summary)
    lengths = sorted({L for by_L in cells.values() for L in by_L})
    rows: list[dict[str, Any]] = []
    baseline: dict[str, Any] = {"model": BASELINE}
    for name in sorted(cells):
        row: dict[str, Any] = {"model": name}
        for L, summaries in sorted(cells[name].items()):
            key = summaries[0]["primary_metric"]
            acc = [s["test"][key] for s in summaries]
            row[f"L{L}_acc_mean"] = statistics.fmean(acc)
            row[f"L{L}_acc_std"] = statistics.stdev(acc) if len(acc) > 1 else 0.0
            row[f"L{L}_n"] = len(acc)
            row[f"L{L}_success"] = sum(a >= SUCCESS for a in acc)
            row[f"L{L}_epochs"] = statistics.fmean(s.get("epochs", 0) for s in summaries)
            row[f"L{L}_train_time_s"] = statistics.fmean(s.get("train_time_s", 0.0)
                                                         for s in summaries)
            zero = [s["test"].get(f"zero_{key}") for s in summaries]
            if all(z is not None for z in zero):
                baseline[f"L{L}_acc_mean"] = statistics.fmean(zero)
                baseline[f"L{L}_n"] = 1
        rows.append(row)
    if rows and len(baseline) > 1:
        rows.append(baseline)
    columns = [Column("model", "model")]
    columns += [Column(f"L={L}", fmt=lambda row, L=L: _cell(row, L)) for L in lengths]
    notes = [f"test accuracy in %; {sum(len(v) for c in cells.values() for v in c.values())} "
             "completed runs"]
    if skipped:
        notes.append(f"{skipped} run(s) not completed or without a test accuracy were left out")
    if duplicates:
        pairs = ", ".join(f"{dup.id} (= {first.id})" for dup, first in duplicates)
        notes.append(f"{len(duplicates)} duplicate run(s) of a configuration and seed already "
                     f"counted were left out: {pairs}")
    if not rows:
        notes = ["no completed runs match (train some with `rnnlab train MODEL`)"]
    return ReportResult(title="Test accuracy (%) by model and sequence length L",
                        columns=columns, rows=rows, notes=notes)
