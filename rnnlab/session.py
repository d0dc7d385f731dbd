"""A session: what a run needs, resolved from its config (plugins, data, a seeded learner),
and what is done with one outside the training loop: evaluating a split, rebuilding a run's
model from its checkpoint on the data it recorded, re-evaluating a run."""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnlab import checkpoint, limits, provenance
from rnnlab.config import (
    FIELDS,
    TrainConfig,
    merge,
    named_recipe,
    plugin_settings,
    resolve_settings,
    validate,
)
from rnnlab.contracts import (
    OPTIMIZER_OPTIONS,
    Data,
    DataRequest,
    DataSpec,
    HonoursOptions,
    Learner,
    SetsLearningRate,
    Split,
)
from rnnlab.errors import DataError, PluginError, RnnlabError, UsageError
from rnnlab.events import EventSink, Note, ignore
from rnnlab.locks import Locked, describe
from rnnlab.registry import Registry
from rnnlab.registry import default as default_registry
from rnnlab.run import Run
from rnnlab.run_files import RunDamaged

LOCK_WAIT = 2.0  # seconds to wait for a run's lock (a reader's brief look may hold it)


@dataclass
class Session:
    """Everything a run needs, resolved from its config: plugins, data, a fresh learner."""

    config: TrainConfig
    model_plugin: Any
    data_plugin: Any
    data: Data
    learner: Learner
    device: str
    model_label: str = ""  # e.g. "model 'gru' (rnnlab-gru 0.1.0)", for errors


# -- data ----------------------------------------------------------------------------------
def load_data(cfg: TrainConfig, registry: Registry, emit: EventSink = ignore,
              generate: bool = True) -> Data:
    """The configured dataset's data (generated first if missing, unless `generate` is off)."""
    plugin = registry.get("dataset", cfg.data)
    request = DataRequest(L=cfg.L, data_dir=Path(cfg.data_dir), generate=generate,
                          settings=plugin_settings(cfg.settings, "dataset", plugin.settings))
    data = plugin.load(request, emit)
    check_data(data, cfg.data)
    return data


def check_data(data: Any, name: str) -> None:
    """What a dataset's load() returned must be Data whose splits fit its spec; the error
    names the dataset (a mismatch would otherwise surface as the model's fault)."""
    if not isinstance(data, Data):
        raise PluginError(f"dataset '{name}': load() returned {type(data).__name__}, "
                          "expected rnnlab.Data")
    spec = data.spec
    for split_name in ("train", "dev", "test"):
        split = getattr(data, split_name)
        if split is None:
            continue
        x, t = np.shape(split.x), np.shape(split.t)
        want = (spec.length, spec.input_dim) if spec.kind == "sequence" else (spec.input_dim,)
        problem = ""
        if len(x) != len(want) + 1 or tuple(x[1:]) != want:
            problem = f"x has shape {x}, expected (N, {', '.join(map(str, want))})"
        elif len(t) != 2 or t[1] != spec.output_dim or t[0] != x[0]:
            problem = f"t has shape {t}, expected ({x[0]}, {spec.output_dim})"
        if problem:
            raise PluginError(f"dataset '{name}': the {split_name} split does not fit its "
                              f"DataSpec: {problem}")


def recorded_data(run: Run, cfg: TrainConfig, registry: Registry,
                  emit: EventSink = ignore, data_dir: str | Path | None = None
                  ) -> tuple[TrainConfig, Data]:
    """The data a run was trained on, exactly: the files it recorded, at their recorded paths
    or under `data_dir` (a moved copy), with the same content hashes. Nothing is generated;
    missing or changed files are a DataError saying which and what to do."""
    if data_dir is not None:
        cfg.data_dir = str(Path(data_dir).resolve())
    record = provenance.recorded_files(run, data_dir)
    data = load_data(cfg, registry, emit, generate=False)
    if record:
        provenance.check_loaded(run, record, data, cfg.data_dir, data_dir)
    elif data.files:  # an older rnnlab's run, or an edited provenance.json
        raise DataError(f"{run.dir / 'provenance.json'}: records no data files, so nothing "
                        f"shows that {next(iter(data.files.values()))} is the data run "
                        f"{run.id} was trained on; refusing to use it")
    else:
        emit(Note(f"warning: dataset '{cfg.data}' names no data files: run {run.id}'s data "
                  "cannot be checked"))
    return cfg, data


