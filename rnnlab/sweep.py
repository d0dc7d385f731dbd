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
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnlab import config as cfgmod
from rnnlab import locks
from rnnlab.config import TrainConfig
from rnnlab.contracts import ExecutorPlugin, ExecutorRequest, SweepCell
from rnnlab.errors import RnnlabError, UsageError
from rnnlab.events import CellUpdate, EpochDone, Event, EventSink, RunStarted, ignore
from rnnlab.files import clip, load_yaml, short
from rnnlab.locks import FileLock, Locked, describe
from rnnlab.registry import Registry
from rnnlab.registry import default as default_registry
from rnnlab.runs import Run, RunStore

SWEEP_KEYS = {"name", "seeds", "recipes"}
RESUME_WAIT = 15.0  # s a worker waits for a run still locked by a dying worker of a dead sweep
ORPHAN_CHECK_S = 0.5  # how often a worker checks that its sweep is alive
ORPHAN_GRACE_S = 5.0  # s an orphaned worker has to save its run before it exits
CLAIM_POLL_S = 1.0  # how often a sweep looks whether another sweep let go of a cell
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class Cell:
    """One run of the grid."""

    index: int
    config: TrainConfig
    recipe: str
    key: str  # stable id of the resolved configuration within the sweep
    state: str = "queued"  # queued | running | done | failed | skipped | elsewhere
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
    rerun_failed: bool = False
    force: bool = False
    started_at: str = ""


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
                raise UsageError(f"{where}: {short(str(key))} is an empty list")
        else:
            raise UsageError(f"{where}: unknown key {short(str(key))} (expected training options, "
                             "set, seeds, recipes, name)")
    return axes


