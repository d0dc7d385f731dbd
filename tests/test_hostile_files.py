"""Hostile input files: image pickles built opcode by opcode to crash, hang or exhaust memory,
and adding-task CSV values beyond float32. Each is a one-line DataError naming the file."""

from __future__ import annotations

import hashlib
import pickle
import re
import resource
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from rnnlab import DataError
from rnnlab_plugins.adding_task.course_csv import read as read_csv
from rnnlab_plugins.image_pickles import bundled_dir
from rnnlab_plugins.image_pickles.safe_pickle import read

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
NOT_ARRAY = "not a NumPy array pickle"


# A tiny pickle writer: values become protocol-2+ opcodes; `Raw` bytes are spliced in as they
# are, so a call's result can be used as an argument anywhere (where a shape belongs, say).

class Raw(bytes):
    """Opcodes that push one object."""


def enc(value: object) -> bytes:
    """The opcodes that push `value`."""
    if isinstance(value, Raw):
        return bytes(value)
    if value is None or isinstance(value, bool):
        return {None: b"N", True: b"\x88", False: b"\x89"}[value]
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return b"J" + struct.pack("<i", value)
        size = (value.bit_length() + 8) // 8
        return b"\x8b" + struct.pack("<I", size) + value.to_bytes(size, "little", signed=True)
    if isinstance(value, float):
        return b"G" + struct.pack(">d", value)
    if isinstance(value, str):
        return b"X" + struct.pack("<I", len(value.encode())) + value.encode()
    if isinstance(value, bytearray):
        return b"\x96" + struct.pack("<Q", len(value)) + bytes(value)
    if isinstance(value, bytes):
        return b"B" + struct.pack("<I", len(value)) + value
    if isinstance(value, tuple):
        return b"(" + b"".join(enc(item) for item in value) + b"t"
    if isinstance(value, dict):
        return b"}(" + b"".join(enc(k) + enc(v) for k, v in value.items()) + b"u"
    raise TypeError(value)


def glob(module: str, name: str) -> Raw:
    return Raw(b"c" + f"{module}\n{name}\n".encode())


def call(func: Raw, *args: object) -> Raw:
    return Raw(enc(func) + enc(args) + b"R")


def build(obj: Raw, state: object) -> Raw:
    return Raw(enc(obj) + enc(state) + b"b")


def dumps(value: object) -> bytes:
    return b"\x80\x05" + enc(value) + b"."


NDARRAY = glob("numpy", "ndarray")
FROMBUFFER = glob("numpy._core.numeric", "_frombuffer")


def dtype(code: str, order: str = "<", flags: int = 0, state: tuple | None = None) -> Raw:
    """numpy.dtype(code) with the state dtype.__reduce__ writes (flags 0 hides 'O8' refs)."""
    made = call(glob("numpy", "dtype"), code, False, True)
    return build(made, state if state is not None else
                 (3, order, None, None, None, -1, -1, flags))


def array(shape: object, dt: object, data: object, fortran: object = False,
          module: str = "numpy._core.multiarray", state: tuple | None = None) -> Raw:
    """_reconstruct(ndarray, (0,), b'b') filled by __setstate__, as NumPy pickles arrays."""
    empty = call(glob(module, "_reconstruct"), NDARRAY, (0,), b"b")
    return build(empty, state if state is not None else (1, shape, dt, fortran, data))


F8 = dtype("f8")
OBJECT = dtype("O8", "|", 0)  # object dtype without its "holds references" flags
IMAGES = np.arange(3 * 225, dtype=np.float64).reshape(3, 15, 15) % 256
GOOD = dumps(array((3, 15, 15), F8, IMAGES.tobytes()))
HUGE = 10**100

