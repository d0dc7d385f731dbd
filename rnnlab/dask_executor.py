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
from pathlib import Path
from typing import Any

from rnnlab.contracts import ExecutorPlugin, ExecutorRequest, SweepCell
from rnnlab.errors import PluginError, RnnlabError
from rnnlab.files import atomic_write
from rnnlab.registry import default as default_registry
from rnnlab.runs import RunStore
from rnnlab.sweep import run_cell_task, worker_failed


class DaskExecutor(ExecutorPlugin):
    """The bundled executor `dask` (entry point in rnnlab.executors)."""

    summary = ("A Dask cluster: --scheduler tcp://HOST:PORT, or a local one of --jobs "
               "workers; no shared filesystem needed (needs rnnlab[dask]).")

    def run(self, request: ExecutorRequest) -> None:
        run_dask(request)


class _DaskQueue:
    """What QueueSink needs (put), over a named distributed.Queue, opened on first use."""

    def __init__(self, name: str) -> None:
        self.name, self.queue = name, None

    def put(self, item: Any) -> None:
        if self.queue is None:
            from distributed import Queue

            self.queue = Queue(self.name)
        self.queue.put(item)


def remote_cell(task: dict[str, Any], data: Any, queue: str) -> dict[str, Any]:
    """On a worker: train in a temporary directory, return the run directory's files."""
    with tempfile.TemporaryDirectory(prefix="rnnlab-") as tmp:
        task = dict(task)
        if task.get("resume_files"):
            folder = Path(tmp) / task["resume_id"]
            folder.mkdir()
            for name, payload in task.pop("resume_files").items():
                (folder / name).write_bytes(payload)
            task["resume"] = str(folder)
        result = run_cell_task(task, _DaskQueue(queue).put, data=data, store=tmp)
        if "dir" in result:
            folder = Path(result.pop("dir"))
            result["files"] = {p.name: p.read_bytes() for p in folder.iterdir()
                               if p.is_file() and not p.name.startswith(".")}
        return result


def run_dask(request: ExecutorRequest) -> None:
    """Run the cells on the cluster at `request.scheduler`, or on a local one of
    `request.jobs` workers."""
    jobs, scheduler = request.jobs, request.scheduler
    try:
        from distributed import Client, LocalCluster, Queue
    except ImportError:
        raise PluginError("--executor dask needs Dask: pip install 'rnnlab[dask]'") from None
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
        registry = default_registry()
        datasets: dict[str, Any] = {}  # each dataset is loaded here once, sent to every worker
        queue_name = f"rnnlab-{uuid.uuid4().hex}"
        queue = Queue(queue_name, client=client)
        futures = {}
        for cell in request.cells:
            cfg = cell.config
            key = json.dumps([cfg.data, cfg.L, cfg.data_dir, cfg.settings], sort_keys=True)
            if key not in datasets:
                data = runner.load_data(cfg, registry)
                record = runner.data_record(data, cfg.data_dir)  # hashed here, where files are
                datasets[key] = (client.scatter(data, broadcast=True), record)
            task = dict(cell.task)
            task["data_files"] = datasets[key][1]
            if cell.resume:  # the worker has no access to this disk: send the run along
                folder = Path(cell.resume)
                task.update(resume_id=folder.name, resume_files={
                    p.name: p.read_bytes() for p in folder.iterdir()
                    if p.is_file() and not p.name.startswith(".")})
            future = client.submit(remote_cell, task, datasets[key][0], queue_name, pure=False)
            futures[future] = cell
        _wait(futures, queue, RunStore(request.runs_dir), request)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _wait(futures: dict[Any, SweepCell], queue: Any, store: RunStore,
          request: ExecutorRequest) -> None:
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
            request.done(cell, result)
        time.sleep(0.05)
