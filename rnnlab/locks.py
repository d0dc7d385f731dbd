"""Locks that die with their process: one writer per run, one sweep per cell.

A lock is an advisory `flock` on a small file that also names its holder (pid, host,
command). The kernel drops the lock when the holding process ends in any way (kill -9
included), so a lock can never outlive its process. A holder's record that is still in the
file when the lock is free belongs to a process that ended without cleaning up: the next
holder takes over and says so. `flock` works across machines on NFS (Linux emulates it with
POSIX record locks), which is what lets two sweeps on two machines share one run store.

Why not the `filelock` package: it truncates the lock file when it opens it, so the holder's
record could not live in the file that is locked, and a read-only look (`rnnlab runs`) would
have to create files in a run directory. The few lines below do exactly what is needed.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time
from pathlib import Path
from typing import Any

from rnnlab.errors import RnnlabError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, runs are not protected
    fcntl = None  # type: ignore[assignment]


class Locked(RnnlabError):
    """The lock is held by another live process; `holder` describes it."""

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.holder = holder


def describe(holder: dict[str, Any]) -> str:
    """'process 1234 on host (rnnlab train ...)' for messages."""
    where = f"process {holder.get('pid', '?')}"
    if holder.get("host") and holder.get("host") != socket.gethostname():
        where += f" on {holder['host']}"
    command = holder.get("command")
    return f"{where} ({command})" if command else where


# A lock file is never followed through a symlink (a copied run directory could point .lock at
# a file we would then truncate) and never blocks on open (a FIFO planted as .lock).
OPEN_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | \
    getattr(os, "O_CLOEXEC", 0)


def _regular(fd: int) -> bool:
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        holder = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


class FileLock:
    """An exclusive lock on `path`. `acquire()` returns the record of a previous holder that
    ended without releasing (a stale lock now taken over), or None."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = Path(path), what
        self.fd: int | None = None

    def acquire(self, wait: float = 0.0) -> dict[str, Any] | None:
        """Take the lock, waiting up to `wait` seconds; Locked names the live holder."""
        if fcntl is None:  # pragma: no cover
            return None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | OPEN_FLAGS, 0o644)
        except OSError as exc:
            raise RnnlabError(f"{self.path}: cannot create lock file for {self.what} "
                              f"({exc.strerror or exc})") from None
        if not _regular(fd):
            os.close(fd)
            raise RnnlabError(f"{self.path}: not a regular file, expected a lock file")
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise Locked(f"{self.what} is in use by {describe(holder)}", holder
                                 ) from None
                time.sleep(0.05)
        stale = _read_holder(fd) or None
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "command": " ".join(["rnnlab", *sys.argv[1:]])[:200],
                  "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
        except OSError:
            pass  # the lock holds without the record; messages then name no process
        self.fd = fd
        return stale

    def release(self) -> None:
        """Clear the holder's record and drop the lock (the file stays for the next holder)."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(path: Path) -> dict[str, Any] | None:
    """Who holds the lock at `path` now (a live process), or None; never creates a file."""
    if fcntl is None:  # pragma: no cover
        return None
    try:
        fd = os.open(path, os.O_RDONLY | OPEN_FLAGS)
    except OSError:
        return None  # no lock file (nobody has ever locked it), or not one of ours
    try:
        if not _regular(fd):
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or {"pid": "?"}
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
