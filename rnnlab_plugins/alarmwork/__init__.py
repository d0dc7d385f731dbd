"""AlarmworkNet (course Homework I/II): a clockwork-style RNN with a hand-written forward pass.

Entry module: light on purpose; torch is imported in `build`.
"""

from __future__ import annotations

from typing import Any

from rnnlab import DataSpec, ModelPlugin, Setting, Timing, TrainConfig, UsageError


class Alarmwork(ModelPlugin):
    summary = ("AlarmworkNet: two tanh recurrent layers, one ticking every second step; "
               "hand-written forward and BPTT.")
    data = "adding"
    settings = {
        "layer_out": Setting("vector", "Layer_out as a matrix product (vector) or as explicit "
                             "loops over j and i (scalar; needs impl=autograd)",
                             choices=("vector", "scalar")),
        "impl": Setting("auto", "bptt: hand-written BPTT in NumPy (CPU; the fastest there); "
                        "torch: the same BPTT in torch (any device; one CUDA graph per step on "
                        "a GPU); autograd: torch ops per step, differentiated by autograd (any "
                        "device); auto: torch on cuda, autograd for layer_out=scalar, else bptt",
                        choices=("auto", "bptt", "torch", "autograd")),
        "checkpoint_every": Setting(0, "impl=bptt: keep activations only every K steps and "
                                    "recompute the rest in the backward pass (0: keep all)"),
        "rec_init": Setting("xavier", "initial w_rec1 and w_rec2",
                            choices=("xavier", "orthogonal", "identity")),
    }
    # The homework recipe (rnnlab's defaults) stays available by name; the default is the best
    # recipe found for long sequences: 98.2 ± 0.3 % test accuracy at L = 100 over seeds 0-4
    # against 32.6 ± 0.5 % (docs/results.md, experiments/alarmwork_recipes.yaml).
    recipes = {
        "homework": {},
        "long-sequences": {"optimizer": "adam", "lr": 0.0003, "clip_grad": 1.0,
                           "set": {"rec_init": "orthogonal"}},
    }
    default_recipe = "long-sequences"
    torch_free = True  # build() seeds the torch it uses itself
    timing = Timing("layer_out", slow="scalar", fast="vector", shared={"impl": "autograd"})
    gradcheck = ({"impl": "autograd"}, {"impl": "autograd", "layer_out": "scalar"},
                 {"impl": "bptt"}, {"impl": "bptt", "checkpoint_every": 2}, {"impl": "torch"})

    def auto_device(self, spec: DataSpec, config: TrainConfig, cuda: bool) -> str:
        """The CPU, always. One run (batch 20, 50 hidden units, L=100, 10,000 sequences) took
        0.94 s an epoch with the NumPy BPTT on one CPU thread and 22.6 s with autograd on an
        H200 (step by step, one small kernel after another; the cuDNN LSTM took 0.97 s there).
        The torch BPTT in CUDA graphs (`--device cuda`) has not been timed on a GPU since its
        loops were cut to 6 kernels a time step; `benchmarks/gpu.py` measures it, and this
        rule should follow what it finds."""
        return "cpu"

    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        """The NumPy BPTT learner without torch (its Xavier or identity initial weights are
        drawn in NumPy, equal to torch's: init.py); anything else through torch, seeded here
        (`torch_free`)."""
        layer_out, impl = config.settings["layer_out"], config.settings["impl"]
        K, rec_init = config.settings["checkpoint_every"], config.settings["rec_init"]
        cuda = config.device == "cuda"
        if impl == "auto":
            impl = "autograd" if layer_out == "scalar" else "torch" if cuda else "bptt"
        if impl == "bptt" and (cuda or layer_out == "scalar"):
            raise UsageError("impl=bptt runs in NumPy on the CPU with Layer_out in vector form; "
                             "use impl=torch for --device cuda, impl=autograd for "
                             "layer_out=scalar")
        if impl == "torch" and layer_out == "scalar":
            raise UsageError("impl=torch computes Layer_out in vector form; use impl=autograd "
                             "for layer_out=scalar")
        if K < 0 or (K and impl != "bptt"):
            raise UsageError(f"checkpoint_every expects an integer >= 0 with impl=bptt, got {K}")
        D, P, M = spec.input_dim, config.hidden, spec.output_dim
        state = None
        if impl == "bptt":
            from rnnlab_plugins.alarmwork import init

            state = init.weights(D, P, M, config.seed, rec_init)
        if state is None:
            import torch

            from rnnlab_plugins.alarmwork.net import AlarmworkNet

            torch.manual_seed(config.seed)
            net = AlarmworkNet(D, P, M, layer_out=layer_out, rec_init=rec_init)
            if impl == "autograd":
                return net
            state = {k: v.detach().numpy() for k, v in net.state_dict().items()}
        if impl == "torch":
            from rnnlab_plugins.alarmwork.learner_torch import TorchBPTTLearner

            return TorchBPTTLearner({k: v[None] for k, v in state.items()}, config.optimizer,
                                    config.lr, config.momentum, config.clip_grad,
                                    device="cuda" if cuda else "cpu")
        from rnnlab import NumpyOptimizer
        from rnnlab_plugins.alarmwork.learner import BPTTLearner

        return BPTTLearner(state, NumpyOptimizer.from_config(config), checkpoint_every=K)
