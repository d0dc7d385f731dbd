"""Results you can trust: the run store stays true under concurrency (real processes), moves,
kill -9, write failures and damaged files."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rnnlab
from rnnlab.runs import RunStore

TIMINGS = {"time_s", "train_time_s", "wall_time_s", "started_at", "resumed_at"}
CLI = [sys.executable, "-m", "rnnlab"]


def rnnlab_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=cwd)


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out waiting"
        time.sleep(0.02)


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


# -- 1. one writer per run ----------------------------------------------------------------------

# simple-rnn on 100 sequences of L=10 (5 batches an epoch), hidden 4: an epoch takes
# milliseconds. Runs that a test stops are leashed (conftest.Leashed): they can get no more
# than two epochs past the epoch line the test reads last, so a few epochs are plenty.
SMALL = ["simple-rnn", "--L", "10", "--hidden", "4", "--early-stop", "off"]
SMALL_DATA = {"train": 100, "dev": 20, "test": 20}


def test_resume_of_a_run_another_process_writes_is_refused_then_taken_over_after_kill(
        workdir, cli, leash):
    rnnlab.gen_data("adding", lengths=[10], sizes=SMALL_DATA)
    args = ["train", *SMALL, "--epochs", "4"]
    trainer = leash(args, workdir)
    trainer.wait_for_line("epoch 1/")  # it holds the run, and gets no further than epoch 3
    run = RunStore(workdir / "runs").list()[0]
    refused = cli("train", "--resume", run.id)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        f"error: run {run.id} is being written by process {trainer.pid} (rnnlab train "
        "simple-rnn --L 10 --hidden 4 --early-stop off --epochs 4); it can be resumed once "
        "that process has ended")
    listed = cli("runs", "--json")
    assert json.loads(listed.stdout)[0]["status"] == "running"
    trainer.process.kill()  # kill -9: no chance to record anything
    trainer.process.wait()
    assert run.summary["status"] == "running"  # what the file says; the lock says otherwise
    listed = cli("runs", "--json")
    assert json.loads(listed.stdout)[0]["status"] == "abandoned"
    resumed = cli("train", "--resume", run.id, "--epochs", "2")
    assert resumed.exit_code == 2
    assert "drop --epochs" in resumed.stderr
    resumed = cli("train", "--resume", run.id, "--quiet")
    assert resumed.exit_code == 0, resumed.stderr
    assert (f"warning: run {run.id} was left locked by process {trainer.pid} (rnnlab train "
            "simple-rnn") in resumed.stdout  # shown even with --quiet
    assert "which has ended; taking it over" in resumed.stdout
    run = RunStore(workdir / "runs").list()[0]  # as the resume left it
    assert [m["epoch"] for m in run.metrics] == [1, 2, 3, 4]  # each epoch once
    assert run.summary["status"] == "completed"
    # the wall time counts the killed session too (there: its training up to the epoch kept)
    assert run.summary["wall_time_s"] >= run.summary["train_time_s"] > 0


def test_two_sweeps_of_one_file_split_the_cells(small_data, workdir):
    Path("grid.yaml").write_text("name: split\nmodel: [simple-rnn, lstm]\nL: [10]\nseeds: 2\n"
                                 "epochs: 3\n")
    first = start("sweep", "grid.yaml", cwd=workdir)
    second = start("sweep", "grid.yaml", cwd=workdir)
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    runs = RunStore("runs").list()
    assert sorted((r.config["model"], r.config["seed"]) for r in runs) == [
        ("lstm", 0), ("lstm", 1), ("simple-rnn", 0), ("simple-rnn", 1)]  # each cell once
    assert all(r.summary["status"] == "completed" for r in runs)
    for stdout, _ in outputs:
        assert "sweep split: 4/4 runs completed, 0 failed" in stdout
        assert "n=2" in stdout and "n=4" not in stdout
    # each claims a cell only as it starts it, so both ran some (the first used to claim all)
    ran = [set(re.findall(r"\] (.+?): done ", stdout)) for stdout, _ in outputs]
    assert all(ran) and not ran[0] & ran[1] and len(ran[0] | ran[1]) == 4, ran


def test_a_report_counts_a_symlinked_or_copied_run_once_and_names_the_duplicate(small_data,
                                                                                  cli):
    runs = [rnnlab.train("simple-rnn", L=10, epochs=1, seed=seed) for seed in (0, 1)]
    os.symlink(runs[0].dir.resolve(), Path("runs") / "zz-link")
    shutil.copytree(runs[1].dir, Path("runs") / "zz-copy")
    result = cli("report", "accuracy", "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows"][0]["L10_n"] == 2
    assert (f"1 duplicate run of a configuration and seed already counted left out: "
            f"zz-copy (= {runs[1].id})") in report["notes"]
    named = cli("report", "accuracy", runs[0].id, runs[0].id, "runs/zz-link", "--format", "json")
    assert json.loads(named.stdout)["rows"][0]["L10_n"] == 1


# -- 2. resume and eval use exactly the data the run recorded ----------------------------------

def test_resume_and_eval_from_elsewhere_use_the_recorded_files_and_never_generate(
        workdir, tmp_path_factory, cli, leash, monkeypatch):
    rnnlab.gen_data("adding", lengths=[10], sizes=SMALL_DATA)
    args = ["train", *SMALL, "--epochs", "5"]
    trainer = leash(args, workdir)
    trainer.wait_for_line("epoch 2/")  # it can get no further than epoch 4 now
    trainer.process.send_signal(signal.SIGINT)
    trainer.finish()
    run = RunStore(workdir / "runs").list()[0]
    assert run.summary["status"] == "interrupted"
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    resumed = cli("train", "--resume", str(run.dir), "--quiet")
    assert resumed.exit_code == 0, resumed.stderr
    assert list(elsewhere.iterdir()) == []  # no datasets/ generated here
    monkeypatch.chdir(workdir)
    whole = cli(*args, "--quiet", "--runs-dir", "whole")
    assert whole.exit_code == 0, whole.stderr
    reference = RunStore(workdir / "whole").list()[0]
    run = RunStore(workdir / "runs").list()[0]  # as the resume left it
    assert [{k: v for k, v in m.items() if k not in TIMINGS} for m in run.metrics] == \
        [{k: v for k, v in m.items() if k not in TIMINGS} for m in reference.metrics]
    assert run.metrics[0]["updates"] == 5  # 100 sequences / 20, not the default 10,000

    # eval inside the run directory: the recorded files, nothing written but one metrics line
    before = {p.name for p in run.dir.iterdir()}
    monkeypatch.chdir(run.dir)
    evaluated = cli("eval", ".", "--json")
    monkeypatch.chdir(workdir)
    assert evaluated.exit_code == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["test"] == run.summary["test"]
    assert {p.name for p in run.dir.iterdir()} == before

    # moved data: refused with the path, accepted with --data-dir when the hashes match
    moved = workdir / "moved"
    (workdir / "datasets").rename(moved)
    data_file = workdir / "datasets" / "adding" / "adding_problem_T=010_train.csv"
    missing = cli("eval", run.id)
    assert missing.exit_code == 1
    assert missing.stderr.strip() == (
        f"error: {data_file}: missing; run {run.id} was trained on it; if the data moved, "
        "point --data-dir at the copy")
    assert not (workdir / "datasets").exists()  # and nothing was generated
    found = cli("eval", run.id, "--data-dir", "moved", "--json")
    assert found.exit_code == 0, found.stderr
    assert json.loads(found.stdout)["test"] == run.summary["test"]

    # changed data: refused, and the run is untouched
    changed = moved / "adding" / "adding_problem_T=010_test.csv"
    text = changed.read_text()
    changed.write_text(text.replace("0.1", "0.2", 1))
    assert changed.read_text() != text
    before = snapshot(run.dir)
    refused = cli("eval", run.id, "--data-dir", "moved")
    assert refused.exit_code == 1
    assert refused.stderr.strip().startswith(
        f"error: {changed.relative_to(workdir)}: differs from the test data run {run.id} was "
        "trained on (sha256 ")
    assert snapshot(run.dir) == before


# -- 3. resume refuses every option the configuration fixes ------------------------------------

@pytest.mark.parametrize("option", [
    ["--hidden", "7"], ["--optimizer", "adam"], ["--batch-size", "3"], ["--seed", "0"],
    ["--L", "10"], ["--epochs", "3"], ["--updates", "5"], ["--lr", "0.1"], ["--momentum", "0"],
    ["--clip-grad", "1"], ["--shuffle"], ["--no-shuffle"], ["--lr-schedule", "step"],
    ["--device", "cpu"], ["--early-stop", "off"], ["--data", "adding"], ["--set", "impl=bptt"],
    ["--config", "c.yaml"], ["--print-config"]])
def test_resume_refuses_options_that_would_change_the_run(workdir, cli, option):
    result = cli("train", "--resume", "anything", *option)
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: --resume continues a run as it was configured; "
                                     f"drop {option[0]}")


# -- 5. one damaged run never breaks the store ---------------------------------------------------

def test_an_interrupted_run_that_is_damaged_is_not_resumed_nor_rewritten(small_data, cli):
    run = rnnlab.train("simple-rnn", L=10, epochs=2, seed=0)
    run.write_summary({**run.summary, "status": "interrupted"})
    run.append_metrics({"epoch": 3, "updates": 1})  # past the checkpoint: a resume trims it
    (run.dir / "losses.npy").write_bytes(npy_header((2,), "|O") + bytes(16))
    before = {p.name: p.read_bytes() for p in run.dir.iterdir() if p.is_file()}
    resumed = cli("train", "--resume", run.id)
    assert (resumed.exit_code, resumed.stderr.split(": not a valid")[0]) == (
        1, f"error: run {run.id} is damaged: {run.dir / 'losses.npy'}")
    assert {p.name: p.read_bytes() for p in run.dir.iterdir() if p.is_file()} == before


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """A .npy file's header alone: what np.load reads before deciding how much to allocate."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header = header.ljust(118) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def zipped(members: dict[str, bytes]) -> bytes:
    """An .npz archive of the given members, as bytes."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DAMAGE = {
    "empty summary": ("summary.json", b"", "summary.json: not valid JSON (Expecting value)"),
    "garbage summary": ("summary.json", b"\x00\xff{", "summary.json: not UTF-8 text"),
    "summary list": ("summary.json", b"[1, 2]", "summary.json: expected a JSON object, got list"),
    "summary L text": ("summary.json", b'{"status": "completed", "L": "abc"}',
                       "summary.json: 'L' has the wrong type (str)"),
    "summary test text": ("summary.json", b'{"status": "completed", "test": {"accuracy": "x"}}',
                          "summary.json: test metric 'accuracy' is not a finite number"),
    "config scalar": ("config.yaml", b"42\n", "config.yaml: expected a mapping, got int"),
    "config bad value": ("config.yaml", b"model: lstm\nlr: fast\n",
                         "'lr' expects a number, got 'fast'"),
    "config unknown key": ("config.yaml", b"model: lstm\nbogus: 1\n",
                           "config.yaml: unknown key 'bogus'"),
    "config yaml error": ("config.yaml", b"model: [lstm\n", "config.yaml:2: invalid YAML"),
    "summary is a fifo": ("summary.json", None, "summary.json: not a regular file"),
    "summary huge int metric": ("summary.json", b'{"status": "completed", "test": {"accuracy": '
                                + b"9" * 400 + b"}}", "test metric 'accuracy' is not a finite"),
    "summary infinite metric": ("summary.json", b'{"status": "completed", "test": {"accuracy": '
                                b"1e999}}", "test metric 'accuracy' is not a finite number"),
    "summary impossible count": ("summary.json", b'{"status": "completed", "epochs": -5}',
                                 "summary.json: 'epochs' is not a number in [0, 1e+09]"),
    "metrics cut short": ("metrics.jsonl", b'{"epoch": 1, "train_lo', "metrics.jsonl:1: not "
                          "valid JSON"),
    "losses header forged": ("losses.npy", npy_header((10**11,), "<f4") + bytes(16),
                             "losses.npy: not a valid losses file (its header promises float32 "
                             "(100000000000,), the file holds 16 bytes of data)"),
    "losses of objects": ("losses.npy", npy_header((2,), "|O") + bytes(16),
                          "losses.npy: not a valid losses file"),
    "checkpoint empty": ("model.npz", b"", "model.npz: not a valid checkpoint"),
    "checkpoint of objects": ("model.npz", zipped({"w.npy": npy_header((2,), "|O") + bytes(16)}),
                              "model.npz: not a valid checkpoint (w.npy: holds Python objects)"),
    "checkpoint promising 400 GB": ("model.npz", zipped({"w.npy": npy_header((10**5, 10**6))}),
                                    "its arrays would take 745.1 GB of memory"),
    "provenance not json": ("provenance.json", b'{"torch": ', "provenance.json: not valid JSON"),
}


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_a_damaged_run_is_listed_as_damaged_and_left_out_of_reports(small_data, cli, name):
    good = rnnlab.train("simple-rnn", L=10, epochs=1, seed=0)
    bad = rnnlab.train("simple-rnn", L=10, epochs=1, seed=1)
    file, content, reason = DAMAGE[name]
    (bad.dir / file).unlink()
    if content is None:
        os.mkfifo(bad.dir / file)
    else:
        (bad.dir / file).write_bytes(content)

    listed = cli("runs", "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows[good.id]["status"] == "completed"
    assert rows[bad.id]["status"] == "damaged"
    assert str(bad.dir) in rows[bad.id]["reason"] and reason in rows[bad.id]["reason"]
    assert "Traceback" not in listed.stderr

    report = cli("report", "accuracy", "--format", "json")
    assert report.exit_code == 0, report.stderr
    assert json.loads(report.stdout)["rows"][0]["L10_n"] == 1
    warning = report.stderr.strip()
    assert warning.startswith(f"warning: left out damaged run {bad.dir}: ") and reason in warning
    assert "\n" not in warning

    named = cli("report", "accuracy", bad.id)
    assert named.exit_code == 1 and reason in named.stderr
    page = cli("report", "html", "--out", "page")  # the store's page, without it
    assert page.exit_code == 0 and reason in page.stderr, page.stderr
    before = {p.name: p.read_bytes() for p in bad.dir.iterdir() if p.is_file()}
    evaluated = cli("eval", bad.id)  # refused: nothing is added to a damaged run
    assert evaluated.exit_code == 1 and reason in evaluated.stderr, evaluated.stderr
    assert cli("train", "--resume", bad.id).exit_code != 0  # nor is anything rewritten
    assert {p.name: p.read_bytes() for p in bad.dir.iterdir() if p.is_file()} == before


def test_checkpoints_are_checked_against_the_model_before_anything_is_unpacked(small_data,
                                                                                  cli):
    import zipfile

    run = rnnlab.train("simple-rnn", L=10, epochs=1)
    path = run.dir / "model.npz"
    good = dict(np.load(path))
    damaged = f"run {run.id} is damaged: "  # found by the store's check, model or not
    cases = {  # member -> (header, expected message after "error: ")
        "rnn.weight_ih_l0": (npy_header((500, 2)), f"{path}: not a checkpoint of this model "
                             "(rnn.weight_ih_l0 has shape (500, 2), expected (50, 2))"),
        "../../evil": (npy_header((1,)), f"{path}: not a checkpoint of this model (unexpected "
                       "array '../../evil')"),
        "optimizer/bomb": (npy_header((100000, 100000)), f"{damaged}{path}: its arrays would "
                           "take 74.5 GB of memory (limit "),
        "rnn.weight_hh_l0": (npy_header((100000, 100000)), f"{damaged}{path}: its arrays would "
                             "take 74.5 GB of memory (limit "),
    }
    for member, (header, message) in cases.items():
        with zipfile.ZipFile(path, "w") as archive:
            for name, value in good.items():
                if name != member:
                    archive.writestr(f"{name}.npy", npy_header(value.shape, value.dtype.str)
                                     + value.tobytes())
            archive.writestr(f"{member}.npy", header + b"\0" * 64)
        started = time.perf_counter()
        result = cli("eval", run.id)
        assert time.perf_counter() - started < 10
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: {message}"), result.stderr

    # a few MB of deflated zeros that would expand to 800 MB (level 2: zlib's fast deflate,
    # a third of the time of the default level, still over 200 to 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=2) as archive:
        for name, value in good.items():
            archive.writestr(f"{name}.npy", npy_header(value.shape, value.dtype.str)
                             + value.tobytes())
        with archive.open("optimizer/zeros.npy", "w") as member:
            member.write(npy_header((200_000_000,), "<f4"))
            chunk = bytes(2**24)
            for _ in range(800_000_000 // len(chunk)):
                member.write(chunk)
    assert path.stat().st_size < 5e6
    result = cli("eval", run.id)
    assert result.exit_code == 1
    assert "model.npz: its arrays would take 763.0 MB of memory (limit " in result.stderr

    # the right names and shapes, but values the model cannot take: still one line
    good["rnn.weight_ih_l0"] = np.array(["x"] * 100).reshape(50, 2)
    np.savez(path, **good)
    result = cli("eval", run.id)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}: not a valid checkpoint of model "
                                    "'simple-rnn' (")
    assert "\n" not in result.stderr.strip()


# -- 6. workers never outlive their sweep --------------------------------------------------------

def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_kill_9_of_a_sweep_takes_its_workers_along_and_a_rerun_resumes(workdir):
    # a cell trains for over a second (30 epochs of 25 batches): its worker, which looks for
    # its sweep every ORPHAN_CHECK_S = 0.5 s, finds it gone with the cell still under way
    rnnlab.gen_data("adding", lengths=[10], sizes={"train": 500, "dev": 20, "test": 20})
    Path("grid.yaml").write_text("name: k9\nmodel: [simple-rnn]\nL: [10]\nseeds: 4\n"
                                 "epochs: 30\nhidden: 4\nearly_stop: off\n")
    sweep = start("sweep", "grid.yaml", "--jobs", "2", cwd=workdir)
    wait_for(lambda: any(len(p.read_text().splitlines()) >= 1
                         for p in (workdir / "runs").glob("*/metrics.jsonl")), timeout=120)
    workers = children(sweep.pid)
    assert workers
    sweep.kill()
    sweep.wait()
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=15)
    left = [r.summary for r in RunStore(workdir / "runs").list()]
    cut = [s for s in left if s["status"] == "interrupted"]  # saved for the rerun
    assert cut and all(s["reason"].startswith("interrupted because its sweep ended; ")
                       for s in cut), left  # no signal reached them: none is on record
    rerun = rnnlab_cli("sweep", "grid.yaml", "--jobs", "2", cwd=workdir, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "sweep k9: 4/4 runs completed, 0 failed" in rerun.stdout
    runs = RunStore(workdir / "runs").list()
    assert sorted(r.config["seed"] for r in runs) == [0, 1, 2, 3]  # resumed, not run twice
    for run in runs:
        assert [m["epoch"] for m in run.metrics] == list(range(1, 31))


# -- 7. write failures: the first one is reported, the status tells the truth -------------------

def test_when_the_store_runs_out_of_inodes_the_checkpoint_error_is_reported(small_data, cli,
                                                                          monkeypatch):
    import tempfile

    from rnnlab import files

    real = tempfile.mkstemp
    failing = {"on": False}

    def mkstemp(*args, **kwargs):
        if failing["on"] or kwargs.get("prefix", "").startswith(".model.npz") and \
                len(list(Path("runs").glob("*/metrics.jsonl"))) == 1:
            failing["on"] = True  # from the first epoch's checkpoint on, no file can be made
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(files.tempfile, "mkstemp", mkstemp)
    result = cli("train", "simple-rnn", "--L", "10", "--epochs", "3", "--quiet")
    monkeypatch.setattr(files.tempfile, "mkstemp", real)
    assert result.exit_code == 1
    run = RunStore("runs").list()[0]
    assert result.stderr.strip() == (
        f"error: {run.dir / 'model.npz'}: could not be written (No space left on device); "
        f"its status 'failed' could not be recorded either ({run.dir / 'summary.json'}: could "
        "not be written (No space left on device))")
    assert run.summary["status"] == "running"
    listed = cli("runs", "--json")
    assert json.loads(listed.stdout)[0]["status"] == "abandoned"  # not a live run


def test_a_run_whose_creation_fails_leaves_no_directory(small_data, cli, monkeypatch):
    from rnnlab import runs

    def full(self, config):
        raise rnnlab.RnnlabError(f"{self.dir / 'config.yaml'}: could not be written (Disk "
                                 "quota exceeded)")

    monkeypatch.setattr(runs.Run, "write_config", full)
    result = cli("train", "simple-rnn", "--L", "10", "--epochs", "1", "--quiet")
    assert result.exit_code == 1 and "Disk quota exceeded" in result.stderr
    assert [p.name for p in Path("runs").iterdir()] == []


# -- 11/12. no NaN in JSON, no raw control characters on the terminal ---------------------------

def test_non_finite_numbers_are_written_as_null(tmp_path):
    run = RunStore(tmp_path).create("x")
    run.write_summary({"status": "failed", "test": {"mse": float("nan"), "x": float("inf")}})
    run.append_metrics({"epoch": 1, "train_loss": float("-inf")})

    def strict(name):
        raise ValueError(name)

    assert json.loads((run.dir / "summary.json").read_text(), parse_constant=strict)["test"] \
        == {"mse": None, "x": None}
    assert json.loads((run.dir / "metrics.jsonl").read_text(), parse_constant=strict) == \
        {"epoch": 1, "train_loss": None}


def test_control_characters_from_files_and_run_names_are_escaped(workdir, cli):
    folder = workdir / "d" / "adding"
    folder.mkdir(parents=True)
    good = "0.1,0.2,0.3,0.4\n1,0,1,0\n0.4,,,"
    (folder / "adding_problem_T=004_train.csv").write_text(
        "0.1,\x1b]0;pwned\x07\x1b[31m,0.3,0.4\n1,0,1,0\n0.4,,,")
    for split in ("dev", "test"):
        (folder / f"adding_problem_T=004_{split}.csv").write_text(good)
    result = cli("train", "lstm", "--L", "4", "--data-dir", "d", "--epochs", "1")
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "'\\x1b]0;pwned\\x07\\x1b[31m' is not a number" in result.stderr

    (workdir / "runs" / "evil\x1b[2J").mkdir(parents=True)
    (workdir / "runs" / "evil\x1b[2J" / "summary.json").write_text("{}")
    listed = cli("runs")
    assert listed.exit_code == 0
    assert "\x1b" not in listed.stdout and "evil\\x1b[2J" in listed.stdout


@pytest.mark.parametrize("plant", ["symlink", "fifo"])
def test_a_planted_lock_file_is_neither_followed_nor_blocking(small_data, cli, plant):
    run = rnnlab.train("simple-rnn", L=10, epochs=1)
    precious = Path("precious.txt")
    precious.write_text("keep me")
    (run.dir / ".lock").unlink()
    if plant == "symlink":
        os.symlink(precious.resolve(), run.dir / ".lock")
    else:
        os.mkfifo(run.dir / ".lock")
    listed = cli("runs", "--json")  # a FIFO opened for reading would block here
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["status"] == "completed"
    evaluated = cli("eval", run.id)
    assert evaluated.exit_code == 1
    assert evaluated.stderr.startswith(f"error: {run.dir / '.lock'}: ")
    assert precious.read_text() == "keep me"


def test_a_run_without_a_record_of_its_data_is_not_measured_on_whatever_is_there(small_data,
                                                                                  cli):
    run = rnnlab.train("simple-rnn", L=10, epochs=1)
    provenance = json.loads((run.dir / "provenance.json").read_text())
    for record in ({**provenance, "data_files": {}}, {}):
        (run.dir / "provenance.json").write_text(json.dumps(record))
        before = snapshot(run.dir)
        result = cli("eval", run.id)
        assert result.exit_code == 1
        assert result.stderr.strip() == (
            f"error: {run.dir / 'provenance.json'}: records no data files, so nothing shows "
            f"that {Path('datasets/adding/adding_problem_T=010_train.csv').resolve()} is the "
            f"data run {run.id} was trained on; refusing to use it")
        assert snapshot(run.dir) == before


def test_recipes_with_equal_options_keep_their_own_seeds_and_null_metrics_are_left_out(
        small_data, cli):
    Path("rec.yaml").write_text("name: rec\nmodel: [simple-rnn]\nL: [10]\nseeds: 2\n"
                                "epochs: 1\nrecipes:\n  a: {}\n  b: {lr: 0.01}\n")
    assert cli("sweep", "rec.yaml").exit_code == 0
    report = json.loads(cli("report", "accuracy", "--format", "json").stdout)
    assert {r["model"]: r["L10_n"] for r in report["rows"][:-1]} == {
        "simple-rnn (a)": 2, "simple-rnn (b)": 2}
    run = RunStore("runs").list()[0]
    summary = json.loads((run.dir / "summary.json").read_text())
    summary["test"]["accuracy"] = None  # what a NaN accuracy is written as
    (run.dir / "summary.json").write_text(json.dumps(summary))
    result = cli("report", "accuracy", "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(r["L10_n"] for r in report["rows"][:-1]) == [1, 2]
    assert "1 run not completed or without a test accuracy left out" in report["notes"]


def test_a_run_killed_while_being_created_is_not_there_at_all(tmp_path):
    store = RunStore(tmp_path)
    run, staging = store.create_staged("lstm")
    staging.write_config({"model": "lstm"})
    staging.write_summary({"status": "running"})  # ... and the process dies before publishing
    assert store.scan() == ([], [])
    store.publish(staging, run)
    assert [r.id for r in store.scan()[0]] == [run.id] and not staging.dir.exists()


def test_device_cuda_without_a_gpu_generates_no_data(workdir, cli):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = cli("train", "lstm", "--L", "13", "--epochs", "1", "--device", "cuda")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: --device cuda: no CUDA device is available (use "
                                     "--device cpu)")
    assert list(workdir.iterdir()) == []


def test_sweep_names_and_run_ids_with_control_characters_are_escaped(small_data, cli):
    result = cli("sweep", "--model", "simple-rnn", "--L", "10", "--seeds", "1", "--epochs", "1",
                 "--name", "a\x1b[31m")
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "sweep a\\x1b[31m: 1/1 runs completed" in result.stdout
    run = RunStore("runs").list()[0]
    run.dir.rename(run.dir.parent / "x\nname")
    listed = cli("runs")
    assert "x\\nname" in listed.stdout


def test_resuming_a_completed_run_is_refused_without_touching_it(small_data, cli):
    run = rnnlab.train("simple-rnn", L=10, epochs=1)
    (run.dir / ".lock").unlink()  # e.g. a run copied without its dot files
    before = snapshot(run.dir)
    result = cli("train", "--resume", run.id)
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: run {run.id} is already completed; nothing to "
                                      "resume")
    assert snapshot(run.dir) == before
