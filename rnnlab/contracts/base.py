"""What every plugin has: a name, a summary and its settings (`--set key=value`)."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar

from rnnlab.errors import UsageError

NOT_NEUTRAL: Any = type("NotNeutral", (), {"__repr__": lambda self: "NOT_NEUTRAL"})()


@dataclass(frozen=True)
class Setting:
    """One plugin setting; its type is the type of `default` (str, int, float, bool).

    `neutral`: a value at which the setting changes nothing, for a setting added to a plugin
    that already had runs: a run with that value records none, so its configuration (and a
    sweep's cell for it) stays what it was before the setting existed.

    `load_only`: a dataset setting that changes how files are read into a run (which file,
    which samples an epoch), not what `gen-data` writes; `gen-data` refuses it."""

    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    neutral: Any = NOT_NEUTRAL
    load_only: bool = False

    def parse(self, key: str, raw: Any) -> Any:
        """Convert a value from the command line or YAML; UsageError names the key."""
        kind = type(self.default) if self.default is not None else str
        try:
            if kind is bool and isinstance(raw, str):
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                value: Any = raw.lower() in ("true", "1", "yes", "on")
            elif kind is bool:
                if not isinstance(raw, bool):
                    raise ValueError(raw)
                value = raw
            elif kind is int and isinstance(raw, float) and not raw.is_integer():
                raise ValueError(raw)
            else:
                value = kind(raw)
        except (TypeError, ValueError):
            raise UsageError(
                f"setting '{key}' expects {kind.__name__}, got {raw!r}"
            ) from None
        if self.choices is not None and value not in self.choices:
            allowed = "|".join(str(c) for c in self.choices)
            raise UsageError(f"setting '{key}' expects one of {allowed}, got {raw!r}")
        return value


class Plugin(abc.ABC):  # noqa: B024  (the kinds declare the abstract methods)
    """What every plugin has. `name` is the entry-point name the registry gives it."""

    name: str = ""
    summary: ClassVar[str] = ""  # one line for `rnnlab plugins`
    settings: ClassVar[dict[str, Setting]] = {}  # `--set KEY=VALUE`
