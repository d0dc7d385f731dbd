"""How much memory and time a command would need, and the bounds on options that follow.

Every check runs before anything is allocated, generated or written, and a refusal is one
UsageError naming the option, the estimate and the limit. The figures are in `costs` (how they
were measured is written there); "GB" is 10^9 bytes.

Plugins may state their own costs in a class attribute `costs` (keys as in MODEL_COSTS and
DATA_COSTS); without one, the figures of the bundled plugin that costs most are used.

One module per job: `machine` (memory, CPU cores, the memory limit; patch it to pretend
another machine), `units` (how messages write bytes, durations, long integers), `seeds`,
`costs` (the measured figures), `training`, `data` (gen-data), `gradcheck` and `sweeps`
(estimates and checks of each command). Every name is importable from here.
"""

from __future__ import annotations

from rnnlab.limits.costs import (
    DATA_COSTS,
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
from rnnlab.limits.data import check_generate, generate_memory
from rnnlab.limits.gradcheck import (
    GRADCHECK_DEFAULTS,
    GRADCHECK_FLOP_SECONDS,
    GRADCHECK_STEP_SECONDS,
    GRADCHECK_TIME_LIMIT_S,
    check_gradcheck,
    gradcheck_cost,
)
from rnnlab.limits.machine import (
    DEFAULT_LIMIT,
    GB,
    LIMIT_VARIABLE,
    MEMORY_SHARE,
    available_memory,
    cpu_count,
    describe_limit,
    memory_limit,
    physical_memory,
)
from rnnlab.limits.seeds import SEED_MAX, check_seed
from rnnlab.limits.sweeps import (
    JOBS_PER_CPU,
    MAX_CELLS,
    WORKER_BYTES,
    check_cells,
    check_jobs,
    check_seed_count,
    worker_memory,
)
from rnnlab.limits.training import (
    BLAME,
    TIME_LIMIT_S,
    Plan,
    check_training,
    plan_for,
    training_memory,
    training_seconds,
)
from rnnlab.limits.units import as_float, fmt_bytes, fmt_duration, fmt_int

__all__ = [
    "BLAME", "DATA_COSTS", "DEFAULT_LIMIT", "DEFAULT_SIZES", "EVAL_CHUNK", "GB",
    "GRADCHECK_DEFAULTS", "GRADCHECK_FLOP_SECONDS", "GRADCHECK_STEP_SECONDS",
    "GRADCHECK_TIME_LIMIT_S", "INDEX_BYTES", "JOBS_PER_CPU", "LIMIT_VARIABLE", "LOSS_BYTES",
    "MAX_CELLS", "MEMORY_SHARE", "MODEL_COSTS", "PARAM_BYTES", "PROCESS_BYTES", "SEED_MAX",
    "SEQ_STEP_SECONDS", "TIME_LIMIT_S", "WORKER_BYTES", "Plan", "as_float", "available_memory",
    "check_cells", "check_generate", "check_gradcheck", "check_jobs", "check_seed",
    "check_seed_count", "check_training", "costs_of", "cpu_count", "data_costs",
    "describe_limit", "fmt_bytes", "fmt_duration", "fmt_int", "generate_memory",
    "gradcheck_cost", "memory_limit", "physical_memory", "plan_for", "training_memory",
    "training_seconds", "worker_memory",
]
