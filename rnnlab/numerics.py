"""The process environment under which a seed gives the same numbers on any machine: one BLAS
thread, and one OpenBLAS kernel whatever the CPU.

NumPy's OpenBLAS chooses its matrix-product kernel for the CPU it finds (DYNAMIC_ARCH), and
the kernels add up products in different orders. AlarmworkNet's NumPy BPTT over 50 epochs
amplifies such a rounding difference into a different run: the homework sweep measured on one
CPU and repeated on another (same code, same data, same seed) agreed at L=10 and parted at
L=50 and 70 (one seed at L=70: 96.9% against 50.1% test accuracy). Pinning the AVX2 kernel
("Haswell"), which every x86-64 CPU of the last decade can run, takes the CPU out of the
result. The variables must be set before NumPy loads OpenBLAS: the command line does it first
thing, and sweep workers inherit them. A value the user set is kept.

PyTorch's CPU build uses MKL, whose reproducibility switch (MKL_CBWR) changes the baselines'
numbers on this project's reference machine, so it is left alone.
"""

from __future__ import annotations

import os
import platform

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
OPENBLAS_KERNEL = "Haswell"  # AVX2 + FMA


def has_avx2() -> bool:
    """Whether this is an x86-64 Linux machine whose CPU has AVX2 and FMA (elsewhere nothing is
    pinned: OpenBLAS names other kernels on ARM, and macOS has no /proc/cpuinfo)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return {"avx2", "fma"} <= flags
    except OSError:
        pass
    return False


def pinned(threads: str | None = None) -> dict[str, str]:
    """The variables to set: the thread counts (`threads`, else OMP_NUM_THREADS, else 1) and,
    where the CPU can run it, the OpenBLAS kernel; values already in the environment win, but
    for the thread counts when `threads` is given."""
    count = threads or os.environ.get("OMP_NUM_THREADS", "1")
    wanted = {v: count if threads else os.environ.get(v, count) for v in THREAD_VARIABLES}
    if "OPENBLAS_CORETYPE" in os.environ:
        wanted["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    elif has_avx2():
        wanted["OPENBLAS_CORETYPE"] = OPENBLAS_KERNEL
    return wanted


def recorded() -> dict[str, str | None]:
    """What a run's provenance records of the above."""
    return {v: os.environ.get(v) for v in (*THREAD_VARIABLES, "OPENBLAS_CORETYPE")}
