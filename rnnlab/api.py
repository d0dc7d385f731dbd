"""Deprecated: the contracts moved to `rnnlab.contracts`; plugins import them from `rnnlab`."""

from __future__ import annotations

import warnings

from rnnlab.contracts import *  # noqa: F403
from rnnlab.contracts import (  # noqa: F401  (names plugins imported from here)
    Column,
    Data,
    DataRequest,
    DatasetPlugin,
    DataSpec,
    GenerateRequest,
    Learner,
    ModelPlugin,
    ReportPlugin,
    ReportRequest,
    ReportResult,
    Setting,
    Split,
)

warnings.warn("rnnlab.api is deprecated; import the plugin contracts from rnnlab "
              "(they are defined in rnnlab.contracts)", DeprecationWarning, stacklevel=2)
