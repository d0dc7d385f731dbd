"""How estimates and option values are written in messages: bytes, durations, long integers;
and counts as floats for the estimates."""

from __future__ import annotations


def _scaled(value: float, units: tuple[tuple[str, float], ...]) -> str:
    """`value` in the largest unit it reaches (the last unit if none)."""
    unit, size = next(((u, s) for u, s in units if value >= s), units[-1])
    number = value / size
    return f"{number:.3g} {unit}" if number < 1000 else f"{number:.1e} {unit}"


def fmt_bytes(n: float) -> str:
    return _scaled(n, (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)))


def fmt_duration(seconds: float) -> str:
    return _scaled(seconds, (("years", 365 * 86400.0), ("days", 86400.0), ("hours", 3600.0),
                             ("minutes", 60.0), ("s", 1.0)))


def fmt_int(value: int) -> str:
    """An option's value as given; absurdly long ones shortened."""
    text = str(value)
    return text if len(text) <= 30 else f"{text[:6]}... ({len(text)} digits)"


def as_float(value: int | float) -> float:
    """A count as a float for estimates; beyond 10^100 nothing changes the verdict."""
    return float(min(value, 10**100))
