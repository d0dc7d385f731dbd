"""Reliability: interrupting a real training process and resuming it, divergence, write errors,
determinism of every bundled model, and loaders that refuse code."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
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


# simple-rnn on 100 sequences of L=10 (5 batches an epoch), hidden 4: an epoch takes
# milliseconds. The run is signalled once the test has read its line of epoch 2; leashed
# (conftest.Leashed), it can get no further than epoch 4 by then, so 5 epochs are enough.
INTERRUPTIBLE = ["train", "simple-rnn", "--L", "10", "--hidden", "4", "--epochs", "5",
                 "--early-stop", "off"]
INTERRUPTIBLE_DATA = {"train": 100, "dev": 20, "test": 20}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, cli):
    """The run each interrupted and resumed one must equal: trained once, in one go."""
    root = tmp_path_factory.mktemp("uninterrupted")
    with contextlib.chdir(root):
        rnnlab.gen_data("adding", lengths=[10], sizes=INTERRUPTIBLE_DATA)
        result = cli(*INTERRUPTIBLE, "--quiet")
    assert result.exit_code == 0, result.stderr
    return RunStore(root / "runs").list()[0]


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                      (signal.SIGHUP, 129)])
def test_interrupt_then_resume_equals_an_uninterrupted_run(workdir, cli, leash, uninterrupted,
                                                           sig, code):
    rnnlab.gen_data("adding", lengths=[10], sizes=INTERRUPTIBLE_DATA)
    process = leash([*INTERRUPTIBLE, "--runs-dir", "interrupted"], workdir)
    process.wait_for_line("epoch 2/")  # printed once epoch 2's checkpoint is saved
    process.process.send_signal(sig)
    _, stderr = process.finish()
    assert process.process.returncode == code, stderr
    run = RunStore(workdir / "interrupted").list()[0]
    summary = run.summary
    assert summary["status"] == "interrupted"
    done = summary["epochs"]
    assert 2 <= done < 5, "the signal arrived too late to test a resume"
    assert stderr.strip() == (f"interrupted by {sig.name}; run {run.id} is saved after epoch "
                              f"{done} (continue with: rnnlab train --resume {run.id})")
    assert [m["epoch"] for m in run.metrics] == list(range(1, done + 1))

    resumed = cli("train", "--resume", run.id, "--runs-dir", "interrupted", "--quiet")
    assert resumed.exit_code == 0, resumed.stderr
    run = RunStore(workdir / "interrupted").list()[0]  # as the resume left it
    reference = uninterrupted
    assert without_timings(run.dir / "metrics.jsonl") == \
        without_timings(reference.dir / "metrics.jsonl")
    assert run.summary["test"] == reference.summary["test"]
    np.testing.assert_array_equal(run.losses(), reference.losses())
    for name, value in reference.load_checkpoint().items():
        np.testing.assert_array_equal(run.load_checkpoint()[name], value)


def test_under_nohup_a_hangup_leaves_the_run_training(workdir, leash):
    """SIGHUP (the terminal closed) stops a run as SIGTERM does, unless it is ignored, as
    `nohup` has it: then the run trains on (here until SIGTERM, sent right after; a SIGHUP
    that counted would be on record, the lower signal number being handled first)."""
    rnnlab.gen_data("adding", lengths=[10], sizes=INTERRUPTIBLE_DATA)
    process = leash(INTERRUPTIBLE, workdir, hangup_ignored=True)
    process.wait_for_line("epoch 2/")
    process.process.send_signal(signal.SIGHUP)
    process.process.send_signal(signal.SIGTERM)
    _, stderr = process.finish()
    assert process.process.returncode == 143, stderr
    assert stderr.startswith("interrupted by SIGTERM; run ")


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
    from rnnlab import run as runs

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
