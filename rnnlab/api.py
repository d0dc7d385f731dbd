"""The plugin contracts: what a model, a dataset and a report provide.

A plugin is an object (or a class rnnlab instantiates without arguments) registered under one
of the entry-point groups `rnnlab.models`, `rnnlab.datasets`, `rnnlab.reports`. Subclass the
base classes below; override what you need. The entry module must stay light: import torch and
other heavy libraries inside `build`/`load`, not at module level. docs/plugins.md has a tutorial.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from rnnlab.errors import UsageError
from rnnlab.events import EventSink, ignore

if TYPE_CHECKING:
    import numpy as np

    from rnnlab.config import TrainConfig
    from rnnlab.runs import Run

# ---------------------------------------------------------------------------------------------
# settings: plugin-specific options, given as `--set key=value` or under `set:` in a YAML config


@dataclass(frozen=True)
class Setting:
    """One plugin setting; its type is the type of `default` (str, int, float, bool)."""

    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None

    def parse(self, key: str, raw: Any) -> Any:
        """Convert a value from the command line or YAML; UsageError names the key."""
        kind = type(self.default) if self.default is not None else str
        try:
            if kind is bool and isinstance(raw, str):
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                value: Any = raw.lower() in ("true", "1", "yes", "on")
            elif kind is bool:
                if not isinstance(raw, bool):
                    raise ValueError(raw)
                value = raw
            elif kind is int and isinstance(raw, float) and not raw.is_integer():
                raise ValueError(raw)
            else:
                value = kind(raw)
        except (TypeError, ValueError):
            raise UsageError(
                f"setting '{key}' expects {kind.__name__}, got {raw!r}"
            ) from None
        if self.choices is not None and value not in self.choices:
            allowed = "|".join(str(c) for c in self.choices)
            raise UsageError(f"setting '{key}' expects one of {allowed}, got {raw!r}")
        return value


# ---------------------------------------------------------------------------------------------
# data: what a dataset hands to the runner and to a model


@dataclass(frozen=True)
class Split:
    """One split: inputs `x` (N, L, D) for sequences or (N, D) for images; targets `t` (N, M)."""

    x: np.ndarray
    t: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know to be built: kind ('sequence'/'image'), D, M and L."""

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


class DatasetPlugin:
    """A dataset: loads splits, scores predictions, optionally generates its files."""

    summary: ClassVar[str] = ""
    kind: ClassVar[str] = "sequence"  # 'sequence' (has a length L) or 'image'
    settings: ClassVar[dict[str, Setting]] = {}
    sizes: ClassVar[dict[str, int]] = {}  # default split sizes for generate()
    primary_metric: ClassVar[str] = "accuracy"  # the key metric shown in `rnnlab runs`
    higher_is_better: ClassVar[bool] = True

    def load(self, request: DataRequest, emit: EventSink = ignore) -> Data:
        """Return the data for `request`; raise DataError with a one-line message if bad."""
        raise NotImplementedError

    def metrics(self, y: np.ndarray, t: np.ndarray) -> dict[str, float]:
        """Score predictions `y` against targets `t` (both (N, M)); must include primary_metric."""
        raise NotImplementedError

    def generate(self, request: GenerateRequest, emit: EventSink = ignore) -> list[Path]:
        """Write data files and return their paths. Datasets that cannot generate leave this."""
        raise UsageError(f"dataset '{getattr(self, 'name', '?')}' cannot generate data")

    def example(self, L: int | None, n: int, seed: int = 0) -> tuple[DataSpec, Split]:
        """A small batch for timing and gradient checks; the default reads the training split."""
        data = self.load(DataRequest(L=L, data_dir=Path("datasets")))
        return data.spec, Split(data.train.x[:n], data.train.t[:n])


# ---------------------------------------------------------------------------------------------
# models: torch modules trained by rnnlab's optimizer, or learners that train themselves


@runtime_checkable
class Learner(Protocol):
    """A model that runs its own forward, backward and weight update (e.g. NumPy code)."""

    def train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        """One update on a batch; return the batch loss."""
        ...

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs (N, M) for inputs x, without changing the model."""
        ...

    def state_dict(self) -> dict[str, np.ndarray]:
        """The parameters (and any state needed to resume), as NumPy arrays."""
        ...

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore what state_dict returned."""
        ...


class ModelPlugin:
    """A model. `build` returns a `torch.nn.Module` mapping (B, ...) inputs to (B, M) outputs,
    which rnnlab trains with its optimizer and MSE loss, or a `Learner` that trains itself."""

    summary: ClassVar[str] = ""
    data: ClassVar[str] = "adding"  # the dataset used when `--data` is not given
    kinds: ClassVar[tuple[str, ...]] = ("sequence",)  # data kinds the model accepts
    recipe: ClassVar[dict[str, Any]] = {}  # training defaults that differ from the homework's
    settings: ClassVar[dict[str, Setting]] = {}
    # (setting, slow value, fast value[, {settings both share}]): two forms that must give the
    # same outputs, compared by `rnnlab report timing`, e.g. ("layer_out", "scalar", "vector").
    timing: ClassVar[tuple[Any, ...] | None] = None
    # Setting variants whose gradients `rnnlab gradcheck` checks against finite differences
    # (and against the first variant trained by torch autograd). Their learners must have
    # `loss_and_gradients(x, t) -> (loss, {name: grad})` and `double()`.
    gradcheck: ClassVar[tuple[dict[str, Any], ...]] = ()
    # Reports written into the run directory when training completes, e.g. ("curves",).
    after_training: ClassVar[tuple[str, ...]] = ()

    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        """Make a fresh, initialised model for data described by `spec`."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# reports: tables and pictures made from the run store


@dataclass(frozen=True)
class Column:
    """A table column: `key` into each row, or `fmt(row) -> str` for a computed cell."""

    header: str
    key: str = ""
    fmt: Callable[[dict[str, Any]], str] | None = None

    def cell(self, row: dict[str, Any]) -> str:
        if self.fmt is not None:
            return self.fmt(row)
        value = row.get(self.key)
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)


@dataclass
class ReportResult:
    """What a report returns: a table (rows are plain dicts, for csv/json) and/or files."""

    title: str
    columns: list[Column] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class ReportRequest:
    """The runs a report should use (already filtered by --model/--L), and its settings."""

    runs: list[Run]
    run_ids: list[str]
    models: list[str]
    lengths: list[int]
    settings: dict[str, Any]
    out_dir: Path
    emit: EventSink = ignore


class ReportPlugin:
    """A report: turns runs (or its own measurements) into a ReportResult; never prints."""

    summary: ClassVar[str] = ""
    settings: ClassVar[dict[str, Setting]] = {}

    def build(self, request: ReportRequest) -> ReportResult:
        raise NotImplementedError
