"""AlarmworkNet's backward pass through time, written by hand in NumPy.

Forward, 0-based steps l = 0..L-1; Layer_rec2 ticks at even l (1-based 1, 3, 5, ...):

    s[l]  = z1[l-1] + z2[l-1]                                  (z12; z1[-1] = z2[-1] = 0)
    z1[l] = tanh(w_in1 x_l + w_rec1 s[l] + b_in1)
    z2[l] = tanh(w_in2 x_l + w_rec2 z2[l-1] + b_in2)           if l is even
          = z2[l-1]                                            otherwise
    y     = tanh(w_out z1[L-1] + b_out)

z2 never reads z1, so it is computed first, for all steps; then everything Layer_rec1 gets from
z2 and x is one matrix product, C[l] = w_rec1 z2[l-1] + w_in1 x_l + b_in1, and the only work left
per step is z1[l] = tanh(w_rec1 z1[l-1] + C[l]).

Backward (the deltas of Homework I). Layer_rec1's chain does not involve z2 either:

    delta_out  = dLoss/dy * (1 - y²)
    g1[L-1]    = w_outᵀ delta_out                               dLoss/dz1[L-1]
    delta1[l]  = g1[l] * (1 - z1[l]²)                           dLoss/da1[l]
    ds[l]      = w_rec1ᵀ delta1[l]                              dLoss/ds[l]
    g1[l-1]    = ds[l]                                          (s[l] = z1[l-1] + z2[l-1])

ds[l] also reaches z2[l-1]. A held step copies z2, so the value a tick writes at step l collects
the ds of every step that reads it, E = ds[l+1] + ds[l+2], plus what the next tick sends back:

    g2(tick at l)  = E + w_rec2ᵀ delta2(next tick)
    delta2[l]      = g2(tick at l) * (1 - z2[l]²)

    dw_rec1 = Σ_l delta1[l] s[l]ᵀ,   dw_in1 = Σ_l delta1[l] x_lᵀ,   db_in1 = Σ_l delta1[l]
    dw_rec2 = Σ_even l delta2[l] z2[l-1]ᵀ,  dw_in2 = Σ_even l delta2[l] x_lᵀ,  db_in2 = Σ delta2[l]
    dw_out  = delta_out z1[L-1]ᵀ,   db_out = delta_out

The sums over time are single matrix products over all steps. Rows [z2 | x | 1] times
W = [w_recᵀ; w_inᵀ; b_in] give w_rec z2 + w_in x + b_in in one product, and the same rows give
all three gradients of a layer in one product.

Checkpointing (`checkpoint_every=K`): the forward keeps only z1, z2 at every K-th step; the
backward recomputes each K-step segment's activations from its checkpoint, last segment first.
Memory falls from O(L) to O(L/K + K) activations for about one extra forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Weights:
    W1: np.ndarray  # (P+D+1, P): [w_rec1ᵀ; w_in1ᵀ; b_in1]
    W2: np.ndarray  # (P+D+1, P): [w_rec2ᵀ; w_in2ᵀ; b_in2]
    w_rec1: np.ndarray  # (P, P)
    w_rec1_t: np.ndarray  # (P, P), contiguous transpose
    w_rec2: np.ndarray  # (P, P)
    w_out: np.ndarray  # (M, P)
    b_out: np.ndarray  # (M,)

    @classmethod
    def of(cls, w_in1, w_rec1, b_in1, w_in2, w_rec2, b_in2, w_out, b_out) -> Weights:
        return cls(np.concatenate([w_rec1.T, w_in1.T, b_in1[None]]),
                   np.concatenate([w_rec2.T, w_in2.T, b_in2[None]]),
                   np.ascontiguousarray(w_rec1), np.ascontiguousarray(w_rec1.T),
                   np.ascontiguousarray(w_rec2), w_out, b_out)


class Workspace:
    """Arrays reused from batch to batch. A fresh array of this size is mapped in by the OS page
    by page on every batch, which costs as much as the arithmetic done in it."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.generation = 0  # bumped by every forward; a tape from an older one is stale

    def array(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        a = self.arrays.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self.arrays[name] = np.empty(shape, dtype)
        return a

    def zeros(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        a = self.array(name, shape, dtype)
        a.fill(0)
        return a


@dataclass
class Tape:
    """Activations of steps start..stop-1 (in workspace arrays), enough to backpropagate."""

    start: int
    z1_in: np.ndarray  # (B, P): z1[start-1]
    Q: np.ndarray  # (K, B, P+D+1): rows [z2[l-1] | x_l | 1]
    R: np.ndarray  # (T+1, B, P+D+1): R[j] = [z2 before tick j | x | 1]; R[T, :, :P] last z2
    Z1: np.ndarray  # (K, B, P): z1[l]
    generation: int


def forward_segment(w: Weights, xt: np.ndarray, start: int, stop: int,
                    z1: np.ndarray, z2: np.ndarray, ws: Workspace) -> Tape:
    """Run steps start..stop-1 from z1 = z1[start-1], z2 = z2[start-1]; xt is (L, B, D)."""
    _, B, D = xt.shape
    P, dtype = z1.shape[1], xt.dtype
    first_tick = start + (start & 1)
    K, T = stop - start, len(range(first_tick, stop, 2))
    ws.generation += 1
    # Layer_rec2 alone: one product and one tanh per tick.
    R = ws.array("R", (T + 1, B, P + D + 1), dtype)
    R[:T, :, P:P + D] = xt[first_tick:stop:2]
    R[:, :, -1] = 1
    R[0, :, :P] = z2
    a2 = ws.array("a2", (B, P), dtype)
    z2_rows = [row[:, :P] for row in R]
    for j in range(T):
        np.tanh(np.dot(R[j], w.W2, out=a2), out=z2_rows[j + 1])  # z2 after tick j (B, P)
    # What Layer_rec1 gets from z2 and x, for every step at once: C[l] = [z2[l-1] | x_l | 1] W1.
    reads = (np.arange(start, stop) + 1) // 2 - (start + 1) // 2  # ticks before each step
    Q = ws.array("Q", (K, B, P + D + 1), dtype)
    Q[:, :, :P] = R[reads, :, :P]
    Q[:, :, P:P + D] = xt[start:stop]
    Q[:, :, -1] = 1
    Z1 = ws.array("Z1", (K, B, P), dtype)
    np.dot(Q.reshape(-1, P + D + 1), w.W1, out=Z1.reshape(-1, P))  # C, then z1 in place
    z1_in, h = z1, ws.array("h", (B, P), dtype)
    for z1_next in Z1:  # the sequential part: z1[l] = tanh(w_rec1 z1[l-1] + C[l])
        z1_next += np.dot(z1, w.w_rec1_t, out=h)
        z1 = np.tanh(z1_next, out=z1_next)
    return Tape(start, z1_in, Q, R, Z1, ws.generation)


def backward_segment(w: Weights, tape: Tape, g1: np.ndarray, g2: np.ndarray,
                     dW1: np.ndarray, dW2: np.ndarray, ws: Workspace
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Turn dLoss/dz1, dLoss/dz2 at the segment's last step into those at the step before it,
    adding the segment's weight gradients to dW1 and dW2 (in place)."""
    Q, R, Z1 = tape.Q, tape.R, tape.Z1
    K, B, P = Z1.shape
    T, dtype = len(R) - 1, Z1.dtype
    delta1 = np.square(Z1, out=ws.array("delta1", Z1.shape, dtype))  # -> 1 - z1² -> delta1
    np.subtract(1, delta1, out=delta1)
    # ds[i] lands at row i + pad of `ds_pairs`, so that z2 value v is read by rows 2v and 2v+1.
    pad = 1 - (tape.start & 1)
    ds_pairs = ws.zeros("ds", (2 * ((K + pad + 1) // 2), B, P), dtype)
    for i in range(K - 1, -1, -1):
        np.multiply(g1, delta1[i], out=delta1[i])
        g1 = np.dot(delta1[i], w.w_rec1, out=ds_pairs[i + pad])  # dLoss/ds[l] (B, P)
    g1 = g1.copy()  # leaves the workspace: the caller keeps it
    # Layer_rec2: each value z2 takes collects the ds of the (one or two) steps that read it.
    E = ws.zeros("E", (T + 1, B, P), dtype)  # dLoss/d(value v of z2) (T+1, B, P)
    read = len(ds_pairs) // 2
    np.add(ds_pairs[0::2], ds_pairs[1::2], out=E[:read])
    E[T] += g2
    delta2 = np.square(R[1:, :, :P], out=ws.array("delta2", (T, B, P), dtype))
    np.subtract(1, delta2, out=delta2)
    g2, back = E[T], ws.array("back", (B, P), dtype)
    for j in range(T - 1, -1, -1):
        np.multiply(g2, delta2[j], out=delta2[j])
        g2 = E[j]
        g2 += np.dot(delta2[j], w.w_rec2, out=back)
    flat = delta1.reshape(-1, P)  # (K*B, P)
    s = ws.array("s", (K, B, P), dtype)  # s[l] = z1[l-1] + z2[l-1]
    np.add(Q[1:, :, :P], Z1[:-1], out=s[1:])
    np.add(Q[0, :, :P], tape.z1_in, out=s[0])
    dW1[:P] += s.reshape(-1, P).T @ flat
    dW1[P:] += Q[:, :, P:].reshape(-1, Q.shape[2] - P).T @ flat
    if T:
        dW2 += R[:T].reshape(-1, R.shape[2]).T @ delta2.reshape(-1, P)
    return g1, g2.copy()


NAMES = ("w_in1", "w_rec1", "b_in1", "w_in2", "w_rec2", "b_in2", "w_out", "b_out")


def forward(params: dict[str, np.ndarray], x: np.ndarray, ws: Workspace,
            checkpoint_every: int = 0) -> tuple[np.ndarray, dict]:
    """Outputs (B, M) for x (B, L, D), and what `backward` needs."""
    w = Weights.of(*(params[name] for name in NAMES))
    xt = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=w.W1.dtype)  # (L, B, D)
    L, B, _ = xt.shape
    P = w.w_rec1.shape[0]
    K = checkpoint_every if 0 < checkpoint_every < L else L
    z1 = np.zeros((B, P), xt.dtype)
    z2 = np.zeros((B, P), xt.dtype)
    kept = []  # the states each segment starts from (checkpoints)
    for start in range(0, L, K):
        tape = forward_segment(w, xt, start, min(start + K, L), z1, z2, ws)
        kept.append((start, z1, z2))
        z1, z2 = tape.Z1[-1].copy(), tape.R[-1, :, :P].copy()
    y = np.tanh(z1 @ w.w_out.T + w.b_out)  # (B, M)
    return y, {"w": w, "xt": xt, "K": K, "kept": kept, "tape": tape if K == L else None,
               "z1": z1, "y": y}


def backward(saved: dict, grad_y: np.ndarray, ws: Workspace) -> dict[str, np.ndarray]:
    """dLoss/dparameter for every parameter, given dLoss/dy (B, M)."""
    w, xt, K, y, z1 = saved["w"], saved["xt"], saved["K"], saved["y"], saved["z1"]
    L, tape = len(xt), saved["tape"]
    delta_out = grad_y * (1 - y * y)  # (B, M)
    g1 = delta_out @ w.w_out  # dLoss/dz1[L-1] (B, P)
    g2 = np.zeros_like(g1)  # dLoss/dz2[L-1]: y does not read z2
    dW1, dW2 = np.zeros_like(w.W1), np.zeros_like(w.W2)
    for start, z1_in, z2_in in reversed(saved["kept"]):
        if tape is None or tape.generation != ws.generation:  # recompute from the checkpoint
            tape = forward_segment(w, xt, start, min(start + K, L), z1_in, z2_in, ws)
        g1, g2 = backward_segment(w, tape, g1, g2, dW1, dW2, ws)
        tape = None
    P, D = w.w_rec1.shape[0], xt.shape[2]
    grads = (dW1[P:P + D].T, dW1[:P].T, dW1[-1], dW2[P:P + D].T, dW2[:P].T, dW2[-1],
             delta_out.T @ z1, delta_out.sum(0))
    return {name: np.ascontiguousarray(g) for name, g in zip(NAMES, grads, strict=True)}
