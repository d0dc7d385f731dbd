"""Property-based tests of the two file readers: arbitrary bytes fail only with DataError, and
valid files round-trip."""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rnnlab import DataError
from rnnlab_plugins.adding_task.course_csv import read as read_csv
from rnnlab_plugins.image_pickles.safe_pickle import read as read_pickle
from rnnlab_plugins.image_pickles.safe_pickle import write as write_pickle

FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def attempt(reader, data: bytes, *args):
    """Run a reader on `data` in a scratch file: it returns, or raises DataError naming it."""
    handle = tempfile.NamedTemporaryFile(delete=False, suffix=".bin")
    handle.write(data)
    handle.close()
    path = Path(handle.name)
    try:
        return reader(path, *args)
    except DataError as exc:
        assert str(exc).startswith(str(path)), exc
        return None
    finally:
        path.unlink()


@FAST
@given(st.binary(max_size=400))
def test_csv_reader_on_arbitrary_bytes(data):
    attempt(read_csv, data)


csv_like = st.lists(st.sampled_from(["0", "1", "0.1", "-0.25", ",", "\n", "x", "", "nan",
                                     "1e3", " "]), max_size=60).map("".join)


@FAST
@given(csv_like)
def test_csv_reader_on_csv_like_text(text):
    attempt(read_csv, text.encode())


@st.composite
def adding_files(draw):
    L = draw(st.integers(2, 12))
    n = draw(st.integers(1, 6))
    lines = []
    values = draw(arrays(np.int64, (n, L), elements=st.integers(-25, 25)))
    for row in values:
        first = draw(st.integers(0, L // 2 - 1))
        second = draw(st.integers(L // 2, L - 1))
        lines.append(",".join(repr(int(k) / 100) for k in row))
        lines.append(",".join("1" if i in (first, second) else "0" for i in range(L)))
        lines.append(repr((int(row[first]) + int(row[second])) / 100) + "," * (L - 1))
    return L, values, "\n".join(lines)


@FAST
@given(adding_files())
def test_valid_csv_round_trips(case):
    L, values, text = case
    x, t = attempt(read_csv, text.encode(), L)
    np.testing.assert_allclose(x[..., 0], values / 100, atol=1e-7)
    assert (x[..., 1].sum(axis=1) == 2).all() and t.shape == (len(values), 1)


@FAST
@given(st.binary(max_size=400))
def test_pickle_reader_on_arbitrary_bytes(data):
    attempt(read_pickle, data)


@FAST
@given(st.integers(0, 5).flatmap(lambda n: st.binary(max_size=200).map(
    lambda junk: pickle.dumps(np.zeros((n, 15, 15)), protocol=n % 4 + 2)[: len(junk) + 20])))
def test_pickle_reader_on_truncated_pickles(data):
    attempt(read_pickle, data)


@FAST
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.just(15), st.just(15)),
              elements=st.floats(0, 255)))
def test_valid_pickles_round_trip(images):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "images.pickle"
        write_pickle(path, images)
        np.testing.assert_array_equal(read_pickle(path), images.reshape(len(images), 225) / 255)
