"""Sweeps: a grid of training runs (models x lengths x seeds x recipes x any option), each an
ordinary run in the run store tagged with the sweep id, run by worker processes or a Dask
cluster, resumable by running the same sweep again.

A sweep file (YAML) holds training options; a list makes an axis of the grid:

    name: homework                      # the sweep id (default: derived from the grid)
    model: [simple-rnn, lstm, alarmwork]
    L: [10, 50, 70, 100]
    seeds: 5                            # seed 0..4 (or `seed: [..]`)
    epochs: 50
    set: {rec_init: [xavier, orthogonal]}
    recipes:                            # named groups of options, one more axis
      homework: {}
      adam: {optimizer: adam, lr: 0.001, clip_grad: 1.0}

    spec = apply_overrides(read_spec(path), ...)   # spec: the file and the command line
    sweep = build(spec, registry)                  # grid: resolved cells
    plan(sweep)                                    # plan: what the run store already holds
    run(sweep, executor="local", emit=...)         # execute: claim, run, record each cell

The modules: spec (the file and the command line), grid (cells), stages (a curriculum's
checks), plan (marking and claiming), worker (one cell on a worker: CellTask, run_cell,
progress), execute (running a sweep through an executor), and the bundled executors local (a
process pool), pack (packed runs) and dask (a Dask cluster).
"""

from __future__ import annotations

from rnnlab.sweep.execute import executor_plugin, finish, run
from rnnlab.sweep.grid import Cell, Sweep, build, cell_key
from rnnlab.sweep.local import LocalExecutor
from rnnlab.sweep.plan import Claims, plan
from rnnlab.sweep.spec import apply_overrides, read_spec
from rnnlab.sweep.worker import CellProgress, CellTask, run_cell, worker_failed

__all__ = [
    "Cell", "CellProgress", "CellTask", "Claims", "LocalExecutor", "Sweep", "apply_overrides",
    "build", "cell_key", "executor_plugin", "finish", "plan", "read_spec", "run", "run_cell",
    "worker_failed",
]
