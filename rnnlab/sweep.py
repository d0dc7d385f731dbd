"""Sweeps: a grid of training runs (models x lengths x seeds x recipes x any option), each an
ordinary run in the run store tagged with the sweep id, run by worker processes or a Dask
cluster, resumable by running the same sweep again.

A sweep file (YAML) holds training options; a list makes an axis of the grid:

    name: homework                      # the sweep id (default: derived from the grid)
    model: [simple-rnn, lstm, alarmwork]
    L: [10, 50, 70, 100]
    seeds: 5                            # seed 0..4 (or `seed: [..]`)
    epochs: 50
    set: {rec_init: [xavier, orthogonal]}
    recipes:                            # named groups of options, one more axis
      homework: {}
      adam: {optimizer: adam, lr: 0.001, clip_grad: 1.0}
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnlab import config as cfgmod
from rnnlab import plugins
from rnnlab.config import TrainConfig
from rnnlab.errors import RnnlabError, UsageError
from rnnlab.events import CellUpdate, EpochDone, Event, EventSink, RunStarted, ignore
from rnnlab.files import load_yaml
from rnnlab.runs import Run, RunStore

SWEEP_KEYS = {"name", "seeds", "recipes"}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SUCCESS = 99.0  # a run "succeeds" at this test accuracy (%)


@dataclass
class Cell:
    """One run of the grid."""

    index: int
    config: TrainConfig
    recipe: str
    key: str  # stable id of the resolved configuration within the sweep
    state: str = "queued"  # queued | running | done | failed | skipped
    info: str = ""
    run_id: str = ""
    resume: str = ""  # directory of an interrupted run to continue

    @property
    def label(self) -> str:
        c = self.config
        parts = [c.model, f"L={c.L}" if c.L is not None else c.data, f"seed {c.seed}"]
        return " ".join(parts + ([self.recipe] if self.recipe else []))


@dataclass
class Sweep:
    id: str
    cells: list[Cell] = field(default_factory=list)
    runs_dir: str = "runs"
    wall_time_s: float = 0.0


# ---------------------------------------------------------------------------------------------
# building the grid


def read_spec(path: Path) -> dict[str, Any]:
    """A sweep file as a dict; errors name the file."""
    raw = load_yaml(path, "a YAML sweep file")
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: expected a mapping of option: value or [values]")
    return raw


def _axes(options: dict[str, Any], where: str) -> dict[str, list[Any]]:
    """Options with every value as a list (an axis); `set:` entries become 'set.KEY'."""
    axes: dict[str, list[Any]] = {}
    for key, value in options.items():
        name = str(key).replace("-", "_")
        if name in ("set", "settings"):
            if not isinstance(value, dict):
                raise UsageError(f"{where}: 'set' expects a mapping of setting: value")
            for setting, v in value.items():
                axes[f"set.{setting}"] = v if isinstance(v, list) else [v]
        elif name in cfgmod.FIELDS and name not in ("runs_dir", "settings"):
            axes[name] = value if isinstance(value, list) else [value]
            if not axes[name]:
                raise UsageError(f"{where}: '{key}' is an empty list")
        else:
            raise UsageError(f"{where}: unknown key '{key}' (expected training options, "
                             "set, seeds, recipes, name)")
    return axes


def build(spec: dict[str, Any], registry: plugins.Registry, *, where: str = "sweep",
          runs_dir: str = "runs", data_dir: str | None = None) -> Sweep:
    """Expand a sweep spec into resolved cells (every configuration is checked up front)."""
    spec = dict(spec)
    name = spec.pop("name", None)
    seeds = spec.pop("seeds", None)
    recipes = spec.pop("recipes", None) or {"": {}}
    if seeds is not None:
        if "seed" in spec:
            raise UsageError(f"{where}: give either seeds: N or seed: [...], not both")
        if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
            raise UsageError(f"{where}: 'seeds' expects an integer >= 1, got {seeds!r}")
        spec["seed"] = list(range(seeds))
    if "model" not in spec:
        raise UsageError(f"{where}: no model given (model: [..] or --model)")
    if not isinstance(recipes, dict):
        raise UsageError(f"{where}: 'recipes' expects a mapping of name: options")
    cells: list[Cell] = []
    for recipe, overrides in recipes.items():
        if not isinstance(overrides, dict):
            raise UsageError(f"{where}: recipe '{recipe}' expects a mapping of options")
        merged = dict(spec)
        for key, value in overrides.items():
            if key in ("set", "settings") and isinstance(value, dict):
                merged["set"] = {**merged.get("set", {}), **value}
            else:
                merged[key] = value
        axes = _axes(merged, where)
        for combo in itertools.product(*axes.values()):
            chosen = dict(zip(axes, combo, strict=True))
            sets = {k[4:]: v for k, v in chosen.items() if k.startswith("set.")}
            options = {k: v for k, v in chosen.items() if not k.startswith("set.")}
            model = options.pop("model")
            options["runs_dir"] = runs_dir
            if data_dir is not None:
                options.setdefault("data_dir", data_dir)
            try:
                cfg = cfgmod.resolve(model, registry, options=options, sets=sets)
            except UsageError as exc:
                raise UsageError(f"{where}: {model} {options}: {exc}") from None
            cells.append(Cell(len(cells), cfg, str(recipe), cell_key(cfg, str(recipe))))
    keys = [c.key for c in cells]
    if len(set(keys)) != len(keys):
        raise UsageError(f"{where}: the grid repeats a configuration")
    sweep_id = str(name) if name else "sweep-" + hashlib.sha1(
        "".join(sorted(keys)).encode()).hexdigest()[:8]
    return Sweep(sweep_id, cells, runs_dir)


def cell_key(cfg: TrainConfig, recipe: str) -> str:
    """A stable id of what the cell computes (paths and device do not change results)."""
    d = {k: v for k, v in cfg.to_dict().items() if k not in ("runs_dir", "data_dir", "device")}
    if d.get("lr_schedule") == "constant":
        del d["lr_schedule"]  # added later: at its default it leaves existing keys unchanged
    text = json.dumps([recipe, d], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def plan(sweep: Sweep, *, rerun_failed: bool = False, force: bool = False) -> None:
    """Mark each cell by what the run store already holds: completed cells are skipped,
    interrupted ones resumed, failed ones rerun only with rerun_failed, all with force."""
    latest: dict[str, Run] = {}
    for run in RunStore(sweep.runs_dir):
        summary = run.summary
        if summary.get("sweep") == sweep.id and summary.get("cell"):
            latest[summary["cell"]] = run  # runs are listed oldest first
    for cell in sweep.cells:
        run = latest.get(cell.key)
        if run is None or force:
            continue
        status = run.status
        cell.run_id = run.id
        if status == "completed":
            cell.state, cell.info = "skipped", _result(run.summary)
        elif status in ("interrupted", "running"):
            cell.resume = str(run.dir)
        elif status == "failed" and not rerun_failed:
            cell.state = "failed"
            cell.info = str(run.summary.get("reason", "failed"))


def _result(summary: dict[str, Any]) -> str:
    key = summary.get("primary_metric", "")
    value = (summary.get("test") or {}).get(key)
    return f"test {key} {value:.1f}" if isinstance(value, float) else str(summary.get("status"))


# ---------------------------------------------------------------------------------------------
# running a cell (in a worker process)


def run_cell(task: dict[str, Any], emit: EventSink = ignore) -> dict[str, Any]:
    """Train one cell; never raises for a training failure (the result says it)."""
    import torch

    from rnnlab import runner

    torch.set_num_threads(1)
    registry = plugins.registry()
    cfg = cfgmod.merge(task["config"])
    tags = {"sweep": task["sweep"], "cell": task["key"], "recipe": task["recipe"]}
    store = RunStore(task["store"]) if task.get("store") else None
    try:
        if task.get("resume"):
            run = runner.train(registry=registry, emit=emit, resume=Run(Path(task["resume"])))
        else:
            run = runner.train(cfg, registry=registry, emit=emit, data=task.get("data"),
                               store=store, tags=tags)
        return {"run_id": run.id, "dir": str(run.dir), "status": "done",
                "info": _result(run.summary)}
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # the cell failed; the sweep goes on
        message = " ".join(str(exc).split())
        if not isinstance(exc, RnnlabError):
            message = f"{type(exc).__name__}: {message}"
        return {"status": "failed", "info": message}


def task_for(sweep: Sweep, cell: Cell) -> dict[str, Any]:
    """What a worker needs to run a cell (plain data, picklable)."""
    return {"config": cell.config.to_dict(), "key": cell.key, "recipe": cell.recipe,
            "sweep": sweep.id, "resume": cell.resume}


class QueueSink:
    """Forwards a worker's training events to the parent as small cell updates."""

    def __init__(self, queue: Any, index: int, label: str) -> None:
        self.queue, self.index, self.label = queue, index, label

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.queue.put(CellUpdate(self.index, self.label, "running", f"run {event.run_id}"))
        elif isinstance(event, EpochDone):
            self.queue.put(CellUpdate(self.index, self.label, "running", epoch_info(event)))


