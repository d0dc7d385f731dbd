"""The `rnnlab new-plugin report` templates: a table of runs (model, L, status, test
score).

string.Template text ($name, $module, $cls, ...); the generated code is ruff clean."""

from __future__ import annotations

# what the package's README says about it
README = {
    "what": "a table of runs (model, L, status, test score).",
    "use": "rnnlab report $name\n    rnnlab report $name --format json --set "
           "status=completed",
    "edit": "`build` turns `request.runs` into rows (plain dicts) and columns; a report\n"
            "  never prints, rnnlab renders it as a table, markdown, csv or json.",
}

# the plugin module, rnnlab_NAME.py
MODULE = '''\
"""rnnlab report plugin `$name`.

One row per run: model, L, status, test score. `rnnlab report` renders it as a table, markdown,
csv or json. Edit `build` to make it your report: a report never prints, it returns rows (plain
dicts) and/or files.
"""

from __future__ import annotations

from typing import Any

from rnnlab import Column, ReportPlugin, ReportRequest, ReportResult, Setting


def score(row: dict[str, Any]) -> str:
    """The test cell: value and metric, e.g. '98.5 accuracy'."""
    if row["test"] is None:
        return "-"
    return f"{row['test']:.4g} {row['metric']}"


class $cls(ReportPlugin):
    summary = "One row per run: model, L, status, test score (rnnlab new-plugin)."
    settings = {"status": Setting("", "only runs with this status, e.g. completed")}

    def build(self, request: ReportRequest) -> ReportResult:
        """Rows sorted by model, L and run id; csv and json get them as they are."""
        wanted = request.settings.get("status", "")
        rows: list[dict[str, Any]] = []
        for run in request.runs:
            metric = run.summary.get("primary_metric", "")
            row = {"run": run.id, "model": run.config.get("model"), "L": run.config.get("L"),
                   "status": run.state(), "metric": metric,
                   "test": (run.summary.get("test") or {}).get(metric)}
            if not wanted or row["status"] == wanted:
                rows.append(row)
        rows.sort(key=lambda r: (str(r["model"]), r["L"] if isinstance(r["L"], int) else -1,
                                 r["run"]))
        columns = [Column("run", "run"), Column("model", "model"), Column("L", "L"),
                   Column("status", "status"), Column("test", fmt=score)]
        return ReportResult(title=f"runs ({len(rows)})", columns=columns, rows=rows,
                            notes=[] if rows else ["no runs match"])
'''

# its tests, tests/test_NAME.py: the conformance kit, then one test of its own
TESTS = '''\
"""Tests of `$name`: rnnlab's conformance kit, then your own."""

from __future__ import annotations

from pathlib import Path

import rnnlab
from rnnlab import ReportRequest
from rnnlab.testing import ReportContract

PLUGIN = "$name"


class Test$cls(ReportContract):
    plugin = PLUGIN


def test_no_runs_make_an_empty_table_with_a_note(tmp_path: Path) -> None:
    request = ReportRequest(runs=[], run_ids=[], models=[], lengths=[],
                            settings={"status": ""}, out_dir=tmp_path)
    result = rnnlab.get_plugin("report", PLUGIN).build(request)
    assert result.rows == [] and result.notes == ["no runs match"]
'''
