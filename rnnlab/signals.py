"""Process signals. One context manager sets how SIGINT, SIGTERM and SIGHUP are handled
within a block; a stop flag lets a signal ask the training loop to stop between two batches
(never in the middle of writing a file).

    with handled(request_stop, *stopping()):          # a run: SIGTERM or SIGHUP stops it, saved
    with handled(signal.SIG_IGN, SIGINT, *stopping()):  # while saving: nothing cuts it short
    with handled(raise_terminated, *stopping()):      # a sweep: they interrupt waiting

SIGHUP (the terminal closed) counts as SIGTERM does, unless it is ignored (`nohup`): then it
stays ignored.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rnnlab.errors import Terminated

Handler = Callable[[int, Any], Any] | int | signal.Handlers

_stop: list[int] = []  # signals received that asked for a stop
ORPHANED = -1  # not a signal: a sweep worker whose sweep ended (killed) stops its run


def stopping() -> tuple[int, ...]:
    """The signals that stop a run or a sweep (saved, resumable) besides Ctrl-C: SIGTERM, and
    SIGHUP where there is one and it is not ignored."""
    hangup = getattr(signal, "SIGHUP", None)
    if hangup is None or signal.getsignal(hangup) == signal.SIG_IGN:
        return (signal.SIGTERM,)
    return (signal.SIGTERM, hangup)


def stopped_how(signum: int | None) -> str:
    """How a stop is recorded in a run's reason: 'by SIGTERM', 'because its sweep ended'."""
    if signum == ORPHANED:
        return "because its sweep ended"
    try:
        return f"by {signal.Signals(signum or signal.SIGTERM).name}"
    except ValueError:
        return f"by signal {signum}"


def signal_of(exc: BaseException) -> int:
    """The signal an interruption came from: SIGINT for Ctrl-C, else Terminated's."""
    return int(getattr(exc, "signum", signal.SIGINT))


def request_stop(signum: int = signal.SIGTERM, frame: Any = None) -> None:
    """A signal handler (or a plain call): ask the running training to stop at the next
    batch, save itself and end as interrupted. It only sets a flag."""
    _stop.append(signum)


def stop_requested() -> bool:
    return bool(_stop) or bool(getattr(_scoped, "stop", None))


def stopped_by() -> int | None:
    """The signal that asked for a stop (a sweep passes Ctrl-C on as SIGINT); None: none."""
    asked = _stop or getattr(_scoped, "stop", None)
    return asked[0] if asked else None


_scoped = threading.local()  # a stop asked of one thread's run only (a task among others)


@contextmanager
def stoppable() -> Iterator[Callable[[int], None]]:
    """Within the block, the function it yields asks the run of this thread (not those of
    the process's other threads) to stop, from any thread, with the signal to record."""
    asked: list[int] = []
    _scoped.stop = asked
    try:
        yield asked.append
    finally:
        _scoped.stop = None


def clear_stop() -> None:
    """Forget a stop request (a later run in this process starts afresh)."""
    _stop.clear()


def interruption(signum: int | None) -> KeyboardInterrupt:
    """The exception a stop by `signum` is raised as where it is taken: KeyboardInterrupt for
    Ctrl-C, Terminated otherwise (SIGTERM when unknown)."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(
        signum or signal.SIGTERM)


def raise_terminated(signum: int, frame: Any) -> None:
    """A signal handler: SIGTERM or SIGHUP interrupts as Ctrl-C does (errors.Terminated)."""
    raise Terminated(signum)


@contextmanager
def handled(handler: Handler, *signums: int) -> Iterator[dict[int, Any]]:
    """Within the block `handler` handles `signums`; the previous handlers (yielded, by
    signal) come back after it. Only the main thread can set handlers: in any other thread
    the block runs as it is and nothing is yielded."""
    if threading.current_thread() is not threading.main_thread():
        yield {}
        return
    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield previous
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
