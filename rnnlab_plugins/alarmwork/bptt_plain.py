"""AlarmworkNet's backpropagation through time, written plainly: the reference for `bptt.py`.

One loop forward over time that keeps every step's values, one loop backward over time that
applies the delta rule step by step (Homework I, 3.2). Plain NumPy: no workspaces, no fused
arrays, one equation per line. This file is for reading and for testing `bptt.py` against
(tests/test_bptt.py); training runs `bptt.py`, which computes the same numbers faster.

Notation (the one used in every file of this package and in docs/models.md): vectors are rows,
so a batch of states is a (B, P) array and the homework's w x is written x wᵀ (`x @ w.T`).
Steps are 0-based, l = 0..L-1: Homework I's step t is the code's index l = t - 1. So
"Layer_rec2 works every second step, starting from the first" means l = 0, 2, 4, ..., and the
homework's z^(in1)[L], which feeds Layer_out, is z1[L-1] here.

    Homework I                           here                   shape
    x_t                                  x[:, l]                (B, D)
    z^(in12)[t]                          z12[l]                 (B, P)
    a^(in1)[t], z^(in1)[t]               a1, z1[l]              (B, P)
    a^(in2)[t], z^(in2)[t]               a2, z2[l]              (B, P)
    a^(out), z^(out) = y                 a_out, y               (B, M)
    w^(in1), w^(rec1), b^(in1), ...      w_in1, w_rec1, b_in1, ...  (the state dict keys)
    δ^(out)   = dLoss/da^(out)           delta_out              (B, M)
    δ^(in1)[t] = dLoss/da^(in1)[t]       delta1                 (B, P)
    δ^(in2)[t] = dLoss/da^(in2)[t]       delta2                 (B, P)
    dLoss/dz^(in1)[t], dLoss/dz^(in2)[t], dLoss/dz^(in12)[t]      dz1, dz2, dz12   (B, P)

Forward, all states zero before step 0 (z1[-1] = z2[-1] = 0):

    z12[l] = z1[l-1] + z2[l-1]
    z1[l]  = tanh(x_l w_in1ᵀ + z12[l] w_rec1ᵀ + b_in1)
    z2[l]  = tanh(x_l w_in2ᵀ + z2[l-1] w_rec2ᵀ + b_in2)       l even: Layer_rec2 works
    z2[l]  = z2[l-1]                                          l odd: it holds (copies)
    y      = tanh(z1[L-1] w_outᵀ + b_out)                     the last step only

Backward. tanh'(a) = 1 - tanh(a)² = 1 - z², so each δ is "dLoss/dz times (1 - z²)":

    delta_out = dLoss/dy ⊙ (1 - y²)
    dz1 = delta_out w_out,  dz2 = 0                           at l = L-1 (y does not read z2)
    for l = L-1 down to 0:
        delta1[l] = dz1 ⊙ (1 - z1[l]²)
        dz12      = delta1[l] w_rec1                          dLoss/dz12[l]
        l even:  delta2[l] = dz2 ⊙ (1 - z2[l]²)
                 dz2       = dz12 + delta2[l] w_rec2          dLoss/dz2[l-1]
        l odd:   dz2       = dz12 + dz2                       the hold rule: z2[l] is z2[l-1],
                                                              so its gradient passes unchanged
        dz1       = dz12                                      dLoss/dz1[l-1]

z1[l-1] is read only by z12[l]; z2[l-1] is read by z12[l] and by step l of Layer_rec2 (through
w_rec2 when it works, as a copy when it holds): that is where the two terms of dz2 come from.
In scalar form the first line is δ^(in1)_j[t] = (1 - z^(in1)_j[t]²) Σ_k δ^(in1)_k[t+1] w^(rec1)_kj
(plus Σ_m δ^(out)_m w^(out)_mj at t = L).

Weight gradients, each the delta of a layer times what the layer read:

    dLoss/dw_out  = delta_outᵀ z1[L-1]           dLoss/db_out  = Σ_n delta_out
    dLoss/dw_in1  = Σ_l delta1[l]ᵀ x_l           dLoss/dw_rec1 = Σ_l delta1[l]ᵀ z12[l]
    dLoss/db_in1  = Σ_l Σ_n delta1[l]
    dLoss/dw_in2  = Σ_even l delta2[l]ᵀ x_l      dLoss/dw_rec2 = Σ_even l delta2[l]ᵀ z2[l-1]
    dLoss/db_in2  = Σ_even l Σ_n delta2[l]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAMES = ("w_in1", "w_rec1", "b_in1", "w_in2", "w_rec2", "b_in2", "w_out", "b_out")


def works(l: int) -> bool:
    """Whether Layer_rec2 works at step l: every second step, starting from the first."""
    return l % 2 == 0


def tanh_backward(dz: np.ndarray, z: np.ndarray) -> np.ndarray:
    """dLoss/da from dz = dLoss/dz for z = tanh(a): tanh'(a) = 1 - z²."""
    return dz * (1 - z * z)


