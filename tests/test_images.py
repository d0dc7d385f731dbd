"""The image pickles: course format round trip, the original course files, refusing code in a
pickle, and one-line errors for bad arrays."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import rnnlab
from rnnlab import DataError, DataRequest
from rnnlab_plugins.image_pickles import Images, bundled_dir
from rnnlab_plugins.image_pickles.safe_pickle import read, write

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def test_round_trip_in_the_course_format(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (4, 15, 15)).astype(np.float64)
    path = tmp_path / "images_test.pickle"
    write(path, images)
    with open(path, "rb") as handle:  # our own file: plain pickle shows the stored format
        stored = pickle.load(handle)
    assert stored.dtype == np.float64 and stored.shape == (4, 15, 15)
    np.testing.assert_array_equal(read(path), images.reshape(4, 225) / 255)


@pytest.mark.parametrize("array", [
    np.full((2, 225), 255, np.uint8), np.zeros((3, 15, 15), np.float32),
    np.arange(225 * 2).reshape(2, 225) % 256])
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_accepts_other_dtypes_shapes_and_protocols(tmp_path, array, protocol):
    path = tmp_path / "x.pickle"
    path.write_bytes(pickle.dumps(array, protocol=protocol))
    np.testing.assert_array_equal(read(path), array.reshape(len(array), 225) / 255)


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the course's original pickles are absent")
def test_reads_the_original_course_pickles():
    train = read(REFERENCE / "images_train.pickle")
    test = read(REFERENCE / "images_test.pickle")
    assert train.shape == (1000, 225) and test.shape == (20, 225)
    assert 0 <= train.min() and train.max() == 1.0


class Payload:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class EvalPayload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (eval, (f"open({str(self.path)!r}, 'w').write('pwned')",))


def test_code_in_a_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    cases = {
        "system.pickle": pickle.dumps(Payload(f"touch {marker}")),
        "eval.pickle": pickle.dumps(EvalPayload(marker)),
        "inside.pickle": pickle.dumps([np.zeros((1, 15, 15)), Payload(f"touch {marker}")]),
    }
    for name, payload in cases.items():
        path = tmp_path / name
        path.write_bytes(payload)
        with pytest.raises(DataError, match="refusing to load .*only NumPy arrays are allowed"):
            read(path)
        assert not marker.exists(), name
    # the same bytes would run the command with the plain pickle module:
    pickle.loads(cases["system.pickle"])
    assert marker.exists()


BAD = {
    "shape": (np.zeros((3, 14, 15)), r"array of shape \(3, 14, 15\), expected \(N, 15, 15\)"),
    "flat": (np.zeros(225), r"array of shape \(225,\), expected"),
    "dtype": (np.zeros((2, 15, 15), complex), "dtype complex128, expected real numbers"),
    "nan": (np.where(np.eye(15)[None], np.nan, 0.0), "image 0 has NaN or infinite values"),
    "range": (np.full((1, 15, 15), 300.0), "values range 300..300, expected 0..255"),
    "negative": (np.full((1, 225), -1.0), "values range -1..-1, expected 0..255"),
    "empty": (np.zeros((0, 15, 15)), "no images, expected N >= 1"),
    "list": ([1, 2, 3], "expected a NumPy array, got list"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_arrays_are_one_line_errors_naming_the_file(tmp_path, case):
    array, message = BAD[case]
    path = tmp_path / f"{case}.pickle"
    path.write_bytes(pickle.dumps(array))
    with pytest.raises(DataError, match=message) as info:
        read(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_not_a_pickle_and_truncated(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(DataError, match="notes.txt: not a NumPy array pickle"):
        read(text)
    good = pickle.dumps(np.zeros((2, 15, 15)))
    cut = tmp_path / "cut.pickle"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="cut.pickle: not a NumPy array pickle"):
        read(cut)
    with pytest.raises(DataError, match="missing.pickle: file not found"):
        read(tmp_path / "missing.pickle")


def test_bundled_set_loads_when_there_are_no_local_files(workdir):
    data = Images().load(DataRequest(L=None, data_dir=workdir / "datasets"))
    assert data.train.x.shape == (1000, 225) and data.test.x.shape == (20, 225)
    assert data.dev is None and data.spec.kind == "image"
    assert str(bundled_dir()) in data.source
    assert np.array_equal(data.train.x, data.train.t)  # an auto-encoder's target is its input


def test_gen_data_images_is_deterministic_and_guards_existing_files(workdir, cli):
    first = cli("gen-data", "images", "--n-train", "30", "--n-test", "5")
    assert first.exit_code == 0, first.stderr
    folder = workdir / "datasets" / "images"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(before) == {"images_train.pickle", "images_test.pickle"}
    assert cli("gen-data", "images", "--n-train", "30", "--n-test", "5").exit_code == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    clash = cli("gen-data", "images", "--n-train", "30", "--n-test", "5", "--seed", "1")
    assert clash.exit_code == 2 and "exists with different content" in clash.stderr
    assert read(folder / "images_train.pickle").shape == (30, 225)
    # train now reads ./datasets/images instead of the bundled set
    run = rnnlab.train("autoenc-lite", updates=10)
    source = json.loads((run.dir / "provenance.json").read_text())["data_source"]
    folder = Path("datasets/images").resolve()  # runs record resolved paths
    assert source == f"{folder / 'images_train.pickle'}, {folder / 'images_test.pickle'}"


def test_user_files_via_settings(workdir, cli):
    path = workdir / "mine.pickle"
    write(path, np.zeros((40, 15, 15)))
    result = cli("train", "autoenc-lite", "--updates", "5", "--set", f"train={path}",
                 "--set", f"test={path}", "--quiet")
    assert result.exit_code == 0, result.stderr
    bad = cli("train", "autoenc-lite", "--set", f"train={workdir / 'nope.pickle'}")
    assert bad.exit_code == 1
    assert bad.stderr.strip() == f"error: {workdir / 'nope.pickle'}: file not found"
