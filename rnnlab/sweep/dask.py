"""The bundled executor `dask`: the cells on a Dask distributed cluster (`rnnlab sweep
--executor dask`).

No shared filesystem is needed: the data is loaded here and sent to the workers once per
dataset; each worker trains in a temporary directory and sends the finished run directory
back, and it is written into this machine's run store. Progress comes back through a Dask
queue. Ctrl-C (or SIGTERM, SIGHUP) sets a Dask event the running cells watch: each saves
its run as interrupted and sends it back, to be resumed by the next sweep, and the cells
that had not started return at once. Needs the `dask` extra: pip install 'rnnlab[dask]'.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rnnlab.contracts import ExecutorPlugin, ExecutorRequest, SweepCell
from rnnlab.errors import PluginError, RnnlabError, Terminated
from rnnlab.events import CellUpdate
from rnnlab.files import atomic_write
from rnnlab.registry import default as default_registry
from rnnlab.run import Run
from rnnlab.runs import RunStore
from rnnlab.signals import handled, signal_of, stoppable, stopping
from rnnlab.sweep.worker import CellTask, run_cell, worker_failed

CONNECT_TIMEOUT_S = 10.0  # how long to try reaching --scheduler
STOP_CHECK_S = 0.5  # how often a running cell looks whether its sweep is stopping
STOP_WAIT_S = 60.0  # how long a stopping sweep waits for its interrupted runs to come back


class DaskExecutor(ExecutorPlugin):
    """The bundled executor `dask` (entry point in rnnlab.executors)."""

    summary = ("A Dask cluster: --scheduler tcp://HOST:PORT, or a local one of --jobs "
               "workers; no shared filesystem needed (needs rnnlab[dask]).")
    in_turn = True  # asks for more as cells end

    def run(self, request: ExecutorRequest) -> None:
        run_dask(request)


class _DaskQueue:
    """A put for the cell's progress, over a named distributed.Queue opened on first use."""

    def __init__(self, name: str) -> None:
        self.name, self.queue = name, None

    def put(self, item: CellUpdate) -> None:
        if self.queue is None:
            from distributed import Queue

            self.queue = Queue(self.name)
        self.queue.put(item)


def remote_cell(task: CellTask, data: Any, queue: str, stop: str | None = None
                ) -> dict[str, Any]:
    """On a worker: train in a temporary directory, return the run directory's files. Once
    the sweep sets the Dask event `stop` (the signal in the Dask variable of that name), the
    run stops (saved as interrupted, its files returned for the next sweep to resume), or
    does not start."""
    with tempfile.TemporaryDirectory(prefix="rnnlab-") as tmp:
        if task.resume_files:
            folder = Path(tmp) / Path(task.resume).name
            folder.mkdir()
            for name, payload in task.resume_files.items():
                (folder / name).write_bytes(payload)
            task = dataclasses.replace(task, resume=str(folder), resume_files=None)
        if task.parent_files:  # the run it warm-starts from, under its own id
            ident, files = task.parent_files
            folder = Path(tmp) / "parents" / ident
            folder.mkdir(parents=True)
            for name, payload in files.items():
                (folder / name).write_bytes(payload)
            task = dataclasses.replace(task, config={**task.config, "init_from": str(folder)},
                                       parent_files=None)
        with stoppable() as ask, _watching(stop, ask) as stopping:
            if stopping:
                return {"status": "queued", "info": ""}  # the sweep is stopping: not started
            try:
                result = run_cell(task, _DaskQueue(queue).put, data=data, store=tmp)
            except KeyboardInterrupt:  # stopped with its sweep: the run saved itself
                return {"status": "queued", "info": "", **_interrupted(Path(tmp))}
        if "dir" in result:
            folder = Path(result.pop("dir"))
            result["files"] = _files(folder)
        return result


@contextmanager
def _watching(name: str | None, ask: Callable[[int], None]) -> Iterator[bool]:
    """Within the block a thread watches the Dask event `name`: once it is set, `ask` is
    called with the signal number in the Dask variable of that name. Yields whether the
    event was set already."""
    if name is None:
        yield False
        return
    from distributed import Event, Variable

    # made here, in the task's thread: they use the worker's client (another thread would
    # open a client of its own, which keeps the worker process from closing)
    event, signum, finished = Event(name), Variable(name), threading.Event()

    def watch() -> None:
        try:
            while not finished.is_set():
                if event.wait(timeout=STOP_CHECK_S):
                    ask(int(signum.get(timeout=STOP_CHECK_S)))
                    return
        except Exception:  # the scheduler went away: the worker's own end stops the run
            return

    if event.is_set():
        yield True
        return
    thread = threading.Thread(target=watch, name="rnnlab stop watch", daemon=True)
    thread.start()
    try:
        yield False
    finally:
        finished.set()
        thread.join(2 * STOP_CHECK_S)  # no call of it left under way when the task returns


def _interrupted(tmp: Path) -> dict[str, Any]:
    """The run an interrupted cell made or continued in `tmp`, to go home as it is."""
    made = [p for p in tmp.iterdir() if p.is_dir() and p.name != "parents"
            and not p.name.startswith(".") and (p / "config.yaml").is_file()]
    if len(made) != 1:
        return {}
    return {"run_id": made[0].name, "files": _files(made[0])}


def _files(folder: Path) -> dict[str, bytes]:
    """A run directory's files (not the hidden lock), by name."""
    return {p.name: p.read_bytes() for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".")}


