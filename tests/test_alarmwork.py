"""AlarmworkNet: forward against a hand-computed case and a loop-by-loop implementation,
autograd gradcheck, hand-written Xavier init, and the mistakes seen in public solutions."""

from __future__ import annotations

import math

import pytest
import torch

import rnnlab
from rnnlab import DataSpec
from rnnlab_plugins.alarmwork.net import AlarmworkNet

NAMES = ["w_in1", "w_rec1", "b_in1", "w_in2", "w_rec2", "b_in2", "w_out", "b_out"]


def net(D=2, P=5, M=1, layer_out="vector", dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    return AlarmworkNet(D, P, M, layer_out=layer_out).to(dtype)


def test_parameters_are_named_and_shaped_as_in_the_homework():
    shapes = {k: tuple(v.shape) for k, v in net(D=3, P=7, M=2).state_dict().items()}
    assert shapes == {"w_in1": (7, 3), "w_rec1": (7, 7), "b_in1": (7,), "w_in2": (7, 3),
                      "w_rec2": (7, 7), "b_in2": (7,), "w_out": (2, 7), "b_out": (2,)}
    assert list(shapes) == NAMES


def test_forward_matches_a_hand_computed_case():
    """D = P = M = 1, L = 3. Worked out by hand:
    step 1: z12 = 0;         z1 = tanh(0.5*1 + 0.1) = 0.537050;  z2 = tanh(-0.4 + 0.05) = -0.336376
    step 2: z12 = 0.200674;  z1 = tanh(-1.0 + 0.3*0.200674 + 0.1) = -0.685702;  z2 held
    step 3: z12 = -1.022077; z1 = tanh(0.25 + 0.3*(-1.022077) + 0.1) = 0.043350
            z2 = tanh(-0.2 + 0.2*(-0.336376) + 0.05) = -0.213919 (not used by y)
    y = tanh(1.5 * 0.043350 - 0.1) = -0.034961
    """
    model = net(D=1, P=1, M=1)
    values = {"w_in1": 0.5, "w_rec1": 0.3, "b_in1": 0.1, "w_in2": -0.4, "w_rec2": 0.2,
              "b_in2": 0.05, "w_out": 1.5, "b_out": -0.1}
    with torch.no_grad():
        for name, value in values.items():
            getattr(model, name).fill_(value)
    x = torch.tensor([[[1.0], [-2.0], [0.5]]], dtype=torch.float64)  # (1, 3, 1)
    z1, z2 = model.states(x)
    assert z1[0, :, 0].tolist() == pytest.approx([0.537050, -0.685702, 0.043350], abs=1e-6)
    assert z2[0, :, 0].tolist() == pytest.approx([-0.336376, -0.336376, -0.213919], abs=1e-6)
    assert model(x).item() == pytest.approx(-0.034961, abs=1e-6)


def loop_by_loop(model: AlarmworkNet, x: torch.Tensor) -> list[list[float]]:
    """The equations with Python floats and explicit loops over n, l, j, i."""
    p = {k: v.tolist() for k, v in model.state_dict().items()}
    B, L, D = x.shape
    P, M = len(p["b_in1"]), len(p["b_out"])
    xs = x.tolist()
    out = []
    for n in range(B):
        z1, z2 = [0.0] * P, [0.0] * P
        for l in range(L):  # 0-based; Layer_rec2 works at 1-based steps 1, 3, 5, ...
            z12 = [z1[i] + z2[i] for i in range(P)]
            new1 = [math.tanh(sum(p["w_in1"][j][d] * xs[n][l][d] for d in range(D))
                              + sum(p["w_rec1"][j][i] * z12[i] for i in range(P))
                              + p["b_in1"][j]) for j in range(P)]
            if (l + 1) % 2 == 1:
                z2 = [math.tanh(sum(p["w_in2"][j][d] * xs[n][l][d] for d in range(D))
                                + sum(p["w_rec2"][j][i] * z2[i] for i in range(P))
                                + p["b_in2"][j]) for j in range(P)]
            z1 = new1
        out.append([math.tanh(sum(p["w_out"][j][i] * z1[i] for i in range(P)) + p["b_out"][j])
                    for j in range(M)])
    return out


@pytest.mark.parametrize("D,P,M,L", [(2, 4, 1, 1), (1, 3, 2, 2), (3, 5, 1, 7), (2, 6, 3, 10)])
def test_forward_matches_loop_by_loop_equations(D, P, M, L):
    model = net(D=D, P=P, M=M, seed=L)
    x = torch.randn(3, L, D, dtype=torch.float64)
    expected = torch.tensor(loop_by_loop(model, x), dtype=torch.float64)
    assert torch.allclose(model(x), expected, atol=1e-12, rtol=0)


def test_layer_rec2_updates_on_odd_steps_and_holds_otherwise():
    model = net(P=4)
    x = torch.randn(2, 9, 2, dtype=torch.float64)
    _, z2 = model.states(x)
    for l in range(1, 9):  # 0-based index l is 1-based step l + 1
        held = torch.equal(z2[:, l], z2[:, l - 1])
        assert held == ((l + 1) % 2 == 0), f"step {l + 1}"


def test_z12_feeds_layer_rec1_only():
    model = net(P=4)
    x = torch.randn(2, 6, 2, dtype=torch.float64)
    _, z2_before = model.states(x)
    with torch.no_grad():
        model.w_in1.mul_(3.0)  # changes z1 everywhere...
        model.w_rec1.mul_(-1.0)
    z1_after, z2_after = model.states(x)
    assert torch.equal(z2_before, z2_after)  # ...but z2 never sees z1


def test_recurrence_runs_over_time_not_across_the_batch():
    model = net(P=4)
    x = torch.randn(5, 8, 2, dtype=torch.float64)
    alone = torch.cat([model(x[i : i + 1]) for i in range(5)])
    assert torch.allclose(model(x), alone, atol=1e-12)


def test_layer_out_runs_once_after_the_time_loop(monkeypatch):
    model = net(P=4)
    calls = []
    original = model.layer_out
    monkeypatch.setattr(model, "layer_out", lambda z: calls.append(z.shape) or original(z))
    model(torch.randn(3, 11, 2, dtype=torch.float64))
    assert calls == [torch.Size([3, 4])]


def test_scalar_layer_out_gives_the_same_outputs_and_gradients():
    vector, scalar = net(M=3, P=6), net(M=3, P=6, layer_out="scalar")
    scalar.load_state_dict(vector.state_dict())
    x = torch.randn(4, 5, 2, dtype=torch.float64)
    yv, ys = vector(x), scalar(x)
    assert torch.allclose(yv, ys, atol=1e-14)
    yv.sum().backward()
    ys.sum().backward()
    for name in NAMES:
        assert torch.allclose(getattr(vector, name).grad, getattr(scalar, name).grad, atol=1e-12)


@pytest.mark.parametrize("layer_out", ["vector", "scalar"])
@pytest.mark.parametrize("L", [1, 4, 5])
def test_autograd_gradcheck_float64(layer_out, L):
    model = net(D=2, P=3, M=2, layer_out=layer_out, seed=L)
    x = torch.randn(2, L, 2, dtype=torch.float64, requires_grad=True)
    params = [getattr(model, n) for n in NAMES]

    def f(x, *weights):
        with torch.no_grad():
            for p, w in zip(params, weights, strict=True):
                p.copy_(w)
        return torch.func.functional_call(model, dict(zip(NAMES, weights, strict=True)), (x,))

    inputs = (x, *[p.detach().clone().requires_grad_(True) for p in params])
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-8)


