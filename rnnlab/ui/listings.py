"""What the commands list, from the plain rows they collect: plugins and what one declares,
the run store, a run's result and evaluation, a gradient check, a new plugin's files."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from rnnlab.ui.tables import cell, run_summary_table, simple_table
from rnnlab.ui.text import fmt_metric, label, one_line


def lines(console: Console, texts: Iterable[Any], *, soft_wrap: bool = False) -> None:
    """Each text on a line of its own, taken literally, control characters escaped."""
    for text in texts:
        console.print(one_line(text), markup=False, soft_wrap=soft_wrap)


def block(console: Console, text: str) -> None:
    """A block of text as it is (e.g. a YAML configuration), never read as markup."""
    console.print(text.rstrip(), markup=False, soft_wrap=True)


def status_text(row: dict[str, Any]) -> str:
    """'ok', 'failed: reason', 'disabled: excluded by RNNLAB_PLUGINS', plus any warnings."""
    text = row["status"] + (f": {row['error']}" if row["error"] else "")
    return "; ".join([text, *(f"warning: {w}" for w in row["warnings"])])


def plugins(console: Console, rows: list[dict[str, Any]]) -> None:
    """The installed plugins by kind: name, distribution and version, status, and the summary
    wrapped in what is left of the terminal's width."""
    kinds = {"model": "models", "dataset": "datasets", "report": "reports",
             "executor": "executors"}
    for kind in dict.fromkeys(r["kind"] for r in rows):
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
        table.add_column(no_wrap=True)  # name: never cut
        table.add_column(no_wrap=True)  # distribution version
        table.add_column()  # status and summary
        for r in (r for r in rows if r["kind"] == kind):
            status = status_text(r)
            said = r["summary"] if status == "ok" else f"{status}. {r['summary']}".strip()
            table.add_row(cell(r["name"]), cell(f"{r['distribution']} {r['version']}"),
                          cell(said))
        console.print(kinds.get(kind, kind), style="bold", markup=False)
        console.print(table)


def plugin_details(console: Console, details: list[dict[str, Any]]) -> None:
    """Each plugin's status and summary, its recipe, what a dataset declares, and a table of
    its settings."""
    for d in details:
        console.print(one_line(f"{d['kind']} {d['name']} ({d['distribution']} {d['version']}): "
                               f"{status_text(d)}"), markup=False, soft_wrap=True)
        if d["summary"]:
            console.print(one_line(d["summary"]), markup=False, soft_wrap=True)
        if d.get("recipe") and not d.get("default_recipe"):
            console.print("recipe (default): " + ", ".join(f"{k}={v}" for k, v in
                                                           d["recipe"].items()), markup=False)
            if list(d.get("recipes", {})) == ["homework"]:  # the one named besides it
                console.print("other recipes (--recipe NAME): homework (rnnlab defaults)",
                              markup=False)
        if len(d.get("recipes", {})) > 1 or d.get("default_recipe"):
            console.print("recipes (--recipe NAME):", markup=False)
            for name, options in d["recipes"].items():
                values = {**{k: v for k, v in options.items() if k != "set"},
                          **(options.get("set") or {})}
                said = ", ".join(f"{k}={v}" for k, v in values.items())
                mark = " (default)" if name == d.get("default_recipe") else ""
                console.print(one_line(f"  {name}{mark}: {said or 'rnnlab defaults'}"),
                              markup=False, soft_wrap=True)
        for key, value in d.get("declares", {}).items():
            if value not in ("", None, [], {}):
                console.print(one_line(f"{key}: {value}"), markup=False, soft_wrap=True)
        rows = [[key, str(st["default"]), " | ".join(map(str, st["choices"])) or "-", st["help"]]
                for key, st in d.get("settings", {}).items()]
        if rows:
            console.print(simple_table("settings (--set KEY=VALUE)",
                                       ["key", "default", "choices", "meaning"], rows))


