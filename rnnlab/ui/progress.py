"""Training and data-generation progress: rich bars on a terminal; otherwise (CI, nohup,
SLURM logs) plain lines, one per finished task or epoch, never redrawn."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
)

from rnnlab.events import EpochDone, Event, Note, RunFinished, RunStarted
from rnnlab.events import Progress as ProgressEvent
from rnnlab.ui.text import fmt_metric, label, plain_key, printable


class ConsoleUI:
    """An event sink that renders training and generation progress on a console. Use it as
    a context manager: on leaving, however that happens, the bars are drawn one last time
    and the terminal is handed back (cursor shown, output below the bars)."""

    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        self.console = console or Console()
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        self.percentages: tuple[str, ...] = ()  # of the current run's dataset
        self.baselines: dict[str, str] = {}
        self.unit = "epoch"  # what a training stage is: an epoch, or part of an update budget
        self.clock: tuple[float, float] | None = None  # (time, run fraction) at the first batch

    def __enter__(self) -> ConsoleUI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, event: Event) -> None:
        if isinstance(event, ProgressEvent):
            self._progress(event)
        elif isinstance(event, Note):
            if not self.quiet or event.text.startswith("warning: "):  # warnings always show
                self._print(event.text)
        elif isinstance(event, RunStarted):
            self.percentages, self.baselines = event.percentages, event.baselines
            self.unit = "part" if event.config.get("updates") else "epoch"
            self.clock = None
            if not self.quiet:
                self._print(f"run {event.run_id}  ({event.run_dir})")
        elif isinstance(event, EpochDone):
            self._drop_task("epoch")
            if not self.quiet:
                self._print(self.epoch_line(event))
        elif isinstance(event, RunFinished):
            self.close()

    def epoch_line(self, event: EpochDone) -> str:
        if event.updates_total is not None:
            width = len(str(event.updates_total))
            parts = [f"updates {event.metrics.get('updates', 0):>{width}}/{event.updates_total}"]
        else:
            width = len(str(event.epochs))
            parts = [f"epoch {event.epoch:>{width}}/{event.epochs}"]
        for key, value in event.metrics.items():
            if key in ("epoch", "updates") or plain_key(key) in self.baselines:
                continue
            parts.append(f"{label(key)} {fmt_metric(key, value, self.percentages)}")
        return "  ".join(parts)

    def _print(self, text: str) -> None:
        console = self.progress.console if self.progress else self.console
        console.print(printable(text), highlight=False, markup=False, soft_wrap=not self.live)

    def _progress(self, event: ProgressEvent) -> None:
        if self.quiet:
            return
        finished = event.done >= event.total
        if not self.live:
            if finished and event.task != "epoch":
                self._print(f"{event.task}: {event.done}/{event.total} {event.info}".rstrip())
            return
        if self.progress is None:
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"), console=self.console, transient=False,
            )
            self.progress.start()
        description, info = event.task, event.info
        if event.epochs:  # a batch of training: which epoch, and how long the whole run takes
            description = f"{self.unit} {event.epoch}/{event.epochs}"
            info = f"{info}  {self.run_time(event)}".strip()
        if event.task not in self.tasks:
            self.tasks[event.task] = self.progress.add_task(description, total=event.total,
                                                            info="")
        self.progress.update(self.tasks[event.task], completed=event.done, total=event.total,
                             info=info, description=description)
        if finished and event.task != "epoch":
            self.tasks.pop(event.task)

    def run_time(self, event: ProgressEvent) -> str:
        """'run 0:42, ~3:10 left': time since this process's first batch, and the rest of the
        run estimated from the share of it done since then."""
        done = (event.epoch - 1 + event.done / max(event.total, 1)) / event.epochs
        now = time.monotonic()
        if self.clock is None:
            self.clock = (now, done)
        start, first = self.clock
        elapsed = now - start
        text = f"run {_clock(elapsed)}"
        if done > first and elapsed >= 1:
            text += f", ~{_clock(elapsed * (1 - done) / (done - first))} left"
        return text

    def _drop_task(self, name: str) -> None:
        if self.progress is not None and name in self.tasks:
            self.progress.remove_task(self.tasks.pop(name))

    def close(self) -> None:
        if self.progress is not None:
            self._drop_task("epoch")
            self.progress.stop()
            self.progress = None
            self.tasks.clear()


def _clock(seconds: float) -> str:
    """0:42, 12:05, 1:02:03."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return (f"{hours}:" if hours else "") + f"{rest // 60:0{2 if hours else 1}d}:{rest % 60:02d}"
