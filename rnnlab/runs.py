"""The run store: one directory per run, every file written atomically.

    runs/<id>/config.yaml      the resolved configuration
    runs/<id>/metrics.jsonl    one JSON line per epoch or evaluation
    runs/<id>/summary.json     status (running/completed/interrupted/failed), final metrics
    runs/<id>/model.npz        the checkpoint: arrays only, loaded with allow_pickle=False
    runs/<id>/losses.npy       training loss of every update (the learning curve)
    runs/<id>/provenance.json  seed, versions, git commit, command line, data files + hashes
    runs/<id>/.lock            held by the process writing the run (rnnlab.locks)

A damaged run (unreadable, or a file that does not hold what it should) is listed as damaged
with the file and the reason, and left out of reports; it never stops the rest of the store
from being read.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
import stat
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rnnlab import locks
from rnnlab.errors import RnnlabError, UsageError
from rnnlab.files import atomic_write, dump_yaml, load_yaml, read_input
from rnnlab.locks import FileLock

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


def _regular(path: Path, limit: int) -> None:
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


class Run:
    """A run directory. Reading is lazy; every write replaces a whole file atomically."""

    def __init__(self, path: Path) -> None:
        self.dir = path
        self.id = path.name

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    # -- reading ---------------------------------------------------------------------------
    def _text(self, name: str) -> str | None:
        path = self.dir / name
        if not os.path.lexists(path):
            return None
        _regular(path, LIMIT)
        raw = read_input(path, f"a run's {name}", RunDamaged)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RunDamaged(f"{path}: not UTF-8 text ({exc.reason})") from None

    @property
    def config(self) -> dict[str, Any]:
        """config.yaml as a mapping; RunDamaged names the file if it is not one."""
        path = self.dir / CONFIG
        if self._text(CONFIG) is None:
            return {}
        try:
            value = load_yaml(path, "a run's config.yaml")
        except RnnlabError as exc:
            raise RunDamaged(str(exc)) from None
        if not isinstance(value, dict):
            raise RunDamaged(f"{path}: expected a mapping, got {type(value).__name__}")
        return value

    @property
    def summary(self) -> dict[str, Any]:
        """summary.json as a mapping with the expected types; RunDamaged names the file."""
        path = self.dir / SUMMARY
        text = self._text(SUMMARY)
        if text is None:
            return {}
        value = self._json(path, text)
        if not isinstance(value, dict):
            raise RunDamaged(f"{path}: expected a JSON object, got {type(value).__name__}")
        for key, types in SUMMARY_TYPES.items():
            if key in value and (not isinstance(value[key], types)
                                 or isinstance(value[key], bool)):
                raise RunDamaged(f"{path}: '{key}' has the wrong type "
                                 f"({type(value[key]).__name__})")
        for split in ("test", "dev"):
            for k, v in (value.get(split) or {}).items():
                if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)):
                    raise RunDamaged(f"{path}: {split} metric '{k}' is not a number")
        return value

    @staticmethod
    def _json(path: Path, text: str, line: int | None = None) -> Any:
        try:
            return json.loads(text, parse_constant=lambda name: None)
        except (ValueError, RecursionError) as exc:
            where = f"{path}:{line}" if line else str(path)
            reason = getattr(exc, "msg", None) or type(exc).__name__
            raise RunDamaged(f"{where}: not valid JSON ({reason})") from None

    @property
    def metrics(self) -> list[dict[str, Any]]:
        path = self.dir / METRICS
        text = self._text(METRICS)
        records = []
        for number, line in enumerate((text or "").splitlines(), start=1):
            if line.strip():
                record = self._json(path, line, number)
                if not isinstance(record, dict):
                    raise RunDamaged(f"{path}:{number}: expected a JSON object")
                records.append(record)
        return records

    @property
    def provenance(self) -> dict[str, Any]:
        path = self.dir / PROVENANCE
        text = self._text(PROVENANCE)
        value = self._json(path, text) if text is not None else {}
        if not isinstance(value, dict):
            raise RunDamaged(f"{path}: expected a JSON object, got {type(value).__name__}")
        return value

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "unknown"))

    def check(self) -> str | None:
        """Why the run is damaged (one line naming the file), or None if it reads cleanly."""
        try:
            if not (self.dir / CONFIG).is_file() and not os.access(self.dir, os.R_OK | os.X_OK):
                return f"{self.dir}: cannot read the run directory"
            if not os.path.lexists(self.dir / CONFIG):
                return f"{self.dir / CONFIG}: missing"
            self.summary  # noqa: B018 - read to check it
            from rnnlab.config import merge

            merge(self.config)
            if not os.path.lexists(self.dir / SUMMARY):
                return f"{self.dir / SUMMARY}: missing"
        except RnnlabError as exc:
            text = str(exc)
            return text if str(self.dir) in text else f"{self.dir / CONFIG}: {text}"
        except KeyError as exc:
            return f"{self.dir / CONFIG}: unknown key {exc}"
        except (OSError, TypeError) as exc:
            return f"{self.dir}: cannot be read ({exc})"
        return None

    def config_key(self) -> str:
        """What the run computes (config without paths and device): equal keys, equal runs."""
        ignored = ("runs_dir", "data_dir", "device")
        config = {k: v for k, v in self.config.items() if k not in ignored}
        text = json.dumps(config, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    # -- who is writing it -----------------------------------------------------------------
    def lock(self) -> FileLock:
        """The lock every process that writes this run holds while it does."""
        return FileLock(self.dir / LOCK, f"run {self.id}")

    def writer(self) -> dict[str, Any] | None:
        """The live process writing this run, or None."""
        return locks.holder(self.dir / LOCK)

    def state(self) -> str:
        """The status, corrected by the lock: 'running' with no live writer is 'abandoned'
        (its process was killed before it could record how it ended)."""
        status = self.status
        if status == "running" and self.writer() is None:
            return "abandoned"
        return status

    def losses(self) -> Any:
        """The per-update training losses as a NumPy array (empty if none were recorded)."""
        import numpy as np

        path = self.dir / LOSSES
        if not path.exists():
            return np.zeros(0, np.float32)
        _regular(path, CHECKPOINT_LIMIT)
        try:
            array = np.load(io.BytesIO(read_input(path, "a losses.npy", RunDamaged)),
                            allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise RunDamaged(f"{path}: not a valid losses file ({exc})") from None
        if array.ndim != 1 or array.dtype.kind != "f":
            raise RunDamaged(f"{path}: expected a 1-D float array, got {array.dtype} "
                             f"{array.shape}")
        return array

    def load_checkpoint(self) -> dict[str, Any]:
        """The model's parameters at the last completed epoch."""
        return self.load_training_state()[0]

    def load_training_state(self, expected: dict[str, tuple[int, ...]] | None = None
                            ) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
        """(parameters, optimizer state, {"epoch", "updates"}) of the last completed epoch.

        Arrays only: a checkpoint holding pickled objects is refused, not unpickled; so is
        one whose arrays would unpack to more memory than CHECKPOINT_LIMIT, or, given the
        `expected` parameter shapes, one whose parameters differ from them or whose arrays
        would take more than a few times the parameters' memory (headers are checked before
        any array is read)."""
        import numpy as np

        path = self.dir / CHECKPOINT
        if not path.exists():
            raise RnnlabError(f"run {self.id} has no checkpoint ({path} is missing)")
        _regular(path, CHECKPOINT_LIMIT)
        try:
            _check_npz_sizes(path, expected)
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except RnnlabError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise RnnlabError(f"{path}: not a valid checkpoint ({exc})") from None
        params = {k: v for k, v in arrays.items() if not k.startswith(("optimizer/", "progress/"))}
        optimizer = {k[10:]: v for k, v in arrays.items() if k.startswith("optimizer/")}
        try:
            progress = {k[9:]: int(v) for k, v in arrays.items() if k.startswith("progress/")}
        except (TypeError, ValueError):
            raise RnnlabError(f"{path}: not a valid checkpoint (progress is not a number)"
                              ) from None
        return params, optimizer, {"epoch": progress.get("epoch", 0),
                                   "updates": progress.get("updates", 0)}

    # -- writing ---------------------------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write(self.dir / CONFIG, dump_yaml(config))

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write(self.dir / SUMMARY, dumps(summary, indent=2) + "\n")

    def write_provenance(self, record: dict[str, Any]) -> None:
        atomic_write(self.dir / PROVENANCE, dumps(record, indent=2) + "\n")

    def write_metrics(self, records: list[dict[str, Any]]) -> None:
        atomic_write(self.dir / METRICS, "".join(dumps(r) + "\n" for r in records))

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Add one line to metrics.jsonl (the file is rewritten whole, so never half a line)."""
        old = self._text(METRICS) or ""  # checked: a regular file of bounded size
        atomic_write(self.dir / METRICS, old + dumps(record) + "\n")

    def save_checkpoint(self, params: dict[str, Any], optimizer: dict[str, Any] | None = None,
                        progress: dict[str, int] | None = None) -> None:
        """Parameters, optimizer state and position (epoch, updates) in one file."""
        import numpy as np

        arrays = dict(params)
        arrays.update({f"optimizer/{k}": v for k, v in (optimizer or {}).items()})
        arrays.update({f"progress/{k}": np.array(v) for k, v in (progress or {}).items()})
        buffer = io.BytesIO()
        try:
            np.savez(buffer, **arrays)
        except MemoryError:
            raise RnnlabError(f"{self.dir / CHECKPOINT}: could not be written (out of memory)"
                              ) from None
        atomic_write(self.dir / CHECKPOINT, buffer.getvalue())

    def save_losses(self, losses: Any) -> None:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, np.asarray(losses, dtype=np.float32), allow_pickle=False)
        atomic_write(self.dir / LOSSES, buffer.getvalue())


def _check_npz_sizes(path: Path, expected: dict[str, tuple[int, ...]] | None = None) -> None:
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


class RunStore:
    """The runs under one directory (default ./runs)."""

    def __init__(self, root: Path | str = "runs") -> None:
        self.root = Path(root)

    def create(self, model: str) -> Run:
        """A new, empty run directory with a unique id (safe across parallel processes)."""
        label = re.sub(r"[^A-Za-z0-9_.-]+", "-", model).strip("-") or "run"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RnnlabError(
                f"cannot create runs directory '{self.root}' ({exc.strerror or exc})"
            ) from None
        while True:
            run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{label}-{secrets.token_hex(3)}"
            try:
                (self.root / run_id).mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise RnnlabError(
                    f"cannot create a run in '{self.root}' ({exc.strerror or exc})"
                ) from None
            return Run(self.root / run_id)

    def create_staged(self, model: str) -> tuple[Run, Run]:
        """A new run id (its directory reserved, empty) and a hidden staging directory to
        write its first files into; `publish` then moves them into place in one rename, so a
        run is never seen half-created, even after kill -9."""
        run = self.create(model)
        staging = Run(self.root / f".{run.id}.new")
        try:
            staging.dir.mkdir()
        except OSError as exc:
            self.discard(run)
            raise RnnlabError(f"cannot create a run in '{self.root}' ({exc.strerror or exc})"
                              ) from None
        return run, staging

    def publish(self, staging: Run, run: Run) -> None:
        """Move a staged run onto its reserved (empty) directory: one atomic rename."""
        try:
            os.replace(staging.dir, run.dir)
        except OSError as exc:
            raise RnnlabError(f"cannot create run {run.dir} ({exc.strerror or exc})") from None

    def discard(self, run: Run) -> None:
        """Remove a run directory that never got going (its creation failed half-way)."""
        shutil.rmtree(run.dir, ignore_errors=True)

    def scan(self) -> tuple[list[Run], list[tuple[Path, str]]]:
        """(readable runs, [(path, reason)] of damaged ones), oldest first. A run reached
        twice (a symlinked run directory) is listed once; folders holding no run file (e.g.
        reports/, a run being created) are not runs."""
        try:
            entries = sorted(self.root.iterdir()) if self.root.is_dir() else []
        except OSError as exc:
            raise RnnlabError(f"cannot read runs directory '{self.root}' "
                              f"({exc.strerror or exc})") from None
        seen: dict[str, Path] = {}
        runs, damaged = [], []
        # real directories first, so that a symlink never displaces the run it points to
        for path in sorted(entries, key=lambda p: (p.is_symlink(), p.name)):
            if path.name.startswith(".") or not path.is_dir():
                continue
            real = os.path.realpath(path)
            if real in seen:
                continue
            run = Run(path)
            try:
                names = set(os.listdir(path))
            except OSError as exc:
                seen[real] = path
                damaged.append((path, f"{path}: cannot read the run directory "
                                      f"({exc.strerror or exc})"))
                continue
            if not names & set(RUN_FILES):
                continue
            seen[real] = path
            reason = run.check()
            if reason is None:
                runs.append(run)
            else:
                damaged.append((path, reason))
        runs.sort(key=lambda r: r.id)
        damaged.sort()
        return runs, damaged

    def __iter__(self) -> Iterator[Run]:
        return iter(self.scan()[0])

    def list(self) -> list[Run]:
        return self.scan()[0]

    def get(self, ref: str) -> Run:
        """A run by id, unique id prefix, or path to its directory."""
        path = Path(ref)
        if (path / CONFIG).is_file():
            return Run(Path(os.path.abspath(path)) if path.name in ("", ".", "..") else path)
        ids = sorted({p.name for p in (self.root.iterdir() if self.root.is_dir() else [])
                      if not p.name.startswith(".") and (p / CONFIG).is_file()})
        matches = [i for i in ids if i == ref] or [i for i in ids if i.startswith(ref)]
        if len(matches) == 1:
            return Run(self.root / matches[0])
        if len(matches) > 1:
            raise UsageError(f"run id '{ref}' is ambiguous in {self.root}: {', '.join(matches)}")
        raise UsageError(f"no run '{ref}' in {self.root} (see `rnnlab runs`)")
