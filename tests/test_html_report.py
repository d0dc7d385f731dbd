"""`rnnlab report html`: one self-contained page, checked in a real headless browser (Chromium;
installed by .ci/run, so CI always runs this)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from browser import Page, find

import rnnlab

needs_browser = pytest.mark.skipif(  # .ci/run installs Chromium and requires these tests
    find() is None and os.environ.get("RNNLAB_BROWSER_TESTS") != "required",
    reason="no Chromium here (apt-get install chromium); CI installs it")

READ_PAGE = """JSON.stringify({
  images: [...document.images].map(i => [i.alt, i.complete && i.naturalWidth > 0]),
  rows: [...document.querySelectorAll('#results tbody tr')].map(tr => ({
    model: tr.cells[0].textContent,
    cells: [...tr.cells].slice(1).map(td => [td.dataset.mean, td.dataset.n])})),
  headers: [...document.querySelectorAll('#results thead th')].map(th => th.textContent),
  runs: [...document.querySelectorAll('#runs tbody tr')].map(tr => tr.cells[0].textContent)
})"""


def open_page(path: Path) -> tuple[dict, list[str]]:
    page = Page(path)
    try:
        return json.loads(page.evaluate(READ_PAGE)), page.errors
    finally:
        page.close()


@needs_browser
def test_a_sweep_page_loads_cleanly_and_holds_the_accuracy_reports_numbers(small_data, cli):
    swept = cli("sweep", "--model", "alarmwork,lstm", "--L", "10", "--seeds", "2", "--epochs",
                "1", "--recipe", "homework", "--name", "page")
    assert swept.exit_code == 0, swept.stderr
    made = cli("report", "html", "--sweep", "page", "--out", "pages")
    assert made.exit_code == 0, made.stderr
    path = Path(made.stdout.strip().splitlines()[-1])
    assert path == Path("pages/report_page.html")
    text = path.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", text)  # nothing to fetch
    found, errors = open_page(path)
    assert errors == []
    assert [alt for alt, _ in found["images"]] == ["accuracy vs L", "success vs L",
                                                   "learning curves of 4 runs"]
    assert all(ok for _, ok in found["images"])  # every picture decodes
    expected = json.loads(cli("report", "accuracy", "--sweep", "page", "--format",
                              "json").stdout)["rows"]
    assert found["headers"] == ["model", "L=10"]
    assert [r["model"] for r in found["rows"]] == [r["model"] for r in expected]
    for shown, row in zip(found["rows"], expected, strict=True):
        ((mean, n),) = shown["cells"]
        assert (float(mean), int(n)) == (row["L10_acc_mean"], row["L10_n"])
    assert sorted(found["runs"]) == sorted(r.id for r in rnnlab.list_runs())


@needs_browser
def test_a_page_of_runs_shows_an_image_models_reconstructions(small_data, cli):
    rnnlab.train("lstm", L=10, epochs=1)
    auto = rnnlab.train("autoenc-lite", updates=10)
    made = cli("report", "html", "--out", "pages")
    assert made.exit_code == 0, made.stderr
    found, errors = open_page(Path("pages/report.html"))
    assert errors == []
    alts = [alt for alt, _ in found["images"]]
    assert alts[-1] == f"reconstructions of run {auto.id}" and all(
        ok for _, ok in found["images"])
    assert found["headers"] == ["model", "L=10", "test mse"]
