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
    epochs: Annotated[str | None, typer.Option(help="Epochs per run.")] = None,
    data: Annotated[str | None, typer.Option(help="Dataset plugin(s).")] = None,
    recipe: Annotated[str | None, typer.Option(help="The models' named recipe(s).")] = None,
    updates: Annotated[str | None, typer.Option(
        help="Random batches per run instead of epochs.")] = None,
    batch_size: Annotated[str | None, typer.Option(help="Batch size(s).")] = None,
    lr: Annotated[str | None, typer.Option(help="Learning rate(s), e.g. 1e-3,3e-4.")] = None,
    momentum: Annotated[str | None, typer.Option(help="SGD momentum(s).")] = None,
    optimizer: Annotated[str | None, typer.Option(help="sgd, adam or both.")] = None,
    clip_grad: Annotated[str | None, typer.Option(
        help="Gradient-norm clipping threshold(s); off for none.")] = None,
    shuffle: Annotated[bool | None, typer.Option(
        "--shuffle/--no-shuffle", help="New seeded batch order every epoch.")] = None,
    lr_schedule: Annotated[str | None, typer.Option(
        help="constant, cosine and/or step.")] = None,
    hidden: Annotated[str | None, typer.Option(help="Hidden units P.")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda.")] = None,
    early_stop: Annotated[str | None, typer.Option(
        help="Dev primary metric to stop at; off never stops early.")] = None,
    init_from: Annotated[str | None, typer.Option(
        help="Warm start every run from this completed run.")] = None,
    init_optimizer: Annotated[bool, typer.Option(
        "--init-optimizer", help="With --init-from: its optimizer state too.")] = False,
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
    """Run a grid of trainings (models x L x seeds x ...); rerun the same sweep to resume.

    Every training option of `rnnlab train` is accepted and replaces the sweep file's; a
    comma-separated list makes an axis (--lr 1e-3,3e-4 --optimizer sgd,adam: four cells per
    model, length and seed)."""
    from rnnlab import limits, ui
    from rnnlab import sweep as sweeps
    from rnnlab.config import parse_sets

    given = {"epochs": epochs, "data": data, "recipe": recipe, "updates": updates,
             "batch_size": batch_size, "lr": lr, "momentum": momentum, "optimizer": optimizer,
             "clip_grad": clip_grad, "lr_schedule": lr_schedule, "hidden": hidden,
             "device": device, "early_stop": early_stop, "init_from": init_from}
    options: dict[str, Any] = {}
    for key, text in given.items():
        if text is not None:
            values = params.axis_values(key, text)
            options[key] = values if len(values) > 1 else values[0]
    if shuffle is not None:
        options["shuffle"] = shuffle
    if init_optimizer:
        options["init_optimizer"] = True
    spec = sweeps.apply_overrides(sweeps.read_spec(file) if file else {}, models=model or [],
                                  lengths=L or [], seeds=seeds, epochs=None,
                                  sets=parse_sets(sets or []), name=name, options=options)
    if jobs < 1:
        raise UsageError(f"--jobs expects an integer >= 1, got {jobs}")
    if pack:
        if executor not in ("local", "pack"):
            raise UsageError(f"--pack runs on this machine; it cannot go with --executor "
                             f"{executor}")
        executor = "pack"
    sweeps.executor_plugin(executor, registry())  # an unknown one is refused before any work
    if scheduler is not None and executor in ("local", "pack"):
        raise UsageError(f"--scheduler is the address of a cluster; it goes with an executor "
                         f"that uses one (--executor dask), not {executor}")
    local = scheduler is None  # workers on this machine (a remote Dask cluster has its own)
    if local:
        limits.check_jobs(jobs)
    plan = sweeps.build(spec, registry(), where=str(file) if file else "sweep",
                        runs_dir=runs_dir, data_dir=data_dir)
    if local and any(c.config.device == "cuda" for c in plan.cells):
        from rnnlab.torch_learner import pick_device  # torch: only when a cell asks for cuda

        try:
            pick_device("cuda")  # refused now, not after the cells before it have trained
        except UsageError as exc:
            raise UsageError(f"{file or 'sweep'}: {exc}") from None
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
        again = ("run it again without --force to resume it (the cells it had not reached "
                 "keep their earlier runs), or with --force to start over" if force
                 else "run the same command again to resume it")
        raise RunInterrupted(f"sweep {plan.id} interrupted; {again}", interrupt_code(exc)
                             ) from None
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
    if not any(c.state in ("done", "skipped") for c in plan.cells):
        reports = []  # nothing completed: no table of nothing
    for report in reports:
        try:
            result = rnnlab.report(report, runs_dir=runs_dir, sweep=plan.id)
        except UsageError:  # no run of the sweep is in the store (an executor said otherwise)
            continue
        ui.show_report(out, result, "table")