# -- the learner ---------------------------------------------------------------------------
def prepare(cfg: TrainConfig, registry: Registry, emit: EventSink = ignore,
            data: Data | None = None, learner: Learner | None = None) -> Session:
    """Load the data (unless given) and build a freshly initialised, seeded model (unless
    given: a member of a pack, built and seeded by the pack)."""
    model_plugin = registry.get("model", cfg.model)  # an unknown name fails before loading
    if data is None:
        data = load_data(cfg, registry, emit)
    return build_session(cfg, registry, data, model_plugin, learner)


def build_session(cfg: TrainConfig, registry: Registry, data: Data,
                  model_plugin: Any = None, learner: Learner | None = None) -> Session:
    """A freshly initialised, seeded model for `data` (or `learner`, made for it)."""
    model_plugin = model_plugin or registry.get("model", cfg.model)
    if learner is None:
        learner, device = make_learner(model_plugin, data.spec, cfg)
    else:
        device = str(getattr(learner, "device", "cpu"))
    return Session(cfg, model_plugin, registry.get("dataset", cfg.data), data, learner, device,
                   registry.label("model", cfg.model))


def make_learner(model_plugin: Any, spec: DataSpec, cfg: TrainConfig) -> tuple[Learner, str]:
    """Seed, build the plugin's model and wrap a torch module; returns (learner, device).
    The plugin sees its own settings only. A learner that trains itself must be able to do
    what the options ask (a schedule, an optimizer option), or the run is refused."""
    own = plugin_settings(cfg.settings, "model", model_plugin.settings)
    requested = cfg.device
    if requested == "auto":
        cfg = dataclasses.replace(cfg, device=auto_device(model_plugin, spec, cfg, own))
    if not getattr(model_plugin, "torch_free", False):
        import torch

        torch.manual_seed(cfg.seed)
    built = model_plugin.build(spec, dataclasses.replace(cfg, settings=own))
    if isinstance(built, Learner):
        device = str(getattr(built, "device", "cpu"))  # a learner on a GPU says so
        if requested == "cuda" and device != "cuda":
            raise UsageError(f"--device cuda: model '{cfg.model}' runs on the CPU only")
        if cfg.lr_schedule != "constant" and not isinstance(built, SetsLearningRate):
            raise UsageError(f"--lr-schedule {cfg.lr_schedule}: model '{cfg.model}' cannot "
                             "change its learning rate (its learner has no set_lr)")
        honoured = built.options if isinstance(built, HonoursOptions) else frozenset()
        defaults = TrainConfig()
        for option in sorted(OPTIMIZER_OPTIONS - set(honoured)):
            if getattr(cfg, option) != getattr(defaults, option):
                flag = "--" + option.replace("_", "-")
                raise UsageError(f"{flag} {getattr(cfg, option)}: model '{cfg.model}' updates "
                                 f"its weights by its own rule, which does not apply {flag}")
        return built, device
    torch = sys.modules.get("torch")  # a torch module means torch was imported
    if torch is None or not isinstance(built, torch.nn.Module):
        raise PluginError(
            f"model '{cfg.model}': build() returned {type(built).__name__}, expected a "
            "torch.nn.Module or an rnnlab.Learner"
        )
    from rnnlab.torch_learner import TorchLearner, pick_device

    device = pick_device(cfg.device)
    return TorchLearner(built, cfg, device), str(device)


def auto_device(model_plugin: Any, spec: DataSpec, cfg: TrainConfig, own: dict[str, Any]) -> str:
    """What `--device auto` means for this model and run: the plugin's choice (its own
    settings by plain name), which can only name a device that is there."""
    cuda = GpuPresent()
    chosen = model_plugin.auto_device(spec, dataclasses.replace(cfg, settings=own), cuda)
    if chosen not in ("cpu", "cuda") or (chosen == "cuda" and not cuda):
        raise PluginError(f"model '{cfg.model}': auto_device() returned {chosen!r}, expected "
                          "'cpu' or, with a GPU present, 'cuda'")
    return chosen


