"""The plugin contract fails loudly: unimplemented methods, bad recipes, clashing settings,
typos, errors inside plugin code, options a learner cannot honour, inherited example(),
deprecated forms, and RNNLAB_PLUGINS exclusions."""

from __future__ import annotations

import importlib
import json
import sys
import warnings

import numpy as np
import pytest

import rnnlab
from rnnlab import registry as plugin_registry
from rnnlab.errors import PluginError

ONE_FILE = """
from rnnlab import DatasetPlugin, ModelPlugin, Setting
"""


def model_source(body: str, header: str = "") -> str:
    return f"{ONE_FILE}{header}\nclass Plugin(ModelPlugin):\n    summary = 'test model'\n{body}"


BUILD_LSTM = """
    def build(self, spec, config):
        import torch
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.out = torch.nn.Linear(spec.input_dim, spec.output_dim)
            def forward(self, x):
                return self.out(x[:, -1])
        return Net()
"""


def install(fake_dist, source: str, kind: str = "models", name: str = "m") -> None:
    fake_dist(f"rnnlab-{name}", {f"rnnlab.{kind}": {name: f"{name}_mod:Plugin"}},
              {f"{name}_mod": source})


def listed(cli, name: str) -> dict:
    result = cli("plugins", "--json")
    assert result.exit_code == 0, result.stderr
    return next(r for r in json.loads(result.stdout) if r["name"] == name)


def test_a_model_without_build_is_listed_failed_with_the_reason(workdir, cli, fake_dist):
    install(fake_dist, model_source("    recipe = {'lr': 0.1}\n"))
    row = listed(cli, "m")
    assert row["status"] == "failed"
    assert row["error"] == "Plugin does not implement build(), which a model plugin must"
    used = cli("train", "m")
    assert used.exit_code == 1
    assert used.stderr.strip() == ("error: model 'm' (rnnlab-m 1.0) failed to load: Plugin "
                                   "does not implement build(), which a model plugin must")


def test_a_dataset_without_metrics_is_refused(workdir, cli, fake_dist):
    install(fake_dist, ONE_FILE + "\nclass Plugin(DatasetPlugin):\n"
            "    def load(self, request, emit=None):\n        pass\n", kind="datasets", name="d")
    assert listed(cli, "d")["error"] == ("Plugin does not implement metrics(), which a dataset "
                                         "plugin must")


def test_recipe_keys_must_be_training_options(workdir, cli, fake_dist):
    install(fake_dist, model_source("    recipe = {'learning_rate': 0.1}\n" + BUILD_LSTM))
    assert listed(cli, "m")["error"] == "recipe key 'learning_rate' is not a training option"
    install(fake_dist, model_source("    recipe = {'epochs': 'many'}\n" + BUILD_LSTM), name="n")
    assert listed(cli, "n")["error"] == "recipe: 'epochs' expects an integer, got 'many'"


def test_unknown_public_attributes_are_warned_about(workdir, cli, fake_dist, small_data):
    install(fake_dist, model_source("    setting = {'x': Setting(1)}\n    gradchek = ()\n"
                                    "    colour = 'red'\n" + BUILD_LSTM))
    row = listed(cli, "m")
    assert row["status"] == "ok"
    assert row["warnings"] == ["unknown attribute 'colour' (rnnlab does not use it)",
                               "unknown attribute 'gradchek'; did you mean 'gradcheck'?",
                               "unknown attribute 'setting'; did you mean 'settings'?"]
    used = cli("train", "m", "--L", "10", "--epochs", "1", "--print-config")
    assert used.exit_code == 0
    assert used.stderr.splitlines() == [
        f"warning: model 'm' (rnnlab-m 1.0): {w}" for w in row["warnings"]]


def test_errors_inside_plugin_code_name_the_plugin(workdir, cli, fake_dist, small_data):
    install(fake_dist, model_source("    def build(self, spec, config):\n"
                                    "        raise ValueError('no such layer')\n"))
    result = cli("train", "m", "--L", "10", "--epochs", "1")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: model 'm' (rnnlab-m 1.0) failed in build(): "
                                     "ValueError: no such layer")
    learner = """
    def build(self, spec, config):
        class Broken:
            def train_step(self, x, t):
                raise ZeroDivisionError('step')
            def predict(self, x):
                import numpy as np
                return np.zeros((len(x), 1))
            def state_dict(self):
                return {}
            def load_state_dict(self, state):
                pass
        return Broken()
"""
    install(fake_dist, model_source(learner), name="n")
    result = cli("train", "n", "--L", "10", "--epochs", "1")
    assert result.exit_code == 1
    message = "while training model 'n' (rnnlab-n 1.0): ZeroDivisionError: step"
    assert result.stderr.strip() == f"error: {message}"
    run = rnnlab.list_runs()[0]
    assert (run.summary["status"], run.summary["reason"]) == ("failed", message)


