"""How much memory and time a training run needs, and the refusal of one that needs too much.

The homework defaults (L=100, 10,000/1,000/1,000 sequences, hidden 50, batch 20, 50 epochs)
come to about 0.3 GB and at least 40 s; every limit is far above that. Checked against whole
runs of `rnnlab train MODEL --L 1000 --epochs 1`: alarmwork peaked at 881 MB, lstm at 866 MB;
the estimate is 1.13 GB for both (it uses the costliest model's figures), 847 MB with
alarmwork's own figures."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from rnnlab.errors import RnnlabError, UsageError
from rnnlab.limits import machine
from rnnlab.limits.costs import (
    DEFAULT_SIZES,
    EVAL_CHUNK,
    INDEX_BYTES,
    LOSS_BYTES,
    MODEL_COSTS,
    PARAM_BYTES,
    PROCESS_BYTES,
    SEQ_STEP_SECONDS,
    costs_of,
    data_costs,
)
from rnnlab.limits.units import as_float, fmt_bytes, fmt_duration, fmt_int

TIME_LIMIT_S = 30 * 86400.0
"""A training run may not take more than 30 days, estimated at the fastest rate measured."""

# the options an estimate can blame, with the homework value each is compared against
BLAME = (("L", "--L", 100), ("batch_size", "--batch-size", 20), ("hidden", "--hidden", 50),
         ("epochs", "--epochs", 50), ("updates", "--updates", 1000))


@dataclasses.dataclass
class Plan:
    """What a training run's estimate depends on besides its config."""

    sizes: dict[str, int]
    kind: str
    model: dict[str, float]
    data: dict[str, float]

    def steps(self, cfg: Any) -> float:
        return as_float(cfg.L) if self.kind == "sequence" and cfg.L else 1.0


def _plugins(cfg: Any, registry: Any) -> tuple[Any, Any]:
    """The model and dataset plugins of a config from `registry` (anything with
    get(kind, name)), or None where they cannot be found: the estimate then uses the defaults
    (a missing plugin is reported elsewhere). Taking the registry as an argument keeps the
    limits free of imports from the rest of rnnlab."""
    model = data = None
    if registry is None:
        return model, data
    try:
        model = registry.get("model", cfg.model) if cfg.model else None
        name = cfg.data or getattr(model, "data", "")
        data = registry.get("dataset", name) if name else None
    except RnnlabError:
        pass
    return model, data


def plan_for(cfg: Any, registry: Any = None) -> Plan:
    model, data = _plugins(cfg, registry)
    kind = getattr(data, "kind", None) or ("sequence" if cfg.L is not None else "image")
    sizes = dict(getattr(data, "sizes", None) or DEFAULT_SIZES)
    return Plan(sizes, kind, costs_of(model, MODEL_COSTS), data_costs(data, kind))


def _updates(cfg: Any, plan: Plan) -> float:
    if cfg.updates is not None:
        return as_float(cfg.updates)
    return as_float(cfg.epochs) * math.ceil(as_float(plan.sizes.get("train", 1))
                                            / as_float(cfg.batch_size))


def training_memory(cfg: Any, plan: Plan) -> float:
    """Peak bytes of a training run: the larger of making/reading its data and training on it.

    Data: the dataset's default sizes, as training generates missing files with them (files
    made bigger with gen-data were bounded by gen-data). Training: the data kept, the weights,
    the loss record, and the larger of one batch's activations and one evaluation chunk's."""
    steps, d, m = plan.steps(cfg), plan.data, plan.model
    counts = [as_float(n) for n in plan.sizes.values()] or [1.0]
    total, largest = sum(counts) * steps, max(counts) * steps
    make = d["file"] * total + d["make"] * largest
    load = d["load"] * largest + d["kept"] * (total - largest)
    P, B = as_float(cfg.hidden), as_float(cfg.batch_size)
    values = d["values"]
    if plan.kind == "sequence":
        params = m["matrices"] * P * (P + values + 1) + P + 1
    else:  # an encoder and a decoder
        params = 2 * P * (values + 1)
    K = cfg.settings.get("checkpoint_every", 0) if isinstance(cfg.settings, dict) else 0
    if isinstance(K, int) and 0 < K < steps:  # segments of K steps, a checkpoint per segment
        batch = B * P * (m["train"] * K + 8 * steps / K)
    else:
        batch = B * P * steps * m["train"]
    evaluated = [as_float(n) for split, n in plan.sizes.items() if split != "train"]
    chunk = min(float(EVAL_CHUNK), max(evaluated, default=float(EVAL_CHUNK)))
    predict = chunk * P * steps * m["predict"]
    per_update = LOSS_BYTES + ((INDEX_BYTES + 8 * B)
                               if cfg.updates is not None or cfg.shuffle else 0)
    train = (d["kept"] * total + PARAM_BYTES * params + per_update * _updates(cfg, plan)
             + max(batch, predict))
    return PROCESS_BYTES + max(make, load, train)


