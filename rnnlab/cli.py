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

from rnnlab import registry as plugin_registry
from rnnlab.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    RnnlabError,
    UsageError,
    interrupt_code,
)

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
    """Turn RnnlabError (and any other failure) into one line on stderr and an exit code;
    warnings about the plugins the command used come first."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (KeyboardInterrupt, Exception) as exc:
            flush_warnings()
            if isinstance(exc, typer.Exit) or state["debug"]:
                raise
            if isinstance(exc, KeyboardInterrupt):
                line, code = one_line(getattr(exc, "message", "interrupted")), interrupt_code(exc)
            elif isinstance(exc, RnnlabError):
                line, code = f"error: {one_line(str(exc))}", exc.exit_code
            else:
                line, code = (f"error: {type(exc).__name__}: {one_line(str(exc))} (--debug "
                              "shows the traceback)", EXIT_FAILED)
            err.print(line, markup=False, soft_wrap=True)
            raise typer.Exit(code) from None
        finally:
            flush_warnings()  # what using the plugins turned up (once: it empties the list)

    return wrapper  # type: ignore[return-value]


def flush_warnings() -> None:
    """Print (once) what the registry found questionable about the plugins used so far."""
    reg = plugin_registry.default()
    for warning in reg.warnings:
        err.print(f"warning: {one_line(warning)}", markup=False, soft_wrap=True)
    reg.warnings = []


def registry() -> plugin_registry.Registry:
    flush_warnings()
    return plugin_registry.default()


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
        "--debug", help="Show tracebacks instead of one-line errors (also RNNLAB_DEBUG=1); "
                        "accepted anywhere on the command line.")
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
             "status": i.status, "summary": i.summary, "error": i.reason or None,
             "warnings": list(i.warnings)} for i in infos]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    cells = [[r["kind"], r["name"], r["distribution"], r["version"], status_text(r),
              r["summary"]] for r in rows]
    out.print(ui.simple_table("rnnlab plugins",
                              ["kind", "name", "distribution", "version", "status", "summary"],
                              cells))


def status_text(row: dict[str, Any]) -> str:
    """'ok', 'failed: reason', 'disabled: excluded by RNNLAB_PLUGINS', plus any warnings."""
    text = row["status"] + (f": {row['error']}" if row["error"] else "")
    return "; ".join([text, *(f"warning: {w}" for w in row["warnings"])])


def show_plugin(name: str, as_json: bool) -> None:
    """The status, settings and recipe of every plugin called `name` (a model and a report
    may share a name); a plugin that failed to load shows why."""
    from rnnlab import ui

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
    details = []
    for kind, info, obj in found:
        detail: dict[str, Any] = {
            "kind": kind, "name": info.name, "distribution": info.dist,
            "version": info.version, "status": info.status, "error": info.reason or None,
            "warnings": list(info.warnings), "summary": info.summary}
        if obj is not None:
            detail["recipe"] = dict(getattr(obj, "recipe", {}) or {})
            if kind == "dataset":
                detail["declares"] = {
                    "kind": obj.kind, "primary_metric": obj.primary_metric,
                    "higher_is_better": obj.higher_is_better,
                    "percentages": list(obj.percentages), "baselines": dict(obj.baselines),
                    "early_stop": obj.early_stop, "sizes": dict(obj.sizes),
                    "default": obj.default, "report": obj.report}
            detail["settings"] = {key: {"default": st.default, "choices": list(st.choices or []),
                                        "help": st.help} for key, st in obj.settings.items()}
        details.append(detail)
    if as_json:
        out.print_json(json.dumps(details, default=str))
        return
    for d in details:
        out.print(one_line(f"{d['kind']} {d['name']} ({d['distribution']} {d['version']}): "
                           f"{status_text(d)}"), markup=False, soft_wrap=True)
        if d["summary"]:
            out.print(one_line(d["summary"]), markup=False, soft_wrap=True)
        if d.get("recipe"):
            out.print("recipe: " + ", ".join(f"{k}={v}" for k, v in d["recipe"].items()),
                      markup=False)
        for key, value in d.get("declares", {}).items():
            if value not in ("", None, [], {}):
                out.print(one_line(f"{key}: {value}"), markup=False, soft_wrap=True)
        rows = [[key, str(st["default"]), "|".join(map(str, st["choices"])) or "-", st["help"]]
                for key, st in d.get("settings", {}).items()]
        if rows:
            out.print(ui.simple_table("settings (--set KEY=VALUE)",
                                      ["key", "default", "choices", "meaning"], rows))


# ---------------------------------------------------------------------------------------------
@app.command("gen-data")
@handles_errors
def gen_data_cmd(
    dataset: Annotated[str | None, typer.Argument(
        help="Dataset plugin [the default sequence dataset].")] = None,
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
    """Generate dataset files (by default the sequence dataset that models use when they
    name none: the adding task, in the course CSV format)."""
    import rnnlab
    from rnnlab import ui
    from rnnlab.config import parse_sets

    dataset = dataset or registry().default_dataset("sequence")
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
    model: Annotated[str | None, typer.Argument(help="Model plugin (`rnnlab plugins` lists them).")
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
        help="Stop once the dev primary metric passes this; 'off' never stops early "
             "[the dataset's target].")] = None,
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
    if model is None and config is not None:
        model = cfgmod.read_yaml(config).get("model")  # a config file may name the model
    if model is None:
        raise UsageError("missing argument MODEL (`rnnlab plugins` lists the models)")

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
    percentages, baselines = metric_style(summary.get("data"))
    if quiet:
        test = summary.get("test", {})
        key = summary.get("primary_metric", "")
        out.print(one_line(f"{run.id} {summary.get('status')} test {key} "
                           f"{ui.fmt_metric(key, test.get(key), percentages)}"), markup=False)
    else:
        out.print(ui.run_summary_table(run.id, summary, percentages, baselines))


def metric_style(dataset: Any) -> tuple[tuple[str, ...], dict[str, str]]:
    """A dataset's percentages and baselines, for showing its metrics (none if it is gone)."""
    try:
        plugin = plugin_registry.default().get("dataset", str(dataset))
    except RnnlabError:
        return (), {}
    return tuple(plugin.percentages), dict(plugin.baselines)


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
    percentages, baselines = metric_style(target.config.get("data"))
    rows = [[split, ui.label(k, baselines), ui.fmt_metric(k, v, percentages)]
            for split, metrics in results.items() for k, v in metrics.items()]
    out.print(ui.simple_table(f"run {target.id}", ["split", "metric", "value"], rows))


