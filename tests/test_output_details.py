"""Output details: table text taken literally, the accuracy report grouping by configuration
and following each dataset's declarations, the sweep's progress and closing table from the
data, `--debug` anywhere, and exit codes by one rule."""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

import rnnlab
from rnnlab import Column, ReportResult, UsageError
from rnnlab.errors import RunInterrupted, Terminated, interrupt_code
from rnnlab.events import CellUpdate
from rnnlab.runs import RunStore
from rnnlab.ui import cell_info, render_report, run_summary_table, simple_table
from rnnlab_plugins.adding_task import Adding
from rnnlab_plugins.image_pickles import Images


def shown(renderable) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=100, force_terminal=False).print(renderable)
    return buffer.getvalue()


# -- 1. brackets in table text are text, not markup ---------------------------------------------

def test_brackets_in_titles_headers_and_cells_print_literally():
    text = shown(simple_table("runs [adding]", ["model [name]", "n"],
                              [["lstm [adding]", "1"], ["lstm [temporal-order]", "[b]2[/b]"]]))
    for literal in ("runs [adding]", "model [name]", "lstm [adding]", "lstm [temporal-order]",
                    "[b]2[/b]"):
        assert literal in text
    report = ReportResult(title="Test [x]", columns=[Column("model [m]", "model")],
                          rows=[{"model": "lstm [adding]"}])
    text = shown(render_report(report, "table"))
    assert "Test [x]" in text and "model [m]" in text and "│ lstm [adding] │" in text
    text = shown(run_summary_table("r[1]", {"status": "failed [red]", "test": {"acc": 1.5}}))
    assert "run r[1]" in text and "failed [red]" in text


def test_a_report_over_two_datasets_names_them_literally(small_data, cli):
    rnnlab.train("lstm", L=10, epochs=1)
    rnnlab.train("autoenc-lite", updates=5)
    result = cli("report", "accuracy")
    assert result.exit_code == 0, result.stderr
    assert "│ autoenc-lite [images]" in result.stdout
    assert "│ lstm [adding]" in result.stdout
    assert "│ always 0 [adding] (baseline)" in result.stdout
    assert "Test results by model and sequence length L" in result.stdout
    assert "test accuracy in % (adding), test mse (images); 2 completed runs" in result.stdout


# -- 2. the accuracy report: one row per configuration, the dataset's declarations ---------------

