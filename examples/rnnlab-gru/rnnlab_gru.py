"""An rnnlab model plugin in one file: a GRU with a linear read-out of the last step.

Install it (`pip install ./examples/rnnlab-gru`) and it appears in `rnnlab plugins`;
`rnnlab train gru --L 50` trains it like any bundled model.
"""

from __future__ import annotations

from typing import Any

from rnnlab import DataSpec, ModelPlugin, Setting, TrainConfig


class GRU(ModelPlugin):
    summary = "GRU: torch nn.GRU + linear read-out of the last step (example plugin)."
    settings = {"layers": Setting(1, "number of stacked GRU layers")}

    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        import torch  # heavy imports stay inside build, so listing plugins is fast
        from torch import nn

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.gru = nn.GRU(spec.input_dim, config.hidden,
                                  num_layers=config.settings["layers"], batch_first=True)
                self.out = nn.Linear(config.hidden, spec.output_dim)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                h, _ = self.gru(x)  # (B, L, P)
                return self.out(h[:, -1])  # (B, M)

        return Net()
