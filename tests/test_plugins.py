"""The plugin runtime: real entry points, isolation of broken plugins, RNNLAB_PLUGINS,
name clashes, did-you-mean, and cheap listing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rnnlab import registry as plugin_registry
from rnnlab.errors import PluginError, UsageError

GOOD = """
from rnnlab import ModelPlugin
class Plugin(ModelPlugin):
    summary = "a fine model"
    def build(self, spec, config):
        raise NotImplementedError
"""


def test_bundled_and_example_plugins_are_discovered_through_entry_points(workdir, cli,
                                                                          examples_installed):
    result = cli("plugins", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    for key in [("model", "simple-rnn"), ("model", "lstm"), ("dataset", "adding"),
                ("report", "accuracy")]:
        assert rows[key]["distribution"] == "rnnlab"
        assert rows[key]["status"] == "ok"
    gru = rows.get(("model", "gru"))
    assert gru is not None, "examples/rnnlab-gru is not installed (examples_installed fixture)"
    assert gru["distribution"] == "rnnlab-gru" and gru["version"] == "0.1.0"
    assert gru["summary"].startswith("GRU")


def test_broken_plugin_is_listed_as_failed_and_does_not_break_the_cli(workdir, cli, fake_dist):
    fake_dist("rnnlab-broken", {"rnnlab.models": {"broken": "broken_mod:Plugin"}},
              {"broken_mod": "raise ImportError('No module named tensorflow')\n"})
    listed = cli("plugins", "--json")
    assert listed.exit_code == 0
    row = next(r for r in json.loads(listed.stdout) if r["name"] == "broken")
    assert row["status"] == "failed"
    assert row["error"] == "ImportError: No module named tensorflow"
    assert any(r["name"] == "lstm" and r["status"] == "ok" for r in json.loads(listed.stdout))

    used = cli("train", "broken")
    assert used.exit_code == 1
    assert used.stderr.strip() == (
        "error: model 'broken' (rnnlab-broken 1.0) failed to load: "
        "ImportError: No module named tensorflow")
    assert "Traceback" not in used.stderr + used.stdout


def test_debug_reraises_the_plugin_failure_with_traceback(workdir, cli, fake_dist):
    fake_dist("rnnlab-broken", {"rnnlab.models": {"broken": "broken_mod:Plugin"}},
              {"broken_mod": "raise ImportError('No module named tensorflow')\n"})
    result = cli("--debug", "train", "broken")
    assert result.exit_code != 0
    assert isinstance(result.exception, PluginError)
    assert isinstance(result.exception.__cause__, ImportError)


def test_contract_violation_is_a_failure_not_a_crash(workdir, fake_dist):
    fake_dist("rnnlab-odd", {"rnnlab.models": {"odd": "odd_mod:thing"}},
              {"odd_mod": "thing = 42\n"})
    registry = plugin_registry.Registry()
    info = registry.find("model", "odd")
    assert registry.load(info) is None
    assert info.status == "failed"
    assert "missing build()" in info.reason
    with pytest.raises(PluginError, match=r"\(rnnlab-odd 1.0\) failed to load"):
        registry.get("model", "odd")


def test_rnnlab_plugins_env_restricts_third_party_plugins(workdir, fake_dist):
    fake_dist("rnnlab-extra", {"rnnlab.models": {"extra": "extra_mod:Plugin"}},
              {"extra_mod": GOOD})
    fake_dist("rnnlab-other", {"rnnlab.models": {"other": "other_mod:Plugin"}},
              {"other_mod": GOOD})
    everything = plugin_registry.Registry(env={})
    assert {"extra", "other", "lstm"} <= set(everything.names("model"))
    only_extra = plugin_registry.Registry(env={"RNNLAB_PLUGINS": "rnnlab_Extra"})
    assert "extra" in only_extra.names("model") and "other" not in only_extra.names("model")
    assert "lstm" in only_extra.names("model")  # bundled plugins always load
    assert only_extra.warnings == []
    none = plugin_registry.Registry(env={"RNNLAB_PLUGINS": ""})
    assert set(none.names("model")) == {"alarmwork", "autoenc-lite", "lstm", "mlp-lite",
                                        "simple-rnn"}


def test_name_clash_warns_naming_both_and_bundled_wins(workdir, cli, fake_dist):
    fake_dist("rnnlab-other-lstm", {"rnnlab.models": {"lstm": "other_lstm:Plugin"}},
              {"other_lstm": GOOD})
    registry = plugin_registry.Registry(env={})
    assert registry.warnings == []  # only a use of the name warns
    assert registry.get("model", "rnnlab-other-lstm:lstm").summary == "a fine model"
    assert registry.warnings == []  # the qualified name is unambiguous
    assert registry.find("model", "lstm").dist == "rnnlab"
    assert registry.warnings == [
        "model 'lstm' is provided by rnnlab and rnnlab-other-lstm; using rnnlab's "
        "('rnnlab-other-lstm:lstm' selects the other)"]
    listed = cli("plugins", "--json")
    assert listed.stderr == ""
    statuses = [r["status"] for r in json.loads(listed.stdout) if r["name"] == "lstm"]
    assert statuses == ["ok", "shadowed"]
    used = cli("train", "lstm", "--print-config")
    assert used.stderr.count("provided by rnnlab and rnnlab-other-lstm") == 1


def test_unknown_name_suggests_the_closest(workdir, cli):
    result = cli("train", "lstn")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: unknown model 'lstn'; did you mean 'lstm'?"
    with pytest.raises(UsageError, match="unknown dataset 'addin'; did you mean 'adding'"):
        plugin_registry.Registry().get("dataset", "addin")


def test_listing_plugins_does_not_import_torch_or_plugin_internals(workdir):
    code = (
        "import sys\n"
        "from rnnlab.cli import app\n"
        "try:\n"
        "    app(['plugins', '--json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')\n"
        "         or m.endswith('.nets') or m.endswith('.generate')]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert "HEAVY []" in out.stdout, out.stdout[-500:] + out.stderr[-2000:]
    help_out = subprocess.run([sys.executable, "-X", "importtime", "-m", "rnnlab", "--help"],
                              capture_output=True, text=True, timeout=120)
    assert help_out.returncode == 0
    assert " torch" not in help_out.stderr


def test_one_plugins_settings_and_recipe(workdir, cli):
    shown = json.loads(cli("plugins", "autoenc-lite", "--json").stdout)
    assert [(d["kind"], d["name"]) for d in shown] == [("model", "autoenc-lite")]
    assert shown[0]["recipe"]["updates"] == 1000
    declared = plugin_registry.default().get("model", "autoenc-lite").settings["layer_in"]
    assert declared.help  # so the comparison below shows it
    assert shown[0]["settings"]["layer_in"] == {
        "default": "vector", "choices": ["vector", "scalar"], "help": declared.help}
    text = cli("plugins", "images").stdout
    assert "settings (--set KEY=VALUE)" in text and "train" in text
    missing = cli("plugins", "alarmwrk")
    assert missing.exit_code == 2 and "did you mean 'alarmwork'" in missing.stderr
