"""Run configuration: one dataclass, merged from defaults, the model's recipe, a YAML file and
the command line, in that order (later wins). Plugin settings (`--set key=value`) are checked
against what the model and dataset plugins declare; unknown keys are an error."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnlab import limits
from rnnlab.errors import UsageError
from rnnlab.files import dump_yaml, load_yaml, short

DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("sgd", "adam")
LR_SCHEDULES = ("constant", "cosine", "step")


@dataclass
class TrainConfig:
    """Everything a training run depends on. The defaults are the homework recipe."""

    model: str = ""
    data: str = ""  # dataset; empty: the model's default dataset
    L: int | None = 100  # sequence length (sequence datasets only)
    epochs: int = 50
    updates: int | None = None  # train for this many random batches instead of epochs
    batch_size: int = 20
    lr: float = 0.01
    momentum: float = 0.9
    optimizer: str = "sgd"  # sgd | adam
    clip_grad: float | None = None  # clip the gradient's global L2 norm to this
    shuffle: bool = False  # a new batch order every epoch (seeded)
    lr_schedule: str = "constant"  # constant | cosine | step (see epoch_lr)
    hidden: int = 50
    seed: int = 0
    device: str = "auto"
    # stop once the dev primary metric passes this; resolve() fills in the dataset's target
    early_stop: float | None = None
    data_dir: str = "datasets"
    runs_dir: str = "runs"
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
# The Python type each field accepts (None allowed where the default type says so).
TYPES: dict[str, tuple[type, bool]] = {
    "model": (str, False), "data": (str, False), "L": (int, True), "epochs": (int, False),
    "updates": (int, True), "batch_size": (int, False), "lr": (float, False),
    "momentum": (float, False), "optimizer": (str, False), "clip_grad": (float, True),
    "shuffle": (bool, False), "lr_schedule": (str, False), "hidden": (int, False),
    "seed": (int, False), "device": (str, False), "early_stop": (float, True),
    "data_dir": (str, False), "runs_dir": (str, False), "settings": (dict, False),
}


def coerce(key: str, value: Any, where: str = "") -> Any:
    """Check/convert one config value; UsageError names where it came from."""
    kind, nullable = TYPES[key]
    prefix = f"{where}: " if where else ""
    off = value is False or (isinstance(value, str) and value.lower() in ("off", "none"))
    if value is None or (nullable and off):  # YAML reads a bare `off` as False
        if nullable:
            return None
        raise UsageError(f"{prefix}'{key}' must not be empty")
    ok = (
        (kind is int and isinstance(value, int) and not isinstance(value, bool))
        or (kind is float and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (kind is str and isinstance(value, str))
        or (kind is bool and isinstance(value, bool))
        or (kind is dict and isinstance(value, dict))
    )
    if not ok:
        names = {int: "an integer", float: "a number", str: "a string", dict: "a mapping",
                 bool: "true or false"}
        raise UsageError(f"{prefix}'{key}' expects {names[kind]}, got {short(value)}")
    if kind is float and isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # YAML reads 0xfff... (any length) as an int
            raise UsageError(f"{prefix}'{key}' is too large: {short(value)}") from None
    return float(value) if kind is float else value


def validate(cfg: TrainConfig) -> TrainConfig:
    """Range checks that no type can express; the message names the option."""
    from rnnlab.limits import SEED_MAX

    checks = [
        ("--L", cfg.L is None or cfg.L >= 1, "an integer >= 1", cfg.L),
        ("--epochs", cfg.epochs >= 1, "an integer >= 1", cfg.epochs),
        ("--updates", cfg.updates is None or cfg.updates >= 1, "an integer >= 1", cfg.updates),
        ("--batch-size", cfg.batch_size >= 1, "an integer >= 1", cfg.batch_size),
        ("--lr", math.isfinite(cfg.lr) and cfg.lr > 0, "a number > 0", cfg.lr),
        ("--momentum", 0 <= cfg.momentum < 1, "a number in [0, 1)", cfg.momentum),
        ("--hidden", cfg.hidden >= 1, "an integer >= 1", cfg.hidden),
        ("--seed", 0 <= cfg.seed <= SEED_MAX, f"an integer in [0, {SEED_MAX}]",
         limits.fmt_int(cfg.seed)),
        ("--device", cfg.device in DEVICES, "one of " + "|".join(DEVICES), cfg.device),
        ("--optimizer", cfg.optimizer in OPTIMIZERS, "one of " + "|".join(OPTIMIZERS),
         cfg.optimizer),
        ("--lr-schedule", cfg.lr_schedule in LR_SCHEDULES, "one of " + "|".join(LR_SCHEDULES),
         cfg.lr_schedule),
        ("--clip-grad", cfg.clip_grad is None or (math.isfinite(cfg.clip_grad)
                                                  and cfg.clip_grad > 0),
         "a number > 0", cfg.clip_grad),
        ("--early-stop", cfg.early_stop is None or math.isfinite(cfg.early_stop),
         "a number or 'off'", cfg.early_stop),
    ]
    for option, ok, expected, value in checks:
        if not ok:
            raise UsageError(f"{option} expects {expected}, got {value}")
    return cfg


def epoch_lr(cfg: TrainConfig, stage: int, stages: int) -> float:
    """The learning rate of stage (epoch) 1..stages. cosine: lr * (1 + cos(pi (s-1)/S)) / 2,
    from lr in the first epoch to nearly 0 in the last (Loshchilov & Hutter 2017); step: lr
    for the first 80% of the epochs, lr / 10 for the rest."""
    if cfg.lr_schedule == "cosine":
        return cfg.lr * (1 + math.cos(math.pi * (stage - 1) / stages)) / 2
    if cfg.lr_schedule == "step" and stage > int(0.8 * stages):
        return cfg.lr / 10
    return cfg.lr


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML config file as a dict of known keys; errors name the file (and line)."""
    raw = load_yaml(path, "a YAML config file")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: expected a mapping of option: value, got {type(raw).__name__}")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name == "set":
            name = "settings"
        if name not in FIELDS:
            known = ", ".join(k for k in FIELDS if k not in ("model",))
            raise UsageError(f"{path}: unknown key {short(key)} (expected one of: {known}, set)")
        out[name] = coerce(name, value, str(path))
    return out


