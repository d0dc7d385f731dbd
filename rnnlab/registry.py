"""The plugin registry: list plugins cheaply, load them lazily, check their contract, isolate
failures.

Rules (documented in docs/plugins.md):
- Plugins of the `rnnlab` distribution itself (the bundled ones) are always loaded.
- `RNNLAB_PLUGINS=dist-a,dist-b` loads only those third-party distributions (empty: none);
  the others are listed as disabled, and using one says so.
- Two plugins of one kind with one name: the bundled one wins, then distributions in
  alphabetical order; using the name warns and names both, and `DIST:NAME` selects the other.
- A plugin is checked when it is loaded: required methods implemented, recipe keys that are
  training options, well-formed declarations. A failure is kept with its reason and shown by
  `rnnlab plugins`; unknown public attributes (likely typos) are warnings.
- Exceptions raised inside a plugin's contract methods are re-raised as PluginError naming the
  plugin and its distribution (an RnnlabError it raises on purpose passes through).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import os
import re
import types
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from rnnlab.contracts import (
    DatasetPlugin,
    ExecutorPlugin,
    ModelPlugin,
    Plugin,
    ReportPlugin,
    Setting,
    Timing,
)
from rnnlab.errors import PluginError, RnnlabError, UsageError

GROUPS = {"model": "rnnlab.models", "dataset": "rnnlab.datasets", "report": "rnnlab.reports",
          "executor": "rnnlab.executors"}
BASES: dict[str, type[Plugin]] = {"model": ModelPlugin, "dataset": DatasetPlugin,
                                  "report": ReportPlugin, "executor": ExecutorPlugin}
REQUIRED = {"model": ("build",), "dataset": ("load", "metrics"), "report": ("build",),
            "executor": ("run",)}
GUARDED = {"model": ("build",), "dataset": ("load", "metrics", "generate", "example"),
           "report": ("build",), "executor": ("run",)}
BUNDLED = "rnnlab"
DATA_KINDS = ("sequence", "image")
# The primary metric a dataset had when the contract gave it a default; a dataset that
# declares none still gets it, with a deprecation warning.
LEGACY_PRIMARY_METRIC = "accuracy"


def normalize(dist: str) -> str:
    """PEP 503 name normalisation, so 'Rnnlab_GRU' and 'rnnlab-gru' are one distribution."""
    return re.sub(r"[-_.]+", "-", dist).lower()


@dataclass
class PluginInfo:
    """One registered plugin. `obj`, `error` and `warnings` are filled in when it is loaded."""

    kind: str
    name: str
    dist: str
    version: str
    entry_point: metadata.EntryPoint
    shadowed_by: PluginInfo | None = None
    disabled: bool = False  # excluded by RNNLAB_PLUGINS
    obj: Any = None
    error: BaseException | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def shadowed(self) -> bool:
        return self.shadowed_by is not None

    @property
    def bundled(self) -> bool:
        return normalize(self.dist) == BUNDLED

    @property
    def qualified(self) -> str:
        return f"{self.dist}:{self.name}"

    @property
    def label(self) -> str:
        """How errors name the plugin: kind, name, distribution and version."""
        return f"{self.kind} '{self.name}' ({self.dist} {self.version})"

    @property
    def status(self) -> str:
        if self.disabled:
            return "disabled"
        if self.error is not None:
            return "failed"
        return "shadowed" if self.shadowed else "ok"

    @property
    def reason(self) -> str:
        if self.disabled:
            return "excluded by RNNLAB_PLUGINS"
        if self.error is None:
            return ""
        if isinstance(self.error, RnnlabError):
            return str(self.error)
        return f"{type(self.error).__name__}: {self.error}"

    @property
    def summary(self) -> str:
        return str(getattr(self.obj, "summary", "") or "")


def _allowed(env: dict[str, str] | os._Environ[str]) -> set[str] | None:
    raw = env.get("RNNLAB_PLUGINS")
    if raw is None:
        return None
    return {normalize(part.strip()) for part in raw.split(",") if part.strip()}


class Registry:
    """All plugins found through entry points. Discovery reads metadata only; `load` imports.
    `warnings` collects what the command line should show (it empties the list)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        allowed = _allowed(os.environ if env is None else env)
        self.warnings: list[str] = []
        self._said: set[str] = set()  # every warning given, so none is given twice
        self._by_kind: dict[str, list[PluginInfo]] = {}
        found: set[str] = set()
        for kind, group in GROUPS.items():
            infos: list[PluginInfo] = []
            seen: set[tuple[str, str]] = set()
            for ep in metadata.entry_points(group=group):
                dist = ep.dist.name if ep.dist is not None else "unknown"
                key = (normalize(dist), ep.name)
                if key in seen:  # the same distribution found twice on sys.path
                    continue
                seen.add(key)
                found.add(key[0])
                version = ep.dist.version if ep.dist is not None else "?"
                info = PluginInfo(kind, ep.name, dist, version, ep)
                info.disabled = (not info.bundled and allowed is not None
                                 and key[0] not in allowed)
                infos.append(info)
            infos.sort(key=lambda i: (not i.bundled, normalize(i.dist), i.name))
            winners: dict[str, PluginInfo] = {}
            for info in infos:
                if info.disabled:
                    continue
                if info.name in winners:
                    info.shadowed_by = winners[info.name]
                else:
                    winners[info.name] = info
            self._by_kind[kind] = infos
        for dist in sorted((allowed or set()) - found):
            self.warnings.append(f"RNNLAB_PLUGINS names '{dist}', which is not an installed "
                                 "distribution with rnnlab plugins")

    def infos(self, kind: str) -> list[PluginInfo]:
        """Every plugin of a kind (winners, shadowed and disabled ones), without loading."""
        return list(self._by_kind[kind])

    def names(self, kind: str) -> list[str]:
        return sorted({i.name for i in self._by_kind[kind] if not i.disabled})

    def find(self, kind: str, name: str) -> PluginInfo:
        """The plugin registered as `name` (or `dist:name`); UsageError with a suggestion.
        Using a name that several distributions provide warns once, naming them."""
        infos = self._by_kind[kind]
        if ":" in name:
            dist, _, plain = name.partition(":")
            matches = [i for i in infos if normalize(i.dist) == normalize(dist) and i.name == plain]
        else:
            matches = [i for i in infos if i.name == name and not i.shadowed]
        live = [i for i in matches if not i.disabled]
        if live:
            info = live[0]
            others = [i for i in infos if i.shadowed_by is info]
            if others and ":" not in name:
                message = (f"{kind} '{name}' is provided by {info.dist} and "
                           f"{', '.join(o.dist for o in others)}; using {info.dist}'s "
                           f"('{others[0].qualified}' selects the other)")
                self._warn(message)
            return info
        if matches:
            raise UsageError(f"{kind} '{name}' is installed ({matches[0].dist}) but excluded by "
                             f"RNNLAB_PLUGINS={os.environ.get('RNNLAB_PLUGINS', '')}; add "
                             f"{normalize(matches[0].dist)} to it to use it")
        message = f"unknown {kind} '{name}'"
        close = difflib.get_close_matches(name, self.names(kind), n=1)
        if close:
            message += f"; did you mean '{close[0]}'?"
        elif self.names(kind):
            message += f" (available: {', '.join(self.names(kind))})"
        raise UsageError(message)

    def load(self, info: PluginInfo) -> Any:
        """Import the plugin and check its contract; failures are kept on `info`, not raised."""
        if info.obj is None and info.error is None and not info.disabled:
            try:
                obj = info.entry_point.load()
                if isinstance(obj, type):
                    _check_implemented(info.kind, obj)
                    obj = obj()
                info.warnings = check(info.kind, obj)
                obj.name = info.name
                _guard(info, obj)
                info.obj = obj
            except Exception as exc:  # a broken plugin must never break the CLI
                info.error = exc
        return info.obj

    def load_all(self) -> list[PluginInfo]:
        for infos in self._by_kind.values():
            for info in infos:
                self.load(info)
        return [i for infos in self._by_kind.values() for i in infos]

    def get(self, kind: str, name: str) -> Any:
        """The loaded plugin object; PluginError names the distribution and the reason."""
        info = self.find(kind, name)
        obj = self.load(info)
        if obj is None:
            raise PluginError(f"{info.label} failed to load: {info.reason}") from info.error
        for warning in info.warnings:
            self._warn(f"{info.label}: {warning}")
        return obj

    def _warn(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            self.warnings.append(message)

    def label(self, kind: str, name: str) -> str:
        """How errors name a plugin, e.g. "model 'gru' (rnnlab-gru 0.1.0)"."""
        return self.find(kind, name).label

    def default_dataset(self, kind: str) -> str:
        """The dataset of `kind` that declares itself the default (bundled ones first)."""
        for info in self._by_kind["dataset"]:
            if info.disabled or info.shadowed:
                continue
            obj = self.load(info)
            if obj is not None and obj.default and obj.kind == kind:
                return info.name
        raise UsageError(f"no installed dataset is the default for {kind} data; name one "
                         "with --data")


# ---------------------------------------------------------------------------------------------
# the contract checks


def _check_implemented(kind: str, cls: type) -> None:
    """A plugin class must implement its kind's required methods (not inherit them empty)."""
    missing = sorted(getattr(cls, "__abstractmethods__", ()) or ())
    if missing:
        raise PluginError(f"{cls.__name__} does not implement "
                          f"{', '.join(m + '()' for m in missing)}, which a {kind} plugin must")


def _known(kind: str) -> set[str]:
    """The public attributes a plugin of `kind` may define."""
    return {n for n in dir(BASES[kind]) if not n.startswith("_")}


def check(kind: str, obj: Any) -> list[str]:
    """Check a loaded plugin against its contract; raise PluginError with the reason, return
    warnings (unknown public attributes, deprecated forms). Duck-typed plugins (not
    subclasses of the base) get the base class's defaults bound to them."""
    from rnnlab import config

    base = BASES[kind]
    missing = [attr for attr in REQUIRED[kind] if not callable(getattr(obj, attr, None))]
    if missing:
        raise PluginError(f"not a {kind} plugin: missing {', '.join(m + '()' for m in missing)}")
    found: list[str] = []
    if not isinstance(obj, base):
        for attr in _known(kind):
            if hasattr(obj, attr):
                continue
            value = inspect.getattr_static(base, attr)
            if isinstance(value, types.FunctionType):
                setattr(obj, attr, types.MethodType(value, obj))
            else:
                setattr(obj, attr, getattr(base, attr))
    if not isinstance(obj.summary, str):
        raise PluginError(f"summary must be a string, not {type(obj.summary).__name__}")
    settings = obj.settings
    if not isinstance(settings, dict) or not all(
            isinstance(k, str) and isinstance(v, Setting) for k, v in settings.items()):
        raise PluginError("settings must map names to rnnlab.Setting")
    for key in settings:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise PluginError(f"setting name '{key}' is not an identifier")
    if kind == "model":
        recipe = obj.recipe
        if not isinstance(recipe, dict):
            raise PluginError("recipe must be a mapping of training option: value")
        for key, value in recipe.items():
            if key not in config.FIELDS or key in ("model", "settings"):
                close = difflib.get_close_matches(str(key), list(config.FIELDS), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise PluginError(f"recipe key '{key}' is not a training option{hint}")
            try:
                config.coerce(key, value, "recipe")
            except UsageError as exc:
                raise PluginError(str(exc)) from None
        if obj.timing is not None and not isinstance(obj.timing, Timing):
            if not isinstance(obj.timing, tuple) or len(obj.timing) not in (3, 4):
                raise PluginError("timing must be an rnnlab.Timing")
            obj.timing = Timing(*obj.timing)
            found.append("timing as a tuple is deprecated; declare rnnlab.Timing(setting, "
                         "slow, fast, shared)")
        if obj.timing is not None and obj.timing.setting not in settings:
            raise PluginError(f"timing compares setting '{obj.timing.setting}', which the "
                              "model does not declare")
        for variant in obj.gradcheck:
            unknown = set(variant) - set(settings)
            if unknown:
                raise PluginError(f"gradcheck variant {variant} sets unknown setting(s) "
                                  f"{', '.join(sorted(unknown))}")
    if kind == "dataset" and obj.kind not in DATA_KINDS:
        raise PluginError(f"kind '{obj.kind}' is not a data kind (expected "
                          f"{' or '.join(DATA_KINDS)})")
    if kind in ("model", "dataset"):
        shadowing = sorted(set(settings) & set(config.FIELDS))
        if shadowing:
            found.append(f"setting(s) {', '.join(shadowing)} share a name with training "
                         "options (--set KEY sets the setting, --KEY the option)")
    if kind == "dataset" and not obj.primary_metric:  # written before it had to be declared
        obj.primary_metric = LEGACY_PRIMARY_METRIC
        found.append(f"declares no primary_metric; '{LEGACY_PRIMARY_METRIC}' (the old default) "
                     "is assumed: declare primary_metric")
    known = _known(kind) | {"name"}
    for attr in sorted(vars(type(obj)).keys() | vars(obj).keys()):
        if attr.startswith("_") or attr in known:
            continue
        value = getattr(obj, attr, None)
        close = difflib.get_close_matches(attr, sorted(known), n=1, cutoff=0.75)
        if close:
            found.append(f"unknown attribute '{attr}'; did you mean '{close[0]}'?")
        elif not callable(value) and not isinstance(value, property):
            found.append(f"unknown attribute '{attr}' (rnnlab does not use it)")
    return found


def _guard(info: PluginInfo, obj: Any) -> None:
    """Re-raise unexpected exceptions from the plugin's contract methods as PluginError
    naming the plugin and its distribution."""
    for attr in GUARDED[info.kind]:
        method = getattr(obj, attr, None)
        if callable(method):
            setattr(obj, attr, _guarded(info, attr, method))


def _guarded(info: PluginInfo, attr: str, method: Any) -> Any:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except RnnlabError:
            raise
        except Exception as exc:
            text = " ".join(str(exc).split())
            raise PluginError(f"{info.label} failed in {attr}(): {type(exc).__name__}"
                              + (f": {text}" if text else "")) from exc

    return call


_default: Registry | None = None


def default() -> Registry:
    """The process-wide registry (discovered once)."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def reset() -> None:
    """Forget the discovered plugins (after installing one, or in tests)."""
    global _default
    _default = None
