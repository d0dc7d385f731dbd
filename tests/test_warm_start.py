"""Warm starts (`--init-from RUN`, `--init-optimizer`) and curricula in sweeps (`stages:`)."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import rnnlab
from rnnlab.runs import RunStore

SMALL = {"train": 200, "dev": 100, "test": 100}


@pytest.fixture
def data(workdir):
    return rnnlab.gen_data("adding", lengths=[10, 20], out="datasets", sizes=SMALL)


def only_run(cli_result) -> str:
    return cli_result.stdout.split()[0]


def train(cli, *args: str) -> str:
    result = cli("train", "alarmwork", "--recipe", "homework", "--quiet", *args)
    assert result.exit_code == 0, result.stderr
    return only_run(result)


def test_a_warm_start_with_its_optimizer_continues_the_parent_exactly(data, cli):
    """Without shuffling every epoch sees the batches in the same order, so 1 epoch + a warm
    start of 1 epoch with the optimizer state (SGD momentum) is 2 epochs straight, to the
    bit; without the optimizer state the momentum starts from zero and the runs part."""
    straight = train(cli, "--L", "10", "--epochs", "2")
    parent = train(cli, "--L", "10", "--epochs", "1")
    child = train(cli, "--L", "10", "--epochs", "1", "--init-from", parent, "--init-optimizer")
    fresh_momentum = train(cli, "--L", "10", "--epochs", "1", "--init-from", parent)
    store = RunStore("runs")
    losses = {r: store.get(r).losses() for r in (straight, parent, child, fresh_momentum)}
    assert np.array_equal(losses[straight][:10], losses[parent])
    assert np.array_equal(losses[straight][10:], losses[child])
    weights = {r: store.get(r).load_checkpoint() for r in (straight, child)}
    assert all(np.array_equal(weights[straight][k], weights[child][k]) for k in weights[child])
    # the same first batch from the same weights: the same loss; then momentum differs
    assert losses[fresh_momentum][0] == losses[child][0]
    assert not np.array_equal(losses[fresh_momentum], losses[child])
    # plain SGD keeps no optimizer state: continuing it is continuing the weights
    straight = train(cli, "--L", "10", "--epochs", "2", "--momentum", "0")
    parent = train(cli, "--L", "10", "--epochs", "1", "--momentum", "0")
    child = train(cli, "--L", "10", "--epochs", "1", "--momentum", "0", "--init-from", parent,
                  "--init-optimizer")
    assert np.array_equal(store.get(straight).losses()[10:], store.get(child).losses())


def test_the_parent_is_recorded_and_budgets_add_up(data, cli):
    parent = train(cli, "--L", "10", "--epochs", "2")
    child = train(cli, "--L", "20", "--epochs", "1", "--init-from", parent[:-2])  # a prefix
    run = RunStore("runs").get(child)
    assert run.config["init_from"] == parent  # the run the prefix named
    record = run.provenance["init_from"]
    assert {k: record[k] for k in ("run", "epoch", "updates", "optimizer", "L",
                                   "total_sequence_steps")} == {
        "run": parent, "epoch": 2, "updates": 20, "optimizer": False, "L": 10,
        "total_sequence_steps": 2 * 200 * 10}
    parent_file = RunStore("runs").get(parent).dir / "model.npz"
    import hashlib

    assert record["checkpoint_sha256"] == hashlib.sha256(parent_file.read_bytes()).hexdigest()
    assert (run.summary["init_from"], run.summary["sequence_steps"],
            run.summary["total_sequence_steps"]) == (parent, 200 * 20, 4000 + 4000)
    grandchild = train(cli, "--L", "20", "--epochs", "1", "--init-from", child)
    from rnnlab_plugins.reports import ancestors

    assert [r.id for r in ancestors(RunStore("runs").get(grandchild), {})] == [parent, child]
    rows = {r["id"]: r for r in json.loads(cli("runs", "--json").stdout)}
    assert (rows[grandchild]["init_from"], rows[parent]["init_from"]) == (child, None)
    # the run's summary says where it started and what it cost
    table = cli("train", "alarmwork", "--recipe", "homework", "--L", "20", "--epochs", "1",
                "--init-from", grandchild).stdout
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in table.splitlines() if line.count("│") == 3}
    assert (rows["started from"], rows["sequence-steps"], rows["with ancestors"]) == (
        f"run {grandchild}", "4,000", "16,000")


@pytest.mark.parametrize(("args", "expected"), [
    (["--hidden", "30"], "--init-from {p}: its weights do not fit this run's model (w_in1 has "
     "shape (50, 2), expected (30, 2)); hidden=50 there, 30 here"),
    (["--init-optimizer", "--optimizer", "adam"], "--init-optimizer: run {p} trained with sgd, "
     "this run with adam; the optimizer state of one cannot continue the other"),
    (["--init-from", "nope"], "--init-from nope: no run 'nope' in runs (see `rnnlab runs`)"),
    (["--init-optimizer", "--momentum", "0"], "--init-optimizer: run {p} trained with "
     "momentum 0.9, this run with 0; SGD keeps momentum buffers only with momentum, so one "
     "cannot continue the other"),
])
def test_warm_starts_that_cannot_work_are_refused(data, cli, args, expected):
    parent = train(cli, "--L", "10", "--epochs", "1")
    options = ["--init-from", parent] if "--init-from" not in args else []
    result = cli("train", "alarmwork", "--recipe", "homework", "--L", "10", *options, *args)
    assert (result.exit_code, result.stderr) == (2, f"error: {expected.format(p=parent)}\n")
    assert len(RunStore("runs").list()) == 1  # nothing was started


def test_a_parent_with_a_broken_checkpoint_is_damaged_not_a_misfit(data, cli):
    parent = train(cli, "--L", "10", "--epochs", "1")
    path = RunStore("runs").get(parent).dir / "model.npz"
    path.write_bytes(path.read_bytes()[:3000])
    result = cli("train", "alarmwork", "--recipe", "homework", "--L", "10", "--init-from", parent)
    damaged = f"run {parent} is damaged: {path}: not a valid checkpoint (not an .npz archive)"
    assert (result.exit_code, result.stderr) == (1, f"error: --init-from {parent}: {damaged}\n")
    # a sweep finds it before any cell runs; a missing checkpoint is damage too
    swept = cli("sweep", "--model", "alarmwork", "--L", "10", "--init-from", parent)
    assert (swept.exit_code, swept.stderr) == (1, f"error: sweep: --init-from {parent}: "
                                                  f"{damaged}\n")
    path.unlink()
    gone = cli("train", "alarmwork", "--recipe", "homework", "--L", "10", "--init-from", parent)
    assert (gone.exit_code, gone.stderr) == (1, f"error: --init-from {parent}: run {parent} has "
                                                f"no checkpoint ({path} is missing)\n")
    assert len(RunStore("runs").list()) == 1  # nothing was started
    # an unquoted id prefix in a sweep file is an id, not a number
    with open("n.yaml", "w") as handle:
        handle.write(f"model: alarmwork\nL: 10\ninit_from: {parent[:8]}\n")
    assert "run " + parent + " has no checkpoint" in cli("sweep", "n.yaml").stderr


def _edit_checkpoint(path: Path, **arrays: np.ndarray) -> None:
    saved = dict(np.load(path))
    np.savez(path, **{**saved, **arrays})


@pytest.mark.parametrize(("model", "options", "buffer", "expected"), [
    ("alarmwork", ["--recipe", "homework"], "optimizer/momentum/w_in1",
     "optimizer buffer 'momentum/w_in1' has shape (3, 3), expected (50, 2)"),
    ("lstm", ["--optimizer", "adam"], "optimizer/0/exp_avg",
     "optimizer buffer '0/exp_avg' has shape (3, 3), expected (200, 2)"),
])
def test_an_optimizer_state_that_does_not_fit_is_refused_before_a_run(data, cli, model, options,
                                                                       buffer, expected):
    """A checkpoint's optimizer buffers are checked against the optimizer that would take
    them: one of another shape failed in the first step, and one it does not keep (another
    implementation's) was dropped while the run recorded that it continued the state."""
    result = cli("train", model, "--L", "10", "--epochs", "1", "--quiet", *options)
    parent = only_run(result)
    path = RunStore("runs").get(parent).dir / "model.npz"
    _edit_checkpoint(path, **{buffer: np.zeros((3, 3))})
    child = cli("train", model, "--L", "20", "--init-from", parent, "--init-optimizer", *options)
    assert (child.exit_code, child.stderr) == (2, f"error: --init-from {parent}: {path} does not "
                                                  f"load into model '{model}' (ValueError: "
                                                  f"{expected})\n")
    assert len(list(Path("runs").iterdir())) == 1  # nothing was started
    # a buffer the optimizer does not keep: refused, not dropped
    saved = dict(np.load(path))
    saved = {("optimizer/9/" + k.split("/")[-1] if k.startswith("optimizer/") else k): v
             for k, v in saved.items() if not k.startswith("optimizer/")
             or k.endswith("/w_in1") or k.startswith("optimizer/0/")}
    np.savez(path, **saved)
    other = cli("train", model, "--L", "20", "--init-from", parent, "--init-optimizer", *options)
    assert other.exit_code == 2 and "is not one that" in other.stderr, other.stderr


@pytest.mark.parametrize(("edit", "expected"), [
    ({"optimizer/step": np.array(-5)}, "optimizer buffer 'step' is -5, not a count of steps"),
    ({"optimizer/m/w_in1": np.zeros((50, 2), np.int64)}, "optimizer buffer 'm/w_in1' holds "
     "int64, not floats"),
    ({"optimizer/s/w_out": None}, "optimizer buffer 's/w_out' is missing ('m/w_in1', which a "
     "step makes with it, is there)"),
    ({"optimizer/m/b_out": None, "optimizer/s/b_out": None},  # one parameter's, all of them
     "optimizer buffer 'm/b_out' is missing ('m/w_in1', which a step makes with it, is there)"),
])
def test_optimizer_buffers_that_are_not_a_state_are_refused(data, cli, edit, expected):
    parent = train(cli, "--L", "10", "--epochs", "1", "--optimizer", "adam")
    path = RunStore("runs").get(parent).dir / "model.npz"
    saved = {k: v for k, v in dict(np.load(path)).items() if edit.get(k, 0) is not None}
    np.savez(path, **{**saved, **{k: v for k, v in edit.items() if v is not None}})
    child = cli("train", "alarmwork", "--recipe", "homework", "--optimizer", "adam", "--L", "20",
                "--init-from", parent, "--init-optimizer")
    assert (child.exit_code, child.stderr) == (2, f"error: --init-from {parent}: {path} does not "
                                                  "load into model 'alarmwork' (ValueError: "
                                                  f"{expected})\n")
    assert len(list(Path("runs").iterdir())) == 1


def test_a_damaged_or_symlinked_parent(data, cli):
    """A parent `rnnlab runs` lists as damaged is refused, naming the file; one reached through
    a symlink is recorded as the run it is."""
    parent = train(cli, "--L", "10", "--epochs", "1")
    store = RunStore("runs")
    (store.root / "link").symlink_to(parent)
    for ref in ("link", "runs/link", "runs/link/"):  # by name or by path
        child = train(cli, "--L", "20", "--epochs", "1", "--init-from", ref)
        assert store.get(child).summary["init_from"] == parent
        assert store.get(child).provenance["init_from"]["run"] == parent
        shutil.rmtree(store.get(child).dir)
    config = store.get(parent).dir / "config.yaml"
    good = config.read_text()
    config.write_text(good.replace("L: 10\n", "L: ten\n"))
    result = cli("train", "alarmwork", "--L", "20", "--init-from", parent)
    assert (result.exit_code, result.stderr) == (1, (
        f"error: --init-from {parent}: run {parent} is damaged: {config}: 'L' expects an "
        "integer, got 'ten'\n"))
    config.write_text(good)
    summary = store.get(parent).dir / "summary.json"
    summary.write_text(json.dumps({**json.loads(summary.read_text()),
                                   "total_sequence_steps": 1e19}))
    result = cli("train", "alarmwork", "--L", "20", "--init-from", parent)
    assert (result.exit_code, result.stderr) == (1, (
        f"error: --init-from {parent}: run {parent} is damaged: {summary}: "
        "'total_sequence_steps' is not a number in [0, 1e+18]\n"))
    assert len([p for p in store.root.iterdir() if not p.is_symlink()]) == 1  # no child made


def test_a_sweep_checks_its_parents_shapes_before_any_run(data, cli):
    parent = train(cli, "--L", "10", "--epochs", "1")
    result = cli("sweep", "--model", "alarmwork", "--recipe", "homework", "--L", "20",
                 "--hidden", "9", "--init-from", parent)
    assert (result.exit_code, result.stderr) == (2, (
        f"error: sweep: --init-from {parent}: its weights do not fit this run's model (w_in1 "
        "has shape (50, 2), expected (9, 2)); hidden=50 there, 9 here\n"))
    assert len(list(Path("runs").iterdir())) == 1


def test_a_warm_start_needs_a_completed_run_of_the_same_model(data, cli):
    parent = train(cli, "--L", "10", "--epochs", "1")
    other = cli("train", "lstm", "--L", "10", "--init-from", parent)
    assert other.stderr == (f"error: --init-from {parent}: run {parent} trained model "
                            "'alarmwork', not 'lstm'\n")
    summary = RunStore("runs").get(parent).dir / "summary.json"
    record = json.loads(summary.read_text())
    summary.write_text(json.dumps({**record, "status": "interrupted"}))
    unfinished = cli("train", "alarmwork", "--L", "10", "--init-from", parent)
    assert unfinished.stderr == (
        f"error: --init-from {parent}: run {parent} is interrupted, not completed; a warm "
        f"start begins from a completed run (continue it first: rnnlab train --resume "
        f"{parent})\n")
    alone = cli("train", "alarmwork", "--init-optimizer")
    assert (alone.exit_code, alone.stderr) == (2, "error: --init-optimizer continues the "
                                               "optimizer of the run named by --init-from; "
                                               "give --init-from RUN\n")


CURRICULUM = {"name": "cur", "model": "alarmwork", "recipe": "homework", "seeds": 2,
              "init_optimizer": True,
              "stages": [{"L": 10, "epochs": 1}, {"L": 20, "epochs": 2}]}


def test_a_sweep_wide_init_optimizer_leaves_a_recipe_from_scratch_alone(data):
    """Beside a curriculum, a one-stage recipe starts from scratch (it was refused: "give
    --init-from RUN"); a recipe that asks for it itself, with nothing to start from, is."""
    from rnnlab import sweep

    spec = {**CURRICULUM, "stages": None, "recipes": {
        "cur": {"stages": CURRICULUM["stages"]}, "scratch": {"L": 20, "epochs": 3},
        "one-stage": {"stages": [{"L": 20, "epochs": 2}]}}}
    del spec["stages"]
    cells = sweep.build(spec, rnnlab.registry.default()).cells
    assert sorted((c.recipe, c.config.seed, c.config.L, c.config.init_optimizer)
                  for c in cells) == [
        ("cur", 0, 10, False), ("cur", 0, 20, True), ("cur", 1, 10, False), ("cur", 1, 20, True),
        ("one-stage", 0, 20, False), ("one-stage", 1, 20, False),
        ("scratch", 0, 20, False), ("scratch", 1, 20, False)]
    spec["recipes"]["scratch"]["init_optimizer"] = True
    with pytest.raises(rnnlab.UsageError, match="recipe 'scratch': .* give --init-from RUN"):
        sweep.build(spec, rnnlab.registry.default())


def test_a_curriculum_sweep_chains_its_stages_per_seed(data, cli):
    with open("cur.yaml", "w") as handle:
        yaml.safe_dump(CURRICULUM, handle)
    first = cli("sweep", "cur.yaml", "--jobs", "2")
    assert "sweep cur: 4/4 runs completed, 0 failed" in first.stdout, first.stdout + first.stderr
    runs = RunStore("runs").list()
    by_stage = {(r.config["seed"], r.summary["stage"]): r for r in runs}
    assert sorted(by_stage) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    for seed in (0, 1):
        one, two = by_stage[(seed, 1)], by_stage[(seed, 2)]
        assert (one.config["L"], one.config["init_from"], one.config["init_optimizer"]) == (
            10, None, False)
        assert (two.config["L"], two.config["init_from"], two.config["init_optimizer"]) == (
            20, one.id, True)
        assert two.summary["total_sequence_steps"] == 200 * 10 + 2 * 200 * 20
    # run again: everything is there, nothing runs twice
    again = cli("sweep", "cur.yaml")
    assert again.stdout.count(": skipped") == 4, again.stdout
    assert len(RunStore("runs").list()) == 4
    report = json.loads(cli("report", "accuracy", "--sweep", "cur", "--format", "json").stdout)
    (row,) = [r for r in report["rows"] if r["model"].startswith("alarmwork")]
    assert row["model"] == "alarmwork (L 10→20)"
    assert (row["L20_n"], row["L20_sequence_steps"]) == (2, 10000)
    assert "L10_n" not in row  # the first stage is part of the budget, not a result
    assert "2 earlier stage runs of curricula" in " ".join(report["notes"])
    # epochs and time of the whole chain, as its budget: 1 + 2 epochs a seed
    chains = [(by_stage[(seed, 1)].summary, by_stage[(seed, 2)].summary) for seed in (0, 1)]
    assert (row["L20_epochs"], row["L20_stages"]) == (3, "all")
    assert row["L20_train_time_s"] == pytest.approx(
        sum(one["train_time_s"] + two["train_time_s"] for one, two in chains) / 2)
    # filtered to L=20, the first stages are still found beside them in the store
    only = json.loads(cli("report", "accuracy", "--L", "20", "--format", "json").stdout)
    (kept,) = [r for r in only["rows"] if r["model"].startswith("alarmwork")]
    assert kept == row
    # learning curves draw a stage after its ancestors' updates (10 a stage-1 epoch)
    one, two = by_stage[(0, 1)], by_stage[(0, 2)]
    curves = rnnlab.report("curves", [one.id, two.id], out_dir="pictures")
    assert curves.notes[1].startswith(f"{two.id}: 20 updates after 10 of its earlier stages")
    assert curves.notes[0].startswith(f"{one.id}: 10 updates, loss")
    # a parent gone from the store: the last stage's own figures, said so
    shutil.rmtree(by_stage[(0, 1)].dir)
    listed = {r["id"]: r["parent_here"] for r in json.loads(cli("runs", "--json").stdout)}
    assert (listed[two.id], listed[by_stage[(1, 2)].id]) == (False, True)
    assert cli("runs").stdout.count("(not in this store)") == 1
    alone = rnnlab.report("curves", [two.id], out_dir="pictures")
    assert alone.notes[:2] == [
        f"{two.id}: an earlier stage is not in the store (or not the run its record names): "
        "drawn from update 1", alone.notes[1]]
    assert alone.notes[1].startswith(f"{two.id}: 20 updates, loss")
    table = cli("report", "accuracy", "--L", "20").stdout
    assert "(last stage)" in table and "(all stages)" not in table
    partial = json.loads(cli("report", "accuracy", "--L", "20", "--format", "json").stdout)
    (last,) = [r for r in partial["rows"] if "L20_stages" in r]
    assert (last["L20_stages"], last["L20_epochs"]) == ("last", 2)
    assert last["L20_train_time_s"] == pytest.approx(
        sum(two["train_time_s"] for _, two in chains) / 2)


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_a_later_stage_starts_once_its_own_previous_stage_is_done(data, cli, monkeypatch,
                                                                   executor):
    """The bundled executors run a chain's next stage as soon as its previous stage
    completes, not after every cell started with it: the whole curriculum is one request."""
    if executor == "dask":
        pytest.importorskip("distributed")
    from rnnlab.sweep import dask, local

    module, name = (local, "run_local") if executor == "local" else (dask, "run_dask")
    requests = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda r: (requests.append(len(r.cells)), real(r)))
    with open("cur.yaml", "w") as handle:
        yaml.safe_dump(CURRICULUM, handle)
    result = cli("sweep", "cur.yaml", "--jobs", "2", "--executor", executor)
    assert "sweep cur: 4/4 runs completed, 0 failed" in result.stdout, result.stdout
    assert requests == [2]  # the two first stages; the second stages came through `more`
    chains = {r.config["init_from"] for r in RunStore("runs").list() if r.summary["stage"] == 2}
    assert chains == {r.id for r in RunStore("runs").list() if r.summary["stage"] == 1}


