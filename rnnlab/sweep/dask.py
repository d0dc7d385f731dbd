"""The bundled executor `dask`: the cells on a Dask distributed cluster (`rnnlab sweep
--executor dask`).

No shared filesystem is needed: the data is loaded here and sent to the workers once per
dataset; each worker trains in a temporary directory and sends the finished run directory
back, and it is written into this machine's run store. Progress comes back through a Dask
queue. Needs the `dask` extra: pip install 'rnnlab[dask]'.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnlab.contracts import ExecutorPlugin, ExecutorRequest, SweepCell
from rnnlab.errors import PluginError, RnnlabError
from rnnlab.events import CellUpdate
from rnnlab.files import atomic_write
from rnnlab.registry import default as default_registry
from rnnlab.run import Run
from rnnlab.runs import RunStore
from rnnlab.sweep.worker import CellTask, run_cell, worker_failed

CONNECT_TIMEOUT_S = 10.0  # how long to try reaching --scheduler


class DaskExecutor(ExecutorPlugin):
    """The bundled executor `dask` (entry point in rnnlab.executors)."""

    summary = ("A Dask cluster: --scheduler tcp://HOST:PORT, or a local one of --jobs "
               "workers; no shared filesystem needed (needs rnnlab[dask]).")

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


def remote_cell(task: CellTask, data: Any, queue: str) -> dict[str, Any]:
    """On a worker: train in a temporary directory, return the run directory's files."""
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
        result = run_cell(task, _DaskQueue(queue).put, data=data, store=tmp)
        if "dir" in result:
            folder = Path(result.pop("dir"))
            result["files"] = _files(folder)
        return result


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
        from distributed import Client, LocalCluster, Queue
    except ImportError:
        raise PluginError("--executor dask needs Dask: pip install 'rnnlab[dask]'") from None
    from rnnlab.provenance import data_record
    from rnnlab.session import load_data

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        else:
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        raise RnnlabError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    try:
        registry = default_registry()
        datasets: dict[str, Any] = {}  # each dataset is loaded here once, sent to every worker
        queue_name = f"rnnlab-{uuid.uuid4().hex}"
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
            future = client.submit(remote_cell, task, datasets[key][0], queue_name, pure=False)
            futures[future] = cell
            return future

        for cell in request.cells:
            submit(cell)
        _wait(futures, queue, RunStore(request.runs_dir), request, submit, parents)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _wait(futures: dict[Any, SweepCell], queue: Any, store: RunStore,
          request: ExecutorRequest, submit: Callable[[SweepCell], Any],
          parents: dict[int, Path]) -> None:
    """Wait for the cells, passing their progress on and writing each run that comes back
    into the run store; after each result, submit the cells it made ready (a curriculum's
    next stage)."""
    waiting = dict(futures)
    while waiting:
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
            for ready in request.more():
                waiting[submit(ready)] = ready
        time.sleep(0.05)
