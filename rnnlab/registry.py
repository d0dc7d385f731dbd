"""The plugin registry: list plugins cheaply, load them lazily, check their contract
(rnnlab.plugin_checks), isolate failures.

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

import os
import re
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from rnnlab.errors import PluginError, RnnlabError, UsageError
from rnnlab.plugin_checks import (  # noqa: F401  (BASES ... check: importable from here too)
    BASES,
    DATA_KINDS,
    GUARDED,
    LEGACY_PRIMARY_METRIC,
    REQUIRED,
    check,
    check_implemented,
    did_you_mean,
    guard,
)

GROUPS = {"model": "rnnlab.models", "dataset": "rnnlab.datasets", "report": "rnnlab.reports",
          "executor": "rnnlab.executors"}
BUNDLED = "rnnlab"


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
        names = self.names(kind)
        hint = did_you_mean(name, names)
        if not hint and names:
            hint = f" (available: {', '.join(names)})"
        raise UsageError(f"unknown {kind} '{name}'{hint}")

    def load(self, info: PluginInfo) -> Any:
        """Import the plugin and check its contract; failures are kept on `info`, not raised."""
        if info.obj is None and info.error is None and not info.disabled:
            try:
                obj = info.entry_point.load()
                if isinstance(obj, type):
                    check_implemented(info.kind, obj)
                    obj = obj()
                info.warnings = check(info.kind, obj)
                obj.name = info.name
                guard(info.kind, info.label, obj)
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