def test_a_stage_after_a_failed_one_fails_and_bad_stages_are_refused(data, cli):
    spec = {**CURRICULUM, "model": "lstm", "seeds": 1,
            "stages": [{"L": 10, "epochs": 1, "lr": 1e30}, {"L": 20, "epochs": 1}]}
    with open("fail.yaml", "w") as handle:
        yaml.safe_dump(spec, handle)
    result = cli("sweep", "fail.yaml")
    assert "lstm L=20 seed 0 stage 2/2: failed  stage 1 did not complete " \
           "(lstm L=10 seed 0 stage 1/2)" in result.stdout, result.stdout
    assert len(RunStore("runs").list()) == 1
    for stages, expected in [
        ([{"seed": 1}], "stage 1: 'seed' is the same for every stage of a cell; give it "
         "outside 'stages'"),
        ([{"L": [10, 20]}], "stage 1: 'L' takes one value in a stage (axes go outside "
         "'stages')"),
        ([], "'stages' expects a list of mappings of training options, e.g. [{L: 50, epochs: "
         "5}, {L: 200, epochs: 45}]"),
        ([{"L": 10}, "x"], "stage 2 expects a mapping of training options, got 'x'"),
        ([{"L": 10, "epoch": 1}], "stage 1: unknown key 'epoch' (expected training options and "
         "set)"),
    ]:
        with open("bad.yaml", "w") as handle:
            yaml.safe_dump({**CURRICULUM, "stages": stages}, handle)
        bad = cli("sweep", "bad.yaml")
        assert (bad.exit_code, bad.stderr) == (2, f"error: bad.yaml: {expected}\n")


