"""The `rnnlab new-plugin model` templates: a small Elman RNN with a linear read-out of
the last step.

string.Template text ($name, $module, $cls, ...); the generated code is ruff clean."""

from __future__ import annotations

# what the package's README says about it
README = {
    "what": "a small Elman RNN with a linear read-out of the last step.",
    "use": "rnnlab train $name --L 10 --epochs 5\n"
           "    rnnlab train $name --L 10 --epochs 5 --set activation=relu",
    "edit": "`build` returns a fresh `torch.nn.Module` mapping a (B, L, D) batch to\n"
            "  (B, M); rnnlab trains it (SGD or Adam on MSE loss), checkpoints and "
            "evaluates it.\n  Add options to `settings`; users give them as "
            "`--set key=value`.",
}

# the plugin module, rnnlab_NAME.py
MODULE = '''\
"""rnnlab model plugin `$name`.

A small Elman RNN with a linear read-out of the last step. Edit `build` to make it your model.
The module stays light: torch is imported inside `build`, so `rnnlab plugins` lists the plugin
without loading torch.
"""

from __future__ import annotations

from typing import Any

from rnnlab import DataSpec, ModelPlugin, Setting, TrainConfig


class $cls(ModelPlugin):
    summary = "Elman RNN + linear read-out of the last step (rnnlab new-plugin)."
    settings = {
        "activation": Setting("tanh", "recurrent nonlinearity", choices=("tanh", "relu")),
    }

    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        """A fresh torch module mapping (B, L, D) inputs to (B, M) outputs."""
        import torch  # heavy imports inside build, so listing plugins stays fast
        from torch import nn

        act = torch.relu if config.settings["activation"] == "relu" else torch.tanh

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inp = nn.Linear(spec.input_dim, config.hidden)  # x_t -> (P,)
                self.rec = nn.Linear(config.hidden, config.hidden, bias=False)  # h_{t-1} -> (P,)
                self.out = nn.Linear(config.hidden, spec.output_dim)  # h_L -> (M,)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                h = x.new_zeros(x.shape[0], self.rec.in_features)  # (B, P)
                for step in range(x.shape[1]):
                    h = act(self.inp(x[:, step]) + self.rec(h))
                return self.out(h)  # (B, M)

        return Net()
'''

# its tests, tests/test_NAME.py: the conformance kit, then one test of its own
TESTS = '''\
"""Tests of `$name`: rnnlab's conformance kit, then your own."""

from __future__ import annotations

import rnnlab
from rnnlab import DataSpec
from rnnlab.testing import ModelContract

PLUGIN = "$name"


class Test$cls(ModelContract):
    plugin = PLUGIN
    variants = ({"activation": "tanh"}, {"activation": "relu"})  # each check runs for both


def test_output_remembers_the_first_step() -> None:
    import numpy as np

    learner = rnnlab.build_learner(PLUGIN, DataSpec("sequence", 2, 1, 5), hidden=4)
    x = np.zeros((1, 5, 2), np.float32)
    changed = x.copy()
    changed[0, 0] = 1.0
    assert learner.predict(x)[0, 0] != learner.predict(changed)[0, 0]
'''
