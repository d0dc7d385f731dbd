"""The activations f of a layer, z = f(s), each with its derivative f'(s) next to it. The
derivative takes both s and z = f(s): sigmoid and tanh are cheapest from z, relu needs s."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Forward = Callable[[np.ndarray], np.ndarray]
Derivative = Callable[[np.ndarray, np.ndarray], np.ndarray]


def sigmoid(s: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-s)), written so that a large negative s does not overflow."""
    e = np.exp(-np.abs(s))
    return np.where(s >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_prime(s: np.ndarray, z: np.ndarray) -> np.ndarray:
    return z * (1 - z)  # σ'(s) = σ(s) (1 - σ(s))


def tanh(s: np.ndarray) -> np.ndarray:
    return np.tanh(s)


def tanh_prime(s: np.ndarray, z: np.ndarray) -> np.ndarray:
    return 1 - z**2  # tanh'(s) = 1 - tanh(s)²


def relu(s: np.ndarray) -> np.ndarray:
    return np.maximum(s, 0.0)


def relu_prime(s: np.ndarray, z: np.ndarray) -> np.ndarray:
    return (s > 0).astype(s.dtype)  # 1 where s > 0, else 0 (0 at the kink)


def identity(s: np.ndarray) -> np.ndarray:
    return s


def identity_prime(s: np.ndarray, z: np.ndarray) -> np.ndarray:
    return np.ones_like(s)


ACTIVATIONS: dict[str, tuple[Forward, Derivative]] = {
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (tanh, tanh_prime),
    "relu": (relu, relu_prime),
    "identity": (identity, identity_prime),
}
