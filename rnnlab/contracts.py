"""The plugin contracts: everything a model, a dataset and a report provide or receive.

A plugin is an object (or a class rnnlab instantiates without arguments) registered under one
of the entry-point groups `rnnlab.models`, `rnnlab.datasets`, `rnnlab.reports` (and
`rnnlab.executors`, for where sweeps run). Subclass the
base classes below and implement their abstract methods; the registry refuses a plugin that
leaves one unimplemented, and names it. Optional learner capabilities are Protocols that the
runner checks with `isinstance`. The entry module must stay light: import torch and other heavy
libraries inside `build`/`load`, not at module level. docs/plugins.md is the reference.
"""

from __future__ import annotations

import abc
import inspect
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


class Plugin(abc.ABC):  # noqa: B024  (the kinds below declare the abstract methods)
    """What every plugin has. `name` is the entry-point name the registry gives it."""

    name: str = ""
    summary: ClassVar[str] = ""  # one line for `rnnlab plugins`
    settings: ClassVar[dict[str, Setting]] = {}  # `--set KEY=VALUE`


class DatasetPlugin(Plugin):
    """A dataset: loads splits, scores predictions, optionally generates its files.

    It also declares what the core needs to know about its metrics: which one is primary and
    in which direction it improves, which are percentages (shown with %), which are baselines
    (what a trivial predictor scores, shown as their own row), and the default early-stop
    target."""

    kind: ClassVar[str] = "sequence"  # 'sequence' (has a length L) or 'image'
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


# Optional learner capabilities. rnnlab checks them with isinstance(learner, ...) and refuses
# an option that needs one the learner lacks. Torch modules get all of them from rnnlab.


@runtime_checkable
class SetsLearningRate(Protocol):
    """Follows `--lr-schedule`: rnnlab calls set_lr before every epoch."""

    def set_lr(self, lr: float) -> None: ...


@runtime_checkable
class HasOptimizerState(Protocol):
    """Resumes with its optimizer's buffers (momentum, Adam moments), not only its weights."""

    def optimizer_state(self) -> dict[str, np.ndarray]: ...

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None: ...


@runtime_checkable
class HasGradients(Protocol):
    """Exposes its gradients for `rnnlab gradcheck`: loss and {parameter: gradient} on a
    batch without updating, and a float64 copy of itself."""

    def loss_and_gradients(self, x: np.ndarray, t: np.ndarray
                           ) -> tuple[float, dict[str, np.ndarray]]: ...

    def double(self) -> Any: ...


OPTIMIZER_OPTIONS = frozenset({"optimizer", "momentum", "clip_grad"})


@runtime_checkable
class HonoursOptions(Protocol):
    """Says which of rnnlab's optimizer options (OPTIMIZER_OPTIONS) its own update applies.
    A learner without it applies none of them: a run that sets one to anything but its
    default is refused rather than recorded as if it had been applied. `--lr` always goes
    to the learner (through build's config)."""

    options: frozenset[str]


@dataclass(frozen=True)
class Timing:
    """Two forms of a model that must give the same outputs, timed by `rnnlab report timing`:
    `setting` at `slow` against `fast`, with `shared` settings for both."""

    setting: str
    slow: Any
    fast: Any
    shared: dict[str, Any] = field(default_factory=dict)


class ModelPlugin(Plugin):
    """A model. `build` returns a `torch.nn.Module` mapping (B, ...) inputs to (B, M) outputs,
    which rnnlab trains with its optimizer and MSE loss, or a `Learner` that trains itself."""

    data: ClassVar[str] = ""  # the dataset when `--data` is not given ('': its kind's default)
    kinds: ClassVar[tuple[str, ...]] = ("sequence",)  # data kinds the model accepts
    recipe: ClassVar[dict[str, Any]] = {}  # training options that differ from the defaults
    timing: ClassVar[Timing | None] = None  # a slow and a fast form to compare
    # Setting variants whose gradients `rnnlab gradcheck` checks against finite differences
    # (and against the first variant trained by torch autograd); their learners must be
    # HasGradients.
    gradcheck: ClassVar[tuple[dict[str, Any], ...]] = ()
    # Reports written into the run directory when training completes, e.g. ("curves",).
    after_training: ClassVar[tuple[str, ...]] = ()
    # Memory per sample x step x hidden unit for the limits, keys as in
    # rnnlab.limits.MODEL_COSTS; {}: the costliest bundled model's figures.
    costs: ClassVar[dict[str, float]] = {}

    @abc.abstractmethod
    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        """Make a fresh, initialised model for data described by `spec`."""


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


class ReportPlugin(Plugin):
    """A report: turns runs (or its own measurements) into a ReportResult; never prints."""

    @abc.abstractmethod
    def build(self, request: ReportRequest) -> ReportResult:
        """The table and/or files for `request`; raise UsageError for a bad setting."""


# ---------------------------------------------------------------------------------------------
# executors: where the cells of a sweep run (entry-point group `rnnlab.executors`)


@dataclass(frozen=True)
class SweepCell:
    """One cell of a sweep for an executor to run. `task` is plain, picklable data: hand it to
    `ExecutorRequest.run_cell` on a worker. `config` is the cell's resolved configuration
    (e.g. to load each dataset once and send it along, see `run_cell`'s `data`); `resume` the
    directory of an interrupted run the cell continues ('' for a new run)."""

    index: int
    label: str
    task: dict[str, Any]
    config: TrainConfig
    resume: str = ""


@dataclass(frozen=True)
class ExecutorRequest:
    """What a sweep asks its executor to run. `jobs` is --jobs (workers), `scheduler`
    --scheduler (the address of a cluster to use; None: start what is needed here). Report
    each cell's result with `done(cell, result)` as it ends, and progress (`CellUpdate`s,
    such as `run_cell` sends to its `progress`) with `emit`. Runs must land in `runs_dir`
    (`run_cell` writes them there unless its task says otherwise)."""

    cells: list[SweepCell]
    jobs: int
    scheduler: str | None
    runs_dir: Path
    emit: EventSink
    done: Callable[[SweepCell, dict[str, Any]], None]
    # On a worker: train one cell, `run_cell(task, progress=None, *, data=None, store=None)`,
    # and return its result for `done` ({'status': 'done' or 'failed', 'info', 'run_id',
    # 'dir'}); it never raises for a failed run. `progress` receives the cell's CellUpdates;
    # `data` is the cell's data if it was sent along (else it is loaded from the task's
    # data_dir); `store` a run store to write to instead of the sweep's (e.g. a worker's
    # scratch directory). A module-level function: it pickles, to be sent to workers.
    run_cell: Callable[..., dict[str, Any]]
    # The result to report for a cell whose worker died (the run itself could not report).
    worker_failed: Callable[[BaseException], dict[str, Any]]


class ExecutorPlugin(Plugin):
    """Runs the cells of a sweep: worker processes here (`local`), a Dask cluster (`dask`), or
    whatever a third-party package provides (SLURM, Ray, Kubernetes), chosen with
    `rnnlab sweep --executor NAME`. The sweep decides which cells run (claims, resumes,
    skips) and records how they end; the executor only runs them."""

    @abc.abstractmethod
    def run(self, request: ExecutorRequest) -> None:
        """Run every cell of `request` and report each with `request.done`. On Ctrl-C or
        SIGTERM (KeyboardInterrupt) ask running cells to stop (a run stops between two batches
        and is saved as interrupted) and re-raise; the next sweep resumes them."""