def build(spec: dict[str, Any], registry: Registry, *, where: str = "sweep",
          runs_dir: str = "runs", data_dir: str | None = None) -> Sweep:
    """Expand a sweep spec into resolved cells (every configuration is checked up front)."""
    from rnnlab import limits

    spec = dict(spec)
    name = spec.pop("name", None)
    seeds = spec.pop("seeds", None)
    recipes = spec.pop("recipes", None) or {"": {}}
    if seeds is not None:
        if "seed" in spec:
            raise UsageError(f"{where}: give either seeds: N or seed: [...], not both")
        if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
            raise UsageError(f"{where}: 'seeds' expects an integer >= 1, got {short(seeds)}")
        limits.check_seed_count(f"{where}: 'seeds'", seeds)  # before listing them
        spec["seed"] = list(range(seeds))
    if "model" not in spec:
        raise UsageError(f"{where}: no model given (model: [..] or --model)")
    if not isinstance(recipes, dict):
        raise UsageError(f"{where}: 'recipes' expects a mapping of name: options")
    grids: list[tuple[str, dict[str, list[Any]]]] = []
    for recipe, overrides in recipes.items():
        if not isinstance(overrides, dict):
            raise UsageError(f"{where}: recipe {short(str(recipe))} expects a mapping of options")
        merged = dict(spec)
        for key, value in overrides.items():
            if key in ("set", "settings") and isinstance(value, dict):
                merged["set"] = {**merged.get("set", {}), **value}
            else:
                merged[key] = value
        grids.append((recipe, _axes(merged, where)))
    limits.check_cells(grids, where)  # count the runs before expanding the grid
    cells: list[Cell] = []
    for recipe, axes in grids:
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
                shown = clip(model) if isinstance(model, str) else short(model)
                raise UsageError(f"{where}: {shown} {short(options, 200)}: {exc}") from None
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
    interrupted (or abandoned) ones resumed, failed ones rerun only with rerun_failed, all
    with force. Each cell is checked again when it is claimed (see `run`)."""
    sweep.rerun_failed, sweep.force = rerun_failed, force
    sweep.started_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    _mark(sweep, sweep.cells, first=True)


def _mark(sweep: Sweep, cells: list[Cell], first: bool = False) -> None:
    latest: dict[str, Run] = {}
    for run in RunStore(sweep.runs_dir):
        summary = run.summary
        if summary.get("sweep") == sweep.id and summary.get("cell"):
            latest[summary["cell"]] = run  # runs are listed oldest first
    for cell in cells:
        run = latest.get(cell.key)
        if run is None:
            continue
        summary = run.summary
        if sweep.force and (first or summary.get("started_at", "") < sweep.started_at):
            continue  # --force: only runs made since this sweep started count
        status = run.state()
        cell.run_id = run.id
        if status == "completed":
            cell.state, cell.info = "skipped", _result(summary)
        elif status in ("interrupted", "abandoned", "running"):
            cell.resume = str(run.dir)
        elif status == "failed" and not sweep.rerun_failed:
            cell.state = "failed"
            cell.info = str(summary.get("reason", "failed"))


def _result(summary: dict[str, Any]) -> str:
    """'test accuracy 99.4%', 'test mse 0.0123': the run's primary metric, as its dataset
    declares it (a percentage or not)."""
    key = summary.get("primary_metric", "")
    value = (summary.get("test") or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(summary.get("status"))
    return f"test {key} {_shown(key, value, _percentages(str(summary.get('data', ''))))}"


def _percentages(dataset: str) -> tuple[str, ...]:
    """The metric keys a dataset gives in % (none if it cannot be loaded)."""
    try:
        return tuple(default_registry().get("dataset", dataset).percentages)
    except RnnlabError:
        return ()


def _shown(key: str, value: float, percentages: tuple[str, ...]) -> str:
    return f"{value:.1f}%" if key in percentages else f"{value:.4g}"


# ---------------------------------------------------------------------------------------------
# running a cell (in a worker process)


def run_cell(task: dict[str, Any], emit: EventSink = ignore) -> dict[str, Any]:
    """Train one cell; never raises for a training failure (the result says it)."""
    import torch

    from rnnlab import runner

    torch.set_num_threads(1)
    registry = default_registry()
    cfg = cfgmod.merge(task["config"])
    tags = {"sweep": task["sweep"], "cell": task["key"], "recipe": task["recipe"]}
    store = RunStore(task["store"]) if task.get("store") else None
    try:
        if task.get("resume"):
            run = runner.train(registry=registry, emit=emit, resume=Run(Path(task["resume"])),
                               data=task.get("data"), data_files=task.get("data_files"),
                               lock_wait=RESUME_WAIT)
        else:
            run = runner.train(cfg, registry=registry, emit=emit, data=task.get("data"),
                               data_files=task.get("data_files"), store=store, tags=tags)
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
            "sweep": sweep.id, "resume": cell.resume,
            "index": cell.index, "label": cell.label}


def run_cell_task(task: dict[str, Any], progress: Callable[[Any], None] | None = None, *,
                  data: Any = None, store: str | Path | None = None) -> dict[str, Any]:
    """`run_cell` as executors call it (`ExecutorRequest.run_cell`): progress as CellUpdates
    passed to `progress`, the cell's data if it was sent along, another run store."""
    task = dict(task)
    if data is not None:
        task["data"] = data
    if store is not None:
        task["store"] = str(store)
    sink: EventSink = ignore
    if progress is not None:
        sink = QueueSink(progress, int(task.get("index", 0)), str(task.get("label", "")))
    return run_cell(task, sink)


class QueueSink:
    """Forwards a worker's training events to the parent as small cell updates: `put`
    receives them (a queue's put)."""

    def __init__(self, put: Callable[[Any], None], index: int, label: str) -> None:
        self.put, self.index, self.label = put, index, label
        self.metric, self.percentages = "", ()  # the run's primary metric, set when it starts

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.metric = primary_metric(str(event.config.get("data", "")))
            self.percentages = tuple(event.percentages)
            self.put(CellUpdate(self.index, self.label, "running", f"run {event.run_id}"))
        elif isinstance(event, EpochDone):
            self.put(CellUpdate(self.index, self.label, "running",
                                epoch_info(event, self.metric, self.percentages)))


def primary_metric(dataset: str) -> str:
    """The primary metric a dataset declares ('' if it declares none or cannot be loaded)."""
    try:
        return str(default_registry().get("dataset", dataset).primary_metric or "")
    except RnnlabError:
        return ""


def epoch_info(event: EpochDone, metric: str = "", percentages: tuple[str, ...] = ()) -> str:
    """'epoch 3/50, dev accuracy 61.2%': where training is, and the dev primary metric."""
    m = event.metrics
    where = (f"update {m.get('updates')}/{event.updates_total}" if event.updates_total
             else f"epoch {event.epoch}/{event.epochs}")
    value = m.get(f"dev_{metric}") if metric else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return where
    return f"{where}, dev {metric} {_shown(metric, value, percentages)}"