# name -> (pickle bytes, the message in the parentheses after "not a NumPy array pickle")
HOSTILE: dict[str, tuple[bytes, str]] = {
    "object array as shape": (
        dumps(call(FROMBUFFER, b"\0" * 8, F8,
                   call(FROMBUFFER, b"A" * 8, OBJECT, (1,), "C"), "C")),
        "dtype 'O8' is not allowed: only plain numeric arrays"),
    "object array inside a shape": (
        dumps(array((1, array((1,), OBJECT, b"A" * 8)), F8, b"")),
        "dtype 'O8' is not allowed: only plain numeric arrays"),
    "_reconstruct with dtype O": (
        dumps(array((2,), OBJECT, b"A" * 16)),
        "dtype 'O8' is not allowed: only plain numeric arrays"),
    "_reconstruct with dtype O and its flags": (
        dumps(array((2,), dtype("O8", "|", 63), b"A" * 16)),
        "dtype 'O8' is not allowed: only plain numeric arrays"),
    "_frombuffer with dtype O": (
        dumps(call(FROMBUFFER, b"A" * 16, OBJECT, (2,), "C")),
        "dtype 'O8' is not allowed: only plain numeric arrays"),
    "zero strides via ndarray": (
        dumps(call(NDARRAY, (3_000_000, 15, 15), F8, b"\0" * 8, 0, (0, 0, 0))),
        "refusing to call numpy.ndarray directly"),
    "ndarray without arguments": (dumps(call(NDARRAY)), "refusing to call numpy.ndarray directly"),
    "as_strided": (dumps(call(glob("numpy.lib.stride_tricks", "as_strided"), 1)),
                   "refusing to load 'numpy.lib.stride_tricks.as_strided': only NumPy arrays "
                   "are allowed"),
    "shape larger than the bytes": (
        dumps(array((1000, 15, 15), F8, b"\0" * 8)),
        "array data has 8 bytes, shape (1000, 15, 15) of float64 needs 1800000"),
    "bytes beyond the shape": (
        dumps(array((1, 15, 15), F8, b"\0" * 1808)),
        "array data has 1808 bytes, shape (1, 15, 15) of float64 needs 1800"),
    "_frombuffer shape larger than the bytes": (
        dumps(call(FROMBUFFER, bytearray(8), F8, (20_000, 15, 15), "C")),
        "array data has 8 bytes, shape (20000, 15, 15) of float64 needs 36000000"),
    "too many elements": (
        dumps(array((8192, 8192, 2), F8, b"")),
        "shape (8192, 8192, 2) has 134217728 elements, more than 16777216"),
    "rank 5": (dumps(array((1, 1, 1, 1, 1), F8, b"\0" * 8)),
               "shape (1, 1, 1, 1, 1) is not a tuple of at most 4 ints"),
    "negative shape": (
        dumps(array((-1, 15, 15), F8, b"")),
        "shape (-1, 15, 15) has a dimension that is not an int in 0..16777216"),
    "bool in shape": (dumps(array((True, 225), F8, b"\0" * 1800)),
                      "shape (True, 225) has a dimension that is not an int in 0..16777216"),
    "deeply nested shape": (dumps(array(Raw(b"(" * 4000 + b"t" * 4000), F8, b"")),
                            "shape ((a tuple,),) has a dimension that is not an int in "
                            "0..16777216"),
    "shape is a list": (dumps(array(Raw(b"]"), F8, b"")),
                        "shape a list is not a tuple of at most 4 ints"),
    "shape 10**100": (dumps(array((HUGE,), F8, b"")),
                      "integer of 333 bits at byte 77 is too large"),
    "structured dtype": (
        dumps(array((1,), dtype("V8", state=(3, "|", None, ("a",), {"a": (F8, 0)}, 8, 1, 16)),
                    b"\0" * 8)),
        "dtype 'V8' with fields, subarrays or metadata is not allowed"),
    "void dtype": (dumps(array((1,), dtype("V8", "|"), b"\0" * 8)),
                   "dtype 'V8' is not allowed: only plain numeric arrays"),
    "subarray dtype": (
        dumps(array((1,), dtype("V16", state=(3, "|", (F8, (2,)), None, None, 16, 8, 0)),
                    b"\0" * 16)),
        "dtype 'V16' with fields, subarrays or metadata is not allowed"),
    "datetime dtype": (
        dumps(array((1,), dtype("M8", state=(4, "<", None, None, None, -1, -1, 0,
                                             (None, (b"s", 1, 1, 1)))), b"\0" * 8)),
        "dtype 'M8' with fields, subarrays or metadata is not allowed"),
    "unknown numeric code": (dumps(array((1,), dtype("f3"), b"\0" * 3)),
                             "dtype 'f3' is not allowed: only plain numeric arrays"),
    "dtype code not a string": (dumps(array((1,), call(glob("numpy", "dtype"), 8), b"")),
                                "dtype code 8 is not a string"),
    "dtype with extra arguments": (
        dumps(call(glob("numpy", "dtype"), "f8", False, True, 1)),
        "numpy.dtype called with 4 arguments"),
    "dtype state too short": (dumps(array((1,), dtype("f8", state=(3, "<")), b"\0" * 8)),
                              "dtype state (3, '<') is not an 8- or 9-tuple"),
    "dtype state version": (
        dumps(array((1,), dtype("f8", state=(9, "<", None, None, None, -1, -1, 0)), b"")),
        "dtype state version 9 is not supported"),
    "dtype byte order": (dumps(array((1,), dtype("f8", "x"), b"\0" * 8)),
                         "dtype byte order 'x' is not one of < > = |"),
    "dtype state twice": (dumps(build(F8, (3, "<", None, None, None, -1, -1, 0))),
                          "dtype state set twice"),
    "array state too short": (dumps(array(None, None, None, state=(1, (2,)))),
                              "array state (1, (2,)) is not (version, shape, dtype, fortran, "
                              "data)"),
    "array state version 2": (dumps(array(None, None, None, state=(2, (1,), F8, False, b""))),
                              "array state (2, (1,), a numpy.dtype, False, b'') is not "
                              "(version, shape, dtype, fortran, data)"),
    "array dtype is a string": (dumps(array((1,), "f8", b"\0" * 8)),
                                "array dtype is 'f8', not a numpy.dtype"),
    "array data is a tuple": (dumps(array((2,), F8, (1.0, 2.0))),
                              "array data is (1.0, 2.0), not bytes"),
    "fortran flag 2": (dumps(array((1,), F8, b"\0" * 8, fortran=2)),
                       "is_fortran is 2, not a boolean"),
    "array state twice": (dumps(build(array((1,), F8, b"\0" * 8), (1, (1,), F8, False, b""))),
                          "array state set twice"),
    "_frombuffer then state": (
        dumps(build(call(FROMBUFFER, b"\0" * 8, F8, (1,), "C"), (1, (1,), F8, False, b""))),
        "array state set twice"),
    "_frombuffer order": (dumps(call(FROMBUFFER, b"\0" * 8, F8, (1,), "K")),
                          "_frombuffer order 'K' is not 'C' or 'F'"),
    "_reconstruct with another shape": (
        dumps(call(glob("numpy._core.multiarray", "_reconstruct"), NDARRAY, (10**9,), b"b")),
        "_reconstruct takes (numpy.ndarray, (0,), b'b') only"),
    "_reconstruct of dtype": (
        dumps(call(glob("numpy._core.multiarray", "_reconstruct"), glob("numpy", "dtype"),
                   (0,), b"b")),
        "_reconstruct takes (numpy.ndarray, (0,), b'b') only"),
    "array without state": (dumps(call(glob("numpy._core.multiarray", "_reconstruct"), NDARRAY,
                                       (0,), b"b")),
                            "the array's state is missing"),
    "state on a global": (dumps(build(glob("numpy", "dtype"), (None, {"call": 1}))),
                          "cannot set the state of numpy.dtype"),
    "codecs.encode utf-8": (dumps(call(glob("_codecs", "encode"), "x", "utf-8")),
                            "codecs.encode is allowed only as encode(str, 'latin1')"),
    "codecs.encode beyond latin1": (dumps(call(glob("_codecs", "encode"), "\u20ac", "latin1")),
                                    "codecs.encode of characters beyond latin1"),
    "float64 scalar": (pickle.dumps(np.float64(1.0)),
                       "refusing to load 'numpy._core.multiarray.scalar': only NumPy arrays are "
                       "allowed"),
    "numpy.dtypes class": (pickle.dumps(type(np.dtype("f8"))),
                           "refusing to load 'numpy.dtypes.Float64DType': only NumPy arrays are "
                           "allowed"),
    "dtype O alone": (pickle.dumps(np.dtype("O")), "the pickle is a numpy.dtype, not an array"),
    "dtype f8 aligned alone": (pickle.dumps(np.dtype("f8", align=True)),
                               "the pickle is a numpy.dtype, not an array"),
    "dtype V8 alone": (pickle.dumps(np.dtype("V8")), "the pickle is a numpy.dtype, not an array"),
    "structured dtype alone": (pickle.dumps(np.dtype([("a", "f8")])),
                               "dtype 'V8' with fields, subarrays or metadata is not allowed"),
    "a global alone": (dumps(NDARRAY), "the pickle is numpy.ndarray, not an array"),
    "huge memo index": (b"\x80\x02Nr\xff\xff\xff\xff.",
                        "memo index 4294967295 at byte 3 is out of range"),
    "deep nesting": (b"(" * 10**6 + b"l" * 10**6 + b".", "more than 10000 opcodes, not a "
                     "single array"),
    "6 GB bytes8 claim": (b"\x80\x05\x8e" + struct.pack("<Q", 6 << 30) + b"abc.",
                          "ValueError: expected 6442450944 bytes in a bytes8, but only 4 remain"),
    "frame beyond the file": (b"\x80\x04\x95" + struct.pack("<Q", 1 << 40) + b"N.",
                              "frame of 1099511627776 bytes at byte 2 exceeds the file"),
    "out-of-band buffer": (b"\x80\x05\x97.", "opcode NEXT_BUFFER at byte 2 is not allowed in an "
                           "array pickle"),
    "persistent id": (b"\x80\x02N\x51.", "opcode BINPERSID at byte 3 is not allowed in an array "
                      "pickle"),
    "extension code": (b"\x80\x02\x82\x01.", "opcode EXT1 at byte 2 is not allowed in an array "
                       "pickle"),
    "long module name": (b"c" + b"m" * 100_000 + b"\nsystem\n)R.",
                         f"refusing to load '{'m' * 60}.system': only NumPy arrays are allowed"),
}
MESSAGE_PATTERNS = {  # messages that depend on the Python version's own wording
    "protocol 0 long of a million digits": (
        b"L" + b"9" * 10**6 + b"L\n.",
        r"ValueError: Exceeds the limit \(\d+ digits\).*|integer of \d+ bits at byte 0 is too "
        r"large"),
}


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_the_hand_built_array_pickle_loads(tmp_path):
    """The builders above write real array pickles, so each refusal is about its one change."""
    path = write(tmp_path, "good.pickle", GOOD)
    np.testing.assert_array_equal(read(path), IMAGES.reshape(3, 225) / 255)
    assert pickle.loads(GOOD).tolist() == IMAGES.tolist()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_pickles_are_refused_in_one_line(tmp_path, name):
    data, detail = HOSTILE[name]
    path = write(tmp_path, "bad.pickle", data)
    with pytest.raises(DataError) as info:
        read(path)
    assert str(info.value) == f"{path}: {NOT_ARRAY} ({detail})"
    assert path.read_bytes() == data


