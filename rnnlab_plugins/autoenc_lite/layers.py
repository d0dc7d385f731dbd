"""From-scratch layers: each backward next to its forward. Rows are samples: x is (B, D)."""

from __future__ import annotations

import numpy as np


def xavier_uniform(rng: np.random.Generator, fan_out: int, fan_in: int) -> np.ndarray:
    """U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, (fan_out, fan_in))  # (fan_out, fan_in)


def dense(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """a = x wᵀ + b: (B, D) -> (B, P) for w (P, D)."""
    a = x @ w.T  # (B, P)
    return a if b is None else a + b


def dense_backward(delta: np.ndarray, x: np.ndarray, w: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given delta = dLoss/da (B, P): dLoss/dx (B, D), dLoss/dw (P, D), dLoss/db (P,)."""
    return delta @ w, delta.T @ x, delta.sum(axis=0)


def dense_scalar(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The same as `dense`, written as a_j = b_j + sum_i w_ji x_i with loops over j and i."""
    P, D = w.shape
    a = np.empty((x.shape[0], P), dtype=np.result_type(x, w))  # (B, P)
    for j in range(P):
        a_j = np.full(x.shape[0], b[j], dtype=a.dtype)  # (B,)
        for i in range(D):
            a_j += w[j, i] * x[:, i]
        a[:, j] = a_j
    return a


def relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0.0)


def relu_backward(dz: np.ndarray, a: np.ndarray) -> np.ndarray:
    """dLoss/da from dLoss/dz for z = relu(a): the gradient passes where a > 0."""
    return dz * (a > 0)