OWN_RULE = """
    def build(self, spec, config):
        import numpy as np
        class OwnRule:
            w = np.zeros((spec.input_dim, spec.output_dim))
            def train_step(self, x, t):
                self.w -= 0.01 * x[:, -1].T @ (x[:, -1] @ self.w - t) / len(x)
                return float(np.mean((x[:, -1] @ self.w - t) ** 2))
            def predict(self, x):
                return x[:, -1] @ self.w
            def state_dict(self):
                return {"w": self.w.copy()}
            def load_state_dict(self, state):
                self.w = state["w"].copy()
        return OwnRule()
"""


@pytest.mark.parametrize("option, value", [("--optimizer", "adam"), ("--momentum", "0.5"),
                                           ("--clip-grad", "1")])
def test_a_learner_refuses_optimizer_options_it_does_not_apply(workdir, cli, fake_dist,
                                                               small_data, option, value):
    install(fake_dist, model_source(OWN_RULE))
    result = cli("train", "m", "--L", "10", "--epochs", "1", option, value)
    assert result.exit_code == 2
    shown = {"--optimizer": "adam", "--momentum": "0.5", "--clip-grad": "1.0"}[option]
    assert result.stderr.strip() == (f"error: {option} {shown}: model 'm' updates its weights "
                                     f"by its own rule, which does not apply {option}")
    assert rnnlab.list_runs() == []  # nothing recorded as if it had been applied
    assert cli("train", "m", "--L", "10", "--epochs", "1", "-q").exit_code == 0


def test_numpy_optimized_learners_apply_every_optimizer_option(workdir, cli, small_data):
    result = cli("train", "alarmwork", "--L", "10", "--epochs", "1", "--optimizer", "adam",
                 "--momentum", "0.5", "--clip-grad", "1", "-q")
    assert result.exit_code == 0, result.stderr


CLASHING_MODEL = """
    settings = {'train': Setting('m-default', 'a model setting named like a dataset one')}
    def build(self, spec, config):
        import json, pathlib
        pathlib.Path('seen.json').write_text(json.dumps(config.settings))
        raise SystemExit(0)
    kinds = ('image',)
    data = 'images'
"""


def test_a_setting_two_plugins_declare_must_be_qualified(workdir, cli, fake_dist):
    install(fake_dist, model_source(CLASHING_MODEL))
    result = cli("train", "m", "--set", "train=x.pickle", "--print-config")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: setting 'train' is declared by model 'm' and dataset 'images'; say which: "
        "--set model.train=... or --set data.train=...")
    result = cli("train", "m", "--set", "model.train=mine", "--print-config")
    assert result.exit_code == 0, result.stderr
    assert "model.train: mine\n" in result.stdout and "data.train: ''\n" in result.stdout
    with pytest.raises(SystemExit):  # build() writes what it sees, then stops
        rnnlab.train("m", settings={"model.train": "mine", "data.test": ""}, updates=1)
    assert json.loads((workdir / "seen.json").read_text()) == {"train": "mine"}


def test_unique_settings_may_be_qualified_too(workdir, cli):
    result = cli("train", "alarmwork", "--set", "model.rec_init=orthogonal", "--print-config")
    assert result.exit_code == 0, result.stderr
    assert "rec_init: orthogonal" in result.stdout
    wrong = cli("train", "alarmwork", "--set", "data.rec_init=orthogonal", "--print-config")
    assert wrong.exit_code == 2
    assert wrong.stderr.startswith("error: unknown setting 'data.rec_init' for model "
                                   "'alarmwork' and dataset 'adding'")


DUCK_DATASET = """
import numpy as np
from pathlib import Path
from rnnlab import Data, DataSpec, Split
class Plugin:
    summary = 'a duck-typed dataset with files'
    primary_metric = 'mse'
    higher_is_better = False
    def load(self, request, emit=None):
        x = np.load(Path(request.data_dir) / 'duck' / 'x.npy', allow_pickle=False)
        spec = DataSpec('sequence', 1, 1, x.shape[1])
        split = Split(x[..., None], x[:, -1:])
        return Data(spec=spec, train=split, test=split)
    def metrics(self, y, t):
        return {'mse': float(np.mean((y - t) ** 2))}
"""


