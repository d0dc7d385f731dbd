"""What a sweep file says: the YAML read, the command line's options over it, recipes and
stages merged in, every value as an axis (a list). `grid.build` expands the result into cells."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnlab import config as cfgmod
from rnnlab import limits
from rnnlab.errors import UsageError
from rnnlab.files import load_yaml, short


def read_spec(path: Path) -> dict[str, Any]:
    """A sweep file as a dict; errors name the file."""
    raw = load_yaml(path, "a YAML sweep file")
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: expected a mapping of option: value or [values]")
    return raw


def apply_overrides(spec: dict[str, Any], *, models: list[str], lengths: list[int],
                    seeds: int | None, epochs: int | None, sets: dict[str, str],
                    name: str | None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The spec with the command line's options over it: --model and --L replace the axes,
    --seeds replaces any `seed:`, --set adds to `set:`, other training `options` (a value or
    a list: an axis) replace the file's, in its recipes and stages too (`--epochs 1` makes
    every stage of a curriculum one epoch long)."""
    given = {str(k).replace("-", "_") for k in options or {}}
    given |= {k for k, v in (("model", models), ("L", lengths), ("seeds", seeds is not None),
                              ("seed", seeds is not None), ("epochs", epochs is not None),
                              ("name", name)) if v}
    if "epochs" in given and "updates" not in given:  # a budget in updates would win over it
        given.add("updates")
        spec = {k: v for k, v in spec.items() if str(k).replace("-", "_") != "updates"}
    spec = _without(spec, given, set(sets), top=True)
    spec = {**spec, **(options or {})}
    if models:
        spec["model"] = models
    if lengths:
        spec["L"] = lengths
    if seeds is not None:
        limits.check_seed_count("--seeds", seeds)  # before a grid of them is built
        spec.pop("seed", None)
        spec["seeds"] = seeds
    if epochs is not None:
        spec["epochs"] = epochs
    if sets:
        current = spec.get("set") or {}
        spec["set"] = {**current, **sets} if isinstance(current, dict) else current
    if name:
        spec["name"] = name
    return spec


def _without(options: Any, keys: set[str], sets: set[str], top: bool = False) -> Any:
    """A sweep file's mapping with what the command line gives taken out of its recipes and
    stages (and of its `set:` there), so that the command line's value holds everywhere."""
    if not isinstance(options, dict):
        return options
    kept: dict[Any, Any] = {}
    for key, value in options.items():
        name = str(key).replace("-", "_")
        if name in keys and not top:
            continue
        if name in ("set", "settings") and isinstance(value, dict) and not top:
            value = {k: v for k, v in value.items() if k not in sets}
        elif name == "recipes" and isinstance(value, dict):
            value = {r: _without(o, keys, sets) for r, o in value.items()}
        elif name == "stages" and isinstance(value, list):
            value = [_without(stage, keys, sets) for stage in value]
        kept[key] = value
    return kept


def axes(options: dict[str, Any], where: str, expected: str = "training options, set, seeds, "
         "recipes, stages, name") -> dict[str, list[Any]]:
    """Options with every value as a list (an axis); `set:` entries become 'set.KEY'."""
    found: dict[str, list[Any]] = {}
    for key, value in options.items():
        name = str(key).replace("-", "_")
        if name in ("set", "settings"):
            if not isinstance(value, dict):
                raise UsageError(f"{where}: 'set' expects a mapping of setting: value")
            for setting, v in value.items():
                found[f"set.{setting}"] = v if isinstance(v, list) else [v]
        elif name in cfgmod.FIELDS and name not in ("runs_dir", "settings"):
            found[name] = value if isinstance(value, list) else [value]
            if not found[name]:
                raise UsageError(f"{where}: {short(str(key))} is an empty list")
        else:
            raise UsageError(f"{where}: unknown key {short(str(key))} (expected {expected})")
    return found


STAGE_FIXED = ("model", "seed", "seeds", "init_from", "recipes", "stages", "name")


def stages_of(stages: Any, where: str) -> list[dict[str, Any]]:
    """A curriculum's stages, e.g. [{L: 50, epochs: 5}, {L: 200, epochs: 35}], each a mapping
    of training options (one value each) over the sweep's; no stages: one stage of nothing."""
    if stages is None:
        return [{}]
    if not isinstance(stages, list) or not stages:
        raise UsageError(f"{where}: 'stages' expects a list of mappings of training options, "
                         "e.g. [{L: 50, epochs: 5}, {L: 200, epochs: 45}]")
    checked = []
    for number, stage in enumerate(stages, start=1):
        if not isinstance(stage, dict):
            raise UsageError(f"{where}: stage {number} expects a mapping of training options, "
                             f"got {short(stage)}")
        for key, value in stage.items():
            name = str(key).replace("-", "_")
            if name in STAGE_FIXED:
                raise UsageError(f"{where}: stage {number}: {short(str(key))} is the same for "
                                 "every stage of a cell; give it outside 'stages'")
            inner = value.values() if name in ("set", "settings") and isinstance(
                value, dict) else [value]
            if any(isinstance(v, list) for v in inner):
                raise UsageError(f"{where}: stage {number}: {short(str(key))} takes one value "
                                 "in a stage (axes go outside 'stages')")
        options = axes(stage, f"{where}: stage {number}", "training options and set")
        checked.append({k: v[0] for k, v in options.items()})
    return checked


def expand_seeds(spec: dict[str, Any], seeds: Any, where: str) -> None:
    """`seeds: N` as the axis `seed: [0, .., N-1]`."""
    if seeds is None:
        return
    if "seed" in spec:
        raise UsageError(f"{where}: give either seeds: N or seed: [...], not both")
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise UsageError(f"{where}: 'seeds' expects an integer >= 1, got {short(seeds)}")
    limits.check_seed_count(f"{where}: 'seeds'", seeds)  # before listing them
    spec["seed"] = list(range(seeds))


def with_recipe(spec: dict[str, Any], recipe: Any, overrides: Any,
                 where: str) -> dict[str, Any]:
    """The spec with a recipe's options over it (its `set:` merged into the spec's)."""
    if not isinstance(overrides, dict):
        raise UsageError(f"{where} expects a mapping of options")
    merged = dict(spec)
    for key, value in overrides.items():
        if key in ("set", "settings") and isinstance(value, dict):
            merged["set"] = {**merged.get("set", {}), **value}
        else:
            merged[key] = value
    return merged
