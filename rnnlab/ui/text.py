"""Text for people: values from files made safe to print, metric keys and values as labels."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


def printable(text: Any, newlines: bool = False) -> str:
    """`text` with control characters escaped (ESC as \\x1b, ...): names and values from
    files and directories must not move the cursor, recolour or retitle the terminal.
    Newlines are kept with `newlines` (multi-line table cells), else escaped too."""
    out = []
    for char in str(text):
        if char.isprintable() or (newlines and char == "\n"):
            out.append(char)
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def one_line(text: Any) -> str:
    """A message on one line, control characters escaped (it may quote a hostile file)."""
    return printable(" ".join(str(text).split()))


def plain_key(key: str) -> str:
    """A metric key without its split: 'dev_accuracy' -> 'accuracy'."""
    for split in ("dev_", "test_", "train_"):
        if key.startswith(split):
            return key[len(split):]
    return key


def is_number(value: Any) -> bool:
    """A real number (an int or a float, not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fmt_metric(key: str, value: Any, percentages: Collection[str] = ()) -> str:
    """A metric value for people: percentages (as the dataset declares them) with %, times in
    seconds."""
    if value is None:
        return "-"
    if not is_number(value):
        return str(value)
    if plain_key(key) in percentages:
        return f"{value:.1f}%"
    if key.endswith("time_s"):
        return f"{value:.1f} s"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def label(key: str, baselines: dict[str, str] | None = None) -> str:
    """A metric key for people: 'dev_zero_accuracy' -> 'dev always 0' when the dataset
    declares `zero_accuracy` a baseline labelled 'always 0'."""
    plain = plain_key(key)
    if baselines and plain in baselines:
        key = key[: len(key) - len(plain)] + baselines[plain]
    return key.removesuffix("_s").replace("train_loss", "loss").replace("_", " ")
