#!/usr/bin/env python
"""An epoch as the command line runs it: evaluation on dev, checkpoint and metrics included.

    python benchmarks/cli_epoch.py                  # alarmwork and lstm at L=100
    python benchmarks/cli_epoch.py --models alarmwork,lstm,simple-rnn --L 50 --repeats 5

Each model is trained by `rnnlab train MODEL --epochs 1` and `--epochs 3` in fresh processes
(homework recipe, 10,000 sequences, batch 20, hidden 50, one thread, early stop off); an epoch
costs half the difference of the two wall times, so start-up and the final test evaluation
cancel out. Both are repeated `--repeats` times, alternating, and the medians compared with the
last model's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall(args: list[str], cwd: Path) -> float:
    tick = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rnnlab", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="alarmwork,lstm")
    parser.add_argument("--L", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    models = options.models.split(",")
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        subprocess.run([sys.executable, "-m", "rnnlab", "gen-data", "--L", str(options.L)],
                       cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        seconds: dict[str, list[float]] = {m: [] for m in models}
        for _ in range(options.repeats):
            for model in models:
                base = ["train", model, "--recipe", "homework", "--L", str(options.L),
                        "--early-stop", "off", "--quiet"]
                one = wall([*base, "--epochs", "1"], cwd)
                three = wall([*base, "--epochs", "3"], cwd)
                seconds[model].append((three - one) / 2)
    medians = {m: statistics.median(s) for m, s in seconds.items()}
    reference = models[-1]
    if options.json:
        print(json.dumps({"L": options.L, "s_per_epoch": medians, "reference": reference}))
        return
    print(f"L={options.L}, one thread, medians of {options.repeats}")
    print(f"{'model':<14} {'s / epoch':>10} {'x ' + reference:>12}")
    for model, value in medians.items():
        print(f"{model:<14} {value:>10.2f} {value / medians[reference]:>12.2f}")


if __name__ == "__main__":
    main()
