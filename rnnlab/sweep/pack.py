"""The `pack` executor (`rnnlab sweep --pack`): cells that differ only in seed or in scalar
options train as one packed learner, where the model can pack (`Packable`) and packing is
faster there; the other cells go to the local executor.

Each member of a pack is an ordinary run: its own thread runs the usual training loop
(`run_cell`) on a member learner whose `train_step` waits at a rendezvous. Once every member
still training has handed in its batch, one packed step trains them all. A member whose loop
ends (early stop, its last epoch, an error) leaves the rendezvous; its slot is frozen (zeros,
learning rate 0). So each member keeps its own data order, schedule, early stop, checkpoints,
status and resume (an interrupted member resumes as an ordinary run).
"""

from __future__ import annotations

import dataclasses
import json
import signal
import threading
from typing import TYPE_CHECKING, Any

from rnnlab.config import merge
from rnnlab.contracts import (
    ExecutorPlugin,
    ExecutorRequest,
    Packable,
    PackedLearner,
    SweepCell,
)
from rnnlab.events import CellUpdate
from rnnlab.registry import default as default_registry
from rnnlab.signals import clear_stop, handled, request_stop, signal_of, stopping

if TYPE_CHECKING:
    import numpy as np

# Options in which the members of one pack may differ (and settings: the plugin's `pack`
# refuses learners it cannot train together).
FREE = ("seed", "lr", "momentum", "clip_grad", "lr_schedule", "early_stop", "settings",
        "runs_dir", "device", "recipe")  # recipe: a label; its options are in the others
MAX_PACK = {"cuda": 1024, "cpu": 32}  # members at most in one pack (a CPU gains little
# beyond 16: 7.2-9.8, 7.8 and 5.9 ms a step per network for S = 1, 4, 16, AlarmworkNet L=100)


class PackExecutor(ExecutorPlugin):
    """The bundled executor `pack` (entry point in rnnlab.executors)."""

    summary = ("Packs runs that differ only in seed or scalar options into one model (GPU); "
               "the rest on local worker processes.")

    def run(self, request: ExecutorRequest) -> None:
        from rnnlab.session import GpuPresent

        solo: list[SweepCell] = []
        gpu: bool | None = None  # asked once there is a group to pack (it imports torch)
        for group in groups([c for c in request.cells if not c.resume]):
            if len(group) == 1:
                solo += group
                continue
            if gpu is None and group[0].config.device != "cpu":
                gpu = bool(GpuPresent())
            device = "cuda" if gpu and group[0].config.device != "cpu" else "cpu"
            for part in (group[i : i + MAX_PACK[device]]
                         for i in range(0, len(group), MAX_PACK[device])):
                if len(part) == 1 or not run_pack(part, request, device):
                    solo += part
        solo += [c for c in request.cells if c.resume]  # resumed as ordinary runs
        if solo:
            from rnnlab.sweep.local import run_local

            run_local(dataclasses.replace(request, cells=solo))


def pack_key(cell: SweepCell) -> str:
    """Cells with the same key may train as one pack."""
    config = {k: v for k, v in dataclasses.asdict(cell.config).items() if k not in FREE}
    return json.dumps(config, sort_keys=True, default=str)


def groups(cells: list[SweepCell]) -> list[list[SweepCell]]:
    """The cells by pack key, in their order."""
    by_key: dict[str, list[SweepCell]] = {}
    for cell in cells:
        by_key.setdefault(pack_key(cell), []).append(cell)
    return list(by_key.values())


