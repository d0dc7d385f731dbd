"""Reader and validator for the course's adding-task CSV files.

Three lines per sequence, no header: the L values; the L markers (0/1); the target followed by
L-1 empty fields. Every violation is a DataError naming the file and the 1-based line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab import DataError, read_csv_lines

# bytes: a 255 MB file (30,000 sequences of L=1000) peaks at 1.5 GB RSS and 15 s to read;
# the homework's files are 11 MB (L=100), the long-sequence study's 22 MB (L=200)
FILE_LIMIT = 256 * 2**20
TOLERANCE = 0.005  # target vs. sum of the marked values (both have 2 decimals)
FLOAT32_MAX = float(np.finfo(np.float32).max)  # larger magnitudes become inf in training


def _lines(path: Path) -> list[str]:
    lines = read_csv_lines(path, "an adding-task CSV file", limit=FILE_LIMIT)
    if not lines:
        raise DataError(f"{path}: empty file, expected 3 lines per sequence")
    return lines


def _numbers(path: Path, lines: list[str], first_line: int) -> np.ndarray:
    """Every third line of the file (from `first_line`, 1-based) as a 2-D array of numbers."""
    fields = lines[0].count(",") + 1
    out = None
    if "" not in lines:  # loadtxt skips empty lines; the slow path reports them
        try:
            out = np.loadtxt(lines, delimiter=",", dtype=np.float64, comments=None, ndmin=2)
        except ValueError:
            pass
    if out is None or out.shape != (len(lines), fields):  # find the culprit for the message
        for i, line in enumerate(lines):
            for field in line.split(","):
                try:
                    if "_" in field:  # Python's float() takes 1_0; NumPy (and CSV) do not
                        raise ValueError(field)
                    float(field)
                except ValueError:
                    lineno = first_line + 3 * i
                    raise DataError(f"{path}:{lineno}: '{field[:20]}' is not a number") from None
        raise DataError(f"{path}: cannot parse the numbers")  # pragma: no cover
    # Finite in float64 is not enough: the model casts to float32, where 1e39 becomes inf.
    # NaN and inf fail this comparison too, so one vectorised test finds every bad row.
    fits = np.abs(out) <= FLOAT32_MAX
    bad = np.nonzero(~fits.all(axis=1))[0]
    if bad.size:
        row = out[bad[0]]
        where = f"{path}:{first_line + 3 * bad[0]}"
        if not np.isfinite(row).all():
            raise DataError(f"{where}: non-finite value")
        raise DataError(f"{where}: value {row[np.argmin(fits[bad[0]])]:g} is outside the "
                        "float32 range")
    return out


def _markers(path: Path, lines: list[str], length: int) -> np.ndarray:
    """Marker lines as an (N, L) array; single-character 0/1 fields take a fast path."""
    if all(len(line) == 2 * length - 1 for line in lines):
        raw = np.frombuffer((",".join(lines) + ",").encode("ascii"), np.uint8)
        return (raw.reshape(len(lines), 2 * length)[:, 0::2] - ord("0")).astype(np.float64)
    return _numbers(path, lines, 2)


def read(path: Path, L: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (N, L, 2) float32 and targets (N, 1) float32 of one validated file."""
    lines = _lines(path)
    if len(lines) % 3:
        raise DataError(f"{path}: {len(lines)} lines is not a multiple of 3 "
                        "(values, markers and target per sequence)")
    counts = np.array([line.count(",") for line in lines])
    length = int(counts[0]) + 1
    uneven = np.nonzero(counts != counts[0])[0]
    if uneven.size:
        i = int(uneven[0])
        raise DataError(f"{path}:{i + 1}: {counts[i] + 1} fields, expected {length} as on line 1 "
                        "(all sequences must have one length)")
    if L is not None and length != L:
        raise DataError(f"{path}: sequences have length {length}, expected L={L}")
    values = _numbers(path, lines[0::3], 1)  # (N, L)
    markers = _markers(path, lines[1::3], length)  # (N, L)
    targets_text = lines[2::3]
    for i, line in enumerate(targets_text):
        if line.count(",") and line.rstrip(",").count(","):
            raise DataError(f"{path}:{3 * i + 3}: expected the target followed by empty fields")
    targets = _numbers(path, [line.split(",", 1)[0] for line in targets_text], 3)  # (N, 1)

    not_binary = np.nonzero(((markers != 0) & (markers != 1)).any(axis=1))[0]
    if not_binary.size:
        raise DataError(f"{path}:{3 * not_binary[0] + 2}: markers must be 0 or 1")
    per_row = markers.sum(axis=1)
    wrong = np.nonzero(per_row != 2)[0]
    if wrong.size:
        i = int(wrong[0])
        raise DataError(f"{path}:{3 * i + 2}: {int(per_row[i])} markers, expected exactly 2")
    positions = np.nonzero(markers)[1].reshape(-1, 2)  # (N, 2), sorted, 0-based
    half = length // 2
    misplaced = np.nonzero((positions[:, 0] >= half) | (positions[:, 1] < half))[0]
    if misplaced.size:
        i = int(misplaced[0])
        p1, p2 = positions[i] + 1
        raise DataError(f"{path}:{3 * i + 2}: markers at positions {p1} and {p2}; expected one in "
                        f"1..{half} and one in {half + 1}..{length}")
    rows = np.arange(len(values))
    marked = values[rows, positions[:, 0]] + values[rows, positions[:, 1]]  # (N,)
    off = np.nonzero(np.abs(targets[:, 0] - marked) > TOLERANCE)[0]
    if off.size:
        i = int(off[0])
        raise DataError(f"{path}:{3 * i + 3}: target {targets[i, 0]:g} is not the sum of the "
                        f"marked values ({marked[i]:.2f})")
    x = np.stack([values, markers], axis=-1).astype(np.float32)  # (N, L, 2)
    return x, targets.astype(np.float32)
