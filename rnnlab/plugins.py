"""Deprecated: the plugin registry is `rnnlab.registry` (`default()` replaces `registry()`)."""

from __future__ import annotations

import warnings

from rnnlab.registry import GROUPS, PluginInfo, Registry, default, normalize, reset  # noqa: F401

registry = default

warnings.warn("rnnlab.plugins is deprecated; use rnnlab.registry (registry.default() replaces "
              "plugins.registry())", DeprecationWarning, stacklevel=2)
