"""`rnnlab sweep --pack`: runs trained as one packed learner, each an ordinary run that equals
its solo run up to rounding (own data order, learning rate, early stop), resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import rnnlab
from rnnlab import ExecutorRequest, SweepCell
from rnnlab.events import ignore
from rnnlab.runs import RunStore
from rnnlab.sweep.pack import Rendezvous

# impl=torch: the learners that pack on the CPU too (the NumPy default packs on a GPU only).
# Two learning rates x two seeds x two early stops, with shuffling: dev accuracy > 30 ends
# some runs before their last epoch, so members of one pack stop at different epochs.
SPEC = """
name: packs
model: alarmwork
recipe: homework
L: 10
seeds: 2
epochs: 4
lr: [0.01, 0.05]
shuffle: true
early_stop: [30, 101]
set: {impl: torch}
"""


def by_cell(store: Path) -> dict[str, dict]:
    cells = {}
    for run in RunStore(store):
        summary = run.summary
        cells[summary["cell"]] = {"status": summary["status"], "epochs": summary["epochs"],
                                  "test": summary["test"], "losses": run.losses(),
                                  "pack": summary.get("pack"),
                                  "seed": run.config["seed"], "lr": run.config["lr"]}
    return cells


def assert_equal_up_to_rounding(packed: dict, solo: dict) -> None:
    assert set(packed) == set(solo) and len(solo) == 8
    for key, run in solo.items():
        member = packed[key]
        assert member["status"] == run["status"] == "completed"
        assert member["epochs"] == run["epochs"]
        assert member["test"]["accuracy"] == run["test"]["accuracy"]
        np.testing.assert_allclose(member["losses"], run["losses"], rtol=1e-4)


@pytest.fixture(scope="module")
def solo_reference(tmp_path_factory, cli) -> tuple[Path, dict]:
    """The sweep run one run at a time (local executor), once for the module."""
    root = tmp_path_factory.mktemp("solo")
    os.chdir(root)
    rnnlab.gen_data("adding", lengths=[10], sizes={"train": 100, "dev": 50, "test": 50})
    Path("packs.yaml").write_text(SPEC)
    result = cli("sweep", "packs.yaml", "--runs-dir", "solo")
    assert result.exit_code == 0, result.stdout + result.stderr
    return root, by_cell(root / "solo")


def test_a_packed_sweep_gives_each_run_its_solo_result(solo_reference, cli, monkeypatch):
    root, solo = solo_reference
    monkeypatch.chdir(root)
    result = cli("sweep", "packs.yaml", "--pack", "--runs-dir", "packed")
    assert result.exit_code == 0, result.stdout + result.stderr
    packed = by_cell(root / "packed")
    assert_equal_up_to_rounding(packed, solo)
    # one pack of 8 (settings, L and epochs are shared), each member recorded as such
    assert sorted(m["pack"]["member"] for m in packed.values()) == list(range(8))
    assert {m["pack"]["size"] for m in packed.values()} == {8}
    assert {m["pack"]["device"] for m in packed.values()} == {"cpu"}
    assert all(run["pack"] is None for run in solo.values())
    assert len({m["epochs"] for m in packed.values()}) > 1  # members stopped on their own


def test_an_interrupted_pack_resumes_to_the_solo_results(solo_reference, monkeypatch,
                                                         interrupted_sweep):
    root, solo = solo_reference
    monkeypatch.chdir(root)
    args = [sys.executable, "-m", "rnnlab", "sweep", "packs.yaml", "--pack", "--runs-dir",
            "cut", "--epochs", "4"]
    # the pack past its first epoch: stop it there
    returncode, stderr = interrupted_sweep(args[3:], 2,
                                           lambda process: process.send_signal(signal.SIGTERM))
    assert returncode == 143, stderr
    statuses = sorted(r.summary["status"] for r in RunStore(root / "cut"))
    assert "interrupted" in statuses, statuses
    assert set(statuses) <= {"interrupted", "completed"}, statuses  # none left "running"
    resumed = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert_equal_up_to_rounding(by_cell(root / "cut"), solo)


def test_without_a_gpu_the_numpy_learners_go_to_the_local_executor(small_data, monkeypatch):
    """The default AlarmworkNet learner (NumPy BPTT) is faster solo on the CPU: the pack
    executor hands its runs, all of them, to the local executor as they are."""
    from rnnlab import registry, sweep
    from rnnlab.sweep import local, pack

    plan = sweep.build({"model": ["alarmwork"], "L": [10], "seeds": 3, "epochs": 1},
                       registry.default())
    handed = []
    monkeypatch.setattr(local, "run_local", lambda request: handed.extend(request.cells))
    monkeypatch.setattr("rnnlab.session.GpuPresent.__bool__", lambda self: False)
    jobs = [SweepCell(c.index, c.label, sweep.CellTask.of(plan.id, c), c.config) for c in
            plan.cells]
    pack.PackExecutor().run(ExecutorRequest(jobs, 2, None, Path("runs"), ignore,
                                            lambda *a: None, sweep.run_cell, lambda e: {}))
    assert handed == jobs
    assert not Path("runs").exists()  # nothing trained in a pack
    learners = [rnnlab.build_learner("alarmwork", rnnlab.DataSpec("sequence", 2, 1, 10),
                                     seed=s) for s in range(2)]
    assert learners[0].pack(learners, "cpu") is None  # and on a GPU it would pack


def test_pack_goes_with_no_other_executor(small_data, cli):
    result = cli("sweep", "--model", "alarmwork", "--L", "10", "--pack", "--executor", "dask")
    assert result.exit_code == 2
    assert result.stderr == ("error: --pack runs on this machine; it cannot go with "
                             "--executor dask\n")


class Counting:
    """A PackedLearner of S scalar 'networks': the loss of member s is the sum of its batch."""

    def __init__(self, fail_on: int = -1) -> None:
        self.calls, self.threads, self.fail_on = [], [], fail_on

    def train_packed(self, x, t):
        self.calls.append(x.copy())
        self.threads.append(threading.current_thread().name)
        if len(self.calls) == self.fail_on:
            raise RuntimeError("boom")
        return x.reshape(len(x), -1).sum(1)

    def member(self, s):
        return None


def test_the_rendezvous_steps_once_all_members_are_in_and_lets_members_leave():
    packed = Counting()
    rendezvous = Rendezvous(packed, 3)
    losses = {}

    def member(s, steps):
        for i in range(steps):
            losses[s, i] = rendezvous.step(s, np.full((2,), float(s + 10 * i)), np.zeros(1))
        rendezvous.leave(s)

    threads = [threading.Thread(target=member, args=(s, n), name=str(s))
               for s, n in ((0, 3), (1, 1), (2, 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(t.is_alive() for t in threads)
    assert len(packed.calls) == 3  # steps 1-3, with members leaving after 1 and 2 steps
    np.testing.assert_array_equal(packed.calls[1][1], [0.0, 0.0])  # member 1 left: zeros
    np.testing.assert_array_equal(packed.calls[2][2], [0.0, 0.0])  # member 2 left too
    assert losses == {(0, 0): 0.0, (0, 1): 20.0, (0, 2): 40.0, (1, 0): 2.0, (2, 0): 4.0,
                      (2, 1): 24.0}
    # each step ran in the thread of a member that took it, never in one that had left
    assert packed.threads[1] in ("0", "2") and packed.threads[2] == "0"


def test_a_failing_packed_step_fails_every_waiting_member():
    rendezvous = Rendezvous(Counting(fail_on=1), 2)
    errors = []

    def member(s):
        try:
            rendezvous.step(s, np.ones(1), np.zeros(1))
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=member, args=(s,)) for s in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == ["boom", "boom"]


def test_ctrl_c_while_waiting_for_the_members_leaves_them_alive_and_waited_for():
    """Ctrl-C reaches the main thread while it waits for the members: they must still count
    as running (a Thread.join that Ctrl-C interrupts marks a running thread as ended, and the
    process then exits under a member still saving its run), and the wait after it lasts
    until they have ended."""
    from rnnlab.sweep.pack import _wait

    release, ended = threading.Event(), threading.Event()
    seen = []

    def member():
        release.wait(10)
        seen.append("saved")
        ended.set()

    thread = threading.Thread(target=member)
    thread.start()
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        _wait([ended], [thread])
    assert thread.is_alive() and seen == []
    release.set()
    _wait([ended], [thread])
    assert seen == ["saved"] and not thread.is_alive()
