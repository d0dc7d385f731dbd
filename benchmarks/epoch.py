#!/usr/bin/env python
"""One training epoch per model on one CPU thread, and memory of a step on long sequences.

    python benchmarks/epoch.py                 # L=100, 10,000 sequences, batch 20, hidden 50
    python benchmarks/epoch.py --L 50 --repeats 5 --json
    python benchmarks/epoch.py --device cuda --skip-memory     # on a GPU

Every model trains on the same in-memory adding-task data with the homework recipe (SGD, lr 0.01,
momentum 0.9). Epochs of all variants are interleaved, `--repeats` times, and the medians are
compared with nn.LSTM's. Peak memory of one training step is the growth of the process's
maximum resident set during that step, measured in a fresh process per variant.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one CPU thread, set before NumPy and torch load their BLAS

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from arguments import check_cuda, check_size, count  # noqa: E402

VARIANTS = [  # (label, model, settings)
    ("alarmwork default", "alarmwork", {}),
    ("alarmwork impl=autograd", "alarmwork", {"impl": "autograd"}),
    ("alarmwork autograd, scalar Layer_out", "alarmwork", {"layer_out": "scalar"}),
    ("simple-rnn", "simple-rnn", {}),
    ("lstm", "lstm", {}),
]
LONG = [1000, 5000]  # sequence lengths of the memory comparison


def learner_and_data(model: str, settings: dict, L: int, n: int, device: str = "cpu"):
    import torch

    import rnnlab

    torch.set_num_threads(1)
    spec, data = rnnlab.get_plugin("dataset", "adding").example(L, n, seed=0)
    learner = rnnlab.build_learner(model, spec, settings=settings, seed=0, device=device,
                                   recipe="homework")
    return learner, data


def epoch_seconds(learner, data, batch: int, device: str = "cpu") -> float:
    import torch

    tick = time.perf_counter()
    for i in range(0, len(data.x), batch):
        learner.train_step(data.x[i : i + batch], data.t[i : i + batch])
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - tick


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def probe(model: str, settings: dict, L: int, batch: int) -> dict:
    """In this (fresh) process: how far the resident set grows during training steps at
    length L (sampled every 0.2 ms by a second thread), and the median step time."""
    import gc
    import threading

    learner, data = learner_and_data(model, settings, L, batch)
    gc.collect()
    baseline = peak = resident_bytes()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, resident_bytes())
            time.sleep(0.0002)

    sys.setswitchinterval(0.0002)
    sampler = threading.Thread(target=sample)
    sampler.start()
    times = []
    for _ in range(3):
        tick = time.perf_counter()
        learner.train_step(data.x, data.t)
        times.append(time.perf_counter() - tick)
    done.set()
    sampler.join()
    return {"peak_step_mb": round((peak - baseline) / 2**20, 1),
            "step_s": round(statistics.median(times), 4), "impl": type(learner).__name__}


def probe_in_subprocess(model: str, settings: dict, L: int, batch: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--probe", json.dumps([model, settings, L, batch])],
        capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--L", type=count(1, 100_000), default=100,
                        help="sequence length [100]")
    parser.add_argument("--n", type=count(1, 10_000_000), default=10_000,
                        help="training sequences [10000]")
    parser.add_argument("--batch", type=count(1, 100_000), default=20, help="batch size [20]")
    parser.add_argument("--repeats", type=count(1, 1000), default=3,
                        help="epochs per variant [3]")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--skip-memory", action="store_true", help="no long-sequence part")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="where the models train [cpu]; on cuda AlarmworkNet's default is "
                             "its torch BPTT in CUDA graphs, and memory is not probed")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(*json.loads(args.probe))))
        return
    check_size(parser, args.L, args.n, args.batch)
    check_cuda(parser, args.device)
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=args.json)
    setups = []
    for label, model, settings in VARIANTS:
        learner, data = learner_and_data(model, settings, args.L, args.n, args.device)
        setups.append((label, learner, data))
    times: dict[str, list[float]] = {label: [] for label, _, _ in setups}
    for r in range(args.repeats):  # interleaved, so drift in machine speed hits all alike
        for label, learner, data in setups:
            times[label].append(epoch_seconds(learner, data, args.batch, args.device))
            console.print(f"repeat {r + 1}/{args.repeats}  {label:<38} "
                          f"{times[label][-1]:6.2f} s", highlight=False)
    median = {label: statistics.median(ts) for label, ts in times.items()}
    rows = []
    for (label, model, settings), (_, learner, _) in zip(VARIANTS, setups, strict=True):
        memory = (probe_in_subprocess(model, settings, args.L, args.batch)
                  if args.device == "cpu" else {"peak_step_mb": math.nan})
        rows.append({"variant": label, "impl": type(learner).__name__,
                     "median_s": round(median[label], 3),
                     "min_s": round(min(times[label]), 3), "max_s": round(max(times[label]), 3),
                     "ratio_to_lstm": round(median[label] / median["lstm"], 3),
                     "peak_step_mb": memory["peak_step_mb"]})
    default, autograd = median["alarmwork default"], median["alarmwork impl=autograd"]
    targets = {
        "default_over_lstm": round(default / median["lstm"], 3),
        "autograd_over_default": round(autograd / default, 2),
    }
    targets["met"] = targets["default_over_lstm"] <= 0.5 and targets["autograd_over_default"] >= 5
    long_rows = []
    if not args.skip_memory and args.device == "cpu":
        for L in LONG:
            K = round(math.sqrt(L))
            for label, settings in [("bptt", {"impl": "bptt"}),
                                    (f"bptt checkpoint_every={K}",
                                     {"impl": "bptt", "checkpoint_every": K}),
                                    ("autograd", {"impl": "autograd"})]:
                result = probe_in_subprocess("alarmwork", settings, L, args.batch)
                long_rows.append({"L": L, "variant": f"alarmwork {label}", **result})
    report = {"L": args.L, "n": args.n, "batch": args.batch, "repeats": args.repeats,
              "threads": 1, "device": args.device, "epochs": rows, "targets": targets,
              "long_sequences": long_rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    table = Table(title=f"one epoch: {args.n} sequences, L={args.L}, batch {args.batch}, "
                        f"hidden 50, 1 thread, {args.device}")
    for header in ("variant", "median s", "min-max s", "x lstm", "peak step MB"):
        table.add_column(header)
    for row in rows:
        table.add_row(row["variant"], f"{row['median_s']:.2f}",
                      f"{row['min_s']:.2f}-{row['max_s']:.2f}", f"{row['ratio_to_lstm']:.2f}",
                      f"{row['peak_step_mb']:.1f}")
    console.print(table)
    verdict = "met" if targets["met"] else "NOT met"
    console.print(f"targets ({verdict}): default alarmwork / lstm = "
                  f"{targets['default_over_lstm']:.2f} (<= 0.5); autograd vector / default = "
                  f"{targets['autograd_over_default']:.1f}x (>= 5)", highlight=False)
    if long_rows:
        table = Table(title=f"one training step on long sequences, batch {args.batch}")
        for header in ("L", "variant", "peak step MB", "step s"):
            table.add_column(header)
        for row in long_rows:
            table.add_row(str(row["L"]), row["variant"], f"{row['peak_step_mb']:.1f}",
                          f"{row['step_s']:.3f}")
        console.print(table)


if __name__ == "__main__":
    main()
