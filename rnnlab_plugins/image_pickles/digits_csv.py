"""Labelled digit images as CSV: one image per line, the digit first, then its 225 pixels row
by row, all integers (`7,0,0,...,255,...`); no header. The format of the MNIST CSV files that
circulate in courses, at 15x15. Every violation is a DataError naming the file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab import DataError, atomic_write, read_csv_lines

PIXELS, CLASSES = 225, 10
# bytes: 100,000 images are about 80 MB of text; reading one peaks near 6 kB per image
FILE_LIMIT = 128 * 2**20


def write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Images (N, 15, 15) with values 0..255 and labels (N,), atomically."""
    rows = np.concatenate([labels[:, None], images.reshape(len(images), -1)], axis=1)
    text = "\n".join(",".join(map(str, row)) for row in rows.astype(np.int64).tolist())
    atomic_write(path, (text + "\n").encode("ascii"))


def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(pixels (N, 225) as 0..255, labels (N,)) from a file in this format."""
    lines = read_csv_lines(path, "a labelled-digits CSV file", limit=FILE_LIMIT)
    if not lines:
        raise DataError(f"{path}: empty file, expected one line per image (a digit 0-9 "
                        f"and {PIXELS} pixels 0-255)")
    rows = _integers(path, lines)  # (N, 226)
    labels, pixels = rows[:, 0], rows[:, 1:]
    bad = np.nonzero((labels < 0) | (labels >= CLASSES))[0]
    if bad.size:
        raise DataError(f"{path}:{bad[0] + 1}: label {labels[bad[0]]} is not a digit 0-9")
    bad = np.nonzero(((pixels < 0) | (pixels > 255)).any(axis=1))[0]
    if bad.size:
        value = pixels[bad[0]][(pixels[bad[0]] < 0) | (pixels[bad[0]] > 255)][0]
        raise DataError(f"{path}:{bad[0] + 1}: pixel value {value} is outside 0-255")
    return pixels, labels


def _integers(path: Path, lines: list[str]) -> np.ndarray:
    """The lines as an (N, 226) integer array; the first bad line named otherwise."""
    if "" not in lines:  # loadtxt skips empty lines; the slow path reports them
        try:
            out = np.loadtxt(lines, delimiter=",", dtype=np.int64, comments=None, ndmin=2)
            if out.shape == (len(lines), PIXELS + 1):
                return out
        except (ValueError, OverflowError):
            pass
    for number, line in enumerate(lines, start=1):
        fields = line.split(",")
        if len(fields) != PIXELS + 1:
            raise DataError(f"{path}:{number}: {len(fields)} fields, expected {PIXELS + 1} "
                            f"(a digit 0-9, then {PIXELS} pixels)")
        if not (fields[0].isascii() and fields[0].isdigit() and len(fields[0]) == 1):
            raise DataError(f"{path}:{number}: label '{fields[0][:20]}' is not a digit 0-9")
        for field in fields[1:]:
            if not (field.isascii() and field.isdigit() and len(field) <= 3):
                raise DataError(f"{path}:{number}: pixel '{field[:20]}' is not an integer "
                                "0-255")
    raise DataError(f"{path}: cannot parse the numbers")  # pragma: no cover
