"""Config and sweep files that are hostile or odd: alias bombs, deep nesting, huge files,
FIFOs and devices, duplicate keys, `1e-3`, huge values in messages. Each is a one-line error
naming the file (and line) and leaves every file as it was."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from rnnlab import sweep
from rnnlab.errors import DataError, UsageError
from rnnlab.files import (
    MAX_DEPTH,
    _Loader,
    _PyLoader,
    dump_yaml,
    load_yaml,
    parse_yaml,
    read_input,
    short,
)

TRAIN = ["train", "lstm", "--config", "c.yaml", "--print-config"]
SWEEP = ["sweep", "s.yaml"]


def laughs(levels: int = 9) -> str:
    """A 'billion laughs': each line a list of nine aliases of the line before."""
    names = "abcdefghijklmnop"[:levels]
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip(names, names[1:], strict=False):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


def snapshot(root: Path) -> dict[str, object]:
    """Every path under root: a regular file's bytes, else its type (never opened: a FIFO)."""
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        mode = os.lstat(path).st_mode
        out[str(path.relative_to(root))] = (
            path.read_bytes() if stat.S_ISREG(mode) else stat.S_IFMT(mode))
    return out


def check_error(result_code: int, stderr: str, expected: str, code: int = 2) -> None:
    line = stderr.strip()
    assert result_code == code, stderr
    assert "\n" not in line and "Traceback" not in stderr, stderr
    assert line == f"error: {expected}", line


