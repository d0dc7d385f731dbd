"""Training options beyond the homework recipe: Adam, gradient clipping, recurrent init and
shuffling, for torch models and NumPy learners alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import rnnlab
from rnnlab import DataSpec, NumpyOptimizer


@pytest.mark.parametrize("kind,clip", [("sgd", None), ("sgd", 0.05), ("adam", None),
                                       ("adam", 0.05)])
def test_numpy_optimizer_matches_torch(kind, clip):
    rng = np.random.default_rng(0)
    params = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    ours = NumpyOptimizer(kind, lr=0.1, momentum=0.9 if kind == "sgd" else 0.0, clip_grad=clip)
    theirs = (torch.optim.Adam(tensors.values(), lr=0.1) if kind == "adam"
              else torch.optim.SGD(tensors.values(), lr=0.1, momentum=0.9))
    for _ in range(5):
        grads = {k: rng.normal(size=v.shape) for k, v in params.items()}
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(tensors.values(), clip)
        theirs.step()
        ours.step(params, grads)
    for k, t in tensors.items():
        np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_clip_scales_the_global_norm():
    params = {"w": np.zeros(2)}
    NumpyOptimizer("sgd", lr=1.0, clip_grad=1.0).step(params, {"w": np.array([3.0, 4.0])})
    np.testing.assert_allclose(params["w"], [-0.6, -0.8], rtol=1e-6)  # norm 5 -> 1


@pytest.mark.parametrize("settings", [{"impl": "bptt"}, {"impl": "autograd"}])
def test_adam_and_clipping_reach_both_alarmwork_implementations(small_data, settings):
    runs = [rnnlab.train("alarmwork", L=10, epochs=2, optimizer="adam", lr=0.003,
                         clip_grad=1.0, settings=dict(settings, rec_init="orthogonal"))
            for _ in range(2)]
    assert runs[0].config["optimizer"] == "adam" and runs[0].config["clip_grad"] == 1.0
    losses = [[m["train_loss"] for m in run.metrics] for run in runs]
    assert losses[0] == losses[1]  # same seed, same trajectory
    homework = rnnlab.train("alarmwork", L=10, epochs=2, settings=settings)
    assert homework.metrics[0]["train_loss"] != runs[0].metrics[0]["train_loss"]


@pytest.mark.parametrize("model", ["alarmwork", "simple-rnn", "lstm"])
@pytest.mark.parametrize("kind", ["orthogonal", "identity"])
def test_recurrent_init(model, kind):
    learner = rnnlab.build_learner(model, DataSpec("sequence", 2, 1, 5), hidden=6,
                                   settings={"rec_init": kind, "impl": "autograd"}
                                   if model == "alarmwork" else {"rec_init": kind})
    module = learner.module
    blocks = ([module.w_rec1, module.w_rec2] if model == "alarmwork"
              else list(module.rnn.weight_hh_l0.detach().split(6)))
    for w in blocks:
        w = w.detach()
        if kind == "identity":
            assert torch.equal(w, torch.eye(6))
        else:
            assert torch.allclose(w @ w.T, torch.eye(6), atol=1e-5)


def test_shuffle_changes_the_order_reproducibly(small_data):
    plain = rnnlab.train("simple-rnn", L=10, epochs=2)
    shuffled = [rnnlab.train("simple-rnn", L=10, epochs=2, shuffle=True) for _ in range(2)]
    np.testing.assert_array_equal(shuffled[0].losses(), shuffled[1].losses())
    assert not np.array_equal(plain.losses(), shuffled[0].losses())
    assert shuffled[0].config["shuffle"] is True


def test_recipe_option_errors(workdir, cli):
    assert "--optimizer expects one of sgd|adam, got rmsprop" in cli(
        "train", "lstm", "--optimizer", "rmsprop").stderr
    assert "--clip-grad expects a number > 0, got 0.0" in cli(
        "train", "lstm", "--clip-grad", "0").stderr
    assert "setting 'rec_init' expects one of" in cli(
        "train", "lstm", "--set", "rec_init=zeros").stderr


def test_schedule_values():
    from rnnlab.config import TrainConfig, epoch_lr

    cosine = TrainConfig(lr=0.1, epochs=4, lr_schedule="cosine")
    assert [epoch_lr(cosine, e, 4) for e in (1, 2, 3, 4)] == pytest.approx(
        [0.1, 0.0853553, 0.05, 0.0146447], abs=1e-7)
    step = TrainConfig(lr=0.1, epochs=10, lr_schedule="step")
    assert [epoch_lr(step, e, 10) for e in (1, 8, 9, 10)] == pytest.approx([0.1, 0.1, 0.01, 0.01])
    assert [epoch_lr(TrainConfig(lr=0.1), e, 4) for e in (1, 4)] == [0.1, 0.1]


@pytest.mark.parametrize("model,settings", [("simple-rnn", {}), ("alarmwork", {"impl": "bptt"}),
                                            ("alarmwork", {"impl": "autograd"})])
def test_cosine_schedule_lowers_the_rate_after_the_first_epoch(small_data, model, settings):
    runs = [rnnlab.train(model, L=10, epochs=2, early_stop=None, lr_schedule=schedule,
                         settings=settings) for schedule in ("constant", "cosine")]
    n = len(runs[0].losses()) // 2
    np.testing.assert_array_equal(runs[0].losses()[:n], runs[1].losses()[:n])  # epoch 1: lr
    assert not np.array_equal(runs[0].losses()[n:], runs[1].losses()[n:])  # epoch 2: lr / 2


def test_a_resumed_cosine_run_continues_the_schedule(small_data):
    from rnnlab.errors import RunInterrupted
    from rnnlab.events import EpochDone
    from rnnlab.signals import request_stop

    def stop_after_epoch_2(event):
        if isinstance(event, EpochDone) and event.epoch == 2:
            request_stop()

    options = dict(L=10, epochs=4, optimizer="adam", lr=0.01, lr_schedule="cosine",
                   early_stop=None)
    with pytest.raises(RunInterrupted):
        rnnlab.train("simple-rnn", emit=stop_after_epoch_2, **options)
    interrupted = rnnlab.list_runs()[0]
    assert interrupted.summary["epochs"] == 2
    resumed = rnnlab.resume(interrupted)
    whole = rnnlab.train("simple-rnn", **options)
    np.testing.assert_array_equal(resumed.losses(), whole.losses())
    assert resumed.summary["test"] == whole.summary["test"]


def test_schedule_errors(small_data, cli, fake_dist):
    result = cli("train", "lstm", "--lr-schedule", "linear")
    assert result.exit_code == 2
    assert "--lr-schedule expects one of constant|cosine|step, got linear" in result.stderr
    from test_bptt import WRONG  # a NumPy learner without set_lr

    fake_dist("rnnlab-linear", {"rnnlab.models": {"linear": "linear_mod:Plugin"}},
              {"linear_mod": WRONG.replace("{factor}", "1")})
    result = cli("train", "linear", "--L", "10", "--lr-schedule", "cosine")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: --lr-schedule cosine: model 'linear' cannot change "
                                     "its learning rate (its learner has no set_lr)")
    assert not Path("runs").exists()  # nothing written


def test_the_simple_rnns_relu_units_equal_a_plain_loop_and_tanh_keeps_its_cells(workdir, cli):
    learner = rnnlab.build_learner("simple-rnn", DataSpec("sequence", 2, 1, 5), hidden=6,
                                   settings={"nonlinearity": "relu", "rec_init": "identity"})
    net = learner.module.rnn
    x = torch.randn(3, 5, 2)
    h = torch.zeros(3, 6)
    for t in range(5):  # h_t = relu(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)
        h = torch.relu(x[:, t] @ net.weight_ih_l0.T + net.bias_ih_l0 + h @ net.weight_hh_l0.T
                       + net.bias_hh_l0)
    assert torch.allclose(learner.module(x), learner.module.out(h), atol=1e-6)
    assert torch.equal(net.weight_hh_l0.detach(), torch.eye(6))
    # tanh, the default, is the setting's neutral value: a sweep cell keeps the key it had
    # before the setting existed (runs of it are not run again)
    from rnnlab import sweep

    (cell,) = sweep.build({"model": "simple-rnn", "L": 200, "seed": 3},
                          rnnlab.registry.default()).cells
    assert (cell.key, cell.config.settings) == ("330635b9ec15", {"rec_init": "default"})
    refused = cli("train", "lstm", "--L", "10", "--set", "nonlinearity=relu")
    assert refused.exit_code == 2 and "nonlinearity" in refused.stderr


def test_a_schedule_left_at_constant_keeps_existing_sweep_cells():
    from rnnlab.config import TrainConfig
    from rnnlab.sweep import cell_key

    # early_stop as resolve() sets it from the adding task's declaration (it was the default)
    cfg = TrainConfig(model="alarmwork", L=200, seed=3, early_stop=99.5)
    assert cell_key(cfg, "homework") == "3489738ad880"  # the key from before lr_schedule existed
    cfg.lr_schedule = "step"
    assert cell_key(cfg, "homework") != "3489738ad880"


# -- named recipes -------------------------------------------------------------------------------

def test_alarmworks_default_is_the_long_sequence_recipe_and_homework_is_named(workdir, cli):
    default = yaml.safe_load(cli("train", "alarmwork", "--print-config").stdout)
    assert default["recipe"] == "long-sequences"
    assert (default["optimizer"], default["lr"], default["clip_grad"]) == ("adam", 0.0003, 1.0)
    assert default["settings"]["rec_init"] == "orthogonal"
    homework = yaml.safe_load(cli("train", "alarmwork", "--recipe", "homework",
                                  "--print-config").stdout)
    assert homework["recipe"] == "homework"
    assert (homework["optimizer"], homework["lr"], homework["momentum"],
            homework["clip_grad"]) == ("sgd", 0.01, 0.9, None)
    assert homework["settings"]["rec_init"] == "xavier"
    # options and --set still win over a recipe
    mine = yaml.safe_load(cli("train", "alarmwork", "--recipe", "long-sequences", "--lr", "0.001",
                              "--set", "rec_init=identity", "--print-config").stdout)
    assert mine["lr"] == 0.001 and mine["settings"]["rec_init"] == "identity"


def test_every_model_has_the_homework_recipe_and_unknown_names_are_refused(workdir, cli):
    assert yaml.safe_load(cli("train", "autoenc-lite", "--recipe", "homework",
                              "--print-config").stdout)["recipe"] == "homework"
    refused = cli("train", "lstm", "--recipe", "long")
    assert refused.exit_code == 2
    assert refused.stderr == ("error: --recipe long: model 'lstm' has no such recipe "
                              "(recipes: homework, long-sequences; `rnnlab plugins lstm` shows "
                              "them)\n")
    # the baselines keep the homework recipe as their default
    lstm = yaml.safe_load(cli("train", "lstm", "--print-config").stdout)
    assert (lstm["recipe"], lstm["optimizer"], lstm["settings"]["rec_init"]) == (
        "homework", "sgd", "default")
    long = yaml.safe_load(cli("train", "simple-rnn", "--recipe", "long-sequences",
                              "--print-config").stdout)
    assert (long["optimizer"], long["lr"], long["clip_grad"], long["settings"]["rec_init"]) == (
        "adam", 0.0003, 1.0, "orthogonal")


def test_plugins_lists_the_recipes_and_marks_the_default(workdir, cli):
    lines = cli("plugins", "alarmwork").stdout.splitlines()
    start = lines.index("recipes (--recipe NAME):")
    assert lines[start + 1 : start + 3] == [
        "homework: rnnlab defaults",
        "long-sequences (default): optimizer=adam, lr=0.0003, clip_grad=1.0, "
        "rec_init=orthogonal"]


def test_the_homework_sweep_keeps_its_cells_and_their_recipe():
    """experiments/homework.yaml names the homework recipe: its cells are those of the table
    measured before AlarmworkNet's default changed (a key from that store)."""
    from rnnlab import registry
    from rnnlab.sweep import build, read_spec

    root = Path(__file__).resolve().parents[1]
    spec = read_spec(root / "experiments" / "homework.yaml")
    plan = build(spec, registry.default(), where="homework.yaml")
    cell = next(c for c in plan.cells if c.config.model == "alarmwork" and c.config.L == 50
                and c.config.seed == 0)
    assert cell.key == "52ce20dd63a1"
    assert (cell.config.optimizer, cell.config.lr, cell.config.recipe) == ("sgd", 0.01,
                                                                           "homework")
    assert cell.config.settings["rec_init"] == "xavier"
