"""Shared fixtures: a scratch working directory, small adding-task data, a CLI driver and
fake installed distributions (real dist-info entry points on sys.path)."""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rnnlab import numerics

# As the command line does before NumPy loads OpenBLAS: one thread, one kernel, so that runs
# in this process give the numbers a `python -m rnnlab` process gives.
os.environ.update(numerics.pinned())

import rnnlab  # noqa: E402
from rnnlab import registry as plugin_registry  # noqa: E402
from rnnlab.cli import main, state  # noqa: E402

SIZES = {"train": 200, "dev": 100, "test": 100}


@pytest.fixture(autouse=True)
def fresh_registry():
    """Every test discovers plugins anew and starts without --debug."""
    plugin_registry.reset()
    debug = state["debug"]
    state["debug"] = False
    yield
    plugin_registry.reset()
    state["debug"] = debug


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty current directory, so runs/ and datasets/ land in tmp."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RNNLAB_PLUGINS", raising=False)
    monkeypatch.delenv("RNNLAB_DEBUG", raising=False)
    return tmp_path


@pytest.fixture
def small_data(workdir):
    """Adding-task files for L=10 with 200/100/100 sequences in ./datasets/adding."""
    return rnnlab.gen_data("adding", lengths=[10], out="datasets", sizes=SIZES)


class Result:
    def __init__(self, exit_code: int, stdout: str, stderr: str, exception: BaseException | None):
        self.exit_code, self.stdout, self.stderr, self.exception = (
            exit_code, stdout, stderr, exception)


def invoke(*args: str) -> Result:
    """Run the CLI in-process, as the console script does: invoke("train", "lstm", ...) ->
    Result(exit_code, stdout, stderr, exception). Like the console script, which sets
    OMP_NUM_THREADS before torch loads, torch computes on one thread unless OMP_NUM_THREADS
    says otherwise (in this process torch may have loaded earlier, with its own default), so
    that numbers from here and from a `python -m rnnlab` process compare exactly."""
    plugin_registry.reset()
    out, err = io.StringIO(), io.StringIO()
    code, exception = 0, None
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or 1))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except Exception as exc:  # only with --debug: the error is re-raised
                code, exception = 1, exc
    finally:
        if torch is not None and threads is not None:
            torch.set_num_threads(threads)
    return Result(code, out.getvalue(), err.getvalue(), exception)


