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
