"""Bad input, table-driven: every case must exit non-zero with one line on stderr that names the
file, line or option and what was expected, print no traceback, and leave no new file behind."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

GOOD_CSV = "0.1,0.2,0.3,0.4\n1,0,1,0\n0.4,,,\n0.0,-0.1,0.2,0.1\n0,1,0,1\n0.0,,,"


@dataclass
class Case:
    files: dict[str, bytes | str | None]  # path -> content; None makes a directory
    argv: list[str]
    expected: str  # must appear in the error line ({tmp} is the test directory)
    code: int = 2


def adding(train: bytes | str, L: int = 4) -> dict[str, bytes | str | None]:
    folder = "d/adding"
    return {f"{folder}/adding_problem_T={L:03d}_train.csv": train,
            f"{folder}/adding_problem_T={L:03d}_dev.csv": GOOD_CSV,
            f"{folder}/adding_problem_T={L:03d}_test.csv": GOOD_CSV}


TRAIN_ADDING = ["train", "lstm", "--L", "4", "--data-dir", "d", "--epochs", "1"]
CSV = "d/adding/adding_problem_T=004_train.csv"


def images(train: object) -> dict[str, bytes | str | None]:
    raw = train if isinstance(train, bytes) else pickle.dumps(train)
    return {"bad.pickle": raw, "good.pickle": pickle.dumps(np.zeros((3, 15, 15)))}


TRAIN_IMAGES = ["train", "autoenc-lite", "--updates", "1", "--set", "train=bad.pickle",
                "--set", "test=good.pickle"]


class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def config(text: str) -> dict[str, bytes | str | None]:
    return {"c.yaml": text}


TRAIN_CONFIG = ["train", "lstm", "--config", "c.yaml", "--print-config"]

CASES: dict[str, Case] = {
    # adding-task CSV files
    "csv truncated": Case(adding(GOOD_CSV + "\n0.1,0.2,0.3,0.4"), TRAIN_ADDING,
                          f"{CSV}: 7 lines is not a multiple of 3", 1),
    "csv non-numeric": Case(adding("0.1,x,0.3,0.4\n1,0,1,0\n0.4,,,"), TRAIN_ADDING,
                            f"{CSV}:1: 'x' is not a number", 1),
    "csv one marker": Case(adding("0.1,0.2,0.3,0.4\n1,0,0,0\n0.1,,,"), TRAIN_ADDING,
                           f"{CSV}:2: 1 markers, expected exactly 2", 1),
    "csv marker half": Case(adding("0.1,0.2,0.3,0.4\n0,0,1,1\n0.7,,,"), TRAIN_ADDING,
                            f"{CSV}:2: markers at positions 3 and 4; expected one in 1..2", 1),
    "csv target": Case(adding("0.1,0.2,0.3,0.4\n1,0,1,0\n0.9,,,"), TRAIN_ADDING,
                       f"{CSV}:3: target 0.9 is not the sum of the marked values (0.40)", 1),
    "csv mixed lengths": Case(adding(GOOD_CSV + "\n0.1,0.2,0.3\n1,0,1\n0.4,,"), TRAIN_ADDING,
                              f"{CSV}:7: 3 fields, expected 4 as on line 1", 1),
    "csv empty": Case(adding(""), TRAIN_ADDING, f"{CSV}: empty file", 1),
    "csv binary junk": Case(adding(b"\x00\x89PNG\r\n\xff\xfe"), TRAIN_ADDING,
                            f"{CSV}:1: not a text CSV file", 1),
    "csv markers not 0/1": Case(adding("0.1,0.2,0.3,0.4\n1,0,2,0\n0.4,,,"), TRAIN_ADDING,
                                f"{CSV}:2: markers must be 0 or 1", 1),
    "csv infinite value": Case(adding("inf,0.2,0.3,0.4\n1,0,1,0\n0.4,,,"), TRAIN_ADDING,
                               f"{CSV}:1: non-finite value", 1),
    "csv wrong L": Case(adding("0.1,0.2,0.3,0.4,0.5\n1,0,0,1,0\n0.5,,,,"), TRAIN_ADDING,
                        f"{CSV}: sequences have length 5, expected L=4", 1),
    "csv is a directory": Case(adding(None), TRAIN_ADDING, f"{CSV}: is a directory", 1),
    "csv beyond float32": Case(adding("0.1,1e39,0.3,0.4\n1,0,1,0\n0.4,,,"), TRAIN_ADDING,
                               f"{CSV}:1: value 1e+39 is outside the float32 range", 1),
    # image pickles
    "pickle shape": Case(images(np.zeros((2, 14, 14))), TRAIN_IMAGES,
                         "bad.pickle: array of shape (2, 14, 14), expected (N, 15, 15)", 1),
    "pickle dtype": Case(images(np.array([["a"] * 225])), TRAIN_IMAGES,
                         "bad.pickle: dtype <U1, expected real numbers 0..255", 1),
    "pickle nan": Case(images(np.full((1, 15, 15), np.nan)), TRAIN_IMAGES,
                       "bad.pickle: image 0 has NaN or infinite values", 1),
    "pickle range": Case(images(np.full((1, 225), 256.0)), TRAIN_IMAGES,
                         "bad.pickle: values range 256..256, expected 0..255", 1),
    "pickle not a pickle": Case(images(b"P1\n15 15\n"), TRAIN_IMAGES,
                                "bad.pickle: not a NumPy array pickle", 1),
    "pickle payload": Case(images(Payload()), TRAIN_IMAGES,
                           "bad.pickle: not a NumPy array pickle (refusing to load 'posix.system'",
                           1),
    "pickle truncated": Case(images(pickle.dumps(np.zeros((4, 15, 15)))[:300]), TRAIN_IMAGES,
                             "bad.pickle: not a NumPy array pickle", 1),
    "pickle empty array": Case(images(np.zeros((0, 225))), TRAIN_IMAGES,
                               "bad.pickle: no images, expected N >= 1", 1),
    "pickle missing": Case({}, TRAIN_IMAGES, "bad.pickle: file not found", 1),
    "pickle is a directory": Case({"bad.pickle": None, "good.pickle": pickle.dumps(
        np.zeros((3, 15, 15)))}, TRAIN_IMAGES, "bad.pickle: is a directory", 1),
    # YAML configs
    "yaml syntax": Case(config("epochs: 3\nlr: [0.1\n"), TRAIN_CONFIG, "c.yaml:3: invalid YAML"),
    "yaml unknown key": Case(config("epoch: 3\n"), TRAIN_CONFIG, "c.yaml: unknown key 'epoch'"),
    "yaml wrong type": Case(config("lr: fast\n"), TRAIN_CONFIG,
                            "c.yaml: 'lr' expects a number, got 'fast'"),
    "yaml zero epochs": Case(config("epochs: 0\n"), TRAIN_CONFIG,
                             "--epochs expects an integer >= 1, got 0"),
    "yaml negative batch": Case(config("batch_size: -5\n"), TRAIN_CONFIG,
                                "--batch-size expects an integer >= 1, got -5"),
    "yaml zero hidden": Case(config("hidden: 0\n"), TRAIN_CONFIG,
                             "--hidden expects an integer >= 1, got 0"),
    "yaml unknown setting": Case(config("set:\n  depth: 3\n"), TRAIN_CONFIG,
                                 "c.yaml: unknown setting 'depth'"),
    "yaml not a mapping": Case(config("- 1\n- 2\n"), TRAIN_CONFIG,
                               "c.yaml: expected a mapping of option: value, got list"),
    "yaml python tag": Case(config("epochs: !!python/object/apply:os.system ['touch pwned']\n"),
                            TRAIN_CONFIG, "c.yaml:1: invalid YAML: could not determine a "
                            "constructor for the tag"),
    "yaml missing": Case({}, TRAIN_CONFIG, "c.yaml: file not found"),
    "yaml directory": Case({"c.yaml": None}, TRAIN_CONFIG,
                           "c.yaml: is a directory, expected a YAML config file"),
    "yaml alias bomb": Case(config("a: &a [1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcd", "bcde", strict=True))
        + "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"), TRAIN_CONFIG,
        "c.yaml:6: alias *e expands the file to more than 100000 values"),
    "yaml duplicate key": Case(config("lr: 0.1\nlr: 0.2\n"), TRAIN_CONFIG,
                               "c.yaml:2: duplicate key 'lr'"),
    # option values
    "seed negative": Case({}, ["train", "lstm", "--seed", "-1"],
                          "--seed expects an integer in [0, 4294967295], got -1"),
    "gen seed huge": Case({}, ["gen-data", "--seed", str(2**70)],
                          f"--seed expects an integer in [0, 4294967295], got {2**70}"),
    "epochs huge": Case({}, ["train", "lstm", "--epochs", str(2**70)],
                        f"--epochs {2**70}: training lstm would need about "),
    "L zero": Case({}, ["train", "lstm", "--L", "0"], "--L expects an integer >= 1, got 0"),
    "batch zero": Case({}, ["train", "lstm", "--batch-size", "0"],
                       "--batch-size expects an integer >= 1, got 0"),
    "lr zero": Case({}, ["train", "lstm", "--lr", "0"], "--lr expects a number > 0, got 0.0"),
    "lr negative": Case({}, ["train", "lstm", "--lr", "-0.1"],
                        "--lr expects a number > 0, got -0.1"),
    "momentum one": Case({}, ["train", "lstm", "--momentum", "1"],
                         "--momentum expects a number in [0, 1), got 1.0"),
    "epochs text": Case({}, ["train", "lstm", "--epochs", "ten"],
                        "Invalid value for '--epochs'"),
    "unknown device": Case({}, ["train", "lstm", "--device", "tpu"],
                           "--device expects one of auto|cpu|cuda, got tpu"),
    "unknown model": Case({}, ["train", "alarmwrok"],
                          "unknown model 'alarmwrok'; did you mean 'alarmwork'?"),
    "unknown dataset": Case({}, ["train", "lstm", "--data", "adds"],
                            "unknown dataset 'adds'; did you mean 'adding'?"),
    "wrong data kind": Case({}, ["train", "lstm", "--data", "images"],
                            "model 'lstm' takes sequence data; dataset 'images' is image data"),
    "set format": Case({}, ["train", "alarmwork", "--set", "impl"],
                       "--set expects KEY=VALUE, got 'impl'"),
    "set choice": Case({}, ["train", "alarmwork", "--set", "impl=fast"],
                       "setting 'impl' expects one of auto|bptt|torch|autograd, got 'fast'"),
    "early stop text": Case({}, ["train", "lstm", "--early-stop", "soon"],
                            "--early-stop expects a number or 'off', got 'soon'"),
    "gen L one": Case({}, ["gen-data", "--L", "1"],
                      "--L expects an integer >= 2 for the adding task, got 1"),
    "gen L text": Case({}, ["gen-data", "--L", "10,x"], "--L expects integers, got 'x'"),
    "report L text": Case({}, ["report", "accuracy", "--L", "10", "--L", "1,y"],
                          "--L expects integers, got 'y'"),
    "sweep L text": Case({}, ["sweep", "--model", "lstm", "--L", "ten"],
                         "--L expects integers, got 'ten'"),
    "gen zero size": Case({}, ["gen-data", "--L", "5", "--n-train", "0"],
                          "--n-train expects an integer >= 1, got 0"),
    "gen unknown dataset": Case({}, ["gen-data", "imagez"],
                                "unknown dataset 'imagez'; did you mean 'images'?"),
    "report format": Case({}, ["report", "accuracy", "--format", "xml"],
                          "--format expects table|markdown|csv|json, got 'xml'"),
    "unknown report": Case({}, ["report", "acuracy"],
                           "unknown report 'acuracy'; did you mean 'accuracy'?"),
    "unknown command": Case({}, ["trian"], "No such command 'trian'"),
    # paths and runs
    "runs dir is a file": Case({"blocked": "x"}, ["train", "lstm", "--L", "4", "--data-dir", "d",
                                                  "--runs-dir", "blocked/runs"] + ["--epochs",
                                                                                    "1"],
                               "cannot create runs directory 'blocked/runs'", 1),
    "runs lists a file": Case({"rf": "x"}, ["runs", "--runs-dir", "rf"],
                              "runs directory 'rf' is not a directory"),
    "report runs dir a file": Case({"rf": "x"}, ["report", "accuracy", "--runs-dir", "rf"],
                                   "runs directory 'rf' is not a directory"),
    "eval runs dir a file": Case({"rf": "x"}, ["eval", "abc", "--runs-dir", "rf"],
                                 "runs directory 'rf' is not a directory"),
    "train runs dir a file": Case({"rf": "x"}, ["train", "lstm", "--L", "4", "--data-dir", "d",
                                                "--epochs", "1", "--runs-dir", "rf"],
                                  "runs directory 'rf' is not a directory"),
    "reports dir a file": Case({"runs/reports": "x"}, ["report", "accuracy"],
                               "reports directory runs/reports: it exists and is not a "
                               "directory"),
    "recipe empty": Case({}, ["train", "lstm", "--recipe", ""],
                         "--recipe expects a recipe name, got ''"),
    "data blank": Case({}, ["train", "lstm", "--data", " "],
                       "--data expects a dataset name, got ' '"),
    "device empty": Case({}, ["train", "lstm", "--device", ""],
                         "--device expects one of auto|cpu|cuda, got ''"),
    "sweep recipe empty": Case({}, ["sweep", "--model", "lstm", "--L", "4", "--recipe", ""],
                               "--recipe expects comma-separated values, got ''"),
    "sweep lr trailing comma": Case({}, ["sweep", "--model", "lstm", "--L", "4", "--lr",
                                         "1e-3,"],
                                    "--lr expects comma-separated values, got '1e-3,'"),
    "gen out is a file": Case({"blocked": "x"}, ["gen-data", "--L", "4", "--out", "blocked"],
                              "cannot create blocked/adding"),
    "eval missing run": Case({}, ["eval", "20990101-000000-lstm-abcdef"],
                             "no run '20990101-000000-lstm-abcdef' in runs"),
    "resume missing run": Case({}, ["train", "--resume", "nope"], "no run 'nope' in runs"),
    "curves missing run": Case({}, ["report", "curves", "nope"], "no run 'nope' in runs"),
}
# needs valid data to get as far as creating the run
for name in ("runs dir is a file", "train runs dir a file"):
    CASES[name].files.update({k: v for k, v in adding(GOOD_CSV).items()})


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name: str, workdir: Path, cli: Callable) -> None:
    case = CASES[name]
    for rel, content in case.files.items():
        path = workdir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    before = snapshot(workdir)
    result = cli(*case.argv)
    assert result.exit_code == case.code, (result.stdout, result.stderr)
    line = result.stderr.strip()
    assert "\n" not in line, line
    assert line.startswith("error: ") and case.expected in line, line
    assert "Traceback" not in result.stdout + result.stderr
    assert snapshot(workdir) == before  # nothing written, nothing half-written
    assert not (workdir / "pwned").exists()


def test_the_suite_is_large_enough() -> None:
    assert len(CASES) >= 40


def test_a_reader_that_leaves_early_gets_no_error_message(workdir):
    """`rnnlab plugins | head -1`: the pipe closes; rnnlab stops without an error line."""
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    try:
        done = subprocess.run([sys.executable, "-m", "rnnlab", "plugins"], stdout=write,
                              stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (1, b"")
