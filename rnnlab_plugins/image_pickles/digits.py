"""rnnlab's own 15x15 grey digit images, in the spirit of the course's MNIST-style set.

Each image: one digit 0-9 drawn with Pillow's built-in font at 4x resolution, with a random
size, position, slant and stroke width, shrunk to 15x15 by averaging, sharpened, dimmed at
random and speckled with a little noise on the strokes. The background stays black (0).
The same seed gives the same images (with the same Pillow and FreeType).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIDE, SCALE = 15, 4
CANVAS = SIDE * SCALE


def digit(rng: np.random.Generator, value: int) -> np.ndarray:
    """One image (15, 15), values 0..255."""
    font = ImageFont.load_default(size=int(rng.integers(24, 38)))
    stroke = int(rng.integers(0, 2))
    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((0, 0), str(value), font=font, stroke_width=stroke)
    free_x, free_y = CANVAS - (right - left) - 2 * SCALE, CANVAS - (bottom - top) - 2 * SCALE
    x = SCALE - left + rng.uniform(0, max(free_x, 0))
    y = SCALE - top + rng.uniform(0, max(free_y, 0))
    draw.text((x, y), str(value), fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    slant = rng.uniform(-0.35, 0.35)  # shear x by y around the centre
    image = image.transform(image.size, Image.Transform.AFFINE,
                            (1, slant, -slant * CANVAS / 2, 0, 1, 0),
                            resample=Image.Resampling.BILINEAR)
    small = np.asarray(image.resize((SIDE, SIDE), Image.Resampling.BOX), np.float64) / 255
    sharp = np.clip((small - 0.12) / 0.55, 0, 1)  # (15, 15) in [0, 1]
    ink = sharp * rng.uniform(0.75, 1.0) * (1 + rng.normal(0, 0.06, sharp.shape))
    return np.round(np.clip(ink, 0, 1) * 255)


def make_labelled(n: int, seed: int | list[int],
                  progress: Callable[[int], None] = lambda done: None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """n images (n, 15, 15) of digits in random order, and the digit each shows (n,)."""
    rng = np.random.default_rng(seed)
    images, labels = np.empty((n, SIDE, SIDE)), np.empty(n, np.int64)
    for i in range(n):
        labels[i] = rng.integers(0, 10)
        images[i] = digit(rng, int(labels[i]))
        if (i + 1) % 100 == 0 or i + 1 == n:
            progress(i + 1)
    return images, labels


def make(n: int, seed: int | list[int],
         progress: Callable[[int], None] = lambda done: None) -> np.ndarray:
    """n images (n, 15, 15), digits in random order. The first k of n are the k images that
    make(k, seed) draws: one random stream, image after image."""
    return make_labelled(n, seed, progress)[0]
