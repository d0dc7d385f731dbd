"""The adding task: generator as specified, byte-identical files, the course CSV reader and
every validation error (file and line named)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import rnnlab
from rnnlab import DataError, DataRequest, UsageError
from rnnlab_plugins.adding_task import Adding
from rnnlab_plugins.adding_task.course_csv import read

SEED7_L6_TRAIN = (
    "-0.01,0.05,0.17,-0.12,-0.04,0.19\n0,1,0,0,1,0\n0.01,,,,,\n"
    "-0.06,-0.23,-0.19,-0.23,-0.19,0.15\n0,1,0,1,0,0\n-0.46,,,,,\n"
    "0.0,-0.21,-0.07,-0.18,0.13,0.08\n0,0,1,0,0,1\n0.01,,,,,"
)


def test_generated_file_is_exactly_the_course_layout(workdir):
    paths = rnnlab.gen_data("adding", lengths=[6], sizes={"train": 3, "dev": 2, "test": 2},
                            seed=7)
    assert [p.name for p in paths] == [
        "adding_problem_T=006_train.csv", "adding_problem_T=006_dev.csv",
        "adding_problem_T=006_test.csv"]
    assert paths[0].read_text() == SEED7_L6_TRAIN  # no newline after the last line


def test_same_seed_same_bytes_and_pinned_digest(workdir):
    first = rnnlab.gen_data("adding", lengths=[100], out="a", seed=0)
    second = rnnlab.gen_data("adding", lengths=[100], out="b", seed=0)
    other = rnnlab.gen_data("adding", lengths=[100], out="c", seed=1)
    for p, q, r in zip(first, second, other, strict=True):
        assert p.read_bytes() == q.read_bytes() != r.read_bytes()
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in first}
    assert digests == {
        "adding_problem_T=100_train.csv": "9bcc5ae1a10dc299",
        "adding_problem_T=100_dev.csv": "759590866fbbe50e",
        "adding_problem_T=100_test.csv": "dd42ec8a6515c054",
    }
    assert [len(read(p, 100)[0]) for p in first] == [10_000, 1_000, 1_000]


@pytest.mark.parametrize("L", [2, 7, 10, 51])
def test_generator_follows_the_spec(workdir, L):
    path = rnnlab.gen_data("adding", lengths=[L], sizes={"train": 500, "dev": 1, "test": 1},
                           seed=3)[0]
    x, t = read(path, L)
    values, markers = x[..., 0].astype(np.float64), x[..., 1]
    assert values.min() >= -0.25 and values.max() <= 0.25
    assert np.allclose(values * 100, np.rint(values * 100), atol=1e-4)  # two decimals
    first, second = np.nonzero(markers)[1].reshape(-1, 2).T + 1  # 1-based positions
    assert first.min() >= 1 and first.max() <= L // 2
    assert second.min() >= L // 2 + 1 and second.max() <= L
    marked = values[np.arange(500), first - 1] + values[np.arange(500), second - 1]
    assert np.allclose(t[:, 0], marked, atol=1e-6)
    dev, _ = read(path.with_name(path.name.replace("train", "dev")), L)
    assert not np.array_equal(dev[0], x[0])  # splits are independent draws


def test_splits_are_independent_of_their_sizes(workdir):
    small = rnnlab.gen_data("adding", lengths=[10], out="s", sizes={"train": 5}, seed=0)
    large = rnnlab.gen_data("adding", lengths=[10], out="l", sizes={"train": 50}, seed=0)
    assert read(large[1], 10)[0].shape == read(small[1], 10)[0].shape  # dev unchanged
    assert np.array_equal(read(large[0], 10)[0][:5], read(small[0], 10)[0])


def test_existing_different_files_need_force(workdir, cli):
    assert cli("gen-data", "--L", "10,12", "--n-train", "5", "--n-dev", "5", "--n-test", "5"
               ).exit_code == 0
    before = {p: p.read_bytes() for p in (workdir / "datasets" / "adding").iterdir()}
    stamps = {p: p.stat().st_mtime_ns for p in before}
    again = cli("gen-data", "--L", "10", "--L", "12", "--n-train", "5", "--n-dev", "5",
                "--n-test", "5")
    assert again.exit_code == 0  # identical content: fine, and left as it is
    assert again.stdout.count(": already up to date\n") == 6
    assert {p: p.stat().st_mtime_ns for p in before} == stamps
    clash = cli("gen-data", "--L", "12", "--n-train", "6", "--n-dev", "5", "--n-test", "5")
    assert clash.exit_code == 2
    assert clash.stderr.strip() == (
        "error: datasets/adding/adding_problem_T=012_train.csv exists with different content; "
        "use --force to replace it")
    assert {p: p.read_bytes() for p in before} == before
    forced = cli("gen-data", "--L", "12", "--n-train", "6", "--n-dev", "5", "--n-test", "5",
                 "--force")
    assert forced.exit_code == 0
    assert len(read(workdir / "datasets/adding/adding_problem_T=012_train.csv", 12)[0]) == 6


def test_reads_a_file_in_the_course_layout_written_by_hand(tmp_path):
    path = tmp_path / "adding_problem_T=004_test.csv"
    path.write_text("0.15,-0.21,0.25,0.1\n0,1,0,1\n-0.11,,,\n"
                    "0.0,0.05,-0.25,0.2\n1,0,1,0\n-0.25,,,\n")  # trailing newline tolerated
    x, t = read(path, 4)
    assert x.shape == (2, 4, 2) and t.tolist() == [[pytest.approx(-0.11)], [-0.25]]
    assert x[0, :, 1].tolist() == [0, 1, 0, 1]


GOOD = "0.1,0.2,0.3,0.4\n1,0,1,0\n0.4,,,\n"
BAD_FILES = {
    "truncated": (GOOD + "0.1,0.2,0.3,0.4\n1,0,1,0", "5 lines is not a multiple of 3"),
    "non-numeric": ("0.1,abc,0.3,0.4\n1,0,1,0\n0.4,,,", ":1: 'abc' is not a number"),
    "empty": ("", "empty file, expected 3 lines per sequence"),
    "one marker": (GOOD + "0.1,0.2,0.3,0.4\n1,0,0,0\n0.1,,,", ":5: 1 markers, expected exactly 2"),
    "three markers": ("0.1,0.2,0.3,0.4\n1,1,1,0\n0.6,,,", ":2: 3 markers, expected exactly 2"),
    "wrong half": ("0.1,0.2,0.3,0.4\n1,1,0,0\n0.3,,,",
                   ":2: markers at positions 1 and 2; expected one in 1..2 and one in 3..4"),
    "target": ("0.1,0.2,0.3,0.4\n1,0,1,0\n0.5,,,", ":3: target 0.5 is not the sum of the "
               "marked values (0.40)"),
    "mixed lengths": (GOOD + "0.1,0.2,0.3\n1,0,1\n0.4,,", ":4: 3 fields, expected 4 as on line 1"),
    "marker not binary": ("0.1,0.2,0.3,0.4\n1,0,2,0\n0.4,,,", ":2: markers must be 0 or 1"),
    "nan value": ("nan,0.2,0.3,0.4\n1,0,1,0\n0.4,,,", ":1: non-finite value"),
    "target junk": ("0.1,0.2,0.3,0.4\n1,0,1,0\n0.4,,1,", ":3: expected the target followed by"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_every_violation_names_file_and_line(tmp_path, case):
    text, expected = BAD_FILES[case]
    path = tmp_path / "adding_problem_T=004_train.csv"
    path.write_text(text)
    with pytest.raises(DataError) as info:
        read(path)
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_binary_junk_and_wrong_length(tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(b"0.1,0.2\n\x89PNG\x00\xff")
    with pytest.raises(DataError, match=r"junk.csv:2: not a text CSV file \(byte 0x89\)"):
        read(path)
    path.write_text(GOOD)
    with pytest.raises(DataError, match="sequences have length 4, expected L=10"):
        read(path, 10)


def test_metrics_accuracy_mse_and_always_zero_baseline():
    t = np.array([[0.05], [0.3], [-0.2], [0.0]])
    y = np.array([[0.0], [0.1], [-0.15], [0.2]])
    m = Adding().metrics(y, t)
    assert m["accuracy"] == 50.0  # |y - t| = 0.05, 0.2, 0.05, 0.2
    assert m["mse"] == pytest.approx((0.05**2 + 0.2**2 + 0.05**2 + 0.2**2) / 4)
    assert m["zero_accuracy"] == 50.0  # |t| < 0.1 for 0.05 and 0.0


def test_load_generates_missing_data_and_says_so(workdir):
    notes = []
    data = Adding().load(DataRequest(L=4, data_dir=workdir / "d"), notes.append)
    assert "no adding-task data for L=4" in notes[0].text
    assert (len(data.train), len(data.dev), len(data.test)) == (10_000, 1_000, 1_000)
    assert data.spec.length == 4 and data.train.x.shape == (10_000, 4, 2)


def test_adding_task_needs_two_steps(workdir):
    with pytest.raises(UsageError, match="--L expects an integer >= 2 for the adding task"):
        rnnlab.gen_data("adding", lengths=[1])


def test_late_copies_repeat_late_sequences_in_place_in_training_only(workdir):
    from pathlib import Path

    rnnlab.gen_data("adding", lengths=[20], out="datasets",
                    sizes={"train": 200, "dev": 50, "test": 50})
    plugin, folder = Adding(), Path("datasets")
    base = plugin.load(DataRequest(L=20, data_dir=folder))
    notes: list = []
    data = plugin.load(DataRequest(L=20, data_dir=folder,
                                   settings={"late_copies": 2, "late_window": 3}), notes.append)
    lines = (workdir / "datasets" / "adding" / "adding_problem_T=020_train.csv").read_text()
    markers = lines.split("\n")[1::3]  # the second line of each sequence, read as text
    expected = []
    for n, line in enumerate(markers):
        last = max(i for i, m in enumerate(line.split(",")) if m == "1")
        expected += [n] * (3 if last >= 20 - 3 else 1)
    assert len(expected) > 200
    assert data.train.x.tolist() == base.train.x[expected].tolist()
    assert data.train.t.tolist() == base.train.t[expected].tolist()
    assert data.dev.x.tolist() == base.dev.x.tolist()
    assert data.test.x.tolist() == base.test.x.tolist()
    late = (len(expected) - 200) // 2
    assert notes[-1].text == (f"late_copies=2: {late} training sequences with the second "
                              f"mark in the last 3 steps, each 3 times: {len(expected)} "
                              "sequences an epoch (the training distribution changes)")


def test_late_copies_at_zero_leave_configs_and_sweep_cells_as_before():
    """The cell key of this configuration was ffbf3f8c934e before the dataset had settings
    (computed with rnnlab at 0d3b32b): interrupted sweeps from then still resume."""
    from rnnlab import config as cfgmod
    from rnnlab.registry import default
    from rnnlab.sweep.grid import cell_key

    def key(**sets):
        cfg = cfgmod.resolve("alarmwork", default(), options={"L": 100, "seed": 3},
                             sets=sets)
        return cell_key(cfg, ""), sorted(cfg.settings)

    before = ("ffbf3f8c934e", ["checkpoint_every", "impl", "layer_out", "rec_init"])
    assert key() == before and key(late_copies="0", late_window="0") == before
    assert key(late_copies="1")[0] != before[0]


@pytest.mark.parametrize("args", [["--L", "20", "--set", "late_copies=1"],
                                  ["--L", "20", "--set", "late_window=2"],
                                  ["images", "--set", "train=mine.pkl"]])
def test_gen_data_refuses_settings_that_only_change_loading(workdir, cli, args):
    result = cli("gen-data", *args)
    key, dataset = args[-1].split("=")[0], "images" if args[0] == "images" else "adding"
    assert result.exit_code == 2
    assert result.stdout == "" and result.stderr.strip() == (
        f"error: --set {key}: a setting of how dataset '{dataset}' is loaded for training, not "
        "of the files gen-data writes; give it to `rnnlab train` or a sweep")
    assert not (workdir / "datasets").exists()  # nothing written
