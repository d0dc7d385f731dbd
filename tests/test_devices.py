"""`--device auto`: each model's own rule, a device that is there, and what the run records."""

import json

import pytest
import torch

import rnnlab
from rnnlab import ModelPlugin, PluginError, TrainConfig, get_plugin
from rnnlab import registry as plugin_registry
from rnnlab.runs import RunStore
from rnnlab.session import auto_device


def spec_of(model: str):
    spec, _ = get_plugin("dataset", "adding").example(10, 4)
    return spec


@pytest.mark.parametrize(("model", "gpu", "expected"), [
    ("alarmwork", True, "cpu"),  # its NumPy BPTT beats every GPU path measured for one run
    ("alarmwork", False, "cpu"),
    ("lstm", True, "cuda"),  # cuDNN
    ("lstm", False, "cpu"),
    ("simple-rnn", True, "cuda"),
])
def test_auto_takes_the_models_faster_device(monkeypatch, model, gpu, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    plugin = get_plugin("model", model)
    cfg = TrainConfig(model=model, L=10)
    assert auto_device(plugin, spec_of(model), cfg, {}) == expected


class WantsAGpu(ModelPlugin):
    summary = "asks for cuda whatever is there"

    def auto_device(self, spec, config, cuda):
        return "cuda"

    def build(self, spec, config):
        return torch.nn.Linear(1, 1)


def test_a_plugin_cannot_choose_a_device_that_is_not_there(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    plugin = WantsAGpu()
    with pytest.raises(PluginError, match=r"^model 'x': auto_device\(\) returned 'cuda', "
                                          r"expected 'cpu' or, with a GPU present, 'cuda'$"):
        auto_device(plugin, spec_of("x"), TrainConfig(model="x"), {})


def test_the_run_records_the_device_auto_chose(workdir, monkeypatch):
    """With a GPU reported present, AlarmworkNet still trains on the CPU (its NumPy learner)
    and provenance.json says so; config.yaml keeps what was asked for."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    plugin_registry.reset()
    rnnlab.gen_data("adding", lengths=[10], sizes={"train": 40, "dev": 20, "test": 20})
    rnnlab.train(model="alarmwork", L=10, epochs=1)
    run = RunStore("runs").list()[0]
    assert json.loads((run.dir / "provenance.json").read_text())["device"] == "cpu"
    assert run.config["device"] == "auto"