def runs(console: Console, runs_dir: str, rows: list[dict[str, Any]],
         percentages: dict[str, Collection[str]]) -> None:
    """The run store, one row per run; `percentages` by dataset name. The id names the model;
    a warm start names the run it began from below its id; the test metric goes into the
    header when every run has the same."""
    metrics = {r["metric"] for r in rows if r["test"] is not None}
    one = next(iter(metrics)) if len(metrics) == 1 else ""

    def test(r: dict[str, Any]) -> str:
        if r["test"] is None:
            return r.get("reason", "-")
        shown = fmt_metric(r["metric"], r["test"], percentages.get(str(r["data"]), ()))
        return shown if one else f"{shown} {r['metric']}"

    table = Table(title=cell(f"runs in {runs_dir}"), box=box.SIMPLE_HEAD, pad_edge=False,
                  show_edge=False, collapse_padding=True)
    table.add_column("id", no_wrap=True)
    for header in ("L", "seed", "status", f"test {one}".strip()):
        table.add_column(header)
    for r in rows:
        ident = cell(r["id"])
        if r.get("init_from"):
            ident.append("\n from ").append(cell(r["init_from"]))
            if not r.get("parent_here", True):
                ident.append("\n (not in this store)")
        table.add_row(ident, cell(r["L"] if r["L"] else "-"),
                      cell("-" if r["seed"] is None else r["seed"]), cell(r["status"]),
                      cell(test(r)))
    console.print(table)


def run_result(console: Console, run_id: str, summary: dict[str, Any], quiet: bool,
               percentages: Collection[str] = (), baselines: dict[str, str] | None = None
               ) -> None:
    """How a run ended: its summary table, or with `quiet` one line 'ID STATUS test KEY VALUE'."""
    if quiet:
        key = summary.get("primary_metric", "")
        value = summary.get("test", {}).get(key)
        console.print(one_line(f"{run_id} {summary.get('status')} test {key} "
                               f"{fmt_metric(key, value, percentages)}"), markup=False)
    else:
        console.print(run_summary_table(run_id, summary, percentages, baselines))


def evaluation(console: Console, run_id: str, results: dict[str, dict[str, Any]],
               percentages: Collection[str] = (), baselines: dict[str, str] | None = None
               ) -> None:
    """A run's re-evaluated metrics, one row per split and metric."""
    rows = [[split, label(k, baselines), fmt_metric(k, v, percentages)]
            for split, metrics in results.items() for k, v in metrics.items()]
    console.print(simple_table(f"run {run_id}", ["split", "metric", "value"], rows))


def gradcheck(console: Console, model: str, case: dict[str, int], rows: list[dict[str, Any]],
              fd_tolerance: float, reference_tolerance: float) -> None:
    """A gradient check (`case`: its L, batch and hidden), one row per form and parameter,
    then how many passed."""
    def rel(value: float | None) -> str:
        return "-" if value is None else f"{value:.1e}"

    referenced = any(r["autograd_max_rel"] is not None for r in rows)
    cells = []
    for i, r in enumerate(rows):
        # a form's settings once, one to a line, beside its first parameter
        form = "" if i and rows[i - 1]["form"] == r["form"] else r["form"].replace(" ", "\n")
        cells.append([form, r["parameter"], "x".join(map(str, r["shape"])),
                      rel(r["fd_max_rel"]), *([rel(r["autograd_max_rel"])] * referenced),
                      "pass" if r["ok"] else "FAIL"])
    length = f"L={case['L']}, " if "L" in case else ""
    title = f"gradcheck {model}: {length}batch {case['batch']}, hidden {case['hidden']}, float64"
    headers = ["form", "param", "shape", "rel err vs FD", *(["vs autograd"] * referenced),
               "result"]
    console.print(simple_table(title, headers, cells, multiline=True))
    passed = sum(bool(r["ok"]) for r in rows)
    versus = f", < {reference_tolerance:g} vs autograd" if referenced else ""
    console.print(f"{passed}/{len(rows)} passed (relative error < {fd_tolerance:g} vs finite "
                  f"differences{versus})")


def new_plugin(console: Console, kind: str, name: str, root: Path, files: list[Any],
               next_steps: list[str]) -> None:
    """What `rnnlab new-plugin` made, and what to do next."""
    console.print(one_line(f"created {kind} plugin '{name}' in {root}:"), markup=False,
                  soft_wrap=True)
    for path in files:
        console.print(f"  {one_line(str(root / path))}", markup=False, soft_wrap=True)
    console.print("next steps:", markup=False)
    for line in next_steps:
        console.print(f"  {one_line(line)}", markup=False, soft_wrap=True)
