"""PyTorch's own recurrent layers as baselines: nn.RNN and nn.LSTM with a linear read-out.

Entry module: light on purpose; torch is imported in `build`.
"""

from __future__ import annotations

from typing import Any

from rnnlab import DataSpec, ModelPlugin, TrainConfig


class SimpleRNN(ModelPlugin):
    summary = "Elman RNN baseline: torch nn.RNN (tanh) + linear read-out of the last step."

    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        from rnnlab_plugins.baselines.nets import LastStepReadout

        return LastStepReadout("rnn", spec.input_dim, config.hidden, spec.output_dim)


class LSTM(ModelPlugin):
    summary = "LSTM baseline: torch nn.LSTM + linear read-out of the last step."

    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        from rnnlab_plugins.baselines.nets import LastStepReadout

        return LastStepReadout("lstm", spec.input_dim, config.hidden, spec.output_dim)
