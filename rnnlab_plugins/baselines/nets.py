"""A torch recurrent layer run over (B, L, D) batches with a linear read-out of the last step."""

from __future__ import annotations

import math

import torch
from torch import nn


def recurrent_block(P: int, kind: str) -> torch.Tensor:
    """One (P, P) block of the hidden-to-hidden weights."""
    if kind == "identity":
        return torch.eye(P)
    if kind == "orthogonal":
        q, r = torch.linalg.qr(torch.randn(P, P))
        return q * torch.sign(torch.diagonal(r))
    a = math.sqrt(6.0 / (P + P))  # xavier
    return (torch.rand(P, P) * 2 - 1) * a


class LastStepReadout(nn.Module):
    def __init__(self, cell: str, D: int, P: int, M: int, rec_init: str = "default",
                 nonlinearity: str = "tanh") -> None:
        super().__init__()
        if cell == "rnn":  # our batches are (B, L, D)
            self.rnn: nn.Module = nn.RNN(D, P, nonlinearity=nonlinearity, batch_first=True)
        else:
            self.rnn = nn.LSTM(D, P, batch_first=True)
        self.out = nn.Linear(P, M)
        if rec_init != "default":  # replace torch's uniform init of each gate's block
            weight = self.rnn.weight_hh_l0  # (gates * P, P)
            with torch.no_grad():
                for gate in range(weight.shape[0] // P):
                    weight[gate * P : (gate + 1) * P] = recurrent_block(P, rec_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x)  # (B, L, P)
        return self.out(h[:, -1])  # (B, M)
