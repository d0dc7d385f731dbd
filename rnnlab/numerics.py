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
numbers on this project's reference machine, so it is left alone: what torch computes on the
CPU may differ in its last bits from one CPU to another, so the torch baselines' long runs, and
anything drawn through MKL in float32, can part between machines. AlarmworkNet's orthogonal
recurrent weights are drawn through torch's QR: in float64, so that they are the same bytes
under every MKL code path (`alarmwork/net.py`).

The Python API (`import rnnlab`) agrees with the command line without taking over the user's
process: importing rnnlab pins the OpenBLAS kernel if NumPy has not loaded yet (after that it
cannot, and the run records that it was not pinned), and a run trains with one torch thread,
the caller's thread count restored afterwards. NumPy's own thread count is left to the user: it
changes the time a run takes, not its numbers.

Subnormal floats (below 1.2e-38 in float32) are what gradients that vanish through a long
sequence become, and x86 CPUs compute with them up to a hundred times slower: AlarmworkNet at
L=400 on its plateau went from 4.5 s to 25 s an epoch. `subnormals_flushed` makes them zero
for a block (the CPU's flush-to-zero and denormals-are-zero modes, this thread only). That
changes a result only where a subnormal would have changed a rounded sum; in the runs measured
(L=400, 1,000 updates with thousands of subnormal deltas each), weights and losses came out the
same bytes either way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
OPENBLAS_KERNEL = "Haswell"  # AVX2 + FMA


def cpu_info() -> dict[str, str]:
    """The first processor's lines of /proc/cpuinfo ('model name', 'flags', ...); empty where
    there is none (macOS, Windows)."""
    found: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break  # the end of the first processor
                key, _, value = line.partition(":")
                found.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return found


def has_avx2() -> bool:
    """Whether this is an x86-64 Linux machine whose CPU has AVX2 and FMA (elsewhere nothing is
    pinned: OpenBLAS names other kernels on ARM, and macOS has no /proc/cpuinfo)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    return {"avx2", "fma"} <= set(cpu_info().get("flags", "").split())


def cpu() -> str:
    """The CPU, for a run's provenance: its model name and whether it has AVX-512 (what MKL and
    NumPy choose their code by), e.g. 'Intel(R) Xeon(R) Processor (AVX-512)'."""
    info = cpu_info()
    name = info.get("model name") or platform.processor() or platform.machine()
    flags = set(info.get("flags", "").split())
    if not flags:
        return name
    return f"{name} ({'AVX-512' if 'avx512f' in flags else 'AVX2' if 'avx2' in flags else 'SSE'})"


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


_KERNEL_BEFORE_NUMPY = "numpy" not in sys.modules  # rnnlab (this module) loaded first


def pin_kernel() -> None:
    """The OpenBLAS kernel of `pinned`, where NumPy has not loaded it yet (the user's own
    OPENBLAS_CORETYPE wins)."""
    kernel = pinned().get("OPENBLAS_CORETYPE")
    if kernel and "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_CORETYPE", kernel)


pin_kernel()  # on import: `import rnnlab` imports this module before anything loads NumPy


def recorded() -> dict[str, str | None]:
    """What a run's provenance records of the above: the variables, and whether they were
    set before NumPy loaded (only then do they choose its kernel)."""
    record: dict[str, str | None] = {
        v: os.environ.get(v) for v in (*THREAD_VARIABLES, "OPENBLAS_CORETYPE")}
    record["set_before_numpy"] = "yes" if _KERNEL_BEFORE_NUMPY else "no"
    return record


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Within the block, torch (if loaded) computes on one thread, as the command line does;
    the thread count before it is restored after."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


MXCSR_FLUSH = 0x8040  # flush-to-zero (bit 15) and denormals-are-zero (bit 6)
MXCSR_OFFSET = 28  # glibc's x86-64 fenv_t: the x87 environment (28 bytes), then MXCSR


@cache
def _libm() -> ctypes.CDLL | None:
    """glibc's libm on x86-64 Linux, where the layout above holds; None elsewhere."""
    if (sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64")
            or platform.libc_ver()[0] != "glibc"):
        return None
    name = ctypes.util.find_library("m")
    return ctypes.CDLL(name) if name else None


@contextmanager
def subnormals_flushed() -> Iterator[bool]:
    """Within the block, float results too small to be normal are zero, and so are such
    inputs, on this thread; the floating-point environment before it is restored after.
    Yields whether that holds (x86-64 Linux with glibc; elsewhere the block runs unchanged)."""
    libm = _libm()
    before = ctypes.create_string_buffer(32)
    if libm is None or libm.fegetenv(before) != 0:
        yield False
        return
    flushing = ctypes.create_string_buffer(before.raw, 32)
    (mxcsr,) = struct.unpack_from("<I", before.raw, MXCSR_OFFSET)
    struct.pack_into("<I", flushing, MXCSR_OFFSET, mxcsr | MXCSR_FLUSH)
    if libm.fesetenv(flushing) != 0:
        yield False
        return
    try:
        yield True
    finally:
        libm.fesetenv(before)
