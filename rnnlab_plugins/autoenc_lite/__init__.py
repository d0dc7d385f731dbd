"""AutoEncNetLite (course Homework II, 2020): a small auto-encoder with hand-written backprop in
NumPy. Entry module: light on purpose; NumPy work happens in `net` and `learner`."""

from __future__ import annotations

from typing import Any

from rnnlab import DataSpec, ModelPlugin, Setting, Timing, TrainConfig


class AutoEncLite(ModelPlugin):
    summary = ("AutoEncNetLite: 15x15 image auto-encoder with a frozen identity layer and a "
               "'reduce x 3' link; NumPy forward and backprop written by hand.")
    data = "images"
    kinds = ("image",)
    recipe = {"updates": 1000, "batch_size": 20, "lr": 0.001, "momentum": 0.0, "hidden": 75,
              "early_stop": None}
    settings = {
        "layer_in": Setting("vector", "Layer_in as a matrix product (vector) or as explicit "
                            "loops over j and i (scalar)", choices=("vector", "scalar")),
    }
    timing = Timing("layer_in", slow="scalar", fast="vector")
    gradcheck = ({},)
    after_training = ("curves", "reconstructions")

    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        from rnnlab import NumpyOptimizer
        from rnnlab_plugins.autoenc_lite.learner import AutoEncLearner

        return AutoEncLearner(spec.input_dim, config.hidden, config.seed,
                              NumpyOptimizer.from_config(config), config.settings["layer_in"])
