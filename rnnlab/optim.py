"""Optimizers for NumPy learners: torch.optim.SGD and Adam and clip_grad_norm_, written out so
that a NumPy model and a torch model follow the same update rules.

    clip:  g = g * min(1, max_norm / (||all g||_2 + 1e-6))
    SGD:   v = g (first step), v = momentum * v + g;   w = w - lr * v
    Adam:  m = b1 m + (1 - b1) g;  s = b2 s + (1 - b2) g²;
           w = w - lr / (1 - b1^t) * m / (sqrt(s) / sqrt(1 - b2^t) + eps)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlab.config import OPTIMIZERS
from rnnlab.contracts import OPTIMIZER_OPTIONS


class NumpyOptimizer:
    def __init__(self, kind: str = "sgd", lr: float = 0.01, momentum: float = 0.0,
                 clip_grad: float | None = None, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        if kind not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {kind!r}")
        self.kind, self.lr, self.momentum, self.clip_grad = kind, lr, momentum, clip_grad
        self.betas, self.eps = betas, eps
        self.buffers: dict[str, np.ndarray] = {}  # "momentum/w", "m/w", "s/w", "step"

    @classmethod
    def from_config(cls, config: Any) -> NumpyOptimizer:
        """From a TrainConfig (optimizer, lr, momentum, clip_grad)."""
        return cls(config.optimizer, config.lr, config.momentum, config.clip_grad)

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update `params` in place."""
        if self.clip_grad is not None:
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            scale = min(1.0, self.clip_grad / (norm + 1e-6))
            grads = {k: g * scale for k, g in grads.items()}
        if self.kind == "adam":
            self._adam(params, grads)
            return
        for name, g in grads.items():
            key = f"momentum/{name}"
            if not self.momentum:
                update = g
            elif key not in self.buffers:
                update = self.buffers[key] = g.copy()
            else:
                update = self.buffers[key]
                update *= self.momentum
                update += g
            params[name] -= self.lr * update

    def _adam(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        b1, b2 = self.betas
        t = int(self.buffers.get("step", np.array(0))) + 1
        self.buffers["step"] = np.array(t)
        for name, g in grads.items():
            m = self.buffers.setdefault(f"m/{name}", np.zeros_like(g))
            s = self.buffers.setdefault(f"s/{name}", np.zeros_like(g))
            m *= b1
            m += (1 - b1) * g
            s *= b2
            s += (1 - b2) * g * g
            denom = np.sqrt(s) / math.sqrt(1 - b2**t) + self.eps
            params[name] -= (self.lr / (1 - b1**t)) * m / denom

    def state(self) -> dict[str, np.ndarray]:
        return {k: np.array(v) for k, v in self.buffers.items()}

    def load_state(self, state: dict[str, np.ndarray],
                   shapes: dict[str, tuple[int, ...]] | None = None) -> None:
        """Take buffers from a checkpoint; given the parameters' `shapes`, each must be one
        this optimizer keeps, of its parameter's shape (ValueError naming it otherwise)."""
        if shapes is not None:
            names = ("m", "s") if self.kind == "adam" else ("momentum",)
            layout = {f"{b}/{name}": tuple(shape) for b in names for name, shape in shapes.items()}
            if self.kind == "adam":
                layout["step"] = ()
            # every parameter gets a gradient at every step: its buffers are all made at the
            # first step, so a state holds all of them or none
            check_buffers(state, layout, f"{self.kind} with momentum {self.momentum:g}"
                          if self.kind == "sgd" else self.kind, [list(layout)])
        self.buffers = {k: np.array(v) for k, v in state.items()}


def check_buffers(state: dict[str, Any], layout: dict[str, tuple[int, ...]], kind: str,
                  groups: list[list[str]] | None = None) -> None:
    """Optimizer buffers from a checkpoint against the names and shapes an optimizer keeps: a
    buffer it would not use, one of another shape, one that is not a float array, a step that
    is not a count, or some buffers of a `group` without the others (a step makes them
    together) is a ValueError naming it."""
    for key, value in state.items():
        if key not in layout:
            raise ValueError(f"optimizer buffer {key!r} is not one that {kind} keeps "
                             f"(expected {', '.join(sorted(layout)[:4]) or 'none'}"
                             f"{', ...' if len(layout) > 4 else ''})")
        if tuple(np.shape(value)) != layout[key]:
            raise ValueError(f"optimizer buffer {key!r} has shape {tuple(np.shape(value))}, "
                             f"expected {layout[key]}")
        array = np.asarray(value)
        if key.rsplit("/", 1)[-1] == "step":
            if array.dtype.kind not in "iuf" or not (np.isfinite(array) and array >= 0
                                                     and array == np.round(array)):
                raise ValueError(f"optimizer buffer {key!r} is {array.tolist()!r}, not a count "
                                 "of steps")
        elif array.dtype.kind != "f":
            raise ValueError(f"optimizer buffer {key!r} holds {array.dtype}, not floats")
    for group in groups or []:  # a parameter's buffers come together (created at its step)
        present = [k for k in group if k in state]
        if present and len(present) < len(group):
            missing = next(k for k in group if k not in state)
            raise ValueError(f"optimizer buffer {missing!r} is missing ({present[0]!r}, "
                             "which a step makes with it, is there)")


class NumpyOptimized:
    """Base for a NumPy learner that updates through `self.optimizer` (a NumpyOptimizer):
    gives it learning-rate schedules and resuming with the optimizer's state."""

    optimizer: NumpyOptimizer
    options = OPTIMIZER_OPTIONS  # the optimizer applies all of rnnlab's optimizer options

    def set_lr(self, lr: float) -> None:
        """The learning rate of the following updates (--lr-schedule)."""
        self.optimizer.lr = lr

    def optimizer_state(self) -> dict[str, np.ndarray]:
        """The optimizer's buffers (momentum, Adam moments), for resuming."""
        return self.optimizer.state()

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        shapes = {k: tuple(np.shape(v)) for k, v in self.state_dict().items()}  # type: ignore[attr-defined]
        self.optimizer.load_state(state, shapes)
