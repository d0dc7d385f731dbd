"""Sweeps: a grid as ordinary tagged runs, resuming, failure isolation, results independent of
the number of jobs, and a real Dask cluster on the loopback interface."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rnnlab
from rnnlab.runs import RunStore

TIMINGS = {"time_s", "train_time_s", "wall_time_s", "started_at", "resumed_at"}
SPEC = """
name: grid
model: [simple-rnn, alarmwork]
L: [10]
seeds: 2
epochs: 2
recipes:
  homework: {}
  adam: {optimizer: adam, lr: 0.003, clip_grad: 1.0, set: {}}
"""


def by_cell(runs_dir: Path) -> dict[str, dict]:
    """What each cell of a store computed, without timings, paths and run ids."""
    cells = {}
    for run in RunStore(runs_dir):
        summary = {k: v for k, v in run.summary.items() if k not in TIMINGS}
        config = {k: v for k, v in run.config.items() if k != "runs_dir"}
        metrics = [{k: v for k, v in m.items() if k not in TIMINGS} for m in run.metrics]
        cells[summary["cell"]] = {"config": config, "summary": summary, "metrics": metrics,
                                  "weights": {k: v.tolist() for k, v in
                                              run.load_checkpoint().items()},
                                  "losses": run.losses().tolist()}
    return cells


def test_sweep_file_runs_a_tagged_grid_and_resumes_by_skipping(small_data, cli):
    Path("grid.yaml").write_text(SPEC)
    first = cli("sweep", "grid.yaml", "--jobs", "2")
    assert first.exit_code == 0, first.stdout + first.stderr
    runs = RunStore("runs").list()
    assert len(runs) == 2 * 2 * 2
    assert {r.summary["sweep"] for r in runs} == {"grid"}
    assert {(r.config["model"], r.config["seed"], r.summary["recipe"]) for r in runs} == {
        (m, s, recipe) for m in ("simple-rnn", "alarmwork") for s in (0, 1)
        for recipe in ("homework", "adam")}
    adam = [r for r in runs if r.summary["recipe"] == "adam"]
    assert all(r.config["optimizer"] == "adam" and r.config["clip_grad"] == 1.0 for r in adam)
    assert "sweep grid: 8/8 runs completed, 0 failed" in first.stdout
    assert "alarmwork (adam)" in first.stdout and "≥99%" in first.stdout

    again = cli("sweep", "grid.yaml", "--jobs", "2")
    assert again.exit_code == 0
    assert again.stdout.count(": skipped") == 8
    assert len(RunStore("runs").list()) == 8  # nothing ran twice
    report = cli("report", "accuracy", "--sweep", "grid", "--format", "json")
    rows = {r["model"]: r for r in json.loads(report.stdout)["rows"]}
    assert rows["simple-rnn (homework)"]["L10_n"] == 2
    forced = cli("sweep", "grid.yaml", "--model", "alarmwork", "--force")
    assert forced.exit_code == 0 and len(RunStore("runs").list()) == 12


def test_results_do_not_depend_on_the_number_of_jobs(small_data, cli):
    args = ["sweep", "--model", "alarmwork,lstm", "--L", "10", "--seeds", "2", "--epochs", "2"]
    assert cli(*args, "--jobs", "1", "--runs-dir", "one").exit_code == 0
    assert cli(*args, "--jobs", "2", "--runs-dir", "two").exit_code == 0
    assert by_cell(Path("one")) == by_cell(Path("two"))


def test_a_failing_cell_does_not_stop_the_others(small_data, cli):
    Path("mixed.yaml").write_text(
        "model: simple-rnn\nL: 10\nepochs: 2\nrecipes:\n  fine: {}\n"
        "  wild: {lr: 1000000.0, momentum: 0.0}\n")
    result = cli("sweep", "mixed.yaml", "--jobs", "2")
    assert result.exit_code == 1
    assert "1/2 runs completed, 1 failed" in result.stdout
    failure = [line for line in result.stdout.splitlines() if line.startswith("  failed: ")]
    assert len(failure) == 1 and "training diverged: loss became" in failure[0]
    statuses = sorted(r.summary["status"] for r in RunStore("runs").list())
    assert statuses == ["completed", "failed"]
    rerun = cli("sweep", "mixed.yaml")
    assert rerun.exit_code == 1 and len(RunStore("runs").list()) == 2  # failed: not rerun
    cli("sweep", "mixed.yaml", "--rerun-failed")
    assert len(RunStore("runs").list()) == 3


def test_sweep_errors_name_the_file(workdir, cli):
    Path("bad.yaml").write_text("model: [lstm]\nepoch: 3\n")
    result = cli("sweep", "bad.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: bad.yaml: unknown key 'epoch'")
    Path("bad.yaml").write_text("model: [lstm]\nL: [0]\n")
    assert "--L expects an integer >= 1, got 0" in cli("sweep", "bad.yaml").stderr
    assert "no model given" in cli("sweep", "--L", "10").stderr
    unknown = cli("sweep", "--model", "lstm", "--L", "5", "--executor", "slurm")
    assert unknown.exit_code == 2
    assert unknown.stderr == "error: unknown executor 'slurm' (available: dask, local)\n"


@pytest.mark.parametrize("how,code", [("ctrl-c", 130), ("sigterm", 143)])
def test_interrupted_sweep_resumes_to_the_same_store(small_data, how, code):
    args = [sys.executable, "-m", "rnnlab", "sweep", "--model", "simple-rnn", "--L", "10",
            "--seeds", "3", "--epochs", "30", "--jobs", "2"]
    process = subprocess.Popen(args + ["--runs-dir", "cut"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        metrics = list(Path("cut").glob("*/metrics.jsonl"))
        if metrics and max(len(p.read_text().splitlines()) for p in metrics) >= 3:
            break
        time.sleep(0.05)
    if how == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the sweep and its workers
    else:
        process.send_signal(signal.SIGTERM)  # only the sweep: it must tell the workers
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert "interrupted; run the same command again to resume it" in stderr
    statuses = [r.summary["status"] for r in RunStore("cut").list()]
    assert "interrupted" in statuses
    resumed = subprocess.run(args + ["--runs-dir", "cut"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    clean = subprocess.run(args + ["--runs-dir", "clean"], capture_output=True, text=True)
    assert clean.returncode == 0
    assert by_cell(Path("cut")) == by_cell(Path("clean"))


def test_dask_cluster_on_loopback_gives_the_same_store_as_local_jobs(small_data, cli):
    distributed = pytest.importorskip("distributed")
    args = ["sweep", "--model", "alarmwork,simple-rnn", "--L", "10", "--seeds", "2",
            "--epochs", "2"]
    assert cli(*args, "--jobs", "2", "--runs-dir", "local").exit_code == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        result = cli(*args, "--executor", "dask", "--scheduler", address,
                     "--runs-dir", "remote")
    assert result.exit_code == 0, result.stdout + result.stderr
    local, remote = by_cell(Path("local")), by_cell(Path("remote"))
    assert len(remote) == 4 and local == remote
    for run in RunStore("remote"):
        assert (run.dir / "model.npz").is_file() and (run.dir / "provenance.json").is_file()
    np.testing.assert_array_equal(*(sorted(r.summary["cell"] for r in RunStore(d))
                                    for d in ("local", "remote")))


def test_unreachable_scheduler_is_a_clear_error(small_data, cli):
    pytest.importorskip("distributed")
    result = cli("sweep", "--model", "lstm", "--L", "10", "--epochs", "1", "--executor", "dask",
                 "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: --scheduler tcp://127.0.0.1:1: cannot "
                                            "connect")
    _ = rnnlab
