"""Reports: timing (scalar vs vector, anomaly detection off), learning curves, errors."""

from __future__ import annotations

import json

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
    assert cli("report", "curves").exit_code == 2


def test_reconstructions_for_a_run_and_refusal_for_sequence_models(small_data, cli):
    auto = rnnlab.train("autoenc-lite", updates=5)
    result = cli("report", "reconstructions", auto.id, "--set", "count=3", "--set", "zoom=2")
    assert result.exit_code == 0, result.stderr
    with Image.open(result.stdout.strip().splitlines()[-1]) as image:
        assert image.size == (10 * 32 + 2, 2 * 32 + 2)
    seq = rnnlab.train("lstm", L=10, epochs=1)
    refused = cli("report", "reconstructions", seq.id)
    assert refused.exit_code == 2 and "is not an image auto-encoder" in refused.stderr
