"""Time two forms of one model that must agree (e.g. Layer_out as loops vs as a matrix product).

Both forms get the same weights and the same batch; forward passes and training steps are
timed alternately (slow, fast, slow, ...), `repeats` times each, after a warm-up, with autograd
anomaly detection off
(it slows every op and would distort the ratio). Reported: median milliseconds per batch, the
ratio slow/fast, and the largest absolute difference between the two forms' outputs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import rnnlab
from rnnlab import Column, Progress, ReportRequest, ReportResult, UsageError
from rnnlab_plugins.reports import check_timing as check_settings


def _median_ms(slow: Callable[[], Any], fast: Callable[[], Any], repeats: int
               ) -> tuple[float, float]:
    """Median milliseconds of each function, timed alternately so drift hits both alike."""
    slow(), fast()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, bucket in ((slow, times[0]), (fast, times[1])):
            tick = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - tick)
    return 1000 * statistics.median(times[0]), 1000 * statistics.median(times[1])


def compare(model: str, L: int | None, batch_size: int, repeats: int) -> dict[str, Any]:
    """One row: the two forms of `model` timed on one batch of its default dataset."""
    timing = rnnlab.get_plugin("model", model).timing
    setting, slow_value, fast_value = timing.setting, timing.slow, timing.fast
    fixed = timing.shared  # settings both forms share, e.g. the same implementation
    spec, batch = rnnlab.example(rnnlab.default_dataset(model), L, batch_size, seed=0)
    slow = rnnlab.build_learner(model, spec, settings={**fixed, setting: slow_value})
    fast = rnnlab.build_learner(model, spec, settings={**fixed, setting: fast_value})
    fast.load_state_dict(slow.state_dict())  # same weights, so outputs must agree
    difference = float(np.max(np.abs(slow.predict(batch.x) - fast.predict(batch.x))))
    row: dict[str, Any] = {"model": model, "L": spec.length, "batch": batch_size,
                           "compare": f"{setting}: {slow_value} / {fast_value}"}
    row["slow_forward_ms"], row["fast_forward_ms"] = _median_ms(
        lambda: slow.predict(batch.x), lambda: fast.predict(batch.x), repeats)
    row["slow_step_ms"], row["fast_step_ms"] = _median_ms(
        lambda: slow.train_step(batch.x, batch.t), lambda: fast.train_step(batch.x, batch.t),
        repeats)
    row["forward_ratio"] = row["slow_forward_ms"] / row["fast_forward_ms"]
    row["step_ratio"] = row["slow_step_ms"] / row["fast_step_ms"]
    row["max_abs_diff"] = difference
    row["repeats"] = repeats
    return row


def timing_table(request: ReportRequest) -> ReportResult:
    settings = request.settings
    check_settings(settings)
    registered = [n for n in rnnlab.list_plugins("model") if _has_timing(n)]
    models = request.models or registered
    for name in models:
        if not _has_timing(name):
            raise UsageError(f"model '{name}' declares no scalar/vector forms to time")
    anomaly = torch.is_anomaly_enabled()
    threads = torch.get_num_threads()
    torch.autograd.set_detect_anomaly(False)
    if settings["threads"]:
        torch.set_num_threads(settings["threads"])
    rows = []
    try:
        jobs = [(m, L) for m in models for L in (request.lengths or [100])]
        for done, (model, L) in enumerate(jobs, start=1):
            rows.append(compare(model, L, settings["batch_size"], settings["repeats"]))
            request.emit(Progress("timing", done, len(jobs), f"{model} L={L}"))
    finally:
        torch.autograd.set_detect_anomaly(anomaly)
        torch.set_num_threads(threads)
    rows = list({(r["model"], r["L"]): r for r in rows}.values())  # L is moot for images

    def pair(kind: str) -> Callable[[dict[str, Any]], str]:
        return lambda r: f"{r[f'slow_{kind}_ms']:.2f} / {r[f'fast_{kind}_ms']:.2f}"

    columns = [
        Column("model", "model"), Column("L", "L"), Column("slow / fast", "compare"),
        Column("forward ms", fmt=pair("forward")),
        Column("ratio", fmt=lambda r: f"{r['forward_ratio']:.2f}x"),
        Column("train step ms", fmt=pair("step")),
        Column("ratio ", fmt=lambda r: f"{r['step_ratio']:.2f}x"),
        Column("max |diff|", fmt=lambda r: f"{r['max_abs_diff']:.1e}"),
    ]
    notes = [f"median of {settings['repeats']} repeats per form, batch {settings['batch_size']}, "
             f"{settings['threads'] or threads} torch thread(s), anomaly detection off"]
    return ReportResult(title="Scalar vs vector forms: time per batch", columns=columns,
                        rows=rows, notes=notes)


def _has_timing(name: str) -> bool:
    try:
        return getattr(rnnlab.get_plugin("model", name), "timing", None) is not None
    except rnnlab.RnnlabError:
        return False