_progress: Any = None  # the worker's end of the progress queue (set by _worker_init)


def _worker_init(queue: Any) -> None:
    """Workers leave Ctrl-C to the sweep (an interrupt inside multiprocessing's own locks can
    deadlock the pool); the sweep sends SIGTERM, which stops a run between two batches. A
    worker never outlives its sweep: if the sweep dies (even by kill -9), the worker stops
    its run as after SIGTERM (the run is saved as interrupted) and exits."""
    from rnnlab import runner

    global _progress
    _progress = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, runner.request_stop)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()


def _watch_parent(parent: int) -> None:
    from rnnlab import runner

    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    runner.request_stop()  # the running cell saves itself at the next batch
    time.sleep(ORPHAN_GRACE_S)
    os._exit(1)


def _worker(task: dict[str, Any]) -> dict[str, Any]:
    from rnnlab import runner

    if runner.stop_requested():  # the sweep is stopping: start nothing new
        return {"status": "queued", "info": ""}
    return run_cell_task(task, _progress.put)


# ---------------------------------------------------------------------------------------------
# running the sweep


class LocalExecutor(ExecutorPlugin):
    """The bundled executor `local` (entry point in rnnlab.executors)."""

    summary = "Worker processes on this machine (--jobs of them, one thread each)."

    def run(self, request: ExecutorRequest) -> None:
        run_local(request)


def run_local(request: ExecutorRequest) -> None:
    """Run the cells in `request.jobs` worker processes, one BLAS/torch thread each (also for
    jobs=1, so that results do not depend on the number of jobs)."""
    import multiprocessing

    jobs = request.jobs

    saved = {v: os.environ.get(v) for v in THREAD_VARIABLES}
    os.environ.update({v: "1" for v in THREAD_VARIABLES})  # inherited by the spawned workers
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()  # progress from the workers; no manager process to outlive us
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init,
                               initargs=(queue,))
    futures: dict[Future, SweepCell] = {}
    try:
        for cell in request.cells:
            futures[pool.submit(_worker, cell.task)] = cell
        _collect(futures, queue, request)
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
        queue.close()


def finish(cell: Cell, result: dict[str, Any], emit: EventSink) -> None:
    """Record how a cell ended (the same for every executor)."""
    cell.state, cell.info = result["status"], result["info"]
    cell.run_id = result.get("run_id", cell.run_id)
    emit(CellUpdate(cell.index, cell.label, cell.state, cell.info))


def worker_failed(exc: BaseException) -> dict[str, Any]:
    """The result of a cell whose worker died (the run itself could not report)."""
    return {"status": "failed",
            "info": f"worker failed: {type(exc).__name__}: {' '.join(str(exc).split())}"}


def _collect(futures: dict[Any, SweepCell], queue: Any, request: ExecutorRequest) -> None:
    """Wait for the cells, passing their progress on."""
    waiting = set(futures)
    while waiting:
        done, waiting = wait(waiting, timeout=0.2, return_when=FIRST_COMPLETED)
        _drain(queue, futures, request.emit)
        for future in done:
            cell = futures[future]
            try:
                result = future.result()
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # the worker itself died
                result = worker_failed(exc)
            request.done(cell, result)


