"""What the contracts share: labels for messages, a plugin's settings and example data, and
assertions on splits, plain JSON values and state dicts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

import rnnlab
from rnnlab import DataSpec, Split

GROUPS = {"model": "rnnlab.models", "dataset": "rnnlab.datasets", "report": "rnnlab.reports"}


def label(settings: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in settings.items()) or "default"


def plugin_label(kind: str, name: str) -> str:
    return f"{kind} '{name}'"


def settings_of(who: str, plugin: Any, given: dict[str, Any]) -> dict[str, Any]:
    """A plugin's resolved settings: its defaults, overridden by `given` (parsed)."""
    declared = getattr(plugin, "settings", {}) or {}
    resolved = {key: setting.default for key, setting in declared.items()}
    for key, raw in given.items():
        assert key in declared, f"{who}: the contract sets '{key}', which it does not declare"
        resolved[key] = declared[key].parse(key, raw)
    return resolved


def fetch_example(dataset: str, L: int | None, n: int, seed: int, data_dir: Path
                  ) -> tuple[DataSpec, Split]:
    """`n` samples of `dataset`, as rnnlab's gradient checks and timing get them."""
    fetch = getattr(rnnlab, "example", None)
    if fetch is not None:
        return fetch(dataset, L, n, seed=seed, data_dir=data_dir)
    return rnnlab.get_plugin("dataset", dataset).example(L, n, seed)  # pragma: no cover


def check_split(who: str, what: str, spec: DataSpec, split: Any, n: int | None) -> None:
    """`split` is a Split whose x and t have the shapes `spec` describes (n samples)."""
    assert isinstance(split, Split), f"{who}: {what} is {type(split).__name__}, not a Split"
    x, t = np.asarray(split.x), np.asarray(split.t)
    N = len(x) if n is None else n
    if spec.kind == "sequence":
        want_x: tuple[int | None, ...] = (N, spec.length, spec.input_dim)
    else:
        want_x = (N, spec.input_dim)
    assert x.shape == want_x, (f"{who}: {what} x has shape {x.shape}, expected {want_x} for "
                               f"{spec}")
    assert t.shape == (N, spec.output_dim), (
        f"{who}: {what} t has shape {t.shape}, expected {(N, spec.output_dim)} for {spec}")


def assert_plain(value: Any, where: str) -> None:
    """Assert `value` is built of plain JSON types only (no NumPy scalars, Paths, NaN)."""
    if value is None or type(value) in (str, bool, int):
        return
    if type(value) is float:
        assert math.isfinite(value), f"{where} is {value}, not a finite number (use None)"
        return
    if type(value) is list:
        for i, item in enumerate(value):
            assert_plain(item, f"{where}[{i}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            assert type(key) is str, f"{where} has a key {key!r} that is not a str"
            assert_plain(item, f"{where}[{key!r}]")
        return
    raise AssertionError(f"{where} is a {type(value).__module__}.{type(value).__qualname__} "
                         f"({value!r}), not a plain JSON value (str, int, float, bool, None, "
                         "list, dict)")


def arrays_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(
        np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)
