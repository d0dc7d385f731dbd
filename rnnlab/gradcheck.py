"""Check a model's analytic gradients against central finite differences and, where one of the
model's forms is differentiated by torch autograd, against that form on the same weights.

A model opts in by listing setting variants in `ModelPlugin.gradcheck` whose learners have
`loss_and_gradients(x, t) -> (loss, {name: gradient})` and `double()` (switch to float64).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlab import limits
from rnnlab.contracts import HasGradients, example_of
from rnnlab.errors import UsageError
from rnnlab.registry import Registry
from rnnlab.registry import default as default_registry

FD_TOLERANCE = 1e-6  # max relative error against central differences (float64)
REFERENCE_TOLERANCE = 1e-8  # max relative error against autograd on the same weights


def relative_error(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(max |a - b|, that divided by the larger of max |a| and max |b|)."""
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    scale = max(float(np.max(np.abs(a))) if a.size else 0.0,
                float(np.max(np.abs(b))) if b.size else 0.0, 1e-12)
    return diff, diff / scale


def finite_differences(learner: Any, x: np.ndarray, t: np.ndarray, eps: float
                       ) -> dict[str, np.ndarray]:
    """d loss / d parameter by central differences, one parameter element at a time."""
    state = {k: np.array(v, dtype=np.float64) for k, v in learner.state_dict().items()}
    numeric = {}
    for name, value in state.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            losses = []
            for sign in (1.0, -1.0):
                value[index] = original + sign * eps
                learner.load_state_dict(state)
                losses.append(learner.loss_and_gradients(x, t)[0])
            value[index] = original
            grad[index] = (losses[0] - losses[1]) / (2 * eps)
        numeric[name] = grad
    learner.load_state_dict(state)
    return numeric


def check(model: str, *, L: int = 5, batch: int = 3, hidden: int = 4, seed: int = 0,
          eps: float = 1e-6, registry: Registry | None = None) -> list[dict[str, Any]]:
    """One row per (form, parameter): shape, errors against FD and autograd, pass/fail."""
    registry = registry or default_registry()
    plugin = registry.get("model", model)
    variants = list(plugin.gradcheck)
    if not variants:
        raise UsageError(f"model '{model}' declares no analytic gradients to check "
                         "(ModelPlugin.gradcheck; see docs/plugins.md)")
    # O(weights x L) loss evaluations: bounded before any data is drawn or model built
    limits.check_gradcheck(plugin, model, L, batch, hidden, len(variants), seed)
    from rnnlab.session import build_learner  # torch loads in seconds: after the checks
    from rnnlab.torch_learner import TorchLearner

    data_name = plugin.data or registry.default_dataset(plugin.kinds[0])
    spec, data = example_of(registry.get("dataset", data_name), L, batch, seed)
    x, t = data.x.astype(np.float64), data.t.astype(np.float64)
    learners = []
    for settings in variants:
        learner = build_learner(registry, model, spec, settings, {"hidden": hidden, "seed": seed})
        if not isinstance(learner, HasGradients):
            raise UsageError(f"model '{model}' ({_label(settings)}): its learner has no "
                             "loss_and_gradients()/double() for a gradient check")
        learners.append((settings, learner.double()))
    state = learners[0][1].state_dict()  # every form gets the same weights
    reference = None
    for settings, learner in learners:
        learner.load_state_dict(state)
        if reference is None and isinstance(learner, TorchLearner):
            reference = (settings, learner.loss_and_gradients(x, t)[1])
    rows = []
    for settings, learner in learners:
        _, analytic = learner.loss_and_gradients(x, t)
        numeric = finite_differences(learner, x, t, eps)
        for name, grad in analytic.items():
            fd_abs, fd_rel = relative_error(grad, numeric[name])
            row = {"form": _label(settings), "parameter": name, "shape": list(grad.shape),
                   "fd_max_abs": fd_abs, "fd_max_rel": fd_rel,
                   "autograd_max_abs": None, "autograd_max_rel": None}
            ok = fd_rel < FD_TOLERANCE
            if reference is not None and reference[0] is not settings:
                ref_abs, ref_rel = relative_error(grad, reference[1][name])
                row.update(autograd_max_abs=ref_abs, autograd_max_rel=ref_rel)
                ok = ok and ref_rel < REFERENCE_TOLERANCE
            row["ok"] = ok
            rows.append(row)
    return rows


def _label(settings: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in settings.items()) or "default"
