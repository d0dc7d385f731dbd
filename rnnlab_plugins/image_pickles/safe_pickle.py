"""The course's image pickles, read without running code from the file.

Format: a pickled NumPy array of shape (N, 15, 15) (also accepted: (N, 225)), values 0..255,
float64 in the originals (uint8 and other real dtypes are accepted too).

`pickle.load` calls whatever the file names, and even NumPy's own array constructors are unsafe
with hostile arguments (an object array over raw bytes dereferences fake pointers; a zero-stride
view turns a few bytes into gigabytes). So nothing from the file reaches NumPy while unpickling:

1. `_scan` walks the opcodes first and refuses streams no array pickle needs (too many opcodes,
   huge memo indices, huge integers, persistent ids, extension codes, out-of-band buffers), which
   bounds what the C unpickler allocates to about the size of the file.
2. `find_class` resolves the few names an array pickle uses to stand-ins defined here; they only
   record and check their arguments: a plain numeric dtype code and byte order, a shape of at
   most `MAX_RANK` non-negative ints and `MAX_ELEMENTS` elements, and a data buffer of exactly
   the bytes that shape and dtype need.
3. Only then `_build` makes the array, with `np.frombuffer(...).reshape(...).copy()`.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rnnlab import DataError, atomic_write, read_input

SIDE = 15
MAX_RANK = 4
FILE_LIMIT = 256 * 2**20  # bytes: room for MAX_ELEMENTS float64 values and then some
MAX_ELEMENTS = 16 * 2**20  # the course files have 1000 * 225; 16 Mi float64 is 128 MB
MAX_OPCODES = 10_000  # an array pickle has about 40; this bounds the unpickler's stack and memo
MAX_INT_BITS = 64

# Opcodes no array pickle uses, each a way to reach code or memory the checks below don't see.
REFUSED_OPCODES = {"PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4", "NEXT_BUFFER",
                   "READONLY_BUFFER", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX"}
MEMO_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
INTEGERS = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"}

NUMERIC_CODE = re.compile(r"[biuf][0-9]{1,2}")  # b1, i1..i8, u1..u8, f2..f16 as pickles spell
NAMED_CODE = re.compile(r"[cUS][0-9]{1,6}")  # harmless, but not numbers: named in the error
BYTE_ORDERS = {"<": "<", ">": ">", "=": "=", "|": "="}


class WrongDtype(Exception):
    """An array of a well-formed but non-real dtype (complex, text): refused by name."""


def _refuse(message: str) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(message)


def _show(value: object, depth: int = 0) -> str:
    """A short description of a value from the file, for messages: never a huge repr, and no
    deep recursion into the nested tuples a pickle can build."""
    if value is None or type(value) in (bool, float):
        return repr(value)
    if type(value) is int:
        return str(value) if abs(value) < 10**18 else f"an integer of {value.bit_length()} bits"
    if type(value) is _Global:
        return value.name
    if type(value) in (_Dtype, _Array):
        return "a numpy.dtype" if type(value) is _Dtype else "an array"
    if type(value) is tuple and len(value) <= MAX_RANK + 1 and depth < 2:
        inner = ", ".join(_show(item, depth + 1) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if type(value) in (str, bytes) and len(value) <= 20:
        return repr(value)
    return f"a {type(value).__name__}"


def _scan(raw: bytes) -> None:
    """Refuse opcode streams that could make the C unpickler allocate far more than the file
    (memo indices near 2**32, 10**6-digit integers) before it runs."""
    count = 0
    for opcode, arg, pos in pickletools.genops(raw):  # raises ValueError on malformed streams
        count += 1
        name = opcode.name
        if count > MAX_OPCODES:
            raise _refuse(f"more than {MAX_OPCODES} opcodes, not a single array")
        if name in REFUSED_OPCODES:
            raise _refuse(f"opcode {name} at byte {pos} is not allowed in an array pickle")
        if name in MEMO_PUTS and arg > count:  # the unpickler sizes its memo by the index
            raise _refuse(f"memo index {_show(arg)} at byte {pos} is out of range")
        if name in INTEGERS and type(arg) is int and arg.bit_length() > MAX_INT_BITS:
            raise _refuse(f"integer of {arg.bit_length()} bits at byte {pos} is too large")
        if name == "FRAME" and arg > len(raw) - pos:
            raise _refuse(f"frame of {_show(arg)} bytes at byte {pos} exceeds the file")


class _Global:
    """What `find_class` returns for an allowed name: a callable that checks its arguments.

    It has no instance dictionary and refuses BUILD, so a pickle cannot alter it."""

    __slots__ = ("name", "call", "arity")

    def __init__(self, name: str, call: Callable[..., object], arity: range) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "call", call)
        object.__setattr__(self, "arity", arity)

    def __call__(self, *args: object) -> object:
        if len(args) not in self.arity:
            raise _refuse(f"{self.name} called with {len(args)} arguments")
        return self.call(*args)

    def __setattr__(self, key: str, value: object) -> None:
        raise _refuse(f"cannot set attributes of {self.name}")

    def __setstate__(self, state: object) -> None:
        raise _refuse(f"cannot set the state of {self.name}")


class _Dtype:
    """A dtype as the pickle describes it: a type code and, after BUILD, a byte order."""

    __slots__ = ("code", "order", "flags", "built")

    def __init__(self, code: str) -> None:
        self.code, self.order, self.flags, self.built = code, "=", 0, False

    def __setstate__(self, state: object) -> None:
        # (version, byte order, subarray, names, fields, itemsize, alignment, flags[, metadata])
        if self.built:
            raise _refuse("dtype state set twice")
        self.built = True
        if type(state) is not tuple or len(state) not in (8, 9):
            raise _refuse(f"dtype state {_show(state)} is not an 8- or 9-tuple")
        version, order, subarray, names, fields, size, align, flags = state[:8]
        metadata = state[8] if len(state) == 9 else None
        if type(version) is not int or (version, len(state)) not in ((3, 8), (4, 9)):
            raise _refuse(f"dtype state version {_show(version)} is not supported")
        if type(order) is not str or order not in BYTE_ORDERS:
            raise _refuse(f"dtype byte order {_show(order)} is not one of < > = |")
        if (subarray, names, fields, metadata) != (None, None, None, None):
            raise _refuse(f"dtype {self.code[:12]!r} with fields, subarrays or metadata is not "
                          "allowed")
        # size and alignment matter only for flexible types (void, text), which `numeric`
        # refuses; flags must be 0 for a numeric dtype (63 marks object references)
        if not all(type(item) is int for item in (size, align, flags)):
            raise _refuse("dtype state has a non-integer size, alignment or flags")
        self.order, self.flags = order, flags

    def numeric(self) -> np.dtype:
        """The real dtype if this is a plain number type; WrongDtype or a refusal otherwise."""
        named = NAMED_CODE.fullmatch(self.code)
        refusal = _refuse(f"dtype {self.code[:12]!r} is not allowed: only plain numeric arrays")
        if not (named or NUMERIC_CODE.fullmatch(self.code)) or self.flags != 0 and not named:
            raise refusal
        try:  # the code is a letter and a few digits here: np.dtype cannot do harm with it
            dtype = np.dtype(self.code).newbyteorder(BYTE_ORDERS[self.order])
        except (TypeError, ValueError):
            raise refusal from None
        if named:
            raise WrongDtype(str(dtype))
        if (dtype.kind not in "biuf" or dtype.itemsize != int(self.code[1:]) or dtype.hasobject
                or dtype.fields is not None or dtype.subdtype is not None):
            raise refusal
        return dtype


class _Array:
    """An array as the pickle describes it; made into a real one only by `_build`."""

    __slots__ = ("dtype", "shape", "order", "data")

    def __init__(self) -> None:
        self.dtype: np.dtype | None = None
        self.shape: tuple[int, ...] = ()
        self.order, self.data = "C", b""

    def fill(self, data: object, dtype: object, shape: object, fortran: bool) -> _Array:
        """Check and record the parts; the data must be exactly the bytes the shape needs."""
        if type(dtype) is not _Dtype:
            raise _refuse(f"array dtype is {_show(dtype)}, not a numpy.dtype")
        real = dtype.numeric()
        size = _check_shape(shape)
        if type(data) not in (bytes, bytearray):
            raise _refuse(f"array data is {_show(data)}, not bytes")
        if len(data) != size * real.itemsize:
            raise _refuse(f"array data has {len(data)} bytes, shape {_show(shape)} of {real} "
                          f"needs {size * real.itemsize}")
        self.dtype, self.shape, self.data = real, shape, bytes(data)
        self.order = "F" if fortran else "C"
        return self

    def __setstate__(self, state: object) -> None:
        # ndarray state: ([version 1,] shape, dtype, is_fortran, raw bytes)
        if self.dtype is not None:
            raise _refuse("array state set twice")
        if type(state) is tuple and len(state) == 5 and type(state[0]) is int and state[0] == 1:
            state = state[1:]
        if type(state) is not tuple or len(state) != 4:
            raise _refuse(f"array state {_show(state)} is not (version, shape, dtype, "
                          "fortran, data)")
        shape, dtype, fortran, data = state
        self.fill(data, dtype, shape, _flag(fortran, "is_fortran"))


def _flag(value: object, what: str) -> bool:
    if type(value) not in (bool, int) or value not in (0, 1):
        raise _refuse(f"{what} is {_show(value)}, not a boolean")
    return bool(value)


def _check_shape(shape: object) -> int:
    """The element count of a valid shape; anything else is refused."""
    if type(shape) is not tuple or len(shape) > MAX_RANK:
        raise _refuse(f"shape {_show(shape)} is not a tuple of at most {MAX_RANK} ints")
    if not all(type(dim) is int and 0 <= dim <= MAX_ELEMENTS for dim in shape):
        raise _refuse(f"shape {_show(shape)} has a dimension that is not an int "
                      f"in 0..{MAX_ELEMENTS}")
    size = math.prod(shape)
    if size > MAX_ELEMENTS:
        raise _refuse(f"shape {_show(shape)} has {size} elements, more than {MAX_ELEMENTS}")
    return size


# The stand-ins, with the signatures NumPy's pickles call them with.

def _new_dtype(code: object, align: object = False, copy: object = True) -> _Dtype:
    """numpy.dtype(code, align, copy) as written by dtype.__reduce__."""
    if type(code) is not str:
        raise _refuse(f"dtype code {_show(code)} is not a string")
    _flag(align, "dtype align")
    _flag(copy, "dtype copy")
    return _Dtype(code)


def _reconstruct(cls: object, shape: object, typecode: object) -> _Array:
    """_reconstruct(ndarray, (0,), b'b'): an empty array that BUILD then fills."""
    if cls is not NDARRAY or type(shape) is not tuple or shape != (0,) \
            or type(shape[0]) is not int or type(typecode) not in (bytes, str) \
            or typecode not in (b"b", "b"):
        raise _refuse("_reconstruct takes (numpy.ndarray, (0,), b'b') only")
    return _Array()


def _frombuffer(buffer: object, dtype: object, shape: object, order: object) -> _Array:
    """_frombuffer(data, dtype, shape, order): how protocol 5 writes contiguous arrays."""
    if type(order) is not str or order not in ("C", "F"):
        raise _refuse(f"_frombuffer order {_show(order)} is not 'C' or 'F'")
    return _Array().fill(buffer, dtype, shape, order == "F")


def _ndarray(*args: object) -> None:
    # ndarray(shape, dtype, buffer, offset, strides) would build views over any memory
    raise _refuse("refusing to call numpy.ndarray directly")


def _latin1(text: object, encoding: object = "latin1") -> bytes:
    """The one use of codecs.encode in array pickles (bytes written by protocols 0 to 2)."""
    if type(text) is not str or encoding != "latin1":
        raise _refuse("codecs.encode is allowed only as encode(str, 'latin1')")
    try:
        return text.encode("latin1")
    except UnicodeEncodeError:
        raise _refuse("codecs.encode of characters beyond latin1") from None


NDARRAY = _Global("numpy.ndarray", _ndarray, range(0, 7))
ALLOWED = {
    ("numpy", "ndarray"): NDARRAY,
    ("numpy", "dtype"): _Global("numpy.dtype", _new_dtype, range(1, 4)),
    ("_codecs", "encode"): _Global("_codecs.encode", _latin1, range(1, 3)),
}
for _module in ("numpy.core", "numpy._core"):  # NumPy 1 pickles name numpy.core, NumPy 2 _core
    ALLOWED[(f"{_module}.multiarray", "_reconstruct")] = _Global("_reconstruct", _reconstruct,
                                                                 range(3, 4))
    ALLOWED[(f"{_module}.numeric", "_frombuffer")] = _Global("_frombuffer", _frombuffer,
                                                             range(4, 5))


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler whose only globals are the checking stand-ins above."""

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's signature
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise _refuse(f"refusing to load '{module[:60]}.{name[:60]}': only NumPy arrays "
                          "are allowed") from None


