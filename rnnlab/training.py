"""Training a run: start a new one, or resume an interrupted one from its last completed
epoch, and record how it ends whatever happens (its epochs are `epochs.py`). It emits events
and writes the run store; it never renders."""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rnnlab import checkpoint, epochs, limits, numerics, warm_start
from rnnlab.config import TrainConfig, validate
from rnnlab.contracts import Data, Learner
from rnnlab.errors import (
    PluginError,
    RnnlabError,
    RunInterrupted,
    UsageError,
    interrupt_code,
)
from rnnlab.events import EventSink, Note, RunFinished, RunStarted, ignore
from rnnlab.locks import Locked, describe
from rnnlab.provenance import check_given, data_record, provenance
from rnnlab.registry import Registry
from rnnlab.registry import default as default_registry
from rnnlab.run_files import RunDamaged
from rnnlab.runs import Run, RunStore
from rnnlab.session import (
    LOCK_WAIT,
    Session,
    build_session,
    evaluate_split,
    prepare,
    recorded_data,
    run_config,
)
from rnnlab.signals import (
    clear_stop,
    handled,
    request_stop,
    signal_of,
    stopped_by,
    stopped_how,
    stopping,
)

After = Callable[[Run, Session, EventSink], list[str]]  # after a completed run: files written


def train(cfg: TrainConfig | None = None, *, registry: Registry | None = None,
          emit: EventSink = ignore, resume: Run | None = None, data: Data | None = None,
          store: RunStore | None = None, tags: dict[str, Any] | None = None,
          data_files: dict[str, Any] | None = None, data_dir: str | Path | None = None,
          lock_wait: float = LOCK_WAIT, after: After | None = None,
          learner: Learner | None = None) -> Run:
    """Train a model as configured, or continue an interrupted run from its last completed
    epoch (`resume`); returns the run (its summary says how it ended).

    `data` skips loading (it was loaded elsewhere; `data_files` is then its data_record),
    `store` overrides where the run directory goes (cfg.runs_dir is still recorded), `tags`
    are added to the summary (e.g. a sweep id). A resume uses exactly the data files the run
    recorded (under `data_dir` if they moved) and waits `lock_wait` seconds at most for a
    run that another process is writing. `after` runs once the run has completed, still
    holding its lock; the names of the files it returns go into the summary's `files`.
    `learner` replaces the one `cfg` would build (a member of a pack, seeded as `cfg` says)."""
    started = time.perf_counter()
    registry = registry or default_registry()
    if resume is not None:
        given = (data, data_files) if data is not None and data_files is not None else None
        return _resume(resume, registry, emit, data_dir, lock_wait, started, given, after)
    assert cfg is not None
    cfg = dataclasses.replace(validate(cfg), data_dir=str(Path(cfg.data_dir).resolve()))
    limits.check_training(cfg, registry)  # before any data is generated or loaded
    if cfg.device == "cuda":  # before data is generated for a run that cannot start
        from rnnlab.torch_learner import pick_device

        pick_device(cfg.device)
    parent = warm_start.parent_run(cfg) if cfg.init_from else None
    if parent is not None:
        cfg = dataclasses.replace(cfg, init_from=parent.id)  # recorded as the run it is
    session = prepare(cfg, registry, emit, data, learner)
    warm = warm_start.start(session.learner, parent, cfg) if parent is not None else None
    record = data_files if data_files is not None else data_record(session.data, cfg.data_dir)
    run, staging = (store or RunStore(cfg.runs_dir)).create_staged(cfg.model)
    lock = staging.lock()
    try:
        lock.acquire()
        # the first files go into a hidden folder, moved into place at once
        staging.write_config(cfg.to_dict())
        staging.write_provenance({
            **provenance(cfg, registry, session.device, session.data.source),
            "data_dir": cfg.data_dir, "data_files": record,
            **({"init_from": warm} if warm is not None else {})})
        summary: dict[str, Any] = {
            "status": "running", "model": cfg.model, "data": cfg.data, "L": cfg.L,
            "seed": cfg.seed, "primary_metric": session.data_plugin.primary_metric,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **(tags or {}),
            **({"init_from": parent.id} if parent is not None else {}),
        }
        staging.save_checkpoint(session.learner.state_dict(),
                                checkpoint.optimizer_state(session.learner),
                                {"epoch": 0, "updates": 0})  # the last good state, from the start
        staging.write_summary(summary)
        RunStore(run.dir.parent).publish(staging, run)  # complete, or not there at all
    except BaseException:
        lock.release()
        RunStore(run.dir.parent).discard(run)  # a run that never started leaves nothing
        RunStore(run.dir.parent).discard(staging)
        raise
    try:
        return _train(session, run, summary, {"epoch": 0, "updates": 0}, emit, started, after)
    finally:
        lock.release()


