"""AlarmworkNet's hand-written BPTT in torch, for S networks at once: the GPU path.

The same equations as `bptt_plain.py` (read it first; same notation), with no autograd tape:
torch runs the products, this file says which. Every tensor carries a leading axis S, one
network per index (a *pack*: S runs that differ in seed or hyperparameters, trained as one), so
the per-step products are batched matrix products, (S, B, P) @ (S, P, P). S = 1 is one run.

What differs from the plain version, for speed on a GPU, where each small kernel costs a few
microseconds whatever its size: the loops over time run two kernels a step, everything else is
done for all steps at once, outside them (as in the NumPy `bptt.py`).

- Forward: Layer_rec2 first, over its ticks (one product and one tanh per tick); then what
  Layer_rec1 gets from x and z2, for all steps, C[l] = x_l w_in1ᵀ + b_in1 + z2[l-1] w_rec1ᵀ;
  the sequential part is z1[l] = tanh(C[l] + z1[l-1] w_rec1ᵀ), written over C[l] in place.
- Backward, Layer_rec1 first (its chain does not involve z2): delta1[l] = dz1 ⊙ (1 - z1[l]²),
  then dz1 = dz12[l] = delta1[l] w_rec1, with 1 - z1² computed for all steps before the loop.
  Then Layer_rec2 over its ticks only: the value tick j writes is read, through z12, by steps
  2j+1 and 2j+2, so it collects E[j] = dz12[2j+1] + dz12[2j+2] (one addition for all ticks),
  plus delta2[j+1] w_rec2 from the next tick.
- Arrays over time are time-first, (L, S, B, P), so that what a step reads and writes is one
  contiguous block (a matrix product into a strided block is a copy, or a loop, on the CPU).
- The weight gradients are summed over time after the loops, one product each over all steps:
  dLoss/dw_rec1 = Σ_l delta1[l]ᵀ z12[l] becomes (S, P, L·B) @ (S, L·B, P).
- Nothing reads a value back to the CPU, and every shape is fixed by (S, B, L): a whole
  training step can be captured in a CUDA graph (`learner_torch.py`).

Rounding differs from the NumPy versions (other summation orders); in float64 they agree to
~1e-12 (tests/test_bptt.py).
"""

from __future__ import annotations

import torch

NAMES = ("w_in1", "w_rec1", "b_in1", "w_in2", "w_rec2", "b_in2", "w_out", "b_out")


def held(ticks: torch.Tensor, steps: int) -> torch.Tensor:
    """(T, ...) per tick -> (steps, ...) per step: tick j's value at steps 2j and 2j+1 (an
    expand and a copy, not repeat_interleave, which may ask the GPU for the output size)."""
    T, *rest = ticks.shape
    return ticks.unsqueeze(1).expand(T, 2, *rest).reshape(2 * T, *rest)[:steps]


def by_network(a: torch.Tensor) -> torch.Tensor:
    """(K, S, B, n) time-first -> (S, K·B, n): all steps' rows of each network together."""
    K, S, B, n = a.shape
    return a.transpose(0, 1).reshape(S, K * B, n)