def test_xavier_init_by_hand_and_zero_biases():
    model = AlarmworkNet(2, 50, 1)
    for name, fan_in, fan_out in [("w_in1", 2, 50), ("w_rec1", 50, 50), ("w_in2", 2, 50),
                                  ("w_rec2", 50, 50), ("w_out", 50, 1)]:
        w = getattr(model, name).detach()
        a = math.sqrt(6 / (fan_in + fan_out))
        assert w.abs().max() <= a
        assert w.abs().max() > 0.9 * a  # spread over the whole range, not left at zero
        if w.numel() >= 100:  # U(-a, a) has std a / sqrt(3)
            assert w.std().item() == pytest.approx(a / math.sqrt(3), rel=0.1)
    for name in ("b_in1", "b_in2", "b_out"):
        assert torch.count_nonzero(getattr(model, name)) == 0


def test_init_uses_no_torch_nn_init(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("torch.nn.init used")

    for name in ("xavier_uniform_", "uniform_", "zeros_", "xavier_normal_", "kaiming_uniform_"):
        monkeypatch.setattr(torch.nn.init, name, forbidden)
    AlarmworkNet(2, 5, 1)


def test_plugin_builds_with_settings_and_trains(small_data):
    learner = rnnlab.build_learner("alarmwork", DataSpec("sequence", 2, 1, 10), hidden=7,
                                   settings={"layer_out": "scalar"})
    model = learner.module  # scalar Layer_out needs the torch (autograd) implementation
    assert model.w_rec1.shape == (7, 7) and model.layer_out == model.layer_out_scalar
    run = rnnlab.train("alarmwork", L=10, epochs=2, settings={"layer_out": "scalar"})
    assert run.summary["status"] == "completed"
    assert set(run.load_checkpoint()) == set(NAMES)
