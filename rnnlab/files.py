"""Reading input files with one-line errors, and writing output files atomically."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from rnnlab.errors import DataError, RnnlabError, UsageError

DATA_LIMIT = 1 << 30  # data files: generous, but /dev/zero-like inputs must end somewhere
YAML_LIMIT = 1 << 20  # config and sweep files are a few hundred bytes
MAX_DEPTH = 100  # YAML nesting levels (each costs a few Python stack frames to compose)
MAX_VALUES = 100_000  # YAML values, counting each alias as a copy of what it refers to


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
# quoting values in messages


def clip(text: str, limit: int = 40) -> str:
    """`text`, cut to its first `limit` characters and `…` when longer."""
    return text if len(text) <= limit else text[:limit] + "…"


def short(value: Any, limit: int = 40) -> str:
    """repr(value) for an error message: at most `limit` characters and `…`. The full repr is
    never built, so a 1 MB string or a list of a million items costs next to nothing."""
    return clip(_repr_prefix(value, limit + 8), limit)


def _repr_prefix(value: Any, budget: int) -> str:
    """repr(value), or a string of more than `budget` characters that starts like it."""
    if budget <= 0:
        return "…"
    if isinstance(value, (str, bytes)):
        return repr(value[: budget + 1])
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3000:
        return f"<a {value.bit_length()}-bit integer>"  # repr() refuses past 4300 digits
    brackets = {list: "[]", tuple: "()", dict: "{}", set: "{}", frozenset: "{}"}
    kind = next((k for k in brackets if isinstance(value, k)), None)
    if kind is None or not value:
        return repr(value)
    text = brackets[kind][0]
    for i, item in enumerate(value.items() if isinstance(value, dict) else value):
        if len(text) > budget:
            return text  # already longer than needed: the closing bracket never shows
        text += ", " if i else ""
        if isinstance(value, dict):
            text += _repr_prefix(item[0], budget - len(text)) + ": "
            item = item[1]
        text += _repr_prefix(item, budget - len(text))
    if kind is tuple and len(value) == 1:
        text += ","
    return text + brackets[kind][1]


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


# ---------------------------------------------------------------------------------------------
# YAML


class _Refused(yaml.YAMLError):
    """A YAML document this loader will not load; the message stands without 'invalid YAML'."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


class _Resolver(Resolver):
    """YAML 1.1 reads `1e-3` (no dot) and `1.0e5` (no exponent sign) as strings; in a config
    file they can only mean numbers."""


_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


class _Checks(Composer, SafeConstructor, _Resolver):
    """safe_load's composer and constructor, with limits: nesting depth, the number of values
    once aliases are expanded (a 'billion laughs' file is a few hundred bytes), no alias of a
    value that contains it, and no duplicate keys."""

    def __init__(self) -> None:
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        _Resolver.__init__(self)
        self._depth = 0
        self._values = 0
        self._sizes: dict[int, int] = {}  # id(node) -> its number of values, aliases expanded
        self._keys_checked: set[int] = set()

    def _count(self, n: int, event: Any) -> None:
        self._values += n
        if self._values > MAX_VALUES:
            if isinstance(event, AliasEvent):
                raise _Refused(f"alias *{clip(event.anchor)} expands the file to more than "
                               f"{MAX_VALUES} values", event.start_mark)
            raise _Refused(f"more than {MAX_VALUES} values", event.start_mark)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:  # its anchor is still being composed: the value contains itself
                raise _Refused(f"alias *{clip(event.anchor)} refers to a value that contains it",
                               event.start_mark)
            self._count(size, event)
            return node
        if self._depth >= MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        before = self._values
        self._count(1, event)
        self._depth += 1
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._sizes[id(node)] = self._values - before
        return node

    def flatten_mapping(self, node: MappingNode) -> None:
        # The first call sees the mapping as written; later ones see merged (<<) keys too,
        # which the mapping's own keys may override.
        if id(node) not in self._keys_checked:
            self._keys_checked.add(id(node))
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    if key in seen:
                        raise _Refused(f"duplicate key {short(key)}", key_node.start_mark)
                    seen.add(key)
                except TypeError:  # an unhashable key: construct_mapping says so
                    pass
        super().flatten_mapping(node)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError):  # int("9" * 5000), a 13th month, ...
            kind = str(node.tag).rpartition(":")[2]
            raise _Refused(f"{short(node.value)} is not a valid {kind}", node.start_mark) from None


class _PyLoader(_Checks, Reader, Scanner, Parser):
    """The loader on PyYAML's pure-Python parser."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _Checks.__init__(self)


_Loader: type = _PyLoader
if yaml.__with_libyaml__:  # libyaml parses ~15x faster, and stops at 1000 levels by itself

    from yaml.cyaml import CParser

    class _CLoader(_Checks, CParser):
        """The loader on libyaml's parser (events only: composing stays in Python, checked)."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _Checks.__init__(self)

    _Loader = _CLoader


def parse_yaml(text: str, loader: type | None = None) -> Any:
    """One YAML document, read as safe_load does but within the limits above; yaml.YAMLError
    for anything it refuses."""
    parser = (loader or _Loader)(text)
    try:
        return parser.get_single_data()
    finally:
        parser.dispose()


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
        if isinstance(exc, _Refused):
            raise UsageError(f"{where}: {problem}") from None
        if "maximum nesting depth" in problem:  # libyaml's own limit (1000) may come first
            raise UsageError(f"{where}: nested more than {MAX_DEPTH} levels deep") from None
        raise UsageError(f"{where}: invalid YAML: {clip(problem, 200)}") from None


class _Dumper(yaml.SafeDumper):
    """safe_dump that quotes strings which the loader above would read as numbers."""


_Dumper.yaml_implicit_resolvers = {
    first: list(resolvers) for first, resolvers in _Resolver.yaml_implicit_resolvers.items()}


def dump_yaml(data: Any) -> str:
    """YAML that load_yaml reads back as `data` (a string '1e-3' stays a string)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False)
