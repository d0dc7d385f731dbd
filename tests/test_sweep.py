"""Sweeps: a grid as ordinary tagged runs, resuming, failure isolation, results independent of
the number of jobs, and a real Dask cluster on the loopback interface."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import rnnlab
from rnnlab import registry as plugin_registry
from rnnlab import sweep
from rnnlab.events import CellUpdate, EpochDone, RunStarted
from rnnlab.runs import RunStore

SIZES = {"train": 200, "dev": 100, "test": 100}  # as conftest's small_data
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
    """What each cell of a store computed, without timings, folders and run ids."""
    cells = {}
    for run in RunStore(runs_dir):
        summary = {k: v for k, v in run.summary.items() if k not in TIMINGS}
        config = {k: v for k, v in run.config.items() if k not in ("runs_dir", "data_dir")}
        metrics = [{k: v for k, v in m.items() if k not in TIMINGS} for m in run.metrics]
        cells[summary["cell"]] = {"config": config, "summary": summary, "metrics": metrics,
                                  "weights": {k: v.tolist() for k, v in
                                              run.load_checkpoint().items()},
                                  "losses": run.losses().tolist()}
    return cells


def ended(runs: list, state: str) -> set[str]:
    """The progress line of each run's cell in that state, as a plain (non-terminal) sweep
    prints it."""
    return {f"{r.config['model']} L=10 seed {r.config['seed']} {r.summary['recipe']}: {state}"
            f"  test accuracy {r.summary['test']['accuracy']:.1f}%" for r in runs}


def lines(stdout: str) -> set[str]:
    """Progress lines without their '[i/n] ' counter."""
    return {line.split("] ", 1)[-1] for line in stdout.splitlines()}


def run_sweep(spec: dict, runs_dir: Path, data_dir: Path, jobs: int) -> None:
    """A sweep through the library, as `rnnlab sweep` runs it."""
    grid = sweep.build(spec, plugin_registry.default(), runs_dir=str(runs_dir),
                       data_dir=str(data_dir))
    sweep.plan(grid)
    sweep.run(grid, jobs=jobs)
    assert {c.state for c in grid.cells} == {"done"}


@pytest.fixture(scope="module")
def shared_data(tmp_path_factory) -> Path:
    """Adding-task data for L=10 (as `small_data`), once for this module's reference stores;
    a sweep compared with one of them reads it too (`--data-dir`: configs record the path)."""
    folder = tmp_path_factory.mktemp("shared") / "datasets"
    rnnlab.gen_data("adding", lengths=[10], out=folder, sizes=SIZES)
    return folder


GRID = {"model": ["alarmwork", "lstm"], "L": [10], "seeds": 2, "epochs": 2}
GRID_ARGS = ["sweep", "--model", "alarmwork,lstm", "--L", "10", "--seeds", "2", "--epochs", "2"]


@pytest.fixture(scope="module")
def grid_reference(shared_data) -> Path:
    """GRID run by two local workers, built once for the tests that compare with it."""
    store = shared_data.parent / "grid-2-jobs"
    run_sweep(GRID, store, shared_data, jobs=2)
    return store


# long enough that the sweep is still training when the interrupt from its epoch-3 progress
# lands; jobs 2 and 3 seeds: the third cell is still queued then
LONG = {"model": ["simple-rnn"], "L": [10], "seeds": 3, "epochs": 15}
LONG_ARGS = ["sweep", "--model", "simple-rnn", "--L", "10", "--seeds", "3", "--epochs", "15",
             "--jobs", "2"]


@pytest.fixture(scope="module")
def long_reference(shared_data) -> Path:
    """LONG run without interruption, once for both ways of interrupting it."""
    store = shared_data.parent / "long-clean"
    run_sweep(LONG, store, shared_data, jobs=2)
    return store


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
    assert ended(runs, "done") <= lines(first.stdout)  # each cell's own test accuracy

    again = cli("sweep", "grid.yaml", "--jobs", "2")
    assert again.exit_code == 0
    assert again.stdout.count(": skipped") == 8
    assert ended(runs, "skipped") <= lines(again.stdout)
    assert len(RunStore("runs").list()) == 8  # nothing ran twice
    report = cli("report", "accuracy", "--sweep", "grid", "--format", "json")
    rows = {r["model"]: r for r in json.loads(report.stdout)["rows"]}
    assert rows["simple-rnn (homework)"]["L10_n"] == 2
    forced = cli("sweep", "grid.yaml", "--model", "alarmwork", "--force")
    assert forced.exit_code == 0 and len(RunStore("runs").list()) == 12


def test_results_do_not_depend_on_the_number_of_jobs(workdir, shared_data, grid_reference,
                                                    cli):
    one = cli(*GRID_ARGS, "--jobs", "1", "--runs-dir", "one", "--data-dir", str(shared_data))
    assert one.exit_code == 0, one.stdout + one.stderr
    assert by_cell(Path("one")) == by_cell(grid_reference)  # made by --jobs 2


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
    assert unknown.stderr == "error: unknown executor 'slurm' (available: dask, local, pack)\n"


@pytest.mark.parametrize("how,code", [("ctrl-c", 130), ("sigterm", 143), ("hangup", 129),
                                      ("ctrl-c twice", 130)])
def test_interrupted_sweep_resumes_to_the_same_store(workdir, shared_data, long_reference, cli,
                                                     interrupted_sweep, how, code):
    shutil.copytree(shared_data, "mine")  # moved before the resume
    args = [*LONG_ARGS, "--runs-dir", "cut"]

    def send(process: subprocess.Popen) -> None:
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the sweep and its workers
        elif how == "ctrl-c twice":  # the second while it shuts down: it must still end
            os.killpg(process.pid, signal.SIGINT)
            time.sleep(0.01)
            os.killpg(process.pid, signal.SIGINT)
        elif how == "hangup":
            os.killpg(process.pid, signal.SIGHUP)  # a closed terminal: the same, by SIGHUP
        else:
            process.send_signal(signal.SIGTERM)  # only the sweep: it must tell the workers

    returncode, stderr = interrupted_sweep([*args, "--data-dir", "mine"], 3, send,
                                           start_new_session=True)
    assert returncode == code, stderr
    assert "interrupted; run the same command again to resume it" in stderr
    cut = [r.summary for r in RunStore("cut").list() if r.summary["status"] == "interrupted"]
    name = {"hangup": "SIGHUP", "sigterm": "SIGTERM"}.get(how, "SIGINT")  # on record
    assert cut and all(s["reason"].startswith(f"interrupted by {name}; ") for s in cut), cut
    Path("mine").rename("moved")
    resumed = cli(*args, "--data-dir", "moved")  # the interrupted cells' data, by hash
    assert resumed.exit_code == 0, resumed.stdout + resumed.stderr
    assert by_cell(Path("cut")) == by_cell(long_reference)


def test_ctrl_c_on_a_sweep_on_a_dask_cluster_brings_the_running_runs_home(
        workdir, shared_data, long_reference, cli, interrupted_sweep):
    """The cluster's workers are not the sweep's children: Ctrl-C reaches the sweep only,
    which tells the running cells to stop; their runs come back interrupted and resume."""
    distributed = pytest.importorskip("distributed")
    args = [*LONG_ARGS, "--runs-dir", "cut", "--data-dir", str(shared_data)]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        returncode, stderr = interrupted_sweep(
            [*args, "--executor", "dask", "--scheduler", cluster.scheduler_address], 3,
            lambda process: process.send_signal(signal.SIGINT))  # the sweep alone
    assert returncode == 130, stderr
    cut = [r.summary for r in RunStore("cut").list()]
    interrupted = [s for s in cut if s["status"] == "interrupted"]
    assert interrupted and all(s["reason"].startswith("interrupted by SIGINT; ")
                               and s["epochs"] < 15 for s in interrupted), cut
    assert max(s["epochs"] for s in interrupted) >= 3, cut  # what it had trained came home
    resumed = cli(*args)  # here, by the local executor: the runs came home whole
    assert resumed.exit_code == 0, resumed.stdout + resumed.stderr
    assert by_cell(Path("cut")) == by_cell(long_reference)
    assert len(RunStore("cut").list()) == 3  # resumed, not run again


def test_dask_cluster_on_loopback_gives_the_same_store_as_local_jobs(workdir, shared_data,
                                                                     grid_reference, cli):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        result = cli(*GRID_ARGS, "--executor", "dask", "--scheduler", address,
                     "--runs-dir", "remote", "--data-dir", str(shared_data))
    assert result.exit_code == 0, result.stdout + result.stderr
    local, remote = by_cell(grid_reference), by_cell(Path("remote"))
    assert len(remote) == 4 and local == remote
    for run in RunStore("remote"):
        assert (run.dir / "model.npz").is_file() and (run.dir / "provenance.json").is_file()
    np.testing.assert_array_equal(*(sorted(r.summary["cell"] for r in RunStore(d))
                                    for d in (grid_reference, Path("remote"))))


def test_cuda_on_a_machine_without_it_is_refused_before_any_cell_runs(small_data, cli):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with open("gpu.yaml", "w") as handle:
        handle.write("model: lstm\nL: 10\nstages: [{epochs: 1}, {epochs: 1, device: cuda}]\n")
    result = cli("sweep", "gpu.yaml")
    assert (result.exit_code, result.stderr) == (
        2, "error: gpu.yaml: --device cuda: no CUDA device is available (use --device cpu)\n")
    assert RunStore("runs").list() == []
    for executor in (["--pack"], ["--executor", "local"]):  # --scheduler does not apply there
        alone = cli("sweep", "gpu.yaml", *executor, "--scheduler", "tcp://127.0.0.1:1")
        assert (alone.exit_code, alone.stderr) == (2, (
            "error: --scheduler is the address of a cluster; it goes with an executor that uses "
            f"one (--executor dask), not {'pack' if executor == ['--pack'] else 'local'}\n"))


def test_unreachable_scheduler_is_a_clear_error(small_data, cli, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("rnnlab.sweep.dask.CONNECT_TIMEOUT_S", 1.0)  # nothing listens there
    result = cli("sweep", "--model", "lstm", "--L", "10", "--epochs", "1", "--executor", "dask",
                 "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: --scheduler tcp://127.0.0.1:1: cannot "
                                            "connect")


def test_command_line_options_override_the_sweep_file():
    spec = {"model": ["lstm"], "seed": [3, 4], "set": {"a": 1}, "epochs": 5}
    same = sweep.apply_overrides(spec, models=[], lengths=[], seeds=None, epochs=None,
                                 sets={}, name=None)
    assert same == spec
    changed = sweep.apply_overrides(spec, models=["gru"], lengths=[10, 50], seeds=2, epochs=1,
                                    sets={"b": "2"}, name="mine")
    assert changed == {"model": ["gru"], "L": [10, 50], "seeds": 2, "set": {"a": 1, "b": "2"},
                       "epochs": 1, "name": "mine"}
    assert spec["seed"] == [3, 4]  # the spec itself is left as it was
    with pytest.raises(rnnlab.UsageError, match="--seeds expects an integer >= 1, got 0"):
        sweep.apply_overrides(spec, models=[], lengths=[], seeds=0, epochs=None, sets={},
                              name=None)


def test_the_command_line_overrides_recipes_and_stages_too(small_data):
    """`--epochs 1` on a curriculum makes every stage one epoch (a quick try of the file), and
    an option given on the command line holds in every recipe and stage that sets it."""
    spec = {"model": "alarmwork", "seeds": 1, "lr": 0.1,
            "recipes": {"a": {"lr": 0.2, "set": {"rec_init": "identity", "impl": "bptt"},
                              "stages": [{"L": 10, "epochs": 3, "lr": 0.3},
                                         {"L": 10, "epochs": 4, "set": {"rec_init": "xavier"}}]},
                        "b": {"epochs": 7}}}
    plain = sweep.build(sweep.apply_overrides(spec, models=[], lengths=[], seeds=None,
                                              epochs=None, sets={}, name=None),
                        rnnlab.registry.default())
    assert [(c.recipe, c.config.epochs, c.config.lr, c.config.settings["rec_init"])
            for c in plain.cells] == [("a", 3, 0.3, "identity"), ("a", 4, 0.2, "xavier"),
                                      ("b", 7, 0.1, "orthogonal")]
    given = sweep.apply_overrides(spec, models=[], lengths=[], seeds=None, epochs=None,
                                  sets={"rec_init": "orthogonal"}, name=None,
                                  options={"epochs": 1, "lr": 0.05})
    cells = sweep.build(given, rnnlab.registry.default()).cells
    assert [(c.recipe, c.config.epochs, c.config.lr, c.config.settings["rec_init"],
             c.config.settings["impl"]) for c in cells] == [
        ("a", 1, 0.05, "orthogonal", "bptt"), ("a", 1, 0.05, "orthogonal", "bptt"),
        ("b", 1, 0.05, "orthogonal", "auto")]
    assert spec["recipes"]["a"]["stages"][0]["lr"] == 0.3  # the file's spec is left as it was
    # a stage counted in updates is counted in --epochs too
    counted = {"model": "alarmwork", "updates": 7, "stages": [{"L": 10, "updates": 300}, {"L": 10}]}
    given = sweep.apply_overrides(counted, models=[], lengths=[], seeds=None, epochs=None,
                                  sets={}, name=None, options={"epochs": 1})
    assert [(c.config.epochs, c.config.updates) for c in sweep.build(
        given, rnnlab.registry.default()).cells] == [(1, None), (1, None)]


def test_a_cells_progress_is_structured():
    """A worker's run events become CellUpdates carrying the data, not display text."""
    sent: list[CellUpdate] = []
    progress = sweep.CellProgress(sent.append, 4, "lstm L=10 seed 0")
    progress(RunStarted("r1", Path("runs/r1"), {"data": "adding"}, ("accuracy",)))
    progress(EpochDone(3, 50, {"epoch": 3, "updates": 30, "dev_accuracy": 61.25}))
    progress(EpochDone(1, 1, {"updates": 10, "train_loss": 0.5}, updates_total=20))
    common = {"index": 4, "label": "lstm L=10 seed 0", "state": "running", "run_id": "r1",
              "metric": "accuracy", "percentages": ("accuracy",)}
    assert sent == [CellUpdate(**common),
                    CellUpdate(**common, epoch=3, epochs=50, dev=61.25),
                    CellUpdate(**common, epoch=1, epochs=1, updates=10, updates_total=20)]


