"""The conformance kit (rnnlab.testing) applied to every bundled plugin, and tested itself:
broken fake plugins must fail the check aimed at them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rnnlab.testing import DatasetContract, ModelContract, ReportContract

pytest_plugins = ["pytester"]

# -- the bundled plugins --------------------------------------------------------------------


class TestAlarmwork(ModelContract):
    plugin = "alarmwork"
    variants = ({}, {"impl": "autograd"}, {"impl": "autograd", "layer_out": "scalar"},
                {"impl": "bptt", "checkpoint_every": 2}, {"impl": "torch"})


class TestLSTM(ModelContract):
    plugin = "lstm"


class TestSimpleRNN(ModelContract):
    plugin = "simple-rnn"


class TestAutoEncLite(ModelContract):
    plugin = "autoenc-lite"
    variants = ({}, {"layer_in": "scalar"})


class TestMlpLite(ModelContract):
    plugin = "mlp-lite"
    variants = ({}, {"loss": "squared", "activation": "sigmoid", "output": "tanh"},
                {"loss": "hinge", "sizes": "5,3", "activation": "tanh,relu", "bias": False})


class TestAdding(DatasetContract):
    plugin = "adding"
    blocked_imports = ("torch", "numpy")


class TestImages(DatasetContract):
    plugin = "images"
    blocked_imports = ("torch", "numpy")
    falls_back_to_bundled = True  # an empty data dir reads the bundled digits


class TestDigits(DatasetContract):
    plugin = "digits"
    blocked_imports = ("torch", "numpy")


class TestAccuracyReport(ReportContract):
    plugin = "accuracy"


class TestTimingReport(ReportContract):
    plugin = "timing"  # measures models itself; the run store is irrelevant to it
    models = ["alarmwork", "autoenc-lite"]
    lengths = [5]
    settings = {"repeats": 1, "batch_size": 2}


class TestCurvesReport(ReportContract):
    plugin = "curves"
    name_runs = True
    requires_runs = True  # plots the runs it is given by id


class TestReconstructionsReport(ReportContract):
    plugin = "reconstructions"
    name_runs = True
    requires_runs = True
    settings = {"count": 2, "zoom": 1}
    run_model = "autoenc-lite"
    run_sizes = {"train": 10, "test": 4}
    run_options = {"updates": 2, "hidden": 4, "batch_size": 5, "device": "cpu"}


class TestConfusionReport(ReportContract):
    plugin = "confusion"
    name_runs = True
    requires_runs = True
    run_model = "mlp-lite"
    run_sizes = {"train": 30, "dev": 10, "test": 10}
    run_options = {"epochs": 1, "hidden": 4, "batch_size": 5, "device": "cpu"}


# -- the example packages (installed for these tests only) -------------------------------


@pytest.mark.usefixtures("examples_installed")
class TestExampleGRU(ModelContract):
    plugin = "gru"


@pytest.mark.usefixtures("examples_installed")
class TestExampleParity(DatasetContract):
    plugin = "parity"


@pytest.mark.usefixtures("examples_installed")
class TestExampleBestRun(ReportContract):
    plugin = "best-run"


# -- the kit fails broken plugins -----------------------------------------------------------

BROKEN = '''
import sys

import numpy as np

from rnnlab import Column, DatasetPlugin, ModelPlugin, ReportPlugin, ReportResult


class Zeros:
    """A NumPy learner predicting zeros of a given width."""

    def __init__(self, width, seed):
        self.w = {"b": np.random.default_rng(seed).normal(size=width)}

    def train_step(self, x, t):
        self.w["b"] = self.w["b"] - 0.1
        return 1.0

    def predict(self, x):
        return np.zeros((len(x), len(self.w["b"]))) + self.w["b"]

    def state_dict(self):
        return {k: v.copy() for k, v in self.w.items()}

    def load_state_dict(self, state):
        self.w = {k: np.array(v) for k, v in state.items()}


class WideModel(ModelPlugin):
    summary = "predicts one column too many"
    data = "adding"

    def build(self, spec, config):
        return Zeros(spec.output_dim + 1, config.seed)


class Drift(Zeros):
    """Zeros that learn: b moves against the mean error, at the run's learning rate."""

    def __init__(self, width, seed, lr):
        super().__init__(width, seed)
        self.lr = lr

    def train_step(self, x, t):
        error = self.predict(x) - t
        self.w["b"] = self.w["b"] - self.lr * 2 * error.mean(0)
        return float(np.mean(error ** 2))

    def pack(self, learners, device):
        return FirstLrPack(learners)


class FirstLrPack:
    """Packs, but trains every member at the first member's learning rate."""

    def __init__(self, learners):
        self.learners = learners

    def member(self, s):
        return self.learners[s]

    def train_packed(self, x, t):
        losses = []
        for learner, xs, ts in zip(self.learners, x, t):
            own, learner.lr = learner.lr, self.learners[0].lr
            losses.append(learner.train_step(xs, ts))
            learner.lr = own
        return np.array(losses)


class FirstLrModel(ModelPlugin):
    summary = "packs its runs at one learning rate"
    data = "adding"

    def build(self, spec, config):
        return Drift(spec.output_dim, config.seed, config.lr)


class UnseededModel(ModelPlugin):
    summary = "ignores the seed"  # and names no dataset: its kind's default is used

    def build(self, spec, config):
        return Zeros(spec.output_dim, None)