def test_an_optimizer_state_continues_only_the_same_model_and_sweeps_check_up_front(data, cli):
    parent = train(cli, "--L", "10", "--epochs", "1")
    other = cli("train", "alarmwork", "--recipe", "homework", "--L", "10", "--init-from",
                parent, "--init-optimizer", "--set", "impl=autograd")
    assert (other.exit_code, other.stderr) == (2, (
        f"error: --init-optimizer: run {parent} was trained with other settings (impl=auto "
        "there, autograd here); the optimizer state's layout depends on them (drop "
        "--init-optimizer or use the same settings)\n"))
    empty = cli("train", "alarmwork", "--init-from", "")
    assert empty.stderr == "error: --init-from expects a run id, id prefix or run directory, " \
                           "got ''\n"
    # a sweep refuses before anything runs: a missing parent, stages that do not fit
    missing = cli("sweep", "--model", "alarmwork", "--L", "10", "--init-from", "nope")
    assert (missing.exit_code, missing.stderr) == (
        2, "error: sweep: --init-from nope: no run 'nope' in runs (see `rnnlab runs`)\n")
    for stages, expected in [
        ([{"L": 10, "hidden": 20}, {"L": 20}], "stage 2: hidden 50 differs from stage 1's 20; "
         "a stage continues the previous stage's weights"),
        ([{"L": 10, "optimizer": "sgd"}, {"L": 20}], "stage 2: optimizer 'adam' differs from "
         "stage 1's 'sgd'; a stage continues the previous stage's model and optimizer"),
        ([{"L": 10, "optimizer": "sgd", "momentum": 0}, {"L": 20, "optimizer": "sgd"}],
         "stage 2: momentum 0.9 differs from stage 1's 0.0; a stage continues the previous "
         "stage's momentum buffers"),
        ([{"L": 10}, {"L": 20, "set": {"checkpoint_every": 5}}], "stage 2: setting "
         "checkpoint_every 5 differs from stage 1's 0; a stage continues the previous stage's "
         "model and optimizer"),
        ([{"L": 10, "set": {"rec_init": ["xavier", "identity"]}}, {"L": 20}],
         "stage 1: 'set' takes one value in a stage (axes go outside 'stages')"),
    ]:
        with open("bad.yaml", "w") as handle:
            yaml.safe_dump({"model": "alarmwork", "optimizer": "adam", "init_optimizer": True,
                            "stages": stages}, handle)
        bad = cli("sweep", "bad.yaml")
        assert (bad.exit_code, bad.stderr) == (2, f"error: bad.yaml: {expected}\n")
    assert len(RunStore("runs").list()) == 1
    # a dataset's setting changes what an epoch sees, not the model or its optimizer state
    late = {"model": "alarmwork", "optimizer": "adam", "init_optimizer": True,
            "stages": [{"L": 10, "set": {"late_copies": 1}}, {"L": 20}]}
    cells = rnnlab.sweep.build(late, rnnlab.registry.default()).cells
    assert [c.config.settings.get("late_copies", 0) for c in cells] == [1, 0]
    unknown = cli("report", "accuracy", "--sweep", "nope")
    assert (unknown.exit_code, unknown.stderr) == (
        2, "error: --sweep nope: no runs of that sweep in runs\n")
    off = yaml.safe_load(cli("train", "alarmwork", "--clip-grad", "off", "--print-config").stdout)
    assert off["clip_grad"] is None  # the default recipe clips at 1; 'off' overrides it


