"""AlarmworkNet's hand-written BPTT: the fast one (bptt.py) against the plain one
(bptt_plain.py), both against torch autograd, checkpointing, the learner's update and the
gradcheck command."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import rnnlab
from rnnlab import NumpyOptimizer
from rnnlab_plugins.alarmwork import bptt, bptt_plain
from rnnlab_plugins.alarmwork.learner import BPTTLearner
from rnnlab_plugins.alarmwork.learner_torch import TorchBPTTLearner
from rnnlab_plugins.alarmwork.net import AlarmworkNet


def pair(D, P, M, seed=0, checkpoint_every=0):
    torch.manual_seed(seed)
    net = AlarmworkNet(D, P, M).double()
    state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    return net, BPTTLearner(state, NumpyOptimizer("sgd", lr=0.01, momentum=0.9),
                            checkpoint_every=checkpoint_every)


def autograd_gradients(net, x, t):
    net.zero_grad()
    loss = torch.nn.functional.mse_loss(net(torch.from_numpy(x)), torch.from_numpy(t))
    loss.backward()
    return loss.item(), {k: (p.grad if p.grad is not None else torch.zeros_like(p)).numpy()
                         for k, p in net.named_parameters()}


def random_params(rng, D, P, M):
    """float64 weights large enough for tanh to bend (and saturate here and there)."""
    return {"w_in1": rng.normal(size=(P, D)), "w_rec1": rng.normal(size=(P, P)) / np.sqrt(P),
            "b_in1": 0.1 * rng.normal(size=P), "w_in2": rng.normal(size=(P, D)),
            "w_rec2": rng.normal(size=(P, P)) / np.sqrt(P), "b_in2": 0.1 * rng.normal(size=P),
            "w_out": rng.normal(size=(M, P)), "b_out": 0.1 * rng.normal(size=M)}


def assert_same_gradients(grads, ref, rel):
    assert set(grads) == set(ref) == set(bptt.NAMES)
    for name, g in ref.items():
        scale = max(np.abs(g).max(), 1e-300)
        assert np.abs(grads[name] - g).max() <= rel * scale, name


CASES = [(L, B, D, P, M) for L in (1, 2, 3, 10, 101)
         for (B, D, P, M) in ((1, 2, 5, 1), (4, 1, 3, 2), (7, 3, 6, 1))]


@pytest.mark.parametrize("K", [0, 1, 2, 3, 8])
@pytest.mark.parametrize("L,B,D,P,M", CASES)
def test_fast_bptt_equals_the_plain_one(L, B, D, P, M, K):
    """All of bptt.py's tricks (Layer_rec2 first, fused rows, the paired hold rule, workspaces,
    checkpointing every K steps; K = 0: none) against the step-by-step equations."""
    rng = np.random.default_rng([L, B, K])
    params = random_params(rng, D, P, M)
    x, t = rng.normal(size=(B, L, D)), rng.normal(size=(B, M))
    learner = BPTTLearner(params, NumpyOptimizer(), checkpoint_every=K)
    loss, grads = learner.loss_and_gradients(x, t)
    loss_ref, ref = bptt_plain.loss_and_gradients(params, x, t)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    assert_same_gradients(grads, ref, rel=1e-12)


@pytest.mark.parametrize("L,B", [(1, 1), (2, 3), (7, 4), (10, 1)])
def test_plain_and_fast_bptt_equal_autograd(L, B):
    """The one comparison with torch: autograd through net.py, the module training uses with
    impl=autograd."""
    net, learner = pair(2, 5, 2, seed=L + B)
    rng = np.random.default_rng(L)
    x, t = rng.normal(size=(B, L, 2)), rng.normal(size=(B, 2))
    loss_ref, ref = autograd_gradients(net, x, t)
    loss_plain, plain = bptt_plain.loss_and_gradients(learner.params, x, t)
    loss_fast, fast = learner.loss_and_gradients(x, t)
    assert loss_plain == pytest.approx(loss_ref, rel=1e-12)
    assert loss_fast == pytest.approx(loss_ref, rel=1e-12)
    assert_same_gradients(plain, ref, rel=1e-10)
    assert_same_gradients(fast, ref, rel=1e-10)


def test_a_forward_in_between_does_not_corrupt_the_backward():
    _, learner = pair(2, 4, 1)
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(3, 9, 2)), rng.normal(size=(3, 1))
    w = learner.weights()
    y, saved = bptt.forward(w, x, learner.workspace)
    bptt.forward(w, x[:1, :4], learner.workspace)  # reuses the workspace arrays
    grads = bptt.backward(saved, 2 * (y - t) / y.size, learner.workspace)
    assert_same_gradients(grads, bptt_plain.loss_and_gradients(learner.params, x, t)[1],
                          rel=1e-12)


def test_checkpointing_recomputes_all_segments_but_the_last(monkeypatch):
    starts = []
    segment = bptt.forward_segment
    monkeypatch.setattr(bptt, "forward_segment", lambda *a: starts.append(a[2]) or segment(*a))
    _, learner = pair(2, 4, 1, checkpoint_every=3)
    learner.loss_and_gradients(np.ones((2, 7, 2)), np.ones((2, 1)))
    assert starts == [0, 3, 6, 3, 0]  # forward: segments 0-2, 3-5, 6; backward: 3-5, 0-2


def test_weights_are_laid_out_once_per_update(monkeypatch):
    built = []
    of = bptt.Weights.of
    monkeypatch.setattr(bptt.Weights, "of", lambda params: built.append(1) or of(params))
    _, learner = pair(2, 4, 1)
    x, t = np.ones((5, 6, 2)), np.ones((5, 1))
    learner.loss_and_gradients(x, t)
    learner.predict(x, chunk=2)  # three chunks, the same weights
    assert len(built) == 1
    learner.train_step(x, t)
    y = learner.predict(x)
    assert len(built) == 2
    np.testing.assert_allclose(y, bptt_plain.forward(learner.params, x)[0], rtol=1e-12)
    with pytest.raises(ValueError, match="read-only"):
        learner.params["w_out"] += 1  # would leave the laid-out copy stale
    learner.load_state_dict({**learner.state_dict(), "w_out": learner.params["w_out"] + 1})
    assert not np.array_equal(learner.predict(x), y) and len(built) == 3


def test_sgd_update_matches_torch_sgd_with_momentum():
    net, learner = pair(2, 5, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(1)
    for _ in range(4):
        x, t = rng.normal(size=(4, 6, 2)), rng.normal(size=(4, 1))
        autograd_gradients(net, x, t)
        optimizer.step()
        learner.train_step(x, t)
    for name, p in net.named_parameters():
        np.testing.assert_allclose(learner.params[name], p.detach().numpy(), rtol=1e-10,
                                   atol=1e-13)


@pytest.mark.parametrize("recipe", [
    {},  # the homework recipe: SGD with momentum
    {"optimizer": "adam", "lr": 0.003, "clip_grad": 0.5},
    {"optimizer": "adam", "lr": 0.003, "lr_schedule": "cosine"},
], ids=["sgd", "adam-clip", "adam-cosine"])
def test_training_with_bptt_matches_autograd_for_a_few_epochs(small_data, recipe):
    """The one whole-training comparison: the three implementations (NumPy BPTT, autograd,
    torch BPTT), the same trajectory under each optimizer option a learner must apply itself
    (momentum, Adam, clipping, a schedule)."""
    runs = [rnnlab.train("alarmwork", L=10, epochs=3, early_stop=None, settings={"impl": impl},
                         **recipe) for impl in ("bptt", "autograd", "torch")]
    reference, *others = runs
    for other in others:
        for a, b in zip(reference.metrics, other.metrics, strict=True):
            assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
            assert a["dev_mse"] == pytest.approx(b["dev_mse"], rel=1e-4)
            assert a["dev_accuracy"] == b["dev_accuracy"]
        assert reference.summary["test"]["accuracy"] == other.summary["test"]["accuracy"]
        weights = [r.load_checkpoint() for r in (reference, other)]
        for name in weights[0]:
            np.testing.assert_allclose(weights[0][name], weights[1][name], atol=1e-5)


def test_default_is_bptt_on_cpu_and_autograd_for_scalar_layer_out():
    spec = rnnlab.DataSpec("sequence", 2, 1, 10)
    assert isinstance(rnnlab.build_learner("alarmwork", spec, device="cpu"), BPTTLearner)
    scalar = rnnlab.build_learner("alarmwork", spec, settings={"layer_out": "scalar"})
    assert not isinstance(scalar, BPTTLearner)
    with pytest.raises(rnnlab.UsageError, match="impl=autograd for layer_out=scalar"):
        rnnlab.build_learner("alarmwork", spec, settings={"impl": "bptt", "layer_out": "scalar"})
    with pytest.raises(rnnlab.UsageError, match="checkpoint_every expects an integer >= 0"):
        rnnlab.build_learner("alarmwork", spec, settings={"checkpoint_every": -1})


def test_gradcheck_command_passes_for_alarmwork(workdir, cli):
    result = cli("gradcheck", "alarmwork", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    forms = {r["form"] for r in rows}
    assert forms == {"impl=autograd", "impl=autograd layer_out=scalar", "impl=bptt",
                     "impl=bptt checkpoint_every=2", "impl=torch"}
    assert len(rows) == 5 * 8 and all(r["ok"] for r in rows)
    bptt_rows = [r for r in rows if r["form"] in ("impl=bptt", "impl=torch")]
    assert max(r["autograd_max_rel"] for r in bptt_rows) < 1e-8
    assert max(r["fd_max_rel"] for r in rows) < 1e-6


WRONG = """
import numpy as np
from rnnlab import ModelPlugin

