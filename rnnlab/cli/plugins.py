"""`rnnlab plugins [NAME]`: the installed plugins, or what one of them declares."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from rnnlab import registry as plugin_registry
from rnnlab.cli.common import handles_errors, out, registry
from rnnlab.errors import UsageError


@handles_errors
def plugins_cmd(
    name: Annotated[str | None, typer.Argument(
        help="Show one plugin's settings (--set KEY=VALUE) and recipes.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List installed model, dataset and report plugins and whether they load."""
    from rnnlab import ui

    if name is not None:
        details = plugin_details(name)
        if as_json:
            out.print_json(json.dumps(details, default=str))
        else:
            ui.listings.plugin_details(out, details)
        return
    rows = [{"kind": i.kind, "name": i.name, "distribution": i.dist, "version": i.version,
             "status": i.status, "summary": i.summary, "error": i.reason or None,
             "warnings": list(i.warnings)} for i in registry().load_all()]
    if as_json:
        out.print_json(json.dumps(rows))
    else:
        ui.listings.plugins(out, rows)


def plugin_details(name: str) -> list[dict[str, Any]]:
    """The status, settings and recipe of every plugin called `name` (a model and a report
    may share a name); a plugin that failed to load says why."""
    reg = registry()
    found = []
    for kind in plugin_registry.GROUPS:
        try:
            info = reg.find(kind, name)
        except UsageError:
            matches = [i for i in reg.infos(kind) if i.name == name or i.qualified == name]
            if not matches:
                continue
            info = matches[0]  # excluded by RNNLAB_PLUGINS: shown as disabled
        found.append((kind, info, reg.load(info)))
    if not found:
        reg.find("model", name)  # raises the did-you-mean error
    return [detail(kind, info, obj) for kind, info, obj in found]


def detail(kind: str, info: Any, obj: Any) -> dict[str, Any]:
    """One plugin's entry (`obj` is the loaded plugin, None if it failed to load)."""
    entry: dict[str, Any] = {
        "kind": kind, "name": info.name, "distribution": info.dist, "version": info.version,
        "status": info.status, "error": info.reason or None, "warnings": list(info.warnings),
        "summary": info.summary}
    if obj is None:
        return entry
    entry["recipe"] = dict(getattr(obj, "recipe", {}) or {})
    if kind == "model":
        from rnnlab.config import HOMEWORK

        entry["recipes"] = {HOMEWORK: {}, **dict(obj.recipes)}
        entry["default_recipe"] = obj.default_recipe
    if kind == "dataset":
        entry["declares"] = {
            "kind": obj.kind, "primary_metric": obj.primary_metric,
            "higher_is_better": obj.higher_is_better, "percentages": list(obj.percentages),
            "baselines": dict(obj.baselines), "early_stop": obj.early_stop,
            "sizes": dict(obj.sizes), "default": obj.default, "report": obj.report}
    entry["settings"] = {key: {"default": st.default, "choices": list(st.choices or []),
                               "help": st.help} for key, st in obj.settings.items()}
    return entry