def test_a_stage_whose_settings_reshape_the_weights_is_refused_up_front(workdir, cli):
    with open("m.yaml", "w") as handle:
        handle.write("model: mlp-lite\nstages: [{epochs: 1}, {epochs: 1, set: {sizes: '32,16'}}]\n")
    result = cli("sweep", "m.yaml")
    assert (result.exit_code, result.stderr) == (2, (
        "error: m.yaml: stage 2: sizes='32,16' gives b1 the shape (32,), not stage 1's (128,); "
        "a stage continues the previous stage's weights\n"))
    assert RunStore("runs").list() == []


def test_lineage_records_edited_into_a_circle_end_the_walk(data, cli):
    parent = train(cli, "--L", "10", "--epochs", "1")
    child = train(cli, "--L", "20", "--epochs", "1", "--init-from", parent)
    store = RunStore("runs")
    path = store.get(parent).dir / "provenance.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "init_from": {"run": child, "L": 20}}))
    report = json.loads(cli("report", "accuracy", "--format", "json").stdout)
    rows = {r["model"]: r for r in report["rows"]}
    # the child's lengths before it, until the walk meets a run it has seen; no chain total
    assert sorted(rows) == ["alarmwork", "alarmwork (L 20→10→20)", "always 0 (baseline)"]
    assert rows["alarmwork (L 20→10→20)"]["L20_stages"] == "last"
    curves = rnnlab.report("curves", [child], out_dir="pictures")
    assert curves.notes[0].endswith(": drawn from update 1")
    assert curves.notes[1].startswith(f"{child}: 10 updates, loss")


