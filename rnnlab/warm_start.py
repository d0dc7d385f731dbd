"""Warm starts: a run that begins from another run's last checkpoint (`--init-from RUN`), with
its optimizer state too if asked (`--init-optimizer`). The parent must be a completed run of
the same model whose weights have this run's shapes; the run records which run, which epoch
and which checkpoint file it started from, so its lineage can be traced back.

Training budgets are counted in sequence-steps (sequences seen x their length), summed over a
run's ancestors, so a curriculum (L = 50, then 100, then 200) and a run at L = 200 from
scratch can be compared at equal cost."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from rnnlab.config import TrainConfig
from rnnlab.contracts import HasOptimizerState, Learner
from rnnlab.errors import RnnlabError, UsageError
from rnnlab.provenance import file_sha256
from rnnlab.registry import Registry
from rnnlab.registry import default as default_registry
from rnnlab.run import Run
from rnnlab.run_files import RunDamaged
from rnnlab.runs import RunStore
from rnnlab.settings import plugin_settings


def parent_run(cfg: TrainConfig) -> Run:
    """The run `cfg.init_from` names (id, unique id prefix or directory), checked: completed,
    and of the same model."""
    ref = str(cfg.init_from)
    try:
        parent = RunStore(cfg.runs_dir).get(ref)
    except UsageError as exc:
        raise UsageError(f"--init-from {ref}: {exc}") from None
    damaged = parent.check()
    if damaged:
        raise RunDamaged(f"--init-from {ref}: run {parent.id} is damaged: {damaged}")
    status = parent.state()
    if status != "completed":
        hint = (f" (continue it first: rnnlab train --resume {parent.id})"
                if status in ("interrupted", "abandoned") else "")
        raise UsageError(f"--init-from {ref}: run {parent.id} is {status}, not completed; a "
                         f"warm start begins from a completed run{hint}")
    model = parent.config.get("model")
    if model != cfg.model:
        raise UsageError(f"--init-from {ref}: run {parent.id} trained model '{model}', not "
                         f"'{cfg.model}'")
    if cfg.init_optimizer and parent.config.get("optimizer") != cfg.optimizer:
        raise UsageError(f"--init-optimizer: run {parent.id} trained with "
                         f"{parent.config.get('optimizer')}, this run with {cfg.optimizer}; "
                         "the optimizer state of one cannot continue the other")
    momentum = parent.config.get("momentum")
    if cfg.init_optimizer and cfg.optimizer == "sgd" and (not momentum) != (not cfg.momentum):
        raise UsageError(f"--init-optimizer: run {parent.id} trained with momentum {momentum}, "
                         f"this run with {cfg.momentum:g}; SGD keeps momentum buffers only with "
                         "momentum, so one cannot continue the other")
    ours = model_settings(cfg)
    theirs = model_settings(dataclasses.replace(cfg, settings=parent.config.get("settings") or {}))
    differ = sorted(k for k in ours if theirs[k] != ours[k])
    if cfg.init_optimizer and differ:  # e.g. another implementation keeps other buffers
        said = ", ".join(f"{k}={theirs[k]} there, {ours[k]} here" for k in differ)
        raise UsageError(f"--init-optimizer: run {parent.id} was trained with other settings "
                         f"({said}); the optimizer state's layout depends on them (drop "
                         "--init-optimizer or use the same settings)")
    return parent


def model_settings(cfg: TrainConfig, registry: Registry | None = None) -> dict[str, Any]:
    """The model's own settings in a configuration, defaults filled in (a dataset's settings,
    e.g. which samples an epoch sees, leave the model and its optimizer state as they are)."""
    declared = (registry or default_registry()).get("model", cfg.model).settings
    return plugin_settings(cfg.settings, "model", declared)


def start(learner: Learner, parent: Run, cfg: TrainConfig) -> dict[str, Any]:
    """Put `parent`'s last checkpoint into the fresh `learner`; returns what provenance.json
    records of it."""
    if cfg.init_optimizer and not isinstance(learner, HasOptimizerState):
        raise UsageError(f"--init-optimizer: model '{cfg.model}' does not hand out its "
                         "optimizer state")
    expected = {k: tuple(np.shape(v)) for k, v in learner.state_dict().items()}
    params, optimizer, position = training_state(parent, cfg, expected)
    stateless = cfg.optimizer == "sgd" and not cfg.momentum  # plain SGD keeps no buffers
    if cfg.init_optimizer and not optimizer and not stateless:
        raise UsageError(f"--init-optimizer: run {parent.id}'s checkpoint holds no optimizer "
                         "state")
    path = parent.dir / "model.npz"
    try:
        learner.load_state_dict(params)
        if cfg.init_optimizer:
            assert isinstance(learner, HasOptimizerState)
            learner.load_optimizer_state(optimizer)
    except Exception as exc:
        raise UsageError(f"--init-from {parent.id}: {path} does not load into model "
                         f"'{cfg.model}' ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from None
    return {"run": parent.id, "dir": str(parent.dir.resolve()), "epoch": position["epoch"],
            "updates": position["updates"], "checkpoint_sha256": file_sha256(path)[0],
            "optimizer": cfg.init_optimizer, "L": parent.config.get("L"),
            "total_sequence_steps": total_sequence_steps(parent)}


def training_state(parent: Run, cfg: TrainConfig, expected: dict[str, tuple[int, ...]] | None
                   ) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
    """The parent's checkpoint (weights, optimizer state, position), its weights checked
    against the `expected` shapes of this run's model (None: not checked)."""
    try:
        return parent.load_training_state(expected)
    except RunDamaged as exc:  # not a question of fit: the file itself is broken
        raise RunDamaged(f"--init-from {parent.id}: {exc}") from None
    except RnnlabError as exc:
        text = str(exc)
        why = text[text.find("(") + 1:-1] if text.endswith(")") else text
        raise UsageError(f"--init-from {parent.id}: its weights do not fit this run's model "
                         f"({why}){_differences(parent, cfg)}") from None


def _differences(parent: Run, cfg: TrainConfig) -> str:
    """'; it was trained with hidden=100' for the options that shape a model."""
    theirs, ours = parent.config, cfg.to_dict()
    keys = ["hidden", "data"] + sorted(set(theirs.get("settings") or {}) | set(cfg.settings))
    said = []
    for key in keys:
        a = (theirs.get("settings") or {}).get(key) if key in cfg.settings else theirs.get(key)
        b = cfg.settings.get(key) if key in cfg.settings else ours.get(key)
        if a != b:
            said.append(f"{key}={a} there, {b} here")
    return f"; {', '.join(said)}" if said else ""


def sequence_steps(cfg: TrainConfig, train_size: int, epochs: int, updates: int) -> int:
    """Sequence-steps of training: sequences seen (every one per epoch; `batch_size` per
    update of an update-budget run) times their length (1 for data without steps)."""
    seen = updates * cfg.batch_size if cfg.updates is not None else epochs * train_size
    return seen * (cfg.L or 1)


def total_sequence_steps(run: Run) -> int | None:
    """A run's sequence-steps with its ancestors' (None where a run does not say)."""
    summary = run.summary
    total = summary.get("total_sequence_steps", summary.get("sequence_steps"))
    return int(total) if isinstance(total, (int, float)) else None
