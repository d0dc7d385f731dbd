"""AlarmworkNet trained by its hand-written BPTT in torch (`bptt_torch.py`): `impl=torch`.

S networks live side by side (every tensor has a leading axis S); a single run is S = 1. The
update is `rnnlab.NumpyOptimizer`'s (SGD with momentum or Adam, gradient-norm clipping), written
with tensors, per network: each has its own clipping norm, and its own learning rate
(`lr`, shape (S,)). The optimizer's buffers are named as the NumPy learner names them, so a
checkpoint of either implementation loads into the other (in Python; the command line's
`--init-optimizer` asks for a parent trained with the same settings, impl included).

On a GPU the whole step — forward, backward, clipping, update — is captured once in a CUDA
graph and replayed for every batch of the same size (a short last batch gets a graph of its
own): one launch instead of thousands of small kernels. Everything in the step stays on the
device; the loss is read back once the step has run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from rnnlab import NumpyOptimizer, subnormals_flushed
from rnnlab_plugins.alarmwork import bptt_torch
from rnnlab_plugins.alarmwork.learner import BPTTLearner

NAMES = bptt_torch.NAMES
BETAS, EPS = (0.9, 0.999), 1e-8  # Adam's, as in NumpyOptimizer


class TorchBPTTLearner:
    """`params`: name -> (S, ...) array; `optimizer`, `lr`, `momentum`, `clip_grad` as in
    TrainConfig, the last three either one value for all networks or one each."""

    options = frozenset({"optimizer", "momentum", "clip_grad"})  # HonoursOptions

    def __init__(self, params: dict[str, np.ndarray], optimizer: str = "sgd",
                 lr: Any = 0.01, momentum: Any = 0.0, clip_grad: Any = None,
                 device: str = "cpu", graphs: bool | None = None) -> None:
        self.device = device
        self.flat, self.params = flattened(
            {n: torch.as_tensor(np.asarray(params[n])).to(device) for n in NAMES})
        S = self.flat.shape[0]
        dtype = self.flat.dtype
        self.kind = optimizer
        self.lr = torch.empty(S, dtype=torch.float64, device=device)
        self.set_lr(lr)
        self.momentum = _each(momentum, S, device)  # (S,)
        self.clip_grad = _each(_inf_for_none(clip_grad), S, device)  # (S,); inf: none
        self.clipping = bool(torch.isfinite(self.clip_grad).any())
        self.buffers = self._fresh_buffers()
        self.graphs = (device == "cuda") if graphs is None else graphs
        self._steps: dict[tuple[int, ...], Callable[[], None]] = {}
        self._x: dict[tuple[int, ...], torch.Tensor] = {}
        self._t: dict[tuple[int, ...], torch.Tensor] = {}
        self._loss = torch.zeros(S, dtype=dtype, device=device)

    @property
    def size(self) -> int:
        """S, the number of networks."""
        return int(self.lr.shape[0])

    # -- the step -----------------------------------------------------------------------------
    def loss_and_gradients_packed(self, x: torch.Tensor, t: torch.Tensor
                                  ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Per-network MSE (S,) of x (S, B, L, D) against t (S, B, M), and the gradients."""
        y, saved = bptt_torch.forward(self.params, x)
        error = y - t  # (S, B, M)
        loss = (error * error).mean(dim=(1, 2))  # (S,)
        n = error.shape[1] * error.shape[2]
        return loss, bptt_torch.backward(self.params, saved, (2.0 / n) * error)

    def _step(self, x: torch.Tensor, t: torch.Tensor) -> None:
        """One update of every network, in place; the losses go to self._loss. The update
        works on all parameters at once, laid end to end (`self.flat`): a dozen kernels."""
        loss, grads = self.loss_and_gradients_packed(x, t)
        self._loss.copy_(loss)
        g = torch.cat([grads[n].reshape(self.size, -1) for n in NAMES], 1)  # (S, N)
        if self.clipping:
            norm = torch.sqrt((g * g).sum(1))  # (S,)
            scale = torch.clamp(self.clip_grad / (norm + 1e-6), max=1.0)  # (S,), 1 for inf
            g = g * scale[:, None].to(g.dtype)
        if self.kind == "adam":
            b1, b2 = BETAS
            step = self.flat_buffers["step"]
            step.add_(1)
            t = step.to(torch.float64)
            lr_corrected = self.lr / (1 - b1**t)  # (S,) in float64, as Python floats in NumPy
            root_correction = torch.sqrt(1 - b2**t)
            m, s = self.flat_buffers["m"], self.flat_buffers["s"]  # (S, N) each
            m.mul_(b1).add_((1 - b1) * g)
            s.mul_(b2).add_((1 - b2) * g * g)
            denom = torch.sqrt(s) / root_correction.to(g.dtype) + EPS
            self.flat.sub_(lr_corrected[:, None].to(g.dtype) * m / denom)
            return
        update = g
        if "momentum" in self.flat_buffers:  # first step: 0 * momentum + g = g
            update = self.flat_buffers["momentum"]
            update.mul_(self.momentum[:, None].to(g.dtype)).add_(g)
        self.flat.sub_(self.lr[:, None].to(g.dtype) * update)

    def train_packed(self, x: np.ndarray | torch.Tensor, t: np.ndarray | torch.Tensor
                     ) -> np.ndarray:
        """One update of each network on its own batch: x (S, B, L, D), t (S, B, M); returns
        the S losses."""
        x = torch.as_tensor(x).to(self.device, self._loss.dtype)
        t = torch.as_tensor(t).to(self.device, self._loss.dtype)
        if not self.graphs:
            with subnormals_flushed():  # as the NumPy path (learner.py): vanishing gradients
                self._step(x, t)
        else:
            shape = tuple(x.shape)
            if shape not in self._steps:
                self._steps[shape] = self._capture(x, t)
            self._x[shape].copy_(x)
            self._t[shape].copy_(t)
            self._steps[shape]()
        return self._loss.cpu().numpy().copy()

    def _capture(self, x: torch.Tensor, t: torch.Tensor) -> Callable[[], None]:
        """A CUDA graph of `_step` on static copies of x and t. The first step runs eagerly
        (on a side stream, as CUDA graphs require) and is undone, so that capturing changes
        nothing; then the graph is recorded."""
        shape = tuple(x.shape)
        self._x[shape], self._t[shape] = x.clone(), t.clone()
        saved = ({k: v.clone() for k, v in self.params.items()},
                 {k: v.clone() for k, v in self.buffers.items()})
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            self._step(self._x[shape], self._t[shape])  # warm-up: allocations, kernels
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):  # other members'
            # threads may use the GPU meanwhile
            self._step(self._x[shape], self._t[shape])
        for kept, now in ((saved[0], self.params), (saved[1], self.buffers)):
            for k, v in kept.items():
                now[k].copy_(v)  # undo the warm-up and the recording's own update
        return graph.replay

    # -- packs ---------------------------------------------------------------------------------
    def pack(self, learners: list[Any], device: str) -> TorchBPTTLearner | None:
        """Packable: these learners as one, on the device they are on."""
        return packed(learners, self.device)

    def member(self, s: int) -> MemberView:
        """PackedLearner: network s as a Learner (its train_step is the pack's)."""
        return MemberView(self, s)

    # -- the Learner protocol (S = 1: network 0 is the learner) ---------------------------------
    def train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        return float(self.train_packed(x[None], t[None])[0])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.member(0).predict(x)

    def loss_and_gradients(self, x: np.ndarray, t: np.ndarray
                           ) -> tuple[float, dict[str, np.ndarray]]:
        """HasGradients, for S = 1."""
        loss, grads = self.loss_and_gradients_packed(
            torch.as_tensor(x[None]).to(self.device, self._loss.dtype),
            torch.as_tensor(t[None]).to(self.device, self._loss.dtype))
        return float(loss[0]), {k: g[0].cpu().numpy() for k, g in grads.items()}

    def double(self) -> TorchBPTTLearner:
        self.flat, self.params = flattened({k: v.double() for k, v in self.params.items()})
        self._loss = self._loss.double()
        self.buffers = self._fresh_buffers()
        self._steps.clear()
        return self

    def set_lr(self, lr: float | np.ndarray) -> None:
        """SetsLearningRate: one rate for all networks, or one each."""
        self.lr.copy_(torch.as_tensor(lr, dtype=torch.float64).expand(self.lr.shape))

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.member(0).state_dict()

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.member(0).load_state_dict(state)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return self.member(0).optimizer_state()

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        self.member(0).load_optimizer_state(state)

    def _fresh_buffers(self) -> dict[str, torch.Tensor]:
        """The optimizer's buffers by NumpyOptimizer's names ("m/w_in1", ...), views into the
        (S, N) tensors of `self.flat_buffers` ("m", "s", "momentum"; Adam's "step")."""
        kinds = ("m", "s") if self.kind == "adam" else \
            ("momentum",) if bool(self.momentum.any()) else ()
        self.flat_buffers: dict[str, torch.Tensor] = {}
        buffers = {}
        for kind in kinds:
            self.flat_buffers[kind], views = flattened(
                {n: torch.zeros_like(p) for n, p in self.params.items()})
            buffers.update({f"{kind}/{n}": v for n, v in views.items()})
        if self.kind == "adam":
            self.flat_buffers["step"] = buffers["step"] = torch.zeros(
                (), dtype=torch.int64, device=self.device)
        return buffers