def report_rows(cli, *args: str) -> dict:
    result = cli("report", "accuracy", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_runs_that_differ_in_an_option_or_setting_are_rows_of_their_own(small_data, cli):
    runs = [rnnlab.train("simple-rnn", L=10, epochs=1, lr=lr, seed=seed)
            for lr in (0.01, 0.001) for seed in (0, 1)]
    rnnlab.train("lstm", L=10, epochs=1)
    rnnlab.train("lstm", L=10, epochs=1, settings={"rec_init": "orthogonal"})
    report = report_rows(cli)
    rows = {r["model"]: r for r in report["rows"]}
    assert list(rows) == ["lstm (rec_init=default)", "lstm (rec_init=orthogonal)",
                          "simple-rnn (lr=0.001)", "simple-rnn (lr=0.01)",
                          "always 0 (baseline)"]
    for lr in (0.01, 0.001):
        accs = [r.summary["test"]["accuracy"] for r in runs if r.config["lr"] == lr]
        row = rows[f"simple-rnn (lr={lr})"]
        assert (row["L10_n"], row["L10_acc_mean"]) == (2, pytest.approx(sum(accs) / 2))
    assert rows["lstm (rec_init=orthogonal)"]["L10_n"] == 1
    assert report["title"] == "Test accuracy (%) by model and sequence length L"
    assert report["notes"] == ["test accuracy in %; 6 completed runs"]
    # one model, one configuration: no differences to show
    only = report_rows(cli, "--model", "simple-rnn", "--format", "json")
    assert [r["model"] for r in only["rows"]] == ["simple-rnn (lr=0.001)",
                                                  "simple-rnn (lr=0.01)", "always 0 (baseline)"]
    # a setting at its neutral value is not in the run's config: shown at that value
    relu = rnnlab.train("simple-rnn", L=10, epochs=1, settings={"nonlinearity": "relu"})
    assert "nonlinearity" not in runs[0].config["settings"]
    names = [r["model"] for r in report_rows(cli, "--model", "simple-rnn")["rows"]]
    assert names == ["simple-rnn (lr=0.001, nonlinearity=tanh)",
                     "simple-rnn (lr=0.01, nonlinearity=relu)",
                     "simple-rnn (lr=0.01, nonlinearity=tanh)", "always 0 (baseline)"]
    assert relu.config["settings"]["nonlinearity"] == "relu"


def test_baselines_and_success_follow_the_datasets_declarations(small_data, cli, monkeypatch):
    run = rnnlab.train("simple-rnn", L=10, epochs=1)
    table = cli("report", "accuracy")
    assert "always 0 (baseline)" in table.stdout and "0/1 ≥99%" in table.stdout
    monkeypatch.setattr(Adding, "baselines", {"zero_accuracy": "predict nothing"})
    rows = report_rows(cli)["rows"]
    assert rows[-1] == {"model": "predict nothing (baseline)",
                        "L10_acc_mean": run.summary["test"]["zero_accuracy"], "L10_n": 1}
    monkeypatch.setattr(Adding, "higher_is_better", False)  # success at >= 99% means nothing
    assert "L10_success" not in report_rows(cli)["rows"][0]
    assert "≥99%" not in cli("report", "accuracy").stdout
    monkeypatch.setattr(Adding, "baselines", {})
    assert [r["model"] for r in report_rows(cli)["rows"]] == ["simple-rnn"]


def test_a_diverged_run_counts_in_the_success_rate_and_other_failures_do_not(small_data, cli):
    runs = [rnnlab.train("simple-rnn", L=10, epochs=1, seed=seed) for seed in range(4)]
    values = [r.summary["test"]["accuracy"] for r in runs[:2]]

    def fail(run, reason):  # as training records it
        summary = {k: v for k, v in run.summary.items() if k != "test"}
        (run.dir / "summary.json").write_text(json.dumps({**summary, "status": "failed",
                                                          "reason": reason}))

    fail(runs[2], f"training diverged: loss became nan at epoch 1, batch 3 (run {runs[2].id} "
                  "keeps the checkpoint of epoch 0)")
    fail(runs[3], "while training simple-rnn: RuntimeError: out of memory")  # not an outcome
    report = report_rows(cli)
    row = report["rows"][0]
    assert (row["L10_n"], row["L10_diverged"], row["L10_success"]) == (2, 1, 0)
    assert row["L10_acc_mean"] == pytest.approx(sum(values) / 2)
    assert report["notes"] == [
        "test accuracy in %; 2 completed runs",
        "1 run whose training diverged (loss NaN or infinite) counted in the success rate as "
        "not reaching 99%, not in the mean",
        "1 run not completed or without a test accuracy left out"]
    table = cli("report", "accuracy").stdout
    assert "0/3 ≥99% (1" in table and "diverged)" in table
    for run in runs[:2]:  # only the diverged run left: no mean, a success rate of 0 of 1
        fail(run, "while training simple-rnn: KeyError: 'x'")
    row = report_rows(cli)["rows"][0]
    assert row == {"model": "simple-rnn", "L10_diverged": 1, "L10_success": 0}
    table = cli("report", "accuracy").stdout
    assert "│ diverged " in table and "0/1 ≥99% (1 diverged)" in table


def test_a_report_of_several_sweeps(small_data, cli):
    for name, model in (("a", "simple-rnn"), ("b", "lstm"), ("c", "alarmwork")):
        made = cli("sweep", "--model", model, "--L", "10", "--epochs", "1", "--name", name)
        assert made.exit_code == 0, made.stderr
    rows = report_rows(cli, "--sweep", "a", "--sweep", "b")["rows"]
    assert [r["model"] for r in rows] == ["lstm", "simple-rnn", "always 0 (baseline)"]
    assert rnnlab.report("accuracy", sweep=["c"]).rows[0]["model"] == "alarmwork"
    unknown = cli("report", "accuracy", "--sweep", "a", "--sweep", "d")
    assert (unknown.exit_code, unknown.stderr) == (
        2, "error: --sweep d: no runs of that sweep in runs (sweeps there: a, b, c)\n")


def test_image_runs_get_a_column_of_their_metric(workdir, cli):
    runs = [rnnlab.train("autoenc-lite", updates=10, seed=seed) for seed in (0, 1)]
    report = report_rows(cli)
    (row,) = report["rows"]
    mses = [r.summary["test"]["mse"] for r in runs]
    assert row["model"] == "autoenc-lite" and row["all_n"] == 2
    assert row["all_acc_mean"] == pytest.approx(sum(mses) / 2)
    assert "all_success" not in row
    assert report["title"] == "Test mse by model"
    assert report["notes"] == ["test mse; 2 completed runs"]
    table = cli("report", "accuracy").stdout
    assert "┃ model        ┃ test mse" in table and "≥99%" not in table
    assert f"{row['all_acc_mean']:.4g} ± " in table
    # an update budget has evaluation points, not epochs: the summary says so
    assert ("epochs" not in runs[0].summary, runs[0].summary["evaluations"]) == (True, 10)
    assert " ep," not in table and "all_epochs" not in row


def test_csv_numbers_read_as_people_write_them(small_data, cli):
    rnnlab.train("lstm", L=10, epochs=1)
    rows = list(csv.DictReader(io.StringIO(cli("report", "accuracy", "--format",
                                               "csv").stdout)))
    baseline = next(r for r in rows if r["model"] == "always 0 (baseline)")
    exact = json.loads(cli("report", "accuracy", "--format", "json").stdout)["rows"][-1]
    assert baseline["L10_acc_mean"] == repr(float(f"{exact['L10_acc_mean']:.12g}"))
    assert all(len(value) <= 16 for row in rows for value in row.values()
               if value.replace(".", "").isdigit())


# -- 3. the sweep's progress line and closing table come from the data --------------------------

def test_progress_words_show_the_primary_metric_as_its_dataset_declares_it():
    started = CellUpdate(4, "lstm L=10 seed 0", "running", run_id="r1", metric="accuracy",
                         percentages=("accuracy", "zero_accuracy"))
    assert cell_info(started) == "run r1"  # before its first epoch
    epoch = replace(started, epoch=3, epochs=50, dev=61.25)
    assert cell_info(epoch) == "epoch 3/50, dev accuracy 61.2%"
    assert cell_info(replace(epoch, metric="mse", dev=0.2, percentages=())) == (
        "epoch 3/50, dev mse 0.2")
    assert cell_info(replace(epoch, metric="", dev=None)) == "epoch 3/50"  # no primary metric
    assert cell_info(replace(epoch, dev=None)) == "epoch 3/50"  # no dev value yet
    updates = CellUpdate(0, "autoenc-lite images seed 0", "running", run_id="r2", epoch=1,
                         epochs=1, updates=300, updates_total=1000, metric="mse")
    assert cell_info(updates) == "update 300/1000"  # no dev split: nothing to show
    assert cell_info(replace(updates, dev=0.01234)) == "update 300/1000, dev mse 0.01234"
    done = replace(started, state="done", test=99.44)
    assert cell_info(done) == "test accuracy 99.4%"
    assert cell_info(replace(done, state="skipped", metric="mse", test=0.012345,
                             percentages=())) == "test mse 0.01235"
    assert cell_info(replace(done, test=None, info="completed")) == "completed"
    assert cell_info(CellUpdate(1, "lstm L=10 seed 1", "failed", "RuntimeError: boom",
                                run_id="r3", metric="accuracy", test=12.0)) == (
        "RuntimeError: boom")
    assert cell_info(CellUpdate(2, "lstm L=10 seed 2", "elsewhere", "run by pid 7 on h")) == (
        "run by pid 7 on h")
    assert cell_info(CellUpdate(3, "lstm L=10 seed 3", "queued")) == ""


def test_sweep_json_prints_one_object_per_cell_update_then_the_totals(workdir, cli):
    Path("img.yaml").write_text("name: js\nmodel: autoenc-lite\nupdates: 5\nseeds: 2\n")
    result = cli("sweep", "img.yaml", "--json")
    assert result.exit_code == 0, result.stderr
    *cells, totals = [json.loads(line) for line in result.stdout.splitlines()]
    assert totals == {"event": "sweep", "id": "js", "runs": 2, "completed": 2, "failed": 0,
                      "wall_time_s": totals["wall_time_s"], "failures": []}
    assert all(set(c) == {"event", *CellUpdate.__dataclass_fields__} for c in cells)
    assert {c["event"] for c in cells} == {"cell"}
    done = [c for c in cells if c["state"] == "done"]
    assert sorted(c["index"] for c in done) == [0, 1]
    assert all(c["metric"] == "mse" and isinstance(c["test"], float) for c in done)


def test_an_image_sweep_ends_with_its_datasets_report(workdir, cli):
    Path("img.yaml").write_text("name: img\nmodel: autoenc-lite\nupdates: 10\nseeds: 2\n")
    result = cli("sweep", "img.yaml")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "sweep img: 2/2 runs completed, 0 failed" in result.stdout
    assert any(line.startswith("[1/2] autoenc-lite images seed 0: done  test mse ")
               for line in lines)
    assert "Test mse by model" in result.stdout
    assert "│ autoenc-lite │" in result.stdout and "(n=2)" in result.stdout
    assert lines[-1] == "test mse; 2 completed runs"


def test_an_adding_sweep_keeps_its_table_and_several_datasets_share_one(small_data, cli):
    Path("mix.yaml").write_text("name: mix\nmodel: [simple-rnn, autoenc-lite]\nL: [10]\n"
                                "updates: 10\n")
    result = cli("sweep", "mix.yaml")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("Test results by model and sequence length L") == 1
    assert "│ simple-rnn [adding]" in result.stdout and "│ autoenc-lite [images]" in result.stdout
    alone = cli("sweep", "--model", "simple-rnn", "--L", "10", "--epochs", "1",
                "--name", "plain")
    assert alone.exit_code == 0, alone.stderr
    assert "Test accuracy (%) by model" in alone.stdout  # the title wraps in a narrow table
    assert "│ simple-rnn " in alone.stdout and "0/1 ≥99%" in alone.stdout
    assert alone.stdout.splitlines()[-1] == "test accuracy in %; 1 completed run"


def test_a_dataset_without_a_report_gets_a_note_instead_of_a_table(workdir, cli, monkeypatch):
    monkeypatch.setattr(Images, "report", "")
    Path("img.yaml").write_text("name: bare\nmodel: autoenc-lite\nupdates: 5\n")
    result = cli("sweep", "img.yaml")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "dataset 'images' declares no report to sum up a sweep; `rnnlab report NAME --sweep "
        "bare` makes one")
    assert "┃ model" not in result.stdout