class NoisyData(DatasetPlugin):
    summary = "an example that ignores its seed"
    primary_metric = "mse"
    higher_is_better = False

    def load(self, request, emit=None):
        raise NotImplementedError

    def metrics(self, y, t):
        return {"mse": float(np.mean((y - t) ** 2))}

    def example(self, L, n, seed=0, **kwargs):
        from rnnlab import DataSpec, Split

        x = np.random.default_rng().normal(size=(n, L, 1)).astype("float32")
        return DataSpec("sequence", 1, 1, L), Split(x, x[:, -1, :])


class Chatty(ReportPlugin):
    summary = "prints"

    def build(self, request):
        print("building")
        return ReportResult("chatty", [Column("n", "n")], [{"n": 1}])


class NumpyRows(ReportPlugin):
    summary = "puts NumPy scalars in its rows"

    def build(self, request):
        return ReportResult("numpy", [Column("n", "n")], [{"n": np.float64(0.5)}])
'''

HEAVY = '''
import torch  # at module level: what the light-entry check forbids

from rnnlab import ModelPlugin


class Heavy(ModelPlugin):
    summary = "imports torch when listed"

    def build(self, spec, config):
        return torch.nn.Linear(spec.input_dim, spec.output_dim)
'''


@pytest.fixture
def broken(fake_dist, workdir) -> Path:
    """A distribution of broken plugins, each failing one of the kit's checks."""
    return fake_dist("rnnlab-broken", {
        "rnnlab.models": {"wide": "broken_plugins:WideModel",
                          "unseeded": "broken_plugins:UnseededModel",
                          "first-lr": "broken_plugins:FirstLrModel",
                          "heavy": "heavy_plugin:Heavy"},
        "rnnlab.datasets": {"noisy": "broken_plugins:NoisyData"},
        "rnnlab.reports": {"chatty": "broken_plugins:Chatty",
                           "numpy-rows": "broken_plugins:NumpyRows"},
    }, {"broken_plugins": BROKEN, "heavy_plugin": HEAVY})


def contract(base: type, name: str, **attrs: Any) -> Any:
    """An instance of a kit class for plugin `name`, as a subclass would be."""
    return type(f"Check_{name}", (base,), {"plugin": name, **attrs})()


def test_kit_fails_wrong_prediction_shape(broken):
    with pytest.raises(AssertionError, match=r"model 'wide'.*shape \(4, 2\).*\(4, 1\)"):
        contract(ModelContract, "wide").test_predictions_shape({})


def test_kit_passes_what_the_broken_model_gets_right(broken):
    check = contract(ModelContract, "wide")
    check.test_train_step({})  # a float loss, changed weights: the shape is all that is wrong
    check.test_seed_determines_initial_state({})


def test_kit_fails_an_ignored_seed(broken):
    check = contract(ModelContract, "unseeded")
    assert check.dataset() == "adding"  # no `data`: the default dataset of sequence data
    with pytest.raises(AssertionError, match="model 'unseeded'.*seed 0.*different weights"):
        check.test_seed_determines_initial_state({})


def test_kit_fails_a_pack_that_trains_its_members_otherwise_than_alone(broken):
    check = contract(ModelContract, "first-lr")
    check.test_train_step({})  # alone it learns
    with pytest.raises(AssertionError, match=r"model 'first-lr'.*packed losses .* at step 2"):
        check.test_a_pack_trains_each_member_as_its_solo_run({})


def test_kit_fails_a_heavy_entry_module(broken, tmp_path):
    with pytest.raises(AssertionError, match="model 'heavy'.*without importing torch"):
        contract(ModelContract, "heavy").test_entry_module_is_light(tmp_path)
    contract(ModelContract, "wide").test_entry_module_is_light(tmp_path)  # numpy is allowed
    with pytest.raises(AssertionError, match="model 'wide'.*numpy"):
        contract(ModelContract, "wide", blocked_imports=("numpy",)
                 ).test_entry_module_is_light(tmp_path)


def test_kit_fails_an_unseeded_example(broken):
    with pytest.raises(AssertionError, match="dataset 'noisy'.*different x"):
        contract(DatasetContract, "noisy").test_example_is_seeded()


def test_kit_fails_a_report_that_prints(broken, tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    with pytest.raises(AssertionError, match="report 'chatty'.*printed"):
        contract(ReportContract, "chatty").test_empty_run_store(runs_dir, tmp_path, capsys)


def test_kit_fails_numpy_values_in_rows(broken, tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    with pytest.raises(AssertionError, match=r"report 'numpy-rows'.*\['n'\].*numpy.float64"):
        contract(ReportContract, "numpy-rows").test_empty_run_store(runs_dir, tmp_path, capsys)


# the inner pytest runs without plugins this check does not need (hypothesis's takes seconds)
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")


def test_kit_as_an_author_uses_it(broken, pytester):
    """Subclassed in a test module: the base classes are not collected, variants are
    parametrized, and the broken shape fails under pytest as it does above."""
    pytester.makepyfile(test_author='''
        from rnnlab.testing import DatasetContract, ModelContract, ReportContract

        class TestWide(ModelContract):
            plugin = "wide"
            variants = ({}, {"x": 1})

            def test_gradcheck(self):  # an author may replace a check
                pass
    ''')
    result = pytester.runpytest_inprocess(
        *QUIET, "-k", "predictions_shape or gradcheck", "-q", "--collect-only")
    ids = [line for line in result.outlines if "::" in line]
    assert ids == ["test_author.py::TestWide::test_predictions_shape[default]",
                   "test_author.py::TestWide::test_predictions_shape[x=1]",
                   "test_author.py::TestWide::test_gradcheck"], result.outlines
    result = pytester.runpytest_inprocess(
        *QUIET, "-k", "predictions_shape and default", "-q")
    result.assert_outcomes(failed=1)
    assert "model 'wide'" in result.stdout.str()
