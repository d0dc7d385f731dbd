"""Option types and help text shared by the commands: comma-separated lists (`--L 10,50`,
`--model a,b`, each option also repeatable) and the training defaults shown in help, read
from TrainConfig so that they cannot drift from it."""

from __future__ import annotations

from typing import Any

import typer

from rnnlab.config import TrainConfig
from rnnlab.errors import UsageError
from rnnlab.quoting import short

DEFAULTS = TrainConfig()


class Integers:
    """A Typer parser: '10,50' -> [10, 50]; anything else is a UsageError naming `option`."""

    def __init__(self, option: str) -> None:
        self.option = option

    def __call__(self, text: str) -> list[int]:
        values = []
        for part in str(text).split(","):
            try:
                values.append(int(part))
            except ValueError:
                raise UsageError(f"{self.option} expects integers, got '{part}'") from None
        return values


def names(text: str) -> list[str]:
    """A Typer parser: 'a, b,' -> ['a', 'b']."""
    return [part.strip() for part in str(text).split(",") if part.strip()]


def joined(values: list[list[Any]] | None) -> list[Any]:
    """Every use of a repeated list option as one list: --L 10,50 --L 70 -> [10, 50, 70]."""
    return [value for group in values or [] for value in group]


def integers(option: str, help: str) -> Any:
    """A repeatable option of comma-separated integers; its value is a list (empty if not
    given)."""
    return typer.Option(option, parser=Integers(option), callback=joined, help=help)


def name_list(option: str, help: str) -> Any:
    """A repeatable option of comma-separated names; its value is a list (empty if not
    given)."""
    return typer.Option(option, parser=names, callback=joined, help=help)


def default(key: str) -> str:
    """A training option's default for help text: '[50]', '[0.01]', '[no]'."""
    value = getattr(DEFAULTS, key)
    if isinstance(value, bool):
        value = "yes" if value else "no"
    return f"[{value}]"


def axis_values(key: str, text: str) -> list[Any]:
    """`--lr 1e-3,3e-4` for `rnnlab sweep`: the values of one training option, typed and
    checked as the config checks them (an error names the option)."""
    from rnnlab.config import TYPES, coerce

    option = "--" + key.replace("_", "-")
    values = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:  # '' or 'a,,b': not a value, and not the default either
            raise UsageError(f"{option} expects comma-separated values, got {short(text)}")
        value: Any = part
        for kind in () if TYPES[key][0] is str else (int, float):  # a run id may be digits
            try:
                value = kind(part)
                break
            except ValueError:
                continue
        try:
            checked = coerce(key, value, option)
            # 'off' stays a word: None would read as "not given" and let a recipe's value in
            values.append("off" if checked is None else checked)
        except UsageError as exc:
            raise UsageError(str(exc).replace(f"{option}: '{key}'", option)) from None
    return values