class MemberView:
    """Network s of a pack: what a run needs of its learner, but for training."""

    options = TorchBPTTLearner.options

    def __init__(self, pack: TorchBPTTLearner, s: int) -> None:
        self.pack, self.s, self.device = pack, s, pack.device

    def train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        raise RuntimeError("a pack's member is trained by the pack's train_packed")

    def predict(self, x: np.ndarray, chunk: int = 1000) -> np.ndarray:
        params = {k: v[self.s : self.s + 1] for k, v in self.pack.params.items()}
        dtype = self.pack._loss.dtype
        return np.concatenate([
            bptt_torch.forward(params, torch.as_tensor(x[i : i + chunk][None]).to(
                self.device, dtype))[0][0].cpu().numpy() for i in range(0, len(x), chunk)])

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v[self.s].cpu().numpy().copy() for k, v in self.pack.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for name in NAMES:
            self.pack.params[name][self.s].copy_(torch.as_tensor(np.asarray(state[name])))

    def set_lr(self, lr: float) -> None:
        self.pack.lr[self.s] = lr

    def _keeps(self, key: str) -> bool:
        """Whether network s's own optimizer keeps buffer `key`: SGD without momentum keeps
        none, even in a pack whose other networks have momentum (and so buffers)."""
        return not (key.startswith("momentum/") and float(self.pack.momentum[self.s]) == 0)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        """HasOptimizerState, with NumpyOptimizer's names: what network s's optimizer would
        keep alone. "step" is Adam's count, one for the pack: all its networks take every
        step."""
        state = {k: v[self.s].cpu().numpy().copy() for k, v in self.pack.buffers.items()
                 if k != "step" and self._keeps(k)}
        if self.pack.kind == "adam":
            state["step"] = np.array(int(self.pack.buffers["step"]))
        return state

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        # NumpyOptimizer's checks (names, shapes, floats, a step that is a count, all buffers
        # or none), then only buffers this pack keeps (no momentum ones without momentum)
        NumpyOptimizer(self.pack.kind).load_state(
            state, {n: tuple(v.shape[1:]) for n, v in self.pack.params.items()})
        # momentum buffers for SGD without momentum change no step: ignored, as NumPy's are
        state = {k: v for k, v in state.items() if self._keeps(k)}
        stray = next((k for k in state if k not in self.pack.buffers), None)
        if stray is not None:
            raise ValueError(f"optimizer buffer {stray!r} is not one that this {self.pack.kind} "
                             "optimizer keeps")
        for key, value in state.items():
            if key == "step":
                self.pack.buffers["step"].fill_(int(value))
            else:
                self.pack.buffers[key][self.s].copy_(torch.as_tensor(np.asarray(value)))