# -- 4. --debug anywhere on the command line ----------------------------------------------------

@pytest.mark.parametrize("args", [("train", "nosuchmodel", "--debug"),
                                  ("--debug", "train", "nosuchmodel"),
                                  ("train", "--debug", "nosuchmodel")])
def test_debug_anywhere_raises_instead_of_one_line(workdir, cli, args):
    result = cli(*args)
    assert isinstance(result.exception, UsageError)
    assert str(result.exception).startswith("unknown model 'nosuchmodel'")
    assert result.stderr == ""


def test_without_debug_the_error_is_one_line_and_report_accepts_a_trailing_debug(workdir, cli):
    result = cli("train", "nosuchmodel")
    assert (result.exit_code, result.exception) == (2, None)
    assert result.stderr.startswith("error: unknown model 'nosuchmodel'")
    assert result.stderr.count("\n") == 1
    listed = cli("report", "accuracy", "--debug")
    assert (listed.exit_code, listed.exception) == (0, None)
    assert "no completed runs match" in listed.stdout


# -- 5. exit codes: 0 success, 1 the work failed, 2 a usage mistake, 130/143 interrupted --------

BROKEN = """
from rnnlab import ModelPlugin
class Plugin(ModelPlugin):
    def build(self, spec, config):
        raise RuntimeError("out of cheese")
"""


