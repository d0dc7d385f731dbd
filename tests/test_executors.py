"""Executors are plugins (entry-point group rnnlab.executors): the bundled local process pool
and Dask, and third-party ones chosen with `rnnlab sweep --executor NAME`."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import rnnlab
from rnnlab import ExecutorPlugin, ExecutorRequest, SweepCell, numerics, sweep
from rnnlab import registry as plugin_registry
from rnnlab.events import ignore
from rnnlab.runs import RunStore
from rnnlab.sweep import local

SERIAL = """
import json
import os

from rnnlab import ExecutorPlugin


class Serial(ExecutorPlugin):
    summary = "cells one after another, in the sweep's own process"

    def run(self, request):
        for cell in request.cells:
            result = request.run_cell(cell.task, request.emit)
            with open("executed.jsonl", "a") as log:
                log.write(json.dumps({"label": cell.label, "pid": os.getpid(),
                                      "jobs": request.jobs,
                                      "runs_dir": str(request.runs_dir)}) + "\\n")
            request.done(cell, result)


class Boom(ExecutorPlugin):
    def run(self, request):
        raise RuntimeError("no cluster today")


class Lazy(ExecutorPlugin):
    def run(self, request):
        request.done(request.cells[0], {"status": "done", "info": "said so"})
"""
GRID = "name: third\nmodel: simple-rnn\nL: [10]\nseeds: 2\nepochs: 1\n"


def install(fake_dist) -> None:
    fake_dist("rnnlab-serial", {"rnnlab.executors": {"fake": "serial_exec:Serial",
                                                     "boom": "serial_exec:Boom",
                                                     "lazy": "serial_exec:Lazy"}},
              {"serial_exec": SERIAL})


def test_bundled_executors_are_plugins(workdir, cli):
    assert rnnlab.list_plugins("executor") == ["dask", "local", "pack"]
    for name in ("local", "dask"):
        assert isinstance(rnnlab.get_plugin("executor", name), ExecutorPlugin)
    listed = {(r["kind"], r["name"]): r for r in json.loads(cli("plugins", "--json").stdout)}
    assert listed[("executor", "local")]["status"] == "ok"
    assert listed[("executor", "dask")]["distribution"] == "rnnlab"


def test_a_third_party_executor_runs_the_sweep(small_data, cli, fake_dist):
    install(fake_dist)
    Path("grid.yaml").write_text(GRID)
    result = cli("sweep", "grid.yaml", "--executor", "fake", "--jobs", "3")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "sweep third: 2/2 runs completed, 0 failed" in result.stdout
    assert "[1/2] simple-rnn L=10 seed 0: running  run " in result.stdout  # progress came back
    executed = [json.loads(line) for line in Path("executed.jsonl").read_text().splitlines()]
    assert [e["label"] for e in executed] == ["simple-rnn L=10 seed 0", "simple-rnn L=10 seed 1"]
    assert {(e["jobs"], e["runs_dir"]) for e in executed} == {(3, "runs")}
    runs = RunStore("runs").list()
    assert sorted((r.config["seed"], r.summary["sweep"], r.state()) for r in runs) == [
        (0, "third", "completed"), (1, "third", "completed")]
    assert "Test accuracy (%) by model" in result.stdout and "(n=2)" in result.stdout
    again = cli("sweep", "grid.yaml", "--executor", "fake")
    assert again.exit_code == 0 and again.stdout.count(": skipped") == 2
    assert len(Path("executed.jsonl").read_text().splitlines()) == 2  # nothing ran twice


def test_a_failing_or_sloppy_executor_fails_the_sweep_clearly(small_data, cli, fake_dist):
    install(fake_dist)
    Path("grid.yaml").write_text(GRID)
    boom = cli("sweep", "grid.yaml", "--executor", "boom")
    assert boom.exit_code == 1
    assert boom.stderr == ("error: executor 'boom' (rnnlab-serial 1.0) failed in run(): "
                           "RuntimeError: no cluster today\n")
    lazy = cli("sweep", "grid.yaml", "--executor", "lazy")
    assert lazy.exit_code == 1, lazy.stderr
    assert "sweep third: 1/2 runs completed, 1 failed" in lazy.stdout
    assert ("  failed: simple-rnn L=10 seed 1: executor 'lazy' returned without running it"
            in lazy.stdout.splitlines())


def test_an_unknown_executor_is_a_usage_error_with_a_suggestion(workdir, cli, fake_dist):
    install(fake_dist)
    result = cli("sweep", "--model", "lstm", "--L", "10", "--executor", "fak")
    assert result.exit_code == 2
    assert result.stderr == "error: unknown executor 'fak'; did you mean 'fake'?\n"
    assert not Path("runs").exists()


def local_request(tmp_path: Path) -> ExecutorRequest:
    """What a sweep of one lstm cell would hand the local executor."""
    grid = sweep.build({"model": "lstm", "L": 10}, plugin_registry.default(),
                       runs_dir=str(tmp_path / "runs"))
    cells = [SweepCell(c.index, c.label, sweep.CellTask.of(grid.id, c), c.config)
             for c in grid.cells]
    return ExecutorRequest(cells, 1, None, tmp_path / "runs", ignore, lambda c, r: None,
                           sweep.run_cell, sweep.worker_failed)


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["queue", "pool", "submit"])
def test_ctrl_c_while_the_local_executor_starts_leaves_nothing_changed(tmp_path, monkeypatch,
                                                                        where):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    watched = (*numerics.THREAD_VARIABLES, "OPENBLAS_CORETYPE")
    before = {v: os.environ.get(v) for v in watched}
    request = local_request(tmp_path)
    if where == "queue":
        monkeypatch.setattr(multiprocessing.get_context("spawn"), "Queue", interrupt)
    elif where == "pool":
        monkeypatch.setattr(local, "ProcessPoolExecutor", interrupt)
    else:
        monkeypatch.setattr(ProcessPoolExecutor, "submit", interrupt)
    with pytest.raises(KeyboardInterrupt) as caught:
        local.LocalExecutor().run(request)
    assert caught.type is KeyboardInterrupt  # not an UnboundLocalError from the clean-up
    assert {v: os.environ.get(v) for v in watched} == before


def test_a_worker_told_to_stop_starts_no_cell(tmp_path, monkeypatch):
    stop = threading.Event()
    stop.set()
    monkeypatch.setattr(local, "_stop", stop)
    task = local_request(tmp_path).cells[0].task
    assert local._worker(task) == {"status": "queued", "info": ""}
    assert not (tmp_path / "runs").exists()