class Learner:
    def __init__(self):
        self.w = np.array([0.5, -0.3])
    def loss_and_gradients(self, x, t):
        y = x[:, -1, :] @ self.w[:, None]  # (B, 1)
        error = y - t
        grad = 2 * (x[:, -1, :] * error).mean(0)
        return float(np.mean(error ** 2)), {"w": grad * {factor}}
    def double(self):
        return self
    def train_step(self, x, t):
        return self.loss_and_gradients(x, t)[0]
    def predict(self, x):
        return x[:, -1, :] @ self.w[:, None]
    def state_dict(self):
        return {"w": self.w.copy()}
    def load_state_dict(self, state):
        self.w = np.array(state["w"], dtype=float)

class Plugin(ModelPlugin):
    summary = "a linear read-out with {factor}x its true gradient"
    gradcheck = ({},)
    def build(self, spec, config):
        return Learner()
"""


@pytest.mark.parametrize("factor,code", [(1, 0), (1.01, 1)])
def test_third_party_models_opt_in_and_failures_exit_1(workdir, cli, fake_dist, factor, code):
    fake_dist("rnnlab-linear", {"rnnlab.models": {"linear": "linear_mod:Plugin"}},
              {"linear_mod": WRONG.replace("{factor}", str(factor))})
    result = cli("gradcheck", "linear")
    assert result.exit_code == code, result.stdout + result.stderr
    assert ("FAIL" in result.stdout) == bool(code)


def test_gradcheck_needs_an_opt_in(workdir, cli):
    result = cli("gradcheck", "lstm")
    assert result.exit_code == 2
    assert "declares no analytic gradients" in result.stderr


# -- the torch BPTT (impl=torch): packs of S networks, any device ------------------------------

def stacked(params: list[dict]) -> dict:
    return {k: np.stack([p[k] for p in params]) for k in bptt.NAMES}


@pytest.mark.parametrize("L,B,D,P,M", CASES)
def test_torch_bptt_of_a_pack_equals_the_plain_one_for_each_network(L, B, D, P, M):
    rng = np.random.default_rng([L, B, 7])
    params = [random_params(rng, D, P, M) for _ in range(3)]
    x, t = rng.normal(size=(3, B, L, D)), rng.normal(size=(3, B, M))
    learner = TorchBPTTLearner(stacked(params))
    losses, grads = learner.loss_and_gradients_packed(torch.from_numpy(x), torch.from_numpy(t))
    for s in range(3):
        loss_ref, ref = bptt_plain.loss_and_gradients(params[s], x[s], t[s])
        assert float(losses[s]) == pytest.approx(loss_ref, rel=1e-12)
        assert_same_gradients({k: g[s].numpy() for k, g in grads.items()}, ref, rel=1e-12)


UPDATES = [{"optimizer": "sgd", "lr": 0.05, "momentum": 0.9},
           {"optimizer": "adam", "lr": 0.01, "clip_grad": 0.5},
           {"optimizer": "sgd", "lr": 0.05, "clip_grad": 0.1}]


@pytest.mark.parametrize("update", UPDATES, ids=["sgd-momentum", "adam-clip", "sgd-clip"])
def test_the_torch_learner_follows_the_numpy_learner_and_shares_its_checkpoints(update):
    """Same update rules, step by step (a learning-rate change half-way); after a checkpoint
    of one is loaded into the other, they go on identically."""
    rng = np.random.default_rng(5)
    params = random_params(rng, 2, 6, 1)
    numpy_learner = BPTTLearner(params, NumpyOptimizer(update["optimizer"], update["lr"],
                                                       update.get("momentum", 0.0),
                                                       update.get("clip_grad")))
    torch_learner = TorchBPTTLearner({k: v[None] for k, v in params.items()}, **update)
    batches = [(rng.normal(size=(4, 9, 2)), rng.normal(size=(4, 1))) for _ in range(12)]
    for step, (x, t) in enumerate(batches[:8]):
        if step == 4:
            numpy_learner.set_lr(update["lr"] / 3)
            torch_learner.set_lr(update["lr"] / 3)
        assert torch_learner.train_step(x, t) == pytest.approx(numpy_learner.train_step(x, t),
                                                               rel=1e-10)
    for name, value in numpy_learner.state_dict().items():
        np.testing.assert_allclose(torch_learner.state_dict()[name], value, rtol=1e-9,
                                   atol=1e-12)
    moved = BPTTLearner(params, NumpyOptimizer(update["optimizer"], update["lr"] / 3,
                                               update.get("momentum", 0.0),
                                               update.get("clip_grad")))
    moved.load_state_dict(torch_learner.state_dict())
    moved.load_optimizer_state(torch_learner.optimizer_state())
    assert set(torch_learner.optimizer_state()) >= set(numpy_learner.optimizer_state())
    for x, t in batches[8:]:
        assert moved.train_step(x, t) == pytest.approx(torch_learner.train_step(x, t),
                                                       rel=1e-9)


@pytest.mark.parametrize(("edit", "expected"), [
    ({"s/w_out": None}, "optimizer buffer 's/w_out' is missing"),
    ({"m/b_out": None, "s/b_out": None}, "optimizer buffer 'm/b_out' is missing"),
    ({"step": np.array(2.5)}, "optimizer buffer 'step' is 2.5, not a count of steps"),
    ({"m/w_in1": np.zeros((6, 2), np.int64)}, "optimizer buffer 'm/w_in1' holds int64"),
])
def test_the_torch_learner_refuses_an_optimizer_state_a_step_cannot_make(edit, expected):
    """impl=torch and the pack's members check a checkpoint's buffers as the NumPy learner
    does; nothing is loaded from a state that is refused."""
    rng = np.random.default_rng(3)
    params = random_params(rng, 2, 6, 1)
    learner = TorchBPTTLearner({k: v[None] for k, v in params.items()}, "adam", 0.01)
    learner.train_step(rng.normal(size=(4, 9, 2)), rng.normal(size=(4, 1)))
    state = learner.optimizer_state()
    before = {k: v.copy() for k, v in state.items()}
    state = {k: v for k, v in {**state, **edit}.items() if v is not None}
    with pytest.raises(ValueError, match=re.escape(expected)):
        learner.load_optimizer_state(state)
    assert all(np.array_equal(v, before[k]) for k, v in learner.optimizer_state().items())


def test_a_pack_trains_each_network_as_if_it_were_alone():
    """Three networks with their own weights, batches and learning rates, clipped each by its
    own gradient norm: the pack's losses and weights are the three solo runs'."""
    rng = np.random.default_rng(11)
    params = [random_params(rng, 2, 5, 1) for _ in range(3)]
    lrs = np.array([0.01, 0.05, 0.2])
    pack = TorchBPTTLearner(stacked(params), "sgd", lrs, momentum=0.9, clip_grad=1.0)
    solos = [TorchBPTTLearner({k: v[None] for k, v in p.items()}, "sgd", lr, momentum=0.9,
                              clip_grad=1.0) for p, lr in zip(params, lrs, strict=True)]
    for _ in range(6):
        x, t = rng.normal(size=(3, 4, 7, 2)), rng.normal(size=(3, 4, 1))
        losses = pack.train_packed(x, t)
        alone = [solo.train_step(x[s], t[s]) for s, solo in enumerate(solos)]
        np.testing.assert_allclose(losses, alone, rtol=1e-12)
    for s, solo in enumerate(solos):
        for name, value in solo.state_dict().items():
            np.testing.assert_allclose(pack.member(s).state_dict()[name], value, rtol=1e-11,
                                       atol=1e-14)
    x = rng.normal(size=(5, 7, 2))
    np.testing.assert_allclose([pack.member(s).predict(x) for s in range(3)],
                               [solo.predict(x) for solo in solos],
                               rtol=1e-12)


def test_a_member_without_momentum_keeps_no_momentum_buffers_in_a_pack_with_momentum():
    """SGD networks with momentum 0 and 0.9 in one pack (the pack keeps momentum buffers for
    all): each member's checkpoint holds what its solo run's would, so the momentum-0 one
    resumes alone, and a momentum-0 learner ignores momentum buffers, as the NumPy one does."""
    rng = np.random.default_rng(4)
    params = [random_params(rng, 2, 5, 1) for _ in range(2)]
    pack = TorchBPTTLearner(stacked(params), "sgd", 0.05, momentum=[0.0, 0.9])
    pack.train_packed(rng.normal(size=(2, 4, 7, 2)), rng.normal(size=(2, 4, 1)))
    plain, with_momentum = pack.member(0).optimizer_state(), pack.member(1).optimizer_state()
    assert plain == {}
    assert sorted(with_momentum) == sorted(f"momentum/{n}" for n in bptt.NAMES)
    solo = TorchBPTTLearner({k: v[None] for k, v in params[0].items()}, "sgd", 0.05)
    solo.load_optimizer_state(plain)
    solo.load_optimizer_state(with_momentum)  # written by the pack before the fix: ignored
    assert solo.optimizer_state() == {}
    numpy_learner = BPTTLearner(params[0], NumpyOptimizer("sgd", 0.05))
    numpy_learner.load_optimizer_state(with_momentum)  # the NumPy learner's rule, the same


def test_numpy_learners_do_not_pack_off_the_gpu_whatever_comes_first():
    """impl=bptt and impl=torch cells can share a pack key (settings may differ in a pack):
    off a GPU the NumPy learner trains alone, whether it comes first or not."""
    from rnnlab_plugins.alarmwork.learner_torch import packed

    params = random_params(np.random.default_rng(6), 2, 5, 1)
    numpy_learner = BPTTLearner(params, NumpyOptimizer("sgd", 0.05))
    torch_learner = TorchBPTTLearner({k: v[None] for k, v in params.items()}, "sgd", 0.05)
    assert packed([torch_learner, numpy_learner], "cpu") is None
    assert packed([numpy_learner, torch_learner], "cpu") is None
    assert numpy_learner.pack([numpy_learner, torch_learner], "cpu") is None
    assert torch_learner.pack([torch_learner, numpy_learner], "cpu") is None
    assert packed([torch_learner, torch_learner], "cpu").size == 2


class CountOps(TorchDispatchMode):
    """Counts the torch operations that are not views: each is a kernel launch on a GPU."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += not func.is_view
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("update", UPDATES, ids=["sgd-momentum", "adam-clip", "sgd-clip"])
def test_the_torch_step_runs_six_kernels_per_time_step(update):
    """On a GPU a step's time is its number of small kernels: the loops over time run two a
    step for Layer_rec1 and two a tick for Layer_rec2, forward and backward (6 per step in
    all); everything else is done once, whatever L."""
    params = {k: v[None] for k, v in random_params(np.random.default_rng(1), 2, 5, 1).items()}

    def kernels(L: int) -> int:
        learner = TorchBPTTLearner(params, **update)
        with CountOps() as ops:
            learner._step(torch.zeros(1, 3, L, 2, dtype=torch.float64),
                          torch.zeros(1, 3, 1, dtype=torch.float64))
        return ops.count

    assert kernels(41) - kernels(21) == 6 * 20
    assert kernels(40) - kernels(20) == 6 * 20


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_cuda_graph_step_equals_the_eager_step():
    rng = np.random.default_rng(3)
    params = {k: v[None].astype(np.float32) for k, v in random_params(rng, 2, 8, 1).items()}
    eager = TorchBPTTLearner(params, "adam", 0.01, clip_grad=1.0, device="cuda", graphs=False)
    graphed = TorchBPTTLearner(params, "adam", 0.01, clip_grad=1.0, device="cuda")
    for B in (20, 20, 20, 7, 20, 7):  # a short last batch gets its own graph
        x = rng.normal(size=(B, 30, 2)).astype(np.float32)
        t = rng.normal(size=(B, 1)).astype(np.float32)
        assert graphed.train_step(x, t) == pytest.approx(eager.train_step(x, t), rel=1e-5)
    for name, value in eager.state_dict().items():
        np.testing.assert_allclose(graphed.state_dict()[name], value, rtol=1e-5, atol=1e-6)