def shipped(task: CellTask, runs_dir: Path) -> CellTask:
    """The task with the runs it needs from this disk, which the worker cannot reach: the
    interrupted run it continues, the run it warm-starts from."""
    if task.resume:
        task = dataclasses.replace(task, resume_files=_files(Path(task.resume)))
    elif task.config.get("init_from"):
        parent = _parent(task, runs_dir)
        task = dataclasses.replace(task, parent_files=(parent.id, _files(parent.dir)))
    return task


def _parent(task: CellTask, runs_dir: Path) -> Run:
    return RunStore(task.config.get("runs_dir") or runs_dir).get(str(task.config["init_from"]))


def arrived(folder: Path, parent: Path | None) -> None:
    """A run back from a worker, written to `folder`: the parent it warm-started from is
    recorded where it lives here, not where the worker's copy of it was."""
    if parent is None:
        return
    run = Run(folder)
    record = run.provenance
    if isinstance(record.get("init_from"), dict):
        run.write_provenance({**record, "init_from": {**record["init_from"],
                                                      "dir": str(parent.resolve())}})


def run_dask(request: ExecutorRequest) -> None:
    """Run the cells on the cluster at `request.scheduler`, or on a local one of
    `request.jobs` workers."""
    jobs, scheduler = request.jobs, request.scheduler
    try:
        from distributed import Client, Event, LocalCluster, Queue, Variable
    except ImportError:
        raise PluginError("--executor dask needs Dask: pip install 'rnnlab[dask]'") from None
    from rnnlab.provenance import data_record
    from rnnlab.session import load_data

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        else:
            # its workers are started ignoring Ctrl-C and SIGHUP, as the local executor's
            # are: a terminal sends them to the whole process group, and the sweep stops
            # the running cells itself (saved, brought home)
            with handled(signal.SIG_IGN, signal.SIGINT, *stopping()[1:]):
                cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        raise RnnlabError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    try:
        registry = default_registry()
        datasets: dict[str, Any] = {}  # each dataset is loaded here once, sent to every worker
        queue_name = f"rnnlab-{uuid.uuid4().hex}"
        stop_name = f"{queue_name}-stop"  # set on Ctrl-C: the running cells stop, saved
        queue = Queue(queue_name, client=client)
        futures = {}
        parents: dict[int, Path] = {}  # the local run each warm-started cell starts from

        def submit(cell: SweepCell) -> Any:
            cfg = cell.config
            key = json.dumps([cfg.data, cfg.L, cfg.data_dir, cfg.settings], sort_keys=True)
            if key not in datasets:
                data = load_data(cfg, registry)
                record = data_record(data, cfg.data_dir)  # hashed here, where the files are
                datasets[key] = (client.scatter(data, broadcast=True), record)
            task = shipped(dataclasses.replace(cell.task, data_files=datasets[key][1]),
                           request.runs_dir)
            if task.parent_files:
                parents[cell.index] = _parent(task, request.runs_dir).dir
            future = client.submit(remote_cell, task, datasets[key][0], queue_name, stop_name,
                                   pure=False)
            futures[future] = cell
            return future

        for cell in request.cells:
            submit(cell)
        store, waiting = RunStore(request.runs_dir), dict(futures)
        asked: list[int] = []  # Ctrl-C, SIGTERM, SIGHUP: noted, acted on between two calls

        def ask(signum: int, frame: Any) -> None:
            asked.append(signum)

        try:
            with handled(ask, signal.SIGINT, *stopping()):
                _wait(waiting, queue, store, request, submit, parents, stop=asked)
        except KeyboardInterrupt as exc:  # not in the main thread: raised where it was
            asked.append(signal_of(exc))
        if asked:
            Variable(stop_name, client=client).set(asked[0])  # before the event
            Event(stop_name, client=client).set()
            _wait(waiting, queue, store, request, None, parents, timeout=STOP_WAIT_S)
            client.cancel(list(waiting))  # not back in time: the next sweep runs them anew
            raise KeyboardInterrupt() if asked[0] == signal.SIGINT else Terminated(asked[0])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _wait(waiting: dict[Any, SweepCell], queue: Any, store: RunStore,
          request: ExecutorRequest, submit: Callable[[SweepCell], Any] | None,
          parents: dict[int, Path], *, timeout: float | None = None,
          stop: list[int] | None = None) -> None:
    """Wait for the cells (removed from `waiting` as they end), passing their progress on
    and writing each run that comes back into the run store; after each result, submit the
    cells it made ready (a curriculum's next stage) unless `submit` is None. Stop waiting
    after `timeout` seconds, or once `stop` holds a signal."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while waiting and not stop and (deadline is None or time.monotonic() < deadline):
        try:
            for update in queue.get(batch=True, timeout=0.2):
                if update.index in {c.index for c in waiting.values()}:
                    request.emit(update)
        except (TimeoutError, OSError):
            pass
        for future in [f for f in waiting if f.done()]:
            cell = waiting.pop(future)
            try:
                result = future.result()
            except Exception as exc:
                result = worker_failed(exc)
            if "files" in result:  # the run comes home
                folder = store.root / result["run_id"]
                folder.mkdir(parents=True, exist_ok=True)
                for name, payload in result.pop("files").items():
                    atomic_write(folder / name, payload)
                arrived(folder, parents.get(cell.index))
            request.done(cell, result)
            for ready in request.more() if submit is not None else []:
                waiting[submit(ready)] = ready
        time.sleep(0.05)
