"""`rnnlab new-plugin`: write a pip-installable plugin package to start from.

One package `rnnlab-NAME/` per call: `pyproject.toml` with the entry point, a one-file module
`rnnlab_NAME` that works as written, a README, and tests on rnnlab's conformance kit
(`rnnlab.testing`). Everything is written into a temporary directory next to the target and
renamed at the end: all or nothing, and an existing directory is never touched.

`package` checks the name and writes the package; `templates` holds what every package gets
and gathers the templates of each kind from `model`, `dataset` and `report`.
"""

from __future__ import annotations

from rnnlab.scaffold.package import (
    GROUPS,
    MAX_NAME,
    NAME_PATTERN,
    Plugin,
    bundled,
    check_kind,
    check_name,
    class_name,
    create,
    next_steps,
    render,
)
from rnnlab.scaffold.templates import MODULES, PYPROJECT, README, README_TEXT, TESTS

__all__ = ["GROUPS", "MAX_NAME", "MODULES", "NAME_PATTERN", "PYPROJECT", "README", "README_TEXT",
           "TESTS", "Plugin", "bundled", "check_kind", "check_name", "class_name", "create",
           "next_steps", "render"]