def packed(learners: list[Any], device: str) -> TorchBPTTLearner | None:
    """One TorchBPTTLearner for AlarmworkNet learners of either implementation (the NumPy
    one's `BPTTLearner` or this one with S = 1) that share the optimizer and the shapes; None
    if they do not, or if a NumPy one is among them off the GPU (impl=bptt trains alone
    there: it is faster). Their weights and optimizer state are copied in."""
    solos = []
    for learner in learners:
        if isinstance(learner, BPTTLearner) and device != "cuda":
            return None
        if isinstance(learner, TorchBPTTLearner) and learner.size == 1:
            solos.append((learner.state_dict(), learner.kind, float(learner.lr[0]),
                          float(learner.momentum[0]), float(learner.clip_grad[0]),
                          learner.optimizer_state()))
        elif isinstance(learner, BPTTLearner):
            o = learner.optimizer
            solos.append((learner.state_dict(), o.kind, o.lr, o.momentum,
                          math.inf if o.clip_grad is None else o.clip_grad, o.state()))
        else:
            return None
    shapes = {tuple((k, v.shape, v.dtype.str) for k, v in sorted(solo[0].items()))
              for solo in solos}
    if len(shapes) != 1 or len({solo[1] for solo in solos}) != 1:
        return None
    pack = TorchBPTTLearner({k: np.stack([solo[0][k] for solo in solos]) for k in NAMES},
                            solos[0][1], [solo[2] for solo in solos],
                            [solo[3] for solo in solos], [solo[4] for solo in solos],
                            device=device)
    for s, solo in enumerate(solos):
        pack.member(s).load_optimizer_state(solo[5])
    return pack


def _each(value: Any, S: int, device: str) -> torch.Tensor:
    """One float64 value per network from a scalar or S values."""
    return torch.as_tensor(np.asarray(value, dtype=np.float64), device=device).expand(S).clone()


def _inf_for_none(value: Any) -> Any:
    """Clipping norms with None (no clipping) as infinity."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [math.inf if v is None else v for v in value]
    return math.inf if value is None else value


def flattened(tensors: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(S, ...) tensors laid end to end in one (S, N) tensor, and views of it by name, in
    NAMES order: an in-place change to either is a change to both."""
    S = tensors[NAMES[0]].shape[0]
    flat = torch.cat([tensors[n].reshape(S, -1) for n in NAMES], 1)  # (S, N)
    sizes = [tensors[n][0].numel() for n in NAMES]
    return flat, {n: part.view(tensors[n].shape) for n, part in
                  zip(NAMES, torch.split(flat, sizes, 1), strict=True)}
