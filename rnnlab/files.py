"""Reading input files with one-line errors, and writing output files atomically.

Config and sweep files are YAML read with rnnlab.safe_yaml; rnnlab.quoting quotes values in
the messages. Their names are importable from here too, as they always were."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import yaml

from rnnlab.errors import DataError, RnnlabError, UsageError
from rnnlab.quoting import clip, short  # noqa: F401  (short: importable from here)
from rnnlab.safe_yaml import (  # noqa: F401  (importable from rnnlab.files, as they were)
    MAX_DEPTH,
    MAX_VALUES,
    Refused,
    _Loader,
    _PyLoader,
    dump_yaml,
    parse_yaml,
)

DATA_LIMIT = 1 << 30  # data files: generous, but /dev/zero-like inputs must end somewhere
YAML_LIMIT = 1 << 20  # config and sweep files are a few hundred bytes


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()  # what open() would give a new file; mkstemp alone gives 0600


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write via a temporary file in the same directory and rename: all or nothing."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:  # out of inodes or space, the temporary file fails first: name the real file
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise RnnlabError(f"{path}: could not be written ({exc.strerror or exc})") from exc
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


# ---------------------------------------------------------------------------------------------
# input files


def _size(n: int) -> str:
    for unit, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= unit and n % unit == 0:
            return f"{n // unit} {name}"
    return f"{n} bytes"


def _check(path: Path, info: os.stat_result, expected: str, error: type[RnnlabError],
           limit: int) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{path}: is a directory, expected {expected}")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: not a regular file, expected {expected}")
    if info.st_size > limit:
        raise error(f"{path}: {info.st_size} bytes is too large for {expected} "
                    f"(limit {_size(limit)})")


def read_input(path: Path, expected: str, error: type[RnnlabError] = DataError, *,
               limit: int = DATA_LIMIT) -> bytes:
    """The bytes of an input file; a missing file, a directory, anything but a regular file
    (a FIFO, /dev/zero) or a file over `limit` bytes is an `error` naming the path (and what
    was `expected` there)."""
    try:
        # stat first: open() of a FIFO blocks until a writer appears, and a device may never
        # stop giving bytes.
        _check(path, os.stat(path), expected, error, limit)
        # O_NONBLOCK: should the path be swapped for a FIFO after the stat, open() still
        # returns at once and the fstat below refuses it.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
        with open(fd, "rb") as handle:
            info = os.fstat(fd)
            _check(path, info, expected, error, limit)
            wanted = min(info.st_size, limit) + 1  # one byte more tells that the file grew
            data = handle.read(wanted)
            if len(data) == wanted:
                data += handle.read(limit + 1 - len(data))
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected {expected}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise error(f"{path}: {max(len(data), info.st_size)} bytes is too large for {expected} "
                    f"(limit {_size(limit)})")
    return data


def read_csv_lines(path: Path, expected: str, *, limit: int = DATA_LIMIT) -> list[str]:
    """The lines of a user-supplied CSV file, read as `read_input` reads (a DataError names
    the file and `expected`): ASCII only (a DataError names the line of another byte), CRLF
    or LF, one final newline dropped."""
    raw = read_input(path, expected, limit=limit)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not a text CSV file (byte 0x{raw[exc.start]:02x})"
                        ) from None
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    return lines


# ---------------------------------------------------------------------------------------------
# YAML files


def load_yaml(path: Path, expected: str, *, limit: int = YAML_LIMIT) -> Any:
    """A YAML file parsed with safe_load (no Python objects); errors name the file and line.

    Refused: files over `limit` bytes, anything but a regular file, alias bombs, nesting
    deeper than MAX_DEPTH, duplicate keys. `1e-3` is a number."""
    raw = read_input(path, expected, UsageError, limit=limit)
    try:
        return parse_yaml(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a text file ({exc.reason})") from None
    except RecursionError:  # not expected within MAX_DEPTH; still one line, not a traceback
        raise UsageError(f"{path}: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        if isinstance(exc, Refused):
            raise UsageError(f"{where}: {problem}") from None
        if "maximum nesting depth" in problem:  # libyaml's own limit (1000) may come first
            raise UsageError(f"{where}: nested more than {MAX_DEPTH} levels deep") from None
        raise UsageError(f"{where}: invalid YAML: {clip(problem, 200)}") from None
