"""The machine a command runs on: its memory and CPU cores, and how much memory one command
may plan on (RNNLAB_MEMORY_LIMIT)."""

from __future__ import annotations

import math
import os

from rnnlab.errors import UsageError
from rnnlab.limits.units import fmt_bytes

GB = 1e9

DEFAULT_LIMIT = 2 * GB
"""What one command may plan on unless RNNLAB_MEMORY_LIMIT says otherwise: the homework runs
need 0.3 GB and L=1,000 about 1.1 GB, while a mistyped option should fail fast on any machine
instead of taking it over."""

LIMIT_VARIABLE = "RNNLAB_MEMORY_LIMIT"

MEMORY_SHARE = 0.5
"""A run or a data set may plan on at most half of the machine's physical memory: the rest is
for the system, the page cache of the data files and whatever else runs (a second job)."""


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


def describe_limit() -> str:
    """The limit as memory refusals state it, with how to raise it."""
    return (f"limit {fmt_bytes(memory_limit())}: {LIMIT_VARIABLE}=GB raises it to at most half "
            f"of this machine's {fmt_bytes(physical_memory())}")
