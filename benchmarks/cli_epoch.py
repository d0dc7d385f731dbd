#!/usr/bin/env python
"""An epoch as the command line runs it: evaluation on dev, checkpoint and metrics included.

    python benchmarks/cli_epoch.py                  # alarmwork and lstm at L=100
    python benchmarks/cli_epoch.py --models alarmwork,lstm,simple-rnn --L 50 --repeats 5

Each model is trained by `rnnlab train MODEL --epochs 1` and `--epochs 3` in fresh processes
(homework recipe, 10,000 sequences, batch 20, hidden 50, one thread, early stop off); an epoch
costs half the difference of the two wall times, so start-up and the final test evaluation
cancel out. Both are repeated `--repeats` times, alternating, and the medians compared with the
last model's. The ratio is taken from CPU time (user + system of the training process): on a
shared virtual machine the wall time also counts the time the hypervisor gave the CPU to
someone else (this project's 2-core VM shows 20% "steal"), which moved the wall-time ratio
between 0.40 and 0.61 in two runs minutes apart. Wall times are printed beside it.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from arguments import count


def child_cpu() -> float:
    """User + system seconds of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_rnnlab(args: list[str], cwd: Path) -> None:
    """One `rnnlab` command in a fresh process; its error line ends this script (exit 1)."""
    done = subprocess.run([sys.executable, "-m", "rnnlab", *args], cwd=cwd,
                          stdout=subprocess.DEVNULL)
    if done.returncode:
        sys.exit(f"cli_epoch.py: rnnlab {' '.join(args)} failed (exit {done.returncode})")


def timed(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one `rnnlab` command in a fresh process."""
    tick, cpu = time.perf_counter(), child_cpu()
    run_rnnlab(args, cwd)
    return time.perf_counter() - tick, child_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="alarmwork,lstm")
    parser.add_argument("--L", type=count(1, 5_000), default=100)
    parser.add_argument("--repeats", type=count(1, 1000), default=3)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    models = options.models.split(",")
    import rnnlab

    for model in models:
        try:
            rnnlab.get_plugin("model", model)
        except rnnlab.RnnlabError as exc:
            parser.error(f"--models: {exc}")
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        run_rnnlab(["gen-data", "--L", str(options.L)], cwd)
        walls: dict[str, list[float]] = {m: [] for m in models}
        cpus: dict[str, list[float]] = {m: [] for m in models}
        for _ in range(options.repeats):
            for model in models:
                base = ["train", model, "--recipe", "homework", "--L", str(options.L),
                        "--early-stop", "off", "--quiet"]
                one = timed([*base, "--epochs", "1"], cwd)
                three = timed([*base, "--epochs", "3"], cwd)
                walls[model].append((three[0] - one[0]) / 2)
                cpus[model].append((three[1] - one[1]) / 2)
    wall = {m: statistics.median(s) for m, s in walls.items()}
    cpu = {m: statistics.median(s) for m, s in cpus.items()}
    reference = models[-1]
    if options.json:
        print(json.dumps({"L": options.L, "s_per_epoch": cpu, "wall_s_per_epoch": wall,
                          "reference": reference}))
        return
    print(f"L={options.L}, one thread, medians of {options.repeats}")
    print(f"{'model':<14} {'CPU s / epoch':>14} {'x ' + reference:>12} {'wall s / epoch':>15}")
    for model in models:
        print(f"{model:<14} {cpu[model]:>14.2f} {cpu[model] / cpu[reference]:>12.2f} "
              f"{wall[model]:>15.2f}")


if __name__ == "__main__":
    main()
