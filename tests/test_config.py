"""Configuration: merge order, YAML errors, --set checking, --print-config, types and help
defaults read from the dataclass."""

from __future__ import annotations

import dataclasses
import re

import pytest
import yaml
from typer.testing import CliRunner

from rnnlab import registry as plugin_registry
from rnnlab.cli import app
from rnnlab.config import TYPES, TrainConfig, parse_early_stop, resolve
from rnnlab.errors import UsageError


def test_defaults_are_the_homework_recipe():
    cfg = TrainConfig()
    assert (cfg.epochs, cfg.batch_size, cfg.hidden, cfg.lr, cfg.momentum) == (50, 20, 50, 0.01,
                                                                              0.9)
    # the early-stop target is the dataset's: 99.5% dev accuracy on the adding task
    assert cfg.early_stop is None
    assert resolve("lstm", plugin_registry.default()).early_stop == 99.5
    assert resolve("lstm", plugin_registry.default(),
                   options={"early_stop": "off"}).early_stop is None


def test_merge_order_defaults_file_options_set(workdir, fake_dist):
    fake_dist("rnnlab-recipe", {"rnnlab.models": {"recipe": "recipe_mod:Plugin"}}, {
        "recipe_mod": """
            from rnnlab import ModelPlugin, Setting
            class Plugin(ModelPlugin):
                summary = "has a recipe"
                recipe = {"lr": 0.5, "epochs": 7, "hidden": 11}
                settings = {"depth": Setting(1, "layers"), "mode": Setting("a", choices=("a", "b"))}
                def build(self, spec, config):
                    raise NotImplementedError
        """})
    path = workdir / "exp.yaml"
    path.write_text("epochs: 9\nbatch-size: 5\nset:\n  depth: 2\n  mode: b\n")
    cfg = resolve("recipe", plugin_registry.Registry(), config_file=path,
                  options={"batch_size": 3, "seed": None}, sets={"depth": "4"})
    assert cfg.lr == 0.5  # model recipe over the default
    assert cfg.hidden == 11
    assert cfg.epochs == 9  # file over recipe
    assert cfg.batch_size == 3  # command line over file; None means "not given"
    assert cfg.seed == 0
    assert cfg.settings == {"depth": 4, "mode": "b"}  # --set over file, typed by the default


def test_print_config_prints_resolved_yaml_and_exits(small_data, cli):
    path = small_data[0].parents[1] / "c.yaml"
    path.write_text("epochs: 3\nlr: 0.05\n")
    result = cli("train", "lstm", "--config", str(path), "--lr", "0.2", "--L", "10",
                 "--early-stop", "off", "--print-config")
    assert result.exit_code == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    assert printed["epochs"] == 3 and printed["lr"] == 0.2 and printed["L"] == 10
    assert printed["early_stop"] is None and printed["model"] == "lstm"
    assert printed["data"] == "adding"
    assert not (small_data[0].parents[1] / "runs").exists()


def test_print_config_says_what_an_unnamed_recipe_is(workdir, cli):
    result = cli("train", "mlp-lite", "--print-config")
    assert result.exit_code == 0, result.stderr
    assert ("\nrecipe: ''  # the model's own recipe (`rnnlab plugins mlp-lite` shows it)\n"
            in result.stdout)
    assert yaml.safe_load(result.stdout)["recipe"] == ""  # still a config file
    named = cli("train", "alarmwork", "--print-config").stdout
    assert "\nrecipe: long-sequences\n" in named and "#" not in named


def test_config_errors_are_one_line_with_the_file(workdir, cli):
    cases = {
        "epochs: [\n": ":2: invalid YAML",
        "epoch: 3\n": "unknown key 'epoch'",
        "epochs: three\n": "'epochs' expects an integer, got 'three'",
        "- 1\n- 2\n": "expected a mapping of option: value",
        "set:\n  nope: 1\n": "unknown setting 'nope'",
        "lr: 0\n": "--lr expects a number > 0",
    }
    for text, expected in cases.items():
        path = workdir / "bad.yaml"
        path.write_text(text)
        result = cli("train", "lstm", "--config", str(path), "--print-config")
        assert result.exit_code == 2, (text, result.stdout, result.stderr)
        line = result.stderr.strip()
        assert "\n" not in line and expected in line, (text, line)
        if "lr" not in text:
            assert "bad.yaml" in line


def test_set_errors(workdir, cli, examples_installed):
    assert cli("train", "lstm", "--set", "x").stderr.strip() == (
        "error: --set expects KEY=VALUE, got 'x'")
    result = cli("train", "gru", "--set", "layers=two")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: setting 'layers' expects int, got 'two'"


def test_option_types_come_from_the_dataclass_annotations():
    assert TYPES["L"] == (int, True) and TYPES["epochs"] == (int, False)
    assert TYPES["lr"] == (float, False) and TYPES["early_stop"] == (float, True)
    assert TYPES["shuffle"] == (bool, False) and TYPES["settings"] == (dict, False)
    assert list(TYPES) == [f.name for f in dataclasses.fields(TrainConfig)]
    assert parse_early_stop("OFF") == "off" and parse_early_stop("99.5") == 99.5
    with pytest.raises(UsageError, match="--early-stop expects a number or 'off', got 'x'"):
        parse_early_stop("x")


def test_train_help_shows_the_dataclass_defaults():
    """The help's '[50]'s are TrainConfig's: change a default and the help follows."""
    result = CliRunner().invoke(app, ["train", "--help"], terminal_width=300)
    assert result.exit_code == 0, result.output
    helps = {}
    for line in result.output.splitlines():
        match = re.match(r"\s+(--[\w-]+)(?: / --[\w-]+)?(?: <\w+>)?\s+(.*)", line)
        if match:
            helps[match.group(1)] = match.group(2)
    defaults = TrainConfig()
    options = {"--L": "L", "--epochs": "epochs", "--batch-size": "batch_size", "--lr": "lr",
               "--momentum": "momentum", "--optimizer": "optimizer", "--shuffle": "shuffle",
               "--lr-schedule": "lr_schedule", "--hidden": "hidden", "--seed": "seed",
               "--device": "device", "--data-dir": "data_dir", "--runs-dir": "runs_dir"}
    for option, key in options.items():
        value = getattr(defaults, key)
        shown = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        assert re.findall(r"\[([^\]]+)\]", helps[option]) == [shown], (option, helps[option])