# ---------------------------------------------------------------------------------------------
@app.command("report")
@handles_errors
def report_cmd(
    name: Annotated[str, typer.Argument(help="Report plugin (`rnnlab plugins` lists them).")],
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
    executor: Annotated[str, typer.Option(
        help="Where the cells run: local (worker processes), dask, or any installed executor "
             "(`rnnlab plugins` lists them).")] = "local",
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
    sweeps.executor_plugin(executor, registry())  # an unknown one is refused before any work
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
        from rnnlab.runner import RunInterrupted

        view.close()
        raise RunInterrupted(f"sweep {plan.id} interrupted; run the same command again to "
                             "resume it", interrupt_code(exc)) from None
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
    sum_up(plan, runs_dir)
    if failed:
        raise typer.Exit(EXIT_FAILED)


def sum_up(plan: Any, runs_dir: str) -> None:
    """The table each dataset of the sweep declares as its summary (`DatasetPlugin.report`),
    once per report; a dataset that declares none gets a line saying so."""
    import rnnlab

    reports: list[str] = []
    for data in dict.fromkeys(str(c.config.data) for c in plan.cells):
        report = str(registry().get("dataset", data).report or "")
        if not report:
            out.print(one_line(f"dataset '{data}' declares no report to sum up a sweep; "
                               f"`rnnlab report NAME --sweep {plan.id}` makes one"),
                      markup=False, soft_wrap=True)
        elif report not in reports:
            reports.append(report)
    for report in reports:
        print_report(rnnlab.report(report, runs_dir=runs_dir, sweep=plan.id), "table")


# ---------------------------------------------------------------------------------------------
@app.command("new-plugin")
@handles_errors
def new_plugin_cmd(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="model|dataset|report.")],
    name: Annotated[str, typer.Argument(
        metavar="NAME", help="Plugin name users will type: lowercase letters, digits and '-', "
        "starting with a letter (e.g. my-rnn). The package is rnnlab-NAME, its module "
        "rnnlab_NAME.")],
    where: Annotated[Path, typer.Option(
        "--dir", help="Where to create rnnlab-NAME/ (made if missing).")] = Path("."),
) -> None:
    """Create a model, dataset or report plugin package rnnlab-NAME/ to start from.

    It holds pyproject.toml with the entry point, a module that works as written (a small
    Elman RNN, a 'first value positive?' sequence dataset, or a table of runs), a README and
    tests on rnnlab's conformance kit (rnnlab.testing).

    An existing rnnlab-NAME/ is never touched; the package appears complete or not at all.
    Then: pip install -e rnnlab-NAME, rnnlab plugins, pytest rnnlab-NAME/tests."""
    from rnnlab import scaffold

    made = scaffold.create(kind, name, where)
    for warning in made.warnings:
        err.print(f"warning: {one_line(warning)}", markup=False, soft_wrap=True)
    out.print(one_line(f"created {kind} plugin '{name}' in {made.root}:"), markup=False,
              soft_wrap=True)
    for path in made.files:
        out.print(f"  {one_line(str(made.root / path))}", markup=False, soft_wrap=True)
    out.print("next steps:", markup=False)
    for line in scaffold.next_steps(made):
        out.print(f"  {one_line(line)}", markup=False, soft_wrap=True)


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
              f"{ui.fmt_metric(r['metric'], r['test'], metric_style(r['data'])[0])} "
              f"{r['metric']}" if r["test"] is not None
              else r.get("reason", "-")] for r in rows]
    out.print(ui.simple_table(f"runs in {runs_dir}",
                              ["id", "model", "data", "L", "seed", "status", "test"], cells))


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def take_debug(argv: list[str]) -> list[str]:
    """`argv` without `--debug`, which may come anywhere (`rnnlab report X --debug`, as the
    errors suggest), not only before the command; it sets state["debug"]. Arguments after
    `--` are left as they are."""
    end = argv.index("--") if "--" in argv else len(argv)
    if "--debug" in argv[:end]:
        state["debug"] = True
    return [a for a in argv[:end] if a != "--debug"] + argv[end:]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. Exit codes follow rnnlab.errors: 0 success, 1 the work
    failed, 2 a command-line mistake (one line on stderr), 130/143 interrupted.

    Runs use one CPU thread unless OMP_NUM_THREADS says otherwise: the models are small, and
    the same seed then gives the same numbers on machines with any number of cores."""
    for variable in THREAD_VARIABLES:  # before torch or NumPy load their thread pools
        os.environ.setdefault(variable, os.environ.get("OMP_NUM_THREADS", "1"))
    argv = take_debug(list(sys.argv[1:] if argv is None else argv))
    try:
        code = app(args=argv, prog_name="rnnlab", standalone_mode=False)
    except typer.Abort as exc:  # Click's form of Ctrl-C (with --debug, or while parsing)
        cause = exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            err.print(one_line(getattr(cause, "message", "interrupted")), markup=False,
                      soft_wrap=True)
            sys.exit(interrupt_code(cause))
        err.print("aborted")
        sys.exit(EXIT_FAILED)
    except typer.TyperException as exc:  # parse errors: bad option, missing argument, ...
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":
            out.print(message, markup=False, highlight=False)
            sys.exit(EXIT_OK)
        context = getattr(exc, "ctx", None)
        hint = f" (see: {context.command_path} --help)" if context is not None else ""
        err.print(f"error: {one_line(message)}{hint}", markup=False, soft_wrap=True)
        sys.exit(getattr(exc, "exit_code", EXIT_USAGE))
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":
    main()