def damaged_data(cli) -> str:
    """A run whose recorded test file is gone afterwards."""
    run = rnnlab.train("simple-rnn", L=10, epochs=1)
    shutil.rmtree("datasets")
    return run.id


@pytest.mark.parametrize("args,code,message", [
    (("train", "lstm", "--nope"), 2, "error: No such option: --nope"),
    (("train", "nosuchmodel"), 2, "error: unknown model 'nosuchmodel'"),
    (("train", "lstm", "--set", "nosuch=1"), 2, "error: unknown setting"),
    (("sweep", "--model", "lstm", "--L", "10", "--executor", "slurm"), 2,
     "error: unknown executor 'slurm'"),
    (("report", "nosuch"), 2, "error: unknown report 'nosuch'"),
    (("eval", "{run}"), 1, "error: "),
    (("train", "broken", "--L", "10", "--epochs", "1"), 1,
     "error: model 'broken' (rnnlab-broken 1.0) failed in build(): RuntimeError: out of cheese"),
    (("plugins",), 0, ""),
])
def test_exit_codes_follow_one_rule(small_data, cli, fake_dist, args, code, message):
    fake_dist("rnnlab-broken", {"rnnlab.models": {"broken": "broken_mod:Plugin"}},
              {"broken_mod": BROKEN})
    if "{run}" in args:
        args = tuple(a.replace("{run}", damaged_data(cli)) for a in args)
    result = cli(*args)
    assert result.exit_code == code, result.stdout + result.stderr
    assert result.stderr.startswith(message)
    if code:
        assert "Traceback" not in result.stderr


def test_eval_and_resume_with_missing_data_files_exit_1(small_data, cli):
    run = rnnlab.train("simple-rnn", L=10, epochs=1)
    summary = json.loads((run.dir / "summary.json").read_text())
    (run.dir / "summary.json").write_text(json.dumps({**summary, "status": "interrupted"}))
    shutil.rmtree("datasets")
    for args in (("eval", run.id), ("train", "--resume", run.id)):
        result = cli(*args)
        assert result.exit_code == 1, result.stdout + result.stderr
        assert result.stderr.startswith("error: ") and "adding_problem" in result.stderr
    assert len(RunStore("runs").list()) == 1


def test_interruptions_exit_130_for_ctrl_c_and_143_for_sigterm():
    assert interrupt_code(KeyboardInterrupt()) == 130
    assert interrupt_code(Terminated()) == 143
    assert interrupt_code(RunInterrupted("run r1 interrupted", 143)) == 143
