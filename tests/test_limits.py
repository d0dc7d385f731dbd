"""Options that need more memory or time than the machine has, or values out of range, are
refused before anything is allocated or written: exit code 2, one line naming the option, the
estimate and the limit, within seconds, and the working directory left as it was."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rnnlab
from rnnlab import config, limits, sweep
from rnnlab import registry as plugin_registry

BIG = str(2**70)
HALF = ("limit 8 GB: RNNLAB_MEMORY_LIMIT=GB raises it to at most half of this machine's "
        "16 GB")  # the machine of these tests (patched)


@pytest.fixture
def machine(monkeypatch):
    """A machine of 16 GB (8 GB available) with 2 cores, whatever runs the tests, and a user
    who raised the limit to half of it."""
    monkeypatch.setenv("RNNLAB_MEMORY_LIMIT", "8")
    monkeypatch.setattr(limits.machine, "physical_memory", lambda: 16 * 10**9)
    monkeypatch.setattr(limits.machine, "available_memory", lambda: 8 * 10**9)
    monkeypatch.setattr(limits.machine, "cpu_count", lambda: 2)


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


CASES: dict[str, tuple[list[str], str]] = {
    "train L": (["train", "alarmwork", "--L", "100000"],
                f"--L 100000: training alarmwork would need about 89.8 GB of memory ({HALF}); "
                "use a smaller --L"),
    "train checkpointing helps": (
        ["train", "alarmwork", "--L", "5000", "--batch-size", "2000"],
        f"--L 5000: training alarmwork would need about 48.7 GB of memory ({HALF}); use --set "
        "checkpoint_every=71 or a smaller --L"),
    "train updates": (["train", "alarmwork", "--updates", "1000000000000"],
                      f"--updates 1000000000000: training alarmwork would need about 320 TB of "
                      f"memory ({HALF}); use a smaller --updates"),
    "train epochs": (["train", "lstm", "--epochs", BIG],
                     f"--epochs {BIG}: training lstm would need about 2.4e+10 PB of memory "
                     f"({HALF}); use a smaller --epochs"),
    "train epochs time": (["train", "alarmwork", "--L", "2000", "--epochs", "200000"],
                          "--epochs 200000: training alarmwork would take at least 38.4 days "
                          "(limit: 30 days); use a smaller --epochs"),
    "train batch": (["train", "lstm", "--batch-size", BIG],
                    f"--batch-size {BIG}: training lstm would need about 5.7e+11 PB of memory "
                    f"({HALF}); use a smaller --batch-size"),
    "train hidden": (["train", "simple-rnn", "--hidden", "10000000"],
                     f"--hidden 10000000: training simple-rnn would need about 19.2 PB of memory "
                     f"({HALF}); use a smaller --hidden"),
    "train images updates": (["train", "autoenc-lite", "--updates", "100000000000"],
                             f"--updates 100000000000: training autoenc-lite would need about "
                             f"32 TB of memory ({HALF}); use a smaller --updates"),
    "train seed negative": (["train", "lstm", "--seed", "-1"],
                            "--seed expects an integer in [0, 4294967295], got -1"),
    "train seed huge": (["train", "lstm", "--seed", BIG],
                        f"--seed expects an integer in [0, 4294967295], got {BIG}"),
    "gen-data n-train": (["gen-data", "--n-train", "3000000"],
                         "--n-train 3000000: the adding data for L=100 would be 2.52 GB of files "
                         f"and need about 16.4 GB of memory to generate and load ({HALF}); use a "
                         "smaller --n-train"),
    "gen-data L": (["gen-data", "--L", "10,100000"],
                   "--L 100000: the adding data for L=10,100000 would be 10.1 GB of files and "
                   f"need about 55.8 GB of memory to generate and load ({HALF}); use a smaller "
                   "--L"),
    "gen-data images": (["gen-data", "images", "--n-train", "10000000"],
                        "--n-train 10000000: the images data would be 18 GB of files and need "
                        f"about 73.2 GB of memory to generate and load ({HALF}); use a smaller "
                        "--n-train"),
    "gen-data seed": (["gen-data", "--seed", "-1"],
                      "--seed expects an integer in [0, 4294967295], got -1"),
    "sweep seeds": (["sweep", "--model", "alarmwork", "--seeds", "100000000"],
                    "--seeds 100000000: the sweep would have at least 100,000,000 runs (limit: "
                    "10,000 runs per sweep)"),
    "sweep grid": (["sweep", "--model", "alarmwork,lstm", "--L", "10,20", "--seeds", "5000"],
                   "sweep: the grid would have 20,000 runs (model 2 x L 2 x seed 5,000; limit: "
                   "10,000 runs per sweep)"),
    "sweep jobs": (["sweep", "--model", "alarmwork", "--jobs", "1000"],
                   "--jobs 1000: at most 8 worker processes here (about 400 MB each, 8 GB "
                   "available: room for 20; 2 CPU cores x 4 = 8)"),
    "sweep jobs memory": (["sweep", "--model", "lstm", "--L", "3000", "--seeds", "3", "--jobs",
                           "3"],
                          "--jobs 3: at most 2 worker processes here (about 2.92 GB each, 8 GB "
                          "available: room for 2; 2 CPU cores x 4 = 8)"),
    "gradcheck L": (["gradcheck", "alarmwork", "--L", "1000000"],
                    "--L 1000000: the gradient check of alarmwork would take at least 1.37 days "
                    "(limit: 10 minutes): two loss evaluations per weight in each of 5 form(s); "
                    "use a smaller --L"),
    "gradcheck hidden": (["gradcheck", "alarmwork", "--hidden", "100"],
                         "--hidden 100: the gradient check of alarmwork would take at least 13.8 "
                         "minutes (limit: 10 minutes): two loss evaluations per weight in each of "
                         "5 form(s); use a smaller --hidden"),
    "gradcheck batch": (["gradcheck", "alarmwork", "--batch", "100000000000"],
                        "--batch 100000000000: the gradient check of alarmwork would take at "
                        "least 2.99 years (limit: 10 minutes): two loss evaluations per weight "
                        "in each of 5 form(s); use a smaller --batch"),
    "gradcheck seed": (["gradcheck", "alarmwork", "--seed", "-1"],
                       "--seed expects an integer in [0, 4294967295], got -1"),
    "report zoom": (["report", "reconstructions", "--set", "zoom=1000"],
                    "--set zoom expects an integer in [1, 32], got 1000 (a 15x15 image would be "
                    "15,000 x 15,000 pixels)"),
    "report zoom zero": (["report", "reconstructions", "--set", "zoom=0"],
                         "--set zoom expects an integer in [1, 32], got 0"),
    "report count": (["report", "reconstructions", "--set", "count=0"],
                     "--set count expects an integer in [1, 200], got 0"),
    "report smooth": (["report", "curves", "--set", "smooth=-5"],
                      "--set smooth expects an integer in [0, 1000000000], got -5"),
    "report repeats": (["report", "timing", "--set", "repeats=100000"],
                       "--set repeats expects an integer in [1, 1000], got 100000"),
    "report batch": (["report", "timing", "--set", "batch_size=0"],
                     "--set batch_size expects an integer in [1, 1000], got 0"),
    "report threads": (["report", "timing", "--set", "threads=-1"],
                       f"--set threads expects an integer in [0, {os.cpu_count() or 1}], got -1 "
                       "(0 leaves torch's setting)"),
}


@pytest.mark.parametrize("argv, expected", CASES.values(), ids=list(CASES))
def test_refused_at_once_with_the_option_named(workdir, cli, machine, argv, expected):
    before = tree(workdir)
    tick = time.perf_counter()
    result = cli(*argv)
    elapsed = time.perf_counter() - tick
    assert result.exit_code == 2, result.stderr
    assert result.stderr == f"error: {expected}\n"
    assert "Traceback" not in result.stdout + result.stderr
    assert elapsed < 5
    assert tree(workdir) == before  # no datasets/, no runs/, no reports


def test_a_sweep_file_names_itself(workdir, cli, machine):
    (workdir / "s.yaml").write_text("model: lstm\nseeds: 100000000\n")
    result = cli("sweep", "s.yaml")
    assert result.exit_code == 2
    assert result.stderr == ("error: s.yaml: 'seeds' 100000000: the sweep would have at least "
                             "100,000,000 runs (limit: 10,000 runs per sweep)\n")


# ---------------------------------------------------------------------------------------------
# the main job and the studies stay well within every limit, even on a small machine


@pytest.fixture
def small_machine(monkeypatch):
    monkeypatch.setattr(limits.machine, "physical_memory", lambda: 4 * 10**9)
    monkeypatch.setattr(limits.machine, "available_memory", lambda: 2 * 10**9)
    monkeypatch.setattr(limits.machine, "cpu_count", lambda: 1)


@pytest.mark.parametrize("model", ["alarmwork", "lstm", "simple-rnn", "autoenc-lite"])
def test_homework_defaults_pass(small_machine, model):
    cfg = config.resolve(model, plugin_registry.default())
    plan = limits.plan_for(cfg, plugin_registry.default())
    assert limits.training_memory(cfg, plan) < 0.4e9  # measured: 311 MB (alarmwork), 393 (lstm)
    assert limits.training_seconds(cfg, plan) < 60
    limits.check_training(cfg, plugin_registry.default())


@pytest.mark.parametrize("name", ["homework", "long_sequences", "alarmwork_200"])
def test_the_study_sweeps_pass(small_machine, name):
    path = Path(__file__).resolve().parents[1] / "experiments" / f"{name}.yaml"
    grid = sweep.build(sweep.read_spec(path), plugin_registry.default(), where=str(path))
    need = limits.worker_memory([c.config for c in grid.cells], plugin_registry.default())
    limits.check_jobs(1, len(grid.cells), need)


def test_data_of_the_studies_and_the_benchmark_pass(small_machine):
    adding = plugin_registry.default().get("dataset", "adding")
    for lengths in ([10, 50, 70, 100], [100, 200], [1000]):
        limits.check_generate(adding, lengths, dict(adding.sizes), {})
    limits.check_generate(plugin_registry.default().get("dataset", "images"), [100],
                          {"train": 1000, "test": 20}, {})


def test_small_runs_and_the_default_gradcheck_pass(small_machine):
    alarmwork = plugin_registry.default().get("model", "alarmwork")
    limits.check_gradcheck(alarmwork, "alarmwork", 5, 3, 4, 4, 0)
    cfg = config.resolve("lstm", plugin_registry.default(),
                         options={"L": 10, "epochs": 2, "seed": 3})
    limits.check_training(cfg, plugin_registry.default())
    # benchmarks/epoch.py builds its learners like this (L=5,000, with and without checkpoints)
    spec, _ = plugin_registry.default().get("dataset", "adding").example(5000, 2)
    for settings in ({"impl": "bptt"}, {"impl": "bptt", "checkpoint_every": 71}):
        rnnlab.build_learner("alarmwork", spec, settings=settings, seed=0, device="cpu")


def test_checkpointing_lowers_the_estimate():
    full = config.merge({"model": "alarmwork", "L": 5000, "batch_size": 2000})
    light = dataclasses.replace(full, settings={"checkpoint_every": 71})
    plan = limits.plan_for(full, plugin_registry.default())
    assert limits.training_memory(light, plan) < limits.training_memory(full, plan) / 5


def test_the_python_api_refuses_too(workdir, machine):
    with pytest.raises(rnnlab.UsageError, match="--L 100000: training alarmwork would need"):
        rnnlab.train("alarmwork", L=100000)
    with pytest.raises(rnnlab.UsageError, match="--seed expects"):
        rnnlab.gen_data("adding", seed=2**32)
    assert tree(workdir) == set()


def test_formats():
    assert limits.fmt_bytes(3e5) == "0.3 MB"
    assert limits.fmt_bytes(25.3e9) == "25.3 GB"
    assert limits.fmt_duration(90) == "1.5 minutes"
    assert limits.fmt_duration(1e30) == "3.2e+22 years"
    assert limits.fmt_int(10**40) == "100000... (41 digits)"


def test_by_default_a_command_plans_on_2_gb_and_the_variable_is_checked(workdir, cli,
                                                                        monkeypatch):
    monkeypatch.delenv("RNNLAB_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(limits.machine, "physical_memory", lambda: 64 * 10**9)
    result = cli("gen-data", "--n-train", "3000000")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith("error: --n-train 3000000: ") and "\n" not in line
    assert ("limit 2 GB: RNNLAB_MEMORY_LIMIT=GB raises it to at most half of this machine's "
            "64 GB") in line
    assert tree(workdir) == set()
    assert limits.memory_limit() == 2e9
    monkeypatch.setenv("RNNLAB_MEMORY_LIMIT", "100")
    assert limits.memory_limit() == 32e9  # never more than half of the machine
    monkeypatch.setenv("RNNLAB_MEMORY_LIMIT", "lots")
    bad = cli("train", "lstm")
    assert bad.exit_code == 2
    assert bad.stderr.strip() == "error: RNNLAB_MEMORY_LIMIT expects a number of GB > 0, got 'lots'"


@pytest.mark.parametrize(("script", "args", "expected"), [
    ("epoch.py", ["--L", "-5"], "argument --L: expected an integer in [1, 100,000], got -5"),
    ("epoch.py", ["--repeats", "0"], "argument --repeats: expected an integer in [1, 1,000], "
                                     "got 0"),
    ("epoch.py", ["--L", "100000", "--n", "100000"], "--L 100000 x --n 100000 is "
     "10,000,000,000 time steps of data; at most 50,000,000 (make one of them smaller)"),
    ("epoch.py", ["--L", "100000", "--n", "500", "--batch", "500"], "--L 100000 x --batch 500 "
     "is 50,000,000 time steps in one batch; at most 2,000,000"),
    ("gpu.py", ["--device", "cpu", "--packs", "1,0"], "--packs: expected an integer in "
                                                      "[1, 4,096], got 0"),
    ("cli_epoch.py", ["--models", "nosuch"], "--models: unknown model 'nosuch' (available: "),
])
def test_benchmark_scripts_refuse_nonsense_before_building_anything(script, args, expected):
    """A usage error (exit 2, one line), not a traceback, an empty table or a 75 GB array."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / script
    result = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"{script}: error: {expected}")
    assert "Traceback" not in result.stderr


def test_eval_of_a_config_edited_beyond_the_machine_is_refused(small_data, cli):
    """eval rebuilds the model its config.yaml describes: the same memory check as train."""
    run = rnnlab.train("lstm", L=10, epochs=1, hidden=8)
    config = run.dir / "config.yaml"
    config.write_text(config.read_text().replace("hidden: 8\n", "hidden: 20000\n"))
    result = cli("eval", run.id)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --hidden 20000: training lstm would need about ")
    assert "GB of memory" in result.stderr and "\n" not in result.stderr.strip()
