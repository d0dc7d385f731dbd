"""`rnnlab sweep`: run a grid of trainings, show its progress, sum it up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from rnnlab.cli import params
from rnnlab.cli.common import handles_errors, out, registry
from rnnlab.errors import EXIT_FAILED, RunInterrupted, UsageError, interrupt_code


@handles_errors
def sweep_cmd(
    file: Annotated[Path | None, typer.Argument(help="YAML sweep file (lists make axes).")
                    ] = None,
    model: Annotated[list[str] | None, params.name_list(
        "--model", help="Models (repeat or comma-separate).")] = None,
    L: Annotated[list[int] | None, params.integers("--L", help="Sequence lengths.")] = None,
    seeds: Annotated[int | None, typer.Option(help="Seeds 0..N-1 per cell.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs per run.")] = None,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="Setting KEY=VALUE for every run.")] = None,
    jobs: Annotated[int, typer.Option(help="Worker processes (one thread each).")] = 1,
    executor: Annotated[str, typer.Option(
        help="Where the cells run: local (worker processes), dask, or any installed executor "
             "(`rnnlab plugins` lists them).")] = "local",
    pack: Annotated[bool, typer.Option(
        "--pack", help="Train runs that differ only in seed or scalar options (lr, momentum, "
                       "clipping, schedule, init) as one packed model where the model can and "
                       "it is faster (on a GPU); the same as --executor pack.")] = False,
    scheduler: Annotated[str | None, typer.Option(
        help="Cluster address for the executor, e.g. a Dask scheduler tcp://HOST:8786 "
             "(default: a local cluster).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Sweep id (default: from the grid).")
                    ] = None,
    rerun_failed: Annotated[bool, typer.Option(help="Run failed cells again.")] = False,
    force: Annotated[bool, typer.Option(help="Run every cell again, even completed ones.")
                     ] = False,
    runs_dir: Annotated[str, typer.Option(help="Run store directory.")] = "runs",
    data_dir: Annotated[str | None, typer.Option(help="Root data directory.")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Progress as JSON lines on stdout: one object per cell update, then "
                       "one with the totals.")] = False,
) -> None:
    """Run a grid of trainings (models x L x seeds x ...); rerun the same sweep to resume."""
    from rnnlab import limits, ui
    from rnnlab import sweep as sweeps
    from rnnlab.config import parse_sets

    spec = sweeps.apply_overrides(sweeps.read_spec(file) if file else {}, models=model or [],
                                  lengths=L or [], seeds=seeds, epochs=epochs,
                                  sets=parse_sets(sets or []), name=name)
    if jobs < 1:
        raise UsageError(f"--jobs expects an integer >= 1, got {jobs}")
    if pack:
        if executor not in ("local", "pack"):
            raise UsageError(f"--pack runs on this machine; it cannot go with --executor "
                             f"{executor}")
        executor = "pack"
    sweeps.executor_plugin(executor, registry())  # an unknown one is refused before any work
    local = scheduler is None  # workers on this machine (a remote Dask cluster has its own)
    if local:
        limits.check_jobs(jobs)
    plan = sweeps.build(spec, registry(), where=str(file) if file else "sweep",
                        runs_dir=runs_dir, data_dir=data_dir)
    if local:  # the largest run of the grid sets what one worker needs
        limits.check_jobs(jobs, len(plan.cells), limits.worker_memory(
            [c.config for c in plan.cells], registry()))
    sweeps.plan(plan, rerun_failed=rerun_failed, force=force)
    view = (ui.SweepJson(out) if as_json
            else ui.SweepView(out, len(plan.cells), f"sweep {plan.id}: {len(plan.cells)} runs"))
    try:
        sweeps.run(plan, jobs=jobs, executor=executor, scheduler=scheduler, emit=view)
    except KeyboardInterrupt as exc:
        view.close()
        raise RunInterrupted(f"sweep {plan.id} interrupted; run the same command again to "
                             "resume it", interrupt_code(exc)) from None
    finally:
        view.close()
    failed = [(c.label, c.info) for c in plan.cells if c.state == "failed"]
    done = sum(c.state in ("done", "skipped") for c in plan.cells)
    view.finish(plan.id, len(plan.cells), done, failed, plan.wall_time_s)
    if not as_json:
        sum_up(plan, runs_dir)
    if failed:
        raise typer.Exit(EXIT_FAILED)


def sum_up(plan: Any, runs_dir: str) -> None:
    """The table each dataset of the sweep declares as its summary (`DatasetPlugin.report`),
    once per report; a dataset that declares none gets a line saying so."""
    import rnnlab
    from rnnlab import ui

    reports: list[str] = []
    for data in dict.fromkeys(str(c.config.data) for c in plan.cells):
        report = str(registry().get("dataset", data).report or "")
        if not report:
            ui.sweep.no_summary(out, data, plan.id)
        elif report not in reports:
            reports.append(report)
    for report in reports:
        ui.show_report(out, rnnlab.report(report, runs_dir=runs_dir, sweep=plan.id), "table")
