"""The example third-party packages under examples/, used as a user would: installed by pip
(the examples_installed fixture), then driven through the command line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rnnlab
from rnnlab import DataRequest, Run

GEN = ("gen-data", "parity", "--L", "8", "--n-train", "30", "--n-dev", "10", "--n-test", "10")
FILES = [Path("datasets/parity") / f"L8_{split}.csv" for split in ("train", "dev", "test")]
FAST = ("--L", "8", "--epochs", "2", "--hidden", "8", "--batch-size", "10")


def read_csv(path: Path) -> list[tuple[str, int, int, int]]:
    """The rows of a parity file, read independently of the plugin."""
    lines = path.read_text().splitlines()
    assert lines[0] == "bits,first,second,target"
    rows = []
    for line in lines[1:]:
        bits, first, second, target = line.split(",")
        rows.append((bits, int(first), int(second), int(target)))
    return rows


def test_rnnlab_plugins_lists_the_examples_with_their_distributions(workdir, cli,
                                                                     examples_installed):
    listed = cli("plugins", "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(listed.stdout)}
    for key, dist in [(("model", "gru"), "rnnlab-gru"), (("dataset", "parity"), "rnnlab-parity"),
                      (("report", "best-run"), "rnnlab-bestrun")]:
        assert (rows[key]["distribution"], rows[key]["version"], rows[key]["status"]) == (
            dist, "0.1.0", "ok"), rows[key]
    assert rows[("dataset", "parity")]["summary"].startswith("Temporal parity")
    # the copies pip installed for this session, not a leftover build/ under examples/
    rnnlab.get_plugin("dataset", "parity")
    rnnlab.get_plugin("report", "best-run")
    for module in ("rnnlab_gru", "rnnlab_parity", "rnnlab_bestrun"):
        assert Path(sys.modules[module].__file__).parent == examples_installed


def test_entry_modules_import_neither_numpy_nor_torch(examples_installed):
    code = ("import sys, rnnlab_parity, rnnlab_bestrun, rnnlab_gru; "
            "print(sorted(m for m in ('numpy', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)  # finds them through PYTHONPATH, as the console script
    assert done.stdout.strip() == "[]"


def test_gen_data_writes_the_seeded_files_once_and_refuses_to_replace_them(workdir, cli,
                                                                          examples_installed):
    first = cli(*GEN)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.splitlines()[-3:] == [str(p) for p in FILES]
    train = read_csv(FILES[0])
    assert [len(read_csv(p)) for p in FILES] == [30, 10, 10]
    assert all(len(bits) == 8 and set(bits) <= {"0", "1"} and 0 <= a < 4 <= b < 8
               and t == int(bits[a]) ^ int(bits[b]) for bits, a, b, t in train)
    # the file holds what example() draws in memory for the same seed, and load() reads it back
    parity = rnnlab.get_plugin("dataset", "parity")
    spec, batch = parity.example(8, 30, seed=0)
    data = parity.load(DataRequest(L=8, data_dir=Path("datasets"), generate=False))
    assert spec == data.spec == rnnlab.DataSpec("sequence", 2, 1, 8)
    assert np.array_equal(batch.x, data.train.x) and np.array_equal(batch.t, data.train.t)
    assert data.train.t[:, 0].tolist() == [t for *_, t in train]
    assert data.files == {"train": FILES[0], "dev": FILES[1], "test": FILES[2]}

    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in FILES}
    again = cli(*GEN)
    assert again.exit_code == 0, again.stderr
    for path in FILES:
        assert f"{path}: already up to date" in again.stdout
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in FILES} == before  # not rewritten

    other_seed = cli(*GEN, "--seed", "1")
    assert other_seed.exit_code == 2
    assert other_seed.stderr.strip() == (
        f"error: {FILES[0]} exists with different content; use --force to replace it")
    assert {p: p.read_bytes() for p in FILES} == {p: b for p, (b, _) in before.items()}

    forced = cli(*GEN, "--seed", "1", "--force")
    assert forced.exit_code == 0, forced.stderr
    fresh = cli(*GEN, "--seed", "1", "--out", "elsewhere")
    assert fresh.exit_code == 0, fresh.stderr
    for path in FILES:
        assert path.read_bytes() != before[path][0]
        assert path.read_bytes() == (Path("elsewhere") / path.relative_to("datasets")).read_bytes()


def test_gen_data_refuses_a_length_without_two_halves(workdir, cli, examples_installed):
    result = cli("gen-data", "parity", "--L", "1")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: dataset 'parity' needs --L of at least 2 (two marked steps), got 1")
    assert not Path("datasets").exists()


@pytest.mark.parametrize("line, expected", [
    (lambda bits, a, b, t: f"{bits},{a},{b},{1 - t}",
     lambda bits, a, b, t: f"target {1 - t} is not the parity of bits {a} and {b}"),
    (lambda bits, a, b, t: f"{bits[:7]}2,{a},{b},{t}",
     lambda bits, a, b, t: f"expected 8 bits (0 or 1) for L=8, got '{bits[:7]}2'"),
    (lambda bits, a, b, t: f"{bits},{b},{a},{t}",
     lambda bits, a, b, t: f"marked steps {b},{a} are not one in each half of 0..7"),
    (lambda bits, a, b, t: f"{bits},{a},{b}",
     lambda bits, a, b, t: "expected 4 comma-separated fields, got 3"),
], ids=["target", "bit", "marks", "fields"])
def test_a_bad_line_is_one_error_naming_file_and_line(workdir, cli, examples_installed, line,
                                                      expected):
    assert cli(*GEN).exit_code == 0
    dev = FILES[1]
    lines = dev.read_text().splitlines()
    row = read_csv(dev)[1]  # line 3 of the file
    lines[2] = line(*row)
    dev.write_text("\n".join(lines) + "\n")
    result = cli("train", "lstm", "--data", "parity", *FAST)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {workdir / dev}, line 3: {expected(*row)}"
    assert "Traceback" not in result.stderr


def test_train_lstm_on_parity_records_what_metrics_gives_on_its_checkpoint(workdir, cli,
                                                                           examples_installed):
    assert cli(*GEN).exit_code == 0
    result = cli("train", "lstm", "--data", "parity", *FAST)
    assert result.exit_code == 0, result.stderr
    [run] = rnnlab.list_runs()
    assert (run.summary["data"], run.summary["primary_metric"], run.summary["L"]) == (
        "parity", "accuracy", 8)
    learner, data = rnnlab.load_learner(run)
    parity = rnnlab.get_plugin("dataset", "parity")
    assert run.summary["test"] == parity.metrics(learner.predict(data.test.x), data.test.t)
    targets = [t for *_, t in read_csv(FILES[2])]
    assert run.summary["test"]["zero_accuracy"] == 100.0 * targets.count(0) / len(targets)
    recorded = run.provenance["data_files"]
    assert {split: entry["sha256"] for split, entry in recorded.items()} == {
        split: hashlib.sha256(path.read_bytes()).hexdigest()
        for split, path in zip(("train", "dev", "test"), FILES, strict=True)}
    assert cli("eval", run.id, "--json").exit_code == 0


def test_train_on_missing_files_writes_what_gen_data_seed_0_writes(workdir, cli,
                                                                   examples_installed):
    result = cli("train", "lstm", "--data", "parity", "--L", "8", "--epochs", "1", "--hidden",
                 "4", "--batch-size", "100")
    assert result.exit_code == 0, result.stderr
    made = {p: p.read_bytes() for p in FILES}
    assert [len(read_csv(p)) for p in FILES] == [2000, 500, 500]  # the plugin's sizes
    assert cli("gen-data", "parity", "--L", "8", "--out", "again").exit_code == 0
    assert made == {p: (Path("again") / p.relative_to("datasets")).read_bytes() for p in FILES}


def make_run(run_id: str, model: str, data: str, L: int | None, metric: str,
             value: float | None, status: str = "completed", seed: int = 0) -> Run:
    """A hand-made run directory with just the config and summary a report reads."""
    run = Run(Path("runs") / run_id)
    run.dir.mkdir(parents=True)
    run.write_config({"model": model, "data": data, "L": L, "seed": seed})
    run.write_summary({"status": status, "model": model, "data": data, "L": L, "seed": seed,
                       "primary_metric": metric, "test": {metric: value, "other": 1.0}})
    return run


def test_best_run_report_picks_the_best_run_of_each_model(workdir, cli, examples_installed):
    make_run("r1-lstm", "lstm", "parity", 8, "accuracy", 75.0, seed=1)
    make_run("r2-lstm", "lstm", "parity", 8, "accuracy", 90.0, seed=2)
    make_run("r3-lstm", "lstm", "parity", 8, "accuracy", 90.0, seed=3)  # a tie: r2 comes first
    make_run("r4-lstm", "lstm", "parity", 8, "accuracy", 99.0, status="failed")
    make_run("r5-lstm", "lstm", "parity", 8, "accuracy", None)  # NaN when it was measured
    make_run("r6-gru", "gru", "parity", 16, "accuracy", 60.0)
    make_run("r7-ae", "autoenc-lite", "images", None, "mse", 0.25, seed=7)
    make_run("r8-ae", "autoenc-lite", "images", None, "mse", 0.5)  # mse: lower is better
    result = cli("report", "best-run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows"] == [
        {"model": "autoenc-lite", "data": "images", "L": None, "metric": "mse", "value": 0.25,
         "run": "r7-ae", "seed": 7, "runs": 2},
        {"model": "gru", "data": "parity", "L": 16, "metric": "accuracy", "value": 60.0,
         "run": "r6-gru", "seed": 0, "runs": 1},
        {"model": "lstm", "data": "parity", "L": 8, "metric": "accuracy", "value": 90.0,
         "run": "r2-lstm", "seed": 2, "runs": 3},
    ]
    assert report["notes"] == ["2 runs not completed or without a finite test value of "
                               "their primary metric were left out"]
    only = json.loads(cli("report", "best-run", "--model", "gru", "--format", "json").stdout)
    assert [row["run"] for row in only["rows"]] == ["r6-gru"]


def test_best_run_report_without_runs_says_so(workdir, cli, examples_installed):
    result = cli("report", "best-run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == []
    assert json.loads(result.stdout)["notes"] == [
        "no completed runs match (train some with `rnnlab train MODEL`)"]
    table = cli("report", "best-run")
    assert "no completed runs match" in table.stdout