# file name -> contents, argv, the exact message after "error: "
CASES: dict[str, tuple[dict[str, str | bytes], list[str], str]] = {
    "billion laughs": ({"c.yaml": laughs()}, TRAIN,
                       "c.yaml:6: alias *e expands the file to more than 100000 values"),
    "billion laughs in a sweep": ({"s.yaml": "model: [lstm]\n" + laughs()}, SWEEP,
                                  "s.yaml:7: alias *e expands the file to more than 100000 "
                                  "values"),
    "alias of itself": ({"c.yaml": "set: &s {x: *s}\n"}, TRAIN,
                        "c.yaml:1: alias *s refers to a value that contains it"),
    "100k deep": ({"c.yaml": "epochs: " + "[" * 100_000 + "]" * 100_000 + "\n"}, TRAIN,
                  f"c.yaml:1: nested more than {MAX_DEPTH} levels deep"),
    "150 deep": ({"c.yaml": "epochs: " + "[" * 150 + "]" * 150 + "\n"}, TRAIN,
                 f"c.yaml:1: nested more than {MAX_DEPTH} levels deep"),
    "150 deep in a sweep": ({"s.yaml": "model:\n" + "".join(
        " " * i + "-\n" for i in range(1, 150))}, SWEEP,
                            f"s.yaml:101: nested more than {MAX_DEPTH} levels deep"),
    "2 MiB config": ({"c.yaml": b"epochs: 3\n" + b"#" * ((2 << 20) - 10)}, TRAIN,
                     "c.yaml: 2097152 bytes is too large for a YAML config file (limit 1 MiB)"),
    "2 MiB sweep": ({"s.yaml": b"model: [lstm]\n" + b" " * (2 << 20)}, SWEEP,
                    "s.yaml: 2097166 bytes is too large for a YAML sweep file (limit 1 MiB)"),
    "duplicate key": ({"c.yaml": "lr: 0.1\nepochs: 2\nlr: 0.2\n"}, TRAIN,
                      "c.yaml:3: duplicate key 'lr'"),
    "duplicate setting": ({"c.yaml": "set:\n  layers: 1\n  layers: 2\n"}, TRAIN,
                          "c.yaml:3: duplicate key 'layers'"),
    "duplicate key in a sweep": ({"s.yaml": "model: [lstm]\nL: [5]\nL: [6]\n"}, SWEEP,
                                 "s.yaml:3: duplicate key 'L'"),
    "huge string": ({"c.yaml": "lr: '" + "a" * 1_000_000 + "'\n"}, TRAIN,
                    "c.yaml: 'lr' expects a number, got 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…"),
    "huge list": ({"c.yaml": "epochs: [" + ", ".join(["123456"] * 20_000) + "]\n"}, TRAIN,
                  "c.yaml: 'epochs' expects an integer, got [123456, 123456, 123456, 123456, "
                  "123456,…"),
    "huge hex int": ({"c.yaml": "lr: 0x" + "f" * 1000 + "\n"}, TRAIN,
                     "c.yaml: 'lr' is too large: <a 4000-bit integer>"),
    "int too long to read": ({"c.yaml": "seed: " + "9" * 5000 + "\n"}, TRAIN,
                             "c.yaml:1: '999999999999999999999999999999999999999… is not a "
                             "valid int"),
    "bad date": ({"c.yaml": "seed: 2020-13-45\n"}, TRAIN,
                 "c.yaml:1: '2020-13-45' is not a valid timestamp"),
    "huge seeds in a sweep": ({"s.yaml": "model: [lstm]\nseeds: '" + "x" * 100_000 + "'\n"},
                              SWEEP, "s.yaml: 'seeds' expects an integer >= 1, got "
                                     "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…"),
    "huge key in a sweep": ({"s.yaml": "model: [lstm]\n? " + "k" * 100_000 + "\n: 1\n"}, SWEEP,
                            "s.yaml: unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk… "
                            "(expected training options, set, seeds, recipes, stages, name)"),
    "python tag": ({"c.yaml": "epochs: !!python/object/apply:os.system ['touch pwned']\n"},
                   TRAIN, "c.yaml:1: invalid YAML: could not determine a constructor for the "
                          "tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    "exponent sign read as a number": ({"c.yaml": "lr: -2e+3\n"}, TRAIN,
                                       "--lr expects a number > 0, got -2000.0"),
    "unknown key in a sweep's recipe": ({"s.yaml": "model: [lstm]\nrecipes: {a: {bogus: 1}}\n"},
                                        SWEEP, "s.yaml: recipe 'a': unknown key 'bogus' "
                                        "(expected training options, set, stages)"),
    "recipes in a recipe": ({"s.yaml": "model: [lstm]\nrecipes: {a: {recipes: {b: {}}}}\n"},
                            SWEEP, "s.yaml: recipe 'a': unknown key 'recipes' (expected "
                            "training options, set, stages)"),
    "unknown recipe in a config": ({"c.yaml": "recipe: bogus\n"}, TRAIN,
                                   "c.yaml: --recipe bogus: model 'lstm' has no such recipe "
                                   "(recipes: homework, long-sequences; `rnnlab plugins lstm` "
                                   "shows them)"),
    "dev zero": ({}, ["train", "lstm", "--config", "/dev/zero", "--print-config"],
                 "/dev/zero: not a regular file, expected a YAML config file"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused(name: str, workdir: Path, cli: Callable) -> None:
    files, argv, expected = CASES[name]
    for rel, content in files.items():
        if isinstance(content, bytes):
            (workdir / rel).write_bytes(content)
        else:
            (workdir / rel).write_text(content)
    before = snapshot(workdir)
    started = time.process_time()  # CPU time: other processes on the machine do not count
    result = cli(*argv)
    assert time.process_time() - started < 2.0  # the bombs are refused, not expanded
    check_error(result.exit_code, result.stderr, expected)
    assert len(result.stderr) < 300
    assert snapshot(workdir) == before
    assert not (workdir / "pwned").exists()


def test_huge_value_in_a_sweep_cell_is_quoted_short(workdir: Path, cli: Callable) -> None:
    (workdir / "s.yaml").write_text("model: [lstm]\nepochs: ['" + "x" * 200_000 + "']\n")
    result = cli(*SWEEP)
    line = result.stderr.strip()
    assert result.exit_code == 2 and "\n" not in line and len(line) < 400, line
    assert line.startswith("error: s.yaml: lstm epochs=xxxxxxxx")
    assert line.endswith("'epochs' expects an integer, got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                         "x…")


@pytest.mark.parametrize("argv, expected", [
    (TRAIN, "fifo.yaml: not a regular file, expected a YAML config file"),
    (SWEEP, "fifo.yaml: not a regular file, expected a YAML sweep file"),
])
def test_fifo_is_refused_without_opening_it(argv: list[str], expected: str,
                                            workdir: Path) -> None:
    os.mkfifo(workdir / "fifo.yaml")
    argv = [a if a not in ("c.yaml", "s.yaml") else "fifo.yaml" for a in argv]
    before = snapshot(workdir)
    # A subprocess, so that a hang in open() fails this test instead of hanging the suite.
    result = subprocess.run([sys.executable, "-m", "rnnlab", *argv], cwd=workdir,
                            capture_output=True, text=True, timeout=10)
    check_error(result.returncode, result.stderr, expected)
    assert snapshot(workdir) == before


@pytest.mark.parametrize("text, lr", [
    ("lr: 1e-3\n", "0.001"), ("lr: 1E5\n", "100000.0"), ("lr: .5e-2\n", "0.005"),
    ("lr: 1.0e2\n", "100.0"), ("lr: 1_0e-1\n", "1.0"), ("lr: 0.01\n", "0.01"),
])
def test_exponent_forms_are_numbers(text: str, lr: str, workdir: Path, cli: Callable) -> None:
    (workdir / "c.yaml").write_text(text)
    result = cli(*TRAIN)
    assert result.exit_code == 0, result.stderr
    assert f"\nlr: {lr}\n" in "\n" + result.stdout


def test_scalar_aliases_and_merge_keys_are_fine(workdir: Path, cli: Callable) -> None:
    (workdir / "c.yaml").write_text("epochs: &n 3\nhidden: *n\n")
    result = cli(*TRAIN)
    assert result.exit_code == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    assert printed["epochs"] == 3 and printed["hidden"] == 3
    path = workdir / "s.yaml"
    path.write_text("model: [lstm]\nL: &l [5, 10]\nrecipes:\n  base: &b {lr: 1e-3, epochs: 2}\n"
                    "  long: {<<: *b, lr: 2e-3, L: *l}\n")
    spec = sweep.read_spec(path)
    assert spec["recipes"] == {"base": {"lr": 0.001, "epochs": 2},
                               "long": {"lr": 0.002, "epochs": 2, "L": [5, 10]}}


@pytest.mark.parametrize("loader", [_Loader, _PyLoader], ids=lambda c: c.__name__)
def test_loader_limits(loader: type) -> None:
    """Both parsers (libyaml's and the pure-Python fallback) refuse the same things."""
    with pytest.raises(yaml.YAMLError, match="expands the file to more than"):
        parse_yaml(laughs(), loader)
    with pytest.raises(yaml.YAMLError, match="nested more than|maximum nesting depth"):
        parse_yaml("[" * 100_000 + "]" * 100_000, loader)
    with pytest.raises(yaml.YAMLError, match="nested more than"):
        parse_yaml("[" * 101 + "]" * 101, loader)
    deepest: list = []
    for _ in range(99):
        deepest = [deepest]
    assert parse_yaml("[" * 100 + "]" * 100, loader) == deepest  # 100 levels: the limit
    with pytest.raises(yaml.YAMLError, match="duplicate key 'b'") as info:
        parse_yaml("a:\n  b: 1\n  c: 2\n  b: 3\n", loader)
    assert info.value.problem_mark.line == 3
    with pytest.raises(yaml.YAMLError, match="could not determine a constructor"):
        parse_yaml("!!python/name:os.system x", loader)
    data = parse_yaml("a: 1e-3\nb: -2E+3\nc: .5e-2\nd: '1e-3'\ne: e5\nf: 1e\ng: 1.5\n"
                      "h: &x 7\ni: *x\nj: {<<: {k: 1, l: 2}, k: 3}\n", loader)
    assert data == {"a": 0.001, "b": -2000.0, "c": 0.005, "d": "1e-3", "e": "e5", "f": "1e",
                    "g": 1.5, "h": 7, "i": 7, "j": {"k": 3, "l": 2}}


def test_load_yaml_maps_errors_to_one_line(workdir: Path) -> None:
    path = workdir / "c.yaml"
    path.write_text("a: 1\n" * 10)
    with pytest.raises(UsageError, match=r"^.*c\.yaml:2: duplicate key 'a'$"):
        load_yaml(path, "a YAML config file")
    path.write_text("a: 1\n")
    with pytest.raises(UsageError, match=r"c\.yaml: 5 bytes is too large for x \(limit 4 bytes"):
        load_yaml(path, "x", limit=4)
    assert load_yaml(path, "x", limit=5) == {"a": 1}


def test_dump_yaml_quotes_strings_that_would_read_as_numbers() -> None:
    data = {"s": "1e-3", "f": 1e-3, "t": "1.0e5", "n": None, "name": "lstm"}
    text = dump_yaml(data)
    assert "s: '1e-3'" in text and parse_yaml(text) == data


# ---------------------------------------------------------------------------------------------
# read_input itself


def _reads_promptly(path: Path, **kwargs: int) -> BaseException | bytes:
    """read_input in a thread: a FIFO must be refused before open() could block on it."""
    outcome: list[BaseException | bytes] = []

    def target() -> None:
        try:
            outcome.append(read_input(path, "a CSV file", **kwargs))
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive() and stat.S_ISFIFO(os.stat(path).st_mode):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))  # unblock the stuck reader
    assert outcome, f"read_input({path}) hung"
    return outcome[0]


def test_read_input_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    outcome = _reads_promptly(fifo)
    assert isinstance(outcome, DataError)
    assert str(outcome) == f"{fifo}: not a regular file, expected a CSV file"
    outcome = _reads_promptly(Path("/dev/zero"))
    assert str(outcome) == "/dev/zero: not a regular file, expected a CSV file"
    sock = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        try:
            server.bind(str(sock))
        except OSError:  # a tmp path too long for a socket name
            pytest.skip("cannot bind a socket here")
        assert str(_reads_promptly(sock)) == f"{sock}: not a regular file, expected a CSV file"


def test_read_input_limits_and_plain_errors(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"x" * 100)
    assert read_input(path, "a CSV file", limit=100) == b"x" * 100
    with pytest.raises(DataError) as info:
        read_input(path, "a CSV file", limit=99)
    assert str(info.value) == f"{path}: 100 bytes is too large for a CSV file (limit 99 bytes)"
    big = tmp_path / "big.yaml"
    big.write_bytes(b"y" * 2000)
    with pytest.raises(UsageError) as info:
        read_input(big, "x", UsageError, limit=1024)
    assert str(info.value) == f"{big}: 2000 bytes is too large for x (limit 1 KiB)"
    with pytest.raises(DataError) as info:
        read_input(tmp_path / "nope.csv", "a CSV file")
    assert str(info.value) == f"{tmp_path / 'nope.csv'}: file not found"
    with pytest.raises(DataError) as info:
        read_input(tmp_path, "a CSV file")
    assert str(info.value) == f"{tmp_path}: is a directory, expected a CSV file"
    with pytest.raises(DataError, match="cannot read"):
        read_input(path / "below-a-file", "a CSV file")
    if os.geteuid() != 0:  # root reads anything
        path.chmod(0)
        with pytest.raises(DataError, match=r"cannot read \(Permission denied\)"):
            read_input(path, "a CSV file")


def test_short_quotes_a_prefix_without_building_the_whole_repr() -> None:
    assert short("fast") == "'fast'"
    assert short([1, {"a": (2,)}]) == "[1, {'a': (2,)}]"
    assert short("a" * 10**7) == "'" + "a" * 39 + "…"
    many, nested = list(range(10**6)), []
    nested.append(nested)
    started = time.perf_counter()
    assert short(many).startswith("[0, 1, 2")
    assert len(short(nested)) == 41
    assert time.perf_counter() - started < 0.05  # repr(many) alone takes ~0.2 s
    assert short(16 ** 2000) == "<a 8001-bit integer>"
    assert short(set()) == "set()"