class GpuPresent:
    """Whether torch sees a GPU, as a bool that imports torch only when it is asked."""

    def __bool__(self) -> bool:
        import torch

        return torch.cuda.is_available()


def build_learner(registry: Registry, model: str, spec: DataSpec,
                  settings: dict[str, Any] | None, options: dict[str, Any]) -> Learner:
    """A freshly initialised model outside any run: its recipe, then `options` (training
    options: seed, hidden, lr, ...), with the model's own `settings`."""
    plugin = registry.get("model", model)
    unknown = sorted(set(options) - set(FIELDS))
    if unknown:
        raise UsageError(f"unknown training option(s): {', '.join(unknown)}")
    name, recipe, recipe_sets = named_recipe(plugin, model, str(options.get("recipe") or ""))
    cfg = merge(recipe, options, {"model": model, "recipe": name})
    cfg.settings = resolve_settings({**recipe_sets, **(settings or {})},
                                    [(f"model '{model}'", plugin.settings)])
    return make_learner(plugin, spec, validate(cfg))[0]


# -- a run's model, again --------------------------------------------------------------------
def evaluate_split(session: Session, split: Split) -> dict[str, float]:
    """The dataset's metrics of the learner's predictions on `split`."""
    y = session.learner.predict(split.x)  # (N, M)
    scores = session.data_plugin.metrics(y, split.t)
    key = session.data_plugin.primary_metric
    if not isinstance(scores, dict) or key not in scores:
        got = ", ".join(map(str, scores)) if isinstance(scores, dict) else type(scores).__name__
        raise PluginError(f"dataset '{session.config.data}': metrics() returned no "
                          f"'{key}', its primary_metric (got: {got or 'nothing'})")
    return {k: float(v) for k, v in scores.items()}


def run_config(run: Run) -> TrainConfig:
    """The configuration a run was started with."""
    saved = dict(run.config)
    try:
        return merge(saved)
    except (KeyError, UsageError) as exc:
        raise RnnlabError(f"{run.dir / 'config.yaml'}: not a valid run config ({exc})") from None


def load_session(run: Run, registry: Registry | None = None,
                 emit: EventSink = ignore, data_dir: str | Path | None = None) -> Session:
    """Rebuild a run's model from its config and checkpoint, with the data it recorded."""
    registry = registry or default_registry()
    cfg = validate(run_config(run))
    limits.check_training(cfg, registry)  # a config edited to a model the machine cannot hold
    cfg, data = recorded_data(run, cfg, registry, emit, data_dir)
    session = build_session(cfg, registry, data)
    checkpoint.load(session.learner, run, cfg.model)
    return session


def evaluate(run: Run, splits: tuple[str, ...] = ("dev", "test"), *,
             registry: Registry | None = None, emit: EventSink = ignore,
             data_dir: str | Path | None = None) -> dict[str, dict[str, float]]:
    """Metrics of a run's checkpoint on the given splits of the data it was trained on
    (logged to metrics.jsonl; refused while another process writes the run)."""
    lock = run.lock()
    try:
        lock.acquire(wait=LOCK_WAIT)
    except Locked as exc:
        raise RnnlabError(f"run {run.id} is being written by {describe(exc.holder)}; "
                          "evaluate it once that process has ended") from None
    try:
        run.refresh()  # a process that held the lock may have written the run since
        damaged = run.check()
        if damaged:  # nothing is added to it
            raise RunDamaged(f"run {run.id} is damaged: {damaged}")
        session = load_session(run, registry, emit, data_dir)
        results = {}
        for name in splits:
            split = getattr(session.data, name, None)
            if split is not None:
                results[name] = evaluate_split(session, split)
        run.append_metrics({"evaluation": results, "at": time.strftime("%Y-%m-%dT%H:%M:%S")})
        return results
    finally:
        lock.release()