def test_curricula_that_differ_only_before_their_last_stage_are_rows_of_their_own(data, cli):
    for name, first in (("short", 1), ("long", 3)):
        with open(f"{name}.yaml", "w") as handle:
            yaml.safe_dump({**CURRICULUM, "name": name, "seeds": 1,
                            "stages": [{"L": 10, "epochs": first}, {"L": 20, "epochs": 1}]},
                           handle)
        assert cli("sweep", f"{name}.yaml").exit_code == 0
    rows = json.loads(cli("report", "accuracy", "--format", "json").stdout)["rows"]
    chains = {r["model"]: r for r in rows if "→" in r["model"]}
    assert {name: (r["L20_n"], r["L20_epochs"], r["L20_sequence_steps"])
            for name, r in chains.items()} == {
        "alarmwork (L 10→20, stage1.epochs=1)": (1, 2, 200 * 10 + 200 * 20),
        "alarmwork (L 10→20, stage1.epochs=3)": (1, 4, 3 * 200 * 10 + 200 * 20)}
    # the same curriculum run again (--force): the same results, each counted once
    time.sleep(1.1)  # runs record when they started to the second
    assert cli("sweep", "short.yaml", "--force").exit_code == 0
    report = json.loads(cli("report", "accuracy", "--format", "json").stdout)
    again = {r["model"]: r["L20_n"] for r in report["rows"] if "→" in r["model"]}
    assert again == {name: 1 for name in chains}
    assert "1 duplicate run of a configuration and seed already counted" in " ".join(
        report["notes"])
    # the forced rerun is the result counted: its run replaces the earlier one
    last = [r for r in RunStore("runs").list()
            if r.summary.get("sweep") == "short" and r.summary["stage"] == 2]
    forced = max(last, key=lambda r: r.summary["started_at"])
    assert f"(= {forced.id})" in " ".join(report["notes"])


