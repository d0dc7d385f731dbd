"""Errors a user can act on. The CLI prints them as one line, without a traceback.

Exit codes follow one rule (README lists it too):

    0    success (also --help, --version)
    1    the work failed: a data error, a plugin that failed to load or raised, a run that
         failed or could not start (locked, damaged, its data missing or changed), a sweep
         with a failed cell, a failed gradient check, any unexpected error
    2    a usage mistake: a bad option or value, an unknown config key, plugin name or
         setting; nothing was done (UsageError, and Typer's own parse errors)
    130  interrupted by SIGINT (Ctrl-C); 143 by SIGTERM; 129 by SIGHUP (the terminal closed).
         A run is saved as interrupted and resumes; a sweep resumes when run again.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130  # 128 + SIGINT
EXIT_SIGTERM = 143  # 128 + SIGTERM
EXIT_SIGHUP = 129  # 128 + SIGHUP


class RnnlabError(Exception):
    """A problem with the user's input or environment; `str()` is the one-line message.
    Exit code 1 (the work failed) unless a subclass says otherwise."""

    exit_code = EXIT_FAILED


class UsageError(RnnlabError):
    """A bad command-line option or value, config key, plugin name or setting (exit code 2)."""

    exit_code = EXIT_USAGE


class DataError(RnnlabError):
    """A data file that is missing or does not have the expected format (exit code 1)."""


class PluginError(RnnlabError):
    """A plugin that failed to import, does not satisfy its contract, or raised (exit code 1)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (`signum`), raised as an exception so that a run is saved as after
    Ctrl-C."""

    def __init__(self, signum: int = EXIT_SIGTERM - 128) -> None:
        super().__init__()
        self.signum = signum

    def __reduce__(self) -> tuple[type, tuple[int]]:
        return type(self), (self.signum,)


class RunInterrupted(KeyboardInterrupt):
    """Training (or a sweep) stopped by SIGINT or SIGTERM after saving itself; `message`
    says how to continue, `exit_code` is 130 or 143."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code

    def __reduce__(self) -> tuple[type, tuple[str, int]]:  # pickles (e.g. out of a worker)
        return type(self), (self.message, self.exit_code)


def interrupt_code(exc: BaseException) -> int:
    """The exit code of an interruption: the one it carries (a run that saved itself says),
    else 128 + the signal for SIGTERM and SIGHUP (raised as Terminated), 130 for Ctrl-C."""
    code = getattr(exc, "exit_code", None)
    if isinstance(code, int):
        return code
    if isinstance(exc, Terminated):
        return 128 + exc.signum if exc.signum > 0 else EXIT_SIGTERM
    return EXIT_SIGINT
