#!/usr/bin/env python
"""AlarmworkNet on a GPU, in one table: epoch times against the cuDNN baselines, and the
throughput of packed runs. Runs in a few minutes on an H100/H200.

    python benchmarks/gpu.py                          # L=100, 10,000 sequences, batch 20
    python benchmarks/gpu.py --packs 1,8,64 --json
    python benchmarks/gpu.py --device cpu --n 400 --packs 1,4   # the code paths, on a CPU

Part 1, one run each (homework recipe, hidden 50): an epoch of lstm and simple-rnn (cuDNN),
of AlarmworkNet's torch BPTT step by step (eager) and captured in CUDA graphs (graph), and of
its NumPy BPTT on one CPU thread (the CPU path), each after a warm-up epoch.
Part 2, packs of S AlarmworkNets (CUDA graphs): seconds per step and per run-epoch, and how
many times the CPU path's throughput that is (epochs per second per run, summed over the
pack), with the peak GPU memory of each.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # the CPU path on one thread, as the command line runs it

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

from arguments import check_size, count  # noqa: E402


def synchronize(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def epoch(learner, x, t, batch: int, device: str) -> float:
    """Seconds for one epoch of train_step over (x, t)."""
    synchronize(device)
    tick = time.perf_counter()
    for i in range(0, len(x), batch):
        learner.train_step(x[i : i + batch], t[i : i + batch])
    synchronize(device)
    return time.perf_counter() - tick


def peak_mb(device: str) -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")


def reset_peak(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--L", type=count(1, 100_000), default=100)
    parser.add_argument("--n", type=count(1, 10_000_000), default=10_000,
                        help="sequences per epoch")
    parser.add_argument("--batch", type=count(1, 100_000), default=20)
    parser.add_argument("--packs", default="1,8,64,256,1024", help="pack sizes S")
    parser.add_argument("--steps", type=count(1, 100_000), default=50,
                        help="timed steps per pack")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    check_size(parser, options.L, options.n, options.batch)
    try:
        sizes = [count(1, 4096)(S) for S in options.packs.split(",")]
    except argparse.ArgumentTypeError as exc:
        parser.error(f"--packs: {exc}")
    import numpy as np
    import torch

    import rnnlab
    from rnnlab_plugins.alarmwork.learner_torch import TorchBPTTLearner

    device = options.device
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device (use --device cpu to try the code paths)")
    torch.set_num_threads(1)
    spec, data = rnnlab.get_plugin("dataset", "adding").example(options.L, options.n, seed=0)
    x, t = data.x, data.t
    steps_per_epoch = -(-options.n // options.batch)
    rows = []

    def timed(label: str, learner, on: str) -> float:
        epoch(learner, x, t, options.batch, on)  # warm-up: allocations, kernels, graphs
        reset_peak(on)
        seconds = epoch(learner, x, t, options.batch, on)
        rows.append({"variant": label, "device": on, "s_per_epoch": round(seconds, 3),
                     "peak_mb": round(peak_mb(on), 1)})
        print(f"{label:<28} {on:<5} {seconds:8.3f} s/epoch", flush=True)
        return seconds

    for model in ("lstm", "simple-rnn"):
        timed(model, rnnlab.build_learner(model, spec, seed=0, device=device, recipe="homework"),
              device)
    solo = rnnlab.build_learner("alarmwork", spec, seed=0, device="cpu", recipe="homework",
                                settings={"impl": "bptt"})
    params = {k: v[None] for k, v in solo.state_dict().items()}
    timed("alarmwork eager", TorchBPTTLearner(params, "sgd", 0.01, 0.9, device=device,
                                              graphs=False), device)
    if device == "cuda":
        timed("alarmwork graph", TorchBPTTLearner(params, "sgd", 0.01, 0.9, device=device),
              device)
    cpu_path = timed("alarmwork NumPy (CPU path)", solo, "cpu")

    packs = []
    for S in sizes:
        pack = TorchBPTTLearner({k: np.repeat(v, S, axis=0) for k, v in params.items()},
                                "sgd", 0.01, 0.9, device=device, graphs=device == "cuda")
        xs = np.repeat(x[None, : options.batch], S, axis=0)  # (S, B, L, D)
        ts = np.repeat(t[None, : options.batch], S, axis=0)
        for _ in range(3):
            pack.train_packed(xs, ts)  # capture and warm up
        reset_peak(device)
        synchronize(device)
        tick = time.perf_counter()
        for _ in range(options.steps):
            pack.train_packed(xs, ts)
        synchronize(device)
        step = (time.perf_counter() - tick) / options.steps
        run_epoch = step * steps_per_epoch / S
        packs.append({"S": S, "ms_per_step": round(1e3 * step, 2),
                      "s_per_run_epoch": round(run_epoch, 4),
                      "x_cpu_path": round(cpu_path / run_epoch, 1),
                      "peak_mb": round(peak_mb(device), 1)})
        print(f"pack S={S:<5} {1e3 * step:8.2f} ms/step {run_epoch:8.4f} s/run-epoch "
              f"{cpu_path / run_epoch:6.1f} x CPU path", flush=True)
        del pack
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    report = {"device": name, "torch": torch.__version__, "L": options.L, "n": options.n,
              "batch": options.batch, "epochs": rows, "packs": packs}
    if options.json:
        print(json.dumps(report))
        return
    print(f"\n{name}, torch {torch.__version__}, L={options.L}, {options.n} sequences, "
          f"batch {options.batch}, hidden 50")
    print(f"{'variant':<28} {'device':<6} {'s / epoch':>10} {'peak MB':>9}")
    for row in rows:
        print(f"{row['variant']:<28} {row['device']:<6} {row['s_per_epoch']:>10.3f} "
              f"{row['peak_mb']:>9.1f}")
    print(f"\n{'pack S':>7} {'ms / step':>10} {'s / run-epoch':>14} {'x CPU path':>11} "
          f"{'peak MB':>9}")
    for row in packs:
        print(f"{row['S']:>7} {row['ms_per_step']:>10.2f} {row['s_per_run_epoch']:>14.4f} "
              f"{row['x_cpu_path']:>11.1f} {row['peak_mb']:>9.1f}")


if __name__ == "__main__":
    main()
