"""The adding task (Hochreiter & Schmidhuber 1997; Pascanu et al. 2013) in the course CSV format.

Entry module: light on purpose; NumPy work happens in `generate` and `course_csv`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnlab import (
    Data,
    DataError,
    DataRequest,
    DatasetPlugin,
    DataSpec,
    EventSink,
    GenerateRequest,
    Note,
    Setting,
    Split,
    UsageError,
)

SPLITS = ("train", "dev", "test")
SUCCESS = 0.1  # a prediction counts as correct when |y - t| < 0.1


def file_name(L: int, split: str) -> str:
    """The course generator's file name, e.g. adding_problem_T=100_train.csv."""
    return f"adding_problem_T={L:03d}_{split}.csv"


class Adding(DatasetPlugin):
    summary = "Adding task: sum the two marked values of a 2-channel sequence (course CSV files)."
    kind = "sequence"
    sizes = {"train": 10_000, "dev": 1_000, "test": 1_000}
    primary_metric = "accuracy"
    percentages = ("accuracy", "zero_accuracy")
    baselines = {"zero_accuracy": "always 0"}  # what predicting 0 scores: "learned nothing"
    early_stop = 99.5  # dev accuracy (%) at which the homework recipe stops
    settings = {
        "late_copies": Setting(0, "training split only: repeat every sequence whose second "
                               "mark is in the last late_window steps this many more times "
                               "(changes the training distribution; dev and test unchanged)",
                               neutral=0, load_only=True),
        "late_window": Setting(0, "the steps at the end counted as late for late_copies "
                               "(0: the last tenth, L/10)", neutral=0, load_only=True),
    }
    default = True  # the sequence dataset of models that name none
    report = "accuracy"

    def load(self, request: DataRequest, emit: EventSink = lambda e: None) -> Data:
        from rnnlab_plugins.adding_task.course_csv import read

        L = request.L or 100
        copies, window = request.settings.get("late_copies", 0), request.settings.get(
            "late_window", 0)
        if not 0 <= copies <= 100:
            raise UsageError(f"--set late_copies expects an integer in [0, 100], got {copies}")
        if not 0 <= window <= L // 2:
            raise UsageError(f"--set late_window expects an integer in [0, {L // 2}] at L={L} "
                             f"(the second mark's half), got {window}")
        folder = Path(request.data_dir) / "adding"
        paths = {s: folder / file_name(L, s) for s in SPLITS}
        splits = {s: read(p, L) for s, p in paths.items() if p.exists()}  # check before writing
        missing = [s for s in SPLITS if s not in splits]
        if missing and (not request.generate or len(missing) < len(SPLITS)):
            # a set is made whole: another seed or size beside the files there would mix sets
            rest = (" while the other splits are there (run `rnnlab gen-data --L "
                    f"{L}` with the options that made them, --force to replace them)"
                    if len(missing) < len(SPLITS) else "")
            raise DataError(f"{paths[missing[0]]}: file not found (adding-task data for "
                            f"L={L}){rest}")
        if missing:
            emit(Note(f"no adding-task data for L={L} in {folder}: generating it (seed 0)"))
            self.generate(GenerateRequest([L], folder, seed=0, sizes=dict(self.sizes)), emit)
            splits.update({s: read(paths[s], L) for s in missing})
        train = Split(*splits["train"])
        if copies:
            train = oversample_late(train, copies, window or max(1, L // 10), L, emit)
        return Data(
            spec=DataSpec(kind="sequence", input_dim=2, output_dim=1, length=L),
            train=train, dev=Split(*splits["dev"]), test=Split(*splits["test"]),
            source=str(folder / file_name(L, "*")), files=paths,
        )

    def metrics(self, y: Any, t: Any) -> dict[str, float]:
        import numpy as np

        error = np.abs(np.asarray(y, np.float64) - t)  # (N, 1)
        return {
            "accuracy": float(100.0 * np.mean(error < SUCCESS)),
            "mse": float(np.mean(error**2)),
            "zero_accuracy": float(100.0 * np.mean(np.abs(t) < SUCCESS)),  # predicting 0
        }

    def example(self, L: int | None, n: int, seed: int = 0) -> tuple[DataSpec, Split]:
        """`n` fresh training sequences of length L, drawn in memory (nothing is written)."""
        import numpy as np

        from rnnlab_plugins.adding_task.generate import draw

        L = L or 100
        hundredths, marks = draw(L, n, seed, "train")  # (n, L), (n, 2)
        x = np.zeros((n, L, 2), np.float32)  # (n, L, 2)
        x[..., 0] = hundredths / 100
        rows = np.arange(n)[:, None]
        x[rows, marks, 1] = 1.0
        t = (hundredths[rows, marks].sum(axis=1, keepdims=True) / 100).astype(np.float32)
        return DataSpec(kind="sequence", input_dim=2, output_dim=1, length=L), Split(x, t)

    def generate(self, request: GenerateRequest, emit: EventSink = lambda e: None) -> list[Path]:
        from rnnlab_plugins.adding_task.generate import write_files

        for L in request.lengths:
            if L < 2:
                raise UsageError(f"--L expects an integer >= 2 for the adding task, got {L}")
        return write_files(request, SPLITS, file_name, emit)


def oversample_late(train: Split, copies: int, window: int, L: int, emit: EventSink) -> Split:
    """The training split with every sequence whose second mark lies in the last `window`
    steps followed by `copies` copies of itself (the order otherwise kept)."""
    import numpy as np

    marks = train.x[..., 1] > 0.5  # (N, L)
    second = L - 1 - np.argmax(marks[:, ::-1], axis=1)  # (N,) index of the last mark
    late = second >= L - window  # (N,)
    order = np.repeat(np.arange(len(train)), 1 + copies * late)  # (N + copies * late,)
    emit(Note(f"late_copies={copies}: {int(late.sum()):,} training sequences with the second "
              f"mark in the last {window} steps, each {copies + 1} times: "
              f"{len(order):,} sequences an epoch (the training distribution changes)"))
    return Split(train.x[order], train.t[order])
