"""Run configuration: one dataclass, merged from defaults, the model's recipe, a YAML file and
the command line, in that order (later wins). The type of each option is read from the
dataclass. Plugin settings (`--set key=value`) live in rnnlab.settings (re-exported here)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from rnnlab import limits
from rnnlab.errors import UsageError
from rnnlab.files import dump_yaml, load_yaml, short
from rnnlab.settings import PREFIXES as PREFIXES
from rnnlab.settings import parse_sets as parse_sets
from rnnlab.settings import plugin_settings as plugin_settings
from rnnlab.settings import resolve_settings as resolve_settings

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
    # the model's named recipe the run started from ('': the model's default); a label: the
    # options above are what the run uses
    recipe: str = ""
    # a warm start: the run whose last checkpoint gives the initial weights (its id once the
    # run starts), and whether its optimizer state (momentum, Adam moments) comes along
    init_from: str | None = None
    init_optimizer: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def _accepts(hint: Any) -> tuple[type, bool]:
    """What a field's annotation accepts, and whether it may be None: `int | None` ->
    (int, True), `dict[str, Any]` -> (dict, False)."""
    if get_origin(hint) in (Union, UnionType):
        (hint,) = [arg for arg in get_args(hint) if arg is not type(None)]
        return get_origin(hint) or hint, True
    return get_origin(hint) or hint, False


# The Python type each field accepts, read from the dataclass annotations.
TYPES: dict[str, tuple[type, bool]] = {
    name: _accepts(hint) for name, hint in get_type_hints(TrainConfig).items()}


# What a run computes is its config without where it reads and writes, where it runs, and the
# recipe's name (a label). Options added after keys were first made drop out at their default,
# so that the keys of earlier runs and sweep cells stay what they were.
NOT_COMPUTED = ("runs_dir", "data_dir", "device", "recipe")
ADDED_LATER = {"lr_schedule": "constant", "init_from": None, "init_optimizer": False}


def computed(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a config dict that decides the numbers a run computes."""
    return {k: v for k, v in config.items()
            if k not in NOT_COMPUTED and not (k in ADDED_LATER and v == ADDED_LATER[k])}


def coerce(key: str, value: Any, where: str = "") -> Any:
    """Check/convert one config value; UsageError names where it came from."""
    kind, nullable = TYPES[key]
    prefix = f"{where}: " if where else ""
    off = value is False or (isinstance(value, str) and value.lower() in ("off", "none"))
    if value is None or (nullable and off):  # YAML reads a bare `off` as False
        if nullable:
            return None
        raise UsageError(f"{prefix}'{key}' must not be empty")
    if key == "init_from" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a run id prefix YAML read as a number (init_from: 2026)
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


def parse_off_or_number(option: str) -> Any:
    """A Typer parser for `OPTION NUM|off`: a number, or 'off' (coerce() makes it None)."""
    def parse(text: str) -> float | str:
        if text.lower() == "off":
            return "off"
        try:
            return float(text)
        except ValueError:
            raise UsageError(f"{option} expects a number or 'off', got '{text}'") from None

    return parse


parse_early_stop = parse_off_or_number("--early-stop")  # never stop early with 'off'


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
        if not ok:  # an empty word is shown as ''
            shown = short(value) if isinstance(value, str) and not value.strip() else value
            raise UsageError(f"{option} expects {expected}, got {shown}")
    if cfg.init_from is not None and not str(cfg.init_from).strip():
        raise UsageError("--init-from expects a run id, id prefix or run directory, got ''")
    if cfg.init_optimizer and not cfg.init_from:
        raise UsageError("--init-optimizer continues the optimizer of the run named by "
                         "--init-from; give --init-from RUN")
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


HOMEWORK = "homework"  # every model's recipe of rnnlab's defaults, unless it declares its own


def named_recipe(model_plugin: Any, model: str, name: str
                 ) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(name, training options, settings) of the model's recipe `name`; '' is the model's
    default: `default_recipe` if it names one, else its unnamed `recipe`. Every model has
    'homework' (rnnlab's defaults, the course's homework recipe) unless it declares its own."""
    recipes = dict(getattr(model_plugin, "recipes", {}) or {})
    name = name or str(getattr(model_plugin, "default_recipe", "") or "")
    if not name:
        return "", dict(model_plugin.recipe), {}
    if name not in recipes and name != HOMEWORK:
        known = ", ".join(sorted({HOMEWORK, *recipes}))
        raise UsageError(f"--recipe {name}: model '{model}' has no such recipe "
                         f"(recipes: {known}; `rnnlab plugins {model}` shows them)")
    options = dict(recipes.get(name, {}))
    sets = dict(options.pop("set", None) or {})
    return name, options, sets


def resolve(
    model: str,
    registry: Any,
    *,
    config_file: Path | None = None,
    options: dict[str, Any] | None = None,
    sets: dict[str, Any] | None = None,
) -> TrainConfig:
    """The full configuration of a run: defaults < the model's recipe (named by `recipe` in the
    options or the file, else its default) < YAML file < options < --set."""
    from_file = read_yaml(config_file) if config_file is not None else {}
    options = {k: v for k, v in (options or {}).items() if v is not None}
    for key, expected in (("data", "a dataset name"), ("recipe", "a recipe name")):
        if isinstance(options.get(key), str) and not options[key].strip():  # not the default
            raise UsageError(f"--{key} expects {expected}, got {short(options[key])}")
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
    try:
        name, recipe, recipe_sets = named_recipe(model_plugin, model,
                                                 str(options.get("recipe") or
                                                     from_file.get("recipe") or ""))
    except UsageError as exc:  # the file's recipe: say which file named it
        if options.get("recipe") or config_file is None:
            raise
        raise UsageError(f"{config_file}: {exc}") from None
    layers = [recipe, from_file, options]
    cfg = merge(*layers, {"model": model, "data": data, "recipe": name})
    if not any("early_stop" in layer for layer in layers):
        cfg.early_stop = data_plugin.early_stop
    if data_plugin.kind != "sequence":
        given = next((layer["L"] for layer in (options, from_file)
                      if layer.get("L") is not None), None)
        if given is not None:  # a length that would be recorded but never used
            raise UsageError(f"--L {given}: dataset '{data}' is {data_plugin.kind} data, which "
                             "has no sequence length")
        cfg.L = None
    declared = [
        (f"model '{model}'", model_plugin.settings),
        (f"dataset '{data}'", data_plugin.settings),
    ]
    try:
        resolve_settings(file_settings, declared)
    except UsageError as exc:
        raise UsageError(f"{config_file}: {exc}") from None
    cfg.settings = resolve_settings({**recipe_sets, **file_settings, **(sets or {})}, declared)
    validate(cfg)
    limits.check_training(cfg, registry)  # memory and time, before any data is made or read
    return cfg
