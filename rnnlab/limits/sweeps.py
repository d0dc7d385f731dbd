"""The bounds on a sweep: how many runs it may have and how many worker processes fit the
machine."""

from __future__ import annotations

import math
from typing import Any

from rnnlab.errors import UsageError
from rnnlab.limits import machine
from rnnlab.limits.training import Plan, plan_for, training_memory
from rnnlab.limits.units import fmt_bytes, fmt_int

WORKER_BYTES = 400e6
"""One sweep worker at the homework defaults: peak resident 311 MB (`rnnlab train alarmwork
--epochs 1`) and 393 MB (lstm), so 400 MB per worker process."""

JOBS_PER_CPU = 4
"""Worker processes run one thread each; more than 4 per core only adds switching."""

MAX_CELLS = 10_000
"""Runs per sweep. The homework sweep has 60; resolving and listing 10,000 cells takes seconds,
while 100,000,000 seeds took 120 s and 6.5 GB before printing anything."""


def check_seed_count(option: str, seeds: Any) -> None:
    """A number of seeds per cell, before the seeds are listed."""
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise UsageError(f"{option} expects an integer >= 1, got {seeds!r}")
    if seeds > MAX_CELLS:
        runs = f"{seeds:,}" if seeds < 10**24 else fmt_int(seeds)
        raise UsageError(f"{option} {fmt_int(seeds)}: the sweep would have at least {runs} runs "
                         f"(limit: {MAX_CELLS:,} runs per sweep)")


def check_cells(grids: list[tuple[str, dict[str, list[Any]]]], where: str) -> None:
    """The number of runs of a grid (per recipe: the product of its axes), before expanding."""
    total = sum(math.prod(len(v) for v in axes.values()) for _, axes in grids)
    if total > MAX_CELLS:
        sizes = " x ".join(f"{k} {len(v):,}" for k, v in grids[0][1].items())
        if len(grids) > 1:
            sizes = f"{len(grids)} recipes, the first: {sizes}"
        raise UsageError(f"{where}: the grid would have {total:,} runs ({sizes}; limit: "
                         f"{MAX_CELLS:,} runs per sweep)")


def check_jobs(jobs: int, workers: int | None = None, per_worker: float = WORKER_BYTES) -> None:
    """Worker processes that fit the memory available now and the CPU cores."""
    per_worker = max(per_worker, WORKER_BYTES)
    available = machine.available_memory()
    by_memory = max(1, int(available // per_worker))
    cores = machine.cpu_count()
    cap = min(by_memory, JOBS_PER_CPU * cores)
    if min(jobs, workers or jobs) > cap:
        raise UsageError(f"--jobs {fmt_int(jobs)}: at most {cap} worker processes here "
                         f"(about {fmt_bytes(per_worker)} each, {fmt_bytes(available)} "
                         f"available: room for {by_memory}; {cores} CPU cores x "
                         f"{JOBS_PER_CPU} = {JOBS_PER_CPU * cores})")


def worker_memory(configs: list[Any], registry: Any = None) -> float:
    """Bytes one sweep worker needs: the largest training run among `configs`."""
    plans: dict[tuple[str, str], Plan] = {}
    need = 0.0
    for cfg in configs:
        key = (cfg.model, cfg.data)
        if key not in plans:
            plans[key] = plan_for(cfg, registry)
        plan = plans[key]
        need = max(need, training_memory(cfg, plan))
    return need
