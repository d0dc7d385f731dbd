"""An image model's test images (input above output), upscaled so a person can see them, each
row labelled ("input", "output") in a margin on the left."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import rnnlab
from rnnlab import ReportRequest, ReportResult, UsageError, atomic_write
from rnnlab_plugins.reports import check_range, one_run

PER_ROW, GAP = 10, 2
LABEL = 64  # pixels of the left margin that names each row
# 200 images at zoom 32 make a 4,822 x 19,282 pixel grid (93 MB): the largest allowed
MAX_COUNT, MAX_ZOOM = 200, 32


def grid(inputs: np.ndarray, outputs: np.ndarray, zoom: int) -> Image.Image:
    """Rows of up to 10 inputs, each row followed by the matching outputs; values in [0, 1]."""
    n, side = len(inputs), int(round(np.sqrt(inputs.shape[1])))
    cell = side * zoom + GAP
    rows = -(-n // PER_ROW)
    canvas = np.full((2 * rows * cell + GAP, LABEL + PER_ROW * cell + GAP), 96, np.uint8)
    canvas[:, :LABEL] = 255  # the margin for the row names
    for k in range(n):
        r, c = divmod(k, PER_ROW)
        for offset, images in ((0, inputs), (1, outputs)):
            pixels = np.clip(images[k].reshape(side, side), 0, 1) * 255
            big = np.kron(pixels.round().astype(np.uint8), np.ones((zoom, zoom), np.uint8))
            top, left = (2 * r + offset) * cell + GAP, LABEL + c * cell + GAP
            canvas[top : top + side * zoom, left : left + side * zoom] = big
    image = Image.fromarray(canvas, mode="L")
    draw = ImageDraw.Draw(image)
    try:
        font: Any = ImageFont.load_default(size=min(16, max(10, zoom * 2)))  # Pillow >= 10.1
    except TypeError:
        font = ImageFont.load_default()
    for r in range(rows):
        for offset, name in ((0, "input"), (1, "output")):
            middle = (2 * r + offset) * cell + GAP + side * zoom // 2
            draw.text((4, middle), name, fill=0, font=font, anchor="lm")
    return image


def reconstruction_grid(request: ReportRequest) -> ReportResult:
    zoom = request.settings["zoom"]
    check_range(request.settings, "count", 1, MAX_COUNT)
    check_range(request.settings, "zoom", 1, MAX_ZOOM, f"a 15x15 image would be {15 * zoom:,} x "
                f"{15 * zoom:,} pixels" if zoom > MAX_ZOOM else "")
    run, notes = one_run(request, "reconstructions", "image", "image-model",
                         "rnnlab train autoenc-lite")
    learner, data = rnnlab.load_learner(run)
    if data.spec.kind != "image" or data.spec.output_dim != data.spec.input_dim:
        raise UsageError(f"report reconstructions: run {run.id} is not an image auto-encoder")
    count = request.settings["count"]
    inputs = data.test.x[:count]  # (n, 225)
    outputs = learner.predict(inputs)  # (n, 225)
    buffer = io.BytesIO()
    grid(inputs, np.asarray(outputs), zoom).save(buffer, format="PNG")
    request.out_dir.mkdir(parents=True, exist_ok=True)
    same = request.out_dir.resolve() == run.dir.resolve()
    path = request.out_dir / ("reconstructions.png" if same else f"reconstructions_{run.id}.png")
    atomic_write(path, buffer.getvalue())
    error = float(np.mean((np.asarray(outputs) - inputs) ** 2))
    return ReportResult(title="Reconstructions", files=[path],
                        notes=[*notes, f"{run.id}: {len(inputs)} test images, inputs above "
                               f"outputs, mean squared error {error:.4g}"])