def duck_with_files(fake_dist, workdir, source: str, name: str = "duck") -> None:
    """Install a duck-typed dataset and give it a 4 x 3 file of ones under ./datasets."""
    install(fake_dist, source, kind="datasets", name=name)
    (workdir / "datasets" / name).mkdir(parents=True)
    np.save(workdir / "datasets" / name / "x.npy", np.ones((4, 3)))


def test_an_inherited_example_works_and_reads_the_given_data_dir(workdir, fake_dist):
    install(fake_dist, DUCK_DATASET, kind="datasets", name="duck")
    folder = workdir / "elsewhere" / "duck"
    folder.mkdir(parents=True)
    np.save(folder / "x.npy", np.arange(12.0).reshape(3, 4))
    spec, batch = rnnlab.example("duck", 4, 2, data_dir=workdir / "elsewhere")
    assert (spec.kind, spec.length) == ("sequence", 4)
    np.testing.assert_array_equal(batch.t, [[3.0], [7.0]])
    with pytest.raises(PluginError, match=r"dataset 'duck' \(rnnlab-duck 1.0\) failed in "
                                          r"load\(\): FileNotFoundError"):
        rnnlab.example("duck", 4, 2)  # ./datasets has no such file


def test_early_stop_follows_the_metric_direction(workdir, fake_dist):
    source = DUCK_DATASET.replace("higher_is_better = False",
                                  "higher_is_better = False\n    early_stop = 1e9")
    duck_with_files(fake_dist, workdir, source)  # its file: DUCK_DATASET reads datasets/duck
    dev = source.replace("train=split, test=split", "train=split, dev=split, test=split")
    duck_with_files(fake_dist, workdir, dev, "duckdev")
    run = rnnlab.train("lstm", data="duckdev", epochs=5, hidden=2)
    assert run.summary["epochs"] == 1 and run.summary["stopped_early"] is True
    assert run.config["early_stop"] == 1e9  # the dataset's target, recorded
    run = rnnlab.train("lstm", data="duckdev", epochs=2, hidden=2, early_stop="off")
    assert run.summary["epochs"] == 2 and run.summary["stopped_early"] is False


def test_tuple_timing_still_works_with_a_deprecation_warning(workdir, cli, fake_dist):
    install(fake_dist, model_source(
        "    settings = {'form': Setting('a', choices=('a', 'b'))}\n"
        "    timing = ('form', 'a', 'b')\n" + BUILD_LSTM))
    plugin = plugin_registry.default().get("model", "m")
    assert plugin.timing == rnnlab.Timing("form", "a", "b")
    assert plugin_registry.default().warnings == [
        "model 'm' (rnnlab-m 1.0): timing as a tuple is deprecated; declare "
        "rnnlab.Timing(setting, slow, fast, shared)"]


def test_the_timing_report_covers_every_model_declaring_timing(workdir, cli, fake_dist):
    install(fake_dist, model_source(
        "    settings = {'form': Setting('a', choices=('a', 'b'))}\n"
        "    timing = rnnlab.Timing('form', slow='a', fast='b')\n" + BUILD_LSTM,
        header="import rnnlab\n"))
    result = cli("report", "timing", "--L", "5", "--set", "repeats=1", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    assert [r["model"] for r in rows] == ["alarmwork", "autoenc-lite", "m"]
    assert rows[2]["compare"] == "form: a / b" and rows[2]["max_abs_diff"] == 0.0


def test_excluded_plugins_are_listed_disabled_and_say_so_when_used(workdir, cli, fake_dist,
                                                                   monkeypatch):
    install(fake_dist, model_source(BUILD_LSTM))
    monkeypatch.setenv("RNNLAB_PLUGINS", "rnnlab-nothere")
    row = listed(cli, "m")
    assert (row["status"], row["error"]) == ("disabled", "excluded by RNNLAB_PLUGINS")
    used = cli("train", "m")
    assert used.exit_code == 2
    assert used.stderr.strip().splitlines() == [
        "warning: RNNLAB_PLUGINS names 'rnnlab-nothere', which is not an installed "
        "distribution with rnnlab plugins",
        "error: model 'm' is installed (rnnlab-m) but excluded by "
        "RNNLAB_PLUGINS=rnnlab-nothere; add rnnlab-m to it to use it"]


def test_plugins_name_shows_a_failed_plugin(workdir, cli, fake_dist):
    install(fake_dist, model_source("    recipe = {'lr': 0.1}\n"))
    result = cli("plugins", "m")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        "model m (rnnlab-m 1.0): failed: Plugin does not implement build(), which a model "
        "plugin must")


