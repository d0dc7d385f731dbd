"""Plugin settings (`--set KEY=VALUE`): parsed from the command line, checked against what
the model and dataset plugins declare (unknown keys are an error), and handed to each plugin
under its own plain names."""

from __future__ import annotations

from typing import Any

from rnnlab.contracts.base import NOT_NEUTRAL
from rnnlab.errors import UsageError
from rnnlab.files import short

PREFIXES = {"model": "model", "dataset": "data", "report": "report"}


def parse_sets(pairs: list[str]) -> dict[str, str]:
    """`--set key=value` pairs as a dict."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got '{pair}'")
        out[key.strip()] = value.strip()
    return out


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
    # a setting at its neutral value is left out: the run is what it was before the setting
    return {key: value for key, value in out.items()
            if not _is_neutral(slots[key], value)}


def _is_neutral(setting: Any, value: Any) -> bool:
    neutral = getattr(setting, "neutral", NOT_NEUTRAL)
    return neutral is not NOT_NEUTRAL and type(value) is type(neutral) and value == neutral


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