def _drain(queue: Any, futures: dict[Any, SweepCell], emit: EventSink) -> None:
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

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Claims:
    """Which sweep process runs which cell. A cell is claimed by a lock in the run store
    (RUNS_DIR/.claims/) held while it runs, so two sweeps of one grid, on one machine or on
    several sharing the store, split the cells instead of running each twice; a claim dies
    with its sweep, and a cell claimed by a sweep that died is taken over."""

    def __init__(self, sweep: Sweep, emit: EventSink) -> None:
        self.sweep, self.emit = sweep, emit
        self.folder = Path(sweep.runs_dir) / ".claims"
        self.held: dict[int, FileLock] = {}

    def path(self, cell: Cell) -> Path:
        sweep = hashlib.sha1(self.sweep.id.encode()).hexdigest()[:10]
        return self.folder / f"{sweep}-{cell.key}.lock"

    def take(self, cells: list[Cell]) -> list[Cell]:
        """Claim what can be claimed; check the store again for those (another sweep may have
        run them meanwhile) and return the ones that still need running here."""
        if not cells:
            return []
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RnnlabError(f"cannot create '{self.folder}' ({exc.strerror or exc})") from None
        claimed = []
        for cell in cells:
            lock = FileLock(self.path(cell), f"cell '{cell.label}' of sweep {self.sweep.id}")
            try:
                lock.acquire()
            except Locked as exc:
                cell.state, cell.info = "elsewhere", f"run by {describe(exc.holder)}"
                self.emit(CellUpdate(cell.index, cell.label, cell.state, cell.info))
                continue
            self.held[cell.index] = lock
            claimed.append(cell)
        for cell in claimed:
            cell.resume = ""
        _mark(self.sweep, claimed)
        for cell in claimed:
            if cell.state != "queued":
                self.release(cell)
                self.emit(CellUpdate(cell.index, cell.label, cell.state, cell.info))
        return [c for c in claimed if c.state == "queued"]

    def wait(self, cells: list[Cell]) -> None:
        """Wait until another sweep lets go of at least one of `cells`."""
        while True:
            free = [c for c in cells if locks.holder(self.path(c)) is None]
            if free:
                for cell in free:
                    cell.state, cell.info = "queued", ""
                return
            time.sleep(CLAIM_POLL_S)

    def release(self, cell: Cell) -> None:
        lock = self.held.pop(cell.index, None)
        if lock is not None:
            lock.release()

    def release_all(self) -> None:
        for lock in self.held.values():
            lock.release()
        self.held.clear()


def run(sweep: Sweep, *, jobs: int = 1, executor: str = "local", scheduler: str | None = None,
        emit: EventSink = ignore) -> Sweep:
    """Run the pending cells of a planned sweep; the cells' states say how each ended. Cells
    another sweep is running are waited for, then taken over if that sweep did not finish
    them."""
    plugin = executor_plugin(executor)
    started = time.perf_counter()
    for cell in sweep.cells:
        emit(CellUpdate(cell.index, cell.label, cell.state, cell.info))
    claims = Claims(sweep, emit)
    try:
        with _sigterm_interrupts():
            while True:
                mine = claims.take([c for c in sweep.cells if c.state == "queued"])
                if mine:
                    _execute(plugin, sweep, mine, jobs, scheduler, emit, claims)
                elsewhere = [c for c in sweep.cells if c.state == "elsewhere"]
                if not elsewhere:
                    break
                claims.wait(elsewhere)
    finally:
        claims.release_all()
    sweep.wall_time_s = round(time.perf_counter() - started, 1)
    return sweep


def executor_plugin(name: str, registry: Registry | None = None) -> ExecutorPlugin:
    """The installed executor `name` (rnnlab.executors); UsageError with a suggestion."""
    return (registry or default_registry()).get("executor", name)


def _execute(plugin: ExecutorPlugin, sweep: Sweep, cells: list[Cell], jobs: int,
             scheduler: str | None, emit: EventSink, claims: Claims) -> None:
    """Hand `cells` to the executor; record each result as it comes (and let go of the
    cell's claim). A cell the executor returns without reporting has failed."""
    ours = {cell.index: cell for cell in cells}
    reported: set[int] = set()

    def done(job: SweepCell, result: dict[str, Any]) -> None:
        cell = ours.get(job.index)
        if cell is None or cell.index in reported:
            return  # not a cell of this request, or reported twice: the first result counts
        reported.add(cell.index)
        if not isinstance(result, dict) or result.get("status") not in (
                "done", "failed", "queued"):
            result = {"status": "failed", "info": f"executor '{plugin.name}' reported "
                      f"{short(result, 200)}, not a result of run_cell"}
        finish(cell, {"info": "", **result}, emit)
        claims.release(cell)

    jobs_list = [SweepCell(c.index, c.label, task_for(sweep, c), c.config, c.resume)
                 for c in cells]
    plugin.run(ExecutorRequest(jobs_list, jobs, scheduler, Path(sweep.runs_dir), emit, done,
                               run_cell_task, worker_failed))
    for cell in cells:
        if cell.index not in reported:
            done(SweepCell(cell.index, cell.label, {}, cell.config),
                 {"status": "failed", "info": f"executor '{plugin.name}' returned without "
                  "running it"})
