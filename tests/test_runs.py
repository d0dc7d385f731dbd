"""The run store: atomic writes, unique ids across processes, listing and lookup."""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor

import pytest

from rnnlab.errors import RnnlabError, UsageError
from rnnlab.files import atomic_write
from rnnlab.runs import RunStore


def test_a_crash_while_writing_leaves_the_old_file_and_no_partial(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    atomic_write(path, '{"status": "running"}')

    def crash(fd):  # the process dies between writing and renaming
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(RnnlabError, match="summary.json: could not be written .No space left"):
        atomic_write(path, '{"status": "completed", "test": {"accuracy": 99.9}}')
    assert path.read_text() == '{"status": "running"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_interrupt_during_write_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, "x")
    assert list(tmp_path.iterdir()) == []


def _create(root: str) -> str:
    return RunStore(root).create("lstm").id


def test_run_ids_are_unique_across_parallel_processes(tmp_path):
    with ProcessPoolExecutor(4) as pool:
        ids = list(pool.map(_create, [str(tmp_path)] * 40))
    assert len(set(ids)) == 40
    assert all(i.split("-")[2] == "lstm" for i in ids)


def test_lookup_by_prefix_and_errors(tmp_path):
    store = RunStore(tmp_path)
    run = store.create("gru")
    run.write_config({"model": "gru"})
    run.append_metrics({"epoch": 1})
    run.append_metrics({"epoch": 2})
    assert [m["epoch"] for m in store.get(run.id[:-3]).metrics] == [1, 2]
    assert store.get(str(run.dir)).id == run.id
    with pytest.raises(UsageError, match="no run 'nope'"):
        store.get("nope")
    run.write_summary({"status": "completed"})
    assert json.loads((run.dir / "summary.json").read_text())["status"] == "completed"


def test_unwritable_runs_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RnnlabError, match="cannot create runs directory"):
        RunStore(blocker / "runs").create("lstm")


# -- a Run reads each file once; refresh() reads it again -------------------------------------

def _behind_its_back(run, name: str, text: str) -> None:
    """Another process writes one of the run's files."""
    (run.dir / name).write_text(text)


@pytest.mark.parametrize(("name", "first", "second", "read"), [
    ("summary.json", '{"status": "running"}', '{"status": "completed"}',
     lambda run: run.summary["status"]),
    ("config.yaml", "model: gru\n", "model: lstm\n", lambda run: run.config["model"]),
    ("metrics.jsonl", '{"epoch": 1}\n', '{"epoch": 1}\n{"epoch": 2}\n',
     lambda run: len(run.metrics)),
    ("provenance.json", '{"seed": 1}', '{"seed": 2}', lambda run: run.provenance["seed"]),
])
def test_a_file_is_read_once_until_refreshed(tmp_path, name, first, second, read):
    run = RunStore(tmp_path).create("gru")
    _behind_its_back(run, name, first)
    before = read(run)
    _behind_its_back(run, name, second)
    assert read(run) == before  # kept from the first read, not read again
    run.refresh()
    assert read(run) != before  # the file as it is now


def test_a_write_is_what_the_run_reads_next(tmp_path):
    run = RunStore(tmp_path).create("gru")
    assert run.summary == {} and run.metrics == []  # read (no files yet) and kept
    run.write_summary({"status": "completed", "test": {"mse": float("nan")}})
    run.append_metrics({"epoch": 1})
    run.append_metrics({"epoch": 2})
    run.write_config({"model": "gru", "L": 10})
    _behind_its_back(run, "summary.json", '{"status": "failed"}')
    _behind_its_back(run, "metrics.jsonl", "")
    assert run.summary == {"status": "completed", "test": {"mse": None}}  # as a reader sees it
    assert [m["epoch"] for m in run.metrics] == [1, 2]
    assert run.config == {"model": "gru", "L": 10}
    run.write_metrics([{"epoch": 1}])
    assert run.metrics == [{"epoch": 1}]


def test_a_changed_value_does_not_change_the_run(tmp_path):
    run = RunStore(tmp_path).create("gru")
    run.write_summary({"status": "running", "test": {"mse": 1.0}})
    run.summary["test"]["mse"] = 2.0
    assert run.summary["test"] == {"mse": 1.0}


