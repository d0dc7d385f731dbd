"""The train/evaluate loop. It emits events and writes the run store; it never renders."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab import limits
from rnnlab.config import TrainConfig, epoch_lr, merge, plugin_settings, validate
from rnnlab.contracts import (
    OPTIMIZER_OPTIONS,
    Data,
    DataRequest,
    DataSpec,
    HasOptimizerState,
    HonoursOptions,
    Learner,
    SetsLearningRate,
    Split,
)
from rnnlab.errors import DataError, PluginError, RnnlabError, Terminated, UsageError
from rnnlab.events import EpochDone, EventSink, Note, Progress, RunFinished, RunStarted, ignore
from rnnlab.locks import Locked, describe
from rnnlab.registry import Registry
from rnnlab.registry import default as default_registry
from rnnlab.runs import Run, RunStore

EVALUATIONS_PER_UPDATE_RUN = 10  # evaluation points of an update-based (not epoch) run
LOCK_WAIT = 2.0  # seconds to wait for a run's lock (a reader's brief look may hold it)


@dataclass
class Session:
    """Everything a run needs, resolved from its config: plugins, data, a fresh learner."""

    config: TrainConfig
    model_plugin: Any
    data_plugin: Any
    data: Data
    learner: Learner
    device: str
    model_label: str = ""  # e.g. "model 'gru' (rnnlab-gru 0.1.0)", for errors


def load_data(cfg: TrainConfig, registry: Registry, emit: EventSink = ignore,
              generate: bool = True) -> Data:
    plugin = registry.get("dataset", cfg.data)
    request = DataRequest(L=cfg.L, data_dir=Path(cfg.data_dir), generate=generate,
                          settings=plugin_settings(cfg.settings, "dataset", plugin.settings))
    data = plugin.load(request, emit)
    check_data(data, cfg.data)
    return data


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return digest.hexdigest(), size


def data_record(data: Data, data_dir: str | Path) -> dict[str, dict[str, Any]]:
    """{split: {path, relative, sha256, bytes}} of the files `data` was read from; `relative`
    (to the data directory) lets `--data-dir` point at a moved copy."""
    root = Path(data_dir).resolve()
    record = {}
    for split, path in data.files.items():
        real = Path(path).resolve()
        sha256, size = _sha256(real)
        try:
            relative: str | None = str(real.relative_to(root))
        except ValueError:
            relative = None
        record[split] = {"path": str(real), "relative": relative, "sha256": sha256,
                         "bytes": size}
    return record


def recorded_data(run: Run, cfg: TrainConfig, registry: Registry,
                  emit: EventSink = ignore, data_dir: str | Path | None = None
                  ) -> tuple[TrainConfig, Data]:
    """The data a run was trained on, exactly: the files it recorded, at their recorded paths
    or under `data_dir` (a moved copy), with the same content hashes. Nothing is generated;
    missing or changed files are a DataError saying which and what to do."""
    if data_dir is not None:
        cfg.data_dir = str(Path(data_dir).resolve())
    record = run.provenance.get("data_files")
    if not record:  # an older rnnlab's run, or an edited provenance.json
        data = load_data(cfg, registry, emit, generate=False)
        if data.files:
            raise DataError(f"{run.dir / 'provenance.json'}: records no data files, so nothing "
                            f"shows that {next(iter(data.files.values()))} is the data run "
                            f"{run.id} was trained on; refusing to use it")
        emit(Note(f"warning: dataset '{cfg.data}' names no data files: run {run.id}'s data "
                  "cannot be checked"))
        return cfg, data
    if not isinstance(record, dict) or not all(
            isinstance(e, dict) and isinstance(e.get("path"), str)
            and isinstance(e.get("sha256"), str) for e in record.values()):
        raise RnnlabError(f"{run.dir / 'provenance.json'}: 'data_files' is malformed")
    hint = ("; if the data moved, point --data-dir at the copy" if data_dir is None else "")
    for split, entry in record.items():
        expected = Path(entry["path"])
        if data_dir is not None and isinstance(entry.get("relative"), str):
            expected = Path(data_dir) / entry["relative"]
        if not expected.is_file():
            if expected.exists():
                raise DataError(f"{expected}: not a regular file; run {run.id} was trained on "
                                f"a file there{hint}")
            if entry.get("relative") is None:
                continue  # found by the dataset itself (e.g. bundled files); checked below
            raise DataError(f"{expected}: missing; run {run.id} was trained on it{hint}")
        if _sha256(expected)[0] != entry["sha256"]:
            raise DataError(f"{expected}: differs from the {split} data run {run.id} was "
                            f"trained on (sha256 {entry['sha256'][:12]}...); refusing to use "
                            "other data")
    data = load_data(cfg, registry, emit, generate=False)
    loaded = data_record(data, cfg.data_dir)
    for split, entry in record.items():
        got = loaded.get(split)
        if got is None or got["sha256"] != entry["sha256"]:
            where = got["path"] if got else f"the {split} split"
            raise DataError(f"{where}: differs from the {split} data run {run.id} was trained "
                            f"on (sha256 {entry['sha256'][:12]}...){hint}")
    return cfg, data


def prepare(cfg: TrainConfig, registry: Registry, emit: EventSink = ignore,
            data: Data | None = None) -> Session:
    """Load the data (unless given) and build a freshly initialised, seeded model."""
    model_plugin = registry.get("model", cfg.model)  # an unknown name fails before loading
    if data is None:
        data = load_data(cfg, registry, emit)
    return _session(cfg, registry, data, model_plugin)


def _session(cfg: TrainConfig, registry: Registry, data: Data,
             model_plugin: Any = None) -> Session:
    """A freshly initialised, seeded model for `data`."""
    model_plugin = model_plugin or registry.get("model", cfg.model)
    learner, device = make_learner(model_plugin, data.spec, cfg)
    return Session(cfg, model_plugin, registry.get("dataset", cfg.data), data, learner, device,
                   registry.label("model", cfg.model))


def make_learner(model_plugin: Any, spec: DataSpec, cfg: TrainConfig) -> tuple[Learner, str]:
    """Seed, build the plugin's model and wrap a torch module; returns (learner, device).
    The plugin sees its own settings only. A learner that trains itself must be able to do
    what the options ask (a schedule, an optimizer option), or the run is refused."""
    import torch

    torch.manual_seed(cfg.seed)
    own = plugin_settings(cfg.settings, "model", model_plugin.settings)
    built = model_plugin.build(spec, dataclasses.replace(cfg, settings=own))
    if isinstance(built, Learner):
        if cfg.device == "cuda":
            raise UsageError(f"--device cuda: model '{cfg.model}' runs on the CPU only")
        if cfg.lr_schedule != "constant" and not isinstance(built, SetsLearningRate):
            raise UsageError(f"--lr-schedule {cfg.lr_schedule}: model '{cfg.model}' cannot "
                             "change its learning rate (its learner has no set_lr)")
        honoured = built.options if isinstance(built, HonoursOptions) else frozenset()
        defaults = TrainConfig()
        for option in sorted(OPTIMIZER_OPTIONS - set(honoured)):
            if getattr(cfg, option) != getattr(defaults, option):
                flag = "--" + option.replace("_", "-")
                raise UsageError(f"{flag} {getattr(cfg, option)}: model '{cfg.model}' updates "
                                 f"its weights by its own rule, which does not apply {flag}")
        return built, "cpu"
    if not isinstance(built, torch.nn.Module):
        raise PluginError(
            f"model '{cfg.model}': build() returned {type(built).__name__}, expected a "
            "torch.nn.Module or an rnnlab.Learner"
        )
    from rnnlab.torch_learner import TorchLearner, pick_device

    device = pick_device(cfg.device)
    return TorchLearner(built, cfg, device), str(device)


def evaluate_split(session: Session, split: Split) -> dict[str, float]:
    y = session.learner.predict(split.x)  # (N, M)
    scores = session.data_plugin.metrics(y, split.t)
    key = session.data_plugin.primary_metric
    if not isinstance(scores, dict) or key not in scores:
        got = ", ".join(map(str, scores)) if isinstance(scores, dict) else type(scores).__name__
        raise PluginError(f"dataset '{session.config.data}': metrics() returned no "
                          f"'{key}', its primary_metric (got: {got or 'nothing'})")
    return {k: float(v) for k, v in scores.items()}


def check_data(data: Any, name: str) -> None:
    """What a dataset's load() returned must be Data whose splits fit its spec; the error
    names the dataset (a mismatch would otherwise surface as the model's fault)."""
    if not isinstance(data, Data):
        raise PluginError(f"dataset '{name}': load() returned {type(data).__name__}, "
                          "expected rnnlab.Data")
    spec = data.spec
    for split_name in ("train", "dev", "test"):
        split = getattr(data, split_name)
        if split is None:
            continue
        x, t = np.shape(split.x), np.shape(split.t)
        want = (spec.length, spec.input_dim) if spec.kind == "sequence" else (spec.input_dim,)
        problem = ""
        if len(x) != len(want) + 1 or tuple(x[1:]) != want:
            problem = f"x has shape {x}, expected (N, {', '.join(map(str, want))})"
        elif len(t) != 2 or t[1] != spec.output_dim or t[0] != x[0]:
            problem = f"t has shape {t}, expected ({x[0]}, {spec.output_dim})"
        if problem:
            raise PluginError(f"dataset '{name}': the {split_name} split does not fit its "
                              f"DataSpec: {problem}")


def _stages(cfg: TrainConfig, n: int, rng: np.random.Generator) -> list[list[Any]]:
    """Batches grouped into stages (epochs, or evaluation intervals of an update budget).
    With --shuffle, epoch e's order is a permutation seeded by (seed, e): resumable."""
    if cfg.updates is None:
        starts = range(0, n, cfg.batch_size)
        if not cfg.shuffle:
            return [[slice(i, i + cfg.batch_size) for i in starts]] * cfg.epochs
        orders = (np.random.default_rng([cfg.seed, e]).permutation(n)
                  for e in range(1, cfg.epochs + 1))
        return [[order[i : i + cfg.batch_size] for i in starts] for order in orders]
    stage = math.ceil(cfg.updates / EVALUATIONS_PER_UPDATE_RUN)
    batches = [rng.integers(0, n, cfg.batch_size) for _ in range(cfg.updates)]
    return [batches[i : i + stage] for i in range(0, cfg.updates, stage)]


def provenance(cfg: TrainConfig, session: Session, registry: Registry) -> dict[str, Any]:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = None
    model_info = registry.find("model", cfg.model)
    data_info = registry.find("dataset", cfg.data)
    import torch

    return {
        "seed": cfg.seed,
        "rnnlab": version("rnnlab"),
        "model_plugin": {"dist": model_info.dist, "version": model_info.version},
        "dataset_plugin": {"dist": data_info.dist, "version": data_info.version},
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": session.device,
        "torch_threads": torch.get_num_threads(),
        "git_commit": commit,
        "command": sys.argv,
        "data_source": session.data.source,
    }


class RunInterrupted(KeyboardInterrupt):
    """Training stopped by SIGINT or SIGTERM; the run is saved and can be resumed."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


_stop_signals: list[int] = []  # SIGTERMs received: the run stops at the next batch


def request_stop(signum: int = signal.SIGTERM, frame: Any = None) -> None:
    """A signal handler: ask the running training to stop, save and mark itself interrupted.
    It only sets a flag; the loop acts on it between batches, never in the middle of I/O."""
    _stop_signals.append(signum)


def stop_requested() -> bool:
    return bool(_stop_signals)


@contextmanager
def sigterm_stops() -> Iterator[None]:
    """Within the block, SIGTERM asks for a stop (only the main thread can set handlers).
    The outermost block clears the request when it ends, so a later run starts afresh; a
    sweep worker, whose handler was already set, keeps it and starts no further cell."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous is not request_stop:
            _stop_signals.clear()


def run_config(run: Run) -> TrainConfig:
    """The configuration a run was started with."""
    saved = dict(run.config)
    try:
        return merge(saved)
    except (KeyError, UsageError) as exc:
        raise RnnlabError(f"{run.dir / 'config.yaml'}: not a valid run config ({exc})") from None


def train(cfg: TrainConfig | None = None, *, registry: Registry | None = None,
          emit: EventSink = ignore, resume: Run | None = None, data: Data | None = None,
          store: RunStore | None = None, tags: dict[str, Any] | None = None,
          data_files: dict[str, Any] | None = None, data_dir: str | Path | None = None,
          lock_wait: float = LOCK_WAIT) -> Run:
    """Train a model as configured, or continue an interrupted run from its last completed
    epoch (`resume`); returns the run (its summary says how it ended).

    `data` skips loading (it was loaded elsewhere; `data_files` is then its data_record),
    `store` overrides where the run directory goes (cfg.runs_dir is still recorded), `tags`
    are added to the summary (e.g. a sweep id). A resume uses exactly the data files the run
    recorded (under `data_dir` if they moved) and waits `lock_wait` seconds at most for a
    run that another process is writing."""
    started = time.perf_counter()
    registry = registry or default_registry()
    if resume is not None:
        given = (data, data_files) if data is not None and data_files is not None else None
        return _resume(resume, registry, emit, data_dir, lock_wait, started, given)
    assert cfg is not None
    cfg = dataclasses.replace(validate(cfg), data_dir=str(Path(cfg.data_dir).resolve()))
    limits.check_training(cfg, registry)  # before any data is generated or loaded
    if cfg.device == "cuda":  # before data is generated for a run that cannot start
        from rnnlab.torch_learner import pick_device

        pick_device(cfg.device)
    session = prepare(cfg, registry, emit, data)
    record = data_files if data_files is not None else data_record(session.data, cfg.data_dir)
    run, staging = (store or RunStore(cfg.runs_dir)).create_staged(cfg.model)
    lock = staging.lock()
    try:
        lock.acquire()
        # the first files go into a hidden folder, moved into place at once
        staging.write_config(cfg.to_dict())
        staging.write_provenance({**provenance(cfg, session, registry),
                                  "data_dir": cfg.data_dir, "data_files": record})
        summary: dict[str, Any] = {
            "status": "running", "model": cfg.model, "data": cfg.data, "L": cfg.L,
            "seed": cfg.seed, "primary_metric": session.data_plugin.primary_metric,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **(tags or {}),
        }
        staging.save_checkpoint(session.learner.state_dict(),
                                _optimizer_state(session.learner),
                                {"epoch": 0, "updates": 0})  # the last good state, from the start
        staging.write_summary(summary)
        RunStore(run.dir.parent).publish(staging, run)  # complete, or not there at all
    except BaseException:
        lock.release()
        RunStore(run.dir.parent).discard(run)  # a run that never started leaves nothing
        RunStore(run.dir.parent).discard(staging)
        raise
    try:
        return _train(session, run, summary, {"epoch": 0, "updates": 0}, emit, started)
    finally:
        lock.release()


def _resume(run: Run, registry: Registry, emit: EventSink,
            data_dir: str | Path | None, lock_wait: float, started: float,
            given: tuple[Data, dict[str, Any]] | None = None) -> Run:
    if run.status == "completed":  # final: refused without touching the run (checked again)
        raise UsageError(f"run {run.id} is already completed; nothing to resume")
    lock = run.lock()
    try:
        stale = lock.acquire(wait=lock_wait)
    except Locked as exc:
        raise RnnlabError(f"run {run.id} is being written by {describe(exc.holder)}; it can be "
                          "resumed once that process has ended") from None
    try:
        if stale:
            emit(Note(f"warning: run {run.id} was left locked by {describe(stale)}, which "
                      "has ended; taking it over"))
        if run.status == "completed":
            raise UsageError(f"run {run.id} is already completed; nothing to resume")
        cfg = validate(run_config(run))
        limits.check_training(cfg, registry)
        if given is None:
            cfg, data = recorded_data(run, cfg, registry, emit, data_dir)
        else:  # loaded elsewhere (a Dask client): it must be the data the run recorded
            data, files = given
            recorded = run.provenance.get("data_files") or {}
            if {k: e.get("sha256") for k, e in files.items()} != \
                    {k: e.get("sha256") for k, e in recorded.items() if isinstance(e, dict)}:
                raise DataError(f"run {run.id}: the data sent along is not the data it was "
                                "trained on (content hashes differ)")
        session = _session(cfg, registry, data)
        position = _restore(session, run)
        summary = {k: v for k, v in run.summary.items() if k not in ("reason", "test")}
        summary.update(status="running", resumed_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
        emit(Note(f"resuming run {run.id} after epoch {position['epoch']}"))
        run.write_summary(summary)
        return _train(session, run, summary, position, emit, started)
    finally:
        lock.release()


def _train(session: Session, run: Run, summary: dict[str, Any], position: dict[str, int],
           emit: EventSink, started: float) -> Run:
    """The loop, with the run's status recorded however it ends."""
    plugin = session.data_plugin
    emit(RunStarted(run.id, run.dir, session.config.to_dict(), tuple(plugin.percentages),
                    dict(plugin.baselines)))
    try:
        with sigterm_stops():
            summary.update(_loop(session, run, emit, position))
            summary["test"] = evaluate_split(session, session.data.test)
            summary["status"] = "completed"
            run.write_summary(summary)
            summary["files"] = _after_training(session, run, emit)
    except KeyboardInterrupt as exc:
        with signals_held():  # a second Ctrl-C must not cut the saving short
            code, name = (143, "SIGTERM") if isinstance(exc, Terminated) else (130, "SIGINT")
            message = (f"interrupted by {name}; run {run.id} is saved after epoch "
                       f"{position['epoch']} (continue with: rnnlab train --resume {run.id})")
            summary.update(status="interrupted", reason=message, epochs=position["epoch"],
                           updates=position["updates"])
            try:
                _trim(run, position)
            except RnnlabError:
                pass  # a resume trims them too
            problem = _finish(run, summary, started, emit)
        if problem:
            message += f"; its status could not be recorded ({problem})"
        raise RunInterrupted(message, code) from None
    except Exception as exc:
        if not isinstance(exc, RnnlabError):  # raised in the model's code, or a bug of ours
            text = " ".join(str(exc).split())
            error = PluginError(f"while training {session.model_label}: "
                                f"{type(exc).__name__}" + (f": {text}" if text else ""))
            summary.update(status="failed", reason=str(error))
            problem = _finish(run, summary, started, emit)
            if problem:
                error = PluginError(f"{error}; its status 'failed' could not be recorded "
                                    f"either ({problem})")
            raise error from exc
        reason = str(exc)
        summary.update(status="failed", reason=reason)
        problem = _finish(run, summary, started, emit)
        if problem:  # the first failure stays first; the message says the status is stale
            error = RnnlabError(f"{reason}; its status 'failed' could not be recorded either "
                                f"({problem})")
            error.exit_code = getattr(exc, "exit_code", 1)
            raise error from exc
        raise
    problem = _finish(run, summary, started, emit)
    if problem:
        raise RnnlabError(f"run {run.id} completed, but its status could not be recorded "
                          f"({problem})")
    return run


def _finish(run: Run, summary: dict[str, Any], started: float, emit: EventSink) -> str:
    """Record how the run ended. Returns '' or, if the summary cannot be written, why (the
    status on disk then still says 'running'; with the lock gone, `rnnlab runs` shows the run
    as abandoned)."""
    summary["wall_time_s"] = round(time.perf_counter() - started, 3)
    problem = ""
    try:
        run.write_summary(summary)
    except Exception as exc:  # e.g. the disk is full
        problem = " ".join(str(exc).split())
    emit(RunFinished(run.id, run.dir, summary))
    return problem


@contextmanager
def signals_held() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM are ignored (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT,
                                                                      signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _optimizer_state(learner: Learner) -> dict[str, Any]:
    return learner.optimizer_state() if isinstance(learner, HasOptimizerState) else {}


def _load_checkpoint(session: Session, run: Run, optimizer_too: bool = False
                     ) -> dict[str, int]:
    """Put the run's checkpoint into the session's fresh learner. The archive's headers are
    checked against the learner's own parameters before anything is read (names, shapes,
    sizes), and whatever the learner still refuses is an error naming the file."""
    fresh = session.learner.state_dict()
    expected = {k: tuple(np.shape(v)) for k, v in fresh.items()}
    params, optimizer, position = run.load_training_state(expected)
    path = run.dir / "model.npz"
    try:
        session.learner.load_state_dict(params)
        if optimizer_too and optimizer and isinstance(session.learner, HasOptimizerState):
            session.learner.load_optimizer_state(optimizer)
    except Exception as exc:
        raise RnnlabError(f"{path}: not a valid checkpoint of model '{session.config.model}' "
                          f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
                          ) from None
    return position


def _restore(session: Session, run: Run) -> dict[str, int]:
    """Load the last completed epoch's weights and optimizer state; drop later records."""
    position = _load_checkpoint(session, run, optimizer_too=True)
    _trim(run, position)
    return position


def _trim(run: Run, position: dict[str, int]) -> None:
    """Drop metrics and losses of an epoch whose checkpoint was not saved (an interrupt can
    land between the epoch's files), so the run records only completed epochs."""
    kept = [m for m in run.metrics if m.get("epoch", 0) <= position["epoch"]]
    run.write_metrics(kept)
    run.save_losses(run.losses()[: position["updates"]])


def _loop(session: Session, run: Run, emit: EventSink,
          position: dict[str, int]) -> dict[str, Any]:
    cfg, data, learner = session.config, session.data, session.learner
    plugin = session.data_plugin
    rng = np.random.default_rng(cfg.seed)
    stages = _stages(cfg, len(data.train), rng)
    losses: list[float] = list(run.losses()[: position["updates"]])
    history = [m for m in run.metrics if "epoch" in m]
    last = history[-1] if history else {}
    train_time = float(last.get("time_s", 0.0))
    done: dict[str, Any] = {"epochs": position["epoch"], "updates": len(losses),
                            "stopped_early": False, "train_time_s": round(train_time, 3)}
    if any(k.startswith("dev_") for k in last):
        done["dev"] = {k[4:]: v for k, v in last.items() if k.startswith("dev_")}
    for epoch, batches in enumerate(stages, start=1):
        if epoch <= position["epoch"]:
            continue
        if cfg.lr_schedule != "constant" and isinstance(learner, SetsLearningRate):
            learner.set_lr(epoch_lr(cfg, epoch, len(stages)))
        tick = time.perf_counter()
        epoch_losses = []
        for b, index in enumerate(batches, start=1):
            if _stop_signals:
                raise Terminated()
            loss = learner.train_step(data.train.x[index], data.train.t[index])
            if not math.isfinite(loss):
                raise RnnlabError(f"training diverged: loss became {loss} at epoch {epoch}, "
                                  f"batch {b} (run {run.id} keeps the checkpoint of epoch "
                                  f"{epoch - 1})")
            epoch_losses.append(loss)
            emit(Progress("epoch", b, len(batches), f"loss {loss:.4g}"))
        train_time += time.perf_counter() - tick
        losses.extend(epoch_losses)
        record: dict[str, Any] = {"epoch": epoch, "updates": len(losses),
                                  "train_loss": float(np.mean(epoch_losses))}
        if data.dev is not None:
            record.update({f"dev_{k}": v for k, v in evaluate_split(session, data.dev).items()})
        record["time_s"] = round(train_time, 3)
        # The checkpoint goes last: it marks the epoch complete. A resume trusts it and drops
        # any later metrics or losses, so an interruption between these writes loses nothing.
        run.save_losses(losses)
        run.append_metrics(record)
        run.save_checkpoint(learner.state_dict(), _optimizer_state(learner),
                            {"epoch": epoch, "updates": len(losses)})
        position.update(epoch=epoch, updates=len(losses))  # what an interruption keeps
        done.update(epochs=epoch, updates=len(losses), train_time_s=round(train_time, 3))
        if data.dev is not None:
            done["dev"] = {k[4:]: v for k, v in record.items() if k.startswith("dev_")}
        emit(EpochDone(epoch, len(stages), record, cfg.updates))
        target, key = cfg.early_stop, session.data_plugin.primary_metric
        score = record.get(f"dev_{key}")
        if target is not None and score is not None and (
                score > target if plugin.higher_is_better else score < target):
            done["stopped_early"] = True
            sign = ">" if plugin.higher_is_better else "<"
            emit(Note(f"dev {key} {score:.4g} {sign} {target:g}: stopping early"))
            break
    return done


def _after_training(session: Session, run: Run, emit: EventSink) -> list[str]:
    """Run the reports the model asks for (e.g. a learning curve) into the run directory."""
    import rnnlab

    files = []
    for name in session.model_plugin.after_training:
        try:
            result = rnnlab.report(name, [str(run.dir)], runs_dir=session.config.runs_dir,
                                   out_dir=run.dir)
        except RnnlabError as exc:  # the run itself is complete; say what is missing
            emit(Note(f"report '{name}' was not written: {exc}"))
            continue
        for path in result.files:
            emit(Note(f"wrote {path}"))
            files.append(Path(path).name)
    return files


def load_session(run: Run, registry: Registry | None = None,
                 emit: EventSink = ignore, data_dir: str | Path | None = None) -> Session:
    """Rebuild a run's model from its config and checkpoint, with the data it recorded."""
    registry = registry or default_registry()
    cfg, data = recorded_data(run, validate(run_config(run)), registry, emit, data_dir)
    session = _session(cfg, registry, data)
    _load_checkpoint(session, run)
    return session


def evaluate(run: Run, splits: tuple[str, ...] = ("dev", "test"), *,
             registry: Registry | None = None, emit: EventSink = ignore,
             data_dir: str | Path | None = None) -> dict[str, dict[str, float]]:
    """Metrics of a run's checkpoint on the given splits of the data it was trained on
    (logged to metrics.jsonl; refused while another process writes the run)."""
    lock = run.lock()
    try:
        lock.acquire(wait=LOCK_WAIT)
    except Locked as exc:
        raise RnnlabError(f"run {run.id} is being written by {describe(exc.holder)}; "
                          "evaluate it once that process has ended") from None
    try:
        session = load_session(run, registry, emit, data_dir)
        results = {}
        for name in splits:
            split = getattr(session.data, name, None)
            if split is not None:
                results[name] = evaluate_split(session, split)
        run.append_metrics({"evaluation": results, "at": time.strftime("%Y-%m-%dT%H:%M:%S")})
        return results
    finally:
        lock.release()
