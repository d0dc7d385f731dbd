"""AlarmworkNet's initial weights in NumPy, equal to the bit to those `net.AlarmworkNet` draws
after `torch.manual_seed(seed)` (tests/test_alarmwork.py): the NumPy BPTT path needs no torch.

torch's CPU generator is a Mersenne Twister (MT19937) seeded as NumPy's legacy RandomState is.
`torch.rand` turns each 32-bit draw r, in memory order, into (r mod 2²⁴) · 2⁻²⁴ in float32, and
`net.xavier_uniform` computes (u · 2 − 1) · a in float32. The draws come in the order of
`AlarmworkNet.__init__`: w_in1, w_rec1, w_in2, w_rec2, w_out (biases are zero). The orthogonal
recurrent initialisation (torch.randn, then a QR decomposition) has no such twin here: it is
drawn by torch.
"""

from __future__ import annotations

import math

import numpy as np


class TorchRand:
    """`torch.rand` of a CPU generator seeded with `seed`, in NumPy."""

    def __init__(self, seed: int) -> None:
        self.state = np.random.RandomState(seed)

    def rand(self, *shape: int) -> np.ndarray:
        draws = self.state.randint(0, 2**32, size=math.prod(shape), dtype=np.uint32)
        return ((draws & 0xFFFFFF) * 2.0**-24).astype(np.float32).reshape(shape)


def xavier_uniform(rand: TorchRand, fan_out: int, fan_in: int) -> np.ndarray:
    """As net.xavier_uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)), in float32."""
    a = np.float32(math.sqrt(6.0 / (fan_in + fan_out)))
    return (rand.rand(fan_out, fan_in) * np.float32(2.0) - np.float32(1.0)) * a


def weights(D: int, P: int, M: int, seed: int, rec_init: str = "xavier"
            ) -> dict[str, np.ndarray] | None:
    """The state dict AlarmworkNet(D, P, M, rec_init=...) starts with under `seed`; None for
    rec_init='orthogonal' (ask torch)."""
    if rec_init not in ("xavier", "identity"):
        return None
    rand = TorchRand(seed)

    def recurrent() -> np.ndarray:
        return xavier_uniform(rand, P, P) if rec_init == "xavier" else np.eye(P, dtype=np.float32)

    w_in1 = xavier_uniform(rand, P, D)  # (P, D)
    w_rec1 = recurrent()  # (P, P)
    w_in2 = xavier_uniform(rand, P, D)  # (P, D)
    w_rec2 = recurrent()  # (P, P)
    w_out = xavier_uniform(rand, M, P)  # (M, P)
    zeros = np.zeros(P, np.float32)
    return {"w_in1": w_in1, "w_rec1": w_rec1, "b_in1": zeros, "w_in2": w_in2,
            "w_rec2": w_rec2, "b_in2": zeros.copy(), "w_out": w_out,
            "b_out": np.zeros(M, np.float32)}
