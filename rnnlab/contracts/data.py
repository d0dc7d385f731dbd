"""The dataset contract: what a dataset hands to the runner and to a model, and what it is
asked for."""

from __future__ import annotations

import abc
import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rnnlab.contracts.base import Plugin
from rnnlab.errors import UsageError
from rnnlab.events import EventSink, ignore

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Split:
    """One split: inputs `x` (N, L, D) for sequences or (N, D) for images and labelled data;
    targets `t` (N, M) (for labelled data one-hot over the M classes)."""

    x: np.ndarray
    t: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know to be built: kind ('sequence'/'image'/'labelled'), D,
    M and L."""

    kind: str
    input_dim: int
    output_dim: int
    length: int | None = None


@dataclass(frozen=True)
class Data:
    """Loaded data. `dev` may be None (then there is no per-epoch evaluation or early stop).

    `files` maps each split to the file it was read from: the run records their paths and
    content hashes, and resume and eval refuse to go on if the files are missing or changed."""

    spec: DataSpec
    train: Split
    test: Split
    dev: Split | None = None
    source: str = ""
    files: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class DataRequest:
    """What the runner asks a dataset for. `settings` holds the dataset's resolved settings.
    With `generate` False (resume, eval) missing files are an error, never generated."""

    L: int | None
    data_dir: Path
    settings: dict[str, Any] = field(default_factory=dict)
    generate: bool = True


@dataclass(frozen=True)
class GenerateRequest:
    """What `rnnlab gen-data` asks a dataset to write. `sizes` maps split name to count."""

    lengths: Sequence[int]
    out: Path
    seed: int
    sizes: dict[str, int] = field(default_factory=dict)
    force: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


class DatasetPlugin(Plugin):
    """A dataset: loads splits, scores predictions, optionally generates its files.

    It also declares what the core needs to know about its metrics: which one is primary and
    in which direction it improves, which are percentages (shown with %), which are baselines
    (what a trivial predictor scores, shown as their own row), and the default early-stop
    target."""

    # 'sequence' (has a length L), 'image' or 'labelled' (inputs (N, D), one class each)
    kind: ClassVar[str] = "sequence"
    sizes: ClassVar[dict[str, int]] = {}  # default split sizes for generate()
    primary_metric: ClassVar[str] = ""  # the key metric: `rnnlab runs`, early stop, reports
    higher_is_better: ClassVar[bool] = True
    percentages: ClassVar[tuple[str, ...]] = ()  # metric keys given in %
    baselines: ClassVar[dict[str, str]] = {}  # metric key -> label, e.g. a trivial predictor
    early_stop: ClassVar[float | None] = None  # stop once dev primary metric passes this
    default: ClassVar[bool] = False  # the dataset of its kind for models that name none
    report: ClassVar[str] = ""  # the report that sums up a sweep on this dataset
    # Bytes per sequence step (or image) for the memory limits, keys as in
    # rnnlab.limits.DATA_COSTS; {}: the bundled dataset of the same kind's figures.
    costs: ClassVar[dict[str, float]] = {}

    @abc.abstractmethod
    def load(self, request: DataRequest, emit: EventSink = ignore) -> Data:
        """Return the data for `request`; raise DataError with a one-line message if bad."""

    @abc.abstractmethod
    def metrics(self, y: np.ndarray, t: np.ndarray) -> dict[str, float]:
        """Score predictions `y` against targets `t` (both (N, M)); must include primary_metric."""

    def generate(self, request: GenerateRequest, emit: EventSink = ignore) -> list[Path]:
        """Write data files and return their paths. Datasets that cannot generate leave this."""
        raise UsageError(f"dataset '{self.name or type(self).__name__}' cannot generate data")

    def example(self, L: int | None, n: int, seed: int = 0, *,
                data_dir: Path | None = None) -> tuple[DataSpec, Split]:
        """A small batch for timing and gradient checks. The default reads the first `n`
        training samples from `data_dir` (generating them if the dataset can); override it
        to draw a batch in memory."""
        request = DataRequest(L=L, data_dir=Path("datasets") if data_dir is None else data_dir,
                              settings={k: s.default for k, s in self.settings.items()})
        data = self.load(request)
        return data.spec, Split(data.train.x[:n], data.train.t[:n])


def example_of(dataset: DatasetPlugin, L: int | None, n: int, seed: int = 0,
            data_dir: Path | None = None) -> tuple[DataSpec, Split]:
    """`dataset.example(...)`, passing `data_dir` only to an example() that takes it (one
    written before it existed does not)."""
    method = dataset.example
    try:
        takes = "data_dir" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        takes = False
    if takes and data_dir is not None:
        return method(L, n, seed, data_dir=data_dir)
    return method(L, n, seed)
