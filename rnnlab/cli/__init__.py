"""The `rnnlab` command line: thin Typer commands over the Python API; ui renders.

    common.py   the consoles, --debug, the one error path, the registry and its warnings
    params.py   list options (--L 10,50) and the training defaults shown in help
    train.py    train (and --resume)           data.py     gen-data
    runs.py     runs, eval                     report.py   report
    sweep.py    sweep                          plugins.py  plugins [NAME]
    authors.py  new-plugin, gradcheck
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from rnnlab import numerics
from rnnlab.cli import authors, data, plugins, report, runs, sweep, train
from rnnlab.cli.common import err, error_line, handles_errors, one_line, out, state
from rnnlab.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SIGHUP,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    EXIT_USAGE,
    RnnlabError,
    interrupt_code,
)

__all__ = ["app", "handles_errors", "main", "state"]

app = typer.Typer(
    name="rnnlab",
    help="A lab bench for recurrent networks under the hood: generate data, train models "
    "written from scratch next to PyTorch's, and report the comparisons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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


# One line each in `rnnlab --help`, whole at 80 columns (`rnnlab COMMAND --help` says more).
COMMANDS = [
    ("plugins", plugins.plugins_cmd, "Installed models, datasets, reports, executors."),
    ("gen-data", data.gen_data_cmd, "Write a dataset's files (data for train, eval, sweeps)."),
    ("train", train.train_cmd, "Train a model into a new run directory."),
    ("eval", runs.eval_cmd, "Evaluate a run's checkpoint on its dev and test data."),
    ("report", report.report_cmd, "Tables and pictures from the run store."),
    ("sweep", sweep.sweep_cmd, "A grid of runs (models x L x seeds ...), resumable."),
    ("new-plugin", authors.new_plugin_cmd, "A new plugin package that works as written."),
    ("gradcheck", authors.gradcheck_cmd, "A model's gradients against finite differences."),
    ("runs", runs.runs_cmd, "The runs in the run store and how each stands."),
]
for name, command, short in COMMANDS:
    app.command(name, short_help=short)(command)

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

    Runs use one CPU thread unless OMP_NUM_THREADS says otherwise, and one OpenBLAS kernel on
    every x86-64 CPU (rnnlab.numerics): the same seed then gives the same numbers on machines
    with any number and kind of cores."""
    os.environ.update(numerics.pinned())  # before torch or NumPy load their BLAS
    console = argv is None  # the console script (not a caller in this process, e.g. a test)
    argv = take_debug(list(sys.argv[1:] if argv is None else argv))
    try:
        code = app(args=argv, prog_name="rnnlab", standalone_mode=False)
    except RnnlabError as exc:  # an option value refused while parsing (--L 10,x)
        if state["debug"]:
            raise
        line, code = error_line(exc)
        err.print(line, markup=False, soft_wrap=True)
        sys.exit(code)
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
    code = code if isinstance(code, int) else EXIT_OK
    if console and code in (EXIT_SIGINT, EXIT_SIGTERM, EXIT_SIGHUP) and "torch" in sys.modules:
        # Interrupted, and everything already saved: leave without finalizing the
        # interpreter. A sweep stopped by SIGTERM under load was seen to abort there
        # ("terminate called without an active exception" from torch's native threads),
        # which turned its 143 into a SIGABRT.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
