"""Runs sweep cells on a Dask distributed cluster (`rnnlab sweep --executor dask`).

No shared filesystem is needed: the data is loaded here and sent to the workers once per
dataset; each worker trains in a temporary directory and sends the finished run directory
back, and it is written into this machine's run store. Progress comes back through a Dask
queue. Needs the `dask` extra: pip install 'rnnlab[dask]'.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnlab import plugins
from rnnlab.errors import RnnlabError, UsageError
from rnnlab.events import EventSink
from rnnlab.files import atomic_write
from rnnlab.runs import RunStore
from rnnlab.sweep import Cell, QueueSink, Sweep, finish, run_cell, task_for, worker_failed


class _DaskQueue:
    """What QueueSink needs (put), over a named distributed.Queue, opened on first use."""

    def __init__(self, name: str) -> None:
        self.name, self.queue = name, None

    def put(self, item: Any) -> None:
        if self.queue is None:
            from distributed import Queue

            self.queue = Queue(self.name)
        self.queue.put(item)


def remote_cell(task: dict[str, Any], data: Any, queue: str, index: int, label: str
                ) -> dict[str, Any]:
    """On a worker: train in a temporary directory, return the run directory's files."""
    with tempfile.TemporaryDirectory(prefix="rnnlab-") as tmp:
        task = dict(task, data=data, store=tmp)
        if task.get("resume_files"):
            folder = Path(tmp) / task["resume_id"]
            folder.mkdir()
            for name, payload in task.pop("resume_files").items():
                (folder / name).write_bytes(payload)
            task["resume"] = str(folder)
        result = run_cell(task, QueueSink(_DaskQueue(queue), index, label))
        if "dir" in result:
            folder = Path(result.pop("dir"))
            result["files"] = {p.name: p.read_bytes() for p in folder.iterdir()
                               if p.is_file() and not p.name.startswith(".")}
        return result


def run_dask(sweep: Sweep, cells: list[Cell], jobs: int, scheduler: str | None,
             emit: EventSink, finished: Callable[[Cell], None] = lambda cell: None) -> None:
    try:
        from distributed import Client, LocalCluster, Queue
    except ImportError:
        raise UsageError("--executor dask needs Dask: pip install 'rnnlab[dask]'") from None
    from rnnlab import runner

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout=10)
        else:
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        raise RnnlabError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    try:
        registry = plugins.registry()
        datasets: dict[str, Any] = {}  # each dataset is loaded here once, sent to every worker
        queue_name = f"rnnlab-{sweep.id}-{uuid.uuid4().hex[:8]}"
        queue = Queue(queue_name, client=client)
        futures = {}
        for cell in cells:
            cfg = cell.config
            key = json.dumps([cfg.data, cfg.L, cfg.data_dir, cfg.settings], sort_keys=True)
            if key not in datasets:
                data = runner.load_data(cfg, registry)
                record = runner.data_record(data, cfg.data_dir)  # hashed here, where files are
                datasets[key] = (client.scatter(data, broadcast=True), record)
            task = task_for(sweep, cell)
            task["data_files"] = datasets[key][1]
            if cell.resume:  # the worker has no access to this disk: send the run along
                folder = Path(cell.resume)
                task.update(resume_id=folder.name, resume_files={
                    p.name: p.read_bytes() for p in folder.iterdir()
                    if p.is_file() and not p.name.startswith(".")})
            future = client.submit(remote_cell, task, datasets[key][0], queue_name, cell.index,
                                   cell.label, pure=False)
            futures[future] = cell
        _wait(futures, queue, RunStore(sweep.runs_dir), emit, finished)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _wait(futures: dict[Any, Cell], queue: Any, store: RunStore, emit: EventSink,
          finished: Callable[[Cell], None]) -> None:
    waiting = dict(futures)
    while waiting:
        try:
            for update in queue.get(batch=True, timeout=0.2):
                if update.index in {c.index for c in waiting.values()}:
                    emit(update)
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
            finish(cell, result, emit)
            finished(cell)
        time.sleep(0.05)
