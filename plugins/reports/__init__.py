"""Bundled reports. Entry module: light on purpose; the work is in one module per report."""

from __future__ import annotations

from rnnlab import ReportPlugin, ReportRequest, ReportResult


class Accuracy(ReportPlugin):
    summary = "Model x L table of test accuracy (mean ± std over seeds, epochs, time, baseline)."

    def build(self, request: ReportRequest) -> ReportResult:
        from rnnlab_plugins.reports.accuracy import accuracy_table

        return accuracy_table(request)
