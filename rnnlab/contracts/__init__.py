"""The plugin contracts: everything a model, a dataset and a report provide or receive.

A plugin is an object (or a class rnnlab instantiates without arguments) registered under one
of the entry-point groups `rnnlab.models`, `rnnlab.datasets`, `rnnlab.reports` (and
`rnnlab.executors`, for where sweeps run). Subclass the
base classes below and implement their abstract methods; the registry refuses a plugin that
leaves one unimplemented, and names it. Optional learner capabilities are Protocols that the
runner checks with `isinstance`. The entry module must stay light: import torch and other heavy
libraries inside `build`/`load`, not at module level. docs/plugins.md is the reference.

One module per plugin kind: `base` (Setting, Plugin), `data` (datasets), `model` (models and
learner capabilities), `report` (reports), `executor` (where sweeps run).
"""

from __future__ import annotations

from rnnlab.contracts.base import Plugin, Setting
from rnnlab.contracts.data import (
    Data,
    DataRequest,
    DatasetPlugin,
    DataSpec,
    GenerateRequest,
    Split,
    example_of,
)
from rnnlab.contracts.executor import ExecutorPlugin, ExecutorRequest, SweepCell
from rnnlab.contracts.model import (
    OPTIMIZER_OPTIONS,
    HasGradients,
    HasOptimizerState,
    HonoursOptions,
    Learner,
    ModelPlugin,
    Packable,
    PackedLearner,
    SetsLearningRate,
    Timing,
)
from rnnlab.contracts.report import Column, ReportPlugin, ReportRequest, ReportResult
from rnnlab.errors import UsageError
from rnnlab.events import EventSink, ignore

__all__ = [
    "OPTIMIZER_OPTIONS", "Column", "Data", "DataRequest", "DataSpec", "DatasetPlugin",
    "EventSink", "ExecutorPlugin", "ExecutorRequest", "GenerateRequest", "HasGradients",
    "HasOptimizerState", "HonoursOptions", "Learner", "ModelPlugin", "Packable",
    "PackedLearner", "Plugin", "ReportPlugin", "ReportRequest", "ReportResult",
    "SetsLearningRate", "Setting", "Split", "SweepCell", "Timing", "UsageError", "example_of",
    "ignore",
]
