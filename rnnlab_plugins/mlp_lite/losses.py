"""The losses, each with its gradient with respect to the network's outputs o (the inputs of
the softmax where there is one). Rows are samples: o, t are (B, k), t one-hot; every loss is
the mean over the batch of a per-sample loss ℓ.

    squared        ℓ = 0.5 Σ_j (o_j - t_j)²                      ∂ℓ/∂o_j = o_j - t_j
    cross-entropy  p = softmax(o);  ℓ = -log p_y                 ∂ℓ/∂o_j = p_j - t_j
    hinge          p = softmax(o);  ℓ = Σ_{j≠y} max(0, p_j - p_y + margin)

The hinge gradient (seed 003, Exercise 3). With a_j = 1 where the margin of class j ≠ y is
violated (p_j - p_y + margin > 0), else 0, and A = Σ_j a_j, the gradient with respect to the
probabilities is g_j = ∂ℓ/∂p_j = a_j for j ≠ y and g_y = -A. Through the softmax,
∂p_i/∂o_j = p_i (δ_ij - p_j), so

    ∂ℓ/∂o_j = Σ_i g_i p_i (δ_ij - p_j) = p_j (g_j - Σ_i p_i g_i)

`hinge_grad_plain` computes the same with the Jacobian written out, element by element.
"""

from __future__ import annotations

import numpy as np


def softmax(o: np.ndarray) -> np.ndarray:
    """p_j = exp(o_j) / Σ_i exp(o_i) per row; shifted by the row's max, which leaves p alone
    and keeps exp from overflowing."""
    e = np.exp(o - o.max(axis=1, keepdims=True))  # (B, k)
    return e / e.sum(axis=1, keepdims=True)


def squared(o: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """Exercise 1's 0.5 (y - t)², summed over outputs: (loss, ∂loss/∂o)."""
    B = len(o)
    return float(0.5 * np.sum((o - t) ** 2) / B), (o - t) / B  # (B, k)


def cross_entropy(o: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """-log p_y: (loss, ∂loss/∂o)."""
    B, p = len(o), softmax(o)  # (B, k)
    log_p = o - o.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))  # log softmax, stable
    return float(-np.sum(t * log_p) / B), (p - t) / B


def hinge_margins(p: np.ndarray, t: np.ndarray, margin: float) -> np.ndarray:
    """p_j - p_y + margin for j ≠ y, 0 at j = y: (B, k)."""
    p_y = np.sum(p * t, axis=1, keepdims=True)  # (B, 1)
    return (p - p_y + margin) * (1 - t)


def hinge(o: np.ndarray, t: np.ndarray, margin: float) -> tuple[float, np.ndarray]:
    """Σ_{j≠y} max(0, p_j - p_y + margin) on p = softmax(o): (loss, ∂loss/∂o)."""
    B, p = len(o), softmax(o)  # (B, k)
    margins = hinge_margins(p, t, margin)  # (B, k)
    a = (margins > 0).astype(o.dtype)  # violated margins, a_y = 0
    g = a - t * a.sum(axis=1, keepdims=True)  # ∂ℓ/∂p: a_j for j ≠ y, -A at y
    d_o = p * (g - np.sum(p * g, axis=1, keepdims=True))  # p_j (g_j - Σ_i p_i g_i)
    return float(np.sum(np.maximum(margins, 0)) / B), d_o / B


def hinge_grad_plain(o: np.ndarray, y: list[int], margin: float) -> np.ndarray:
    """∂ℓ/∂o for each row of o (not divided by B), from the derivation with loops: the
    chain rule through every p_i, the softmax Jacobian's element (i, j) at a time."""
    out = np.zeros_like(o)
    for n, row in enumerate(o):
        p = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
        k, c = len(row), y[n]
        for j in range(k):
            total = 0.0
            for i in range(k):  # ∂ℓ/∂o_j = Σ_i ∂ℓ/∂p_i ∂p_i/∂o_j
                if i == c:
                    dl_dp = -sum(1.0 for m in range(k) if m != c and p[m] - p[c] + margin > 0)
                else:
                    dl_dp = 1.0 if p[i] - p[c] + margin > 0 else 0.0
                dp_do = p[i] * ((1.0 if i == j else 0.0) - p[j])
                total += dl_dp * dp_do
            out[n, j] = total
    return out


LOSSES = ("squared", "cross-entropy", "hinge")
