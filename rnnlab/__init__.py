"""rnnlab: a lab bench for recurrent networks under the hood.

The public API. Plugin authors import the contracts from here; notebooks and scripts call the
same functions the command line uses:

    import rnnlab
    run = rnnlab.train("lstm", L=50, epochs=5)
    run.summary["test"]["accuracy"]
    rnnlab.load_run(run.id).metrics
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnlab import numerics  # noqa: F401  (first: pins NumPy's kernel, see numerics)
from rnnlab.config import TrainConfig
from rnnlab.contracts import (
    OPTIMIZER_OPTIONS,
    Column,
    Data,
    DataRequest,
    DatasetPlugin,
    DataSpec,
    ExecutorPlugin,
    ExecutorRequest,
    GenerateRequest,
    HasGradients,
    HasOptimizerState,
    HonoursOptions,
    Learner,
    ModelPlugin,
    Packable,
    PackedLearner,
    Plugin,
    ReportPlugin,
    ReportRequest,
    ReportResult,
    SetsLearningRate,
    Setting,
    Split,
    SweepCell,
    Timing,
)
from rnnlab.errors import DataError, PluginError, RnnlabError, UsageError
from rnnlab.events import (
    CellUpdate,
    EpochDone,
    Event,
    EventSink,
    Note,
    Progress,
    RunFinished,
    RunStarted,
    ignore,
)
from rnnlab.files import atomic_write, read_csv_lines, read_input
from rnnlab.numerics import subnormals_flushed
from rnnlab.runs import Run, RunStore

if TYPE_CHECKING:
    from rnnlab.session import Session

__version__ = "0.1.0"

__all__ = [
    "OPTIMIZER_OPTIONS", "CellUpdate", "Column", "Data", "DataError", "DataRequest", "DataSpec",
    "DatasetPlugin", "EpochDone", "Event", "EventSink", "ExecutorPlugin", "ExecutorRequest",
    "GenerateRequest", "HasGradients", "HasOptimizerState", "HonoursOptions", "Learner",
    "ModelPlugin", "Packable", "PackedLearner", "Note", "Plugin", "PluginError", "Progress",
    "ReportPlugin", "ReportRequest",
    "ReportResult", "RnnlabError", "Run", "RunFinished", "RunStarted", "RunStore",
    "SetsLearningRate", "Setting", "Split", "SweepCell", "Timing", "TrainConfig", "UsageError",
    "atomic_write", "build_learner", "default_dataset", "evaluate", "example", "gen_data",
    "get_plugin", "ignore", "list_plugins", "list_runs", "load_learner", "load_run",
    "read_csv_lines", "read_input", "report", "resume", "run_training", "train",
    "NumpyOptimizer", "NumpyOptimized", "subnormals_flushed", "__version__",
]


def __getattr__(name: str) -> Any:
    if name in ("NumpyOptimizer", "NumpyOptimized"):  # on first use: `import rnnlab` stays
        from rnnlab import optim  # free of NumPy

        return getattr(optim, name)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")


def _ignore(event: Event) -> None:
    pass


def get_plugin(kind: str, name: str) -> Any:
    """The loaded plugin object of a kind ('model', 'dataset', 'report', 'executor') by
    name."""
    from rnnlab import registry

    return registry.default().get(kind, name)


def list_plugins(kind: str) -> list[str]:
    """The names of the installed, enabled plugins of a kind ('model', 'dataset', 'report')."""
    from rnnlab import registry

    return registry.default().names(kind)


def default_dataset(model: str) -> str:
    """The dataset a model trains on when none is named: its `data`, or the default dataset
    of the first data kind it accepts."""
    plugin = get_plugin("model", model)
    if plugin.data:
        return str(plugin.data)
    from rnnlab import registry

    return registry.default().default_dataset(plugin.kinds[0])


def example(dataset: str, L: int | None = None, n: int = 20, *, seed: int = 0,
            data_dir: str | Path = "datasets") -> tuple[DataSpec, Split]:
    """A small batch of a dataset (`DatasetPlugin.example`) for timing and gradient checks;
    a dataset that reads it from files reads them under `data_dir`."""
    from rnnlab.contracts import example_of

    return example_of(get_plugin("dataset", dataset), L, n, seed, Path(data_dir))


def build_learner(model: str, spec: DataSpec, *, settings: dict[str, Any] | None = None,
                  **options: Any) -> Learner:
    """A freshly initialised model as a Learner (torch modules wrapped with rnnlab's optimizer).

    `spec` describes the data; options are training options (seed, hidden, lr, ...).
    """
    from rnnlab import registry, session

    return session.build_learner(registry.default(), model, spec, settings, options)


def train(model: str, *, config: str | Path | None = None, settings: dict[str, Any] | None = None,
          emit: EventSink = _ignore, **options: Any) -> Run:
    """Train `model` (options as on the command line: L, epochs, lr, ...); returns the Run."""
    from rnnlab import config as cfgmod
    from rnnlab import registry

    unknown = sorted(set(options) - set(cfgmod.FIELDS))
    if unknown:
        raise UsageError(f"unknown training option(s): {', '.join(unknown)}")
    cfg = cfgmod.resolve(model, registry.default(), config_file=Path(config) if config else None,
                         options=options, sets=settings)
    return run_training(cfg, emit=emit)


def run_training(cfg: TrainConfig | None = None, *, resume: Run | None = None,
                 emit: EventSink = _ignore, data: Data | None = None,
                 data_files: dict[str, Any] | None = None, store: RunStore | None = None,
                 tags: dict[str, Any] | None = None, data_dir: str | Path | None = None,
                 lock_wait: float = 2.0, learner: Learner | None = None) -> Run:
    """Train a resolved configuration, or continue the interrupted run `resume`, then write
    the reports the model asks for (e.g. its learning curve) into the run directory. What
    `train` and `resume`, the command line and sweep workers call.

    `data` skips loading (`data_files` is then its record), `store` is another run store,
    `tags` go into the summary (a sweep's id), `data_dir` is where a resumed run's data files
    are now, `lock_wait` how long to wait for a run another process is writing, `learner`
    the model to train instead of a fresh one (a member of a pack)."""
    from rnnlab import training

    return training.train(cfg, emit=emit, resume=resume, data=data, data_files=data_files,
                          store=store, tags=tags, data_dir=data_dir, lock_wait=lock_wait,
                          after=_after_training, learner=learner)


def _after_training(run: Run, session: Session, emit: EventSink) -> list[str]:
    """Write the reports the model asks for (e.g. a learning curve) into the directory of
    a run that has just completed; returns the names of the files written."""
    files = []
    for name in session.model_plugin.after_training:
        try:
            result = report(name, [str(run.dir)], runs_dir=session.config.runs_dir,
                            out_dir=run.dir)
        except RnnlabError as exc:  # the run itself is complete; say what is missing
            emit(Note(f"report '{name}' was not written: {exc}"))
            continue
        for path in result.files:
            emit(Note(f"wrote {path}"))
            files.append(Path(path).name)
    return files


def resume(run: str | Run, *, runs_dir: str | Path = "runs", emit: EventSink = _ignore,
           data_dir: str | Path | None = None) -> Run:
    """Continue an interrupted run from its last completed epoch, in its own directory, on
    the data files it recorded (under `data_dir` if they moved; hashes must match)."""
    target = run if isinstance(run, Run) else load_run(run, runs_dir=runs_dir)
    return run_training(resume=target, emit=emit, data_dir=data_dir)


def evaluate(run: str | Run, *, runs_dir: str | Path = "runs", emit: EventSink = _ignore,
             data_dir: str | Path | None = None) -> dict[str, dict[str, float]]:
    """Re-evaluate a run's checkpoint on the dev and test data it was trained on."""
    from rnnlab import session

    target = run if isinstance(run, Run) else load_run(run, runs_dir=runs_dir)
    return session.evaluate(target, emit=emit, data_dir=data_dir)


def load_learner(run: str | Run, *, runs_dir: str | Path = "runs",
                 data_dir: str | Path | None = None) -> tuple[Learner, Data]:
    """A run's trained model (from its checkpoint) and its data, e.g. to look at outputs."""
    from rnnlab import session

    target = run if isinstance(run, Run) else load_run(run, runs_dir=runs_dir)
    loaded = session.load_session(target, data_dir=data_dir)
    return loaded.learner, loaded.data


def _earlier_stage(run: Run) -> bool:
    stage, stages = run.summary.get("stage"), run.summary.get("stages")
    return isinstance(stage, int) and isinstance(stages, int) and stage < stages


def _installed(kind: str, name: str) -> bool:
    try:
        get_plugin(kind, name)
    except RnnlabError:
        return False
    return True


def load_run(ref: str, *, runs_dir: str | Path = "runs") -> Run:
    """A run by id, unique id prefix or directory path."""
    return RunStore(runs_dir).get(ref)


def list_runs(*, runs_dir: str | Path = "runs") -> list[Run]:
    return RunStore(runs_dir).list()


def gen_data(dataset: str | None = None, *, lengths: list[int] | tuple[int, ...] = (100,),
             out: str | Path = "datasets", seed: int = 0, sizes: dict[str, int] | None = None,
             force: bool = False, settings: dict[str, Any] | None = None,
             emit: EventSink = _ignore) -> list[Path]:
    """Write a dataset's files (for each L) under `out/<dataset>/`; without a dataset, the
    default sequence dataset's."""
    from rnnlab import config as cfgmod
    from rnnlab import registry

    dataset = dataset or registry.default().default_dataset("sequence")

    plugin = get_plugin("dataset", dataset)
    resolved = cfgmod.resolve_settings(settings or {}, [(f"dataset '{dataset}'", plugin.settings)])
    for key in settings or {}:
        if key in plugin.settings and plugin.settings[key].load_only:
            raise UsageError(f"--set {key}: a setting of how dataset '{dataset}' is loaded for "
                             "training, not of the files gen-data writes; give it to `rnnlab "
                             "train` or a sweep")
    unknown = sorted(set(sizes or {}) - set(plugin.sizes))
    if unknown:
        raise UsageError(f"dataset '{dataset}' has no split(s) {', '.join(unknown)}")
    for split, n in (sizes or {}).items():
        if n < 1:
            raise UsageError(f"--n-{split} expects an integer >= 1, got {n}")
    for L in lengths:
        if L < 1:
            raise UsageError(f"--L expects an integer >= 1, got {L}")
    from rnnlab import limits

    limits.check_seed("--seed", seed)
    full = {**plugin.sizes, **(sizes or {})}
    limits.check_generate(plugin, list(lengths), full, sizes or {})  # before drawing anything
    request = GenerateRequest(lengths=list(lengths), out=Path(out) / plugin.name, seed=seed,
                              sizes=full, force=force, settings=resolved)
    return plugin.generate(request, emit)


def report(name: str, run_ids: list[str] | None = None, *, runs_dir: str | Path = "runs",
           models: list[str] | None = None, lengths: list[int] | None = None,
           sweep: str | list[str] | None = None,
           settings: dict[str, Any] | None = None, out_dir: str | Path | None = None,
           emit: EventSink = _ignore) -> ReportResult:
    """Build a report from the run store (or the given runs), filtered by model, L and sweep
    (one name or several)."""
    from rnnlab import config as cfgmod

    plugin = get_plugin("report", name)
    store = RunStore(runs_dir)
    if run_ids:
        runs = []
        for ref in run_ids:
            run = store.get(ref)
            reason = run.check()
            if reason is not None:
                raise RnnlabError(f"run {run.id} is damaged: {reason}")
            runs.append(run)
    else:
        runs, damaged = store.scan()
        for path, reason in damaged:
            emit(Note(f"warning: left out damaged run {path}: {reason}"))
    unique: dict[str, Run] = {}
    for run in runs:  # one run named twice, or reached through a symlink, counts once
        unique.setdefault(os.path.realpath(run.dir), run)
    runs = list(unique.values())
    sweeps = [sweep] if isinstance(sweep, str) else list(sweep or [])
    for option, wanted, of in (("model", models, lambda r: r.config.get("model")),
                               ("sweep", sweeps, lambda r: r.summary.get("sweep"))):
        known = sorted({str(of(r)) for r in runs if of(r)})  # before any filter
        for name in wanted or []:
            if name not in known and not (option == "model" and _installed("model", name)):
                shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
                raise UsageError(f"--{option} {name}: no runs of that {option} in {runs_dir}"
                                 + (f" ({option}s there: {shown})" if known else ""))
    if models:
        runs = [r for r in runs if r.config.get("model") in models]
    if lengths:  # a curriculum's earlier stages stay: their final stage's budget, outcome
        runs = [r for r in runs if r.config.get("L") in lengths or _earlier_stage(r)]
    if sweeps:
        runs = [r for r in runs if r.summary.get("sweep") in sweeps]
    where = Path(out_dir) if out_dir is not None else Path(runs_dir) / "reports"
    there = next((p for p in (where, *where.parents)  # the nearest existing folder on its
                  if os.path.lexists(p)), None)  # path must be one (a dangling symlink is not)
    if there is not None and not there.is_dir():
        named = f"--out {where}" if out_dir is not None else f"reports directory {where}"
        raise UsageError(f"{named}: {'it' if there == where else there} exists and is not a "
                         "directory (reports write their pictures into a directory)")
    request = ReportRequest(
        runs=runs, run_ids=list(run_ids or []), models=list(models or []),
        lengths=list(lengths or []),
        settings=cfgmod.resolve_settings(settings or {}, [(f"report '{name}'", plugin.settings)]),
        out_dir=where, emit=emit,
    )
    with contextlib.redirect_stdout(sys.stderr):  # a report that prints must not corrupt
        return plugin.build(request)  # the table or JSON on stdout
