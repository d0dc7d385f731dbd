"""How long and how much memory `rnnlab gradcheck` needs, and the refusal of a check that
needs too much."""

from __future__ import annotations

from typing import Any

from rnnlab.errors import UsageError
from rnnlab.limits import machine
from rnnlab.limits.costs import DATA_COSTS, MODEL_COSTS, PARAM_BYTES, PROCESS_BYTES, costs_of
from rnnlab.limits.seeds import check_seed
from rnnlab.limits.units import as_float, fmt_bytes, fmt_duration, fmt_int

GRADCHECK_TIME_LIMIT_S = 600.0
"""The gradient check is a test: 10 minutes at most. `rnnlab gradcheck alarmwork` (L=5,
batch 3, hidden 4) takes 0.6 s after start-up (estimated: 0.25 s)."""

GRADCHECK_STEP_SECONDS = 100e-6
"""Seconds per time step of one loss evaluation, per form, before the arithmetic counts:
measured 13-100 us (NumPy BPTT) and 220-460 us (autograd) at batch 3, hidden 4."""

GRADCHECK_FLOP_SECONDS = 10e-9
"""Added per sample x hidden^2 of a step: with it the estimate stays below the measured times
(e.g. 0.8 ms vs 1.9 ms per step over the 4 forms at L=200, batch 10, hidden 32)."""

GRADCHECK_DEFAULTS = {"L": 5, "batch": 3, "hidden": 4}


def gradcheck_cost(plugin: Any, L: int, batch: int, hidden: int, forms: int
                   ) -> tuple[float, float]:
    """(seconds, bytes) of a gradient check: two loss evaluations per weight per form."""
    m = costs_of(plugin, MODEL_COSTS)
    kind = "image" if "sequence" not in getattr(plugin, "kinds", ("sequence",)) else "sequence"
    values = DATA_COSTS[kind]["values"]
    steps = as_float(L) if kind == "sequence" else 1.0
    P, B = as_float(hidden), as_float(batch)
    params = (m["matrices"] * P * (P + values + 1) + P + 1 if kind == "sequence"
              else 2 * P * (values + 1))
    per_eval = steps * (GRADCHECK_STEP_SECONDS + GRADCHECK_FLOP_SECONDS * B * P * P)
    seconds = forms * (2 * params + 2) * per_eval
    memory = PROCESS_BYTES + 2 * B * steps * (P * m["train"] + 16 * values) \
        + PARAM_BYTES * params * forms
    return seconds, memory


def check_gradcheck(plugin: Any, model: str, L: int, batch: int, hidden: int, forms: int,
                    seed: int) -> None:
    check_seed("--seed", seed)
    given = {"L": L, "batch": batch, "hidden": hidden}
    seconds, memory = gradcheck_cost(plugin, L, batch, hidden, forms)
    limit = machine.memory_limit()
    if seconds <= GRADCHECK_TIME_LIMIT_S and memory <= limit:
        return
    by_time = seconds / GRADCHECK_TIME_LIMIT_S >= memory / limit

    def lowered(key: str) -> float:
        cost = gradcheck_cost(plugin, **{**given, key: GRADCHECK_DEFAULTS[key]}, forms=forms)
        return cost[0] if by_time else cost[1]

    keys = [k for k in given if given[k] > GRADCHECK_DEFAULTS[k]] or ["L"]
    key = min(keys, key=lowered)
    option = {"L": "--L", "batch": "--batch", "hidden": "--hidden"}[key]
    need = (f"take at least {fmt_duration(seconds)} (limit: "
            f"{fmt_duration(GRADCHECK_TIME_LIMIT_S)})" if by_time else
            f"need about {fmt_bytes(memory)} of memory ({machine.describe_limit()})")
    raise UsageError(f"{option} {fmt_int(given[key])}: the gradient check of {model} would "
                     f"{need}: two loss evaluations per weight in each of {forms} form(s); "
                     f"use a smaller {option}")
