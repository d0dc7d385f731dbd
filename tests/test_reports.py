"""Reports: timing (scalar vs vector, anomaly detection off), learning curves, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import rnnlab
from rnnlab_plugins.reports import timing


def test_timing_compares_forms_with_anomaly_detection_off(workdir, monkeypatch):
    seen = []
    original = timing.compare

    def spy(*args, **kwargs):
        seen.append(torch.is_anomaly_enabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(timing, "compare", spy)
    torch.autograd.set_detect_anomaly(True)
    try:
        result = rnnlab.report("timing", lengths=[3, 8], models=["alarmwork"],
                               settings={"repeats": 2, "batch_size": 4})
        assert torch.is_anomaly_enabled()  # restored afterwards
    finally:
        torch.autograd.set_detect_anomaly(False)
    assert seen == [False, False]
    assert [(r["model"], r["L"], r["batch"]) for r in result.rows] == [
        ("alarmwork", 3, 4), ("alarmwork", 8, 4)]
    for row in result.rows:
        assert row["max_abs_diff"] < 1e-6
        assert row["forward_ratio"] == row["slow_forward_ms"] / row["fast_forward_ms"]


def test_timing_covers_autoenc_and_rejects_models_without_forms(workdir, cli):
    result = cli("report", "timing", "--model", "autoenc-lite", "--set", "repeats=1",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)["rows"]
    assert row["compare"] == "layer_in: scalar / vector" and row["max_abs_diff"] < 1e-9
    bad = cli("report", "timing", "--model", "lstm")
    assert bad.exit_code == 2
    assert "model 'lstm' declares no scalar/vector forms" in bad.stderr


def test_curves_overlay_runs_of_both_kinds(small_data, cli):
    a = rnnlab.train("lstm", L=10, epochs=2)
    b = rnnlab.train("autoenc-lite", updates=30)
    result = cli("report", "curves", a.id, b.id)
    assert result.exit_code == 0, result.stderr
    path = result.stdout.strip().splitlines()[-1]
    assert path.endswith(f"learning_curves_{a.id}_and_1_more.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (800, 450)
    # no runs named: the latest run, and the output says which
    latest = cli("report", "curves")
    assert latest.exit_code == 0, latest.stderr
    assert f"no runs named: the latest run, {b.id}" in latest.stdout
    assert latest.stdout.strip().splitlines()[-1].endswith(f"learning_curve_{b.id}.png")
    empty = cli("report", "curves", "--runs-dir", "nothing")
    assert (empty.exit_code, empty.stderr) == (2, "error: report curves: no runs to plot (train "
                                               "one with `rnnlab train MODEL`, or name runs: "
                                               "rnnlab report curves RUN...)\n")


def test_reconstructions_for_a_run_and_refusal_for_sequence_models(small_data, cli):
    auto = rnnlab.train("autoenc-lite", updates=5)
    result = cli("report", "reconstructions", auto.id, "--set", "count=3", "--set", "zoom=2")
    assert result.exit_code == 0, result.stderr
    with Image.open(result.stdout.strip().splitlines()[-1]) as image:
        assert image.size == (64 + 10 * 32 + 2, 2 * 32 + 2)  # a margin names the rows
        margin = np.asarray(image)[:, :64]
        assert (margin < 128).any(axis=1)[:32].any() and (margin < 128).any(axis=1)[34:].any()
    seq = rnnlab.train("lstm", L=10, epochs=1)
    refused = cli("report", "reconstructions", seq.id)
    assert refused.exit_code == 2 and "is not an image auto-encoder" in refused.stderr
    latest = cli("report", "reconstructions")  # the latest image run, not the newer lstm one
    assert latest.exit_code == 0, latest.stderr
    assert f"no run named: the latest completed image-model run, {auto.id}" in latest.stdout


def _hand_made(run_id: str, model: str, L: int, seed: int, accuracy: float, epochs: int,
               seconds: float, zero: float) -> None:
    """A completed adding-task run with just the config and summary the report reads."""
    run = rnnlab.Run(Path("runs") / run_id)
    run.dir.mkdir(parents=True)
    run.write_config({"model": model, "data": "adding", "L": L, "seed": seed})
    run.write_summary({"status": "completed", "model": model, "data": "adding", "L": L,
                       "seed": seed, "primary_metric": "accuracy", "epochs": epochs,
                       "train_time_s": seconds,
                       "test": {"accuracy": accuracy, "zero_accuracy": zero}})


def test_accuracy_plot_draws_the_table_rows(workdir):
    from rnnlab_plugins.reports.accuracy_plot import per_epoch, series

    _hand_made("r1", "lstm", 10, 0, 90.0, 10, 5.0, 30.0)
    _hand_made("r2", "lstm", 10, 1, 80.0, 10, 7.0, 30.0)
    _hand_made("r3", "lstm", 50, 0, 40.0, 50, 100.0, 35.0)
    _hand_made("r4", "alarmwork", 50, 0, 99.0, 20, 10.0, 35.0)
    result = rnnlab.report("accuracy", settings={"plot": "true"}, out_dir="pictures")
    assert [p.name for p in result.files] == ["accuracy_vs_L.png", "epoch_time.png",
                                              "success_vs_L.png"]
    for path, size in zip(result.files, [(850, 420), (850, 420), (850, 750)], strict=True):
        assert path.parent == Path("pictures")
        assert Image.open(path).size == size
    # the success rate drawn: seeds at >= 99% of those run, per length
    assert [series(row, "success") for row in result.rows[:2]] == [([50], [1]), ([10, 50], [0, 0])]
    assert [series(row, "n")[1] for row in result.rows[:2]] == [[1], [2, 1]]
    rows = {row["model"]: row for row in result.rows}
    assert series(rows["lstm"], "acc_mean") == ([10, 50], [85.0, 40.0])
    assert series(rows["lstm"], "acc_std")[1][0] == pytest.approx(7.0710678118654755)
    assert per_epoch(rows["lstm"]) == ([10, 50], [0.6, 2.0])  # (5+7)/2 s over 10 epochs
    assert per_epoch(rows["alarmwork"]) == ([50], [0.5])
    assert series(rows["always 0 (baseline)"], "acc_mean") == ([10, 50], [30.0, 35.0])
    plain = rnnlab.report("accuracy")  # without the setting: the table only
    assert plain.files == [] and plain.rows == result.rows


def test_length_axis_is_logarithmic_for_doubling_lengths_and_rows_stand_side_by_side():
    from matplotlib.figure import Figure

    from rnnlab_plugins.reports.accuracy_plot import dodged, length_axis

    doubling, close, single = (Figure().subplots() for _ in range(3))
    assert length_axis(doubling, [50, 100, 200, 400]) is True
    assert doubling.get_xscale() == "log"
    assert list(doubling.get_xticks()) == [50, 100, 200, 400]
    assert [t.get_text() for t in doubling.get_xticklabels()] == ["50", "100", "200", "400"]
    assert length_axis(close, [10, 20, 30]) is False and close.get_xscale() == "linear"
    assert length_axis(single, [200]) is False and single.get_xlim() == (200 / 1.5, 300.0)
    # three rows at L=100: 2^-0.04, 1 and 2^0.04 times L, the middle row on its tick
    assert [dodged([100], i, 3)[0] for i in range(3)] == [100 * 2**-0.04, 100.0, 100 * 2**0.04]
    assert dodged([50, 400], 0, 2) == [50 * 2**-0.02, 400 * 2**-0.02]


def test_curves_put_the_epoch_means_and_dev_in_front_of_the_batch_band(small_data):
    from matplotlib.figure import Figure

    from rnnlab_plugins.reports.curves import draw

    runs = [rnnlab.train("lstm", L=10, epochs=3, seed=seed) for seed in (0, 0)]  # coincide
    axes = Figure().subplots()
    notes: list[str] = []
    draw(axes, runs, 0, notes)
    band, train, dev = axes.lines[:3]
    metrics = [m for m in runs[0].metrics if "train_loss" in m]
    assert list(band.get_ydata()) == list(runs[0].losses())
    assert band.get_alpha() < 0.5 and band.get_zorder() < train.get_zorder()
    assert list(train.get_ydata()) == [m["train_loss"] for m in metrics]
    assert list(dev.get_ydata()) == [m["dev_mse"] for m in metrics]
    assert dev.get_linestyle() == "--"
    # the second run lies on the first: another colour and marker
    second = axes.lines[4]
    assert list(second.get_ydata()) == list(train.get_ydata())
    assert (second.get_color(), second.get_marker()) != (train.get_color(), train.get_marker())
    labels = [t.get_text() for t in axes.get_legend().get_texts()]
    assert labels == [f"lstm {r.id.rsplit('-', 1)[-1]}" for r in runs] + [
        "train loss, per epoch", "dev mse", "loss per batch"]


def test_report_out_that_is_a_file_is_refused_before_any_work(workdir, cli):
    Path("taken").write_text("mine")
    result = cli("report", "accuracy", "--set", "plot=true", "--out", "taken")
    assert (result.exit_code, result.stderr) == (
        2, "error: --out taken: it exists and is not a directory (reports write their pictures "
        "into a directory)\n")
    below = cli("report", "accuracy", "--set", "plot=true", "--out", "taken/sub")
    assert (below.exit_code, below.stderr) == (
        2, "error: --out taken/sub: taken exists and is not a directory (reports write their "
        "pictures into a directory)\n")
    Path("dangling").symlink_to("nowhere")
    link = cli("report", "accuracy", "--set", "plot=true", "--out", "dangling")
    assert (link.exit_code, link.stderr) == (
        2, "error: --out dangling: it exists and is not a directory (reports write their "
        "pictures into a directory)\n")
    assert Path("taken").read_text() == "mine"


def test_plugins_lists_homework_beside_a_models_own_recipe(cli):
    shown = cli("plugins", "mlp-lite").stdout.splitlines()
    assert shown[2] == ("recipe (default): optimizer=adam, lr=0.001, hidden=128, epochs=20, "
                        "shuffle=True")
    assert shown[3] == "other recipes (--recipe NAME): homework (rnnlab defaults)"


def test_report_filters_name_what_does_not_match(workdir, cli):
    """An unknown model or sweep is a usage mistake (exit 2) naming what the store holds; a
    sweep that is there but filtered out by --L is not reported as missing."""
    _hand_made("r1", "lstm", 10, 0, 90.0, 10, 5.0, 30.0)
    summary = Path("runs/r1/summary.json")
    summary.write_text(json.dumps({**json.loads(summary.read_text()), "sweep": "grid"}))
    nosuch = cli("report", "accuracy", "--model", "nosuch")
    assert (nosuch.exit_code, nosuch.stderr) == (
        2, "error: --model nosuch: no runs of that model in runs (models there: lstm)\n")
    installed = cli("report", "accuracy", "--model", "alarmwork", "--format", "json")
    assert installed.exit_code == 0 and json.loads(installed.stdout)["rows"] == []
    other_length = cli("report", "accuracy", "--sweep", "grid", "--L", "30", "--format", "json")
    assert other_length.exit_code == 0 and json.loads(other_length.stdout)["rows"] == []
    unknown = cli("report", "accuracy", "--sweep", "nope", "--L", "10")
    assert (unknown.exit_code, unknown.stderr) == (
        2, "error: --sweep nope: no runs of that sweep in runs (sweeps there: grid)\n")
