"""AlarmworkNet's hand-written BPTT in torch, for S networks at once: the GPU path.

The same equations as `bptt_plain.py` (read it first; same notation), with no autograd tape:
torch runs the products, this file says which. Every tensor carries a leading axis S, one
network per index (a *pack*: S runs that differ in seed or hyperparameters, trained as one), so
the per-step products are batched matrix products, (S, B, P) @ (S, P, P). S = 1 is one run.

What differs from the plain version, for speed on a GPU:

- Layer_rec2 and what Layer_rec1 gets from x are computed first, outside the sequential loop
  (one batched product over all steps: C[l] = x_l w_in1ᵀ + b_in1).
- The weight gradients are summed over time after the backward loop, as one product each over
  all steps: dLoss/dw_rec1 = Σ_l delta1[l]ᵀ z12[l] becomes (S, P, L·B) @ (S, L·B, P).
- Nothing reads a value back to the CPU, and every shape is fixed by (S, B, L): a whole
  training step can be captured in a CUDA graph (`learner_torch.py`).

Rounding differs from the NumPy versions (other summation orders); in float64 they agree to
~1e-12 (tests/test_bptt.py).
"""

from __future__ import annotations

import torch

NAMES = ("w_in1", "w_rec1", "b_in1", "w_in2", "w_rec2", "b_in2", "w_out", "b_out")


def forward(p: dict[str, torch.Tensor], x: torch.Tensor
            ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Outputs (S, B, M) for x (S, B, L, D), and what `backward` needs."""
    S, B, L, D = x.shape
    P = p["w_rec1"].shape[-1]
    xt = x.transpose(1, 2)  # (S, L, B, D)
    # Layer_rec2 alone, over its ticks (even l); it holds in between.
    ticks = range(0, L, 2)
    a2_in = xt[:, 0::2] @ p["w_in2"].transpose(1, 2).unsqueeze(1)  # (S, T, B, P)
    a2_in = a2_in + p["b_in2"][:, None, None]
    z2_ticks = x.new_empty(S, len(ticks), B, P)  # z2 written by each tick
    z2 = x.new_zeros(S, B, P)
    w_rec2_t = p["w_rec2"].transpose(1, 2)  # (S, P, P)
    for j in range(len(ticks)):
        z2 = torch.tanh(torch.baddbmm(a2_in[:, j], z2, w_rec2_t))  # (S, B, P)
        z2_ticks[:, j] = z2
    # z2[l] is what the last tick up to l wrote: tick l // 2 (each value held for two steps;
    # an expand, not repeat_interleave, which may ask the GPU for the output size)
    T = len(ticks)
    z2_held = z2_ticks.unsqueeze(2).expand(S, T, 2, B, P).reshape(S, 2 * T, B, P)[:, :L]
    z2_prev = torch.cat([x.new_zeros(S, 1, B, P), z2_held[:, :-1]], dim=1)  # z2[l-1]
    # Layer_rec1: C[l] = x_l w_in1ᵀ + b_in1 for all steps, then the sequential part.
    C = xt @ p["w_in1"].transpose(1, 2).unsqueeze(1) + p["b_in1"][:, None, None]  # (S,L,B,P)
    w_rec1_t = p["w_rec1"].transpose(1, 2)
    z1s = x.new_empty(S, L, B, P)
    z1 = x.new_zeros(S, B, P)
    for l in range(L):
        z12 = z1 + z2_prev[:, l]  # (S, B, P)
        z1 = torch.tanh(torch.baddbmm(C[:, l], z12, w_rec1_t))  # (S, B, P)
        z1s[:, l] = z1
    y = torch.tanh(torch.baddbmm(p["b_out"][:, None], z1, p["w_out"].transpose(1, 2)))
    return y, (xt, z1s, z2_ticks, z2_prev, y)


def backward(p: dict[str, torch.Tensor], saved: tuple[torch.Tensor, ...],
             grad_y: torch.Tensor) -> dict[str, torch.Tensor]:
    """dLoss/dparameter (each (S, ...)) given dLoss/dy (S, B, M)."""
    xt, z1s, z2_ticks, z2_prev, y = saved
    S, L, B, P = z1s.shape
    delta_out = grad_y * (1 - y * y)  # (S, B, M)
    dz1 = delta_out @ p["w_out"]  # dLoss/dz1[L-1] (S, B, P)
    dz2 = torch.zeros_like(dz1)  # dLoss/dz2[L-1]: y does not read z2
    delta1 = torch.empty_like(z1s)  # (S, L, B, P)
    delta2 = torch.empty_like(z2_ticks)  # (S, T, B, P)
    w_rec1, w_rec2 = p["w_rec1"], p["w_rec2"]
    for l in range(L - 1, -1, -1):
        z1 = z1s[:, l]
        d1 = dz1 * (1 - z1 * z1)  # delta1[l]
        delta1[:, l] = d1
        dz12 = d1 @ w_rec1  # dLoss/dz12[l]
        if l % 2 == 0:  # Layer_rec2 worked at l: delta2[l], then to z2[l-1] through w_rec2
            z2 = z2_ticks[:, l // 2]
            d2 = dz2 * (1 - z2 * z2)
            delta2[:, l // 2] = d2
            dz2 = torch.baddbmm(dz12, d2, w_rec2)
        else:  # it held: z2[l] is z2[l-1]
            dz2 = dz12 + dz2
        dz1 = dz12
    # z12[l] = z1[l-1] + z2[l-1]
    z12 = z2_prev.clone()
    z12[:, 1:] += z1s[:, :-1]
    flat1 = delta1.reshape(S, L * B, P)
    z2_before_ticks = z2_prev[:, 0::2]  # z2[l-1] at the ticks (S, T, B, P)
    flat2 = delta2.reshape(S, -1, P)
    return {
        "w_in1": flat1.transpose(1, 2) @ xt.reshape(S, L * B, -1),  # (S, P, D)
        "w_rec1": flat1.transpose(1, 2) @ z12.reshape(S, L * B, P),  # (S, P, P)
        "b_in1": flat1.sum(1),  # (S, P)
        "w_in2": flat2.transpose(1, 2) @ xt[:, 0::2].reshape(S, flat2.shape[1], -1),
        "w_rec2": flat2.transpose(1, 2) @ z2_before_ticks.reshape(S, -1, P),
        "b_in2": flat2.sum(1),
        "w_out": delta_out.transpose(1, 2) @ z1s[:, -1],  # (S, M, P)
        "b_out": delta_out.sum(1),  # (S, M)
    }
