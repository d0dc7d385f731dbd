"""The adding-task generator: same seed, same bytes, on every machine.

Channel 1: uniform in [-0.25, 0.25] rounded to 2 decimals. Channel 2: zeros, except a one at a
position in 1..L/2 and one in L/2+1..L (1-based). Target: the sum of the two marked values.
Values are drawn as integer hundredths, so formatting never depends on float printing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from rnnlab import EventSink, GenerateRequest, Note, Progress, UsageError, atomic_write

SPLIT_STREAM = {"train": 0, "dev": 1, "test": 2}  # each split is an independent draw
CHUNK = 1000  # sequences per progress update


def draw(L: int, n: int, seed: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Hundredths (n, L) and marker positions (n, 2), 0-based, for one split."""
    # Values and markers come from two streams, so a larger split extends a smaller one.
    values = np.random.default_rng([seed, L, SPLIT_STREAM[split], 0])
    places = np.random.default_rng([seed, L, SPLIT_STREAM[split], 1])
    hundredths = np.rint(values.uniform(-0.25, 0.25, (n, L)) * 100).astype(np.int64)  # (n, L)
    half = L // 2
    marks = places.integers([0, half], [half, L], size=(n, 2))  # 1-based 1..L/2, L/2+1..L
    return hundredths, marks


def _text(hundredths: np.ndarray, marks: np.ndarray, progress: Callable[[int], None]) -> str:
    n, L = hundredths.shape
    value_str = np.array([repr(k / 100) for k in range(-50, 51)])  # index k + 50 -> "-0.26"
    lines: list[str] = []
    for i in range(n):
        markers = ["0"] * L
        markers[marks[i, 0]] = markers[marks[i, 1]] = "1"
        target = hundredths[i, marks[i, 0]] + hundredths[i, marks[i, 1]]
        lines.append(",".join(value_str[hundredths[i] + 50]))
        lines.append(",".join(markers))
        lines.append(value_str[target + 50] + "," * (L - 1))
        if (i + 1) % CHUNK == 0 or i + 1 == n:
            progress(i + 1)
    return "\n".join(lines)  # the course files have no newline after the last line


def write_files(request: GenerateRequest, splits: Iterable[str],
                file_name: Callable[[int, str], str], emit: EventSink) -> list[Path]:
    """Generate every (L, split) file; refuse to overwrite different content unless forced;
    a file that already holds exactly this content is left as it is ("already up to date").

    All contents are made and checked before anything is written, so a refusal leaves no files.
    """
    planned: list[tuple[Path, bytes | None]] = []
    for L in request.lengths:
        for split in splits:
            path = request.out / file_name(L, split)
            n = request.sizes[split]

            def progress(done: int, name: str = path.name, total: int = n) -> None:
                emit(Progress(f"generating {name}", done, total))

            payload = _text(*draw(L, n, request.seed, split), progress).encode("ascii")
            if path.is_dir():
                raise UsageError(f"{path} is a directory, expected a data file")
            same = path.exists() and path.read_bytes() == payload
            if path.exists() and not same and not request.force:
                raise UsageError(f"{path} exists with different content; use --force to replace it")
            planned.append((path, None if same else payload))
    try:
        request.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {request.out} ({exc.strerror or exc})") from None
    for path, payload in planned:
        if payload is None:
            emit(Note(f"{path}: already up to date"))
        else:
            atomic_write(path, payload)
    return [path for path, _ in planned]