def subnormals(ws: bptt.Workspace) -> int:
    tiny = np.finfo(np.float32).tiny
    return sum(int(np.sum((a != 0) & (np.abs(a) < tiny))) for a in ws.arrays.values())


def test_a_training_step_flushes_vanishing_gradients_to_zero_without_changing_them():
    """At L=400 deltas that vanish through time become subnormal floats, which the CPU computes
    with many times slower: a training step flushes them to zero (`rnnlab.subnormals_flushed`),
    and here that leaves the losses, weights and Adam state the same bytes."""
    rng = np.random.default_rng(3)
    params = {k: (0.5 * v).astype(np.float32) for k, v in random_params(rng, 2, 8, 1).items()}
    flushed, plain = (BPTTLearner(params, NumpyOptimizer("adam", lr=3e-4, clip_grad=1.0))
                      for _ in range(2))
    with rnnlab.subnormals_flushed() as flushing:
        pass
    for _ in range(3):
        x = rng.random((5, 400, 2)).astype(np.float32)
        t = rng.random((5, 1)).astype(np.float32)
        loss, grads = plain.loss_and_gradients(x, t)  # as before: no flushing
        new = {name: value.copy() for name, value in plain.params.items()}
        plain.optimizer.step(new, grads)
        plain.load_state_dict(new)
        assert subnormals(plain.workspace) > 0
        assert flushed.train_step(x, t) == loss
        assert subnormals(flushed.workspace) == 0 or not flushing
    for name in bptt.NAMES:
        assert flushed.params[name].tobytes() == plain.params[name].tobytes(), name
    state, plain_state = flushed.optimizer.state(), plain.optimizer.state()
    assert {k: v.tobytes() for k, v in state.items()} == {
        k: v.tobytes() for k, v in plain_state.items()}
