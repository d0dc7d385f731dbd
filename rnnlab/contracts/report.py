"""The report contract: tables and pictures made from the run store."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnlab.contracts.base import Plugin
from rnnlab.events import EventSink, ignore

if TYPE_CHECKING:
    from rnnlab.runs import Run


@dataclass(frozen=True)
class Column:
    """A table column: `key` into each row, or `fmt(row) -> str` for a computed cell."""

    header: str
    key: str = ""
    fmt: Callable[[dict[str, Any]], str] | None = None

    def cell(self, row: dict[str, Any]) -> str:
        if self.fmt is not None:
            return self.fmt(row)
        value = row.get(self.key)
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)


@dataclass
class ReportResult:
    """What a report returns: a table (rows are plain dicts, for csv/json) and/or files."""

    title: str
    columns: list[Column] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class ReportRequest:
    """The runs a report should use (already filtered by --model/--L), and its settings."""

    runs: list[Run]
    run_ids: list[str]
    models: list[str]
    lengths: list[int]
    settings: dict[str, Any]
    out_dir: Path
    emit: EventSink = ignore


class ReportPlugin(Plugin):
    """A report: turns runs (or its own measurements) into a ReportResult; never prints."""

    @abc.abstractmethod
    def build(self, request: ReportRequest) -> ReportResult:
        """The table and/or files for `request`; raise UsageError for a bad setting."""
