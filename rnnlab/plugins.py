"""Entry-point discovery: list plugins cheaply, load them lazily, isolate failures.

Rules (documented in docs/plugins.md):
- Plugins of the `rnnlab` distribution itself (the bundled ones) are always loaded.
- `RNNLAB_PLUGINS=dist-a,dist-b` loads only those third-party distributions; empty loads none.
- Two plugins of one kind with one name: the bundled one wins, then distributions in
  alphabetical order; a warning names both, and `DIST:NAME` selects the other explicitly.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from rnnlab.api import DatasetPlugin, ModelPlugin, ReportPlugin
from rnnlab.errors import PluginError, UsageError

GROUPS = {"model": "rnnlab.models", "dataset": "rnnlab.datasets", "report": "rnnlab.reports"}
BASES = {"model": ModelPlugin, "dataset": DatasetPlugin, "report": ReportPlugin}
REQUIRED = {"model": ("build",), "dataset": ("load", "metrics"), "report": ("build",)}
BUNDLED = "rnnlab"


def normalize(dist: str) -> str:
    """PEP 503 name normalisation, so 'Rnnlab_GRU' and 'rnnlab-gru' are one distribution."""
    return re.sub(r"[-_.]+", "-", dist).lower()


@dataclass
class PluginInfo:
    """One registered plugin. `obj` and `error` are filled in when it is loaded."""

    kind: str
    name: str
    dist: str
    version: str
    entry_point: metadata.EntryPoint
    shadowed: bool = False
    obj: Any = None
    error: BaseException | None = None

    @property
    def bundled(self) -> bool:
        return normalize(self.dist) == BUNDLED

    @property
    def qualified(self) -> str:
        return f"{self.dist}:{self.name}"

    @property
    def status(self) -> str:
        if self.error is not None:
            return "failed"
        return "shadowed" if self.shadowed else "ok"

    @property
    def reason(self) -> str:
        return "" if self.error is None else f"{type(self.error).__name__}: {self.error}"

    @property
    def summary(self) -> str:
        return str(getattr(self.obj, "summary", "") or "")


def _allowed(env: dict[str, str] | os._Environ[str]) -> set[str] | None:
    raw = env.get("RNNLAB_PLUGINS")
    if raw is None:
        return None
    return {normalize(part.strip()) for part in raw.split(",") if part.strip()}


class Registry:
    """All plugins found through entry points. Discovery reads metadata only; `load` imports."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        allowed = _allowed(os.environ if env is None else env)
        self.warnings: list[str] = []
        self._by_kind: dict[str, list[PluginInfo]] = {}
        for kind, group in GROUPS.items():
            infos: list[PluginInfo] = []
            seen: set[tuple[str, str]] = set()
            for ep in metadata.entry_points(group=group):
                dist = ep.dist.name if ep.dist is not None else "unknown"
                key = (normalize(dist), ep.name)
                if key in seen:  # the same distribution found twice on sys.path
                    continue
                seen.add(key)
                if normalize(dist) != BUNDLED and allowed is not None and key[0] not in allowed:
                    continue
                version = ep.dist.version if ep.dist is not None else "?"
                infos.append(PluginInfo(kind, ep.name, dist, version, ep))
            infos.sort(key=lambda i: (not i.bundled, normalize(i.dist), i.name))
            winners: dict[str, PluginInfo] = {}
            for info in infos:
                if info.name in winners:
                    info.shadowed = True
                    first = winners[info.name]
                    self.warnings.append(
                        f"{kind} '{info.name}' is provided by {first.dist} and {info.dist}; "
                        f"using {first.dist}'s ('{info.qualified}' selects the other)"
                    )
                else:
                    winners[info.name] = info
            self._by_kind[kind] = infos

    def infos(self, kind: str) -> list[PluginInfo]:
        """Every plugin of a kind, winners and shadowed ones, without loading them."""
        return list(self._by_kind[kind])

    def names(self, kind: str) -> list[str]:
        return sorted({i.name for i in self._by_kind[kind]})

    def find(self, kind: str, name: str) -> PluginInfo:
        """The plugin registered as `name` (or `dist:name`); UsageError with a suggestion."""
        infos = self._by_kind[kind]
        if ":" in name:
            dist, _, plain = name.partition(":")
            matches = [i for i in infos if normalize(i.dist) == normalize(dist) and i.name == plain]
        else:
            matches = [i for i in infos if i.name == name and not i.shadowed]
        if matches:
            return matches[0]
        message = f"unknown {kind} '{name}'"
        close = difflib.get_close_matches(name, self.names(kind), n=1)
        if close:
            message += f"; did you mean '{close[0]}'?"
        elif self.names(kind):
            message += f" (available: {', '.join(self.names(kind))})"
        raise UsageError(message)

    def load(self, info: PluginInfo) -> Any:
        """Import the plugin and check its contract; failures are kept on `info`, not raised."""
        if info.obj is None and info.error is None:
            try:
                obj = info.entry_point.load()
                if isinstance(obj, type):
                    obj = obj()
                _check_contract(info.kind, obj)
                obj.name = info.name
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
        """The loaded plugin object; PluginError names the distribution and the exception."""
        info = self.find(kind, name)
        obj = self.load(info)
        if obj is None:
            raise PluginError(
                f"{kind} '{info.name}' from {info.dist} {info.version} failed to load: "
                f"{info.reason}"
            ) from info.error
        return obj


def _check_contract(kind: str, obj: Any) -> None:
    missing = [attr for attr in REQUIRED[kind] if not callable(getattr(obj, attr, None))]
    if missing:
        raise TypeError(f"not a {kind} plugin: missing {', '.join(missing)}()")
    summary = getattr(obj, "summary", "")
    if not isinstance(summary, str):
        raise TypeError(f"summary must be a string, not {type(summary).__name__}")
    base = BASES[kind]
    if not isinstance(obj, base):  # duck-typed plugins get the base-class defaults they lack
        for attr in ("settings", "kinds", "recipe", "data", "kind", "sizes", "primary_metric",
                     "higher_is_better", "timing", "gradcheck", "after_training", "example"):
            if hasattr(base, attr) and not hasattr(obj, attr):
                setattr(obj, attr, getattr(base, attr))


_default: Registry | None = None


def registry() -> Registry:
    """The process-wide registry (discovered once)."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def reset() -> None:
    """Forget the discovered plugins (after installing one, or in tests)."""
    global _default
    _default = None