@pytest.mark.parametrize("module, replacement", [("rnnlab.api", "rnnlab.contracts"),
                                                 ("rnnlab.plugins", "rnnlab.registry")])
def test_old_module_names_still_import_with_a_warning(module, replacement):
    sys.modules.pop(module, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.import_module(module)
    assert any(replacement in str(w.message) and w.category is DeprecationWarning
               for w in caught)
    new = importlib.import_module(replacement)
    if module == "rnnlab.api":
        assert old.ModelPlugin is new.ModelPlugin is rnnlab.ModelPlugin
    else:
        assert old.registry is new.default and old.reset is new.reset


def test_a_dataset_whose_data_does_not_fit_its_spec_is_named(workdir, fake_dist):
    narrow = DUCK_DATASET.replace("split = Split(x[..., None], x[:, -1:])",
                                  "split = Split(x[..., None], x[:, -1:].repeat(2, axis=1))")
    duck_with_files(fake_dist, workdir, narrow)
    with pytest.raises(PluginError) as caught:
        rnnlab.train("lstm", data="duck", epochs=1, hidden=2)
    assert str(caught.value) == ("dataset 'duck': the train split does not fit its DataSpec: "
                                 "t has shape (4, 2), expected (4, 1)")


def test_metrics_without_the_primary_metric_fail_the_run(workdir, fake_dist):
    source = DUCK_DATASET.replace("primary_metric = 'mse'", "primary_metric = 'rmse'")
    duck_with_files(fake_dist, workdir, source)
    with pytest.raises(PluginError) as caught:
        rnnlab.train("lstm", data="duck", epochs=1, hidden=2)
    assert str(caught.value) == ("dataset 'duck': metrics() returned no 'rmse', its "
                                 "primary_metric (got: mse)")
    assert rnnlab.list_runs()[0].summary["status"] == "failed"


def test_declarations_are_checked(workdir, cli, fake_dist):
    install(fake_dist, DUCK_DATASET.replace("primary_metric = 'mse'",
                                            "primary_metric = 'mse'\n    kind = 'sequences'"),
            kind="datasets", name="duck")
    assert listed(cli, "duck")["error"] == ("kind 'sequences' is not a data kind (expected "
                                            "sequence, image, labelled)")
    install(fake_dist, model_source("    settings = {'lr': Setting(0.5)}\n" + BUILD_LSTM))
    assert listed(cli, "m")["warnings"] == [
        "setting(s) lr share a name with training options (--set KEY sets the setting, --KEY "
        "the option)"]


def test_a_warning_is_given_once_per_command(workdir, cli, fake_dist, small_data):
    install(fake_dist, model_source("    colour = 'red'\n" + BUILD_LSTM))
    result = cli("train", "m", "--L", "10", "--epochs", "1", "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("unknown attribute 'colour'") == 1


def test_a_config_file_may_name_the_model(workdir, cli):
    (workdir / "c.yaml").write_text("model: simple-rnn\nL: 7\n")
    result = cli("train", "--config", "c.yaml", "--print-config")
    assert result.exit_code == 0, result.stderr
    assert "model: simple-rnn\n" in result.stdout and "L: 7\n" in result.stdout


CHATTY_REPORT = """
import numpy as np
from rnnlab import Column, ReportPlugin, ReportResult
class Plugin(ReportPlugin):
    summary = 'prints, and returns NumPy scalars'
    def build(self, request):
        print('debugging output')
        return ReportResult('t', [Column('v', 'v')], [{'v': np.float32(1.5), 'n': np.int64(3)}])
"""


def test_report_output_stays_machine_readable(workdir, cli, fake_dist):
    install(fake_dist, CHATTY_REPORT, kind="reports", name="chatty")
    result = cli("report", "chatty", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == [{"v": 1.5, "n": 3}]
    assert "debugging output" in result.stderr


def test_plugins_name_shows_what_a_dataset_declares(workdir, cli):
    result = cli("plugins", "adding", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["declares"] == {
        "kind": "sequence", "primary_metric": "accuracy", "higher_is_better": True,
        "percentages": ["accuracy", "zero_accuracy"], "baselines": {"zero_accuracy": "always 0"},
        "early_stop": 99.5, "sizes": {"train": 10000, "dev": 1000, "test": 1000},
        "default": True, "report": "accuracy"}
    text = cli("plugins", "images").stdout.splitlines()
    assert "primary_metric: mse" in text and "higher_is_better: False" in text
