"""Reliability: interrupts and resume in a real subprocess, divergence, write errors,
determinism of every bundled model, and loaders that refuse code."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rnnlab
from rnnlab import RnnlabError
from rnnlab.runs import RunStore

TIMINGS = {"time_s", "train_time_s", "wall_time_s", "started_at", "resumed_at"}


def without_timings(path: Path) -> list:
    """metrics.jsonl or summary.json parsed, minus the keys that hold times."""
    text = path.read_text()
    records = [json.loads(line) for line in text.splitlines()] if path.suffix == ".jsonl" \
        else [json.loads(text)]
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in records]


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_then_resume_equals_an_uninterrupted_run(workdir, sig, code):
    rnnlab.gen_data("adding", lengths=[30], sizes={"train": 1000, "dev": 100, "test": 100})
    args = [sys.executable, "-m", "rnnlab", "train", "simple-rnn", "--L", "30", "--epochs",
            "12", "--early-stop", "off", "--quiet"]
    process = subprocess.Popen(args + ["--runs-dir", "interrupted"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=workdir)
    deadline = time.time() + 120
    metrics: list[Path] = []
    while time.time() < deadline and process.poll() is None:
        metrics = list((workdir / "interrupted").glob("*/metrics.jsonl"))
        # a third line means epoch 2's checkpoint is saved (it is written after the metrics)
        if metrics and len(metrics[0].read_text().splitlines()) >= 3:
            break
        time.sleep(0.02)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    run = RunStore(workdir / "interrupted").list()[0]
    summary = run.summary
    assert summary["status"] == "interrupted"
    done = summary["epochs"]
    assert 2 <= done < 12, "the signal arrived too late to test a resume"
    assert stderr.strip() == (f"interrupted by {sig.name}; run {run.id} is saved after epoch "
                              f"{done} (continue with: rnnlab train --resume {run.id})")
    assert [m["epoch"] for m in run.metrics] == list(range(1, done + 1))

    resumed = subprocess.run(args[:4] + ["--resume", run.id, "--runs-dir", "interrupted",
                                         "--quiet"], capture_output=True, text=True, cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    whole = subprocess.run(args + ["--runs-dir", "whole"], capture_output=True, text=True,
                           cwd=workdir)
    assert whole.returncode == 0, whole.stderr
    reference = RunStore(workdir / "whole").list()[0]
    assert without_timings(run.dir / "metrics.jsonl") == \
        without_timings(reference.dir / "metrics.jsonl")
    assert run.summary["test"] == reference.summary["test"]
    np.testing.assert_array_equal(run.losses(), reference.losses())
    for name, value in reference.load_checkpoint().items():
        np.testing.assert_array_equal(run.load_checkpoint()[name], value)


def test_divergence_stops_with_the_epoch_and_batch_and_keeps_the_last_checkpoint(small_data,
                                                                                 cli):
    result = cli("train", "simple-rnn", "--L", "10", "--lr", "1e6", "--momentum", "0",
                 "--quiet")
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("error: training diverged: loss became ")
    assert " at epoch 1, batch " in line and "keeps the checkpoint of epoch 0" in line
    run = RunStore("runs").list()[0]
    assert run.summary["status"] == "failed"
    assert "training diverged" in run.summary["reason"]
    state = run.load_checkpoint()  # the initial weights: finite, as saved before training
    assert all(np.isfinite(v).all() for v in state.values())


def test_a_write_error_keeps_the_previous_files_and_names_the_file(small_data, cli,
                                                                   monkeypatch):
    from rnnlab import runs

    original, calls = runs.atomic_write, []

    def failing(path, data):
        calls.append(path.name)
        if path.name == "model.npz" and calls.count("model.npz") == 3:  # epoch 2's checkpoint
            raise RnnlabError(f"{path}: could not be written (No space left on device)")
        return original(path, data)

    monkeypatch.setattr(runs, "atomic_write", failing)
    result = cli("train", "lstm", "--L", "10", "--epochs", "4", "--quiet")
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("model.npz: could not be written (No space left on "
                                          "device)")
    run = RunStore("runs").list()[0]
    params, _, position = run.load_training_state()
    assert position == {"epoch": 1, "updates": 10}  # epoch 1's checkpoint is intact
    assert [m["epoch"] for m in run.metrics] == [1, 2]  # epoch 2 ran; its weights were lost
    assert run.summary["status"] == "failed"


@pytest.mark.parametrize("model,options", [
    ("simple-rnn", {"L": 10, "epochs": 2}), ("lstm", {"L": 10, "epochs": 2}),
    ("alarmwork", {"L": 10, "epochs": 2}),
    ("alarmwork", {"L": 10, "epochs": 2, "settings": {"impl": "autograd"}}),
    ("autoenc-lite", {"updates": 40})])
def test_same_seed_same_files_and_other_seeds_differ(small_data, model, options):
    runs = [rnnlab.train(model, seed=seed, **options) for seed in (5, 5, 6)]
    for name in ("metrics.jsonl", "summary.json"):
        a, b, c = (without_timings(r.dir / name) for r in runs)
        assert a == b
        assert a != c
    assert (runs[0].dir / "model.npz").read_bytes() == (runs[1].dir / "model.npz").read_bytes()


def test_checkpoint_with_pickled_objects_is_refused(small_data, cli):
    run = rnnlab.train("lstm", L=10, epochs=1)
    marker = Path("pwned").resolve()

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    payload = np.empty(1, dtype=object)
    payload[0] = Payload()
    with open(run.dir / "model.npz", "wb") as handle:
        np.savez(handle, **{"rnn.weight_ih_l0": payload})
    result = cli("eval", run.id)
    assert result.exit_code == 1
    assert f"{run.dir / 'model.npz'}: not a valid checkpoint" in result.stderr
    assert not marker.exists()
    pickle.loads(pickle.dumps(Payload()))  # the payload is real: unpickled, it runs
    assert marker.exists()


def test_yaml_payload_is_refused(workdir, cli):
    marker = workdir / "pwned"
    (workdir / "c.yaml").write_text(f"epochs: !!python/object/apply:os.system ['touch {marker}']")
    result = cli("train", "lstm", "--config", "c.yaml")
    assert result.exit_code == 2 and "could not determine a constructor" in result.stderr
    assert not marker.exists()
