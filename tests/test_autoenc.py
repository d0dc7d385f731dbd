"""AutoEncNetLite and the from-scratch layers: seed 003's worked example, backprop against
finite differences and autograd, the scalar Layer_in, init, and training end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import rnnlab
from rnnlab import DataSpec, NumpyOptimizer
from rnnlab.gradcheck import finite_differences
from rnnlab_plugins.autoenc_lite.layers import dense, dense_backward, relu, relu_backward
from rnnlab_plugins.autoenc_lite.learner import AutoEncLearner
from rnnlab_plugins.autoenc_lite.net import AutoEncNetLite


def test_seed_003_exercise_2_one_update_of_the_2_3_1_relu_network():
    """Weights, data, labels and lr 0.5 from the exercise; linear output unit, no biases,
    L = sum over the four samples of 0.5 (y_out - y)^2, one gradient-descent step.

    By hand: s1 = W x1 = (0.458, 0.869, 0.704), y_out(x1) = 0.02*0.458 + 0.03*0.869 +
    0.09*0.704 = 0.09859; y_out = (0.09859, 0.011215, 0.06336, 0.005945) for x1..x4, so the
    output deltas are (-0.90141, -0.988785, 1.06336, 1.005945); sample 3 switches off
    hidden units 1 and 2 (s = -0.442, -0.181). dL/dw11 = -0.90141*0.458 - 0.988785*0.1205
    + 1.06336*0 + 1.005945*0.1195 = -0.411784, so w11 becomes 0.02 + 0.5*0.411784 = 0.225892.
    """
    W = np.array([[0.60, 0.01], [0.70, 0.43], [0.00, 0.88]])  # W[j, i]: input i -> hidden j
    w = np.array([[0.02, 0.03, 0.09]])  # hidden j -> output
    X = np.array([[0.75, 0.80], [0.20, 0.05], [-0.75, 0.80], [0.20, -0.05]])
    labels = np.array([[1.0], [1.0], [-1.0], [-1.0]])

    s = dense(X, W)  # (4, 3)
    z = relu(s)
    y_out = dense(z, w)  # (4, 1)
    np.testing.assert_allclose(y_out[:, 0], [0.09859, 0.011215, 0.06336, 0.005945], atol=1e-12)
    assert 0.5 * np.sum((y_out - labels) ** 2) == pytest.approx(1.96644779847500, abs=1e-12)
    delta_out = y_out - labels  # dL/dy_out; the output is linear
    dz, dw, _ = dense_backward(delta_out, z, w)
    _, dW, _ = dense_backward(relu_backward(dz, s), X, W)
    W_new, w_new = W - 0.5 * dW, w - 0.5 * dw

    expected_w = [[0.2258919725, 0.4419047925, 0.05474687]]
    expected_W = [[0.606726255, 0.018208645], [0.7100893825, 0.4423129675],
                  [0.0752100525, 0.87639456625]]
    np.testing.assert_allclose(w_new, expected_w, atol=1e-12)
    np.testing.assert_allclose(W_new, expected_W, atol=1e-12)
    assert w_new[0, 0] == pytest.approx(0.225892, abs=1e-6)  # the hand-derived value above

    tW = torch.tensor(W, requires_grad=True)  # the same step by autograd
    tw = torch.tensor(w, requires_grad=True)
    out = torch.relu(torch.tensor(X) @ tW.T) @ tw.T
    (0.5 * ((out - torch.tensor(labels)) ** 2).sum()).backward()
    np.testing.assert_allclose(W - 0.5 * tW.grad.numpy(), W_new, atol=1e-15)
    np.testing.assert_allclose(w - 0.5 * tw.grad.numpy(), w_new, atol=1e-15)


def batch(n=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, 225)) * (rng.uniform(0, 1, (n, 225)) < 0.3)  # sparse like digits
    return x, x.copy()


def test_backprop_matches_central_finite_differences():
    learner = AutoEncLearner(225, 6, seed=1, optimizer=NumpyOptimizer(lr=0.001))  # small P
    x, t = batch(3)
    _, analytic = learner.loss_and_gradients(x, t)
    numeric = finite_differences(learner, x, t, eps=1e-6)
    assert set(analytic) == {"w_in", "b_in", "w_link", "w_out", "b_out"}
    for name, g in analytic.items():
        rel = np.abs(g - numeric[name]).max() / max(np.abs(numeric[name]).max(), 1e-12)
        assert rel < 1e-6, (name, rel)


def test_backprop_matches_torch_autograd_on_the_same_weights():
    net = AutoEncNetLite(seed=2)
    x, t = batch(20, seed=3)
    loss, grads = net.backprop(x, t)
    p = {k: torch.tensor(v, requires_grad=True) for k, v in net.w.items()}
    tx = torch.tensor(x)
    z_in = torch.relu(tx @ p["w_in"].T + p["b_in"])
    z_rec = torch.relu(z_in @ torch.eye(75, dtype=torch.float64).T)
    y = torch.relu((z_rec + tx[:, 0::3] @ p["w_link"].T) @ p["w_out"].T + p["b_out"])
    ref = ((y - torch.tensor(t)) ** 2).sum()
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    for name, g in grads.items():
        np.testing.assert_allclose(g, p[name].grad.numpy(), rtol=1e-9, atol=1e-12)


def test_shapes_init_and_frozen_identity():
    net = AutoEncNetLite(seed=0)
    shapes = {k: v.shape for k, v in net.w.items()}
    assert shapes == {"w_in": (75, 225), "b_in": (75,), "w_link": (75, 75),
                      "w_out": (225, 75), "b_out": (225,)}
    for name, (fan_out, fan_in) in {"w_in": (75, 225), "w_link": (75, 75),
                                    "w_out": (225, 75)}.items():
        a = np.sqrt(6 / (fan_in + fan_out))
        assert np.abs(net.w[name]).max() <= a and np.abs(net.w[name]).max() > 0.95 * a
        assert np.std(net.w[name]) == pytest.approx(a / np.sqrt(3), rel=0.05)
    assert not net.w["b_in"].any() and not net.w["b_out"].any()
    np.testing.assert_array_equal(net.w_rec, np.eye(75))
    learner = AutoEncLearner(225, 75, seed=0, optimizer=NumpyOptimizer(lr=0.001))
    x, t = batch(20)
    learner.train_step(x, t)
    np.testing.assert_array_equal(learner.net.w_rec, np.eye(75))
    assert "w_rec" not in learner.state_dict()


def test_reduce_x3_link_reads_every_third_pixel():
    net = AutoEncNetLite(seed=0)
    x = np.zeros((1, 225))
    x[0, 1] = x[0, 2] = 1.0  # pixels the link skips
    _, cache = net.forward(x)
    assert not cache.x_red.any()
    x[0, 3] = 1.0
    assert net.forward(x)[1].x_red[0, 1] == 1.0


def test_scalar_layer_in_gives_identical_outputs():
    vector = AutoEncNetLite(seed=4)
    scalar = AutoEncNetLite(seed=4, layer_in="scalar")
    x, _ = batch(4)
    np.testing.assert_allclose(scalar.forward(x)[0], vector.forward(x)[0], atol=1e-13)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_training_on_the_bundled_images_lowers_the_loss(workdir, seed):
    run = rnnlab.train("autoenc-lite", seed=seed)
    losses = run.losses()
    assert len(losses) == 1000
    ratio = losses[-100:].mean() / losses[:100].mean()
    assert ratio < 0.35  # seen: 0.21-0.26 for seeds 0-5 (the issue asks for < 0.5)


def test_cli_train_writes_curve_and_reconstructions(workdir, cli):
    result = cli("train", "autoenc-lite", "--updates", "50")
    assert result.exit_code == 0, result.stderr
    assert "updates 50/50" in result.stdout
    run = rnnlab.list_runs()[0]
    assert run.config["updates"] == 50 and run.config["lr"] == 0.001
    assert run.summary["files"] == ["learning_curve.png", "reconstructions.png"]
    with Image.open(run.dir / "reconstructions.png") as image:
        assert image.size == (64 + 10 * 122 + 2, 4 * 122 + 2)  # names, 10 columns, 2 rows x 2
    with Image.open(run.dir / "learning_curve.png") as image:
        assert image.size == (800, 450)
    assert len(run.losses()) == 50


def test_build_learner_uses_the_recipe():
    learner = rnnlab.build_learner("autoenc-lite", DataSpec("image", 225, 225))
    assert learner.optimizer.lr == 0.001 and learner.net.w["w_in"].shape == (75, 225)
