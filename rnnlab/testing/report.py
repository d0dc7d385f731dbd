"""The conformance checks of a report plugin, on an empty run store and on a tiny real one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, ClassVar

import pytest

import rnnlab
from rnnlab import Column, ReportResult, UsageError
from rnnlab.testing.base import Contract
from rnnlab.testing.checks import assert_plain

STORES: dict[str, Path] = {}  # a tiny run store per training recipe, made once per session


class ReportContract(Contract):
    """Conformance checks for a report plugin. Subclass it as `TestSomething`, set `plugin`.

    Attributes: `plugin`; `settings` (report settings, e.g. small repeats); `models` and
    `lengths` (the --model/--L filters passed to the report); `name_runs` (pass the runs' ids,
    as `rnnlab report NAME RUN...`, for reports of named runs); `requires_runs` (the report
    refuses an empty run list with a UsageError instead of building a result); the tiny run
    store: one run of `run_model` (lstm) on `run_data` (its default dataset, generated with
    `run_sizes`) with training options `run_options`, trained once per session and copied into
    each test. Override the `runs` fixture (return run ids in `runs_dir`) to supply others.

    Checks: the entry module loads without torch; on an empty run store and on the tiny one,
    `build` returns a well-formed ReportResult (title str, columns Column, rows dicts that
    have every keyed column, cells that render, files that exist) without printing; its rows
    are plain JSON (str/int/float/bool/None/list/dict, finite floats).
    """

    kind = "report"
    models: ClassVar[list[str] | None] = None
    lengths: ClassVar[list[int] | None] = None
    name_runs: ClassVar[bool] = False
    requires_runs: ClassVar[bool] = False
    run_model: ClassVar[str] = "lstm"
    run_data: ClassVar[str] = ""
    run_sizes: ClassVar[dict[str, int] | None] = None
    run_options: ClassVar[dict[str, Any]] = {"L": 5, "epochs": 1, "hidden": 4,
                                             "batch_size": 5, "seed": 0, "device": "cpu"}

    @pytest.fixture
    def runs_dir(self, tmp_path: Path) -> Path:
        """The run store the report reads (empty unless `runs` fills it)."""
        path = tmp_path / "runs"
        path.mkdir()
        return path

    @pytest.fixture
    def runs(self, runs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
        """Ids of the runs in `runs_dir`: a copy of one tiny training run (see the class)."""
        key = json.dumps([self.run_model, self.run_data, self.run_sizes, self.run_options],
                         sort_keys=True, default=str)
        if key not in STORES:
            STORES[key] = self._train_store(tmp_path_factory.mktemp("rnnlab-contract-runs"))
        shutil.copytree(STORES[key], runs_dir, dirs_exist_ok=True, symlinks=True)
        return sorted(p.name for p in runs_dir.iterdir() if not p.name.startswith("."))

    def _train_store(self, root: Path) -> Path:
        """Train one small run of `run_model` under `root`; returns its runs directory."""
        options = dict(self.run_options)
        data = self.run_data or getattr(rnnlab.get_plugin("model", self.run_model), "data", "")
        if data:
            options["data"] = data
            dataset = rnnlab.get_plugin("dataset", data)
            sizes = self.run_sizes or {split: 10 for split in dataset.sizes}
            try:
                rnnlab.gen_data(data, lengths=[options.get("L") or 5], out=root / "datasets",
                                sizes=sizes)
            except UsageError as exc:
                if "cannot generate" not in str(exc):
                    raise
        rnnlab.train(self.run_model, data_dir=str(root / "datasets"),
                     runs_dir=str(root / "runs"), **options)
        return root / "runs"

    def build(self, runs_dir: Path, out_dir: Path, run_ids: list[str] | None) -> ReportResult:
        return rnnlab.report(self.plugin, run_ids if self.name_runs else None,
                             runs_dir=runs_dir, models=self.models, lengths=self.lengths,
                             settings=dict(self.settings), out_dir=out_dir)

    def check_result(self, result: Any, what: str) -> ReportResult:
        """Assert `result` is a well-formed ReportResult; returns it."""
        who = f"{self.who} ({what})"
        assert isinstance(result, ReportResult), (
            f"{who}: build() returned {type(result).__name__}, not a ReportResult")
        assert isinstance(result.title, str), f"{who}: title is {result.title!r}, not a str"
        assert isinstance(result.columns, list) and all(
            isinstance(c, Column) for c in result.columns), (
            f"{who}: columns must be a list of rnnlab.Column, got {result.columns!r}")
        assert isinstance(result.rows, list), f"{who}: rows is {type(result.rows).__name__}"
        assert isinstance(result.notes, list) and all(
            isinstance(n, str) for n in result.notes), f"{who}: notes must be a list of str"
        for i, row in enumerate(result.rows):
            assert isinstance(row, dict), f"{who}: row {i} is {type(row).__name__}, not a dict"
            for column in result.columns:
                if column.fmt is None:
                    assert column.key in row, (f"{who}: row {i} has no key '{column.key}' of "
                                               f"column '{column.header}' (and no fmt)")
                cell = column.cell(row)
                assert isinstance(cell, str), (
                    f"{who}: column '{column.header}' renders row {i} as {cell!r}, not a str")
        for path in result.files:
            assert Path(path).is_file(), f"{who}: lists file {path}, which does not exist"
        return result

    def check_quiet(self, capsys: pytest.CaptureFixture[str], what: str) -> None:
        out, err = capsys.readouterr()
        assert out == "" and err == "", (
            f"{self.who} ({what}): build() printed (reports must return what they show):\n"
            f"stdout: {out[:300]!r}\nstderr: {err[:300]!r}")

    def check_plain_rows(self, result: ReportResult, what: str) -> None:
        assert_plain(result.rows, f"{self.who} ({what}): rows")
        json.dumps(result.rows, allow_nan=False)  # strict: no default=, no NaN

    def test_empty_run_store(self, runs_dir: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
        """On no runs: a well-formed, plain result without printing (or a UsageError for a
        report that `requires_runs`)."""
        capsys.readouterr()
        if self.requires_runs:
            with pytest.raises(UsageError):
                self.build(runs_dir, tmp_path / "report", [])
            self.check_quiet(capsys, "no runs")
            return
        result = self.check_result(self.build(runs_dir, tmp_path / "report", []), "no runs")
        self.check_quiet(capsys, "no runs")
        self.check_plain_rows(result, "no runs")

    def test_tiny_run_store(self, runs: list[str], runs_dir: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
        """On a tiny real run store: a well-formed result without printing."""
        assert runs, f"{self.who}: the `runs` fixture supplied no runs in {runs_dir}"
        capsys.readouterr()
        result = self.build(runs_dir, tmp_path / "report", runs)
        self.check_quiet(capsys, f"runs {', '.join(runs)}")
        self.check_result(result, f"runs {', '.join(runs)}")

    def test_rows_are_plain_json(self, runs: list[str], runs_dir: Path, tmp_path: Path) -> None:
        """Rows on the tiny run store are plain JSON values, as csv/json output needs."""
        result = self.build(runs_dir, tmp_path / "report", runs)
        self.check_plain_rows(self.check_result(result, "tiny run store"), "tiny run store")
