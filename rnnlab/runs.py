"""The run store: the run directories under one folder (default ./runs), each a Run
(rnnlab.run). Creating a run is safe across parallel processes and atomic: a run is never
seen half-created. A damaged run (unreadable, or a file that does not hold what it should)
is listed as damaged with the file and the reason, and left out of reports; it never stops
the rest of the store from being read.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from rnnlab.errors import RnnlabError, UsageError
from rnnlab.run import Run
from rnnlab.run_files import CONFIG, RUN_FILES, RunDamaged, dumps

__all__ = ["Run", "RunDamaged", "RunStore", "dumps"]


class RunStore:
    """The runs under one directory (default ./runs)."""

    def __init__(self, root: Path | str = "runs") -> None:
        self.root = Path(root)

    def create(self, model: str) -> Run:
        """A new, empty run directory with a unique id (safe across parallel processes)."""
        label = re.sub(r"[^A-Za-z0-9_.-]+", "-", model).strip("-") or "run"
        self._check_root()
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
        run.refresh()  # its directory now holds the staged files

    def discard(self, run: Run) -> None:
        """Remove a run directory that never got going (its creation failed half-way)."""
        shutil.rmtree(run.dir, ignore_errors=True)

    def _check_root(self) -> None:
        if os.path.lexists(self.root) and not self.root.is_dir():
            raise UsageError(f"runs directory '{self.root}' is not a directory")

    def _entries(self) -> list[Path]:
        """What the store's directory holds (nothing if it does not exist yet)."""
        self._check_root()
        try:
            return sorted(self.root.iterdir()) if self.root.is_dir() else []
        except OSError as exc:
            raise RnnlabError(f"cannot read runs directory '{self.root}' "
                              f"({exc.strerror or exc})") from None

    def scan(self) -> tuple[list[Run], list[tuple[Path, str]]]:
        """(readable runs, [(path, reason)] of damaged ones), oldest first. A run reached
        twice (a symlinked run directory) is listed once; folders holding no run file (e.g.
        reports/, a run being created) are not runs."""
        entries = self._entries()
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
        if (path / CONFIG).is_file():  # a symlinked directory: the run it points to
            real = path.is_symlink() or path.name in ("", ".", "..")
            return Run(Path(os.path.realpath(path)) if real else path)
        # a run directory whose config is damaged is still the run named (its check says why)
        ids = sorted({p.name for p in self._entries()
                      if not p.name.startswith(".") and p.is_dir()
                      and any(os.path.lexists(p / name) for name in RUN_FILES)})
        matches = [i for i in ids if i == ref] or [i for i in ids if i.startswith(ref)]
        if len(matches) == 1:  # a symlinked run directory: the run it points to
            found = self.root / matches[0]
            return Run(Path(os.path.realpath(found)) if found.is_symlink() else found)
        if len(matches) > 1:
            raise UsageError(f"run id '{ref}' is ambiguous in {self.root}: {', '.join(matches)}")
        raise UsageError(f"no run '{ref}' in {self.root} (see `rnnlab runs`)")
