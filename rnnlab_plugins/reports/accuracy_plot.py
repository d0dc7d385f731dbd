"""The accuracy table as two pictures (`rnnlab report accuracy --set plot=true`):

- accuracy_vs_L.png: each row's mean test result over L (error bars: the std over seeds,
  cut at 0 and 100 for a percentage), one line per model and recipe; baselines dashed, grey.
- epoch_time.png: each row's mean training time per epoch over L (seconds, log scale).
- success_vs_L.png (rows with a success rate: a percentage that improves upward): above, the
  share of seeds that reached 99% at each L, with the counts (3/5); below, the mean ± std.

All are drawn from the table's own rows, so a picture shows exactly what the table says. Lengths
that grow by factors (50, 100, 200, 400) get a log axis with a tick at each; points of different
rows at one length are drawn side by side (success rates often coincide at 0 and 100%); the
legend sits to the right of the plot, where it hides nothing however many rows there are.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter

from rnnlab import atomic_write
from rnnlab_plugins.reports import png


def series(row: dict[str, Any], key: str) -> tuple[list[int], list[Any]]:
    """The lengths at which a table row has a value `L{L}_{key}`, and those values."""
    found = sorted(int(k[1:].split("_", 1)[0]) for k in row
                   if k.startswith("L") and k[1:].split("_", 1)[0].isdigit()
                   and k.endswith(f"_{key}"))
    return found, [row[f"L{L}_{key}"] for L in found]


def per_epoch(row: dict[str, Any]) -> tuple[list[int], list[float]]:
    """The lengths at which a row has training times, and the mean seconds per epoch there
    (not for a curriculum's whole chain: its epochs were at other lengths too)."""
    lengths, times = series(row, "train_time_s")
    kept = [(L, t / row[f"L{L}_epochs"]) for L, t in zip(lengths, times, strict=True)
            if row.get(f"L{L}_epochs") and row.get(f"L{L}_stages") != "all"]
    return [L for L, _ in kept], [t for _, t in kept]


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, png(figure))
    return path


MARKERS = "osD^v<>ph*"
DODGE = 0.04  # how far apart the rows' points at one length are drawn, in octaves (log axis)


def lengths_of(rows: list[dict[str, Any]]) -> list[int]:
    """Every length at which some row has a mean."""
    return sorted({L for row in rows for L in series(row, "acc_mean")[0]})


def dodged(lengths: list[int], index: int, count: int) -> list[float]:
    """Where row `index` of `count` draws its points: beside the others at the same length
    (a few percent of L apart, which on a log axis is the same distance at every length)."""
    shift = DODGE * (index - (count - 1) / 2)
    return [L * 2.0**shift for L in lengths]


def length_axis(axes: Any, lengths: list[int]) -> bool:
    """A tick at each length; a log axis when they span a factor of 4 or more. Returns
    whether the axis is logarithmic."""
    log = len(lengths) > 1 and max(lengths) >= 4 * min(lengths) > 0
    if log:
        axes.set_xscale("log", base=2)
    axes.set_xticks(lengths, [str(L) for L in lengths])
    axes.set_xticks([], minor=True)
    if len(lengths) == 1:  # room for the rows drawn side by side, not a zoom into them
        axes.set_xlim(lengths[0] / 1.5, lengths[0] * 1.5)
    axes.set_xlabel("sequence length L")
    return log


LABEL_WIDTH = 36  # characters per legend line: long row names wrap instead of eating the plot


def _legend(axes: Any) -> None:
    handles, labels = axes.get_legend_handles_labels()
    wrapped = ["\n".join(textwrap.wrap(label, LABEL_WIDTH)) or label for label in labels]
    axes.legend(handles, wrapped, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                borderaxespad=0.0)


def accuracy_figure(rows: list[dict[str, Any]], ylabel: str, out_dir: Path) -> Path:
    figure = Figure(figsize=(8.5, 4.2), dpi=100)
    axes = figure.subplots()
    _accuracy(axes, rows, ylabel)
    axes.set_title("Test result by sequence length (mean ± std over seeds)")
    return _save(figure, out_dir / "accuracy_vs_L.png")