@pytest.mark.parametrize("name", sorted(MESSAGE_PATTERNS))
def test_huge_integers_are_refused(tmp_path, name):
    data, detail = MESSAGE_PATTERNS[name]
    path = write(tmp_path, "bad.pickle", data)
    with pytest.raises(DataError) as info:
        read(path)
    message = str(info.value)
    prefix = f"{path}: {NOT_ARRAY} ("
    assert message.startswith(prefix) and message.endswith(")") and len(message) < 300
    assert re.fullmatch(detail, message[len(prefix):-1]), message


def test_wrong_but_harmless_dtypes_are_named(tmp_path):
    """Complex and text arrays are well-formed: the error names the dtype, as before."""
    for array, name in [(np.zeros((1, 225), complex), "complex128"),
                        (np.array([["a"] * 225]), "<U1"), (np.zeros((1, 225), "S2"), "|S2")]:
        path = write(tmp_path, "odd.pickle", pickle.dumps(array))
        with pytest.raises(DataError) as info:
            read(path)
        assert str(info.value) == (f"{path}: dtype {name}, expected real numbers 0..255 "
                                   "(float64 or uint8)")


def test_a_nested_list_is_not_an_array(tmp_path):
    path = write(tmp_path, "nested.pickle", b"(" * 4000 + b"l" * 4000 + b".")
    with pytest.raises(DataError) as info:
        read(path)
    assert str(info.value) == f"{path}: expected a NumPy array, got list"