def _build(loaded: object) -> object:
    """The real array for a checked `_Array`; other objects are returned for `validate`."""
    if type(loaded) is _Global:
        raise _refuse(f"the pickle is {loaded.name}, not an array")
    if type(loaded) is _Dtype:
        raise _refuse("the pickle is a numpy.dtype, not an array")
    if type(loaded) is not _Array:
        return loaded
    if loaded.dtype is None:
        raise _refuse("the array's state is missing")
    if not loaded.data:
        return np.empty(loaded.shape, loaded.dtype)
    flat = np.frombuffer(loaded.data, loaded.dtype)
    return flat.reshape(loaded.shape, order=loaded.order).copy()


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dtype_error(path: Path, dtype: object) -> DataError:
    return DataError(f"{path}: dtype {dtype}, expected real numbers 0..255 (float64 or uint8)")


def read(path: Path) -> np.ndarray:
    """Images (N, 225) scaled to [0, 1], float64; DataError names the file and the problem."""
    raw = read_input(path, "an image pickle", limit=FILE_LIMIT)
    try:
        _scan(raw)
        array = _build(ArrayUnpickler(io.BytesIO(raw)).load())
    except WrongDtype as exc:
        raise _dtype_error(path, exc) from None
    except pickle.UnpicklingError as exc:
        raise DataError(f"{path}: not a NumPy array pickle ({_clip(str(exc))})") from None
    except Exception as exc:  # truncated or garbled files fail in many ways
        detail = _clip(f"{type(exc).__name__}: {exc}").replace("\n", " ")
        raise DataError(f"{path}: not a NumPy array pickle ({detail})") from None
    return validate(path, array)


