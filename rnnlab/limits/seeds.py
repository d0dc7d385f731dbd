"""The range of seeds every command accepts."""

from __future__ import annotations

from rnnlab.errors import UsageError
from rnnlab.limits.units import fmt_int

SEED_MAX = 2**32 - 1
"""Seeds are 0..2^32-1: NumPy's SeedSequence refuses negative seeds and torch.manual_seed
refuses 2^64 and beyond (it takes -1, which NumPy does not); 32 bits suit both."""


def check_seed(option: str, seed: int) -> None:
    if not 0 <= seed <= SEED_MAX:
        raise UsageError(f"{option} expects an integer in [0, {SEED_MAX}], got {fmt_int(seed)}")
