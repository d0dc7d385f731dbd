"""AlarmworkNet's backward pass through time, written by hand in NumPy for speed.

`bptt_plain.py` is the same computation written plainly, one step at a time, with the mapping
from Homework I's symbols to these names; read it first. Notation as there: rows, 0-based steps
l = 0..L-1, Layer_rec2 works at even l.

    z12[l] = z1[l-1] + z2[l-1]                                (z1[-1] = z2[-1] = 0)
    z1[l]  = tanh(x_l w_in1ᵀ + z12[l] w_rec1ᵀ + b_in1)
    z2[l]  = tanh(x_l w_in2ᵀ + z2[l-1] w_rec2ᵀ + b_in2)       if l is even
           = z2[l-1]                                          otherwise
    y      = tanh(z1[L-1] w_outᵀ + b_out)

What this file does differently from the plain one:

Layer_rec2 first. z2 never reads z1, so z2 is computed first, for all steps (one product and
one tanh per tick); then everything Layer_rec1 gets from z2 and x is one matrix product over all
steps, C[l] = z2[l-1] w_rec1ᵀ + x_l w_in1ᵀ + b_in1, and the only work left per step is
z1[l] = tanh(z1[l-1] w_rec1ᵀ + C[l]).

Fused rows. A row [z2 | x | 1] times W = [w_recᵀ; w_inᵀ; b_in] (shape (P+D+1, P)) gives
z2 w_recᵀ + x w_inᵀ + b_in in one product; the same rows give all three gradients of a layer in
one product: dW = Σ_l rows[l]ᵀ delta[l] = [dLoss/dw_recᵀ; dLoss/dw_inᵀ; dLoss/db_in].

Backward, Layer_rec1 first, since its chain does not involve z2 (delta1, dz12 as in the plain
version):

    delta_out = dLoss/dy ⊙ (1 - y²)
    dz1       = delta_out w_out                                dLoss/dz1[L-1]
    delta1[l] = dz1 ⊙ (1 - z1[l]²)
    dz12[l]   = delta1[l] w_rec1                               dLoss/dz12[l]
    dz1       = dz12[l]                                        dLoss/dz1[l-1]

Then Layer_rec2 over its ticks only. The hold rule, summed: the value a tick writes at even
step l is z2[l] and, held, z2[l+1], so it collects E = dz12[l+1] + dz12[l+2] from Layer_rec1,
plus what the next tick sends back through w_rec2:

    dz2 (value of tick l) = E + delta2[l+2] w_rec2
    delta2[l]             = dz2 ⊙ (1 - z2[l]²)

The dz12 are written into `dz12_pairs` so that the two steps reading one value of z2 are
neighbouring rows (a row of zeros pads the front when a segment starts at an even step, whose
incoming z2 only that step reads): E for every value is one addition of even and odd rows.

    dLoss/d[w_rec1ᵀ; w_in1ᵀ; b_in1] = Σ_l [z12[l] | x_l | 1]ᵀ delta1[l]      (dW1)
    dLoss/d[w_rec2ᵀ; w_in2ᵀ; b_in2] = Σ_even l [z2[l-1] | x_l | 1]ᵀ delta2[l] (dW2)
    dLoss/dw_out = delta_outᵀ z1[L-1],   dLoss/db_out = Σ_n delta_out

The sums over time are single matrix products over all steps of a segment.

Workspace. The arrays are kept from batch to batch (`Workspace`), and some hold two quantities
in turn (`delta1` holds 1 - z1² and then delta1; `Z1` holds C and then z1).

Checkpointing (`checkpoint_every=K`): the forward keeps z1, z2 only where each K-step segment
starts, and the last segment's activations; the backward walks the segments last to first and
recomputes each earlier segment from its checkpoint. Memory falls from O(L) to O(L/K + K)
activations for about one extra forward pass (less the last segment).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAMES = ("w_in1", "w_rec1", "b_in1", "w_in2", "w_rec2", "b_in2", "w_out", "b_out")


@dataclass
class Weights:
    """The parameters laid out for the products below. Building them copies every matrix, so
    build them once per set of parameter values (`BPTTLearner.weights` does)."""

    W1: np.ndarray  # (P+D+1, P): [w_rec1ᵀ; w_in1ᵀ; b_in1]
    W2: np.ndarray  # (P+D+1, P): [w_rec2ᵀ; w_in2ᵀ; b_in2]
    w_rec1: np.ndarray  # (P, P)
    w_rec1_t: np.ndarray  # (P, P), contiguous transpose
    w_rec2: np.ndarray  # (P, P)
    w_out: np.ndarray  # (M, P)
    b_out: np.ndarray  # (M,)

    @classmethod
    def of(cls, params: dict[str, np.ndarray]) -> Weights:
        w_in1, w_rec1, b_in1, w_in2, w_rec2, b_in2, w_out, b_out = (params[n] for n in NAMES)
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
    # Workspace arrays are overwritten by the next forward: the tape is valid while this equals
    # the workspace's generation.
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
    for z1_next in Z1:  # the sequential part: z1[l] = tanh(z1[l-1] w_rec1ᵀ + C[l])
        z1_next += np.dot(z1, w.w_rec1_t, out=h)
        z1 = np.tanh(z1_next, out=z1_next)
    return Tape(start, z1_in, Q, R, Z1, ws.generation)


def backward_segment(w: Weights, tape: Tape, dz1: np.ndarray, dz2: np.ndarray,
                     dW1: np.ndarray, dW2: np.ndarray, ws: Workspace
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Turn dLoss/dz1, dLoss/dz2 at the segment's last step into those at the step before its
    first, adding the segment's weight gradients to dW1 and dW2 (in place)."""
    Q, R, Z1 = tape.Q, tape.R, tape.Z1
    K, B, P = Z1.shape
    T, dtype = len(R) - 1, Z1.dtype
    delta1 = np.square(Z1, out=ws.array("delta1", Z1.shape, dtype))  # -> 1 - z1² -> delta1
    np.subtract(1, delta1, out=delta1)
    # dz12 of step start+i lands at row i + pad of `dz12_pairs`, so that value v of z2 (v = 0:
    # the one the segment starts with, v = j+1: the one tick j writes) is read by rows 2v, 2v+1.
    pad = 1 - (tape.start & 1)
    dz12_pairs = ws.zeros("dz12_pairs", (2 * ((K + pad + 1) // 2), B, P), dtype)
    for i in range(K - 1, -1, -1):
        np.multiply(dz1, delta1[i], out=delta1[i])
        dz1 = np.dot(delta1[i], w.w_rec1, out=dz12_pairs[i + pad])  # dz12 = next dz1 (B, P)
    dz1 = dz1.copy()  # leaves the workspace: the caller keeps it
    # Layer_rec2: each value z2 takes collects the dz12 of the (one or two) steps that read it.
    E = ws.zeros("E", (T + 1, B, P), dtype)  # dLoss/d(value v of z2) from z12 (T+1, B, P)
    read = len(dz12_pairs) // 2
    np.add(dz12_pairs[0::2], dz12_pairs[1::2], out=E[:read])
    E[T] += dz2
    delta2 = np.square(R[1:, :, :P], out=ws.array("delta2", (T, B, P), dtype))
    np.subtract(1, delta2, out=delta2)
    dz2, back = E[T], ws.array("back", (B, P), dtype)
    for j in range(T - 1, -1, -1):
        np.multiply(dz2, delta2[j], out=delta2[j])
        dz2 = E[j]
        dz2 += np.dot(delta2[j], w.w_rec2, out=back)
    flat = delta1.reshape(-1, P)  # (K*B, P)
    z12 = ws.array("z12", (K, B, P), dtype)  # z12[l] = z1[l-1] + z2[l-1]
    np.add(Q[1:, :, :P], Z1[:-1], out=z12[1:])
    np.add(Q[0, :, :P], tape.z1_in, out=z12[0])
    dW1[:P] += z12.reshape(-1, P).T @ flat
    dW1[P:] += Q[:, :, P:].reshape(-1, Q.shape[2] - P).T @ flat
    if T:
        dW2 += R[:T].reshape(-1, R.shape[2]).T @ delta2.reshape(-1, P)
    return dz1, dz2.copy()


def forward(w: Weights, x: np.ndarray, ws: Workspace, checkpoint_every: int = 0
            ) -> tuple[np.ndarray, dict]:
    """Outputs (B, M) for x (B, L, D), and what `backward` needs."""
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
    # The last segment's tape is still in the workspace: `backward` starts from it.
    return y, {"w": w, "xt": xt, "K": K, "kept": kept, "tape": tape, "z1": z1, "y": y}


def backward(saved: dict, grad_y: np.ndarray, ws: Workspace) -> dict[str, np.ndarray]:
    """dLoss/dparameter for every parameter, given dLoss/dy (B, M)."""
    w, xt, K, y, z1 = saved["w"], saved["xt"], saved["K"], saved["y"], saved["z1"]
    L, tape = len(xt), saved["tape"]
    delta_out = grad_y * (1 - y * y)  # (B, M)
    dz1 = delta_out @ w.w_out  # dLoss/dz1[L-1] (B, P)
    dz2 = np.zeros_like(dz1)  # dLoss/dz2[L-1]: y does not read z2
    dW1, dW2 = np.zeros_like(w.W1), np.zeros_like(w.W2)
    for start, z1_in, z2_in in reversed(saved["kept"]):
        if tape is None or tape.generation != ws.generation:  # recompute from the checkpoint
            tape = forward_segment(w, xt, start, min(start + K, L), z1_in, z2_in, ws)
        dz1, dz2 = backward_segment(w, tape, dz1, dz2, dW1, dW2, ws)
        tape = None  # the earlier segments were not kept
    P, D = w.w_rec1.shape[0], xt.shape[2]
    grads = (dW1[P:P + D].T, dW1[:P].T, dW1[-1], dW2[P:P + D].T, dW2[:P].T, dW2[-1],
             delta_out.T @ z1, delta_out.sum(0))
    return {name: np.ascontiguousarray(g) for name, g in zip(NAMES, grads, strict=True)}