def training_seconds(cfg: Any, plan: Plan) -> float:
    """A lower estimate of the training time (SEQ_STEP_SECONDS, evaluations not counted)."""
    if cfg.updates is not None:
        samples = as_float(cfg.updates) * as_float(cfg.batch_size)
    else:
        samples = as_float(cfg.epochs) * as_float(plan.sizes.get("train", 1))
    return samples * plan.steps(cfg) * SEQ_STEP_SECONDS * max(1.0, as_float(cfg.hidden) / 50)


def _blame(cfg: Any, measure: Callable[[Any], float]) -> tuple[str, Any]:
    """The option whose homework value would lower `measure` the most: the one to name."""
    best, best_value = None, math.inf
    for key, option, default in BLAME:
        value = getattr(cfg, key)
        if value is None or value <= default or (key == "epochs" and cfg.updates is not None):
            continue
        lowered = measure(dataclasses.replace(cfg, **{key: default}))
        if lowered < best_value:
            best, best_value = (option, value), lowered
    if best is None:
        best = ("--L", cfg.L) if cfg.L is not None else ("--hidden", cfg.hidden)
    return best


def _memory_hint(cfg: Any, plan: Plan, option: str, limit: float) -> str:
    """What to do about a run that needs too much memory: a smaller `option`, or checkpointing
    where that alone would make it fit.

    Known wart: this (and the checkpoint segments in training_memory) names one bundled
    model's settings (checkpoint_every, impl, layer_out); the core should learn them from
    the plugin's declarations instead."""
    hint = f"use a smaller {option}"
    K = cfg.settings.get("checkpoint_every") if isinstance(cfg.settings, dict) else None
    if K == 0 and cfg.L and cfg.settings.get("impl", "bptt") in ("auto", "bptt") \
            and cfg.settings.get("layer_out") != "scalar" and cfg.device != "cuda":
        K = max(1, round(math.sqrt(as_float(cfg.L))))
        lighter = dataclasses.replace(cfg, settings={**cfg.settings, "checkpoint_every": K})
        if training_memory(lighter, plan) <= limit:
            hint = f"use --set checkpoint_every={K} or a smaller {option}"
    return hint


def check_training(cfg: Any, registry: Any = None, plan: Plan | None = None) -> None:
    """Refuse a training config that needs more memory or time than allowed."""
    plan = plan or plan_for(cfg, registry)
    limit = machine.memory_limit()
    memory, seconds = training_memory(cfg, plan), training_seconds(cfg, plan)
    what = f"training {cfg.model or 'the model'}"
    if memory / limit >= seconds / TIME_LIMIT_S and memory > limit:
        option, value = _blame(cfg, lambda c: training_memory(c, plan))
        hint = _memory_hint(cfg, plan, option, limit)
        raise UsageError(f"{option} {fmt_int(value)}: {what} would need about "
                         f"{fmt_bytes(memory)} of memory ({machine.describe_limit()}); {hint}")
    if seconds > TIME_LIMIT_S:
        option, value = _blame(cfg, lambda c: training_seconds(c, plan))
        raise UsageError(f"{option} {fmt_int(value)}: {what} would take at least "
                         f"{fmt_duration(seconds)} (limit: {fmt_duration(TIME_LIMIT_S)}); use "
                         f"a smaller {option}")