def success_figure(rows: list[dict[str, Any]], ylabel: str, threshold: float,
                   out_dir: Path) -> Path:
    """The success rate over L per row, above the mean ± std."""
    figure = Figure(figsize=(8.5, 7.5), dpi=100)
    top, bottom = figure.subplots(2, 1, sharex=True)
    length_axis(top, lengths_of(rows))
    top.set_xlabel("")  # the lower plot names the shared axis
    drawn = [row for row in rows if series(row, "success")[0]]
    labelled: dict[tuple[int, float], int] = {}  # labels already at a point
    for i, row in enumerate(drawn):
        lengths, successes = series(row, "success")
        counts = [(row.get(f"L{L}_n") or 0) + row.get(f"L{L}_diverged", 0) for L in lengths]
        shares = [100.0 * k / n for k, n in zip(successes, counts, strict=True)]
        xs = dodged(lengths, i, len(drawn))
        top.plot(xs, shares, marker=MARKERS[i % len(MARKERS)], linewidth=1.5, markersize=5,
                 label=row["model"])
        for L, x, share, k, n in zip(lengths, xs, shares, successes, counts, strict=True):
            below = labelled.get((L, share), 0)  # stacked where rows share a value
            labelled[(L, share)] = below + 1
            top.annotate(f"{k}/{n}", (x, share), textcoords="offset points",
                         xytext=(4, 4 + 9 * below), fontsize=7)
    top.set_ylim(-5, 125)  # room for stacked labels above 100%
    top.set_yticks(range(0, 101, 20))
    top.set_ylabel(f"seeds reaching {threshold:g}% (%)")
    top.set_title(f"Success rate (test ≥ {threshold:g}%) and test result by sequence length")
    top.grid(True, alpha=0.3)
    _legend(top)
    _accuracy(bottom, rows, ylabel + " (mean ± std)")
    return _save(figure, out_dir / "success_vs_L.png")


def _accuracy(axes: Any, rows: list[dict[str, Any]], ylabel: str) -> None:
    """Each row's mean test result over L with the std as error bars; baselines dashed."""
    length_axis(axes, lengths_of(rows))
    models = [row for row in rows if series(row, "acc_mean")[0]
              and not row["model"].endswith("(baseline)")]
    for row in rows:
        lengths, means = series(row, "acc_mean")
        if lengths and row["model"].endswith("(baseline)"):
            axes.plot(lengths, means, "--", color="0.5", linewidth=1.2, marker="_",
                      markersize=14, label=row["model"])  # a marker: one length shows too
    for i, row in enumerate(models):
        lengths, means = series(row, "acc_mean")
        stds = [row.get(f"L{L}_acc_std", 0.0) for L in lengths]
        if "(%)" in ylabel:  # a bar never reaches past 0 or 100 %
            stds = [[min(s, m) for m, s in zip(means, stds, strict=True)],
                    [min(s, 100.0 - m) for m, s in zip(means, stds, strict=True)]]
        axes.errorbar(dodged(lengths, i, len(models)), means, yerr=stds,
                      marker=MARKERS[i % len(MARKERS)], capsize=3, linewidth=1.5, markersize=5,
                      label=row["model"])
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    _legend(axes)


def epoch_time_figure(rows: list[dict[str, Any]], out_dir: Path) -> Path:
    figure = Figure(figsize=(8.5, 4.2), dpi=100)
    axes = figure.subplots()
    length_axis(axes, lengths_of(rows))
    for i, row in enumerate(r for r in rows if not r["model"].endswith("(baseline)")):
        lengths, seconds = per_epoch(row)
        if lengths:
            axes.plot(lengths, seconds, marker=MARKERS[i % len(MARKERS)], linewidth=1.5,
                      label=row["model"])
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    axes.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    axes.set_ylabel("training time per epoch (s)")
    axes.set_title("Training time per epoch (mean over seeds)")
    axes.grid(True, which="both", alpha=0.3)
    _legend(axes)
    return _save(figure, out_dir / "epoch_time.png")
