"""What every command shares: the two consoles, the --debug switch, the one error path (a
line on stderr and an exit code), and the plugin registry with its warnings."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from rnnlab import registry as plugin_registry
from rnnlab.errors import EXIT_FAILED, RnnlabError, interrupt_code
from rnnlab.ui.text import one_line

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
state = {"debug": os.environ.get("RNNLAB_DEBUG", "") not in ("", "0")}

F = TypeVar("F", bound=Callable[..., Any])


def warn(message: str) -> None:
    err.print(f"warning: {one_line(message)}", markup=False, soft_wrap=True)


def error_line(exc: BaseException) -> tuple[str, int]:
    """The line on stderr and the exit code for what stopped a command."""
    if isinstance(exc, KeyboardInterrupt):
        return one_line(getattr(exc, "message", "interrupted")), interrupt_code(exc)
    if isinstance(exc, RnnlabError):
        return f"error: {one_line(str(exc))}", exc.exit_code
    return (f"error: {type(exc).__name__}: {one_line(str(exc))} (--debug shows the traceback)",
            EXIT_FAILED)


def handles_errors(fn: F) -> F:
    """Turn RnnlabError (and any other failure) into one line on stderr and an exit code;
    warnings about the plugins the command used come first."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:  # the reader of stdout left (`rnnlab runs | head`): quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # the exit's flush must not fail again
            raise typer.Exit(1) from None
        except (KeyboardInterrupt, Exception) as exc:
            flush_warnings()
            if isinstance(exc, typer.Exit) or state["debug"]:
                raise
            line, code = error_line(exc)
            err.print(line, markup=False, soft_wrap=True)
            raise typer.Exit(code) from None
        finally:
            flush_warnings()  # what using the plugins turned up (once: it empties the list)

    return wrapper  # type: ignore[return-value]


def flush_warnings() -> None:
    """Print (once) what the registry found questionable about the plugins used so far."""
    reg = plugin_registry.default()
    for warning in reg.warnings:
        warn(warning)
    reg.warnings = []


def registry() -> plugin_registry.Registry:
    """The plugin registry, after printing what it warned about so far."""
    flush_warnings()
    return plugin_registry.default()


def metric_style(dataset: Any) -> tuple[tuple[str, ...], dict[str, str]]:
    """A dataset's percentages and baselines, for showing its metrics (none if it is gone)."""
    try:
        plugin = plugin_registry.default().get("dataset", str(dataset))
    except RnnlabError:
        return (), {}
    return tuple(plugin.percentages), dict(plugin.baselines)