def test_a_damaged_write_is_reported_by_the_next_read(tmp_path):
    from rnnlab.runs import RunDamaged

    run = RunStore(tmp_path).create("gru")
    run.write_summary({"status": 3})
    with pytest.raises(RunDamaged, match="'status' has the wrong type"):
        run.summary  # noqa: B018


def test_state_reads_the_status_as_it_is_now(tmp_path):
    run = RunStore(tmp_path).create("gru")
    run.write_summary({"status": "interrupted"})
    _behind_its_back(run, "summary.json", '{"status": "completed"}')  # resumed elsewhere
    assert run.status == "interrupted"
    assert run.state() == "completed"


def test_resume_sees_a_run_completed_since_it_was_read(tmp_path):
    from rnnlab.training import train

    run = RunStore(tmp_path).create("gru")
    run.write_summary({"status": "interrupted"})
    _behind_its_back(run, "summary.json", '{"status": "completed"}')
    with pytest.raises(UsageError, match="is already completed; nothing to resume"):
        train(resume=run)


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p: p.write_bytes(b""), "not a valid checkpoint (not an .npz archive)"),
    (lambda p: os.mkfifo(p), "not a regular file"),
    (lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
    (lambda p: (p.write_bytes(b""), os.truncate(p, 5 * 2**30)), "more than a run file holds"),
])
def test_a_completed_run_without_a_readable_checkpoint_is_damaged(tmp_path, make, reason):
    """What eval and warm starts read of a completed run: `rnnlab runs` says it is damaged
    rather than completed (a FIFO is not opened: reading it would block)."""
    store = RunStore(tmp_path)
    run = store.create("lstm")
    run.write_config({"model": "lstm", "L": 10})
    run.write_summary({"status": "completed", "model": "lstm"})
    make(run.dir / "model.npz")
    runs, damaged = store.scan()
    assert runs == [] and [str(path) for path, _ in damaged] == [str(run.dir)]
    assert damaged[0][1].startswith(f"{run.dir / 'model.npz'}: ") and reason in damaged[0][1]


def test_a_run_interrupted_after_its_early_stop_is_only_tested_on_resume(small_data,
                                                                         monkeypatch):
    """Ctrl-C in the test evaluation of a run that stopped early: the resume evaluates it,
    and trains no epoch past its early stop (the run equals an uninterrupted one)."""
    import rnnlab
    from rnnlab import training
    from rnnlab.errors import RunInterrupted

    options = {"L": 10, "epochs": 6, "early_stop": 30.0, "recipe": "homework", "hidden": 4}
    reference = rnnlab.train("alarmwork", runs_dir="reference", **options).summary
    assert reference["stopped_early"] and reference["epochs"] < 6
    evaluate = training.evaluate_split

    def interrupted_once(session, split):
        if split is session.data.test:
            monkeypatch.setattr(training, "evaluate_split", evaluate)
            raise KeyboardInterrupt
        return evaluate(session, split)

    monkeypatch.setattr(training, "evaluate_split", interrupted_once)
    with pytest.raises(RunInterrupted):
        rnnlab.train("alarmwork", runs_dir="cut", **options)
    (run,) = RunStore("cut").list()
    assert run.summary["status"] == "interrupted"
    resumed = rnnlab.resume(run.id, runs_dir="cut").summary
    assert resumed["status"] == "completed"
    for key in ("epochs", "updates", "stopped_early", "test", "dev"):
        assert resumed[key] == reference[key], key


def test_ctrl_c_while_a_completed_runs_reports_are_drawn_leaves_it_completed(small_data,
                                                                              monkeypatch):
    """The run is complete once its summary says so: Ctrl-C in the reports the model asks
    for after training waits for them, instead of relabelling the run 'interrupted'."""
    import signal

    import rnnlab

    plugin = rnnlab.get_plugin("model", "alarmwork")
    monkeypatch.setattr(plugin, "after_training", ("curves",))
    report = rnnlab.report

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the report starts
        return report(*args, **kwargs)

    monkeypatch.setattr(rnnlab, "report", interrupted)
    notes = []
    run = rnnlab.train("alarmwork", L=10, epochs=1, recipe="homework", hidden=4,
                       emit=lambda event: notes.append(getattr(event, "text", None)))
    summary = RunStore("runs").get(run.id).summary
    assert summary["status"] == "completed"
    assert summary["files"] and all((run.dir / name).is_file() for name in summary["files"])
    assert f"interrupted after run {run.id} had completed: its reports were written first" \
        in notes
