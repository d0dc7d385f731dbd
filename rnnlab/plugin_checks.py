"""The contract checks a plugin passes when it is loaded: required methods implemented, recipe
keys that are training options, well-formed declarations, warnings for likely typos; and the
guard that names the plugin when its own code raises."""

from __future__ import annotations

import difflib
import functools
import inspect
import re
import types
from collections.abc import Iterable
from typing import Any

from rnnlab import config
from rnnlab.contracts.base import Plugin, Setting
from rnnlab.contracts.data import DatasetPlugin
from rnnlab.contracts.executor import ExecutorPlugin
from rnnlab.contracts.model import ModelPlugin, Timing
from rnnlab.contracts.report import ReportPlugin
from rnnlab.errors import PluginError, RnnlabError, UsageError

BASES: dict[str, type[Plugin]] = {"model": ModelPlugin, "dataset": DatasetPlugin,
                                  "report": ReportPlugin, "executor": ExecutorPlugin}
REQUIRED = {"model": ("build",), "dataset": ("load", "metrics"), "report": ("build",),
            "executor": ("run",)}
GUARDED = {"model": ("build",), "dataset": ("load", "metrics", "generate", "example"),
           "report": ("build",), "executor": ("run",)}
DATA_KINDS = ("sequence", "image", "labelled")
# The primary metric a dataset had when the contract gave it a default; a dataset that
# declares none still gets it, with a deprecation warning.
LEGACY_PRIMARY_METRIC = "accuracy"


