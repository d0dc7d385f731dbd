"""AlarmworkNet: forward (all three implementations) against a hand-computed case, the torch
forward against a loop-by-loop implementation, hand-written Xavier init, and the mistakes seen
in public solutions. Gradients are tested in test_bptt.py."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import rnnlab
from rnnlab import DataSpec, NumpyOptimizer
from rnnlab.runs import RunStore
from rnnlab_plugins.alarmwork import bptt_plain
from rnnlab_plugins.alarmwork.learner import BPTTLearner
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
    l = 0: z12 = 0;         z1 = tanh(0.5*1 + 0.1) = 0.537050;  z2 = tanh(-0.4 + 0.05) = -0.336376
    l = 1: z12 = 0.200674;  z1 = tanh(-1.0 + 0.3*0.200674 + 0.1) = -0.685702;  z2 held
    l = 2: z12 = -1.022077; z1 = tanh(0.25 + 0.3*(-1.022077) + 0.1) = 0.043350
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
    params = {name: np.full(getattr(model, name).shape, value) for name, value in values.items()}
    y, tape = bptt_plain.forward(params, x.numpy())
    assert [z[0, 0] for z in tape.z1] == pytest.approx([0.537050, -0.685702, 0.043350], abs=1e-6)
    assert [z[0, 0] for z in tape.z2] == pytest.approx([-0.336376, -0.336376, -0.213919],
                                                       abs=1e-6)
    assert y[0, 0] == pytest.approx(-0.034961, abs=1e-6)
    fast = BPTTLearner(params, NumpyOptimizer())
    assert fast.predict(x.numpy())[0, 0] == pytest.approx(-0.034961, abs=1e-6)


def loop_by_loop(model: AlarmworkNet, x: torch.Tensor) -> list[list[float]]:
    """The equations with Python floats and explicit loops over n, l, j, i."""
    p = {k: v.tolist() for k, v in model.state_dict().items()}
    B, L, D = x.shape
    P, M = len(p["b_in1"]), len(p["b_out"])
    xs = x.tolist()
    out = []
    for n in range(B):
        z1, z2 = [0.0] * P, [0.0] * P
        for l in range(L):  # Layer_rec2 works at l = 0, 2, 4, ...
            z12 = [z1[i] + z2[i] for i in range(P)]
            new1 = [math.tanh(sum(p["w_in1"][j][d] * xs[n][l][d] for d in range(D))
                              + sum(p["w_rec1"][j][i] * z12[i] for i in range(P))
                              + p["b_in1"][j]) for j in range(P)]
            if l % 2 == 0:
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


def test_layer_rec2_works_every_second_step_from_the_first_and_holds_otherwise():
    model = net(P=4)
    x = torch.randn(2, 9, 2, dtype=torch.float64)
    _, z2 = model.states(x)
    assert torch.count_nonzero(z2[:, 0]) > 0  # it works at l = 0
    for l in range(1, 9):
        held = torch.equal(z2[:, l], z2[:, l - 1])
        assert held == (l % 2 == 1), f"l = {l}"


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
    run = rnnlab.train("alarmwork", L=10, epochs=1, settings={"layer_out": "scalar"})
    assert run.summary["status"] == "completed"
    assert set(run.load_checkpoint()) == set(NAMES)


@pytest.mark.parametrize("rec_init", ["xavier", "identity"])
def test_numpy_initial_weights_equal_torchs_to_the_bit(rec_init):
    """init.py draws what AlarmworkNet draws after torch.manual_seed: the homework numbers do
    not depend on whether torch is imported."""
    from rnnlab_plugins.alarmwork import init
    from rnnlab_plugins.alarmwork.net import AlarmworkNet

    for seed in (0, 1, 4, 2**32 - 1):
        for D, P, M in ((2, 50, 1), (1, 3, 2), (3, 7, 4)):
            torch.manual_seed(seed)
            expected = AlarmworkNet(D, P, M, rec_init=rec_init).state_dict()
            got = init.weights(D, P, M, seed, rec_init)
            assert set(got) == set(expected)
            for name, value in expected.items():
                assert got[name].dtype == np.float32
                np.testing.assert_array_equal(got[name], value.numpy())
    assert init.weights(2, 5, 1, 0, "orthogonal") is None  # drawn by torch


def test_orthogonal_weights_are_the_same_whatever_code_path_mkl_takes():
    """MKL chooses its QR code by CPU; the orthogonal recurrent weights (the default recipe's)
    must not: the same seed gives the same bytes under each of MKL's reproducible branches
    (each one a CPU it may run on), and they are orthogonal."""
    draw = ("import hashlib, torch; from rnnlab_plugins.alarmwork.net import AlarmworkNet; "
            "torch.manual_seed(3); net = AlarmworkNet(2, 50, 1, rec_init='orthogonal'); "
            "print(hashlib.sha256(b''.join(p.detach().numpy().tobytes() "
            "for p in net.parameters())).hexdigest())")
    digests = set()
    for branch in ("COMPATIBLE", "AVX", "AVX2", "AUTO"):
        env = {**os.environ, "MKL_CBWR": branch, "OMP_NUM_THREADS": "1"}
        done = subprocess.run([sys.executable, "-c", draw], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout)
    assert len(digests) == 1, digests
    torch.manual_seed(3)
    w = AlarmworkNet(2, 50, 1, rec_init="orthogonal").w_rec1.detach().double()
    np.testing.assert_allclose((w @ w.T).numpy(), np.eye(50), atol=1e-6)


def test_training_alarmwork_on_its_numpy_path_never_imports_torch(workdir, cli):
    """With torch made unimportable, `rnnlab train alarmwork` (NumPy BPTT, Xavier weights)
    trains, and records the same run as this process, where torch is loaded."""
    rnnlab.gen_data("adding", lengths=[10], sizes={"train": 40, "dev": 20, "test": 20})
    blocked = ("import sys; sys.modules['torch'] = None; from rnnlab.cli import main; "
               "main(sys.argv[1:])")
    args = ["train", "alarmwork", "--recipe", "homework", "--L", "10", "--epochs", "2",
            "--quiet"]  # the default recipe's orthogonal weights are drawn by torch
    done = subprocess.run([sys.executable, "-c", blocked, *args, "--runs-dir", "without"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert cli(*args, "--runs-dir", "with").exit_code == 0
    without, with_torch = (RunStore(s).list()[0] for s in ("without", "with"))
    assert without.provenance["torch_threads"] is None
    assert without.provenance["torch"] == torch.__version__  # from the installed metadata
    assert with_torch.provenance["torch_threads"] == 1
    assert without.summary["test"] == with_torch.summary["test"]
    np.testing.assert_array_equal(without.losses(), with_torch.losses())
