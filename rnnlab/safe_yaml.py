"""The YAML that config and sweep files are read in: what safe_load reads, within limits
(nesting depth, values once aliases are expanded, no self-referring alias, no duplicate key),
with `1e-3` read as a number; and a dumper whose output reads back the same."""

from __future__ import annotations

import re
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

from rnnlab.quoting import clip, short

MAX_DEPTH = 100  # YAML nesting levels (each costs a few Python stack frames to compose)
MAX_VALUES = 100_000  # YAML values, counting each alias as a copy of what it refers to


class Refused(yaml.YAMLError):
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
                raise Refused(f"alias *{clip(event.anchor)} expands the file to more than "
                               f"{MAX_VALUES} values", event.start_mark)
            raise Refused(f"more than {MAX_VALUES} values", event.start_mark)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:  # its anchor is still being composed: the value contains itself
                raise Refused(f"alias *{clip(event.anchor)} refers to a value that contains it",
                               event.start_mark)
            self._count(size, event)
            return node
        if self._depth >= MAX_DEPTH:
            raise Refused(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
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
                        raise Refused(f"duplicate key {short(key)}", key_node.start_mark)
                    seen.add(key)
                except TypeError:  # an unhashable key: construct_mapping says so
                    pass
        super().flatten_mapping(node)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError):  # int("9" * 5000), a 13th month, ...
            kind = str(node.tag).rpartition(":")[2]
            raise Refused(f"{short(node.value)} is not a valid {kind}", node.start_mark) from None


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


class _Dumper(yaml.SafeDumper):
    """safe_dump that quotes strings which the loader above would read as numbers."""


_Dumper.yaml_implicit_resolvers = {
    first: list(resolvers) for first, resolvers in _Resolver.yaml_implicit_resolvers.items()}


def dump_yaml(data: Any) -> str:
    """YAML that load_yaml reads back as `data` (a string '1e-3' stays a string)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False)
