"""The grid of a sweep: a spec (`spec.py`: a YAML sweep file and command-line overrides)
expanded into cells, each a resolved training configuration with a stable key."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from rnnlab import config as cfgmod
from rnnlab import limits
from rnnlab.config import TrainConfig
from rnnlab.errors import RnnlabError, UsageError
from rnnlab.events import CellUpdate
from rnnlab.files import clip, short
from rnnlab.registry import Registry
from rnnlab.sweep.spec import axes, expand_seeds, stages_of, with_recipe
from rnnlab.sweep.stages import check_stage, parent_id


@dataclass
class Cell:
    """One run of the grid, and how it stands."""

    index: int
    config: TrainConfig
    recipe: str
    key: str  # stable id of the resolved configuration within the sweep
    state: str = "queued"  # queued | running | done | failed | skipped | elsewhere
    info: str = ""  # why it failed, or which process runs it elsewhere
    run_id: str = ""
    resume: str = ""  # directory of an interrupted run to continue
    metric: str = ""  # its dataset's primary metric key
    percentages: tuple[str, ...] = ()  # the metric keys its dataset gives in %
    test: float | None = None  # the primary metric on the test split, once completed
    # a curriculum: this cell is stage `stage` of `stages`, warm-started from the run of cell
    # `parent` (the previous stage, same seed and options); 0 / None: not a curriculum
    stage: int = 0
    stages: int = 0
    parent: int | None = None
    detail: str = ""  # the values of the grid's other axes, e.g. 'lr=0.01 optimizer=adam'

    @property
    def label(self) -> str:
        c = self.config
        parts = [c.model, f"L={c.L}" if c.L is not None else c.data, f"seed {c.seed}"]
        parts += [self.recipe] if self.recipe else []
        parts += [self.detail] if self.detail else []
        parts += [f"stage {self.stage}/{self.stages}"] if self.stages else []
        return " ".join(parts)

    def update(self) -> CellUpdate:
        """How the cell stands, as the event a UI renders."""
        return CellUpdate(self.index, self.label, self.state, self.info, run_id=self.run_id,
                          metric=self.metric, test=self.test, percentages=self.percentages)


def primary_value(metrics: object, metric: str) -> float | None:
    """The primary metric among a split's metrics (None if it is not a number there)."""
    value = metrics.get(metric) if isinstance(metrics, dict) and metric else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


@dataclass
class Sweep:
    id: str
    cells: list[Cell] = field(default_factory=list)
    runs_dir: str = "runs"
    wall_time_s: float = 0.0
    rerun_failed: bool = False
    force: bool = False
    stale: set[str] = field(default_factory=set)  # under --force: the runs made before it
    started_at: str = ""