def run_pack(cells: list[SweepCell], request: ExecutorRequest, device: str) -> bool:
    """Train `cells` as one pack on `device`, reporting each as it ends; False (nothing run)
    where the model does not pack these runs there, or their set-up fails (the cells then
    run one by one, and report their errors themselves)."""
    from rnnlab import provenance, session

    registry = default_registry()
    try:
        configs = [merge(c.task.config) for c in cells]
        first = configs[0]
        plugin = registry.get("model", first.model)
        data = session.load_data(first, registry)
        learners = [session.make_learner(plugin, data.spec, cfg)[0] for cfg in configs]
    except Exception:
        return False
    if not isinstance(learners[0], Packable):
        return False
    packed = learners[0].pack(learners, device)
    if packed is None:
        return False
    if not isinstance(packed, PackedLearner):
        from rnnlab.errors import PluginError

        raise PluginError(f"model '{first.model}': pack() returned {type(packed).__name__}, "
                          "expected a PackedLearner or None")
    record = provenance.data_record(data, first.data_dir)
    rendezvous = Rendezvous(packed, len(cells))
    lock = threading.Lock()

    def progress(update: CellUpdate) -> None:
        with lock:  # members report from their own threads
            request.emit(update)

    results: dict[int, dict[str, Any]] = {}

    def member(s: int, cell: SweepCell) -> None:
        view = packed.member(s)
        learner = Member(view, rendezvous, s)
        task = dataclasses.replace(cell.task, data_files=record, pack={
            "size": len(cells), "member": s, "device": device})
        try:
            results[s] = request.run_cell(task, progress, data=data, learner=learner)
        except KeyboardInterrupt:  # stopped: the run saved itself as interrupted
            results[s] = {"status": "queued", "info": ""}
        except BaseException as exc:
            results[s] = request.worker_failed(exc)
        finally:
            if hasattr(view, "set_lr"):
                view.set_lr(0.0)  # frozen: no step of the others moves it
            rendezvous.leave(s)
            if results.get(s, {}).get("status") in ("done", "failed"):
                with lock:  # told as it ends, not when the whole pack has
                    request.done(cell, results[s])
            ended[s].set()

    ended = [threading.Event() for _ in cells]
    threads = [threading.Thread(target=member, args=(s, c), name=f"pack member {s}")
               for s, c in enumerate(cells)]
    try:
        for thread in threads:
            thread.start()
        _wait(ended, threads)
    except KeyboardInterrupt as exc:
        # every member saves itself at its next batch; a second Ctrl-C must not cut that short
        with handled(signal.SIG_IGN, signal.SIGINT, *stopping()):
            request_stop(signal_of(exc))
            for s, thread in enumerate(threads):
                if thread.ident is None:  # never started: the others must not wait for it
                    rendezvous.leave(s)
            _wait(ended, threads)
            clear_stop()
        raise
    for s, cell in enumerate(cells):
        if results[s]["status"] not in ("done", "failed"):  # those were told as they ended
            request.done(cell, results[s])
    return True


def _wait(ended: list[threading.Event], threads: list[threading.Thread]) -> None:
    """Until every member that started has ended. Waiting on events, not in Thread.join: a
    join that Ctrl-C interrupts marks a thread that is still running as ended (Python 3.11),
    and the process would then exit under a member that is still saving its run."""
    started = [(e, t) for e, t in zip(ended, threads, strict=True) if t.ident is not None]
    for event, _ in started:
        while not event.wait(0.2):
            pass
    for _, thread in started:
        thread.join()  # it has set its event: only its return is left


class Rendezvous:
    """Where the members' train_step calls meet: the last to arrive runs the packed step."""

    def __init__(self, packed: PackedLearner, size: int) -> None:
        self.packed, self.size, self.active = packed, size, set(range(size))
        self.batches: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.losses: np.ndarray | None = None
        self.error: BaseException | None = None
        self.generation = 0
        self.changed = threading.Condition()

    def step(self, s: int, x: np.ndarray, t: np.ndarray) -> float:
        with self.changed:
            self.batches[s] = (x, t)
            generation = self.generation
            while self.generation == generation:
                self._step_if_ready()  # the last one in, or the first to see a member leave
                if self.generation == generation:
                    self.changed.wait()
            if self.error is not None:
                raise self.error
            assert self.losses is not None
            return float(self.losses[s])

    def leave(self, s: int) -> None:
        """Member s trains no more: the others stop waiting for it. The step they may now
        be ready for runs in one of their threads, inside its training loop (one torch
        thread, subnormals flushed), not in this one, whose loop has ended."""
        with self.changed:
            self.active.discard(s)
            self.batches.pop(s, None)
            self.changed.notify_all()

    def _step_if_ready(self) -> None:
        if not self.batches or set(self.batches) != self.active:
            return
        import numpy as np  # here: listing the executors must not load NumPy

        x0, t0 = next(iter(self.batches.values()))
        x = np.zeros((self.size, *x0.shape), x0.dtype)  # a frozen member gets zeros
        t = np.zeros((self.size, *t0.shape), t0.dtype)
        for s, (xs, ts) in self.batches.items():
            x[s], t[s] = xs, ts
        try:
            self.losses, self.error = self.packed.train_packed(x, t), None
        except BaseException as exc:  # every waiting member raises it
            self.error = exc
        self.batches.clear()
        self.generation += 1
        self.changed.notify_all()


class Member:
    """Member s of a pack as a Learner: training goes through the rendezvous, everything else
    to the pack's own member view. Leaving freezes the slot (learning rate 0)."""

    def __init__(self, view: Any, rendezvous: Rendezvous, s: int) -> None:
        self.view, self.rendezvous, self.s = view, rendezvous, s
        self.device = getattr(view, "device", "cpu")
        self.options = getattr(view, "options", frozenset())

    def train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        return self.rendezvous.step(self.s, x, t)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.view.predict(x)

    def state_dict(self) -> dict[str, np.ndarray]:
        return self.view.state_dict()

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.view.load_state_dict(state)

    def set_lr(self, lr: float) -> None:
        self.view.set_lr(lr)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return self.view.optimizer_state()

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        self.view.load_optimizer_state(state)