@pytest.fixture(scope="session")
def cli():
    """The CLI in-process (see `invoke`); session-wide, so module fixtures may use it too."""
    return invoke


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """Install a distribution for this test only: fake_dist(name, entry_points, modules)."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def make(name: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str],
             version: str = "1.0") -> Path:
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = []
        for group, entries in entry_points.items():
            lines.append(f"[{group}]")
            lines += [f"{k} = {v}" for k, v in entries.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for module, source in modules.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
        for module in modules:
            sys.modules.pop(module, None)
        plugin_registry.reset()
        return site

    yield make
    for path in site.glob("*.py"):
        sys.modules.pop(path.stem, None)


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_JUNK = ("build", "dist", "*.egg-info", "__pycache__")  # leftovers of older installs


@pytest.fixture(scope="session")
def examples_site(tmp_path_factory) -> Path:
    """Every package under examples/ pip-installed once per session into a scratch folder
    (never into the venv). Clean copies are installed, so a stale build/ or *.egg-info inside
    examples/ can neither be picked up nor be added to."""
    import importlib.util
    import shutil
    import subprocess

    root = tmp_path_factory.mktemp("examples")
    sources = []
    for project in sorted(EXAMPLES.glob("*/pyproject.toml")):
        copy = root / "src" / project.parent.name
        shutil.copytree(project.parent, copy, ignore=shutil.ignore_patterns(*EXAMPLE_JUNK))
        sources.append(str(copy))
    site = root / "site"
    # offline with the venv's setuptools; a venv without it (Python >= 3.12 makes none) lets
    # pip fetch setuptools into an isolated build environment instead
    offline = ["--no-build-isolation", "--no-index"] if importlib.util.find_spec(
        "setuptools") else []
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", *offline,
         "--disable-pip-version-check", "--quiet", "--target", str(site), *sources],
        capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"pip could not install examples/:\n{done.stdout}{done.stderr}")
    return site


@pytest.fixture
def examples_installed(examples_site, monkeypatch, request) -> Path:
    """The example plugins (rnnlab-gru, rnnlab-parity, rnnlab-bestrun) for this test: their
    install folder first on sys.path and on PYTHONPATH (for CLI subprocesses), registry reset."""
    import os

    monkeypatch.syspath_prepend(str(examples_site))  # also invalidates the import caches
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(examples_site), os.environ.get("PYTHONPATH", "")) if p))
    modules = [path.stem for path in examples_site.glob("*.py")]

    def forget() -> None:  # the next test imports them anew, from wherever it finds them
        for module in modules:
            sys.modules.pop(module, None)
        plugin_registry.reset()

    forget()
    request.addfinalizer(forget)
    return examples_site


# -- a command-line process on a leash ------------------------------------------------------------

def _ignore_hangup() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


class Leashed:
    """`python -m rnnlab ARGS` that can print at most one line more than the test has read.

    Its stdout is a pipe in packet mode (O_DIRECT) with room for one packet, and each print
    is one write (rich flushes every print), so one packet: with one printed line unread,
    its next print waits until the test reads on. When stdout is not a terminal, `train`
    prints a line after each epoch, once the epoch's checkpoint is saved. So after the test
    has read the line of epoch k and while it reads no further, the run gets no further
    than printing the line of epoch k + 2 (that of k + 1 fills the pipe): it is still
    running, and holding its run, however fast it trains and however slowly the test gets
    to act. No sleeping, no timing. Linux only (packet-mode pipes, F_SETPIPE_SZ)."""

    def __init__(self, args: list[str], cwd: Path, hangup_ignored: bool = False) -> None:
        import fcntl

        self.read_end, write_end = os.pipe2(os.O_DIRECT | os.O_CLOEXEC)
        fcntl.fcntl(self.read_end, fcntl.F_SETPIPE_SZ, 1)  # rounded up to a page: 1 packet
        self.lines: list[str] = []  # what it printed, as far as read
        self._partial = ""
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
        try:  # plain lines, even where FORCE_COLOR would make rich draw live progress
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rnnlab", *args], stdout=write_end,
                stderr=subprocess.PIPE, text=True, cwd=cwd,
                env={**os.environ, "TTY_COMPATIBLE": "0"},
                preexec_fn=_ignore_hangup if hangup_ignored else None)  # as nohup does
        finally:
            os.close(write_end)
        self.pid = self.process.pid

    def _read(self, timeout: float | None) -> bool:
        """Read one packet (waiting `timeout` s at most); False at the end of its output."""
        import select

        if not select.select([self.read_end], [], [], timeout)[0]:
            return True
        data = os.read(self.read_end, 1 << 16)  # a packet is a page at most
        *complete, self._partial = (self._partial + self._decode(data, not data)).split("\n")
        self.lines += complete
        return bool(data)

    def wait_for_line(self, prefix: str, timeout: float = 120) -> None:
        """Read its output up to a line that starts with `prefix`, and read no further."""
        deadline = time.monotonic() + timeout
        seen = len(self.lines)
        while not any(line.startswith(prefix) for line in self.lines[seen:]):
            left = deadline - time.monotonic()
            assert left > 0, f"no line {prefix!r} in time; it printed:\n" + "\n".join(self.lines)
            if not self._read(min(left, 1.0)):
                self.process.wait()
                raise AssertionError(f"it ended before printing {prefix!r}:\n"
                                     + "\n".join(self.lines) + self.process.stderr.read())

    def finish(self, timeout: float = 120) -> tuple[str, str]:
        """Let it run to its end: (stdout, stderr), all of both."""
        deadline = time.monotonic() + timeout
        while self._read(max(deadline - time.monotonic(), 0.01)):
            assert time.monotonic() < deadline, "it did not end in time"
        _, stderr = self.process.communicate(timeout=max(deadline - time.monotonic(), 1))
        return "".join(line + "\n" for line in self.lines) + self._partial, stderr

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stderr.close()
        if self.read_end >= 0:
            os.close(self.read_end)
            self.read_end = -1


@pytest.fixture
def leash():
    """leash(args, cwd) -> Leashed (`python -m rnnlab ARGS` in `cwd`); whatever is still
    running after the test is killed."""
    if not hasattr(os, "O_DIRECT") or not sys.platform.startswith("linux"):
        pytest.skip("needs Linux's packet-mode pipes")
    started: list[Leashed] = []

    def start(args: list[str], cwd: Path, hangup_ignored: bool = False) -> Leashed:
        started.append(Leashed(args, cwd, hangup_ignored))
        return started[-1]

    yield start
    for process in started:
        process.close()


@pytest.fixture(scope="session")
def interrupted_sweep():
    """interrupted_sweep(args, epoch, send, **popen) -> (exit code, stderr): `python -m rnnlab
    ARGS --json`; once a cell reports running at `epoch` or later, `send(process)` (a
    signal); a sweep that hangs is killed after 180 s, failing the test, not the suite."""

    def run(args: list[str], epoch: int, send: Callable[[subprocess.Popen], None],
            **popen: Any) -> tuple[int, str]:
        process = subprocess.Popen([sys.executable, "-m", "rnnlab", *args, "--json"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   **popen)
        watchdog = threading.Timer(180, process.kill)
        watchdog.start()
        try:
            for line in process.stdout:  # its progress, one JSON object per cell update
                update = json.loads(line)
                if update.get("state") == "running" and (update.get("epoch") or 0) >= epoch:
                    break  # a run is well into training: interrupt it there
            assert process.poll() is None, process.communicate()[1]
            send(process)
            _, stderr = process.communicate(timeout=120)
        finally:
            watchdog.cancel()
        return process.returncode, stderr

    return run