# Crash cases run in a child with 2 GiB of address space: a segfault, a MemoryError traceback
# or a hang fails the test instead of taking pytest down.

CHILD = """
import sys
from pathlib import Path
from rnnlab import DataError
from rnnlab_plugins.image_pickles.safe_pickle import read
try:
    images = read(Path(sys.argv[1]))
except DataError as exc:
    print(exc)
else:
    print("loaded", images.shape)
"""
LIMIT = 2 << 30


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def read_isolated(path: Path) -> str:
    """What `read` prints in a memory-limited child; it must exit normally within 10 s."""
    env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    child = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                           text=True, timeout=10, preexec_fn=limit_memory, env=env)
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    assert child.stderr == ""
    return child.stdout.strip()


CRASHES = ["object array as shape", "object array inside a shape", "_reconstruct with dtype O",
           "_frombuffer with dtype O", "zero strides via ndarray",
           "_frombuffer shape larger than the bytes", "shape 10**100", "huge memo index",
           "deep nesting", "6 GB bytes8 claim", "frame beyond the file"]


@pytest.mark.parametrize("name", CRASHES)
def test_crash_cases_end_cleanly_in_a_limited_process(tmp_path, name):
    data, detail = HOSTILE[name]
    path = write(tmp_path, "bad.pickle", data)
    assert read_isolated(path) == f"{path}: {NOT_ARRAY} ({detail})"


