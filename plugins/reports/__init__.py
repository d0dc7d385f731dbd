"""Bundled reports. Entry module: light on purpose; the work is in one module per report."""

from __future__ import annotations

from rnnlab import ReportPlugin, ReportRequest, ReportResult, Setting


class Accuracy(ReportPlugin):
    summary = "Model x L table of test accuracy (mean ± std over seeds, epochs, time, baseline)."

    def build(self, request: ReportRequest) -> ReportResult:
        from rnnlab_plugins.reports.accuracy import accuracy_table

        return accuracy_table(request)


class Timing(ReportPlugin):
    summary = ("Scalar vs vector form of a layer (e.g. AlarmworkNet's Layer_out): median time "
               "per batch, ratio, max abs difference of the outputs.")
    settings = {
        "batch_size": Setting(20, "sequences per timed batch"),
        "repeats": Setting(20, "timed repeats per form (the median is reported)"),
        "threads": Setting(1, "torch threads while timing (0: leave as is)"),
    }

    def build(self, request: ReportRequest) -> ReportResult:
        from rnnlab_plugins.reports.timing import timing_table

        return timing_table(request)


class Curves(ReportPlugin):
    summary = "Learning curves (loss per update, raw and smoothed; several runs overlaid) as PNG."
    settings = {"smooth": Setting(0, "moving-average window in updates (0: about 1/50 of "
                                     "the run)")}

    def build(self, request: ReportRequest) -> ReportResult:
        from rnnlab_plugins.reports.curves import learning_curves

        return learning_curves(request)


class Reconstructions(ReportPlugin):
    summary = "An image model's test inputs above its outputs, upscaled, as a PNG grid."
    settings = {"count": Setting(20, "test images to show"),
                "zoom": Setting(8, "pixels per image pixel")}

    def build(self, request: ReportRequest) -> ReportResult:
        from rnnlab_plugins.reports.reconstructions import reconstruction_grid

        return reconstruction_grid(request)