def test_a_forced_rerun_stopped_between_stages_continues_its_own_chain(data, cli):
    """After `--force` retrained stage 1 and stopped before stage 2 (here: stage 2's data
    was missing), the plain rerun continues the new stage 1, not the old chain's stage 2."""
    with open("cur.yaml", "w") as handle:
        yaml.safe_dump({**CURRICULUM, "seeds": 1}, handle)
    assert cli("sweep", "cur.yaml").exit_code == 0
    old_second = next(r for r in RunStore("runs").list() if r.summary["stage"] == 2)
    shutil.move("datasets/adding/adding_problem_T=020_train.csv", "away.csv")
    forced = cli("sweep", "cur.yaml", "--force")
    assert forced.exit_code == 1 and "stage 2/2: failed" in forced.stdout, forced.stdout
    (new_first,) = [r for r in RunStore("runs").list()
                    if r.summary["stage"] == 1 and r.id != old_second.config["init_from"]]
    notes = json.loads(cli("report", "accuracy", "--format", "json").stdout)["notes"]
    assert notes[1:3] == ["1 earlier stage run of curricula counted in their final stage's "
                          "budget", "1 earlier stage run of curricula not shown: their final stage "
                          "is not among the runs reported (see `rnnlab runs`)"]
    shutil.move("away.csv", "datasets/adding/adding_problem_T=020_train.csv")
    again = cli("sweep", "cur.yaml")
    assert again.exit_code == 0 and again.stdout.count(": skipped") == 1, again.stdout
    seconds = [r for r in RunStore("runs").list() if r.summary["stage"] == 2]
    assert sorted(r.config["init_from"] for r in seconds) == sorted(
        [old_second.config["init_from"], new_first.id])


