"""A torch recurrent layer run over (B, L, D) batches with a linear read-out of the last step."""

from __future__ import annotations

import torch
from torch import nn


class LastStepReadout(nn.Module):
    def __init__(self, cell: str, D: int, P: int, M: int) -> None:
        super().__init__()
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM}[cell]
        self.rnn = layer(D, P, batch_first=True)  # our batches are (B, L, D)
        self.out = nn.Linear(P, M)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x)  # (B, L, P)
        return self.out(h[:, -1])  # (B, M)
