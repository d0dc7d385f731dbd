"""Errors a user can act on. The CLI prints them as one line, without a traceback."""

from __future__ import annotations


class RnnlabError(Exception):
    """A problem with the user's input or environment; `str()` is the one-line message."""

    exit_code = 1


class UsageError(RnnlabError):
    """A bad command-line option, config key or plugin name (exit code 2)."""

    exit_code = 2


class DataError(RnnlabError):
    """A data file that is missing or does not have the expected format."""


class PluginError(RnnlabError):
    """A plugin that failed to import or does not satisfy its contract."""
