"""The `rnnlab new-plugin dataset` templates: is the first value of a sequence positive?
Written as CSV files, read back, scored by accuracy.

string.Template text ($name, $module, $cls, ...); the generated code is ruff clean."""

from __future__ import annotations

# what the package's README says about it
README = {
    "what": "is the first value of the sequence positive?",
    "use": "rnnlab gen-data $name --L 10        # datasets/$name/*.csv\n"
           "    rnnlab train lstm --data $name --L 10 --epochs 5",
    "edit": "`draw` makes the sequences and targets; `load` reads the CSV files back\n"
            "  (generating them when missing), `metrics` scores predictions and must "
            "include\n  `primary_metric`, `example` draws a small batch in memory.",
}

# the plugin module, rnnlab_NAME.py
MODULE = '''\
"""rnnlab dataset plugin `$name`.

Is the first value of the sequence positive? A sequence holds L values uniform in [-1, 1]
(D = 1); its target is 1 when the first value is positive, else 0 (M = 1). `rnnlab gen-data`
writes one CSV file per L and split under DATA_DIR/NAME/ (a row: the L values, then the
target); `load` reads them back and generates them first when they are missing. Edit `draw` to
make it your task. The module stays light: NumPy is imported inside the functions.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rnnlab import (
    Data,
    DataError,
    DataRequest,
    DatasetPlugin,
    DataSpec,
    EventSink,
    GenerateRequest,
    Note,
    Split,
    UsageError,
    atomic_write,
)

if TYPE_CHECKING:
    import numpy as np

NAME = "$name"
SPLITS = ("train", "dev", "test")
SIZES = {"train": 1000, "dev": 200, "test": 200}  # `rnnlab gen-data --n-train ...` overrides


def file_name(L: int, split: str) -> str:
    """The file of one split, e.g. ${name}_L010_train.csv."""
    return f"{NAME}_L{L:03d}_{split}.csv"


def draw(L: int, n: int, seed: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Sequences x (n, L, 1) and targets t (n, 1): one seed, L and split, one draw."""
    import numpy as np

    rng = np.random.default_rng([seed, L, SPLITS.index(split)])
    x = np.round(rng.uniform(-1.0, 1.0, (n, L, 1)), 4).astype(np.float32)  # (n, L, 1)
    t = (x[:, 0, :] > 0).astype(np.float32)  # (n, 1): is the first value positive?
    return x, t


def to_csv(x: np.ndarray, t: np.ndarray) -> str:
    """One row per sequence: its L values, then its target."""
    import numpy as np

    buffer = io.StringIO()
    np.savetxt(buffer, np.concatenate([x[:, :, 0], t], axis=1), fmt="%.4f", delimiter=",")
    return buffer.getvalue()


def read(path: Path, L: int) -> tuple[np.ndarray, np.ndarray]:
    """A split file back as x (n, L, 1) and t (n, 1); DataError names the file if it is bad."""
    import numpy as np

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file: reported below
            rows = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: {exc}") from None
    if len(rows) == 0 or rows.shape[1] != L + 1 or not np.isfinite(rows).all():
        raise DataError(f"{path}: expected rows of {L + 1} numbers (L={L} values, then the "
                        "target)")
    return rows[:, :L, None].astype(np.float32), rows[:, L:].astype(np.float32)


def write(request: GenerateRequest, splits: Sequence[str]) -> list[Path]:
    """Write the files of `splits` for every L; all contents are checked before any is
    written, so a refusal leaves no files."""
    planned: list[tuple[Path, str]] = []
    for L in request.lengths:
        for split in splits:
            path = request.out / file_name(L, split)
            n = request.sizes.get(split, SIZES[split])
            text = to_csv(*draw(L, n, request.seed, split))
            if path.exists() and not request.force and path.read_text() != text:
                raise UsageError(f"{path} exists with different content; use --force to "
                                 "replace it")
            planned.append((path, text))
    request.out.mkdir(parents=True, exist_ok=True)
    for path, text in planned:
        atomic_write(path, text)
    return [path for path, _ in planned]


class $cls(DatasetPlugin):
    summary = "Is the first value positive? L values in [-1, 1] (rnnlab new-plugin)."
    kind = "sequence"
    sizes = SIZES
    primary_metric = "accuracy"
    percentages = ("accuracy",)  # shown with %

    def load(self, request: DataRequest, emit: EventSink = lambda e: None) -> Data:
        """The splits for L from DATA_DIR/NAME/, generated there (seed 0) when missing."""
        L = request.L or 100
        folder = Path(request.data_dir) / NAME
        paths = {split: folder / file_name(L, split) for split in SPLITS}
        missing = [split for split, path in paths.items() if not path.exists()]
        if missing and not request.generate:
            raise DataError(f"{paths[missing[0]]}: file not found ({NAME} data for L={L})")
        if missing:
            emit(Note(f"no {NAME} data for L={L} in {folder}: generating it (seed 0)"))
            write(GenerateRequest([L], folder, seed=0, sizes=dict(self.sizes)), missing)
        splits = {split: Split(*read(path, L)) for split, path in paths.items()}
        return Data(spec=DataSpec("sequence", 1, 1, L), train=splits["train"],
                    dev=splits["dev"], test=splits["test"], source=str(folder), files=paths)

    def metrics(self, y: np.ndarray, t: np.ndarray) -> dict[str, float]:
        """Accuracy (%, an output above 0.5 means "positive") and mean squared error."""
        import numpy as np

        y = np.asarray(y, np.float64)
        return {"accuracy": float(100.0 * np.mean((y > 0.5) == (t > 0.5))),
                "mse": float(np.mean((y - t) ** 2))}

    def generate(self, request: GenerateRequest, emit: EventSink = lambda e: None) -> list[Path]:
        """Write the CSV files of every L and split under request.out: same seed, same bytes."""
        return write(request, SPLITS)

    def example(self, L: int | None, n: int, seed: int = 0) -> tuple[DataSpec, Split]:
        """`n` training sequences drawn in memory (nothing is written)."""
        L = L or 100
        return DataSpec("sequence", 1, 1, L), Split(*draw(L, n, seed, "train"))
'''

# its tests, tests/test_NAME.py: the conformance kit, then one test of its own
TESTS = '''\
"""Tests of `$name`: rnnlab's conformance kit, then your own."""

from __future__ import annotations

import rnnlab
from rnnlab.testing import DatasetContract

PLUGIN = "$name"


class Test$cls(DatasetContract):
    plugin = PLUGIN


def test_target_says_whether_the_first_value_is_positive() -> None:
    spec, split = rnnlab.get_plugin("dataset", PLUGIN).example(5, 50, seed=1)
    assert (spec.input_dim, spec.output_dim, spec.length) == (1, 1, 5)
    assert ((split.x[:, 0, 0] > 0) == (split.t[:, 0] == 1)).all()
    assert 0 < split.t.sum() < 50
'''
