"""A learner and a run's checkpoint: what of the learner goes into it, putting it back into a
fresh learner, and taking the run's records back to the epoch the checkpoint completed."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlab.contracts import HasOptimizerState, Learner
from rnnlab.errors import RnnlabError
from rnnlab.run import Run


def optimizer_state(learner: Learner) -> dict[str, Any]:
    """The learner's optimizer buffers ({} if it keeps none that it can hand out)."""
    return learner.optimizer_state() if isinstance(learner, HasOptimizerState) else {}


def load(learner: Learner, run: Run, model: str, optimizer_too: bool = False
         ) -> dict[str, int]:
    """Put the run's checkpoint into a fresh `learner` of `model`; returns its position
    ({"epoch", "updates"}). The archive's headers are checked against the learner's own
    parameters before anything is read (names, shapes, sizes), and whatever the learner
    still refuses is an error naming the file."""
    expected = {k: tuple(np.shape(v)) for k, v in learner.state_dict().items()}
    params, optimizer, position = run.load_training_state(expected)
    path = run.dir / "model.npz"
    try:
        learner.load_state_dict(params)
        if optimizer_too and optimizer and isinstance(learner, HasOptimizerState):
            learner.load_optimizer_state(optimizer)
    except Exception as exc:
        raise RnnlabError(f"{path}: not a valid checkpoint of model '{model}' "
                          f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
                          ) from None
    return position


def restore(learner: Learner, run: Run, model: str) -> dict[str, int]:
    """Load the last completed epoch's weights and optimizer state; drop later records."""
    position = load(learner, run, model, optimizer_too=True)
    trim(run, position)
    return position


def trim(run: Run, position: dict[str, int]) -> None:
    """Drop metrics and losses of an epoch whose checkpoint was not saved (an interrupt can
    land between the epoch's files), so the run records only completed epochs."""
    kept = [m for m in run.metrics if m.get("epoch", 0) <= position["epoch"]]
    run.write_metrics(kept)
    run.save_losses(run.losses()[: position["updates"]])
