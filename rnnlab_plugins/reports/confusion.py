"""A classifier's confusion matrix on its test set: how many images of each true class it gave
each predicted class (the largest output), as a table and as a picture (confusion_RUN.png)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

import rnnlab
from rnnlab import Column, ReportRequest, ReportResult, UsageError, atomic_write
from rnnlab_plugins.reports import one_run, png


def confusion(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[i, j] = how many samples of class i were predicted as class j: (k, k)."""
    counts = np.zeros((classes, classes), np.int64)
    np.add.at(counts, (truth, predicted), 1)
    return counts


def picture(counts: np.ndarray, title: str) -> bytes:
    """The matrix as a PNG: rows the true class, columns the prediction, each cell its count
    (shaded by its share of the row, so rare classes read like common ones)."""
    k = len(counts)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # (k, k) rows sum to 1
    figure = Figure(figsize=(1.0 + 0.55 * k, 0.8 + 0.55 * k), dpi=100)
    axes = figure.subplots()
    axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                axes.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                          color="white" if share[i, j] > 0.5 else "black")
    axes.set_xticks(range(k))
    axes.set_yticks(range(k))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=9)
    return png(figure)


def confusion_report(request: ReportRequest) -> ReportResult:
    run, notes = one_run(request, "confusion", "labelled", "classifier",
                         "rnnlab train mlp-lite")
    if run.summary.get("status") != "completed":
        raise UsageError(f"report confusion: run {run.id} is {run.summary.get('status')}, "
                         "not completed")
    learner, data = rnnlab.load_learner(run)
    if data.spec.kind != "labelled":
        raise UsageError(f"report confusion: run {run.id} was not trained on labelled data "
                         f"({data.spec.kind} data has no classes)")
    classes = data.spec.output_dim
    truth = np.argmax(data.test.t, axis=1)  # (N,)
    predicted = np.argmax(np.asarray(learner.predict(data.test.x)), axis=1)  # (N,)
    counts = confusion(truth, predicted, classes)
    accuracy = 100.0 * np.trace(counts) / counts.sum()
    title = f"{run.id}: test accuracy {accuracy:.1f}% ({counts.sum():,} images)"
    request.out_dir.mkdir(parents=True, exist_ok=True)
    same = request.out_dir.resolve() == run.dir.resolve()
    path = request.out_dir / ("confusion.png" if same else f"confusion_{run.id}.png")
    atomic_write(path, picture(counts, title))
    rows: list[dict[str, Any]] = []
    for i in range(classes):
        row: dict[str, Any] = {"true": str(i)}
        row.update({f"p{j}": int(counts[i, j]) for j in range(classes)})
        row["recall"] = float(100.0 * counts[i, i] / max(counts[i].sum(), 1))
        rows.append(row)
    columns = [Column("true", "true"), *(Column(str(j), f"p{j}") for j in range(classes)),
               Column("recall", fmt=lambda r: f"{r['recall']:.0f}%")]
    worst = np.unravel_index(np.argmax(counts - np.diag(np.diag(counts))), counts.shape)
    notes.append(f"{run.id}: rows are the true digit, columns the prediction; test accuracy "
                 f"{accuracy:.1f}%; most confused: {worst[0]} taken for {worst[1]} "
                 f"({counts[worst]} times)")
    return ReportResult(title=f"Confusion matrix, {run.id}", columns=columns, rows=rows,
                        notes=notes, files=[path])
