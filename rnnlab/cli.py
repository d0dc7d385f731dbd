"""The `rnnlab` command line: thin Typer commands over the Python API and the UI module."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from rnnlab import plugins
from rnnlab.errors import RnnlabError, UsageError

app = typer.Typer(
    name="rnnlab",
    help="A lab bench for recurrent networks under the hood: generate data, train models "
    "written from scratch next to PyTorch's, and report the comparisons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
state = {"debug": os.environ.get("RNNLAB_DEBUG", "") not in ("", "0")}

F = TypeVar("F", bound=Callable[..., Any])


def one_line(text: str) -> str:
    """A message on one line, control characters escaped (it may quote a hostile file)."""
    from rnnlab.ui import printable

    return printable(" ".join(text.split()))


def handles_errors(fn: F) -> F:
    """Turn RnnlabError (and any other failure) into one line on stderr and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt as exc:
            if state["debug"]:
                raise
            err.print(one_line(getattr(exc, "message", "interrupted")), markup=False,
                      soft_wrap=True)
            raise typer.Exit(getattr(exc, "exit_code", 130)) from None
        except RnnlabError as exc:
            if state["debug"]:
                raise
            err.print(f"error: {one_line(str(exc))}", markup=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            if state["debug"]:
                raise
            err.print(f"error: {type(exc).__name__}: {one_line(str(exc))} (--debug shows the "
                      "traceback)", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def registry() -> plugins.Registry:
    reg = plugins.registry()
    for warning in reg.warnings:
        err.print(f"warning: {one_line(warning)}", markup=False, soft_wrap=True)
    reg.warnings = []
    return reg


def split_ints(values: list[str] | None, option: str) -> list[int]:
    """`--L 10 --L 50` or `--L 10,50` as a list of ints."""
    result = []
    for value in values or []:
        for part in value.split(","):
            try:
                result.append(int(part))
            except ValueError:
                raise UsageError(f"{option} expects integers, got '{part}'") from None
    return result


def split_names(values: list[str] | None) -> list[str]:
    return [p.strip() for v in values or [] for p in v.split(",") if p.strip()]


def version_callback(value: bool) -> None:
    if value:
        from rnnlab import __version__

        out.print(f"rnnlab {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show tracebacks instead of one-line errors (also RNNLAB_DEBUG=1).")
    ] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    if debug:
        state["debug"] = True


# ---------------------------------------------------------------------------------------------
@app.command("plugins")
@handles_errors
def plugins_cmd(
    name: Annotated[str | None, typer.Argument(
        help="Show one plugin's settings (--set KEY=VALUE) and recipe.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List installed model, dataset and report plugins and whether they load."""
    from rnnlab import ui

    if name is not None:
        show_plugin(name, as_json)
        return
    infos = registry().load_all()
    rows = [{"kind": i.kind, "name": i.name, "distribution": i.dist, "version": i.version,
             "status": i.status, "summary": i.summary, "error": i.reason or None}
            for i in infos]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    cells = [[r["kind"], r["name"], r["distribution"], r["version"],
              r["status"] if not r["error"] else f"failed: {r['error']}", r["summary"]]
             for r in rows]
    out.print(ui.simple_table("rnnlab plugins",
                              ["kind", "name", "distribution", "version", "status", "summary"],
                              cells))


def show_plugin(name: str, as_json: bool) -> None:
    """The settings and recipe of every plugin called `name` (a model and a report may share)."""
    from rnnlab import ui

    reg = registry()
    found = []
    for kind in plugins.GROUPS:
        try:
            found.append((kind, reg.get(kind, name)))
        except UsageError:
            continue
    if not found:
        reg.find("model", name)  # raises the did-you-mean error
    details = [{"kind": kind, "name": name, "summary": obj.summary,
                "recipe": dict(getattr(obj, "recipe", {}) or {}),
                "settings": {key: {"default": st.default, "choices": list(st.choices or []),
                                   "help": st.help} for key, st in obj.settings.items()}}
               for kind, obj in found]
    if as_json:
        out.print_json(json.dumps(details, default=str))
        return
    for d in details:
        out.print(f"{d['kind']} {d['name']}: {d['summary']}", markup=False)
        if d["recipe"]:
            out.print("recipe: " + ", ".join(f"{k}={v}" for k, v in d["recipe"].items()),
                      markup=False)
        rows = [[key, str(st["default"]), "|".join(map(str, st["choices"])) or "-", st["help"]]
                for key, st in d["settings"].items()]
        if rows:
            out.print(ui.simple_table("settings (--set KEY=VALUE)",
                                      ["key", "default", "choices", "meaning"], rows))


# ---------------------------------------------------------------------------------------------
@app.command("gen-data")
@handles_errors
def gen_data_cmd(
    dataset: Annotated[str, typer.Argument(help="Dataset plugin.")] = "adding",
    L: Annotated[list[str] | None, typer.Option(
        "--L", help="Sequence length; repeat or comma-separate for several (default 100).")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Root data directory.")] = Path(
        "datasets"),
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes identical files.")] = 0,
    n_train: Annotated[int | None, typer.Option(help="Training sequences/images.")] = None,
    n_dev: Annotated[int | None, typer.Option(help="Dev sequences.")] = None,
    n_test: Annotated[int | None, typer.Option(help="Test sequences/images.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite files with different content.")] = False,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="Dataset setting KEY=VALUE.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print the paths.")] = False,
) -> None:
    """Generate dataset files (the adding task by default, in the course CSV format)."""
    import rnnlab
    from rnnlab import ui
    from rnnlab.config import parse_sets

    registry()
    sizes = {k: v for k, v in (("train", n_train), ("dev", n_dev), ("test", n_test))
             if v is not None}
    paths = rnnlab.gen_data(dataset, lengths=split_ints(L, "--L") or [100], out=out_dir,
                            seed=seed, sizes=sizes, force=force,
                            settings=parse_sets(sets or []), emit=ui.ConsoleUI(out, quiet))
    for path in paths:
        out.print(one_line(str(path)), markup=False)


# ---------------------------------------------------------------------------------------------
@app.command("train")
@handles_errors
def train_cmd(
    model: Annotated[str | None, typer.Argument(help="Model plugin, e.g. alarmwork, lstm.")
                     ] = None,
    data: Annotated[str | None, typer.Option(help="Dataset plugin (default: the model's).")
                    ] = None,
    L: Annotated[int | None, typer.Option("--L", help="Sequence length [100].")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs [50].")] = None,
    updates: Annotated[int | None, typer.Option(
        help="Train for this many random batches instead of epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size [20].")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate [0.01].")] = None,
    momentum: Annotated[float | None, typer.Option(help="SGD momentum [0.9].")] = None,
    optimizer: Annotated[str | None, typer.Option(help="sgd|adam [sgd].")] = None,
    clip_grad: Annotated[float | None, typer.Option(
        help="Clip the gradient's global L2 norm to this (Pascanu et al. 2013).")] = None,
    shuffle: Annotated[bool | None, typer.Option(
        "--shuffle/--no-shuffle", help="New seeded batch order every epoch [no].")] = None,
    lr_schedule: Annotated[str | None, typer.Option(
        help="constant|cosine|step: cosine decays the learning rate to ~0 over the epochs, "
             "step divides it by 10 for the last fifth [constant].")] = None,
    hidden: Annotated[int | None, typer.Option(help="Hidden units P [50].")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for init and batch order [0].")] = None,
    device: Annotated[str | None, typer.Option(help="auto|cpu|cuda [auto].")] = None,
    early_stop: Annotated[str | None, typer.Option(
        help="Stop once dev accuracy exceeds this; 'off' never stops early [99.5].")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML file with any of these options.")
                      ] = None,
    data_dir: Annotated[str | None, typer.Option(
        help="Root data directory [datasets]; with --resume, where the run's data files are "
             "now (they must be the same files: their hashes are checked).")] = None,
    runs_dir: Annotated[str | None, typer.Option(help="Run store directory [runs].")] = None,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="Model or dataset setting KEY=VALUE (see `rnnlab plugins NAME`).")] = None,
    print_config: Annotated[bool, typer.Option(
        help="Print the resolved configuration and exit.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    resume: Annotated[str | None, typer.Option(
        help="Continue an interrupted run from its last completed epoch, on the data files "
             "it recorded; refused while another process writes the run.")] = None,
) -> None:
    """Train a model; everything lands in a new run directory."""
    from rnnlab import config as cfgmod
    from rnnlab import runner, ui

    if resume is not None:
        import rnnlab

        fixed = {"--data": data, "--L": L, "--epochs": epochs, "--updates": updates,
                 "--batch-size": batch_size, "--lr": lr, "--momentum": momentum,
                 "--optimizer": optimizer, "--clip-grad": clip_grad,
                 "--shuffle" if shuffle else "--no-shuffle": shuffle,
                 "--lr-schedule": lr_schedule, "--hidden": hidden, "--seed": seed,
                 "--device": device, "--early-stop": early_stop, "--config": config,
                 "--set": sets or None, "--print-config": print_config or None}
        given = [name for name, value in fixed.items() if value is not None]
        if given:
            raise UsageError(f"--resume continues a run as it was configured; drop "
                             f"{', '.join(given)}")
        run = rnnlab.load_run(resume, runs_dir=runs_dir or "runs")
        if model is not None and model != run.config.get("model"):
            raise UsageError(f"run {run.id} trains '{run.config.get('model')}', not '{model}'")
        _report_run(runner.train(registry=registry(), emit=ui.ConsoleUI(out, quiet),
                                 resume=run, data_dir=data_dir), quiet)
        return
    if model is None:
        raise UsageError("missing argument MODEL (e.g. rnnlab train alarmwork)")

    options: dict[str, Any] = {
        "data": data, "L": L, "epochs": epochs, "updates": updates, "batch_size": batch_size,
        "lr": lr, "momentum": momentum, "optimizer": optimizer, "clip_grad": clip_grad,
        "shuffle": shuffle, "lr_schedule": lr_schedule, "hidden": hidden, "seed": seed,
        "device": device, "data_dir": data_dir, "runs_dir": runs_dir,
    }
    if early_stop is not None:
        try:
            options["early_stop"] = "off" if early_stop.lower() == "off" else float(early_stop)
        except ValueError:
            raise UsageError(f"--early-stop expects a number or 'off', got '{early_stop}'"
                             ) from None
    cfg = cfgmod.resolve(model, registry(), config_file=config, options=options,
                         sets=cfgmod.parse_sets(sets or []))
    if print_config:
        out.print(cfgmod.to_yaml(cfg).rstrip(), markup=False, soft_wrap=True)
        return
    _report_run(runner.train(cfg, registry=registry(), emit=ui.ConsoleUI(out, quiet)), quiet)


def _report_run(run: Any, quiet: bool) -> None:
    from rnnlab import ui

    summary = run.summary
    if quiet:
        test = summary.get("test", {})
        key = summary.get("primary_metric", "")
        out.print(one_line(f"{run.id} {summary.get('status')} test {key} "
                           f"{ui.fmt_metric(key, test.get(key))}"), markup=False)
    else:
        out.print(ui.run_summary_table(run.id, summary))


# ---------------------------------------------------------------------------------------------
@app.command("eval")
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
    results = rnnlab.evaluate(target, emit=ui.ConsoleUI(out, quiet=as_json), data_dir=data_dir)
    if as_json:
        out.print_json(json.dumps({"run": target.id, **results}))
        return
    rows = [[split, ui.label(k), ui.fmt_metric(k, v)]
            for split, metrics in results.items() for k, v in metrics.items()]
    out.print(ui.simple_table(f"run {target.id}", ["split", "metric", "value"], rows))


# ---------------------------------------------------------------------------------------------
@app.command("report")
@handles_errors
def report_cmd(
    name: Annotated[str, typer.Argument(help="Report plugin, e.g. accuracy.")],
    runs: Annotated[list[str] | None, typer.Argument(help="Runs to use (default: all).")
                    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table|markdown|csv|json.")] = "table",
    model: Annotated[list[str] | None, typer.Option(
        "--model", help="Only these models (repeat or comma-separate).")] = None,
    L: Annotated[list[str] | None, typer.Option("--L", help="Only these lengths.")] = None,
    sweep: Annotated[str | None, typer.Option(help="Only the runs of this sweep.")] = None,
    runs_dir: Annotated[str, typer.Option(help="Run store directory.")] = "runs",
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Where pictures go [RUNS_DIR/reports].")] = None,
    sets: Annotated[list[str] | None, typer.Option("--set", help="Report setting KEY=VALUE.")
                    ] = None,
) -> None:
    """Make a report (table or pictures) from the run store."""
    import rnnlab
    from rnnlab import ui
    from rnnlab.config import parse_sets

    if fmt not in ("table", "markdown", "csv", "json"):
        raise UsageError(f"--format expects table|markdown|csv|json, got '{fmt}'")
    registry()
    result = rnnlab.report(name, runs, runs_dir=runs_dir, models=split_names(model),
                           lengths=split_ints(L, "--L"), sweep=sweep,
                           settings=parse_sets(sets or []), out_dir=out_dir,
                           emit=ui.ConsoleUI(err))
    print_report(result, fmt)


def print_report(result: Any, fmt: str) -> None:
    from rnnlab import ui

    if result.columns:
        rendered = ui.render_report(result, fmt)
        if isinstance(rendered, str):
            print(rendered)
        else:
            out.print(rendered)
            for note in result.notes:
                out.print(one_line(note), markup=False)
    for path in result.files:
        out.print(one_line(str(path)), markup=False)


# ---------------------------------------------------------------------------------------------
@app.command("sweep")
@handles_errors
def sweep_cmd(
    file: Annotated[Path | None, typer.Argument(help="YAML sweep file (lists make axes).")
                    ] = None,
    model: Annotated[list[str] | None, typer.Option(
        "--model", help="Models (repeat or comma-separate).")] = None,
    L: Annotated[list[str] | None, typer.Option("--L", help="Sequence lengths.")] = None,
    seeds: Annotated[int | None, typer.Option(help="Seeds 0..N-1 per cell.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs per run.")] = None,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="Setting KEY=VALUE for every run.")] = None,
    jobs: Annotated[int, typer.Option(help="Worker processes (one thread each).")] = 1,
    executor: Annotated[str, typer.Option(help="local|dask.")] = "local",
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address, e.g. tcp://HOST:8786 (default: a local cluster).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Sweep id (default: from the grid).")
                    ] = None,
    rerun_failed: Annotated[bool, typer.Option(help="Run failed cells again.")] = False,
    force: Annotated[bool, typer.Option(help="Run every cell again, even completed ones.")
                     ] = False,
    runs_dir: Annotated[str, typer.Option(help="Run store directory.")] = "runs",
    data_dir: Annotated[str | None, typer.Option(help="Root data directory.")] = None,
) -> None:
    """Run a grid of trainings (models x L x seeds x ...); rerun the same sweep to resume."""
    from rnnlab import limits, ui
    from rnnlab import sweep as sweeps
    from rnnlab.config import parse_sets

    where = str(file) if file else "sweep"
    spec = sweeps.read_spec(file) if file else {}
    for key, value in (("model", split_names(model)), ("L", split_ints(L, "--L"))):
        if value:
            spec[key] = value
    if seeds is not None:
        limits.check_seed_count("--seeds", seeds)  # before a grid of them is built
        spec.pop("seed", None)
        spec["seeds"] = seeds
    if epochs is not None:
        spec["epochs"] = epochs
    if sets:
        spec["set"] = {**spec.get("set", {}), **parse_sets(sets)}
    if name:
        spec["name"] = name
    if jobs < 1:
        raise UsageError(f"--jobs expects an integer >= 1, got {jobs}")
    local = scheduler is None  # workers on this machine (a remote Dask cluster has its own)
    if local:
        limits.check_jobs(jobs)
    plan = sweeps.build(spec, registry(), where=where, runs_dir=runs_dir, data_dir=data_dir)
    if local:  # the largest run of the grid sets what one worker needs
        limits.check_jobs(jobs, len(plan.cells), limits.worker_memory(
            [c.config for c in plan.cells], registry()))
    sweeps.plan(plan, rerun_failed=rerun_failed, force=force)
    view = ui.SweepView(out, len(plan.cells), f"sweep {plan.id}: {len(plan.cells)} runs")
    try:
        sweeps.run(plan, jobs=jobs, executor=executor, scheduler=scheduler, emit=view)
    except KeyboardInterrupt as exc:
        from rnnlab.runner import RunInterrupted, Terminated

        view.close()
        code = 143 if isinstance(exc, Terminated) else 130
        raise RunInterrupted(f"sweep {plan.id} interrupted; run the same command again to "
                             "resume it", code) from None
    finally:
        view.close()
    failed = [c for c in plan.cells if c.state == "failed"]
    done = sum(c.state in ("done", "skipped") for c in plan.cells)
    out.print(one_line(f"sweep {plan.id}: {done}/{len(plan.cells)} runs completed, "
                       f"{len(failed)} failed, {plan.wall_time_s:.0f} s"), markup=False,
              highlight=False)
    for cell in failed:
        out.print(f"  failed: {one_line(cell.label)}: {one_line(cell.info)}", markup=False,
                  highlight=False)
    import rnnlab

    print_report(rnnlab.report("accuracy", runs_dir=runs_dir, sweep=plan.id), "table")
    if failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------
@app.command("gradcheck")
@handles_errors
def gradcheck_cmd(
    model: Annotated[str, typer.Argument(help="Model plugin with analytic gradients.")],
    L: Annotated[int, typer.Option("--L", help="Sequence length of the test case.")] = 5,
    batch: Annotated[int, typer.Option(help="Samples in the test case.")] = 3,
    hidden: Annotated[int, typer.Option(help="Hidden units of the test case.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed for weights and data.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Compare a model's gradients with finite differences and autograd (exit 1 on failure)."""
    from rnnlab import gradcheck, ui

    for option, value in (("--L", L), ("--batch", batch), ("--hidden", hidden)):
        if value < 1:
            raise UsageError(f"{option} expects an integer >= 1, got {value}")
    rows = gradcheck.check(model, L=L, batch=batch, hidden=hidden, seed=seed,
                           registry=registry())
    failed = [r for r in rows if not r["ok"]]
    if as_json:
        out.print_json(json.dumps(rows))
    else:
        def rel(value: float | None) -> str:
            return "-" if value is None else f"{value:.1e}"

        cells = [[r["form"], r["parameter"], "x".join(map(str, r["shape"])),
                  rel(r["fd_max_rel"]), rel(r["autograd_max_rel"]),
                  "pass" if r["ok"] else "FAIL"] for r in rows]
        out.print(ui.simple_table(
            f"gradcheck {model}: L={L}, batch {batch}, hidden {hidden}, float64",
            ["form", "param", "shape", "rel err vs FD", "vs autograd", "result"], cells))
        out.print(f"{len(rows) - len(failed)}/{len(rows)} passed (relative error < "
                  f"{gradcheck.FD_TOLERANCE:g} vs finite differences, < "
                  f"{gradcheck.REFERENCE_TOLERANCE:g} vs autograd)")
    if failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------
@app.command("runs")
@handles_errors
def runs_cmd(
    runs_dir: Annotated[str, typer.Option(help="Run store directory.")] = "runs",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the runs in the run store (damaged ones with the file and the reason).

    Status: running (a live process writes it), completed, interrupted, failed, abandoned
    (it says running, but the process that wrote it was killed)."""
    from rnnlab import ui
    from rnnlab.runs import RunStore

    runs, damaged = RunStore(runs_dir).scan()
    rows = []
    for run in runs:
        config, summary = run.config, run.summary
        key = summary.get("primary_metric", "")
        rows.append({"id": run.id, "model": config.get("model"), "data": config.get("data"),
                     "L": config.get("L"), "seed": config.get("seed"), "status": run.state(),
                     "metric": key, "test": (summary.get("test") or {}).get(key)})
    rows += [{"id": path.name, "model": None, "data": None, "L": None, "seed": None,
              "status": "damaged", "metric": "", "test": None, "reason": reason}
             for path, reason in damaged]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    cells = [[r["id"], str(r["model"] or "-"), str(r["data"] or "-"),
              str(r["L"] if r["L"] else "-"), str("-" if r["seed"] is None else r["seed"]),
              r["status"],
              f"{ui.fmt_metric(r['metric'], r['test'])} {r['metric']}" if r["test"] is not None
              else r.get("reason", "-")] for r in rows]
    out.print(ui.simple_table(f"runs in {runs_dir}",
                              ["id", "model", "data", "L", "seed", "status", "test"], cells))


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. Command-line mistakes are one line on stderr, exit code 2.

    Runs use one CPU thread unless OMP_NUM_THREADS says otherwise: the models are small, and
    the same seed then gives the same numbers on machines with any number of cores."""
    for variable in THREAD_VARIABLES:  # before torch or NumPy load their thread pools
        os.environ.setdefault(variable, os.environ.get("OMP_NUM_THREADS", "1"))
    try:
        code = app(args=argv, prog_name="rnnlab", standalone_mode=False)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except typer.TyperException as exc:  # parse errors: bad option, missing argument, ...
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":
            out.print(message, markup=False, highlight=False)
            sys.exit(0)
        context = getattr(exc, "ctx", None)
        hint = f" (see: {context.command_path} --help)" if context is not None else ""
        err.print(f"error: {one_line(message)}{hint}", markup=False, soft_wrap=True)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