def test_million_digit_long_ends_cleanly_in_a_limited_process(tmp_path):
    data, detail = MESSAGE_PATTERNS["protocol 0 long of a million digits"]
    path = write(tmp_path, "bad.pickle", data)
    assert read_isolated(path).startswith(f"{path}: {NOT_ARRAY} (")


def test_the_limited_child_still_loads_a_good_pickle(tmp_path):
    assert read_isolated(write(tmp_path, "good.pickle", GOOD)) == "loaded (3, 225)"


# Real pickles keep loading.

ARRAYS = {
    "float64": IMAGES,
    "uint8 flat": (IMAGES.reshape(3, 225)).astype(np.uint8),
    "float32": IMAGES.astype(np.float32),
    "big-endian float64": IMAGES.astype(">f8"),
    "big-endian float32 flat": IMAGES.reshape(3, 225).astype(">f4"),
    "fortran": np.asfortranarray(IMAGES),
    "fortran big-endian": np.asfortranarray(IMAGES.astype(">f8")),
    "strided view": np.repeat(IMAGES, 2, axis=2)[:, :, ::2],
    "int16": IMAGES.astype(np.int16),
}


@pytest.mark.parametrize("protocol", range(6))
@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_real_pickles_load_in_every_protocol(tmp_path, name, protocol):
    array = ARRAYS[name]
    path = write(tmp_path, "x.pickle", pickle.dumps(array, protocol=protocol))
    images = read(path)
    assert images.dtype == np.float64 and images.shape == (3, 225)
    np.testing.assert_array_equal(images, IMAGES.reshape(3, 225) / 255)


@pytest.mark.parametrize("module", ["numpy.core.multiarray", "numpy._core.multiarray"])
def test_numpy_1_and_2_names_and_integer_dtype_flags(tmp_path, module):
    """NumPy 1.x pickles name numpy.core and write dtype('f8', 0, 1) with ints."""
    old_dtype = build(call(glob("numpy", "dtype"), "f8", 0, 1),
                      (3, "<", None, None, None, -1, -1, 0))
    fortran = np.asfortranarray(IMAGES)
    data = dumps(array((3, 15, 15), old_dtype, fortran.tobytes(order="F"), fortran=1,
                       module=module))
    np.testing.assert_array_equal(read(write(tmp_path, "old.pickle", data)),
                                  IMAGES.reshape(3, 225) / 255)


def test_frombuffer_pickles_in_fortran_order_and_big_endian(tmp_path):
    big = np.asfortranarray(IMAGES.astype(">f8"))
    data = dumps(call(FROMBUFFER, bytearray(big.tobytes(order="F")), dtype("f8", ">"),
                      (3, 15, 15), "F"))
    np.testing.assert_array_equal(read(write(tmp_path, "f.pickle", data)),
                                  IMAGES.reshape(3, 225) / 255)


def digest(images: np.ndarray) -> str:
    return hashlib.sha256(images.tobytes()).hexdigest()[:16]


def test_bundled_pickles_load_as_plain_pickle_loads_them():
    """Our own bundled files may be read with plain pickle, to compare."""
    for name in ("images_train.pickle", "images_test.pickle"):
        path = bundled_dir() / name
        plain = pickle.loads(path.read_bytes())
        expected = plain.reshape(len(plain), 225) / 255
        assert read(path).tobytes() == expected.tobytes()
    assert digest(read(bundled_dir() / "images_train.pickle")) == "d4f7832538f70c95"
    assert digest(read(bundled_dir() / "images_test.pickle")) == "a0168f4c616674dc"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the course's original pickles are absent")
