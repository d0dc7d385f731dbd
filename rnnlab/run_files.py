"""What each file of a run directory may hold: its text parsed and checked on reading (a
damaged file is a RunDamaged naming it), JSON written without NaN, and the checkpoint
(model.npz) as arrays only, its headers checked before any array is unpacked:

    w_in1, b_out, ...          the model's parameters (its state dict)
    optimizer/<name>           the optimizer's buffers (e.g. momentum)
    progress/epoch, /updates   how far training got
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

from rnnlab.errors import RnnlabError

CONFIG, METRICS, SUMMARY = "config.yaml", "metrics.jsonl", "summary.json"
CHECKPOINT, LOSSES, PROVENANCE = "model.npz", "losses.npy", "provenance.json"
LOCK = ".lock"  # held by the process writing the run (see rnnlab.locks)
RUN_FILES = (CONFIG, METRICS, SUMMARY, CHECKPOINT, LOSSES, PROVENANCE)

# What a summary.json may hold: key -> accepted types. Anything else marks the run damaged,
# so that reports never trip over a hand-edited or corrupted file.
SUMMARY_TYPES: dict[str, tuple[type, ...]] = {
    "status": (str,), "model": (str,), "data": (str,), "L": (int, type(None)),
    "seed": (int,), "primary_metric": (str,), "epochs": (int,), "updates": (int,),
    "train_time_s": (int, float), "wall_time_s": (int, float), "test": (dict,),
    "dev": (dict,), "sweep": (str,), "cell": (str,), "recipe": (str,),
    "started_at": (str,), "resumed_at": (str,), "reason": (str,),
}
# The counts a summary may hold: key -> the largest value a run could have written.
SUMMARY_COUNTS = {"L": 10**7, "epochs": 10**9, "updates": 10**12, "train_time_s": 1e9,
                  "sequence_steps": 1e18, "total_sequence_steps": 1e18}
LIMIT = 64 * 2**20  # bytes: no run file the store reads is larger, except checkpoints
CHECKPOINT_LIMIT = 4 * 2**30  # bytes an unpacked checkpoint may take in memory


class RunDamaged(RnnlabError):
    """A run directory whose files cannot be read or do not hold what they should."""


def _json_safe(value: Any) -> Any:
    """NaN and infinities as null: strict JSON readers reject them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """JSON text of `value` with non-finite numbers written as null."""
    return json.dumps(_json_safe(value), allow_nan=False, **kwargs)


def check_regular(path: Path, limit: int) -> None:
    """Refuse a FIFO, device or oversized file in a run directory before opening it (reading a
    FIFO blocks forever, /dev/zero never ends)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise RunDamaged(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise RunDamaged(f"{path}: not a regular file")
    if info.st_size > limit:
        raise RunDamaged(f"{path}: {info.st_size} bytes, more than a run file holds "
                         f"(limit {limit})")


# -- config, summary, metrics, provenance ------------------------------------------------------
def _json(path: Path, text: str, line: int | None = None) -> Any:
    try:
        return json.loads(text, parse_constant=lambda name: None)
    except (ValueError, RecursionError) as exc:
        where = f"{path}:{line}" if line else str(path)
        reason = getattr(exc, "msg", None) or type(exc).__name__
        raise RunDamaged(f"{where}: not valid JSON ({reason})") from None


def config_of(path: Path, value: Any) -> dict[str, Any]:
    """A parsed config.yaml, which must be a mapping."""
    if not isinstance(value, dict):
        raise RunDamaged(f"{path}: expected a mapping, got {type(value).__name__}")
    return value


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond any float
        return False


def summary_of(path: Path, text: str | None) -> dict[str, Any]:
    """summary.json's text as a mapping holding the expected types ({} without a file)."""
    if text is None:
        return {}
    value = _json(path, text)
    if not isinstance(value, dict):
        raise RunDamaged(f"{path}: expected a JSON object, got {type(value).__name__}")
    for key, types in SUMMARY_TYPES.items():
        if key in value and (not isinstance(value[key], types) or isinstance(value[key], bool)):
            raise RunDamaged(f"{path}: '{key}' has the wrong type ({type(value[key]).__name__})")
    for key, high in SUMMARY_COUNTS.items():
        count = value.get(key)
        if count is not None and not (isinstance(count, (int, float)) and not isinstance(
                count, bool) and 0 <= count <= high):  # NaN fails both comparisons
            raise RunDamaged(f"{path}: '{key}' is not a number in [0, {high:g}]")
    for split in ("test", "dev"):
        for k, v in (value.get(split) or {}).items():
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)
                                  or not _finite(v)):  # rnnlab writes NaN and inf as null
                raise RunDamaged(f"{path}: {split} metric '{k}' is not a finite number")
    return value


def metrics_of(path: Path, text: str | None) -> list[dict[str, Any]]:
    """metrics.jsonl's text as one mapping per (non-blank) line."""
    records = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if line.strip():
            record = _json(path, line, number)
            if not isinstance(record, dict):
                raise RunDamaged(f"{path}:{number}: expected a JSON object")
            records.append(record)
    return records


