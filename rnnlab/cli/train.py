"""`rnnlab train`: resolve a configuration and train it, or continue an interrupted run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from rnnlab.cli.common import flush_warnings, handles_errors, metric_style, out, registry
from rnnlab.cli.params import default
from rnnlab.config import (
    DEVICES,
    LR_SCHEDULES,
    OPTIMIZERS,
    parse_early_stop,
    parse_off_or_number,
)
from rnnlab.errors import UsageError


@handles_errors
def train_cmd(
    model: Annotated[str | None, typer.Argument(help="Model plugin (`rnnlab plugins` lists them).")
                     ] = None,
    data: Annotated[str | None, typer.Option(help="Dataset plugin (default: the model's).")
                    ] = None,
    recipe: Annotated[str | None, typer.Option(
        help="The model's named recipe to start from, e.g. homework (`rnnlab plugins MODEL` "
             "lists them) [the model's default].")] = None,
    L: Annotated[int | None, typer.Option("--L", help=f"Sequence length {default('L')}.")
                 ] = None,
    epochs: Annotated[int | None, typer.Option(help=f"Epochs {default('epochs')}.")] = None,
    updates: Annotated[int | None, typer.Option(
        help="Train for this many random batches instead of epochs.")] = None,
    batch_size: Annotated[int | None, typer.Option(
        help=f"Batch size {default('batch_size')}.")] = None,
    lr: Annotated[float | None, typer.Option(help=f"Learning rate {default('lr')}.")] = None,
    momentum: Annotated[float | None, typer.Option(
        help=f"SGD momentum {default('momentum')}.")] = None,
    optimizer: Annotated[str | None, typer.Option(
        help=f"{'|'.join(OPTIMIZERS)} {default('optimizer')}.")] = None,
    clip_grad: Annotated[str | None, typer.Option(
        parser=parse_off_or_number("--clip-grad"),
        help="Clip the gradient's global L2 norm to this (Pascanu et al. 2013); 'off' never "
             "clips [the recipe's].")] = None,
    shuffle: Annotated[bool | None, typer.Option(
        "--shuffle/--no-shuffle",
        help=f"New seeded batch order every epoch {default('shuffle')}.")] = None,
    lr_schedule: Annotated[str | None, typer.Option(
        help=f"{'|'.join(LR_SCHEDULES)}: cosine decays the learning rate to ~0 over the epochs, "
             f"step divides it by 10 for the last fifth {default('lr_schedule')}.")] = None,
    hidden: Annotated[int | None, typer.Option(help=f"Hidden units P {default('hidden')}.")
                      ] = None,
    seed: Annotated[int | None, typer.Option(
        help=f"Seed for init and batch order {default('seed')}.")] = None,
    device: Annotated[str | None, typer.Option(
        help=f"{'|'.join(DEVICES)} {default('device')}.")] = None,
    early_stop: Annotated[str | None, typer.Option(
        parser=parse_early_stop,
        help="Stop once the dev primary metric passes this; 'off' never stops early "
             "[the dataset's target].")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML file with any of these options.")
                      ] = None,
    data_dir: Annotated[str | None, typer.Option(
        help=f"Root data directory {default('data_dir')}; with --resume, where the run's data "
             "files are now (they must be the same files: their hashes are checked).")] = None,
    runs_dir: Annotated[str | None, typer.Option(
        help=f"Run store directory {default('runs_dir')}.")] = None,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="Model or dataset setting KEY=VALUE (see `rnnlab plugins NAME`).")] = None,
    init_from: Annotated[str | None, typer.Option(
        help="Warm start: begin from the weights of this completed run of the same model (id, "
             "unique id prefix or directory), e.g. one trained on shorter sequences; recorded "
             "in provenance.json.")] = None,
    init_optimizer: Annotated[bool, typer.Option(
        "--init-optimizer",
        help="With --init-from: continue that run's optimizer state too (momentum, Adam "
             "moments); the optimizer must be the same.")] = False,
    print_config: Annotated[bool, typer.Option(
        help="Print the resolved configuration and exit.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    resume: Annotated[str | None, typer.Option(
        help="Continue an interrupted run from its last completed epoch, on the data files "
             "it recorded; refused while another process writes the run.")] = None,
) -> None:
    """Train a model; everything lands in a new run directory.

    Defaults in [brackets] are rnnlab's (the homework recipe); a model's recipe replaces some
    of them (`rnnlab plugins MODEL` shows it, `--print-config` the whole configuration)."""
    import rnnlab
    from rnnlab import config as cfgmod
    from rnnlab import ui

    if resume is not None:
        given = {"--data": data, "--L": L, "--epochs": epochs, "--updates": updates,
                 "--batch-size": batch_size, "--lr": lr, "--momentum": momentum,
                 "--optimizer": optimizer, "--clip-grad": clip_grad,
                 "--shuffle" if shuffle else "--no-shuffle": shuffle,
                 "--lr-schedule": lr_schedule, "--hidden": hidden, "--seed": seed,
                 "--device": device, "--early-stop": early_stop, "--config": config,
                 "--recipe": recipe, "--init-from": init_from,
                 "--init-optimizer": init_optimizer or None,
                 "--set": sets or None, "--print-config": print_config or None}
        resume_run(resume, model, [name for name, value in given.items() if value is not None],
                   runs_dir, data_dir, quiet)
        return
    if model is None and config is not None:
        model = cfgmod.read_yaml(config).get("model")  # a config file may name the model
    if model is None:
        raise UsageError("missing argument MODEL (`rnnlab plugins` lists the models)")
    options: dict[str, Any] = {
        "data": data, "L": L, "epochs": epochs, "updates": updates, "batch_size": batch_size,
        "lr": lr, "momentum": momentum, "optimizer": optimizer, "clip_grad": clip_grad,
        "shuffle": shuffle, "lr_schedule": lr_schedule, "hidden": hidden, "seed": seed,
        "device": device, "early_stop": early_stop, "data_dir": data_dir, "runs_dir": runs_dir,
        "recipe": recipe, "init_from": init_from, "init_optimizer": init_optimizer or None,
    }
    cfg = cfgmod.resolve(model, registry(), config_file=config, options=options,
                         sets=cfgmod.parse_sets(sets or []))
    if print_config:
        text = cfgmod.to_yaml(cfg)
        if not cfg.recipe:  # a label; '' alone reads like a missing value
            text = text.replace("\nrecipe: ''\n", "\nrecipe: ''  # the model's own recipe "
                                f"(`rnnlab plugins {model}` shows it)\n")
        ui.listings.block(out, text)
        return
    flush_warnings()
    with ui.ConsoleUI(out, quiet) as emit:
        run = rnnlab.run_training(cfg, emit=emit)
    show_run(run, quiet)


def resume_run(ref: str, model: str | None, given: list[str], runs_dir: str | None,
               data_dir: str | None, quiet: bool) -> None:
    """`--resume`: continue a run as it was configured (options that would change it are
    refused)."""
    import rnnlab
    from rnnlab import ui

    if given:
        raise UsageError(f"--resume continues a run as it was configured; drop "
                         f"{', '.join(given)}")
    run = rnnlab.load_run(ref, runs_dir=runs_dir or "runs")
    if model is not None and model != run.config.get("model"):
        raise UsageError(f"run {run.id} trains '{run.config.get('model')}', not '{model}'")
    flush_warnings()
    with ui.ConsoleUI(out, quiet) as emit:
        run = rnnlab.run_training(resume=run, emit=emit, data_dir=data_dir)
    show_run(run, quiet)


def show_run(run: Any, quiet: bool) -> None:
    from rnnlab import ui

    percentages, baselines = metric_style(run.summary.get("data"))
    ui.listings.run_result(out, run.id, run.summary, quiet, percentages, baselines)
