"""Bundled reports. Entry module: light on purpose; the work is in one module per report."""

from __future__ import annotations

from typing import Any

from rnnlab import (
    ReportPlugin,
    ReportRequest,
    ReportResult,
    RnnlabError,
    Run,
    Setting,
    UsageError,
)


def check_range(settings: dict[str, Any], name: str, low: int, high: int, why: str = "") -> None:
    """A report setting within [low, high], refused before any work with the setting named."""
    value = settings[name]
    if not low <= value <= high:
        shown = str(value) if len(str(value)) <= 30 else f"{str(value)[:6]}..."
        raise UsageError(f"--set {name} expects an integer in [{low}, {high}], got {shown}"
                         + (f" ({why})" if why else ""))


def by_start(runs: list[Run]) -> list[Run]:
    """Runs oldest first by when they started (run ids order by second, then by name)."""
    def started(run: Run) -> tuple[str, float]:
        try:
            created = (run.dir / "config.yaml").stat().st_mtime  # written once, at the start
        except OSError:
            created = 0.0
        return str(run.summary.get("started_at", "")), created

    return sorted(runs, key=started)


def completed_on(runs: list[Run], kind: str) -> list[Run]:
    """The completed runs whose dataset is of `kind` ('image', 'labelled', ...)."""
    import rnnlab

    found = []
    for run in runs:
        if run.summary.get("status") != "completed":
            continue
        try:
            if rnnlab.get_plugin("dataset", str(run.summary.get("data"))).kind == kind:
                found.append(run)
        except rnnlab.RnnlabError:  # a dataset no longer installed
            continue
    return found


UNKNOWN: dict[str, Any] = {}  # a warm start whose parent record is damaged or unreadable


def parent_of(run: Run, by_id: dict[str, Run]) -> tuple[dict[str, Any] | None, Run | None]:
    """A warm-started run's parent record (from its provenance) and the parent run: among
    `by_id`, else beside it in the same store (a report filtered by --L or --model leaves the
    earlier stages out). (None, None) for a run started afresh; (record, None) where the parent
    cannot be found, cannot be read, or is not the run the record describes (its L and updates
    differ); (UNKNOWN, None) where the run's own record is damaged."""
    try:
        record = run.provenance.get("init_from")
    except RnnlabError:
        record = None
    if not isinstance(record, dict):
        return (UNKNOWN, None) if run.config.get("init_from") else (None, None)
    ref = str(record.get("run") or "")
    parent = by_id.get(ref)
    if parent is None and 0 < len(ref) <= 200 and ref.isprintable() and "/" not in ref \
            and not ref.startswith("."):
        beside = run.dir.parent / ref
        try:
            parent = Run(beside) if (beside / "config.yaml").is_file() else None
        except OSError:
            parent = None
    if parent is None:
        return record, None
    try:
        same = (parent.config.get("L") == record.get("L")
                and parent.summary.get("updates") == record.get("updates"))
        parent.provenance  # noqa: B018  (read now: damaged is unknown, not an error later)
    except RnnlabError:
        return record, None
    return record, (parent if same else None)


def lineage(run: Run, by_id: dict[str, Run]) -> tuple[list[dict[str, Any]], list[Run] | None]:
    """A warm-started run's parent records and its ancestors, oldest first, as far as the
    records go ([], [] for a run started afresh); the ancestors are None when one of them
    cannot be found, or the records go round in a circle (edited by hand)."""
    records: list[dict[str, Any]] = []
    found: list[Run] = []
    seen, current = {run.dir.resolve()}, run
    while True:
        record, parent = parent_of(current, by_id)
        if record is None:
            return records, found
        records.insert(0, record)
        if parent is None or parent.dir.resolve() in seen:
            return records, None
        seen.add(parent.dir.resolve())
        found.insert(0, parent)
        current = parent


def ancestors(run: Run, by_id: dict[str, Run]) -> list[Run] | None:
    """A warm-started run's ancestors, oldest first (see `lineage`)."""
    return lineage(run, by_id)[1]


def png(figure: Any) -> bytes:
    """A matplotlib figure, laid out, as PNG bytes."""
    import io

    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def one_run(request: ReportRequest, report: str, kind: str, what: str,
            hint: str) -> tuple[Run, list[str]]:
    """The run a one-run report draws: the one named, else the latest completed run on
    `kind` data (a note says which); a UsageError names `report` otherwise."""
    if len(request.run_ids) > 1:
        raise UsageError(f"report {report}: name one run (rnnlab report {report} RUN)")
    if request.run_ids:
        return request.runs[0], []
    found = completed_on(request.runs, kind)
    if not found:
        raise UsageError(f"report {report}: no completed {what} run (train one with "
                         f"`{hint}`, or name a run)")
    run = by_start(found)[-1]
    return run, [f"no run named: the latest completed {what} run, {run.id}"]


def check_timing(settings: dict[str, Any]) -> None:
    """The timing report's settings, checked before torch is imported (seconds)."""
    import os

    # 1,000 repeats of the slowest form (35 ms a batch) take about a minute per model and L
    check_range(settings, "repeats", 1, 1000)
    check_range(settings, "batch_size", 1, 1000)
    check_range(settings, "threads", 0, os.cpu_count() or 1, "0 leaves torch's setting")


class Accuracy(ReportPlugin):
    summary = "Model x L table of test accuracy (mean ± std over seeds, epochs, time, baseline)."
    settings = {"plot": Setting(False, "also draw it: accuracy_vs_L.png, epoch_time.png and "
                                       "(for a success rate) success_vs_L.png in the --out "
                                       "folder")}

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
        check_timing(request.settings)
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


class Confusion(ReportPlugin):
    summary = "A classifier's confusion matrix on its test set, as a table and a PNG."

    def build(self, request: ReportRequest) -> ReportResult:
        from rnnlab_plugins.reports.confusion import confusion_report

        return confusion_report(request)


class Html(ReportPlugin):
    summary = ("One self-contained HTML page of runs or a sweep (--sweep ID): its tables, "
               "pictures and runs.")

    def build(self, request: ReportRequest) -> ReportResult:
        from rnnlab_plugins.reports.html import html_page

        return html_page(request)
