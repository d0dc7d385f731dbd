"""AlarmworkNet trained by its hand-written BPTT: NumPy from loss to weight update.

The weights start as the torch model's (same seed, same hand-written init) and the update is
torch's (SGD with momentum or Adam, gradient clipping) written out, so `impl=bptt` and
`impl=autograd` follow the same trajectory up to float rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlab import NumpyOptimized, NumpyOptimizer, subnormals_flushed
from rnnlab_plugins.alarmwork import bptt


def writable(a: np.ndarray) -> np.ndarray:
    """`a` made writable again, or a copy where it cannot be (e.g. unpickled from bytes)."""
    try:
        a.flags.writeable = True
        return a
    except ValueError:
        return a.copy()


class BPTTLearner(NumpyOptimized):
    """`params` holds the named parameters (read-only: they change through `train_step` and
    `load_state_dict` only, so the fused `bptt.Weights` built from them stay valid)."""

    def __init__(self, params: dict[str, np.ndarray], optimizer: NumpyOptimizer,
                 checkpoint_every: int = 0) -> None:
        self._set_params({name: np.array(params[name]) for name in bptt.NAMES})
        self.optimizer, self.checkpoint_every = optimizer, checkpoint_every
        self.workspace = bptt.Workspace()

    def _set_params(self, params: dict[str, np.ndarray]) -> None:
        for value in params.values():
            value.flags.writeable = False
        self.params, self._weights = params, None

    def weights(self) -> bptt.Weights:
        """The parameters as `bptt` lays them out, built once per update."""
        if self._weights is None:
            self._weights = bptt.Weights.of(self.params)
        return self._weights

    def loss_and_gradients(self, x: np.ndarray, t: np.ndarray
                           ) -> tuple[float, dict[str, np.ndarray]]:
        """MSE loss of the batch and its gradient for every parameter."""
        y, saved = bptt.forward(self.weights(), x, self.workspace, self.checkpoint_every)
        error = y - t  # (B, M)
        loss = float(np.mean(error * error))
        grads = bptt.backward(saved, (2.0 / error.size) * error, self.workspace)
        return loss, grads

    def train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        with subnormals_flushed():  # vanishing gradients: six times faster at L=400
            loss, grads = self.loss_and_gradients(x, t)
            params = {name: writable(value) for name, value in self.params.items()}
            self.optimizer.step(params, grads)  # in place
        self._set_params(params)
        return loss

    def predict(self, x: np.ndarray, chunk: int = 1000) -> np.ndarray:
        w, ws = self.weights(), bptt.Workspace()  # one workspace for all the chunks
        return np.concatenate([bptt.forward(w, x[i : i + chunk], ws)[0]
                               for i in range(0, len(x), chunk)])

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self._set_params({name: np.array(state[name], dtype=self.params[name].dtype)
                          for name in bptt.NAMES})

    def pack(self, learners: list[Any], device: str) -> Any:
        """Packable: on a GPU, these runs as one learner of the torch BPTT (impl=torch); on
        the CPU none: this NumPy BPTT is faster there than the torch one even packed (5.0 ms
        a step against 5.9 ms per network for a pack of 16, L=100, batch 20, one thread;
        2026-11-29, AMD EPYC VM)."""
        if device != "cuda":
            return None
        from rnnlab_plugins.alarmwork.learner_torch import packed

        return packed(learners, device)

    def double(self) -> BPTTLearner:
        """Switch to float64 (for gradient checks)."""
        self._set_params({k: v.astype(np.float64) for k, v in self.params.items()})
        self.optimizer.load_state({})
        return self