def provenance_of(path: Path, text: str | None) -> dict[str, Any]:
    """provenance.json's text as a mapping ({} without a file)."""
    value = _json(path, text) if text is not None else {}
    if not isinstance(value, dict):
        raise RunDamaged(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


# -- losses.npy, model.npz ---------------------------------------------------------------------
def losses_of(raw: bytes, path: Path) -> Any:
    """losses.npy's bytes as a 1-D float array."""
    import numpy as np  # on first use: `import rnnlab` stays free of NumPy

    buffer = io.BytesIO(raw)
    try:  # the header first: it must promise what the file holds, no more (nor objects)
        version = np.lib.format.read_magic(buffer)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f"unsupported .npy version {version}")
        shape, _, dtype = read_header(buffer)
        size = math.prod(shape) * dtype.itemsize
        if dtype.hasobject or size != len(raw) - buffer.tell():
            raise ValueError(f"its header promises {dtype} {shape}, the file holds "
                             f"{len(raw) - buffer.tell()} bytes of data")
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise RunDamaged(f"{path}: not a valid losses file ({exc})") from None
    if array.ndim != 1 or array.dtype.kind != "f":
        raise RunDamaged(f"{path}: expected a 1-D float array, got {array.dtype} {array.shape}")
    return array


def losses_bytes(losses: Any) -> bytes:
    """The bytes of losses.npy (float32)."""
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(losses, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()

def checkpoint_bytes(params: dict[str, Any], optimizer: dict[str, Any] | None,
                     progress: dict[str, int] | None, path: Path) -> bytes:
    """model.npz's bytes; `path` (where they go) names the file in an error."""
    import numpy as np  # on first use: `import rnnlab` stays free of NumPy

    arrays = dict(params)
    arrays.update({f"optimizer/{k}": v for k, v in (optimizer or {}).items()})
    arrays.update({f"progress/{k}": np.array(v) for k, v in (progress or {}).items()})
    buffer = io.BytesIO()
    try:
        np.savez(buffer, **arrays)
    except MemoryError:
        raise RnnlabError(f"{path}: could not be written (out of memory)") from None
    return buffer.getvalue()


def checkpoint_of(path: Path, expected: dict[str, tuple[int, ...]] | None = None
                  ) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
    """(parameters, optimizer state, {"epoch", "updates"}) from the model.npz at `path`;
    given the model's `expected` parameter shapes, one of another model is refused."""
    import numpy as np

    try:
        check_checkpoint(path, expected)
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except RnnlabError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise RunDamaged(f"{path}: not a valid checkpoint ({exc})") from None
    params = {k: v for k, v in arrays.items() if not k.startswith(("optimizer/", "progress/"))}
    optimizer = {k[10:]: v for k, v in arrays.items() if k.startswith("optimizer/")}
    try:
        progress = {k[9:]: int(v) for k, v in arrays.items() if k.startswith("progress/")}
    except (TypeError, ValueError):
        raise RunDamaged(f"{path}: not a valid checkpoint (progress is not a number)"
                          ) from None
    return params, optimizer, {"epoch": progress.get("epoch", 0),
                               "updates": progress.get("updates", 0)}


def check_checkpoint(path: Path, expected: dict[str, tuple[int, ...]] | None = None) -> None:
    """Refuse a checkpoint whose array headers promise more memory than its limit, hold
    objects, or (given the model's `expected` parameter shapes) do not match the model,
    before any array is unpacked (a few MB of zip can expand to GBs)."""
    import numpy as np

    total, limit = 0, CHECKPOINT_LIMIT
    if expected is not None:  # parameters, optimizer state (a few copies), position
        limit = min(limit, 8 * 8 * sum(math.prod(s) for s in expected.values()) + 2**20)
    seen = set()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                               (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                if read_header is None:
                    raise ValueError(f"{info.filename}: unsupported .npy version {version}")
                shape, _, dtype = read_header(member)
            if dtype.hasobject:
                raise ValueError(f"{info.filename}: holds Python objects")
            name = info.filename.removesuffix(".npy")
            if expected is not None and not name.startswith(("optimizer/", "progress/")):
                if name not in expected:
                    raise RnnlabError(f"{path}: not a checkpoint of this model (unexpected "
                                      f"array {name[:60]!r})")
                if tuple(shape) != expected[name]:
                    raise RnnlabError(f"{path}: not a checkpoint of this model ({name} has "
                                      f"shape {tuple(shape)}, expected {expected[name]})")
                seen.add(name)
            total += math.prod(shape) * dtype.itemsize
            if total > limit:
                raise RnnlabError(f"{path}: its arrays would take {_size(total)} of memory "
                                  f"(limit {_size(limit)}); refusing to load it")
    missing = sorted(set(expected or ()) - seen)
    if missing:
        raise RnnlabError(f"{path}: not a checkpoint of this model (no array {missing[0]!r})")


def _size(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.1f} MB"
