"""Quoting values in error messages: short, and cheap however large the value."""

from __future__ import annotations

from typing import Any


def clip(text: str, limit: int = 40) -> str:
    """`text`, cut to its first `limit` characters and `…` when longer."""
    return text if len(text) <= limit else text[:limit] + "…"


def short(value: Any, limit: int = 40) -> str:
    """repr(value) for an error message: at most `limit` characters and `…`. The full repr is
    never built, so a 1 MB string or a list of a million items costs next to nothing."""
    return clip(_repr_prefix(value, limit + 8), limit)


def _repr_prefix(value: Any, budget: int) -> str:
    """repr(value), or a string of more than `budget` characters that starts like it."""
    if budget <= 0:
        return "…"
    if isinstance(value, (str, bytes)):
        return repr(value[: budget + 1])
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 3000:
        return f"<a {value.bit_length()}-bit integer>"  # repr() refuses past 4300 digits
    brackets = {list: "[]", tuple: "()", dict: "{}", set: "{}", frozenset: "{}"}
    kind = next((k for k in brackets if isinstance(value, k)), None)
    if kind is None or not value:
        return repr(value)
    text = brackets[kind][0]
    for i, item in enumerate(value.items() if isinstance(value, dict) else value):
        if len(text) > budget:
            return text  # already longer than needed: the closing bracket never shows
        text += ", " if i else ""
        if isinstance(value, dict):
            text += _repr_prefix(item[0], budget - len(text)) + ": "
            item = item[1]
        text += _repr_prefix(item, budget - len(text))
    if kind is tuple and len(value) == 1:
        text += ","
    return text + brackets[kind][1]
