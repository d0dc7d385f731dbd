"""The conformance checks of a dataset plugin."""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import rnnlab
from rnnlab import DataError, DataRequest, DataSpec, UsageError
from rnnlab.testing.base import Contract
from rnnlab.testing.checks import check_split, fetch_example, settings_of


class DatasetContract(Contract):
    """Conformance checks for a dataset plugin. Subclass it as `TestSomething`, set `plugin`.

    Attributes: `plugin`; `L` (sequence length, 5; ignored for image data), `n` (example
    size, 4), `seed` (0); `sizes` (split sizes to generate; default 6 of each split the
    dataset declares); `settings` (dataset settings); `falls_back_to_bundled` (True for a
    dataset that reads bundled files when the data directory is empty: then loading an empty
    directory need not raise DataError, but must still write nothing there);
    `blocked_imports` (("torch",)).

    Checks: the entry module loads without torch; `example(L, n, seed)` gives a DataSpec and
    a Split of the shapes it describes, the same for the same seed; `generate` then `load`
    (`generate=False`) round-trips in a tmp dir with the requested sizes and spec, `files`
    naming existing files, and generating again with the seed gives the same bytes (skipped
    for a dataset that cannot generate); `load(generate=False)` of an empty directory raises
    DataError; `metrics(t, t)` is finite, has the primary metric, and scores at least as
    well as predicting zeros.
    """

    kind = "dataset"
    L: ClassVar[int] = 5
    n: ClassVar[int] = 4
    seed: ClassVar[int] = 0
    sizes: ClassVar[dict[str, int] | None] = None
    falls_back_to_bundled: ClassVar[bool] = False

    def length(self) -> int | None:
        return self.L if self.get().kind == "sequence" else None

    def request(self, data_dir: Path) -> DataRequest:
        settings = settings_of(self.who, self.get(), self.settings)
        return DataRequest(L=self.length(), data_dir=data_dir, settings=settings, generate=False)

    def test_example_shapes(self) -> None:
        """`example(L, n, seed)` is (DataSpec, Split) with the shapes the spec describes."""
        plugin = self.get()
        got = fetch_example(self.plugin, self.length(), self.n, self.seed, Path("datasets"))
        assert isinstance(got, tuple) and len(got) == 2, (
            f"{self.who}: example() returned {type(got).__name__}, expected (DataSpec, Split)")
        spec, split = got
        assert isinstance(spec, DataSpec), f"{self.who}: example() spec is {spec!r}"
        assert spec.kind == plugin.kind, (f"{self.who}: example() spec.kind {spec.kind!r}, "
                                          f"but the dataset's kind is {plugin.kind!r}")
        if spec.kind == "sequence":
            assert spec.length == self.L, (f"{self.who}: example(L={self.L}) spec.length is "
                                           f"{spec.length}")
        check_split(self.who, "example()", spec, split, self.n)

    def test_example_is_seeded(self) -> None:
        """The same seed gives the same example, bit for bit."""
        first = fetch_example(self.plugin, self.length(), self.n, self.seed, Path("datasets"))[1]
        again = fetch_example(self.plugin, self.length(), self.n, self.seed, Path("datasets"))[1]
        for part in ("x", "t"):
            a, b = np.asarray(getattr(first, part)), np.asarray(getattr(again, part))
            assert a.shape == b.shape and np.array_equal(a, b), (
                f"{self.who}: example(seed={self.seed}) gave different {part} twice")

    def test_generate_and_load(self, tmp_path: Path) -> None:
        """Generated files load back (generate=False) with the sizes, spec and same bytes."""
        plugin = self.get()
        sizes = dict(self.sizes) if self.sizes is not None else {s: 6 for s in plugin.sizes}
        out = tmp_path / "generated"

        def generate(root: Path) -> list[Path]:
            return [Path(p) for p in rnnlab.gen_data(
                self.plugin, lengths=[self.L], out=root, seed=self.seed, sizes=sizes,
                settings=dict(self.settings))]

        try:
            paths = generate(out)
        except UsageError as exc:
            if "cannot generate" in str(exc):
                pytest.skip(f"{self.who} cannot generate data")
            raise
        assert paths and all(p.is_file() for p in paths), (
            f"{self.who}: generate() returned {paths}, not a list of the files it wrote")
        written = {p: p.read_bytes() for p in paths}
        data = plugin.load(self.request(out))
        spec = fetch_example(self.plugin, self.length(), 1, self.seed, Path("datasets"))[0]
        assert data.spec == spec, (f"{self.who}: loaded spec {data.spec} differs from "
                                   f"example()'s {spec}")
        for split, count in sizes.items():
            got = getattr(data, split, None)
            assert got is not None, f"{self.who}: generated split '{split}' does not load"
            check_split(self.who, f"loaded split '{split}'", data.spec, got, count)
        assert data.files, (f"{self.who}: load() names no `files`, so runs cannot record or "
                            "check the data they were trained on")
        for split, path in data.files.items():
            assert Path(path).is_file(), f"{self.who}: files[{split!r}] = {path} does not exist"
        generate(out)  # again, same seed: accepted, and nothing changes
        for path, payload in written.items():
            assert path.read_bytes() == payload, (
                f"{self.who}: generating again with seed {self.seed} changed {path.name}")
        fresh = {p.relative_to(tmp_path / "again"): p.read_bytes()
                 for p in generate(tmp_path / "again")}
        first = {p.relative_to(out): payload for p, payload in written.items()}
        assert fresh == first, (f"{self.who}: generating with seed {self.seed} into another "
                                "directory gave different files or bytes")

    def test_load_without_files(self, tmp_path: Path) -> None:
        """`load(generate=False)` of an empty directory raises DataError and writes nothing."""
        empty = tmp_path / "empty"
        empty.mkdir()
        try:
            data = self.get().load(self.request(empty))
        except DataError:
            data = None
        assert not any(empty.iterdir()), (
            f"{self.who}: load(generate=False) wrote into the data directory: "
            f"{sorted(p.name for p in empty.rglob('*'))}")
        if data is not None:
            assert self.falls_back_to_bundled, (
                f"{self.who}: load(generate=False) of an empty directory returned data instead "
                "of raising rnnlab.DataError (set falls_back_to_bundled if it reads bundled "
                "files)")

    def test_metrics_of_perfect_predictions(self) -> None:
        """`metrics(t, t)` includes the primary metric, is finite and beats predicting 0."""
        plugin = self.get()
        t = np.asarray(fetch_example(self.plugin, self.length(), self.n, self.seed,
                                Path("datasets"))[1].t)
        perfect = plugin.metrics(t.copy(), t)
        primary = plugin.primary_metric
        assert isinstance(perfect, dict) and primary in perfect, (
            f"{self.who}: metrics() gave {perfect!r}, without the primary metric '{primary}'")
        for key, value in perfect.items():
            assert isinstance(value, (int, float)) and not isinstance(value, bool), (
                f"{self.who}: metric '{key}' is {type(value).__name__}, not a number")
            assert math.isfinite(value), f"{self.who}: metric '{key}' of t against t is {value}"
        zero = plugin.metrics(np.zeros_like(t), t)[primary]
        better = perfect[primary] >= zero if plugin.higher_is_better else perfect[primary] <= zero
        assert better, (f"{self.who}: {primary} of perfect predictions ({perfect[primary]}) is "
                        f"worse than of zeros ({zero}); check higher_is_better")
