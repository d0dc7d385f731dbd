"""Rendering: plain lines when stdout is not a terminal, live bars when it is; a sweep's
structured cell updates as words, a live table or JSON lines."""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from rnnlab import Column, ReportResult
from rnnlab.events import CellUpdate, EpochDone, Note, Progress, RunFinished, RunStarted
from rnnlab.ui import ConsoleUI, SweepJson, SweepView, render_report

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


UPDATES = [
    CellUpdate(0, "lstm L=10 seed 0", "queued"),
    CellUpdate(1, "lstm L=10 seed 1", "queued"),
    CellUpdate(0, "lstm L=10 seed 0", "running", run_id="r1", metric="accuracy",
               percentages=("accuracy",)),
    CellUpdate(0, "lstm L=10 seed 0", "running", run_id="r1", epoch=1, epochs=2,
               metric="accuracy", dev=51.25, percentages=("accuracy",)),
    CellUpdate(0, "lstm L=10 seed 0", "done", run_id="r1", metric="accuracy", test=99.44,
               percentages=("accuracy",)),
    CellUpdate(1, "lstm L=10 seed 1", "failed", "RuntimeError: out of [red]cheese\x1b"),
]


def test_sweep_plain_lines_show_each_state_change_in_words():
    buffer = io.StringIO()
    view = SweepView(Console(file=buffer, force_terminal=False, width=200), 2, "sweep s")
    for update in UPDATES:
        view(update)
    view.close()
    view.finish("s", 2, 1, [("lstm L=10 seed 1", "RuntimeError: out of cheese")], 12.4)
    assert buffer.getvalue().splitlines() == [
        "[1/2] lstm L=10 seed 0: running  run r1",
        "[1/2] lstm L=10 seed 0: done  test accuracy 99.4%",
        "[2/2] lstm L=10 seed 1: failed  RuntimeError: out of [red]cheese\\x1b",
        "sweep s: 1/2 runs completed, 1 failed, 12 s",
        "  failed: lstm L=10 seed 1: RuntimeError: out of cheese",
    ]


def test_sweep_live_table_shows_progress_in_words():
    buffer = io.StringIO()
    view = SweepView(Console(file=buffer, force_terminal=True, width=120), 2, "sweep s")
    for update in UPDATES[:4]:
        view(update)
    view.close()
    assert "epoch 1/2, dev accuracy 51.2%" in buffer.getvalue()


def test_sweep_json_lines_are_the_updates_fields_then_the_totals():
    buffer = io.StringIO()
    view = SweepJson(Console(file=buffer, force_terminal=True))
    for update in [*UPDATES, Note("not a cell update")]:
        view(update)
    view.close()
    view.finish("s", 2, 1, [("lstm L=10 seed 1", "boom")], 12.4)
    *cells, totals = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert cells == [{"event": "cell", **asdict(u), "percentages": list(u.percentages)}
                     for u in UPDATES]
    assert totals == {"event": "sweep", "id": "s", "runs": 2, "completed": 1, "failed": 1,
                      "wall_time_s": 12.4,
                      "failures": [{"cell": "lstm L=10 seed 1", "reason": "boom"}]}
    assert "\x1b" not in buffer.getvalue()
