"""MLP-Lite as an rnnlab Learner: backprop inside, the update through rnnlab's NumpyOptimizer
(SGD with momentum or Adam, clipping, schedules, resumable state)."""

from __future__ import annotations

import numpy as np

from rnnlab import NumpyOptimized, NumpyOptimizer
from rnnlab_plugins.mlp_lite.net import MlpLite


class MlpLearner(NumpyOptimized):
    def __init__(self, net: MlpLite, optimizer: NumpyOptimizer) -> None:
        self.net, self.optimizer = net, optimizer

    def loss_and_gradients(self, x: np.ndarray, t: np.ndarray
                           ) -> tuple[float, dict[str, np.ndarray]]:
        return self.net.backprop(x, t)

    def train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        loss, grads = self.net.backprop(x, t)
        self.optimizer.step(self.net.w, grads)
        return loss

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.net.predict(x)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self.net.w.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.net.w = {name: np.array(state[name], dtype=np.float64) for name in self.net.w}

    def double(self) -> MlpLearner:
        return self  # already float64