def parse_sets(pairs: list[str]) -> dict[str, str]:
    """`--set key=value` pairs as a dict."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got '{pair}'")
        out[key.strip()] = value.strip()
    return out


PREFIXES = {"model": "model", "dataset": "data", "report": "report"}


def resolve_settings(
    given: dict[str, Any], declared: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Defaults of every declared setting, overridden by `given`; unknown keys are an error.

    `declared` is a list of (plugin label, settings dict) pairs, e.g. ("model 'alarmwork'", ...).
    A key may be qualified by its plugin's kind: `model.KEY`, `data.KEY` (or `dataset.KEY`).
    A key that two plugins declare must be: it is then stored qualified, one value for each.
    """
    owners: dict[str, list[tuple[str, str, Any]]] = {}
    for label, settings in declared:
        kind = label.split(" ", 1)[0]
        for key, setting in settings.items():
            owners.setdefault(key, []).append((label, PREFIXES.get(kind, kind), setting))
    slots: dict[str, Any] = {}  # stored key -> Setting
    for key, found in owners.items():
        if len(found) == 1:
            slots[key] = found[0][2]
        else:
            slots.update({f"{prefix}.{key}": setting for _, prefix, setting in found})
    out = {key: setting.default for key, setting in slots.items()}
    for key, raw in given.items():
        slot = _slot(str(key), owners, slots)
        if slot is None:
            if key in owners:
                labels = " and ".join(label for label, _, _ in owners[key])
                forms = " or ".join(f"--set {prefix}.{key}=..." for _, prefix, _ in owners[key])
                raise UsageError(f"setting '{key}' is declared by {labels}; say which: {forms}")
            labels = " and ".join(label for label, _ in declared)
            keys = ", ".join(sorted(slots)) or "none"
            raise UsageError(f"unknown setting {short(key)} for {labels} (known: {keys})")
        out[slot] = slots[slot].parse(key, raw)
    return out


def _slot(key: str, owners: dict[str, list[tuple[str, str, Any]]],
          slots: dict[str, Any]) -> str | None:
    """Where a given setting key is stored: itself, or the form its plugins share."""
    if key in slots:
        return key
    prefix, dot, plain = key.partition(".")
    prefix = "data" if prefix == "dataset" else prefix
    if not dot:
        return None
    if f"{prefix}.{plain}" in slots:
        return f"{prefix}.{plain}"
    if plain in slots and any(p == prefix for _, p, _ in owners.get(plain, [])):
        return plain
    return None


def plugin_settings(settings: dict[str, Any], kind: str,
                    declared: dict[str, Any]) -> dict[str, Any]:
    """The settings one plugin sees (its own, by their plain names) from a run's settings."""
    prefix = PREFIXES.get(kind, kind)
    return {key: settings.get(f"{prefix}.{key}", settings.get(key, setting.default))
            for key, setting in declared.items()}


def merge(*layers: dict[str, Any]) -> TrainConfig:
    """Apply layers of overrides in order onto the defaults; `settings` layers merge by key."""
    cfg = TrainConfig()
    for layer in layers:
        for key, value in layer.items():
            if key == "settings":
                cfg.settings = {**cfg.settings, **value}
            else:
                setattr(cfg, key, coerce(key, value))
    return cfg


def to_yaml(cfg: TrainConfig) -> str:
    return dump_yaml(cfg.to_dict())


def resolve(
    model: str,
    registry: Any,
    *,
    config_file: Path | None = None,
    options: dict[str, Any] | None = None,
    sets: dict[str, Any] | None = None,
) -> TrainConfig:
    """The full configuration of a run: defaults < model recipe < YAML file < options < --set."""
    from_file = read_yaml(config_file) if config_file is not None else {}
    options = {k: v for k, v in (options or {}).items() if v is not None}
    model_plugin = registry.get("model", model)
    data = (options.get("data") or from_file.get("data") or model_plugin.data
            or registry.default_dataset(model_plugin.kinds[0]))
    data_plugin = registry.get("dataset", data)
    if data_plugin.kind not in model_plugin.kinds:
        raise UsageError(
            f"model '{model}' takes {'/'.join(model_plugin.kinds)} data; "
            f"dataset '{data}' is {data_plugin.kind} data"
        )
    file_settings = from_file.pop("settings", {})
    layers = [dict(model_plugin.recipe), from_file, options]
    cfg = merge(*layers, {"model": model, "data": data})
    if not any("early_stop" in layer for layer in layers):
        cfg.early_stop = data_plugin.early_stop
    if data_plugin.kind != "sequence":
        cfg.L = None
    declared = [
        (f"model '{model}'", model_plugin.settings),
        (f"dataset '{data}'", data_plugin.settings),
    ]
    try:
        resolve_settings(file_settings, declared)
    except UsageError as exc:
        raise UsageError(f"{config_file}: {exc}") from None
    cfg.settings = resolve_settings({**file_settings, **(sets or {})}, declared)
    validate(cfg)
    limits.check_training(cfg, registry)  # memory and time, before any data is made or read
    return cfg