def _resume(run: Run, registry: Registry, emit: EventSink,
            data_dir: str | Path | None, lock_wait: float, started: float,
            given: tuple[Data, dict[str, Any]] | None, after: After | None) -> Run:
    run.refresh()  # the run as it is on disk now, not as it was when `run` was made
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
        run.refresh()  # whoever held the lock may have written the run meanwhile
        damaged = run.check()
        if damaged:  # refused before anything of it is rewritten
            raise RunDamaged(f"run {run.id} is damaged: {damaged}")
        if run.status == "completed":
            raise UsageError(f"run {run.id} is already completed; nothing to resume")
        cfg = validate(run_config(run))
        limits.check_training(cfg, registry)
        if given is None:
            cfg, data = recorded_data(run, cfg, registry, emit, data_dir)
        else:  # loaded elsewhere (a Dask client): it must be the data the run recorded
            data, files = given
            check_given(run, files)
        session = build_session(cfg, registry, data)
        position = checkpoint.restore(session.learner, run, cfg.model)
        if run.summary.get("stopped_early") is True:  # its training had ended: test it only
            position["stopped_early"] = True
        summary = {k: v for k, v in run.summary.items() if k not in ("reason", "test")}
        summary.update(status="running", resumed_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
        emit(Note(f"resuming run {run.id} after epoch {position['epoch']}"))
        run.write_summary(summary)
        # the wall time is that of all its sessions: the earlier ones' as recorded (for one
        # killed before it could record it, its training time up to the epoch kept)
        history = [m for m in run.metrics if "epoch" in m]
        before = summary.get("wall_time_s", history[-1].get("time_s", 0) if history else 0)
        started -= float(before) if isinstance(before, (int, float)) else 0.0
        return _train(session, run, summary, position, emit, started, after)
    finally:
        lock.release()


@contextmanager
def _sigterm_stops() -> Iterator[None]:
    """Within the block, SIGTERM (and SIGHUP) asks the loop to stop (rnnlab.signals). The
    block that set the handler clears the request when it ends, so a later run starts
    afresh; a sweep worker, whose handler was already set, keeps it and starts no further
    cell."""
    previous: dict[int, Any] = {}
    try:
        with handled(request_stop, *stopping()) as previous:
            yield
    finally:
        if previous and previous[signal.SIGTERM] is not request_stop:
            clear_stop()


def _train(session: Session, run: Run, summary: dict[str, Any], position: dict[str, int],
           emit: EventSink, started: float, after: After | None) -> Run:
    """The loop, with the run's status recorded however it ends."""
    plugin = session.data_plugin
    emit(RunStarted(run.id, run.dir, session.config.to_dict(), tuple(plugin.percentages),
                    dict(plugin.baselines)))
    try:
        with _sigterm_stops(), numerics.one_torch_thread():  # as the command line does
            summary.update(epochs.loop(session, run, emit, position))
            summary["test"] = evaluate_split(session, session.data.test)
            summary["status"] = "completed"
            run.write_summary(summary)
            # the run is complete: Ctrl-C now waits for its reports (a second of drawing)
            # rather than leave them half written and the run 'interrupted'
            with handled(request_stop, signal.SIGINT) as previous:
                summary["files"] = after(run, session, emit) if after is not None else []
            if previous and stopped_by() == signal.SIGINT:
                emit(Note(f"interrupted after run {run.id} had completed: its reports were "
                          "written first"))
    except KeyboardInterrupt as exc:
        # a second Ctrl-C must not cut the saving short
        with handled(signal.SIG_IGN, signal.SIGINT, *stopping()):
            code = interrupt_code(exc)
            message = (f"interrupted {stopped_how(signal_of(exc))}; run {run.id} is saved after "
                       f"epoch {position['epoch']} (continue with: rnnlab train --resume {run.id})")
            summary.update(status="interrupted", reason=message, epochs=position["epoch"],
                           updates=position["updates"])
            try:
                checkpoint.trim(run, position)
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
