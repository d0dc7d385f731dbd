"""AutoEncNetLite as an rnnlab Learner: random batches in, backprop and apply_dw inside."""

from __future__ import annotations

import numpy as np

from rnnlab import NumpyOptimized, NumpyOptimizer
from rnnlab_plugins.autoenc_lite.net import TRAINABLE, AutoEncNetLite


class AutoEncLearner(NumpyOptimized):
    def __init__(self, D: int, P: int, seed: int, optimizer: NumpyOptimizer,
                 layer_in: str = "vector") -> None:
        self.net = AutoEncNetLite(D, P, seed=seed, layer_in=layer_in)
        self.optimizer = optimizer
        o = optimizer  # the homework's apply_dw is plain SGD; anything else goes through o
        self.plain_sgd = o.kind == "sgd" and not o.momentum and o.clip_grad is None

    def loss_and_gradients(self, x: np.ndarray, t: np.ndarray
                           ) -> tuple[float, dict[str, np.ndarray]]:
        return self.net.backprop(x, np.asarray(t, dtype=self.net.w["w_in"].dtype))

    def train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        loss, grads = self.loss_and_gradients(x, t)
        if self.plain_sgd:
            self.net.apply_dw(grads, self.optimizer.lr)
        else:
            self.optimizer.step(self.net.w, grads)
        return loss

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.net.forward(x)[0]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: self.net.w[name].copy() for name in TRAINABLE}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        dtype = self.net.w["w_in"].dtype
        self.net.w = {name: np.array(state[name], dtype=dtype) for name in TRAINABLE}

    def double(self) -> AutoEncLearner:
        return self  # already float64
