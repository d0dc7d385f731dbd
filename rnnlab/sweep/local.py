"""The bundled executor `local`: the cells in worker processes on this machine, one thread
each. Stopping goes through one Event the workers watch: on Ctrl-C or SIGTERM the sweep sets
it, the running cells save themselves as interrupted, and no worker starts another cell."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from rnnlab import numerics
from rnnlab.contracts import ExecutorPlugin, ExecutorRequest, SweepCell
from rnnlab.events import CellUpdate, EventSink
from rnnlab.signals import (
    ORPHANED,
    handled,
    interruption,
    request_stop,
    signal_of,
    stop_requested,
    stopping,
)
from rnnlab.sweep.worker import CellTask, run_cell, worker_failed

ORPHAN_CHECK_S = 0.5  # how often a worker checks that its sweep is alive
ORPHAN_GRACE_S = 5.0  # s an orphaned worker has to save its run before it exits


class LocalExecutor(ExecutorPlugin):
    """The bundled executor `local` (entry point in rnnlab.executors)."""

    summary = "Worker processes on this machine (--jobs of them, one thread each)."
    in_turn = True  # asks for more as cells end

    def run(self, request: ExecutorRequest) -> None:
        run_local(request)


def run_local(request: ExecutorRequest) -> None:
    """Run the cells in `request.jobs` worker processes, one BLAS/torch thread each (also for
    jobs=1, so that results do not depend on the number of jobs)."""
    context = multiprocessing.get_context("spawn")
    queue: Any = None
    stop: Any = None
    why: Any = None  # the signal that stopped the sweep, for the runs' records
    pool: ProcessPoolExecutor | None = None
    futures: dict[Future, SweepCell] = {}
    # Ctrl-C and SIGTERM are taken between two waits, not wherever they land: an interrupt
    # raised inside concurrent.futures (while `wait` holds some futures' locks) left the
    # pool's manager thread waiting for those locks, and the sweep hung in its shutdown.
    received: list[int] = []
    with one_thread_each():  # inherited by the spawned workers
        try:
            with handled(lambda signum, frame: received.append(signum), signal.SIGINT,
                         *stopping()):
                queue = context.Queue()  # progress from the workers; no manager process
                stop, why = context.Event(), context.Value("i", int(signal.SIGTERM))
                pool = ProcessPoolExecutor(max_workers=request.jobs, mp_context=context,
                                           initializer=_worker_init,
                                           initargs=(queue, stop, why))
                for cell in request.cells:
                    futures[pool.submit(_worker, cell.task)] = cell
                _collect(futures, queue, request, lambda task: pool.submit(_worker, task),
                         received)
                _interrupt_if(received)  # one that came with the last result
        except KeyboardInterrupt as exc:
            # Ctrl-C or SIGTERM: cancel what has not started, and ask running cells to stop;
            # they save themselves as interrupted and the next sweep resumes them.
            with handled(signal.SIG_IGN, signal.SIGINT, *stopping()):
                if stop is not None:
                    why.value = signal_of(exc)
                    stop.set()
                for future in futures:
                    future.cancel()
            raise
        finally:
            # Not cut short by a second Ctrl-C: a shutdown interrupted while it joins the
            # pool's manager thread (Python 3.11 then takes that thread for ended) leaves the
            # workers waiting for a stop that never comes, and the sweep hangs at exit.
            with handled(signal.SIG_IGN, signal.SIGINT, *stopping()):
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
                if queue is not None:
                    queue.close()


@contextmanager
def one_thread_each() -> Iterator[None]:
    """Within the block, the thread variables of BLAS libraries are 1 and the OpenBLAS kernel
    is pinned (rnnlab.numerics); they come back after it, however it ends."""
    wanted = numerics.pinned(threads="1")
    saved = {v: os.environ.get(v) for v in wanted}
    try:
        os.environ.update(wanted)
        yield
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


def _collect(futures: dict[Future, SweepCell], queue: Any, request: ExecutorRequest,
             submit: Callable[[Any], Future], received: list[int]) -> None:
    """Wait for the cells, passing their progress on; after each result, start the cells it
    made ready (a curriculum's next stage) without waiting for the others. A signal in
    `received` ends the wait as the interrupt it stands for (KeyboardInterrupt, Terminated)."""
    waiting = set(futures)
    while waiting:
        _interrupt_if(received)
        done, waiting = wait(waiting, timeout=0.2, return_when=FIRST_COMPLETED)
        _drain(queue, futures, request.emit)
        for future in done:
            cell = futures[future]
            try:
                result = future.result()
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # the worker itself died
                result = worker_failed(exc)
            request.done(cell, result)
        for cell in request.more() if done else []:
            future = submit(cell.task)
            futures[future] = cell
            waiting.add(future)


def _interrupt_if(received: list[int]) -> None:
    if received:
        raise interruption(received[0])


def _drain(queue: Any, futures: dict[Future, SweepCell], emit: EventSink) -> None:
    """Pass on the progress of the cells still running."""
    running = {c.index for f, c in futures.items() if not f.done()}
    while True:
        try:
            update: CellUpdate = queue.get_nowait()
        except Exception:
            return
        if update.index in running:
            emit(update)


# ---------------------------------------------------------------------------------------------
# in a worker process

_progress: Any = None  # the worker's end of the progress queue (set by _worker_init)
_stop: Any = None  # the sweep's stop Event (set by _worker_init)
_idle = threading.Event()  # set while the worker runs no cell
_idle.set()


def _worker_init(queue: Any, stop: Any, why: Any) -> None:
    """Workers leave Ctrl-C to the sweep (an interrupt inside multiprocessing's own locks can
    deadlock the pool), and SIGHUP too (a closed terminal sends it to them all; the sweep
    passes it on, or ignores it under nohup); the sweep sets `stop`, which stops a run
    between two batches. A worker never outlives its sweep: if the sweep dies (even by
    kill -9), the worker stops its run (saved as interrupted "because its sweep ended") and
    exits."""
    global _progress, _stop
    _progress, _stop = queue, stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, request_stop)
    threading.Thread(target=_watch, args=(os.getppid(), stop, why), daemon=True).start()


def _watch(parent: int, stop: Any, why: Any) -> None:
    """Ask the running cell to stop once the sweep sets `stop` (with the signal the sweep got,
    `why`) or dies."""
    while os.getppid() == parent:
        if stop.wait(ORPHAN_CHECK_S):
            request_stop(why.value)  # again each time: a cell that starts meanwhile stops too
            time.sleep(ORPHAN_CHECK_S)
    request_stop(ORPHANED)  # the running cell saves itself at the next batch
    _idle.wait(ORPHAN_GRACE_S)  # ... and the worker exits once it has, or after the grace
    os._exit(1)


def _worker(task: CellTask) -> dict[str, Any]:
    stopped = {"status": "queued", "info": ""}  # the next sweep runs or resumes it
    if _stop.is_set() or stop_requested():  # the sweep is stopping: start nothing new
        return stopped
    _idle.clear()
    try:
        return run_cell(task, _progress.put)
    except KeyboardInterrupt:  # asked to stop: the run saved itself as interrupted
        return stopped  # (a result, not an exception: the pool shuts down cleanly)
    finally:
        _idle.set()
