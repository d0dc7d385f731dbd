"""AlarmworkNet: two recurrent tanh layers, one of them ticking every second step.

    z12[l] = z1[l-1] + z2[l-1]
    z1[l]  = tanh(x_l w_in1ᵀ + z12[l] w_rec1ᵀ + b_in1)         every step
    z2[l]  = tanh(x_l w_in2ᵀ + z2[l-1] w_rec2ᵀ + b_in2)        l = 0, 2, 4, ... (`ticks`)
    z2[l]  = z2[l-1]                                           l = 1, 3, 5, ...: held
    y      = tanh(z1[L-1] w_outᵀ + b_out)                      the last step only

Notation as in `bptt_plain.py` (which maps it to Homework I's): rows, steps l = 0..L-1. All
states start at zero. Weights are Xavier-uniform (recurrent ones optionally orthogonal or the
identity), biases zero, all written by hand. Autograd differentiates this module
(`impl=autograd`); `bptt.py` is the hand-written backward pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import nn


def xavier_uniform(fan_out: int, fan_in: int) -> torch.Tensor:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return (torch.rand(fan_out, fan_in) * 2.0 - 1.0) * a  # (fan_out, fan_in)


def recurrent(P: int, kind: str = "xavier") -> torch.Tensor:
    """A (P, P) recurrent matrix: Xavier-uniform, a random orthogonal matrix (QR of a Gaussian
    one, signs fixed so it is uniformly distributed), or the identity.

    The QR runs in float64: in float32 its last bits depend on the CPU (MKL picks its code path
    by CPU, and training turns such a difference into another run); rounded from float64 to
    float32, Q is the same under every MKL code path (tests/test_alarmwork.py)."""
    if kind == "identity":
        return torch.eye(P)
    if kind == "orthogonal":
        q, r = torch.linalg.qr(torch.randn(P, P).double())  # (P, P) each, float64
        return (q * torch.sign(torch.diagonal(r))).float()
    return xavier_uniform(P, P)


def ticks(step: int) -> bool:
    """Whether Layer_rec2 works at step `step`: every second step, starting from the first."""
    return step % 2 == 0


class AlarmworkNet(nn.Module):
    def __init__(self, D: int, P: int, M: int, layer_out: str = "vector",
                 rec_init: str = "xavier") -> None:
        super().__init__()
        self.w_in1 = nn.Parameter(xavier_uniform(P, D))  # (P, D)
        self.w_rec1 = nn.Parameter(recurrent(P, rec_init))  # (P, P)
        self.b_in1 = nn.Parameter(torch.zeros(P))  # (P,)
        self.w_in2 = nn.Parameter(xavier_uniform(P, D))  # (P, D)
        self.w_rec2 = nn.Parameter(recurrent(P, rec_init))  # (P, P)
        self.b_in2 = nn.Parameter(torch.zeros(P))  # (P,)
        self.w_out = nn.Parameter(xavier_uniform(M, P))  # (M, P)
        self.b_out = nn.Parameter(torch.zeros(M))  # (M,)
        self.layer_out = {"vector": self.layer_out_vector, "scalar": self.layer_out_scalar}[
            layer_out]

    def steps(self, x: torch.Tensor) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Run the recurrence over time on a (B, L, D) batch, yielding (z1[l], z2[l])."""
        B, L, _ = x.shape
        z1 = x.new_zeros(B, self.w_rec1.shape[0])  # (B, P)
        z2 = x.new_zeros(B, self.w_rec2.shape[0])  # (B, P)
        for l in range(L):
            z12 = z1 + z2  # (B, P): both from step l-1
            xl = x[:, l]  # (B, D)
            z1 = torch.tanh(xl @ self.w_in1.T + z12 @ self.w_rec1.T + self.b_in1)  # (B, P)
            if ticks(l):
                z2 = torch.tanh(xl @ self.w_in2.T + z2 @ self.w_rec2.T + self.b_in2)  # (B, P)
            yield z1, z2

    def states(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z1 and z2 at every step, each (B, L, P)."""
        z1s, z2s = zip(*self.steps(x), strict=True)
        return torch.stack(z1s, 1), torch.stack(z2s, 1)

    def layer_out_vector(self, z1: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z1 @ self.w_out.T + self.b_out)  # (B, M)

    def layer_out_scalar(self, z1: torch.Tensor) -> torch.Tensor:
        """a_out_j = Σ_i w_out[j, i] z1_i + b_out[j]; y_j = tanh(a_out_j): loops over j, i."""
        M, P = self.w_out.shape
        outputs = []
        for j in range(M):
            a_j = self.b_out[j].expand(z1.shape[0])  # (B,)
            for i in range(P):
                a_j = a_j + self.w_out[j, i] * z1[:, i]  # (B,)
            outputs.append(torch.tanh(a_j))
        return torch.stack(outputs, 1)  # (B, M)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, D) -> (B, M). The recurrence runs over time; Layer_out once, after it."""
        *_, (z1, _) = self.steps(x)  # z1 after the last step (B, P)
        return self.layer_out(z1)  # (B, M)
