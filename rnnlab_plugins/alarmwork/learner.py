"""AlarmworkNet trained by its hand-written BPTT: NumPy from loss to weight update.

The weights start as the torch model's (same seed, same hand-written init) and the update is
torch's (SGD with momentum or Adam, gradient clipping) written out, so `impl=bptt` and
`impl=autograd` follow the same trajectory up to float rounding.
"""

from __future__ import annotations

import numpy as np

from rnnlab import NumpyOptimized, NumpyOptimizer
from rnnlab_plugins.alarmwork import bptt


class BPTTLearner(NumpyOptimized):
    def __init__(self, params: dict[str, np.ndarray], optimizer: NumpyOptimizer,
                 checkpoint_every: int = 0) -> None:
        self.params = {name: np.array(params[name]) for name in bptt.NAMES}
        self.optimizer, self.checkpoint_every = optimizer, checkpoint_every
        self.workspace = bptt.Workspace()

    def loss_and_gradients(self, x: np.ndarray, t: np.ndarray
                           ) -> tuple[float, dict[str, np.ndarray]]:
        """MSE loss of the batch and its gradient for every parameter."""
        y, saved = bptt.forward(self.params, x, self.workspace, self.checkpoint_every)
        error = y - t  # (B, M)
        loss = float(np.mean(error * error))
        grads = bptt.backward(saved, (2.0 / error.size) * error, self.workspace)
        return loss, grads

    def train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        loss, grads = self.loss_and_gradients(x, t)
        self.optimizer.step(self.params, grads)
        return loss

    def predict(self, x: np.ndarray, chunk: int = 1000) -> np.ndarray:
        parts = [bptt.forward(self.params, x[i : i + chunk], bptt.Workspace())[0]
                 for i in range(0, len(x), chunk)]
        return np.concatenate(parts)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for name in bptt.NAMES:
            self.params[name] = np.array(state[name], dtype=self.params[name].dtype)

    def double(self) -> BPTTLearner:
        """Switch to float64 (for gradient checks)."""
        self.params = {k: v.astype(np.float64) for k, v in self.params.items()}
        self.optimizer.load_state({})
        return self
