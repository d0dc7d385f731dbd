"""AutoEncNetLite as an rnnlab Learner: random batches in, backprop and apply_dw inside."""

from __future__ import annotations

import numpy as np

from rnnlab import sgd_step
from rnnlab_plugins.autoenc_lite.net import TRAINABLE, AutoEncNetLite


class AutoEncLearner:
    def __init__(self, D: int, P: int, seed: int, lr: float, momentum: float = 0.0,
                 layer_in: str = "vector") -> None:
        self.net = AutoEncNetLite(D, P, seed=seed, layer_in=layer_in)
        self.lr, self.momentum = lr, momentum
        self.velocity: dict[str, np.ndarray] = {}

    def loss_and_gradients(self, x: np.ndarray, t: np.ndarray
                           ) -> tuple[float, dict[str, np.ndarray]]:
        return self.net.backprop(x, np.asarray(t, dtype=self.net.w["w_in"].dtype))

    def train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        loss, grads = self.loss_and_gradients(x, t)
        if self.momentum:
            sgd_step(self.net.w, grads, self.velocity, self.lr, self.momentum)
        else:
            self.net.apply_dw(grads, self.lr)
        return loss

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.net.forward(x)[0]

    def optimizer_state(self) -> dict[str, np.ndarray]:
        """The momentum buffers, for resuming."""
        return {name: v.copy() for name, v in self.velocity.items()}

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        self.velocity = {name: np.array(v) for name, v in state.items()}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: self.net.w[name].copy() for name in TRAINABLE}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        dtype = self.net.w["w_in"].dtype
        self.net.w = {name: np.array(state[name], dtype=dtype) for name in TRAINABLE}

    def double(self) -> AutoEncLearner:
        return self  # already float64
