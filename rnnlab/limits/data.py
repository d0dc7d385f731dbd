"""How much the files of `rnnlab gen-data` weigh and how much memory making and loading them
needs, and the refusal of data that would not fit."""

from __future__ import annotations

from typing import Any

from rnnlab.errors import UsageError
from rnnlab.limits import machine
from rnnlab.limits.costs import PROCESS_BYTES, data_costs
from rnnlab.limits.units import as_float, fmt_bytes, fmt_int


def generate_memory(kind: str, lengths: list[int], sizes: dict[str, int],
                    costs: dict[str, float]) -> tuple[float, float]:
    """(bytes of the files, peak bytes to generate them and later to load one length)."""
    steps = [as_float(L) if kind == "sequence" else 1.0 for L in lengths] or [1.0]
    counts = [as_float(n) for n in sizes.values()] or [1.0]
    files = costs["file"] * sum(counts) * sum(steps)
    make = files + costs["make"] * max(counts) * max(steps)  # all files are kept until written
    load = (costs["load"] * max(counts) + costs["kept"] * (sum(counts) - max(counts))) \
        * max(steps)
    return files, PROCESS_BYTES + max(make, load)


def check_generate(plugin: Any, lengths: list[int], sizes: dict[str, int],
                   given: dict[str, int]) -> None:
    """Refuse data that would not fit in memory when generated or loaded for training."""
    kind = getattr(plugin, "kind", "sequence")
    costs = data_costs(plugin, kind)
    files, memory = generate_memory(kind, lengths, sizes, costs)
    if memory <= machine.memory_limit():
        return
    candidates = [(f"--n-{split}", n, {**sizes, split: 1}, lengths) for split, n in given.items()]
    if kind == "sequence":
        candidates.append(("--L", max(lengths), sizes, [min(L, 100) for L in lengths]))
    option, value = (min(candidates, key=lambda c: generate_memory(kind, c[3], c[2], costs)[1])
                     [:2] if candidates else ("--L", max(lengths)))
    where = f" for L={','.join(map(fmt_int, lengths))}" if kind == "sequence" else ""
    raise UsageError(f"{option} {fmt_int(value)}: the {plugin.name} data{where} would be "
                     f"{fmt_bytes(files)} of files and need about {fmt_bytes(memory)} of memory "
                     f"to generate and load ({machine.describe_limit()}); use a smaller {option}")
