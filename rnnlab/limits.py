"""How much memory and time a command would need, and the bounds on options that follow.

Every check runs before anything is allocated, generated or written, and a refusal is one
UsageError naming the option, the estimate and the limit. The numbers below were measured on
the machine of the README (2-core AMD EPYC VM, 25.3 GB, one thread, NumPy 2.4, torch 2.13 CPU)
with /usr/bin/time -v (peak resident set of a whole command) or by sampling /proc/self/statm
around one call in a fresh process (as benchmarks/epoch.py does). "GB" is 10^9 bytes.

The homework defaults (L=100, 10,000/1,000/1,000 sequences, hidden 50, batch 20, 50 epochs)
come to about 0.3 GB and at least 40 s; every limit is far above that. Checked against whole
runs of `rnnlab train MODEL --L 1000 --epochs 1`: alarmwork peaked at 881 MB, lstm at 866 MB;
the estimate is 1.13 GB for both (it uses the costliest model's figures), 847 MB with
alarmwork's own figures.

Plugins may state their own costs in a class attribute `costs` (keys as in MODEL_COSTS and
DATA_COSTS below); without one, the figures of the bundled plugin that costs most are used.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from typing import Any

from rnnlab.errors import RnnlabError, UsageError

SEED_MAX = 2**32 - 1
"""Seeds are 0..2^32-1: NumPy's SeedSequence refuses negative seeds and torch.manual_seed
refuses 2^64 and beyond (it takes -1, which NumPy does not); 32 bits suit both."""

GB = 1e9

DEFAULT_LIMIT = 2 * GB
"""What one command may plan on unless RNNLAB_MEMORY_LIMIT says otherwise: the homework runs
need 0.3 GB and L=1,000 about 1.1 GB, while a mistyped option should fail fast on any machine
instead of taking it over."""

LIMIT_VARIABLE = "RNNLAB_MEMORY_LIMIT"

MEMORY_SHARE = 0.5
"""A run or a data set may plan on at most half of the machine's physical memory: the rest is
for the system, the page cache of the data files and whatever else runs (a second job)."""

PROCESS_BYTES = 230e6
"""A process that has imported NumPy, torch and the plugins: 227 MB peak resident."""

WORKER_BYTES = 400e6
"""One sweep worker at the homework defaults: peak resident 311 MB (`rnnlab train alarmwork
--epochs 1`) and 393 MB (lstm), so 400 MB per worker process."""

JOBS_PER_CPU = 4
"""Worker processes run one thread each; more than 4 per core only adds switching."""

MAX_CELLS = 10_000
"""Runs per sweep. The homework sweep has 60; resolving and listing 10,000 cells takes seconds,
while 100,000,000 seeds took 120 s and 6.5 GB before printing anything."""

TIME_LIMIT_S = 30 * 86400.0
"""A training run may not take more than 30 days, estimated at the fastest rate measured."""

SEQ_STEP_SECONDS = 0.83e-6
"""Seconds per sequence step (one sample, one time step) of training, hidden 50: alarmwork's
hand-written BPTT, the fastest model, trains an epoch of 10,000 x 100 steps in 0.83 s (README,
benchmarks/epoch.py); lstm 1.77 s, simple-rnn 2.30 s, autograd 5.16 s. Larger hidden layers
cost more: hidden 200 measured 5.9 times hidden 50, estimated as only hidden/50 (a lower
bound), so a refusal never depends on a pessimistic guess."""

EVAL_CHUNK = 1000
"""Learners predict in chunks of 1,000 samples (TorchLearner and the BPTT learner)."""

PARAM_BYTES = 48
"""Bytes per weight: float64 at worst, times six copies (weights, gradient, two Adam buffers,
the BPTT learner's stacked and transposed copies)."""

LOSS_BYTES = 40
"""Per update: the loss as a Python float in a list (32 bytes) and in losses.npy (8): 40.4
bytes measured with tracemalloc."""

INDEX_BYTES = 120
"""Per update with random or shuffled batches: an index array (112 bytes + 8 per sample) and
its list slot; 286 bytes measured at batch 20 (120 + 8 x 20 = 280)."""

MODEL_COSTS: dict[str, float] = {
    # bytes per sample x time step x hidden unit kept for the backward pass of one batch:
    # alarmwork BPTT 30.5 (L=2,000 and 5,000, batch 20), its autograd form 24.7, simple-rnn
    # 27.6, lstm 90.1 (hidden 50; 69.5 at hidden 200): the lstm's, rounded up.
    "train": 96.0,
    # the same for a forward pass without gradients (evaluation, chunks of 1,000): alarmwork
    # 10.4, lstm 8.6, simple-rnn 12.2 (L=1,000); rounded up.
    "predict": 16.0,
    # hidden x hidden weight matrices: alarmwork 2, simple-rnn 1, lstm 4 (one per gate).
    "matrices": 4,
}

DATA_COSTS: dict[str, dict[str, float]] = {
    # Bytes per sequence step (adding task, 2 values per step):
    # file: 8.39 (83,943,478 bytes for 10,000 x 1,000 steps);
    # make: what generating one split needs besides its text, 24 (peak 26.7 bytes/step at
    #   L=100 and 31 at L=3,000, including the text); every file is kept until all are made;
    # load: reading one CSV file, 51.7 (L=1,000) and 53.9 (L=100) bytes/step: 54;
    # kept: the loaded float32 inputs, 2 x 4 bytes.
    "sequence": {"file": 8.4, "make": 24.0, "load": 54.0, "kept": 8.0, "values": 2},
    # Bytes per 15x15 image: file 1,800 (a float64 pickle); make 3,700 (peak 5.5 kB per
    # image for 20,000 with the files); load 7,300 (7.2 kB measured); kept 900 (float32).
    "image": {"file": 1800.0, "make": 3700.0, "load": 7300.0, "kept": 900.0, "values": 225},
}

DEFAULT_SIZES = {"train": 10_000, "dev": 1_000, "test": 1_000}  # a dataset that declares none

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

# ---------------------------------------------------------------------------------------------
# the machine


def physical_memory() -> int:
    """Bytes of physical memory."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        return 8 * 10**9


def available_memory() -> int:
    """Bytes of memory available to new processes (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return physical_memory() // 2


def cpu_count() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def memory_limit() -> float:
    """Bytes one command may plan on: RNNLAB_MEMORY_LIMIT (in GB) if set, else DEFAULT_LIMIT,
    and never more than MEMORY_SHARE of the machine."""
    return min(_configured_limit(), MEMORY_SHARE * physical_memory())


def _configured_limit() -> float:
    raw = os.environ.get(LIMIT_VARIABLE, "")
    if not raw:
        return DEFAULT_LIMIT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{LIMIT_VARIABLE} expects a number of GB > 0, got {raw[:40]!r}")
    return value * GB


# ---------------------------------------------------------------------------------------------
# formatting


def _scaled(value: float, units: tuple[tuple[str, float], ...]) -> str:
    """`value` in the largest unit it reaches (the last unit if none)."""
    unit, size = next(((u, s) for u, s in units if value >= s), units[-1])
    number = value / size
    return f"{number:.3g} {unit}" if number < 1000 else f"{number:.1e} {unit}"


def fmt_bytes(n: float) -> str:
    return _scaled(n, (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)))


def fmt_duration(seconds: float) -> str:
    return _scaled(seconds, (("years", 365 * 86400.0), ("days", 86400.0), ("hours", 3600.0),
                             ("minutes", 60.0), ("s", 1.0)))


def fmt_int(value: int) -> str:
    """An option's value as given; absurdly long ones shortened."""
    text = str(value)
    return text if len(text) <= 30 else f"{text[:6]}... ({len(text)} digits)"


def _f(value: int | float) -> float:
    """A count as a float for estimates; beyond 10^100 nothing changes the verdict."""
    return float(min(value, 10**100))


def _machine() -> str:
    return (f"limit {fmt_bytes(memory_limit())}: {LIMIT_VARIABLE}=GB raises it to at most half "
            f"of this machine's {fmt_bytes(physical_memory())}")


# ---------------------------------------------------------------------------------------------
# single values


def check_seed(option: str, seed: int) -> None:
    if not 0 <= seed <= SEED_MAX:
        raise UsageError(f"{option} expects an integer in [0, {SEED_MAX}], got {fmt_int(seed)}")


# ---------------------------------------------------------------------------------------------
# training


def _costs(plugin: Any, defaults: dict[str, float]) -> dict[str, float]:
    declared = getattr(plugin, "costs", None)
    return {**defaults, **(declared if isinstance(declared, dict) else {})}


def _plugins(cfg: Any, registry: Any) -> tuple[Any, Any]:
    """The model and dataset plugins of a config from `registry` (anything with
    get(kind, name)), or None where they cannot be found: the estimate then uses the defaults
    (a missing plugin is reported elsewhere). Taking the registry as an argument keeps this
    module free of imports from the rest of rnnlab."""
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


@dataclasses.dataclass
class Plan:
    """What a training run's estimate depends on besides its config."""

    sizes: dict[str, int]
    kind: str
    model: dict[str, float]
    data: dict[str, float]

    def steps(self, cfg: Any) -> float:
        return _f(cfg.L) if self.kind == "sequence" and cfg.L else 1.0


def plan_for(cfg: Any, registry: Any = None) -> Plan:
    model, data = _plugins(cfg, registry)
    kind = getattr(data, "kind", None) or ("sequence" if cfg.L is not None else "image")
    sizes = dict(getattr(data, "sizes", None) or DEFAULT_SIZES)
    return Plan(sizes, kind, _costs(model, MODEL_COSTS),
                _costs(data, DATA_COSTS.get(kind, DATA_COSTS["sequence"])))


def _updates(cfg: Any, plan: Plan) -> float:
    if cfg.updates is not None:
        return _f(cfg.updates)
    return _f(cfg.epochs) * math.ceil(_f(plan.sizes.get("train", 1)) / _f(cfg.batch_size))


def training_memory(cfg: Any, plan: Plan) -> float:
    """Peak bytes of a training run: the larger of making/reading its data and training on it.

    Data: the dataset's default sizes, as training generates missing files with them (files
    made bigger with gen-data were bounded by gen-data). Training: the data kept, the weights,
    the loss record, and the larger of one batch's activations and one evaluation chunk's."""
    steps, d, m = plan.steps(cfg), plan.data, plan.model
    counts = [_f(n) for n in plan.sizes.values()] or [1.0]
    total, largest = sum(counts) * steps, max(counts) * steps
    make = d["file"] * total + d["make"] * largest
    load = d["load"] * largest + d["kept"] * (total - largest)
    P, B = _f(cfg.hidden), _f(cfg.batch_size)
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
    evaluated = [_f(n) for split, n in plan.sizes.items() if split != "train"]
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
        samples = _f(cfg.updates) * _f(cfg.batch_size)
    else:
        samples = _f(cfg.epochs) * _f(plan.sizes.get("train", 1))
    return samples * plan.steps(cfg) * SEQ_STEP_SECONDS * max(1.0, _f(cfg.hidden) / 50)


# the options an estimate can blame, with the homework value each is compared against
BLAME = (("L", "--L", 100), ("batch_size", "--batch-size", 20), ("hidden", "--hidden", 50),
         ("epochs", "--epochs", 50), ("updates", "--updates", 1000))


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


def check_training(cfg: Any, registry: Any = None, plan: Plan | None = None) -> None:
    """Refuse a training config that needs more memory or time than allowed."""
    plan = plan or plan_for(cfg, registry)
    limit = memory_limit()
    memory, seconds = training_memory(cfg, plan), training_seconds(cfg, plan)
    what = f"training {cfg.model or 'the model'}"
    if memory / limit >= seconds / TIME_LIMIT_S and memory > limit:
        option, value = _blame(cfg, lambda c: training_memory(c, plan))
        hint = f"use a smaller {option}"
        K = cfg.settings.get("checkpoint_every") if isinstance(cfg.settings, dict) else None
        if K == 0 and cfg.L and cfg.settings.get("impl", "bptt") in ("auto", "bptt") \
                and cfg.settings.get("layer_out") != "scalar" and cfg.device != "cuda":
            K = max(1, round(math.sqrt(_f(cfg.L))))
            lighter = dataclasses.replace(cfg, settings={**cfg.settings, "checkpoint_every": K})
            if training_memory(lighter, plan) <= limit:
                hint = f"use --set checkpoint_every={K} or a smaller {option}"
        raise UsageError(f"{option} {fmt_int(value)}: {what} would need about "
                         f"{fmt_bytes(memory)} of memory ({_machine()}); {hint}")
    if seconds > TIME_LIMIT_S:
        option, value = _blame(cfg, lambda c: training_seconds(c, plan))
        raise UsageError(f"{option} {fmt_int(value)}: {what} would take at least "
                         f"{fmt_duration(seconds)} (limit: {fmt_duration(TIME_LIMIT_S)}); use "
                         f"a smaller {option}")


# ---------------------------------------------------------------------------------------------
# data generation


def generate_memory(kind: str, lengths: list[int], sizes: dict[str, int],
                    costs: dict[str, float]) -> tuple[float, float]:
    """(bytes of the files, peak bytes to generate them and later to load one length)."""
    steps = [_f(L) if kind == "sequence" else 1.0 for L in lengths] or [1.0]
    counts = [_f(n) for n in sizes.values()] or [1.0]
    files = costs["file"] * sum(counts) * sum(steps)
    make = files + costs["make"] * max(counts) * max(steps)  # all files are kept until written
    load = (costs["load"] * max(counts) + costs["kept"] * (sum(counts) - max(counts))) \
        * max(steps)
    return files, PROCESS_BYTES + max(make, load)


def check_generate(plugin: Any, lengths: list[int], sizes: dict[str, int],
                   given: dict[str, int]) -> None:
    """Refuse data that would not fit in memory when generated or loaded for training."""
    kind = getattr(plugin, "kind", "sequence")
    costs = _costs(plugin, DATA_COSTS.get(kind, DATA_COSTS["sequence"]))
    files, memory = generate_memory(kind, lengths, sizes, costs)
    if memory <= memory_limit():
        return
    candidates = [(f"--n-{split}", n, {**sizes, split: 1}, lengths) for split, n in given.items()]
    if kind == "sequence":
        candidates.append(("--L", max(lengths), sizes, [min(L, 100) for L in lengths]))
    option, value = (min(candidates, key=lambda c: generate_memory(kind, c[3], c[2], costs)[1])
                     [:2] if candidates else ("--L", max(lengths)))
    where = f" for L={','.join(map(fmt_int, lengths))}" if kind == "sequence" else ""
    raise UsageError(f"{option} {fmt_int(value)}: the {plugin.name} data{where} would be "
                     f"{fmt_bytes(files)} of files and need about {fmt_bytes(memory)} of memory "
                     f"to generate and load ({_machine()}); use a smaller {option}")


# ---------------------------------------------------------------------------------------------
# sweeps


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
    available = available_memory()
    by_memory = max(1, int(available // per_worker))
    cores = cpu_count()
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


# ---------------------------------------------------------------------------------------------
# gradient check


def gradcheck_cost(plugin: Any, L: int, batch: int, hidden: int, forms: int
                   ) -> tuple[float, float]:
    """(seconds, bytes) of a gradient check: two loss evaluations per weight per form."""
    m = _costs(plugin, MODEL_COSTS)
    kind = "image" if "sequence" not in getattr(plugin, "kinds", ("sequence",)) else "sequence"
    values = DATA_COSTS[kind]["values"]
    steps = _f(L) if kind == "sequence" else 1.0
    P, B = _f(hidden), _f(batch)
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
    if seconds <= GRADCHECK_TIME_LIMIT_S and memory <= memory_limit():
        return
    by_time = seconds / GRADCHECK_TIME_LIMIT_S >= memory / memory_limit()

    def lowered(key: str) -> float:
        cost = gradcheck_cost(plugin, **{**given, key: GRADCHECK_DEFAULTS[key]}, forms=forms)
        return cost[0] if by_time else cost[1]

    keys = [k for k in given if given[k] > GRADCHECK_DEFAULTS[k]] or ["L"]
    key = min(keys, key=lowered)
    option = {"L": "--L", "batch": "--batch", "hidden": "--hidden"}[key]
    need = (f"take at least {fmt_duration(seconds)} (limit: "
            f"{fmt_duration(GRADCHECK_TIME_LIMIT_S)})" if by_time else
            f"need about {fmt_bytes(memory)} of memory ({_machine()})")
    raise UsageError(f"{option} {fmt_int(given[key])}: the gradient check of {model} would "
                     f"{need}: two loss evaluations per weight in each of {forms} form(s); "
                     f"use a smaller {option}")
