"""A conformance kit for rnnlab plugins: pytest suites to subclass with a plugin's name.

    # tests/test_my_plugins.py
    from rnnlab.testing import DatasetContract, ModelContract, ReportContract

    class TestGRU(ModelContract):
        plugin = "gru"              # the name registered under rnnlab.models

    class TestParity(DatasetContract):
        plugin = "parity"

    class TestBest(ReportContract):
        plugin = "best"

Run `pytest`: every check is a test method with an assertion message that names the plugin.
Class attributes tune the checks (sizes, settings, the runs a report is given); see each class.
The base classes are not collected themselves (their names do not start with `Test`).

This package needs pytest (a test-time dependency, `pip install rnnlab[dev]`); importing it
without pytest raises an ImportError that says so. `import rnnlab` never imports it.

One module per contract (`model`, `dataset`, `report`), on `base` (what they share), `checks`
(shared assertions and helpers) and `probe` (the light-entry-module check).
"""

from __future__ import annotations

try:
    import pytest  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("rnnlab.testing is a pytest kit: install pytest (pip install pytest, "
                      "or rnnlab[dev]) to use it") from exc

from rnnlab.testing.checks import GROUPS  # noqa: F401  (importable from here, as it was)
from rnnlab.testing.dataset import DatasetContract
from rnnlab.testing.model import ModelContract
from rnnlab.testing.report import ReportContract

__all__ = ["DatasetContract", "ModelContract", "ReportContract"]
