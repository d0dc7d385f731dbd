"""`rnnlab report`: a report plugin's table or pictures, from the run store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnnlab.cli import params
from rnnlab.cli.common import err, handles_errors, out, registry
from rnnlab.errors import UsageError

FORMATS = ("table", "markdown", "csv", "json")


@handles_errors
def report_cmd(
    name: Annotated[str, typer.Argument(help="Report plugin (`rnnlab plugins` lists them).")],
    runs: Annotated[list[str] | None, typer.Argument(help="Runs to use (default: all).")
                    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table|markdown|csv|json.")] = "table",
    model: Annotated[list[str] | None, params.name_list(
        "--model", help="Only these models (repeat or comma-separate).")] = None,
    L: Annotated[list[int] | None, params.integers("--L", help="Only these lengths.")] = None,
    sweep: Annotated[list[str] | None, typer.Option(
        help="Only the runs of this sweep (repeat for several).")] = None,
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

    if fmt not in FORMATS:
        raise UsageError(f"--format expects {'|'.join(FORMATS)}, got '{fmt}'")
    registry()
    with ui.ConsoleUI(err) as emit:
        result = rnnlab.report(name, runs, runs_dir=runs_dir, models=model or [],
                               lengths=L or [], sweep=sweep, settings=parse_sets(sets or []),
                               out_dir=out_dir, emit=emit)
    ui.show_report(out, result, fmt)
