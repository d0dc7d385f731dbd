"""MLP-Lite: a feed-forward network in NumPy with its backward pass written by hand, the
δ recursion of the pen-and-paper exercises (seed 003, Exercise 1 and "Error Propagation").

Rows are samples: x is (B, D). Layers k = 1..N (the last is the output layer, k = N = "out"):

    s_k = z_{k-1} W_kᵀ + b_k        W_k (P_k, P_{k-1}), b_k (P_k,); z_0 = x
    z_k = f_k(s_k)                  f_k: sigmoid, tanh, relu or identity
    o   = z_N                       the outputs; the loss (losses.py) gives ∂L/∂o

Backward, δ_k = ∂L/∂s_k:

    δ_N     = ∂L/∂o ⊙ f_N'(s_N)
    δ_{k-1} = (δ_k W_k) ⊙ f_{k-1}'(s_{k-1})
    ∂L/∂W_k = δ_kᵀ z_{k-1}          ∂L/∂b_k = Σ_n δ_k

Parameter names: w1, b1, w2, b2, ..., w_out, b_out (no b's with bias=False).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnlab_plugins.autoenc_lite.layers import dense, dense_backward, xavier_uniform
from rnnlab_plugins.mlp_lite import losses
from rnnlab_plugins.mlp_lite.activations import ACTIVATIONS


@dataclass
class Cache:
    """What the backward pass needs from the forward pass: each layer's input z_{k-1}, its
    s_k and z_k."""

    inputs: list[np.ndarray]  # z_0 .. z_{N-1}, each (B, P_{k-1})
    s: list[np.ndarray]  # s_1 .. s_N, each (B, P_k)
    z: list[np.ndarray]  # z_1 .. z_N


class MlpLite:
    def __init__(self, sizes: list[int], activations: list[str], loss: str = "cross-entropy",
                 margin: float = 0.5, bias: bool = True, seed: int = 0) -> None:
        """`sizes` = [D, P_1, ..., M]; `activations` one per layer after the input (the
        last is the output layer's)."""
        assert len(activations) == len(sizes) - 1
        rng = np.random.default_rng(seed)
        self.names = [str(k) for k in range(1, len(sizes) - 1)] + ["_out"]
        self.w: dict[str, np.ndarray] = {}
        for name, fan_in, fan_out in zip(self.names, sizes[:-1], sizes[1:], strict=True):
            self.w[f"w{name}"] = xavier_uniform(rng, fan_out, fan_in)  # (P_k, P_{k-1})
            if bias:
                self.w[f"b{name}"] = np.zeros(fan_out)  # (P_k,)
        self.f = [ACTIVATIONS[a] for a in activations]
        self.loss_name, self.margin, self.bias = loss, margin, bias

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Cache]:
        """The outputs o (B, M) and the cache."""
        z = np.asarray(x, dtype=self.w["w_out"].dtype)  # (B, D)
        cache = Cache([], [], [])
        for name, (f, _) in zip(self.names, self.f, strict=True):
            s = dense(z, self.w[f"w{name}"], self.w.get(f"b{name}"))  # (B, P_k)
            cache.inputs.append(z)
            z = f(s)  # (B, P_k)
            cache.s.append(s)
            cache.z.append(z)
        return z, cache

    def loss(self, o: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        """(the batch's mean loss, ∂loss/∂o)."""
        if self.loss_name == "squared":
            return losses.squared(o, t)
        if self.loss_name == "cross-entropy":
            return losses.cross_entropy(o, t)
        return losses.hinge(o, t, self.margin)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The outputs, through the softmax for the losses that have one: (B, M)."""
        o = self.forward(x)[0]
        return o if self.loss_name == "squared" else losses.softmax(o)

    def backprop(self, x: np.ndarray, t: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and ∂L/∂ every parameter, by the δ recursion."""
        o, c = self.forward(x)
        loss, d_o = self.loss(o, np.asarray(t, dtype=o.dtype))  # ∂L/∂o (B, M)
        grads = {}
        delta = d_o * self.f[-1][1](c.s[-1], c.z[-1])  # δ_N = ∂L/∂o ⊙ f_N'(s_N) (B, M)
        for k in reversed(range(len(self.names))):
            name = self.names[k]
            d_input, grads[f"w{name}"], db = dense_backward(delta, c.inputs[k],
                                                            self.w[f"w{name}"])
            if self.bias:
                grads[f"b{name}"] = db  # Σ_n δ_k (P_k,)
            if k > 0:  # δ_{k-1} = (δ_k W_k) ⊙ f_{k-1}'(s_{k-1}) (B, P_{k-1})
                delta = d_input * self.f[k - 1][1](c.s[k - 1], c.z[k - 1])
        return loss, {name: grads[name] for name in self.w}
