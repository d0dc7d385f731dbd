"""Reading input files with one-line errors, and writing output files atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from rnnlab.errors import DataError, RnnlabError, UsageError


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()  # what open() would give a new file; mkstemp alone gives 0600


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write via a temporary file in the same directory and rename: all or nothing."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise RnnlabError(f"{path}: could not be written ({exc.strerror or exc})") from exc
        raise


def read_input(path: Path, expected: str, error: type[RnnlabError] = DataError) -> bytes:
    """The bytes of an input file; a missing file, a directory or an unreadable file is an
    `error` naming the path (and what was `expected` there)."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected {expected}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None


def load_yaml(path: Path, expected: str) -> Any:
    """A YAML file parsed with safe_load (no Python objects); errors name the file and line."""
    import yaml

    raw = read_input(path, expected, UsageError)
    try:
        return yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a text file ({exc.reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UsageError(f"{where}: invalid YAML: {problem}") from None
