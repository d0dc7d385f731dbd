"""The labelled digits dataset (the bundled images with their classes), MLP-Lite trained on it
from the command line, and the confusion-matrix report."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import rnnlab
from rnnlab_plugins.image_pickles import Digits, bundled_dir
from rnnlab_plugins.image_pickles.digits_csv import read
from rnnlab_plugins.image_pickles.safe_pickle import read as read_pickle

SMALL = ["--n-train", "2000", "--n-dev", "100", "--n-test", "100"]


def test_the_first_images_are_the_bundled_set_and_carry_their_digits(workdir):
    paths = rnnlab.gen_data("digits", out="datasets", sizes={"train": 1000, "dev": 10,
                                                             "test": 20})
    assert [p.name for p in paths] == ["digits_train.csv", "digits_test.csv", "digits_dev.csv"]
    pixels, labels = read(workdir / "datasets" / "digits" / "digits_train.csv")
    bundled = read_pickle(bundled_dir() / "images_train.pickle") * 255  # (1000, 225)
    np.testing.assert_array_equal(pixels, bundled)
    test_pixels, test_labels = read(workdir / "datasets" / "digits" / "digits_test.csv")
    np.testing.assert_array_equal(test_pixels, read_pickle(bundled_dir() / "images_test.pickle")
                                  * 255)
    # the digits drawn first, as a zoomed picture of these images shows them
    assert labels[:12].tolist() == [8, 2, 3, 5, 9, 3, 0, 9, 3, 4, 5, 7]
    assert test_labels[:12].tolist() == [5, 5, 0, 6, 3, 3, 8, 9, 2, 6, 4, 5]
    assert np.bincount(labels).tolist() == [102, 95, 92, 99, 104, 94, 95, 105, 86, 128]


def test_files_are_the_same_bytes_for_the_same_seed(workdir, cli):
    for out in ("a", "b"):
        assert cli("gen-data", "digits", "--out", out, *SMALL).exit_code == 0
    for split in ("train", "dev", "test"):
        a = (workdir / "a" / "digits" / f"digits_{split}.csv").read_bytes()
        assert a == (workdir / "b" / "digits" / f"digits_{split}.csv").read_bytes()
    first = (workdir / "a" / "digits" / "digits_train.csv").read_text().split("\n")[0]
    fields = first.split(",")
    assert fields[0] == "8" and len(fields) == 226 and set(fields[1:16]) == {"0"}
    digest = hashlib.sha256((workdir / "a" / "digits" / "digits_train.csv").read_bytes())
    assert digest.hexdigest()[:16] == "6af18402b56aac1d"


def test_metrics_take_the_largest_output_as_the_answer():
    t = np.eye(10)[[1, 1, 1, 2, 3]]
    y = np.zeros((5, 10))
    y[[0, 1, 2, 3, 4], [1, 0, 1, 2, 2]] = 1.0  # right, wrong, right, right, wrong
    assert Digits().metrics(y, t) == {"accuracy": 60.0, "majority_accuracy": 60.0}


BAD = [  # a line after a good one; what the error says after "PATH:"
    ("10," + ",".join(["0"] * 225), "2: label 10 is not a digit 0-9"),
    ("3," + ",".join(["0"] * 224) + ",256", "2: pixel value 256 is outside 0-255"),
    ("3," + ",".join(["0"] * 224), "2: 225 fields, expected 226"),
    ("3," + ",".join(["0"] * 224) + ",1.5", "2: pixel '1.5' is not an integer 0-255"),
    ("3.5," + ",".join(["0"] * 225), "2: label '3.5' is not a digit 0-9"),
    ("9" * 30 + "," + ",".join(["0"] * 225), "2: label '99999999999999999999' is not a digit"),
    ("3," + ",".join(["0"] * 224) + ",-1", "2: pixel value -1 is outside 0-255"),
    ("3,\xe9", "2: not a text CSV file (byte 0xe9)"),
    (None, " empty file"),
]


@pytest.mark.parametrize("text,message", BAD)
def test_a_bad_file_is_one_line_naming_the_file_and_line(workdir, cli, text, message):
    assert cli("gen-data", "digits", *SMALL).exit_code == 0
    path = workdir / "datasets" / "digits" / "digits_dev.csv"
    good = path.read_text().split("\n")[0]
    path.write_bytes(b"" if text is None else (good + "\n" + text + "\n").encode("latin-1"))
    result = cli("train", "mlp-lite", "--epochs", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}:{message}")
    assert "\n" not in result.stderr.strip()
    assert not (workdir / "runs").exists() or not any((workdir / "runs").iterdir())


def test_a_model_for_other_data_is_refused(workdir, cli):
    result = cli("train", "autoenc-lite", "--data", "digits")
    assert result.exit_code == 2
    assert "model 'autoenc-lite' takes image data; dataset 'digits' is labelled data" in \
        result.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cli):
    """mlp-lite with each loss, 15 epochs on 2,000 digits: {loss: run}."""
    import os

    root = tmp_path_factory.mktemp("digits")
    old = os.getcwd()
    os.chdir(root)
    try:
        assert cli("gen-data", "digits", *SMALL).exit_code == 0
        runs = {}
        for loss in ("squared", "cross-entropy", "hinge"):
            result = cli("train", "mlp-lite", "--epochs", "15", "--lr", "0.003",
                         "--set", f"loss={loss}", "-q")
            assert result.exit_code == 0, result.stderr
            seen = {run.id for run in runs.values()}
            runs[loss] = next(r for r in rnnlab.list_runs() if r.id not in seen)
        yield root, runs
    finally:
        os.chdir(old)


def test_training_learns_each_loss_the_same_numbers_every_time(trained):
    _, runs = trained
    accuracy = {loss: run.summary["test"]["accuracy"] for loss, run in runs.items()}
    assert accuracy == pytest.approx({"squared": 49.0, "cross-entropy": 47.0, "hinge": 45.0},
                                     abs=1e-9)
    for loss, run in runs.items():
        baseline = run.summary["test"]["majority_accuracy"]
        assert accuracy[loss] > 3 * baseline, loss  # labels that fit their images


def test_the_confusion_report_counts_every_test_image(trained, cli):
    root, runs = trained
    import os

    os.chdir(root)
    run = runs["cross-entropy"]
    assert (run.dir / "confusion.png").is_file()  # written when training completed
    result = cli("report", "confusion", run.id, "--format", "json")
    assert result.exit_code == 0, result.stderr
    import json

    rows = json.loads(result.stdout)["rows"]
    counts = np.array([[row[f"p{j}"] for j in range(10)] for row in rows])
    assert counts.sum() == 100  # every test image once
    _, labels = read(root / "datasets" / "digits" / "digits_test.csv")
    assert counts.sum(axis=1).tolist() == np.bincount(labels, minlength=10).tolist()
    assert np.trace(counts) == pytest.approx(run.summary["test"]["accuracy"])  # 100 images
    image = Image.open(root / "runs" / "reports" / f"confusion_{run.id}.png")
    image.verify()
    assert image.size[0] > 400 and image.size[1] > 400


def test_reports_without_a_run_pick_one_trained_on_their_kind_of_data(trained, cli):
    root, runs = trained
    import os

    os.chdir(root)
    result = cli("report", "confusion")  # the latest classifier run
    assert result.exit_code == 0, result.stderr
    assert f"the latest completed classifier run, {runs['hinge'].id}" in \
        " ".join(result.stdout.split())
    result = cli("report", "reconstructions")  # no auto-encoder among these runs
    assert result.exit_code == 2
    assert "no completed image-model run" in result.stderr


@pytest.mark.parametrize("model,gen,removed", [
    ("mlp-lite", ["digits", "--seed", "3", *SMALL], "digits/digits_dev.csv"),
    ("lstm", ["--L", "10", "--seed", "3", "--n-train", "50", "--n-dev", "10", "--n-test", "10"],
     "adding/adding_problem_T=010_test.csv"),
])
def test_a_set_with_a_split_missing_is_not_completed_from_another_seed(workdir, cli, model,
                                                                       gen, removed):
    assert cli("gen-data", *gen).exit_code == 0
    (workdir / "datasets" / removed).unlink()
    options = ["--L", "10"] if model == "lstm" else []
    result = cli("train", model, "--epochs", "1", *options)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {workdir / 'datasets' / removed}: file not found")
    assert "while the other splits are there" in result.stderr
    assert not (workdir / "datasets" / removed).exists()
    assert not (workdir / "runs").exists() or not any((workdir / "runs").iterdir())


def test_a_length_for_data_without_one_is_refused_but_a_grid_keeps_it_for_sequences(workdir,
                                                                                   cli):
    result = cli("train", "mlp-lite", "--L", "7")
    assert (result.exit_code, result.stderr) == (
        2, "error: --L 7: dataset 'digits' is labelled data, which has no sequence length\n")
    result = cli("train", "autoenc-lite", "--L", "7")
    assert result.stderr == ("error: --L 7: dataset 'images' is image data, which has no "
                             "sequence length\n")
    assert not (workdir / "datasets").exists()
    from rnnlab.registry import default
    from rnnlab.sweep.grid import build

    sweep = build({"model": ["mlp-lite", "lstm"], "L": [7, 9], "seed": [0, 1]}, default())
    assert sorted((c.config.model, c.config.L or 0, c.config.seed) for c in sweep.cells) == [
        ("lstm", 7, 0), ("lstm", 7, 1), ("lstm", 9, 0), ("lstm", 9, 1), ("mlp-lite", 0, 0),
        ("mlp-lite", 0, 1)]


def test_a_classifiers_learning_curves_name_no_dev_mse(trained):
    from matplotlib.figure import Figure

    from rnnlab_plugins.reports.curves import draw

    _, runs = trained
    axes = Figure().subplots()
    draw(axes, [runs["hinge"]], 0, [])
    labels = [t.get_text() for t in axes.get_legend().get_texts()]
    assert labels == [f"mlp-lite {runs['hinge'].id.rsplit('-', 1)[-1]}",
                      "train loss, per epoch", "loss per batch"]
    assert len(axes.lines) == 2  # the band and the epoch means


def test_the_html_page_shows_the_latest_classifiers_confusion_matrix(trained, cli):
    import base64
    import io
    import os
    import re

    root, runs = trained
    os.chdir(root)
    result = cli("report", "html", "--out", "page")
    assert result.exit_code == 0, result.stderr
    (page,) = (root / "page").glob("*.html")
    text = page.read_text()
    assert "<h2>Confusion matrix</h2>" in text and "<h2>Reconstructions</h2>" not in text
    match = re.search(rf'<img alt="confusion matrix of run {runs["hinge"].id}" '
                      r'src="data:image/png;base64,([^"]+)"', text)
    assert match is not None
    Image.open(io.BytesIO(base64.b64decode(match.group(1)))).verify()


def test_gen_data_over_another_set_is_refused_and_changes_nothing(workdir, cli):
    assert cli("gen-data", "digits", *SMALL).exit_code == 0
    folder = workdir / "datasets" / "digits"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for other in (["--seed", "3", *SMALL], ["--n-train", "1999", "--n-dev", "100",
                                           "--n-test", "100"]):
        result = cli("gen-data", "digits", *other)
        assert (result.exit_code, result.stderr) == (
            2, f"error: {Path('datasets') / 'digits' / 'digits_train.csv'} exists with "
               "different content; use --force to replace it\n")
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert cli("gen-data", "digits", *SMALL).exit_code == 0  # the same set: nothing to do
    assert cli("gen-data", "digits", "--seed", "3", *SMALL, "--force").exit_code == 0
    assert (folder / "digits_train.csv").read_bytes() != before["digits_train.csv"]