# ---------------------------------------------------------------------------------------------
# did you mean


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate most like `word` (difflib's ratio at least `cutoff`), or None."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """The message suffix "; did you mean 'X'?" for the closest candidate, or "" if none."""
    close = closest(word, candidates, cutoff)
    return f"; did you mean '{close}'?" if close else ""


# ---------------------------------------------------------------------------------------------
# the checks


def check_implemented(kind: str, cls: type) -> None:
    """A plugin class must implement its kind's required methods (not inherit them empty)."""
    missing = sorted(getattr(cls, "__abstractmethods__", ()) or ())
    if missing:
        raise PluginError(f"{cls.__name__} does not implement "
                          f"{', '.join(m + '()' for m in missing)}, which a {kind} plugin must")


def known(kind: str) -> set[str]:
    """The public attributes a plugin of `kind` may define."""
    return {n for n in dir(BASES[kind]) if not n.startswith("_")}


def check(kind: str, obj: Any) -> list[str]:
    """Check a loaded plugin against its contract; raise PluginError with the reason, return
    warnings (unknown public attributes, deprecated forms). Duck-typed plugins (not
    subclasses of the base) get the base class's defaults bound to them."""
    base = BASES[kind]
    missing = [attr for attr in REQUIRED[kind] if not callable(getattr(obj, attr, None))]
    if missing:
        raise PluginError(f"not a {kind} plugin: missing {', '.join(m + '()' for m in missing)}")
    if not isinstance(obj, base):
        _bind_defaults(kind, obj)
    if not isinstance(obj.summary, str):
        raise PluginError(f"summary must be a string, not {type(obj.summary).__name__}")
    _check_settings(obj.settings)
    found: list[str] = []
    if kind == "model":
        found += _check_model(obj)
    if kind == "dataset" and obj.kind not in DATA_KINDS:
        raise PluginError(f"kind '{obj.kind}' is not a data kind (expected "
                          f"{', '.join(DATA_KINDS)})")
    if kind in ("model", "dataset"):
        found += _shadowing(obj.settings)
    if kind == "dataset" and not obj.primary_metric:  # written before it had to be declared
        obj.primary_metric = LEGACY_PRIMARY_METRIC
        found.append(f"declares no primary_metric; '{LEGACY_PRIMARY_METRIC}' (the old default) "
                     "is assumed: declare primary_metric")
    return found + _unknown_attributes(kind, obj)


def _bind_defaults(kind: str, obj: Any) -> None:
    """Give a duck-typed plugin what the base class defines and it lacks."""
    base = BASES[kind]
    for attr in known(kind):
        if hasattr(obj, attr):
            continue
        value = inspect.getattr_static(base, attr)
        if isinstance(value, types.FunctionType):
            setattr(obj, attr, types.MethodType(value, obj))
        else:
            setattr(obj, attr, getattr(base, attr))


def _check_settings(settings: Any) -> None:
    if not isinstance(settings, dict) or not all(
            isinstance(k, str) and isinstance(v, Setting) for k, v in settings.items()):
        raise PluginError("settings must map names to rnnlab.Setting")
    for key in settings:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise PluginError(f"setting name '{key}' is not an identifier")


def _check_model(obj: Any) -> list[str]:
    """A model's recipe, timing and gradcheck declarations; warnings for deprecated forms."""
    found: list[str] = []
    recipe = obj.recipe
    if not isinstance(recipe, dict):
        raise PluginError("recipe must be a mapping of training option: value")
    for key, value in recipe.items():
        if key not in config.FIELDS or key in ("model", "settings"):
            hint = did_you_mean(str(key), config.FIELDS)
            raise PluginError(f"recipe key '{key}' is not a training option{hint}")
        try:
            config.coerce(key, value, "recipe")
        except UsageError as exc:
            raise PluginError(str(exc)) from None
    recipes = obj.recipes
    if not isinstance(recipes, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in recipes.items()):
        raise PluginError("recipes must map names to mappings of training option: value")
    for name, options in recipes.items():
        for key, value in options.items():
            if key == "set":
                unknown = sorted(set(value) - set(obj.settings)) if isinstance(value, dict) \
                    else ["(not a mapping)"]
                if unknown:
                    raise PluginError(f"recipe '{name}': 'set' names no setting of the model: "
                                      f"{', '.join(map(str, unknown))}")
                continue
            if key not in config.FIELDS or key in ("model", "settings", "recipe"):
                hint = did_you_mean(str(key), config.FIELDS)
                raise PluginError(f"recipe '{name}': key '{key}' is not a training option{hint}")
            try:
                config.coerce(key, value, f"recipe '{name}'")
            except UsageError as exc:
                raise PluginError(str(exc)) from None
    if obj.default_recipe and obj.default_recipe not in recipes:
        raise PluginError(f"default_recipe '{obj.default_recipe}' is not one of its recipes")
    if obj.timing is not None and not isinstance(obj.timing, Timing):
        if not isinstance(obj.timing, tuple) or len(obj.timing) not in (3, 4):
            raise PluginError("timing must be an rnnlab.Timing")
        obj.timing = Timing(*obj.timing)
        found.append("timing as a tuple is deprecated; declare rnnlab.Timing(setting, "
                     "slow, fast, shared)")
    if obj.timing is not None and obj.timing.setting not in obj.settings:
        raise PluginError(f"timing compares setting '{obj.timing.setting}', which the "
                          "model does not declare")
    for variant in obj.gradcheck:
        unknown = set(variant) - set(obj.settings)
        if unknown:
            raise PluginError(f"gradcheck variant {variant} sets unknown setting(s) "
                              f"{', '.join(sorted(unknown))}")
    return found


def _shadowing(settings: dict[str, Setting]) -> list[str]:
    """A warning for settings named like training options."""
    shadowing = sorted(set(settings) & set(config.FIELDS))
    if not shadowing:
        return []
    return [f"setting(s) {', '.join(shadowing)} share a name with training options "
            "(--set KEY sets the setting, --KEY the option)"]


def _unknown_attributes(kind: str, obj: Any) -> list[str]:
    """Warnings for public attributes the contract does not define (likely typos)."""
    found: list[str] = []
    allowed = known(kind) | {"name"}
    for attr in sorted(vars(type(obj)).keys() | vars(obj).keys()):
        if attr.startswith("_") or attr in allowed:
            continue
        value = getattr(obj, attr, None)
        close = closest(attr, sorted(allowed), cutoff=0.75)
        if close:
            found.append(f"unknown attribute '{attr}'; did you mean '{close}'?")
        elif not callable(value) and not isinstance(value, property):
            found.append(f"unknown attribute '{attr}' (rnnlab does not use it)")
    return found


# ---------------------------------------------------------------------------------------------
# errors inside plugin code


def guard(kind: str, label: str, obj: Any) -> None:
    """Re-raise unexpected exceptions from the plugin's contract methods as PluginError
    naming the plugin and its distribution (`label`)."""
    for attr in GUARDED[kind]:
        method = getattr(obj, attr, None)
        if callable(method):
            setattr(obj, attr, _guarded(label, attr, method))


def _guarded(label: str, attr: str, method: Any) -> Any:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except RnnlabError:
            raise
        except Exception as exc:
            text = " ".join(str(exc).split())
            raise PluginError(f"{label} failed in {attr}(): {type(exc).__name__}"
                              + (f": {text}" if text else "")) from exc

    return call