def build(spec: dict[str, Any], registry: Registry, *, where: str = "sweep",
          runs_dir: str = "runs", data_dir: str | None = None) -> Sweep:
    """Expand a sweep spec into resolved cells (every configuration is checked up front)."""
    spec = dict(spec)
    name = spec.pop("name", None)
    recipes = spec.pop("recipes", None) or {"": {}}
    expand_seeds(spec, spec.pop("seeds", None), where)
    if "model" not in spec:
        raise UsageError(f"{where}: no model given (model: [..] or --model)")
    if not isinstance(recipes, dict):
        raise UsageError(f"{where}: 'recipes' expects a mapping of name: options")
    grids, chains = [], []
    for recipe, overrides in recipes.items():
        named = f"{where}: recipe {short(str(recipe))}" if recipe else where
        merged = with_recipe(spec, recipe, overrides, named)
        chains.append(stages_of(merged.pop("stages", None), named))
        grids.append((str(recipe), axes(merged, named) if not recipe else axes(
            merged, named, "training options, set, stages")))
    # count the runs before expanding the grid (every stage is a run)
    limits.check_cells([(r, {**g, "stage": s} if len(s) > 1 else g)
                        for (r, g), s in zip(grids, chains, strict=True)], where)
    # a sweep-wide init_optimizer carries the state into the stages that follow another; a
    # recipe of one stage (from scratch) does not take it unless it names it itself
    staged = any(len(chain) > 1 for chain in chains)
    own = {str(r): isinstance(o, dict) and "init_optimizer" in o for r, o in recipes.items()}
    cells: list[Cell] = []
    checked: dict[str, str] = {}  # warm-start parents found fitting, by what was asked
    lengthless: set[str] = set()  # cells of models without a length, made once for all L
    for (recipe, grid), stages in zip(grids, chains, strict=True):
        named = f"{where}: recipe {short(recipe)}" if recipe else where
        varying = [k for k, v in grid.items() if len(v) > 1 and k not in ("model", "L", "seed")]
        for combo in itertools.product(*grid.values()):
            chosen, parent = dict(zip(grid, combo, strict=True)), None
            detail = " ".join(f"{k.removeprefix('set.')}={_shown(chosen[k])}" for k in varying)
            for number, stage in enumerate(stages, start=1):
                point = {**chosen, **stage}
                if parent is not None:  # the previous stage's run, once there is one
                    point.update(init_from=f"cell {parent.key}")
                elif "init_optimizer" in point and not point.get("init_from") and (
                        len(stages) > 1 or (staged and not own[recipe])):
                    del point["init_optimizer"]  # a first stage starts from scratch
                cfg = _resolve(point, registry, runs_dir, data_dir, named)
                key = cell_key(cfg, recipe)
                if cfg.L is None and point.get("L") is not None and key in lengthless:
                    break  # the same run for the grid's next length: data without one
                lengthless.add(key)
                dataset = registry.get("dataset", cfg.data)
                cell = Cell(len(cells), cfg, recipe, key,
                            metric=str(dataset.primary_metric or ""),
                            percentages=tuple(dataset.percentages), detail=detail)
                if len(stages) > 1:
                    cell.stage, cell.stages = number, len(stages)
                    cell.parent = parent.index if parent is not None else None
                if parent is not None:
                    check_stage(parent.config, cfg, number, named, registry)
                cells.append(cell)
                parent = cell
    keys = [c.key for c in cells]
    if len(set(keys)) != len(keys):
        raise UsageError(f"{where}: the grid repeats a configuration")
    sweep_id = str(name) if name else "sweep-" + hashlib.sha1(
        "".join(sorted(keys)).encode()).hexdigest()[:8]
    for cell in cells:  # a warm start from a run of the store: it must be there and fit now
        if cell.parent is None and cell.config.init_from:
            cell.config.init_from = parent_id(cell.config, sweep_id, where, checked, registry)
    return Sweep(sweep_id, cells, runs_dir)


def _shown(value: Any) -> str:
    """An axis value in a cell's label: words as they are, anything else as short() has it."""
    return clip(value, 30) if isinstance(value, str) else short(value)


def _has_length(registry: Registry, model: Any, data: Any) -> bool:
    """Whether the model's runs (on `data`, else its default) are on sequence data; True
    where that cannot be told (the configuration's own check then names the problem)."""
    try:
        plugin = registry.get("model", str(model))
        name = str(data or plugin.data or registry.default_dataset(plugin.kinds[0]))
        return bool(registry.get("dataset", name).kind == "sequence")
    except RnnlabError:
        return True


def _resolve(chosen: dict[str, Any], registry: Registry, runs_dir: str, data_dir: str | None,
             where: str) -> TrainConfig:
    """One point of the grid as a resolved configuration; errors name the point."""
    sets = {k[4:]: v for k, v in chosen.items() if k.startswith("set.")}
    options = {k: v for k, v in chosen.items() if not k.startswith("set.")}
    model = options.pop("model")
    options["runs_dir"] = runs_dir
    if data_dir is not None:
        options.setdefault("data_dir", data_dir)
    if "L" in options and not _has_length(registry, model, options.get("data")):
        del options["L"]  # a grid's lengths are for its sequence models
    try:
        return cfgmod.resolve(model, registry, options=options, sets=sets)
    except UsageError as exc:
        shown = clip(model) if isinstance(model, str) else short(model)
        point = " ".join(f"{k.removeprefix('set.')}={clip(str(v), 60)}"
                         for k, v in chosen.items()
                         if k != "model")  # the grid point, as the sweep file names it
        raise UsageError(f"{where}: {shown}{' ' if point else ''}{clip(point, 200)}: {exc}"
                         ) from None


def cell_key(cfg: TrainConfig, recipe: str) -> str:
    """A stable id of what the cell computes (paths and device do not change results)."""
    text = json.dumps([recipe, cfgmod.computed(cfg.to_dict())], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]
