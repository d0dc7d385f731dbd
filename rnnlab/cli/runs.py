"""Commands on the run store: `rnnlab runs` lists it, `rnnlab eval` re-evaluates a run."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from rnnlab.cli.common import handles_errors, metric_style, out, registry


@handles_errors
def runs_cmd(
    runs_dir: Annotated[str, typer.Option(help="Run store directory.")] = "runs",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the runs in the run store (damaged ones with the file and the reason).

    Status: running (a live process writes it), completed, interrupted, failed, abandoned
    (it says running, but the process that wrote it was killed). A warm-started run names
    the run it started from (--init-from), and says so where that run is not in the store."""
    from rnnlab import ui
    from rnnlab.runs import RunStore

    runs, damaged = RunStore(runs_dir).scan()
    here = {run.id for run in runs} | {path.name for path, _ in damaged}
    rows: list[dict[str, Any]] = []
    for run in runs:
        config, summary = run.config, run.summary
        key = summary.get("primary_metric", "")
        rows.append({"id": run.id, "model": config.get("model"), "data": config.get("data"),
                     "L": config.get("L"), "seed": config.get("seed"), "status": run.state(),
                     "metric": key, "test": (summary.get("test") or {}).get(key),
                     "init_from": config.get("init_from"),
                     "parent_here": config.get("init_from") in here})
    rows += [{"id": path.name, "model": None, "data": None, "L": None, "seed": None,
              "status": "damaged", "metric": "", "test": None, "init_from": None,
              "parent_here": False, "reason": reason}
             for path, reason in damaged]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    percentages = {str(r["data"]): metric_style(r["data"])[0]
                   for r in rows if r["test"] is not None}
    ui.listings.runs(out, runs_dir, rows, percentages)


@handles_errors
def eval_cmd(
    run: Annotated[str, typer.Argument(help="Run id, unique id prefix or run directory.")],
    runs_dir: Annotated[str, typer.Option(help="Run store directory.")] = "runs",
    data_dir: Annotated[str | None, typer.Option(
        help="Where the run's data files are now, if they moved (their hashes are checked; "
             "default: where the run recorded them).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Evaluate a run's checkpoint on the dev and test data it was trained on."""
    import rnnlab
    from rnnlab import ui

    registry()
    target = rnnlab.load_run(run, runs_dir=runs_dir)
    with ui.ConsoleUI(out, quiet=as_json) as emit:
        results = rnnlab.evaluate(target, emit=emit, data_dir=data_dir)
    if as_json:
        out.print_json(json.dumps({"run": target.id, **results}))
        return
    percentages, baselines = metric_style(target.config.get("data"))
    ui.listings.evaluation(out, target.id, results, percentages, baselines)
