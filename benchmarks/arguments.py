"""Command-line arguments the benchmark scripts share: counts within bounds, checked before
anything is built (a nonsense value is a one-line usage error, exit 2, never a traceback or an
allocation the machine cannot hold)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

DATA_VALUES = 50_000_000  # sequences x length: 400 MB of float32 inputs, plus their copies
BATCH_STEPS = 2_000_000  # length x batch: ~0.5 GB of one batch's activations at hidden 50


def count(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high:,}], "
                                             f"got {value}")
        return value
    return parse


def check_size(parser: argparse.ArgumentParser, L: int, n: int, batch: int) -> None:
    """Data the machine can hold, and batches that fit in it."""
    if L * n > DATA_VALUES:
        parser.error(f"--L {L} x --n {n} is {L * n:,} time steps of data; at most "
                     f"{DATA_VALUES:,} (make one of them smaller)")
    if batch > n:
        parser.error(f"--batch {batch} is larger than --n {n}")
    if L * batch > BATCH_STEPS:  # a batch's activations, kept for the backward pass
        parser.error(f"--L {L} x --batch {batch} is {L * batch:,} time steps in one batch; at "
                     f"most {BATCH_STEPS:,} (make one of them smaller)")


def check_cuda(parser: argparse.ArgumentParser, device: str) -> None:
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            parser.error("--device cuda: no CUDA device here (torch.cuda.is_available() is "
                         "False; use --device cpu)")
