"""AutoEncNetLite (course Homework II, 2020) in NumPy, with its backward pass written by hand.

Rows are samples (x is (B, D)), as in the rest of rnnlab; D = 225 (15x15 pixels), P = 75.

    a_in       = x w_inᵀ + b_in;         z_in  = ReLU(a_in)     w_in (P, D), b_in (P)   trainable
    a_rec      = z_in w_recᵀ + b_rec;    z_rec = ReLU(a_rec)    w_rec = I, b_rec = 0     frozen
    x_red      = x[:, 0::3]                 every third pixel, D/3 = 75 ("reduce x 3")
    z_link     = x_red w_linkᵀ              w_link (P, D/3), no bias, identity activation
    z_rec_link = z_rec + z_link
    a_out      = z_rec_link w_outᵀ + b_out; y = ReLU(a_out)     w_out (D, P), b_out (D) trainable
    Loss       = Σ_n Σ_i (y - t)²           summed over the batch (t = x for an auto-encoder)

Backward (`backprop`), δ = dLoss/da, ReLU'(a) = [a > 0]:

    delta_out   = 2 (y - t) ⊙ [a_out > 0]          dLoss/dw_out = delta_outᵀ z_rec_link
                                                   dLoss/db_out = Σ_n delta_out
    dz_rec_link = delta_out w_out                  = dLoss/dz_link = dLoss/dz_rec (a sum)
                                                   dLoss/dw_link = dz_rec_linkᵀ x_red
    delta_rec   = dz_rec_link ⊙ [a_rec > 0]        (w_rec, b_rec frozen: no gradient kept)
    dz_in       = delta_rec w_rec
    delta_in    = dz_in ⊙ [a_in > 0]               dLoss/dw_in = delta_inᵀ x
                                                   dLoss/db_in = Σ_n delta_in
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab_plugins.autoenc_lite.layers import (
    dense,
    dense_backward,
    dense_scalar,
    relu,
    relu_backward,
    xavier_uniform,
)

TRAINABLE = ("w_in", "b_in", "w_link", "w_out", "b_out")


@dataclass
class Cache:
    """What the backward pass needs from the forward pass."""

    x: np.ndarray  # (B, D)
    a_in: np.ndarray  # (B, P)
    a_rec: np.ndarray  # (B, P)
    x_red: np.ndarray  # (B, D/3)
    z_rec_link: np.ndarray  # (B, P): z_rec + z_link
    a_out: np.ndarray  # (B, D)


class AutoEncNetLite:
    def __init__(self, D: int = 225, P: int = 75, seed: int = 0, layer_in: str = "vector"):
        rng = np.random.default_rng(seed)
        reduced = len(range(0, D, 3))
        self.w = {
            "w_in": xavier_uniform(rng, P, D),  # (P, D)
            "b_in": np.zeros(P),  # (P,)
            "w_link": xavier_uniform(rng, P, reduced),  # (P, D/3)
            "w_out": xavier_uniform(rng, D, P),  # (D, P)
            "b_out": np.zeros(D),  # (D,)
        }
        self.w_rec, self.b_rec = np.eye(P), np.zeros(P)  # frozen
        self.layer_in = layer_in

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Cache]:
        w = self.w
        x = np.asarray(x, dtype=w["w_in"].dtype)  # (B, D)
        if self.layer_in == "scalar":
            a_in = dense_scalar(x, w["w_in"], w["b_in"])  # (B, P)
        else:
            a_in = dense(x, w["w_in"], w["b_in"])  # (B, P)
        a_rec = dense(relu(a_in), self.w_rec, self.b_rec)  # (B, P)
        x_red = x[:, 0::3]  # (B, D/3)
        z_rec_link = relu(a_rec) + dense(x_red, w["w_link"])  # z_rec + z_link (B, P)
        a_out = dense(z_rec_link, w["w_out"], w["b_out"])  # (B, D)
        return relu(a_out), Cache(x, a_in, a_rec, x_red, z_rec_link, a_out)

    @staticmethod
    def loss(y: np.ndarray, t: np.ndarray) -> float:
        """Sum of squared errors over the batch."""
        return float(np.sum((y - t) ** 2))

    def backprop(self, x: np.ndarray, t: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and dLoss/dw_in, db_in, dw_link, dw_out, db_out for one batch."""
        y, c = self.forward(x)
        delta_out = relu_backward(2.0 * (y - t), c.a_out)  # dLoss/da_out (B, D)
        dz_rec_link, dw_out, db_out = dense_backward(delta_out, c.z_rec_link, self.w["w_out"])
        _, dw_link, _ = dense_backward(dz_rec_link, c.x_red, self.w["w_link"])  # no activation
        delta_rec = relu_backward(dz_rec_link, c.a_rec)  # dLoss/da_rec (B, P)
        dz_in, _, _ = dense_backward(delta_rec, relu(c.a_in), self.w_rec)  # frozen: no update
        delta_in = relu_backward(dz_in, c.a_in)  # dLoss/da_in (B, P)
        _, dw_in, db_in = dense_backward(delta_in, c.x, self.w["w_in"])
        grads = {"w_in": dw_in, "b_in": db_in, "w_link": dw_link, "w_out": dw_out,
                 "b_out": db_out}
        return self.loss(y, t), grads

    def apply_dw(self, grads: dict[str, np.ndarray], lr: float) -> None:
        """Plain SGD: w = w - lr * dLoss/dw."""
        for name, g in grads.items():
            self.w[name] -= lr * g
