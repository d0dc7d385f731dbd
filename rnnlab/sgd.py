"""SGD with momentum for NumPy learners: the update of torch.optim.SGD, written out.

    v = g                  on the first step
    v = momentum * v + g   afterwards
    w = w - lr * v
"""

from __future__ import annotations

from typing import Any


def sgd_step(params: dict[str, Any], grads: dict[str, Any], velocity: dict[str, Any],
             lr: float, momentum: float = 0.0) -> None:
    """Update `params` in place from `grads`; `velocity` keeps the momentum buffers."""
    for name, g in grads.items():
        v = velocity.get(name)
        if v is None or momentum == 0:
            v = velocity[name] = g.copy() if momentum else g
        else:
            v *= momentum
            v += g
        params[name] -= lr * v