def epoch_info(event: EpochDone) -> str:
    m = event.metrics
    where = (f"update {m.get('updates')}/{event.updates_total}" if event.updates_total
             else f"epoch {event.epoch}/{event.epochs}")
    dev = [f"dev {k[4:]} {v:.1f}" for k, v in m.items()
           if k.startswith("dev_") and "accuracy" in k and "zero" not in k]
    return ", ".join([where, *dev])


def _worker_init() -> None:
    """Workers leave Ctrl-C to the sweep (an interrupt inside multiprocessing's own locks can
    deadlock the pool); the sweep sends SIGTERM, which stops a run between two batches."""
    from rnnlab import runner

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, runner.request_stop)


def _worker(task: dict[str, Any], queue: Any, index: int, label: str) -> dict[str, Any]:
    from rnnlab import runner

    if runner.stop_requested():  # the sweep is stopping: start nothing new
        return {"status": "queued", "info": ""}
    return run_cell(task, QueueSink(queue, index, label))


# ---------------------------------------------------------------------------------------------
# running the sweep


def run_local(sweep: Sweep, jobs: int, emit: EventSink = ignore) -> None:
    """Run the pending cells in `jobs` worker processes, one BLAS/torch thread each (also for
    jobs=1, so that results do not depend on the number of jobs)."""
    import multiprocessing

    pending = [c for c in sweep.cells if c.state == "queued"]
    for cell in sweep.cells:
        emit(CellUpdate(cell.index, cell.label, cell.state, cell.info))
    if not pending:
        return
    saved = {v: os.environ.get(v) for v in THREAD_VARIABLES}
    os.environ.update({v: "1" for v in THREAD_VARIABLES})  # inherited by the spawned workers
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()
    queue = manager.Queue()
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init)
    try:
        futures: dict[Future, Cell] = {
            pool.submit(_worker, task_for(sweep, c), queue, c.index, c.label): c
            for c in pending}
        with _sigterm_interrupts():
            _collect(futures, queue, emit)
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM: cancel what has not started, and ask running cells to stop;
        # they save themselves as interrupted and the next sweep resumes them.
        for future in futures:
            future.cancel()
        for process in list(getattr(pool, "_processes", {}).values()):
            try:
                os.kill(process.pid, signal.SIGTERM)
            except (ProcessLookupError, OSError):
                pass
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
        manager.shutdown()


