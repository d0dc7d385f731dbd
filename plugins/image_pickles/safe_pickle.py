"""The course's image pickles, read without running code from the file.

Format: a pickled NumPy array of shape (N, 15, 15) (also accepted: (N, 225)), values 0..255,
float64 in the originals (uint8 and other real dtypes are accepted too).

`pickle.load` calls whatever the file names. The unpickler below resolves only the few NumPy
functions an array needs; any other name (`os.system`, `builtins.eval`, ...) stops the load
before it is called.
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path

import numpy as np

from rnnlab import DataError, atomic_write, read_input

SIDE = 15


def _latin1(text: str, encoding: str = "latin1") -> bytes:
    """The one use of codecs.encode in array pickles (bytes written by protocol 2)."""
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"codecs.encode with encoding {encoding!r} is not allowed")
    return codecs.encode(text, "latin1")


try:  # NumPy 2 moved numpy.core to numpy._core; pickles name either
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct
    from numpy.core.numeric import _frombuffer

ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1,
}


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that admits only NumPy arrays."""

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's signature
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            if module.startswith("numpy.dtypes") and name.endswith("DType"):
                return getattr(np.dtypes, name)  # dtype classes of NumPy 2 pickles
            raise pickle.UnpicklingError(
                f"refusing to load '{module}.{name}': only NumPy arrays are allowed") from None


def read(path: Path) -> np.ndarray:
    """Images (N, 225) scaled to [0, 1], float64; DataError names the file and the problem."""
    raw = read_input(path, "an image pickle")
    try:
        array = ArrayUnpickler(io.BytesIO(raw)).load()
    except pickle.UnpicklingError as exc:
        raise DataError(f"{path}: not a NumPy array pickle ({exc})") from None
    except Exception as exc:  # truncated or garbled files fail in many ways
        raise DataError(f"{path}: not a NumPy array pickle ({type(exc).__name__}: {exc})"
                        ) from None
    return validate(path, array)


def validate(path: Path, array: object) -> np.ndarray:
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
        raise DataError(f"{path}: dtype {array.dtype}, expected real numbers 0..255 "
                        "(float64 or uint8)")
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
