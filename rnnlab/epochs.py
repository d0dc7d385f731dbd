"""A run's epochs: batches of the training data, each an update of the learner, then the
epoch's record (its mean loss, the dev metrics), its checkpoint, and early stop. Started and
ended by `training.py`, which records the run's status however this ends; a loop resumed after
an interruption starts after the last checkpointed epoch, with the batches that epoch would
have had."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from rnnlab import checkpoint, warm_start
from rnnlab.config import TrainConfig, epoch_lr
from rnnlab.contracts import SetsLearningRate
from rnnlab.errors import RnnlabError
from rnnlab.events import EpochDone, EventSink, Note, Progress
from rnnlab.runs import Run
from rnnlab.session import Session, evaluate_split
from rnnlab.signals import interruption, stop_requested, stopped_by

EVALUATIONS_PER_UPDATE_RUN = 10  # evaluation points of an update-based (not epoch) run


def batch_stages(cfg: TrainConfig, n: int, rng: np.random.Generator) -> list[list[Any]]:
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


def budget(session: Session, run: Run, epochs: int, updates: int) -> dict[str, int | None]:
    """The run's training so far in sequence-steps, alone and with its ancestors'."""
    own = warm_start.sequence_steps(session.config, len(session.data.train), epochs, updates)
    record = run.provenance.get("init_from")
    if not isinstance(record, dict):
        return {"sequence_steps": own, "total_sequence_steps": own}
    before = record.get("total_sequence_steps")
    total = own + int(before) if isinstance(before, (int, float)) else None
    return {"sequence_steps": own, "total_sequence_steps": total}


def loop(session: Session, run: Run, emit: EventSink, position: dict[str, int]
         ) -> dict[str, Any]:
    """Train from `position` (the epoch and updates the run's checkpoint holds) to the end or
    an early stop; returns what the summary records of it (epochs, updates, times, budget, the
    last dev metrics). A non-finite loss ends it with an error; a stop request (a signal)
    between batches, with KeyboardInterrupt or Terminated."""
    cfg, data, learner = session.config, session.data, session.learner
    plugin = session.data_plugin
    rng = np.random.default_rng(cfg.seed)
    stages = batch_stages(cfg, len(data.train), rng)
    losses: list[float] = list(run.losses()[: position["updates"]])
    history = [m for m in run.metrics if "epoch" in m]
    last = history[-1] if history else {}
    train_time = float(last.get("time_s", 0.0))
    # a run that stopped early and was interrupted after (in its test evaluation, say): it
    # has nothing left to train
    done: dict[str, Any] = {"epochs": position["epoch"], "updates": len(losses),
                            "stopped_early": bool(position.get("stopped_early")),
                            "train_time_s": round(train_time, 3),
                            **budget(session, run, position["epoch"], len(losses))}
    if any(k.startswith("dev_") for k in last):
        done["dev"] = {k[4:]: v for k, v in last.items() if k.startswith("dev_")}
    for epoch, batches in enumerate(stages, start=1):
        if epoch <= position["epoch"] or done["stopped_early"]:
            continue
        if cfg.lr_schedule != "constant" and isinstance(learner, SetsLearningRate):
            learner.set_lr(epoch_lr(cfg, epoch, len(stages)))
        tick = time.perf_counter()
        epoch_losses = []
        for b, index in enumerate(batches, start=1):
            if stop_requested():
                raise interruption(stopped_by())
            loss = learner.train_step(data.train.x[index], data.train.t[index])
            if not math.isfinite(loss):
                raise RnnlabError(f"training diverged: loss became {loss} at epoch {epoch}, "
                                  f"batch {b} (run {run.id} keeps the checkpoint of epoch "
                                  f"{epoch - 1})")
            epoch_losses.append(loss)
            emit(Progress("epoch", b, len(batches), f"loss {loss:.4g}", epoch, len(stages)))
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
        run.save_checkpoint(learner.state_dict(), checkpoint.optimizer_state(learner),
                            {"epoch": epoch, "updates": len(losses)})
        position.update(epoch=epoch, updates=len(losses))  # what an interruption keeps
        done.update(epochs=epoch, updates=len(losses), train_time_s=round(train_time, 3))
        if data.dev is not None:
            done["dev"] = {k[4:]: v for k, v in record.items() if k.startswith("dev_")}
        done.update(budget(session, run, epoch, len(losses)))
        emit(EpochDone(epoch, len(stages), record, cfg.updates))
        target, key = cfg.early_stop, session.data_plugin.primary_metric
        score = record.get(f"dev_{key}")
        if target is not None and score is not None and (
                score > target if plugin.higher_is_better else score < target):
            done["stopped_early"] = True
            sign = ">" if plugin.higher_is_better else "<"
            emit(Note(f"dev {key} {score:.4g} {sign} {target:g}: stopping early"))
            break
    if cfg.updates is not None:  # its stages are evaluation points, not epochs
        done["evaluations"] = done.pop("epochs")
    return done
