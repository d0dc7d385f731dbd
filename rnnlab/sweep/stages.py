"""Warm starts in a sweep, checked before any run: each stage of a curriculum fits the one
before it (the weights' shapes, and with `init_optimizer` the optimizer and the model's
settings), and the run a sweep's `init_from` names is there, fits and can be read."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from rnnlab.config import TrainConfig
from rnnlab.errors import RnnlabError, UsageError
from rnnlab.files import short
from rnnlab.registry import Registry
from rnnlab.runs import RunStore


def check_stage(before: TrainConfig, cfg: TrainConfig, number: int, where: str,
                registry: Registry) -> None:
    """A stage starts from the previous stage's weights (and optimizer state): what shapes
    them must stay the same."""
    from rnnlab.warm_start import model_settings

    own = model_settings(cfg, registry), model_settings(before, registry)
    pairs = [("hidden", cfg.hidden, before.hidden, "weights"),
             ("data", cfg.data, before.data, "weights")]
    if cfg.init_optimizer:  # the optimizer state's layout may depend on any model setting
        pairs.append(("optimizer", cfg.optimizer, before.optimizer, "model and optimizer"))
        if cfg.optimizer == "sgd" and (not cfg.momentum) != (not before.momentum):
            pairs.append(("momentum", cfg.momentum, before.momentum, "momentum buffers"))
        pairs += [(f"setting {k}", value, own[1][k], "model and optimizer")
                  for k, value in sorted(own[0].items())]
    for what, mine, theirs, continued in pairs:
        if mine != theirs:
            raise UsageError(f"{where}: stage {number}: {what} {short(mine)} differs from stage "
                             f"{number - 1}'s {short(theirs)}; a stage continues the previous "
                             f"stage's {continued}")
    if own[0] == own[1]:  # only a model setting can give its weights other shapes
        return
    mine, theirs = _weights(cfg, registry), _weights(before, registry)
    if mine is None or theirs is None or mine == theirs:
        return
    name = next(k for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k))
    changed = ", ".join(f"{k}={short(v)}" for k, v in sorted(own[0].items()) if v != own[1][k])
    raise UsageError(f"{where}: stage {number}: {changed} gives {name} the shape "
                     f"{mine.get(name)}, not stage {number - 1}'s {theirs.get(name)}; a stage "
                     "continues the previous stage's weights")


def _weights(cfg: TrainConfig, registry: Registry) -> dict[str, tuple[int, ...]] | None:
    """The shapes of the parameters a configuration's model starts with; None where they
    cannot be told before its data is there (the stage then says what does not fit)."""
    from rnnlab.contracts import example_of
    from rnnlab.session import make_learner

    try:
        dataset = registry.get("dataset", cfg.data)
        spec, _ = example_of(dataset, cfg.L, 1, cfg.seed, Path(cfg.data_dir or "datasets"))
        learner, _ = make_learner(registry.get("model", cfg.model), spec,
                                  dataclasses.replace(cfg, device="cpu"))
        return {k: tuple(getattr(v, "shape", ())) for k, v in learner.state_dict().items()}
    except Exception:  # noqa: BLE001 - any failure is the stage's to report when it runs
        return None


def parent_id(cfg: TrainConfig, sweep_id: str, where: str, checked: dict[str, str],
              registry: Registry) -> str:
    """The run a cell warm-starts from (its directory as given, else its id), checked to exist
    and fit; each such question is asked once. An id prefix names the run it names now,
    leaving out the sweep's own runs, which may share it: every cell and every rerun of the
    sweep starts from that run."""
    from rnnlab import warm_start

    question = json.dumps([cfg.init_from, cfg.runs_dir, cfg.model, cfg.optimizer,
                           cfg.init_optimizer, cfg.settings, cfg.hidden, cfg.data],
                          sort_keys=True, default=str)
    if question not in checked:
        ref = str(cfg.init_from)
        path = (Path(ref) / "config.yaml").is_file()
        if not path:
            theirs = [run.id for run in RunStore(cfg.runs_dir)
                      if run.id.startswith(ref) and run.summary.get("sweep") != sweep_id]
            ref = theirs[0] if len(theirs) == 1 else ref
        try:
            parent = warm_start.parent_run(dataclasses.replace(cfg, init_from=ref))
            # a missing or broken checkpoint, or weights of other shapes: found now
            warm_start.training_state(parent, cfg, _weights(cfg, registry))
        except RnnlabError as exc:
            raise type(exc)(f"{where}: {exc}") from None
        checked[question] = ref if path else parent.id
    return checked[question]
