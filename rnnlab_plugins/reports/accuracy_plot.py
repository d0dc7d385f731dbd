"""The accuracy table as two pictures (`rnnlab report accuracy --set plot=true`):

- accuracy_vs_L.png: each row's mean test result over L (error bars: the std over seeds,
  cut at 0 and 100 for a percentage), one line per model and recipe; baselines dashed, grey.
- epoch_time.png: each row's mean training time per epoch over L (seconds, log scale).
- success_vs_L.png (rows with a success rate: a percentage that improves upward): above, the
  share of seeds that reached 99% at each L, with the counts (3/5); below, the mean ± std.

Both are drawn from the table's own rows, so a picture shows exactly what the table says.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter

from rnnlab import atomic_write


def series(row: dict[str, Any], key: str) -> tuple[list[int], list[Any]]:
    """The lengths at which a table row has a value `L{L}_{key}`, and those values."""
    found = sorted(int(k[1:].split("_", 1)[0]) for k in row
                   if k.startswith("L") and k[1:].split("_", 1)[0].isdigit()
                   and k.endswith(f"_{key}"))
    return found, [row[f"L{L}_{key}"] for L in found]


def per_epoch(row: dict[str, Any]) -> tuple[list[int], list[float]]:
    """The lengths at which a row has training times, and the mean seconds per epoch there."""
    lengths, times = series(row, "train_time_s")
    kept = [(L, t / row[f"L{L}_epochs"]) for L, t in zip(lengths, times, strict=True)
            if row.get(f"L{L}_epochs")]
    return [L for L, _ in kept], [t for _, t in kept]


def _save(figure: Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buffer.getvalue())
    return path


MARKERS = "osD^v<>ph*"


def accuracy_figure(rows: list[dict[str, Any]], ylabel: str, out_dir: Path) -> Path:
    figure = Figure(figsize=(7, 4.2), dpi=100)
    axes = figure.subplots()
    _accuracy(axes, rows, ylabel)
    axes.set_title("Test result by sequence length (mean ± std over seeds)")
    return _save(figure, out_dir / "accuracy_vs_L.png")


def success_figure(rows: list[dict[str, Any]], ylabel: str, threshold: float,
                   out_dir: Path) -> Path:
    """The success rate over L per row, above the mean ± std."""
    figure = Figure(figsize=(7, 7.5), dpi=100)
    top, bottom = figure.subplots(2, 1, sharex=True)
    lines = 0
    for row in rows:
        lengths, successes = series(row, "success")
        if not lengths:
            continue
        counts = [row[f"L{L}_n"] for L in lengths]
        shares = [100.0 * k / n for k, n in zip(successes, counts, strict=True)]
        top.plot(lengths, shares, marker=MARKERS[lines % len(MARKERS)], linewidth=1.5,
                 markersize=5, label=row["model"])
        for L, share, k, n in zip(lengths, shares, successes, counts, strict=True):
            top.annotate(f"{k}/{n}", (L, share), textcoords="offset points", xytext=(4, 4),
                         fontsize=7)
        lines += 1
    top.set_ylim(-5, 105)
    top.set_ylabel(f"seeds reaching {threshold:g}% (%)")
    top.set_title(f"Success rate (test ≥ {threshold:g}%) and test result by sequence length")
    top.grid(True, alpha=0.3)
    top.legend(fontsize=8)
    _accuracy(bottom, rows, ylabel + " (mean ± std)")
    return _save(figure, out_dir / "success_vs_L.png")


def _accuracy(axes: Any, rows: list[dict[str, Any]], ylabel: str) -> None:
    """Each row's mean test result over L with the std as error bars; baselines dashed."""
    lines = 0
    for row in rows:
        lengths, means = series(row, "acc_mean")
        if not lengths:
            continue
        if row["model"].endswith("(baseline)"):
            axes.plot(lengths, means, "--", color="0.5", linewidth=1.2, label=row["model"])
            continue
        stds = [row.get(f"L{L}_acc_std", 0.0) for L in lengths]
        if "(%)" in ylabel:  # a bar never reaches past 0 or 100 %
            stds = [[min(s, m) for m, s in zip(means, stds, strict=True)],
                    [min(s, 100.0 - m) for m, s in zip(means, stds, strict=True)]]
        axes.errorbar(lengths, means, yerr=stds, marker=MARKERS[lines % len(MARKERS)],
                      capsize=3, linewidth=1.5, markersize=5, label=row["model"])
        lines += 1
    axes.set_xlabel("sequence length L")
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)


def epoch_time_figure(rows: list[dict[str, Any]], out_dir: Path) -> Path:
    figure = Figure(figsize=(7, 4.2), dpi=100)
    axes = figure.subplots()
    for i, row in enumerate(r for r in rows if not r["model"].endswith("(baseline)")):
        lengths, seconds = per_epoch(row)
        if lengths:
            axes.plot(lengths, seconds, marker=MARKERS[i % len(MARKERS)], linewidth=1.5,
                      label=row["model"])
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    axes.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    axes.set_xlabel("sequence length L")
    axes.set_ylabel("training time per epoch (s)")
    axes.set_title("Training time per epoch (mean over seeds)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    return _save(figure, out_dir / "epoch_time.png")