def test_sweep_takes_every_training_option_and_a_comma_list_makes_an_axis(small_data, cli):
    import typer.main

    from rnnlab.cli import app

    def options(name: str) -> set[str]:
        command = typer.main.get_command(app).commands[name]
        return {o for p in command.params for o in p.opts if o.startswith("--")}

    only_train = {"--config", "--print-config", "--resume", "--quiet", "--seed"}
    assert options("train") - only_train <= options("sweep")
    result = cli("sweep", "--model", "alarmwork", "--L", "10", "--epochs", "1", "--recipe",
                 "homework", "--lr", "0.01,0.003", "--optimizer", "sgd,adam", "--clip-grad",
                 "off", "--name", "axes")
    assert result.exit_code == 0, result.stderr
    configs = sorted((r.config["lr"], r.config["optimizer"], r.config["clip_grad"],
                      r.config["recipe"]) for r in RunStore("runs").list())
    assert configs == [(0.003, "adam", None, "homework"), (0.003, "sgd", None, "homework"),
                       (0.01, "adam", None, "homework"), (0.01, "sgd", None, "homework")]
    # 'off' is an explicit value: it overrides the default recipe's clipping at 1
    off = cli("sweep", "--model", "alarmwork", "--L", "10", "--clip-grad", "off,1",
              "--epochs", "1", "--name", "off", "--runs-dir", "off")
    assert off.exit_code == 0, off.stderr
    assert sorted(str(r.config["clip_grad"]) for r in RunStore("off").list()) == ["1.0", "None"]
    bad = cli("sweep", "--model", "alarmwork", "--L", "10", "--lr", "0.01,x")
    assert (bad.exit_code, bad.stderr) == (2, "error: --lr expects a number, got 'x'\n")
