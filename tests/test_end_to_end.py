"""gen-data -> train -> report through the CLI and the Python API, on small data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import rnnlab
from rnnlab.runs import RunStore

FAST = ["--L", "10", "--epochs", "2", "--quiet"]


def test_cli_gen_train_report(workdir, cli):
    made = cli("gen-data", "--L", "10", "--n-train", "200", "--n-dev", "100", "--n-test", "100")
    assert made.exit_code == 0, made.stderr
    assert made.stdout.splitlines()[-3:] == [
        "datasets/adding/adding_problem_T=010_train.csv",
        "datasets/adding/adding_problem_T=010_dev.csv",
        "datasets/adding/adding_problem_T=010_test.csv"]
    for model, seed in [("lstm", "0"), ("simple-rnn", "0"), ("simple-rnn", "1")]:
        result = cli("train", model, *FAST, "--seed", seed)
        assert result.exit_code == 0, result.stderr
        assert " completed test accuracy " in result.stdout
    runs = RunStore("runs").list()
    assert len(runs) == 3
    for run in runs:
        assert {p.name for p in run.dir.iterdir()} == {
            "config.yaml", "metrics.jsonl", "summary.json", "model.npz", "losses.npy",
            "provenance.json", ".lock"}
        assert [m["epoch"] for m in run.metrics] == [1, 2]
        assert len(run.losses()) == 2 * 10  # 200 sequences / batch 20, two epochs
        assert run.summary["status"] == "completed" and run.summary["epochs"] == 2
        prov = json.loads((run.dir / "provenance.json").read_text())
        assert prov["seed"] == run.config["seed"] and prov["torch"] and prov["numpy"]
        assert prov["model_plugin"]["dist"] == "rnnlab"
    report = cli("report", "accuracy", "--format", "json")
    assert report.exit_code == 0, report.stderr
    rows = {r["model"]: r for r in json.loads(report.stdout)["rows"]}
    rnn = [r for r in runs if r.config["model"] == "simple-rnn"]
    accs = [r.summary["test"]["accuracy"] for r in rnn]
    assert rows["simple-rnn"]["L10_n"] == 2
    assert rows["simple-rnn"]["L10_acc_mean"] == pytest.approx(np.mean(accs))
    assert rows["simple-rnn"]["L10_acc_std"] == pytest.approx(np.std(accs, ddof=1))
    assert rows["always 0 (baseline)"]["L10_acc_mean"] == runs[0].summary["test"]["zero_accuracy"]
    filtered = cli("report", "accuracy", "--model", "lstm", "--format", "csv")
    assert filtered.stdout.splitlines()[0].startswith("model,L10_acc_mean")
    assert [line.split(",")[0] for line in filtered.stdout.splitlines()[1:]] == [
        "lstm", "always 0 (baseline)"]
    listed = cli("runs", "--json")
    assert sorted(r["model"] for r in json.loads(listed.stdout)) == [
        "lstm", "simple-rnn", "simple-rnn"]
    evaluated = cli("eval", runs[0].id[:-2], "--json")
    assert evaluated.exit_code == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["test"] == runs[0].summary["test"]


def test_third_party_example_plugin_trains_and_reports(small_data, cli, examples_installed):
    result = cli("train", "gru", *FAST, "--set", "layers=2")
    assert result.exit_code == 0, result.stderr
    run = RunStore("runs").list()[0]
    assert run.config["settings"] == {"layers": 2}
    assert set(run.load_checkpoint()) >= {"gru.weight_hh_l1", "out.weight"}
    prov = json.loads((run.dir / "provenance.json").read_text())
    assert prov["model_plugin"] == {"dist": "rnnlab-gru", "version": "0.1.0"}
    report = cli("report", "accuracy", "--format", "json")
    assert [r["model"] for r in json.loads(report.stdout)["rows"]][0] == "gru"


def test_python_api_same_seed_same_metrics(small_data):
    def strip(run):
        return [{k: v for k, v in m.items() if k != "time_s"} for m in run.metrics]

    a = rnnlab.train("simple-rnn", L=10, epochs=2, seed=3)
    b = rnnlab.train("simple-rnn", L=10, epochs=2, seed=3)
    c = rnnlab.train("simple-rnn", L=10, epochs=2, seed=4)
    assert strip(a) == strip(b) != strip(c)
    assert a.summary["test"] == b.summary["test"]
    assert rnnlab.load_run(a.id).summary["test"] == a.summary["test"]
    with pytest.raises(rnnlab.UsageError, match="unknown training option.*: epoch"):
        rnnlab.train("lstm", epoch=3)


def test_early_stop_and_missing_run(small_data, cli):
    run = rnnlab.train("lstm", L=10, epochs=5, early_stop=-1.0)  # any accuracy exceeds -1
    assert run.summary["epochs"] == 1 and run.summary["stopped_early"] is True
    missing = cli("eval", "nope")
    assert missing.exit_code == 2
    assert missing.stderr.strip() == "error: no run 'nope' in runs (see `rnnlab runs`)"


@pytest.mark.parametrize("model", ["simple-rnn", "lstm"])
def test_baselines_recur_over_time_not_batch(model):
    """A public-solution mistake: nn.RNN/nn.LSTM without batch_first on (B, L, D) batches."""
    import torch

    from rnnlab import DataSpec

    net = rnnlab.build_learner(model, DataSpec("sequence", 2, 1, 7)).module
    x = torch.randn(5, 7, 2)
    together = net(x)  # (5, 1)
    alone = torch.cat([net(x[i : i + 1]) for i in range(5)])
    assert torch.allclose(together, alone, atol=1e-6)  # samples do not leak into each other
    flipped = x.clone()
    flipped[:, 0] += 1.0  # the first step must still matter at the last step
    assert not torch.allclose(net(flipped), together)


@pytest.fixture(scope="module")
def thread_runs(tmp_path_factory):
    """`rnnlab train` in a process of its own with OMP_NUM_THREADS unset and with it 2, the
    two started at once (a process's time is nearly all importing torch): for each case, its
    exit code, its stderr and its run store."""
    import os
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("threads")
    rnnlab.gen_data("adding", lengths=[10], out=root / "datasets",
                    sizes={"train": 20, "dev": 20, "test": 20})
    started = {}
    for threads in (None, "2"):
        env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
        if threads:
            env["OMP_NUM_THREADS"] = threads
        started[threads] = subprocess.Popen(
            [sys.executable, "-m", "rnnlab", "train", "lstm", "--L", "10", "--epochs", "1",
             "--quiet", "--runs-dir", f"runs-{threads}"],
            env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = {}
    for threads, process in started.items():
        _, stderr = process.communicate(timeout=300)
        done[threads] = (process.returncode, stderr, RunStore(root / f"runs-{threads}"))
    return done


@pytest.mark.parametrize("threads", [None, "2"])
def test_the_command_line_runs_on_one_thread_unless_told(thread_runs, threads):
    returncode, stderr, store = thread_runs[threads]
    assert returncode == 0, stderr
    run = store.list()[0]
    assert json.loads((run.dir / "provenance.json").read_text())["torch_threads"] == int(
        threads or 1)


def test_device_cuda_without_a_gpu_is_a_clear_error(small_data, cli):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    for model in ("lstm", "alarmwork"):
        result = cli("train", model, "--L", "10", "--device", "cuda")
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            "error: --device cuda: no CUDA device is available (use --device cpu)")
    # Without a GPU that comes first (checked before any data is generated); with one, a
    # NumPy model says it runs on the CPU only.
    result = cli("train", "autoenc-lite", "--device", "cuda")
    assert result.stderr.strip() == (
        "error: --device cuda: no CUDA device is available (use --device cpu)")
    assert not Path("runs").exists()
