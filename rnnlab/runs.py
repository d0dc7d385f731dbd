"""The run store: one directory per run, every file written atomically.

    runs/<id>/config.yaml      the resolved configuration
    runs/<id>/metrics.jsonl    one JSON line per epoch or evaluation
    runs/<id>/summary.json     status (running/completed/interrupted/failed), final metrics
    runs/<id>/model.npz        the checkpoint: arrays only, loaded with allow_pickle=False
    runs/<id>/losses.npy       training loss of every update (the learning curve)
    runs/<id>/provenance.json  seed, versions, git commit, command line
"""

from __future__ import annotations

import io
import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from rnnlab.errors import RnnlabError, UsageError
from rnnlab.files import atomic_write

CONFIG, METRICS, SUMMARY = "config.yaml", "metrics.jsonl", "summary.json"
CHECKPOINT, LOSSES, PROVENANCE = "model.npz", "losses.npy", "provenance.json"


class Run:
    """A run directory. Reading is lazy; every write replaces a whole file atomically."""

    def __init__(self, path: Path) -> None:
        self.dir = path
        self.id = path.name

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    # -- reading ---------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        path = self.dir / CONFIG
        return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}

    @property
    def summary(self) -> dict[str, Any]:
        path = self.dir / SUMMARY
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    @property
    def metrics(self) -> list[dict[str, Any]]:
        path = self.dir / METRICS
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "unknown"))

    def losses(self) -> Any:
        """The per-update training losses as a NumPy array (empty if none were recorded)."""
        import numpy as np

        path = self.dir / LOSSES
        return np.load(path, allow_pickle=False) if path.exists() else np.zeros(0, np.float32)

    def load_checkpoint(self) -> dict[str, Any]:
        """The model's parameters at the last completed epoch."""
        return self.load_training_state()[0]

    def load_training_state(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
        """(parameters, optimizer state, {"epoch", "updates"}) of the last completed epoch.

        Arrays only: a checkpoint holding pickled objects is refused, not unpickled."""
        import numpy as np

        path = self.dir / CHECKPOINT
        if not path.exists():
            raise RnnlabError(f"run {self.id} has no checkpoint ({path} is missing)")
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except (ValueError, OSError, EOFError) as exc:
            raise RnnlabError(f"{path}: not a valid checkpoint ({exc})") from None
        params = {k: v for k, v in arrays.items() if not k.startswith(("optimizer/", "progress/"))}
        optimizer = {k[10:]: v for k, v in arrays.items() if k.startswith("optimizer/")}
        progress = {k[9:]: int(v) for k, v in arrays.items() if k.startswith("progress/")}
        return params, optimizer, {"epoch": progress.get("epoch", 0),
                                   "updates": progress.get("updates", 0)}

    # -- writing ---------------------------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write(self.dir / CONFIG, yaml.safe_dump(config, sort_keys=False))

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write(self.dir / SUMMARY, json.dumps(summary, indent=2) + "\n")

    def write_provenance(self, record: dict[str, Any]) -> None:
        atomic_write(self.dir / PROVENANCE, json.dumps(record, indent=2) + "\n")

    def write_metrics(self, records: list[dict[str, Any]]) -> None:
        atomic_write(self.dir / METRICS, "".join(json.dumps(r) + "\n" for r in records))

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Add one line to metrics.jsonl (the file is rewritten whole, so never half a line)."""
        path = self.dir / METRICS
        old = path.read_bytes() if path.exists() else b""
        atomic_write(path, old + (json.dumps(record) + "\n").encode("utf-8"))

    def save_checkpoint(self, params: dict[str, Any], optimizer: dict[str, Any] | None = None,
                        progress: dict[str, int] | None = None) -> None:
        """Parameters, optimizer state and position (epoch, updates) in one file."""
        import numpy as np

        arrays = dict(params)
        arrays.update({f"optimizer/{k}": v for k, v in (optimizer or {}).items()})
        arrays.update({f"progress/{k}": np.array(v) for k, v in (progress or {}).items()})
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write(self.dir / CHECKPOINT, buffer.getvalue())

    def save_losses(self, losses: Any) -> None:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, np.asarray(losses, dtype=np.float32), allow_pickle=False)
        atomic_write(self.dir / LOSSES, buffer.getvalue())


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

    def __iter__(self) -> Iterator[Run]:
        if not self.root.is_dir():
            return iter(())
        dirs = sorted(p for p in self.root.iterdir() if (p / CONFIG).is_file())
        return iter(Run(p) for p in dirs)

    def list(self) -> list[Run]:
        return list(self)

    def get(self, ref: str) -> Run:
        """A run by id, unique id prefix, or path to its directory."""
        path = Path(ref)
        if (path / CONFIG).is_file():
            return Run(path)
        ids = [run.id for run in self]
        matches = [i for i in ids if i == ref] or [i for i in ids if i.startswith(ref)]
        if len(matches) == 1:
            return Run(self.root / matches[0])
        if len(matches) > 1:
            raise UsageError(f"run id '{ref}' is ambiguous in {self.root}: {', '.join(matches)}")
        raise UsageError(f"no run '{ref}' in {self.root} (see `rnnlab runs`)")
