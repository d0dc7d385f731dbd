"""Rendering: plain lines when stdout is not a terminal, live bars when it is."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from rnnlab import Column, ReportResult
from rnnlab.events import EpochDone, Note, Progress, RunFinished, RunStarted
from rnnlab.ui import ConsoleUI, render_report

EVENTS = [
    RunStarted("r1", Path("runs/r1"), {}, ("accuracy", "zero_accuracy"),
               {"zero_accuracy": "always 0"}),
    Note("no adding-task data for L=10: generating it"),
    Progress("generating a.csv", 500, 1000),
    Progress("generating a.csv", 1000, 1000),
    *[Progress("epoch", b, 3, f"loss {0.1 * b:.4g}") for b in (1, 2, 3)],
    EpochDone(1, 2, {"epoch": 1, "updates": 3, "train_loss": 0.0412, "dev_accuracy": 41.25,
                     "dev_mse": 0.03, "dev_zero_accuracy": 36.0, "time_s": 0.5}),
    RunFinished("r1", Path("runs/r1"), {"status": "completed"}),
]


def test_non_terminal_output_is_plain_lines():
    buffer = io.StringIO()
    ui = ConsoleUI(Console(file=buffer, force_terminal=False, width=200))
    for event in EVENTS:
        ui(event)
    assert buffer.getvalue().splitlines() == [
        "run r1  (runs/r1)",
        "no adding-task data for L=10: generating it",
        "generating a.csv: 1000/1000",
        "epoch 1/2  loss 0.0412  dev accuracy 41.2%  dev mse 0.03  time 0.5 s",
    ]
    assert "\r" not in buffer.getvalue() and "\x1b" not in buffer.getvalue()


def test_quiet_prints_nothing():
    buffer = io.StringIO()
    ui = ConsoleUI(Console(file=buffer, force_terminal=False), quiet=True)
    for event in EVENTS:
        ui(event)
    assert buffer.getvalue() == ""


def test_terminal_output_draws_progress_bars():
    buffer = io.StringIO()
    ui = ConsoleUI(Console(file=buffer, force_terminal=True, width=120))
    for event in EVENTS:
        ui(event)
    text = buffer.getvalue()
    assert "\x1b[" in text and "━" in text  # ANSI control codes and a bar
    assert "epoch 1/2  loss 0.0412" in text


def test_report_formats():
    result = ReportResult(
        title="T", columns=[Column("model", "model"), Column("acc", "acc")],
        rows=[{"model": "lstm", "acc": 99.25}, {"model": "gru", "acc": None}], notes=["n"])
    assert render_report(result, "markdown") == (
        "**T**\n\n| model | acc |\n|---|---|\n| lstm | 99.25 |\n| gru | - |\n\nn")
    assert render_report(result, "csv") == "model,acc\nlstm,99.25\ngru,"
    assert '"acc": 99.25' in render_report(result, "json")