def times(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """(K, S, B, n) @ (S, n, P) -> (K, S, B, P): each network's rows times its own matrix,
    for all K steps in one product."""
    K, S, B, _ = a.shape
    return (by_network(a) @ w).reshape(S, K, B, -1).transpose(0, 1)


def forward(p: dict[str, torch.Tensor], x: torch.Tensor
            ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Outputs (S, B, M) for x (S, B, L, D), and what `backward` needs."""
    S, B, L, D = x.shape
    xt = x.permute(2, 0, 1, 3)  # (L, S, B, D)
    # Layer_rec2 alone: its input for every tick, then the ticks, turning it into z2 in place.
    z2_ticks = times(xt[0::2], p["w_in2"].transpose(1, 2)) + p["b_in2"][:, None]  # (T,S,B,P)
    z2 = torch.zeros_like(z2_ticks[0])  # z2[-1] (S, B, P)
    w_rec2_t = p["w_rec2"].transpose(1, 2)  # (S, P, P)
    for a2 in z2_ticks:  # a2 = x_l w_in2ᵀ + b_in2, then z2 after the tick
        z2 = torch.baddbmm(a2, z2, w_rec2_t, out=a2).tanh_()  # (S, B, P)
    # What Layer_rec1 gets from x and z2, for every step, then turned into z1 in place.
    w_rec1_t = p["w_rec1"].transpose(1, 2)  # (S, P, P)
    C = times(xt, p["w_in1"].transpose(1, 2)) + p["b_in1"][:, None]  # (L, S, B, P)
    C[1:] += held(times(z2_ticks, w_rec1_t), L - 1)  # z2[l-1] w_rec1ᵀ, for l >= 1
    z1 = torch.zeros_like(C[0])  # z1[-1] (S, B, P)
    for c in C:  # the sequential part: c = C[l], then z1[l]
        z1 = torch.baddbmm(c, z1, w_rec1_t, out=c).tanh_()  # (S, B, P)
    z1s = C  # (L, S, B, P)
    y = torch.tanh(torch.baddbmm(p["b_out"][:, None], z1, p["w_out"].transpose(1, 2)))
    return y, (xt, z1s, z2_ticks, y)  # y (S, B, M)


def backward(p: dict[str, torch.Tensor], saved: tuple[torch.Tensor, ...],
             grad_y: torch.Tensor) -> dict[str, torch.Tensor]:
    """dLoss/dparameter (each (S, ...)) given dLoss/dy (S, B, M)."""
    xt, z1s, z2_ticks, y = saved
    L, S, B, P = z1s.shape
    T = len(z2_ticks)
    delta_out = grad_y * (1 - y * y)  # (S, B, M)
    dz1 = delta_out @ p["w_out"]  # dLoss/dz1[L-1] (S, B, P)
    # Layer_rec1, last step first. dz12 has zero rows past L, for E below.
    delta1 = 1 - z1s * z1s  # (L, S, B, P): 1 - z1², then delta1 in place
    dz12 = z1s.new_zeros(2 * T + 1, S, B, P)  # dLoss/dz12[l] at row l
    w_rec1 = p["w_rec1"]
    for l in range(L - 1, -1, -1):
        d1 = torch.mul(dz1, delta1[l], out=delta1[l])  # delta1[l]
        dz1 = torch.bmm(d1, w_rec1, out=dz12[l])  # dz12[l] = dLoss/dz1[l-1]
    # Layer_rec2, last tick first: E[j] = dLoss/d(value of tick j) through z12, then the rest.
    E = dz12[1::2] + dz12[2::2]  # (T, S, B, P)
    delta2 = 1 - z2_ticks * z2_ticks  # (T, S, B, P): 1 - z2², then delta2 in place
    w_rec2 = p["w_rec2"]
    for j in range(T - 1, -1, -1):
        d2 = torch.mul(E[j], delta2[j], out=delta2[j])  # delta2[j]
        if j:
            E[j - 1].baddbmm_(d2, w_rec2)  # + what tick j sends back to the value of tick j-1
    # z12[l] = z1[l-1] + z2[l-1] (zero at l = 0)
    z12 = torch.zeros_like(z1s)
    z12[1:] = z1s[:-1] + held(z2_ticks, L - 1)
    flat1 = by_network(delta1).transpose(1, 2)  # (S, P, L·B)
    flat2 = by_network(delta2).transpose(1, 2)  # (S, P, T·B)
    return {
        "w_in1": flat1 @ by_network(xt),  # (S, P, D)
        "w_rec1": flat1 @ by_network(z12),  # (S, P, P)
        "b_in1": flat1.sum(2),  # (S, P)
        "w_in2": flat2 @ by_network(xt[0::2]),
        # tick j reads the value of tick j-1 (zero for j = 0)
        "w_rec2": flat2[:, :, B:] @ by_network(z2_ticks[:-1]),
        "b_in2": flat2.sum(2),
        "w_out": delta_out.transpose(1, 2) @ z1s[-1],  # (S, M, P)
        "b_out": delta_out.sum(1),  # (S, M)
    }