def validate(path: Path, array: object) -> np.ndarray:
    """The images of a loaded array (N, 225) scaled to [0, 1], or a DataError naming `path`."""
    if not isinstance(array, np.ndarray):
        raise DataError(f"{path}: expected a NumPy array, got {type(array).__name__}")
    if array.ndim == 2 and array.shape[1] == SIDE * SIDE:
        pass
    elif array.ndim != 3 or array.shape[1:] != (SIDE, SIDE):
        raise DataError(f"{path}: array of shape {array.shape}, expected (N, 15, 15) or "
                        "(N, 225)")
    if len(array) == 0:
        raise DataError(f"{path}: no images, expected N >= 1")
    if array.dtype.kind not in "fiu":
        raise _dtype_error(path, array.dtype)
    values = array.reshape(len(array), SIDE * SIDE).astype(np.float64)
    if not np.isfinite(values).all():
        index = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise DataError(f"{path}: image {index} has NaN or infinite values, expected 0..255")
    low, high = values.min(), values.max()
    if low < 0 or high > 255:
        raise DataError(f"{path}: values range {low:g}..{high:g}, expected 0..255")
    return values / 255.0


def write(path: Path, images: np.ndarray) -> None:
    """Store images (N, 15, 15), values 0..255, as the course does: a pickled float64 array."""
    array = np.asarray(images, dtype=np.float64).reshape(-1, SIDE, SIDE)
    atomic_write(path, pickle.dumps(array, protocol=3))
