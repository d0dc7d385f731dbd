"""PyTorch's own recurrent layers as baselines: nn.RNN and nn.LSTM with a linear read-out.

Entry module: light on purpose; torch is imported in `build`.
"""

from __future__ import annotations

from typing import Any

from rnnlab import DataSpec, ModelPlugin, Setting, TrainConfig

REC_INIT = Setting("default", "initial hidden-to-hidden weights, per gate: torch's default, "
                   "xavier, orthogonal or identity",
                   choices=("default", "xavier", "orthogonal", "identity"))
NONLINEARITY = Setting("tanh", "the simple RNN's activation: tanh, or relu (with rec_init=identity "
                       "the IRNN)", choices=("tanh", "relu"), neutral="tanh")


class SimpleRNN(ModelPlugin):
    summary = "Elman RNN baseline: torch nn.RNN (tanh or relu) + linear read-out of the last step."
    data = "adding"
    settings = {"rec_init": REC_INIT, "nonlinearity": NONLINEARITY}
    # The default stays the homework recipe (rnnlab's defaults); long-sequences is the recipe
    # found for AlarmworkNet on long sequences, with which the LSTM solves L = 100 in 5 of 5
    # seeds; irnn is that recipe with ReLU units and identity recurrent weights, with which
    # the simple RNN leaves the always-0 plateau (docs/results.md).
    recipes = {
        "homework": {},
        "long-sequences": {"optimizer": "adam", "lr": 0.0003, "clip_grad": 1.0,
                           "set": {"rec_init": "orthogonal"}},
        "irnn": {"optimizer": "adam", "lr": 0.0003, "clip_grad": 1.0,
                 "set": {"rec_init": "identity", "nonlinearity": "relu"}},
    }
    default_recipe = "homework"
    _cell = "rnn"

    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        from rnnlab_plugins.baselines.nets import LastStepReadout

        return LastStepReadout(self._cell, spec.input_dim, config.hidden, spec.output_dim,
                               rec_init=config.settings["rec_init"],
                               nonlinearity=config.settings.get("nonlinearity", "tanh"))


class LSTM(SimpleRNN):
    summary = "LSTM baseline: torch nn.LSTM + linear read-out of the last step."
    settings = {"rec_init": REC_INIT}
    _cell = "lstm"
    recipes = {name: SimpleRNN.recipes[name] for name in ("homework", "long-sequences")}