@dataclass
class Tape:
    """Every step's values, kept by `forward` for `backward`. Lists indexed by the step l."""

    x: np.ndarray  # (B, L, D)
    z12: list[np.ndarray]  # z12[l] (B, P)
    z1: list[np.ndarray]  # z1[l] (B, P)
    z2: list[np.ndarray]  # z2[l] (B, P)
    y: np.ndarray  # (B, M)


def forward(params: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, Tape]:
    """y (B, M) for x (B, L, D), and the tape `backward` needs."""
    w_in1, w_rec1, b_in1 = params["w_in1"], params["w_rec1"], params["b_in1"]
    w_in2, w_rec2, b_in2 = params["w_in2"], params["w_rec2"], params["b_in2"]
    w_out, b_out = params["w_out"], params["b_out"]
    B, L, _ = x.shape
    P = len(b_in1)
    z1_before = np.zeros((B, P))  # z1[l-1]: zero before the first step
    z2_before = np.zeros((B, P))  # z2[l-1]
    z12, z1, z2 = [], [], []
    for l in range(L):
        x_l = x[:, l]  # (B, D)
        z12_l = z1_before + z2_before  # (B, P)
        a1 = x_l @ w_in1.T + z12_l @ w_rec1.T + b_in1  # (B, P)
        z1_l = np.tanh(a1)  # (B, P)
        if works(l):
            a2 = x_l @ w_in2.T + z2_before @ w_rec2.T + b_in2  # (B, P)
            z2_l = np.tanh(a2)  # (B, P)
        else:
            z2_l = z2_before  # (B, P): held
        z12.append(z12_l)
        z1.append(z1_l)
        z2.append(z2_l)
        z1_before, z2_before = z1_l, z2_l
    a_out = z1[L - 1] @ w_out.T + b_out  # (B, M)
    y = np.tanh(a_out)  # (B, M)
    return y, Tape(x, z12, z1, z2, y)


def backward(params: dict[str, np.ndarray], tape: Tape, dy: np.ndarray
             ) -> dict[str, np.ndarray]:
    """dLoss/d(every parameter), given dy = dLoss/dy (B, M)."""
    w_rec1, w_rec2, w_out = params["w_rec1"], params["w_rec2"], params["w_out"]
    x, z12, z1, z2, y = tape.x, tape.z12, tape.z1, tape.z2, tape.y
    L = len(z1)
    grads = {name: np.zeros_like(params[name]) for name in NAMES}

    delta_out = tanh_backward(dy, y)  # (B, M)
    grads["w_out"] = delta_out.T @ z1[L - 1]  # (M, P)
    grads["b_out"] = delta_out.sum(axis=0)  # (M,)
    dz1 = delta_out @ w_out  # dLoss/dz1[L-1] (B, P)
    dz2 = np.zeros_like(dz1)  # dLoss/dz2[L-1] (B, P): y does not read z2

    for l in reversed(range(L)):
        x_l = x[:, l]  # (B, D)
        delta1 = tanh_backward(dz1, z1[l])  # δ^(in1) (B, P)
        grads["w_in1"] += delta1.T @ x_l  # (P, D)
        grads["w_rec1"] += delta1.T @ z12[l]  # (P, P)
        grads["b_in1"] += delta1.sum(axis=0)  # (P,)
        dz12 = delta1 @ w_rec1  # dLoss/dz12[l] (B, P)
        if works(l):
            z2_before = z2[l - 1] if l > 0 else np.zeros_like(z2[l])  # (B, P)
            delta2 = tanh_backward(dz2, z2[l])  # δ^(in2) (B, P)
            grads["w_in2"] += delta2.T @ x_l  # (P, D)
            grads["w_rec2"] += delta2.T @ z2_before  # (P, P)
            grads["b_in2"] += delta2.sum(axis=0)  # (P,)
            dz2 = dz12 + delta2 @ w_rec2  # dLoss/dz2[l-1] (B, P)
        else:
            dz2 = dz12 + dz2  # dLoss/dz2[l-1] (B, P): the hold rule
        dz1 = dz12  # dLoss/dz1[l-1] (B, P)
    return grads


def loss_and_gradients(params: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray
                       ) -> tuple[float, dict[str, np.ndarray]]:
    """The training loss (mean squared error, as `learner.BPTTLearner` uses) and its
    gradients, for x (B, L, D) and targets t (B, M)."""
    y, tape = forward(params, x)
    error = y - t  # (B, M)
    loss = float(np.mean(error * error))
    dy = (2.0 / error.size) * error  # dLoss/dy (B, M)
    return loss, backward(params, tape, dy)
