"""`rnnlab gen-data`: write a dataset's files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnnlab.cli import params
from rnnlab.cli.common import handles_errors, out, registry


@handles_errors
def gen_data_cmd(
    dataset: Annotated[str | None, typer.Argument(
        help="Dataset plugin [the default sequence dataset].")] = None,
    L: Annotated[list[int] | None, params.integers(
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
    with ui.ConsoleUI(out, quiet) as emit:
        paths = rnnlab.gen_data(dataset, lengths=L or [100], out=out_dir, seed=seed,
                                sizes=sizes, force=force, settings=parse_sets(sets or []),
                                emit=emit)
    ui.listings.lines(out, paths)
