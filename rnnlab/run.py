"""One run directory and its files (their formats: rnnlab.run_files), every file written
atomically.

    runs/<id>/config.yaml      the resolved configuration
    runs/<id>/metrics.jsonl    one JSON line per epoch or evaluation
    runs/<id>/summary.json     status (running/completed/interrupted/failed), final metrics
    runs/<id>/model.npz        the checkpoint: arrays only, loaded with allow_pickle=False
    runs/<id>/losses.npy       training loss of every update (the learning curve)
    runs/<id>/provenance.json  seed, versions, git commit, command line, data files + hashes
    runs/<id>/.lock            held by the process writing the run (rnnlab.locks)

A Run reads each of config, summary, metrics and provenance once, on first access, and keeps
it; its own writes update what it keeps. `refresh()` forgets it all: call it where another
process may have written the run since (after taking its lock, before showing its state).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnlab import locks
from rnnlab.errors import RnnlabError
from rnnlab.files import atomic_write, dump_yaml, load_yaml, parse_yaml, read_input
from rnnlab.locks import FileLock
from rnnlab.run_files import (
    CHECKPOINT,
    CHECKPOINT_LIMIT,
    CONFIG,
    LIMIT,
    LOCK,
    LOSSES,
    METRICS,
    PROVENANCE,
    SUMMARY,
    RunDamaged,
    check_checkpoint,
    check_regular,
    checkpoint_bytes,
    checkpoint_of,
    config_of,
    dumps,
    losses_bytes,
    losses_of,
    metrics_of,
    provenance_of,
    summary_of,
)


class Run:
    """A run directory. Each file is read once, when first asked for (see `refresh`); every
    write replaces a whole file atomically."""

    def __init__(self, path: Path) -> None:
        self.dir = path
        self.id = path.name
        self._read: dict[str, Any] = {}  # file name -> its content, parsed and checked

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    def refresh(self) -> None:
        """Forget what was read: the next access reads the files again (another process may
        have written them since)."""
        self._read.clear()

    # -- reading ---------------------------------------------------------------------------
    def _cached(self, name: str, parse: Callable[[Path, str | None], Any]) -> Any:
        """The file's content, read and parsed on first access; a copy, so that a caller may
        change it."""
        if name not in self._read:
            self._read[name] = parse(self.dir / name, self._text(name))
        return copy.deepcopy(self._read[name])

    def _text(self, name: str) -> str | None:
        path = self.dir / name
        if not os.path.lexists(path):
            return None
        check_regular(path, LIMIT)
        raw = read_input(path, f"a run's {name}", RunDamaged)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RunDamaged(f"{path}: not UTF-8 text ({exc.reason})") from None

    @staticmethod
    def _config_file(path: Path, text: str | None) -> dict[str, Any]:
        if text is None:
            return {}
        try:
            value = load_yaml(path, "a run's config.yaml")  # its limits and messages
        except RnnlabError as exc:
            raise RunDamaged(str(exc)) from None
        return config_of(path, value)

    @property
    def config(self) -> dict[str, Any]:
        """config.yaml as a mapping; RunDamaged names the file if it is not one."""
        return self._cached(CONFIG, self._config_file)

    @property
    def summary(self) -> dict[str, Any]:
        """summary.json as a mapping with the expected types; RunDamaged names the file."""
        return self._cached(SUMMARY, summary_of)

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """metrics.jsonl, one mapping per line."""
        return self._cached(METRICS, metrics_of)

    @property
    def provenance(self) -> dict[str, Any]:
        """provenance.json as a mapping."""
        return self._cached(PROVENANCE, provenance_of)

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
            self.metrics  # noqa: B018 - read to check it, as the losses
            self.losses()
            self.provenance  # noqa: B018 - read to check it
            path = self.dir / CHECKPOINT  # what eval and warm starts read (when it is there)
            if self.status == "completed" and os.path.lexists(path):
                check_regular(path, CHECKPOINT_LIMIT)
                if not zipfile.is_zipfile(path):
                    return f"{path}: not a valid checkpoint (not an .npz archive)"
                try:  # its array headers: no objects, no more memory than a checkpoint takes
                    check_checkpoint(path)
                except (RnnlabError, ValueError, OSError, zipfile.BadZipFile) as exc:
                    text = str(exc)
                    return text if str(path) in text else (
                        f"{path}: not a valid checkpoint ({' '.join(text.split())[:200]})")
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
        from rnnlab.config import computed

        text = json.dumps(computed(self.config), sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def losses(self) -> Any:
        """The per-update training losses as a NumPy array (empty if none were recorded)."""
        path = self.dir / LOSSES
        if not path.exists():
            import numpy as np

            return np.zeros(0, np.float32)
        check_regular(path, CHECKPOINT_LIMIT)
        return losses_of(read_input(path, "a losses.npy", RunDamaged), path)

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
        path = self.dir / CHECKPOINT
        if not path.exists():
            raise RunDamaged(f"run {self.id} has no checkpoint ({path} is missing)")
        check_regular(path, CHECKPOINT_LIMIT)
        return checkpoint_of(path, expected)

    # -- who is writing it -----------------------------------------------------------------
    def lock(self) -> FileLock:
        """The lock every process that writes this run holds while it does."""
        return FileLock(self.dir / LOCK, f"run {self.id}")

    def writer(self) -> dict[str, Any] | None:
        """The live process writing this run, or None."""
        return locks.holder(self.dir / LOCK)

    def state(self) -> str:
        """The status as it is on disk now, corrected by the lock: 'running' with no live
        writer is 'abandoned' (its process was killed before it could record how it ended)."""
        self.refresh()  # its writer may have recorded how it ended since this Run read it
        status = self.status
        if status == "running" and self.writer() is None:
            return "abandoned"
        return status

    # -- writing ---------------------------------------------------------------------------
    def _wrote(self, name: str, parse: Callable[[], Any]) -> None:
        """Keep what was just written, as a reader would see it (or nothing, should a reader
        find it damaged: the next access reads the file and says why)."""
        self._read.pop(name, None)
        try:
            self._read[name] = parse()
        except Exception:  # reported by the next read, naming the file
            pass

    def write_config(self, config: dict[str, Any]) -> None:
        text = dump_yaml(config)
        atomic_write(self.dir / CONFIG, text)
        self._wrote(CONFIG, lambda: config_of(self.dir / CONFIG, parse_yaml(text)))

    def write_summary(self, summary: dict[str, Any]) -> None:
        text = dumps(summary, indent=2) + "\n"
        atomic_write(self.dir / SUMMARY, text)
        self._wrote(SUMMARY, lambda: summary_of(self.dir / SUMMARY, text))

    def write_provenance(self, record: dict[str, Any]) -> None:
        text = dumps(record, indent=2) + "\n"
        atomic_write(self.dir / PROVENANCE, text)
        self._wrote(PROVENANCE, lambda: provenance_of(self.dir / PROVENANCE, text))

    def write_metrics(self, records: list[dict[str, Any]]) -> None:
        text = "".join(dumps(r) + "\n" for r in records)
        atomic_write(self.dir / METRICS, text)
        self._wrote(METRICS, lambda: metrics_of(self.dir / METRICS, text))

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Add one line to metrics.jsonl (the file is rewritten whole, so never half a line)."""
        before = self._text(METRICS) or ""  # read: regular, bounded
        metrics_of(self.dir / METRICS, before)  # a damaged file is not added to: RunDamaged
        text = before + dumps(record) + "\n"
        atomic_write(self.dir / METRICS, text)
        self._wrote(METRICS, lambda: metrics_of(self.dir / METRICS, text))

    def save_checkpoint(self, params: dict[str, Any], optimizer: dict[str, Any] | None = None,
                        progress: dict[str, int] | None = None) -> None:
        """Parameters, optimizer state and position (epoch, updates) in one file."""
        path = self.dir / CHECKPOINT
        atomic_write(path, checkpoint_bytes(params, optimizer, progress, path))

    def save_losses(self, losses: Any) -> None:
        atomic_write(self.dir / LOSSES, losses_bytes(losses))
