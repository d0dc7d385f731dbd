"""Commands for plugin authors: `rnnlab new-plugin` starts a package, `rnnlab gradcheck`
checks a model's hand-written gradients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rnnlab.cli.common import handles_errors, out, registry, warn
from rnnlab.errors import UsageError


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
    from rnnlab import scaffold, ui

    made = scaffold.create(kind, name, where)
    for warning in made.warnings:
        warn(warning)
    ui.listings.new_plugin(out, kind, name, made.root, list(made.files),
                           list(scaffold.next_steps(made)))


@handles_errors
def gradcheck_cmd(
    model: Annotated[str, typer.Argument(help="Model plugin with analytic gradients.")],
    L: Annotated[int, typer.Option(
        "--L", help="Sequence length of the test case (sequence models).")] = 5,
    batch: Annotated[int, typer.Option(help="Samples in the test case.")] = 3,
    hidden: Annotated[int, typer.Option(help="Hidden units of the test case.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed for weights and data.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Compare a model's gradients with finite differences and autograd (exit 1 on failure)."""
    from rnnlab import gradcheck, ui

    case = {"L": L, "batch": batch, "hidden": hidden}
    for option, value in case.items():
        if value < 1:
            raise UsageError(f"--{option} expects an integer >= 1, got {value}")
    rows = gradcheck.check(model, **case, seed=seed, registry=registry())
    if as_json:
        out.print_json(json.dumps(rows))
    else:
        sequence = "sequence" in registry().get("model", model).kinds
        shown = case if sequence else {k: v for k, v in case.items() if k != "L"}
        ui.listings.gradcheck(out, model, shown, rows, gradcheck.FD_TOLERANCE,
                              gradcheck.REFERENCE_TOLERANCE)
    if not all(r["ok"] for r in rows):
        raise typer.Exit(1)