def _collect(futures: dict[Any, Cell], queue: Any, emit: EventSink) -> None:
    """Wait for the cells, passing their progress on."""
    waiting = set(futures)
    while waiting:
        finished, waiting = wait(waiting, timeout=0.2, return_when=FIRST_COMPLETED)
        _drain(queue, futures, emit)
        for future in finished:
            cell = futures[future]
            try:
                result = future.result()
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # the worker itself died
                result = {"status": "failed", "info": f"worker failed: {type(exc).__name__}: "
                                                      f"{' '.join(str(exc).split())}"}
            cell.state, cell.info = result["status"], result["info"]
            cell.run_id = result.get("run_id", cell.run_id)
            emit(CellUpdate(cell.index, cell.label, cell.state, cell.info))


def _drain(queue: Any, futures: dict[Any, Cell], emit: EventSink) -> None:
    if queue is None:
        return
    running = {c.index for f, c in futures.items() if not f.done()}
    while True:
        try:
            update = queue.get_nowait()
        except Exception:
            return
        if update.index in running:
            emit(update)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """In the sweep's own process, SIGTERM interrupts waiting as Ctrl-C does."""
    from rnnlab.runner import Terminated

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(sweep: Sweep, *, jobs: int = 1, executor: str = "local", scheduler: str | None = None,
        emit: EventSink = ignore) -> Sweep:
    """Run the pending cells of a planned sweep; the cells' states say how each ended."""
    started = time.perf_counter()
    if executor == "dask":
        from rnnlab.dask_executor import run_dask

        run_dask(sweep, jobs, scheduler, emit)
    elif executor == "local":
        run_local(sweep, jobs, emit)
    else:
        raise UsageError(f"--executor expects local|dask, got '{executor}'")
    sweep.wall_time_s = round(time.perf_counter() - started, 1)
    return sweep