def test_course_originals_load_as_before():
    assert digest(read(REFERENCE / "images_train.pickle")) == "314237e8c01f697f"
    assert digest(read(REFERENCE / "images_test.pickle")) == "4db144fcea2e695d"


# The CLI path: exit 1, one "error:" line naming the file, no traceback, files untouched.

def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def run_cli(cli: Callable, workdir: Path, files: dict[str, bytes], argv: list[str]) -> str:
    for rel, content in files.items():
        (workdir / rel).parent.mkdir(parents=True, exist_ok=True)
        (workdir / rel).write_bytes(content)
    before = snapshot(workdir)
    result = cli(*argv)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr and result.exception is None
    assert snapshot(workdir) == before
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("error: ")
    return line


TRAIN_IMAGES = ["train", "autoenc-lite", "--updates", "1", "--set", "train=bad.pickle",
                "--set", "test=good.pickle"]


@pytest.mark.parametrize("name", ["object array as shape", "zero strides via ndarray",
                                  "shape 10**100", "huge memo index", "structured dtype"])
def test_cli_refuses_hostile_pickles(workdir, cli, name):
    data, detail = HOSTILE[name]
    line = run_cli(cli, workdir, {"bad.pickle": data, "good.pickle": GOOD}, TRAIN_IMAGES)
    assert line == f"error: bad.pickle: {NOT_ARRAY} ({detail})"


# Adding-task CSV: values beyond float32.

GOOD_CSV = "0.1,0.2,0.3,0.4\n1,0,1,0\n0.4,,,\n0.0,-0.1,0.2,0.1\n0,1,0,1\n0.0,,,"


def sequence(values: str, markers: str = "1,0,1,0", target: str = "0.4,,,") -> str:
    return f"{values}\n{markers}\n{target}"


CSV_CASES = {
    "value 1e39": (sequence("0.1,1e39,0.3,0.4"), "1: value 1e+39 is outside the float32 range"),
    "value -3.5e38": (sequence("0.1,0.2,-3.5e38,0.4"),
                      "1: value -3.5e+38 is outside the float32 range"),
    "second sequence": (GOOD_CSV + "\n" + sequence("0.1,0.2,0.3,1e300"),
                        "7: value 1e+300 is outside the float32 range"),
    "marker 1e39": (sequence("0.1,0.2,0.3,0.4", "1,0,1e39,0"),
                    "2: value 1e+39 is outside the float32 range"),
    "target 1e39": (sequence("0.1,0.2,0.3,0.4", target="1e39,,,"),
                    "3: value 1e+39 is outside the float32 range"),
    "target -3.5e38 later": (GOOD_CSV + "\n" + sequence("0.1,0.2,0.3,0.4", target="-3.5e38,,,"),
                             "9: value -3.5e+38 is outside the float32 range"),
    "infinity still non-finite": (sequence("0.1,inf,0.3,1e39"), "1: non-finite value"),
    "long field is cut to 20 chars": (sequence("0.1," + "x" * 5000 + ",0.3,0.4"),
                                      f"1: '{'x' * 20}' is not a number"),
}


@pytest.mark.parametrize("name", sorted(CSV_CASES))
def test_csv_values_beyond_float32_are_refused(tmp_path, name):
    text, detail = CSV_CASES[name]
    path = tmp_path / "adding.csv"
    path.write_text(text)
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == f"{path}:{detail}"


def test_csv_values_up_to_the_float32_maximum_load(tmp_path):
    largest = float(np.finfo(np.float32).max)
    path = tmp_path / "adding.csv"
    path.write_text(sequence(f"0.1,{largest!r},0.3,{-largest!r}"))
    x, t = read_csv(path)
    assert np.isfinite(x).all() and x[0, 1, 0] == np.float32(largest)
    assert t.tolist() == [[np.float32(0.4)]]


def test_cli_refuses_a_csv_value_beyond_float32(workdir, cli):
    folder = "d/adding"
    bad = sequence("0.1,0.2,1e39,0.4")
    files = {f"{folder}/adding_problem_T=004_{split}.csv": (bad if split == "train" else
                                                            GOOD_CSV).encode()
             for split in ("train", "dev", "test")}
    line = run_cli(cli, workdir, files, ["train", "lstm", "--L", "4", "--data-dir", "d",
                                         "--epochs", "1"])
    train = workdir / folder / "adding_problem_T=004_train.csv"  # the CLI names it absolute
    assert line == f"error: {train}:1: value 1e+39 is outside the float32 range"
