"""Learning curves: the training loss of every update (faint) and its moving average (solid),
one colour per run; models trained by epochs also get their per-epoch mean loss as dots."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from rnnlab import ReportRequest, ReportResult, Run, UsageError, atomic_write
from rnnlab_plugins.reports import by_start, check_range


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values at every position (shorter at the start)."""
    sums = np.cumsum(np.insert(values.astype(np.float64), 0, 0.0))
    index = np.arange(1, len(values) + 1)
    start = np.maximum(index - window, 0)
    return (sums[index] - sums[start]) / (index - start)


def file_name(runs: list[Run], out_dir: Path) -> str:
    if len(runs) == 1 and out_dir.resolve() == runs[0].dir.resolve():
        return "learning_curve.png"
    if len(runs) == 1:
        return f"learning_curve_{runs[0].id}.png"
    return f"learning_curves_{runs[0].id}_and_{len(runs) - 1}_more.png"


MAX_DEFAULT = 10  # runs of the latest sweep drawn when none are named (its last ones)
MAX_SMOOTH = 10**9  # a window beyond any run's updates; larger ones overflow int64 arithmetic


def learning_curves(request: ReportRequest) -> ReportResult:
    check_range(request.settings, "smooth", 0, MAX_SMOOTH)
    runs, notes = request.runs, []
    if not request.run_ids:  # the latest run, or the latest sweep's runs
        if not runs:
            raise UsageError("report curves: no runs to plot (train one with `rnnlab train "
                             "MODEL`, or name runs: rnnlab report curves RUN...)")
        runs = by_start(runs)
        latest = runs[-1]
        sweep = latest.summary.get("sweep")
        if sweep:
            runs = [r for r in runs if r.summary.get("sweep") == sweep][-MAX_DEFAULT:]
            notes.append(f"no runs named: the latest sweep's, {sweep} ({len(runs)} runs)")
        else:
            runs = [latest]
            notes.append(f"no runs named: the latest run, {latest.id}")
    figure = Figure(figsize=(8, 4.5), dpi=100)
    axes = figure.subplots()
    positive = True
    for i, run in enumerate(runs):
        losses = run.losses()
        if len(losses) == 0:
            notes.append(f"{run.id}: no losses recorded")
            continue
        colour = f"C{i % 10}"
        label = f"{run.config.get('model')} ({run.id})"
        window = request.settings["smooth"] or max(1, len(losses) // 50)
        updates = np.arange(1, len(losses) + 1)
        axes.plot(updates, losses, color=colour, alpha=0.25, linewidth=0.8)
        axes.plot(updates, moving_average(losses, window), color=colour, linewidth=1.8,
                  label=f"{label}, mean of {window}")
        epochs = [m for m in run.metrics if "epoch" in m and "train_loss" in m]
        if len(epochs) > 1 and run.config.get("updates") is None:
            axes.plot([m["updates"] for m in epochs], [m["train_loss"] for m in epochs], "o",
                      color=colour, markersize=4, label=f"{label}, epoch mean")
        positive = positive and bool(np.all(losses > 0))
        notes.append(f"{run.id}: {len(losses)} updates, loss {losses[0]:.4g} -> "
                     f"{moving_average(losses, window)[-1]:.4g} (mean of last {window})")
    if not notes or all(n.endswith("no losses recorded") for n in notes):
        raise UsageError("report curves: none of the runs recorded any training loss")
    if positive:
        axes.set_yscale("log")
    axes.set_xlabel("update")
    axes.set_ylabel("training loss per batch")
    axes.set_title("Learning curves")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    request.out_dir.mkdir(parents=True, exist_ok=True)
    path = request.out_dir / file_name(runs, request.out_dir)
    atomic_write(path, buffer.getvalue())
    return ReportResult(title="Learning curves", notes=notes, files=[path])