def test_a_sweeps_parent_is_the_run_its_prefix_named_before_the_sweep_made_more(data, cli):
    parent = train(cli, "--L", "10", "--epochs", "1")
    prefix = parent[:4]  # the year: the sweep's own runs will share it
    args = ["sweep", "--model", "alarmwork", "--recipe", "homework", "--L", "20", "--seeds",
            "2", "--epochs", "1", "--init-from", prefix, "--name", "warm"]
    first = cli(*args)
    assert "sweep warm: 2/2 runs completed, 0 failed" in first.stdout, first.stdout
    assert {r.config["init_from"] for r in RunStore("runs").list() if r.id != parent} == {
        parent}
    again = cli(*args)
    assert (again.exit_code, again.stdout.count(": skipped")) == (0, 2), again.stderr


def test_a_curriculums_first_stage_continues_the_sweeps_parent_optimizer_too(data, cli):
    parent = train(cli, "--L", "10", "--epochs", "1")
    with open("io.yaml", "w") as handle:
        yaml.safe_dump({**CURRICULUM, "name": "io", "seeds": 1, "init_from": parent}, handle)
    assert cli("sweep", "io.yaml").exit_code == 0
    stage = {r.summary.get("stage"): r for r in RunStore("runs").list()}
    first, second = stage[1], stage[2]
    assert (first.config["init_from"], first.config["init_optimizer"]) == (parent, True)
    assert json.loads((first.dir / "provenance.json").read_text())["init_from"]["optimizer"]
    assert (second.config["init_from"], second.config["init_optimizer"]) == (first.id, True)


def test_a_worker_without_this_disk_gets_the_parent_run_sent_along(data, cli, monkeypatch):
    """A Dask worker shares no filesystem: the run a cell warm-starts from travels with the
    task, and the run that comes back names it (the worker here runs in another folder)."""
    pytest.importorskip("distributed")
    from rnnlab.provenance import data_record
    from rnnlab.session import load_data
    from rnnlab.sweep import dask as remote
    from rnnlab.sweep.worker import CellTask

    parent = train(cli, "--L", "10", "--epochs", "1")
    local = train(cli, "--L", "20", "--epochs", "1", "--init-from", parent)
    spec = {"model": "alarmwork", "recipe": "homework", "L": 20, "epochs": 1,
            "init_from": parent, "name": "far"}
    (cell,) = rnnlab.sweep.build(spec, rnnlab.registry.default()).cells
    data = load_data(cell.config, rnnlab.registry.default())
    record = data_record(data, cell.config.data_dir)  # as run_dask sends it
    task = remote.shipped(dataclasses.replace(CellTask.of("far", cell), data_files=record),
                          RunStore("runs").root)
    monkeypatch.setattr(remote._DaskQueue, "put", lambda self, item: None)
    home = Path.cwd()
    (home / "worker").mkdir()
    monkeypatch.chdir(home / "worker")  # no runs/ here
    result = remote.remote_cell(task, data, "q")
    assert result["status"] == "done", result
    config = yaml.safe_load(result["files"]["config.yaml"])
    assert config["init_from"] == parent
    losses = np.load(io.BytesIO(result["files"]["losses.npy"]))
    assert np.array_equal(losses, RunStore(home / "runs").get(local).losses())
    back = home / "back"  # as the sweep writes it into its store
    back.mkdir()
    for name, payload in result["files"].items():
        (back / name).write_bytes(payload)
    assert json.loads((back / "provenance.json").read_text())["init_from"]["dir"] != str(
        (home / "runs" / parent).resolve())  # the worker's copy
    remote.arrived(back, home / "runs" / parent)
    record = json.loads((back / "provenance.json").read_text())["init_from"]
    assert record == {**RunStore(home / "runs").get(local).provenance["init_from"],
                      "dir": str((home / "runs" / parent).resolve())}


