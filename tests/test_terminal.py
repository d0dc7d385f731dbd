"""What a person sees on a terminal 80 columns wide: commands run in a pseudo-terminal, their
output replayed by a small screen model (cursor moves, line erases, colours dropped)."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

import rnnlab

COLUMNS = 80
TOKEN = re.compile(r"\x1b\[(\??)([0-9;]*)([A-Za-z])|\r|\n|[^\x1b\r\n]")


class Screen:
    """The final screen a stream of terminal output leaves, and whether the cursor shows."""

    def __init__(self, stream: str) -> None:
        self.lines: list[str] = [""]
        self.row = self.col = 0
        self.cursor_shown = True
        for match in TOKEN.finditer(stream):
            text = match.group(0)
            if text == "\r":
                self.col = 0
            elif text == "\n":
                self.row, self.col = self.row + 1, 0
                while len(self.lines) <= self.row:
                    self.lines.append("")
            elif match.group(3):
                private, number, command = match.groups()
                if private and number == "25":
                    self.cursor_shown = command == "h"
                elif command == "A":
                    self.row = max(0, self.row - int(number or 1))
                elif command == "K":
                    self.lines[self.row] = ""
            else:
                line = self.lines[self.row].ljust(self.col)
                self.lines[self.row] = line[: self.col] + text + line[self.col + 1 :]
                self.col += 1

    def text(self) -> list[str]:
        return [line.rstrip() for line in self.lines]


def on_terminal(args: list[str], cwd: Path, timeout: float = 120) -> tuple[int, str]:
    """`python -m rnnlab ARGS` with a pseudo-terminal 80 columns wide as its stdout/stderr."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "NO_COLOR", "CI", "TERM")}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen([sys.executable, "-m", "rnnlab", *args], stdin=slave,
                               stdout=slave, stderr=slave, cwd=cwd, env=env, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 1 << 16)
                except OSError:  # the child closed its end
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            elif process.poll() is not None:
                break
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return process.wait(), b"".join(chunks).decode("utf-8", errors="replace")


@pytest.fixture
def data(workdir):
    rnnlab.gen_data("adding", lengths=[10], out="datasets",
                    sizes={"train": 200, "dev": 100, "test": 100})
    return workdir


def test_gen_data_leaves_the_terminal_as_it_found_it(workdir):
    code, stream = on_terminal(["gen-data", "--L", "7", "--n-train", "3000"], workdir)
    screen = Screen(stream)
    assert code == 0 and screen.cursor_shown
    lines = [line for line in screen.text() if line]
    bars, paths = lines[:3], lines[3:]
    for bar, name, n in zip(bars, ("train", "dev", "test"), (3000, 1000, 1000), strict=True):
        assert bar.startswith(f"generating adding_problem_T=007_{name}.csv")
        assert f"{n}/{n}" in bar  # the last frame drawn is the finished one
    assert paths == [f"datasets/adding/adding_problem_T=007_{split}.csv"
                     for split in ("train", "dev", "test")]


def test_training_shows_the_epoch_and_the_time_and_keeps_the_run_id_whole(data):
    code, stream = on_terminal(["train", "alarmwork", "--recipe", "homework", "--L", "10",
                                "--epochs", "2", "--batch-size", "2"], data)
    assert code == 0, stream
    frames = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", f) for f in stream.split("\r")]
    second = [f for f in frames if f.strip().startswith("epoch 2/2 ") and "/100" in f]
    assert second and all(re.search(r"run \d+:\d\d", f) for f in second if "loss" in f)
    screen = [line.strip() for line in Screen(stream).text()]
    run_id = rnnlab.list_runs()[0].id
    assert f"run {run_id}" in screen  # the summary's title, on one line
    assert all(len(line) <= COLUMNS for line in screen)


def test_listings_fit_80_columns_without_cutting_names(data, cli):
    parent = rnnlab.train("alarmwork", L=10, epochs=1, recipe="homework")
    child = rnnlab.train("alarmwork", L=10, epochs=1, recipe="homework", init_from=parent.id)
    rnnlab.train("autoenc-lite", updates=5)
    code, stream = on_terminal(["runs"], data)
    runs = Screen(stream).text()
    assert code == 0 and max(map(len, runs)) <= COLUMNS
    for run in rnnlab.list_runs():
        (line,) = [x for x in runs if x.startswith(run.id)]
        assert "…" not in line and "completed" in line
    assert f" from {parent.id}" in runs[runs.index(next(x for x in runs
                                                        if x.startswith(child.id))) + 1]
    code, stream = on_terminal(["plugins"], data)
    plugins = Screen(stream).text()
    assert code == 0 and max(map(len, plugins)) <= COLUMNS and len(plugins) <= 45
    for name in ("alarmwork", "autoenc-lite", "lstm", "simple-rnn", "mlp-lite", "adding", "images",
                 "accuracy", "curves", "local"):
        assert any(line.startswith(f"{name} ") for line in plugins), name
    assert "…" not in "".join(plugins)
    code, stream = on_terminal(["report", "accuracy"], data)
    report = [line.strip() for line in Screen(stream).text()]
    assert "Test results by model and sequence length L" in report  # the title unbroken
    code, stream = on_terminal(["--help"], data)
    commands = Screen(stream).text()
    listed = commands[commands.index("Commands:") + 1 :]
    assert len([c for c in listed if c.strip()]) == 9
    assert all(c.endswith(".") and not c.endswith("...") for c in listed if c.strip())
