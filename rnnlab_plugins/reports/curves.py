"""Learning curves: per run, the training loss of every batch as a faint band, and in front
the mean training loss of each epoch (solid) and the dev mse (dashed); a short legend.

A warm-started run (`--init-from`, a curriculum's later stage) is drawn where it continues:
its updates counted after those of its ancestors (found in the same store), with a dotted line
where it begins; so the stages of one chain, drawn together, follow each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rnnlab import ReportRequest, ReportResult, Run, UsageError, atomic_write
from rnnlab_plugins.reports import ancestors, by_start, check_range, png


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


MARKERS = "osD^v<>ph*"


def updates_before(run: Run) -> int | None:
    """The updates of a warm-started run's ancestors (0 for a run started afresh); None when
    one of them is not in the store (or not the run its record names)."""
    earlier = ancestors(run, {})
    if earlier is None:
        return None
    counts = [r.summary.get("updates") for r in earlier]
    if not all(isinstance(c, int) and 0 <= c <= 10**12 for c in counts):
        return None
    return sum(counts)


def draw(axes: Any, runs: list[Run], smooth: int, notes: list[str]) -> bool:
    """Each run's per-batch loss as a faint band behind, and in front its per-epoch (or
    per-evaluation) mean training loss, solid, with the dev mse, dashed, where the run
    measured one; colour and marker tell runs apart, also where their curves coincide. Runs
    without per-epoch records get the moving average instead. Returns whether every loss was
    positive (a log scale fits); adds a line per run to `notes`."""
    from matplotlib.lines import Line2D

    positive, handles, any_dev, continued = True, [], False, False
    styles = set()  # how the runs' front lines were drawn: per epoch, or a moving average
    for i, run in enumerate(runs):
        losses = run.losses()
        if len(losses) == 0:
            notes.append(f"{run.id}: no losses recorded")
            continue
        colour, marker = f"C{i % 10}", MARKERS[i % len(MARKERS)]
        before = updates_before(run)
        if before is None:
            notes.append(f"{run.id}: an earlier stage is not in the store (or not the run its "
                         "record names): drawn from update 1")
            before = 0
        updates = np.arange(1, len(losses) + 1) + before
        if before:  # where this stage begins
            continued = True
            axes.axvline(before + 0.5, color=colour, linestyle=":", linewidth=1.0, zorder=2)
        axes.plot(updates, losses, color=colour, alpha=0.15, linewidth=0.6, zorder=1)
        window = smooth or max(1, len(losses) // 50)
        points = [m for m in run.metrics if "train_loss" in m and "updates" in m]
        styles.add("epoch" if len(points) > 1 else "average")
        if len(points) > 1:
            x = [m["updates"] + before for m in points]
            axes.plot(x, [m["train_loss"] for m in points], color=colour, marker=marker,
                      markersize=4, linewidth=1.8, zorder=3)
            dev = [(m["updates"] + before, m["dev_mse"]) for m in points
                   if _finite(m.get("dev_mse"))]
            if dev:
                any_dev = True
                axes.plot(*zip(*dev, strict=True), color=colour, marker=marker,
                          markerfacecolor="none", markersize=4, linewidth=1.4,
                          linestyle="--", zorder=3)
        else:
            axes.plot(updates, moving_average(losses, window), color=colour, linewidth=1.8,
                      zorder=2)
        handles.append(Line2D([], [], color=colour, marker=marker, markersize=4,
                              label=f"{run.config.get('model')} {run.id.rsplit('-', 1)[-1]}"))
        positive = positive and bool(np.all(losses > 0))
        notes.append(f"{run.id}: {len(losses)} updates"
                     + (f" after {before} of its earlier stages" if before else "")
                     + f", loss {losses[0]:.4g} -> "
                     f"{moving_average(losses, window)[-1]:.4g} (mean of last {window})")
    if handles:
        if continued:
            handles.append(Line2D([], [], color="0.3", linestyle=":",
                                  label="warm start: stage begins"))
        handles += [*([Line2D([], [], color="0.3", marker="o", markersize=4,
                              label="train loss, per epoch")] * ("epoch" in styles)),
                    *([Line2D([], [], color="0.3", linewidth=1.8,
                              label="train loss, moving average"
                              + (f" of {smooth} updates" if smooth else ""))]
                      * ("average" in styles)),
                    *([Line2D([], [], color="0.3", linestyle="--", label="dev mse")]
                      * any_dev),
                    Line2D([], [], color="0.3", alpha=0.3, label="loss per batch")]
        axes.legend(handles=handles, fontsize=8)
    return positive


def picture(runs: list[Run], smooth: int, notes: list[str], title: str = "") -> bytes:
    """The PNG of `draw` for `runs`: loss over updates, on a log scale where it fits."""
    figure = Figure(figsize=(8, 4.5), dpi=100)
    axes = figure.subplots()
    if draw(axes, runs, smooth, notes):
        axes.set_yscale("log")
    axes.set_xlabel("update")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # updates are whole numbers
    axes.set_ylabel("loss")
    if title:
        axes.set_title(title)
    axes.grid(True, alpha=0.3)
    return png(figure)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and bool(np.isfinite(value))


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
            notes.append(f"no runs named: sweep {sweep}'s latest runs ({len(runs)})")
        else:
            runs = [latest]
            notes.append(f"no runs named: the latest run, {latest.id}")
    png = picture(runs, request.settings["smooth"], notes, "Learning curves")
    if not notes or all(n.endswith("no losses recorded") for n in notes):
        raise UsageError("report curves: none of the runs recorded any training loss")
    request.out_dir.mkdir(parents=True, exist_ok=True)
    path = request.out_dir / file_name(runs, request.out_dir)
    atomic_write(path, png)
    return ReportResult(title="Learning curves", notes=notes, files=[path])