def test_damaged_lineage_and_impossible_counts_leave_runs_out_or_unknown(data, cli):
    first = train(cli, "--L", "10", "--epochs", "1")
    second = train(cli, "--L", "20", "--epochs", "1", "--init-from", first)
    store = RunStore("runs")
    (store.get(first).dir / "provenance.json").write_text('{"torch": ')  # truncated
    table = json.loads(cli("report", "accuracy", "--format", "json").stdout)
    (row,) = [r for r in table["rows"] if "→" in r["model"]]
    assert (row["model"], row["L20_stages"], row["L20_epochs"]) == ("alarmwork (L 10→20)",
                                                                    "last", 1)
    assert ("1 warm-started run with an earlier stage not found, unreadable or not the run "
            "its record names") in " ".join(table["notes"])
    # a parent whose record does not match (another run put in its place) is not counted
    path = store.get(second).dir / "provenance.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "init_from": {**record["init_from"], "updates": 7}}))
    (store.get(first).dir / "provenance.json").write_text("{}")
    table = json.loads(cli("report", "accuracy", "--format", "json").stdout)
    assert [r["L20_stages"] for r in table["rows"] if "L20_stages" in r] == ["last"]
    for key, value in (("epochs", 10**400), ("updates", -5), ("L", 10**30)):
        summary = store.get(first).dir / "summary.json"
        good = summary.read_text()
        summary.write_text(json.dumps({**json.loads(good), key: value}))
        result = cli("report", "accuracy", "--set", "plot=true", "--out", "pics",
                     "--format", "json")
        assert result.exit_code == 0, result.stderr
        assert result.stderr.startswith(f"warning: left out damaged run {summary.parent}: "
                                        f"{summary}: '{key}' is not a number in [0, ")
        listed = {r["id"]: r for r in json.loads(cli("runs", "--json").stdout)}
        assert listed[first]["status"] == "damaged"  # `runs` says so too
        summary.write_text(good)
    long_id = {**record, "init_from": {**record["init_from"], "run": "b" * 5000}}
    path.write_text(json.dumps(long_id))
    result = cli("report", "accuracy")
    assert result.exit_code == 0 and "(last stage)" in result.stdout


def test_a_curriculum_whose_earlier_stage_diverged_counts_in_its_final_row(data, cli):
    """A stage that diverges ends its curriculum: the seed counts in the success rate of the
    row its curriculum's other seeds reached (as 'diverged'), or, where none did, in a row
    named by the lengths it got to; it used to be left out of every row."""
    stages = [{"L": 10, "epochs": 1}, {"L": 20, "epochs": 1}, {"L": 10, "epochs": 1}]
    with open("c.yaml", "w") as handle:
        yaml.safe_dump({"name": "c", "model": "alarmwork", "recipe": "homework", "seeds": 2,
                        "stages": stages}, handle)
    assert cli("sweep", "c.yaml").exit_code == 0
    store = RunStore("runs")
    second = next(r for r in store if r.summary.get("stage") == 2 and r.summary["seed"] == 1)
    last = next(r for r in store if r.config.get("init_from") == second.id)
    shutil.rmtree(last.dir)  # as if its second stage had diverged, ending the chain there
    second.write_summary({**second.summary, "status": "failed",
                          "reason": "training diverged: loss became nan at epoch 1, batch 2"})
    table = json.loads(cli("report", "accuracy", "--sweep", "c", "--format", "json").stdout)
    (row,) = [r for r in table["rows"] if "→" in r["model"]]
    assert row["model"] == "alarmwork (L 10→20→10)"
    assert (row["L10_n"], row["L10_diverged"], row["L10_success"]) == (1, 1, 0)
    table = json.loads(cli("report", "accuracy", "--sweep", "c", "--L", "10", "--format",
                           "json").stdout)  # its diverged stage was at L = 20: still counted
    (row,) = [r for r in table["rows"] if "→" in r["model"]]
    assert (row["L10_n"], row["L10_diverged"]) == (1, 1)
    # every seed diverged in stage 2: a row of its own, at the length it got to
    stages[1]["lr"] = 1e300
    with open("d.yaml", "w") as handle:
        yaml.safe_dump({"name": "d", "model": "alarmwork", "recipe": "homework", "seeds": 2,
                        "clip_grad": "off", "stages": stages}, handle)
    assert cli("sweep", "d.yaml").exit_code == 1  # its cells failed
    table = json.loads(cli("report", "accuracy", "--sweep", "d", "--format", "json").stdout)
    (row,) = [r for r in table["rows"] if "→" in r["model"]]
    assert (row["model"], row["L20_diverged"], row["L20_success"]) == (
        "alarmwork (L 10→20→…)", 2, 0)
    assert "L20_n" not in row


def test_a_stage_rerun_after_its_earlier_stage_was_deleted_is_one_result(data, cli):
    """The sweep reruns the chain when an earlier stage's run is gone; the old final stage,
    whose ancestry can no longer be read, and the new one are the same cell: counted once."""
    with open("c.yaml", "w") as handle:
        yaml.safe_dump({"name": "c", "model": "alarmwork", "recipe": "homework",
                        "stages": [{"L": 10, "epochs": 1}, {"L": 20, "epochs": 1}]}, handle)
    assert cli("sweep", "c.yaml").exit_code == 0
    store = RunStore("runs")
    first, old = sorted(store, key=lambda r: r.summary["stage"])
    time.sleep(1.1)  # run ids and start times go to the second
    shutil.rmtree(first.dir)
    assert cli("sweep", "c.yaml").exit_code == 0
    assert len(store.list()) == 3  # both stages ran again
    table = json.loads(cli("report", "accuracy", "--sweep", "c", "--format", "json").stdout)
    (row,) = [r for r in table["rows"] if "→" in r["model"]]
    assert (row["L20_n"], row["L20_stages"]) == (1, "all")
    assert any(note.startswith("1 duplicate run") and old.id in note for note in table["notes"])
