"""A conformance kit for rnnlab plugins: pytest suites to subclass with a plugin's name.

    # tests/test_my_plugins.py
    from rnnlab.testing import DatasetContract, ModelContract, ReportContract

    class TestGRU(ModelContract):
        plugin = "gru"              # the name registered under rnnlab.models

    class TestParity(DatasetContract):
        plugin = "parity"

    class TestBest(ReportContract):
        plugin = "best"

Run `pytest`: every check is a test method with an assertion message that names the plugin.
Class attributes tune the checks (sizes, settings, the runs a report is given); see each class.
The base classes are not collected themselves (their names do not start with `Test`).

This module needs pytest (a test-time dependency, `pip install rnnlab[dev]`); importing it
without pytest raises an ImportError that says so. `import rnnlab` never imports it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

try:
    import pytest
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("rnnlab.testing is a pytest kit: install pytest (pip install pytest, "
                      "or rnnlab[dev]) to use it") from exc

import numpy as np

import rnnlab
from rnnlab import (
    Column,
    DataError,
    DataRequest,
    DataSpec,
    Learner,
    ReportResult,
    Split,
    UsageError,
)

__all__ = ["DatasetContract", "ModelContract", "ReportContract"]

GROUPS = {"model": "rnnlab.models", "dataset": "rnnlab.datasets", "report": "rnnlab.reports"}

# Run in a fresh interpreter: blocks the named top-level modules, then loads one plugin through
# the registry (which imports only its entry module).
_IMPORT_PROBE = textwrap.dedent("""
    import importlib.abc, json, sys
    kind, name, blocked = sys.argv[1], sys.argv[2], set(json.loads(sys.argv[3]))

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname.partition(".")[0] in blocked:
                raise ImportError(f"import of {fullname} blocked by the rnnlab.testing probe")
            return None

    preloaded = sorted(m for m in blocked if m in sys.modules)
    if preloaded:  # e.g. by a .pth file: then nothing can be learnt here
        print("already imported at start-up:", ", ".join(preloaded))
        sys.exit(3)
    sys.meta_path.insert(0, Block())
    import rnnlab
    rnnlab.get_plugin(kind, name)
""")


def _label(settings: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in settings.items()) or "default"


def _who(kind: str, name: str) -> str:
    return f"{kind} '{name}'"


def _check_light_import(kind: str, name: str, blocked: tuple[str, ...], cwd: Path) -> None:
    """Load plugin `name` in a subprocess where importing `blocked` modules fails."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # e.g. fake dists in tests
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, kind, name, json.dumps(list(blocked))],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=60,
    )
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
    if proc.returncode == 3:
        pytest.skip(f"cannot check {_who(kind, name)}'s imports: {tail}")
    assert proc.returncode == 0, (
        f"{_who(kind, name)}: its entry module must load without importing "
        f"{', '.join(blocked)} (import them inside build/load/metrics); loading it with them "
        f"blocked failed:\n{tail}")


def _settings_of(who: str, plugin: Any, given: dict[str, Any]) -> dict[str, Any]:
    """A plugin's resolved settings: its defaults, overridden by `given` (parsed)."""
    declared = getattr(plugin, "settings", {}) or {}
    resolved = {key: setting.default for key, setting in declared.items()}
    for key, raw in given.items():
        assert key in declared, f"{who}: the contract sets '{key}', which it does not declare"
        resolved[key] = declared[key].parse(key, raw)
    return resolved


def _example(dataset: str, L: int | None, n: int, seed: int, data_dir: Path
             ) -> tuple[DataSpec, Split]:
    """`n` samples of `dataset`, as rnnlab's gradient checks and timing get them."""
    fetch = getattr(rnnlab, "example", None)
    if fetch is not None:
        return fetch(dataset, L, n, seed=seed, data_dir=data_dir)
    return rnnlab.get_plugin("dataset", dataset).example(L, n, seed)  # pragma: no cover


def _check_split(who: str, what: str, spec: DataSpec, split: Any, n: int | None) -> None:
    """`split` is a Split whose x and t have the shapes `spec` describes (n samples)."""
    assert isinstance(split, Split), f"{who}: {what} is {type(split).__name__}, not a Split"
    x, t = np.asarray(split.x), np.asarray(split.t)
    N = len(x) if n is None else n
    if spec.kind == "sequence":
        want_x: tuple[int | None, ...] = (N, spec.length, spec.input_dim)
    else:
        want_x = (N, spec.input_dim)
    assert x.shape == want_x, (f"{who}: {what} x has shape {x.shape}, expected {want_x} for "
                               f"{spec}")
    assert t.shape == (N, spec.output_dim), (
        f"{who}: {what} t has shape {t.shape}, expected {(N, spec.output_dim)} for {spec}")


def _plain(value: Any, where: str) -> None:
    """Assert `value` is built of plain JSON types only (no NumPy scalars, Paths, NaN)."""
    if value is None or type(value) in (str, bool, int):
        return
    if type(value) is float:
        assert math.isfinite(value), f"{where} is {value}, not a finite number (use None)"
        return
    if type(value) is list:
        for i, item in enumerate(value):
            _plain(item, f"{where}[{i}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            assert type(key) is str, f"{where} has a key {key!r} that is not a str"
            _plain(item, f"{where}[{key!r}]")
        return
    raise AssertionError(f"{where} is a {type(value).__module__}.{type(value).__qualname__} "
                         f"({value!r}), not a plain JSON value (str, int, float, bool, None, "
                         "list, dict)")


def _arrays_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(
        np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


class _Contract:
    """What every contract shares: the plugin's name and a scratch working directory."""

    kind: ClassVar[str] = ""
    plugin: ClassVar[str] = ""  # the registered name (or DIST:NAME)
    settings: ClassVar[dict[str, Any]] = {}  # the plugin's settings, as with --set
    # top-level modules the entry module must not import (loading is probed in a subprocess)
    blocked_imports: ClassVar[tuple[str, ...]] = ("torch",)

    @pytest.fixture(autouse=True)
    def _rnnlab_workdir(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        """Each check runs in an empty directory, so runs/ and datasets/ land in tmp."""
        monkeypatch.chdir(tmp_path)
        return tmp_path

    @property
    def who(self) -> str:
        return _who(self.kind, self.plugin)

    def get(self) -> Any:
        assert self.plugin, f"{type(self).__name__}: set `plugin` to the registered name"
        return rnnlab.get_plugin(self.kind, self.plugin)

    def test_entry_module_is_light(self, tmp_path: Path) -> None:
        """Loading the plugin imports only its light entry module (no torch)."""
        self.get()  # loads here first, so a plain load failure is reported as such
        _check_light_import(self.kind, self.plugin, tuple(self.blocked_imports), tmp_path)


class ModelContract(_Contract):
    """Conformance checks for a model plugin. Subclass it as `TestSomething` and set `plugin`.

    Attributes: `plugin` (registered name); `data` (dataset for example batches; default the
    model's own); `L` (sequence length, 5), `batch` (4), `hidden` (4), `seed` (0);
    `settings` (model settings for every check); `variants` (settings dicts layered on top,
    each one a parametrized case of the build/train/state checks, e.g. two implementations);
    `options` (training options for `rnnlab.build_learner`, device cpu unless given);
    `blocked_imports` (modules the entry module must not import, ("torch",)).

    Checks: the entry module loads without torch; predictions on `example()` data are
    (B, M), finite and do not change the model; a train step returns a finite float loss and
    updates the weights; state_dict/load_state_dict carry a model into one built with another
    seed exactly; one seed gives one initial state, another seed another; the declared
    `gradcheck` variants pass `rnnlab gradcheck`; the dataset's metrics of the predictions
    include its primary metric.
    """

    kind = "model"
    data: ClassVar[str] = ""
    L: ClassVar[int] = 5
    batch: ClassVar[int] = 4
    hidden: ClassVar[int] = 4
    seed: ClassVar[int] = 0
    variants: ClassVar[tuple[dict[str, Any], ...]] = ({},)
    options: ClassVar[dict[str, Any]] = {}

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """One case of each `variant` check per entry of `variants`."""
        if "variant" in metafunc.fixturenames:
            variants = [dict(v) for v in self.variants] or [{}]
            metafunc.parametrize("variant", variants, ids=[_label(v) for v in variants])

    # -- helpers ---------------------------------------------------------------------------
    def dataset(self) -> str:
        """The dataset of the example batches: `data`, else the model's, else the default
        dataset of the first kind the model accepts."""
        model = self.get()
        name = self.data or getattr(model, "data", "")
        if name:
            return name
        kinds = tuple(getattr(model, "kinds", ("sequence",)))
        candidates = []  # (third-party?, name): rnnlab's bundled default first
        for ep in metadata.entry_points(group=GROUPS["dataset"]):
            try:
                plugin = rnnlab.get_plugin("dataset", ep.name)
            except rnnlab.RnnlabError:
                continue
            if getattr(plugin, "default", False) and plugin.kind in kinds[:1]:
                dist = ep.dist.name if ep.dist is not None else ""
                candidates.append((dist.lower() != "rnnlab", ep.name))
        assert candidates, (f"{self.who}: names no dataset and none is the default for "
                            f"{kinds[:1]} data; set `data` on {type(self).__name__}")
        return min(candidates)[1]

    def example(self, seed: int | None = None) -> tuple[DataSpec, Split]:
        name = self.dataset()
        kind = rnnlab.get_plugin("dataset", name).kind
        spec, split = _example(name, self.L if kind == "sequence" else None, self.batch,
                               self.seed if seed is None else seed, Path("datasets"))
        kinds = tuple(getattr(self.get(), "kinds", ("sequence",)))
        assert spec.kind in kinds, (f"{self.who} accepts {kinds} data, but dataset '{name}' "
                                    f"is {spec.kind!r} data; set `data`")
        return spec, split

    def learner(self, variant: dict[str, Any] | None = None, seed: int | None = None,
                spec: DataSpec | None = None) -> Learner:
        """A fresh learner for the example data (settings: `settings` then `variant`)."""
        spec = spec if spec is not None else self.example()[0]
        learner = rnnlab.build_learner(
            self.plugin, spec, settings={**self.settings, **(variant or {})},
            seed=self.seed if seed is None else seed, hidden=self.hidden,
            **{"device": "cpu", **self.options})
        assert isinstance(learner, Learner), f"{self.who}: build_learner gave {learner!r}"
        return learner

    def state(self, learner: Learner, what: str) -> dict[str, np.ndarray]:
        state = learner.state_dict()
        assert isinstance(state, dict) and state, (
            f"{self.who}: state_dict() {what} is {type(state).__name__} "
            f"{'(empty)' if not state else ''}, expected a non-empty dict of arrays")
        for key, value in state.items():
            assert isinstance(value, np.ndarray), (
                f"{self.who}: state_dict()[{key!r}] {what} is {type(value).__name__}, "
                "expected a NumPy array")
        return {k: v.copy() for k, v in state.items()}

    # -- checks ----------------------------------------------------------------------------
    def test_predictions_shape(self, variant: dict[str, Any]) -> None:
        """Predictions on example data are (B, M) and finite; predicting changes nothing."""
        spec, split = self.example()
        learner = self.learner(variant, spec=spec)
        before = self.state(learner, "after build")
        y = np.asarray(learner.predict(split.x))
        want = (len(split.x), spec.output_dim)
        assert y.shape == want, (f"{self.who} ({_label(variant)}): predict() gave shape "
                                 f"{y.shape} for {spec}, expected (B, M) = {want}")
        assert np.isfinite(y).all(), f"{self.who} ({_label(variant)}): non-finite predictions"
        again = np.asarray(learner.predict(split.x))
        assert np.array_equal(y, again), (f"{self.who} ({_label(variant)}): predict() gave "
                                          "different outputs for the same batch twice")
        assert _arrays_equal(before, self.state(learner, "after predict")), (
            f"{self.who} ({_label(variant)}): predict() changed the model's state")

    def test_train_step(self, variant: dict[str, Any]) -> None:
        """A training step returns a finite float loss and changes the weights."""
        spec, split = self.example()
        learner = self.learner(variant, spec=spec)
        before = self.state(learner, "after build")
        loss = learner.train_step(split.x, split.t)
        assert isinstance(loss, float), (f"{self.who} ({_label(variant)}): train_step() "
                                         f"returned {type(loss).__name__}, expected a float")
        assert math.isfinite(loss), f"{self.who} ({_label(variant)}): train_step() loss {loss}"
        assert not _arrays_equal(before, self.state(learner, "after a step")), (
            f"{self.who} ({_label(variant)}): train_step() left every weight unchanged")

    def test_state_dict_round_trip(self, variant: dict[str, Any]) -> None:
        """A trained state loaded into a model built with another seed predicts the same."""
        spec, split = self.example()
        trained = self.learner(variant, spec=spec)
        trained.train_step(split.x, split.t)
        state = self.state(trained, "after a step")
        fresh = self.learner(variant, seed=self.seed + 1, spec=spec)
        fresh.load_state_dict(state)
        assert _arrays_equal(state, self.state(fresh, "after load_state_dict")), (
            f"{self.who} ({_label(variant)}): state_dict() after load_state_dict() differs "
            "from the state loaded")
        y, y_fresh = np.asarray(trained.predict(split.x)), np.asarray(fresh.predict(split.x))
        assert np.array_equal(y, y_fresh), (
            f"{self.who} ({_label(variant)}): a model loaded from state_dict() predicts "
            f"differently (max |diff| {float(np.max(np.abs(y - y_fresh))):.3g})")

    def test_seed_determines_initial_state(self, variant: dict[str, Any]) -> None:
        """The same seed gives the same initial weights; another seed gives others."""
        spec = self.example()[0]
        first = self.state(self.learner(variant, spec=spec), "after build")
        same = self.state(self.learner(variant, spec=spec), "after build")
        other = self.state(self.learner(variant, seed=self.seed + 1, spec=spec), "after build")
        assert _arrays_equal(first, same), (
            f"{self.who} ({_label(variant)}): two builds with seed {self.seed} start from "
            "different weights (seed NumPy from config.seed)")
        assert not _arrays_equal(first, other), (
            f"{self.who} ({_label(variant)}): seeds {self.seed} and {self.seed + 1} give the "
            "same initial weights (the seed is ignored)")

    def test_gradcheck(self) -> None:
        """The declared `gradcheck` variants match finite differences (and autograd), run as
        `rnnlab gradcheck` runs them (its own data and settings; `L`, `batch`, `hidden`)."""
        variants = tuple(getattr(self.get(), "gradcheck", ()) or ())
        if not variants:
            pytest.skip(f"{self.who} declares no gradcheck variants")
        from rnnlab import gradcheck

        rows = gradcheck.check(self.plugin, L=self.L, batch=self.batch, hidden=self.hidden,
                               seed=self.seed)
        assert rows, f"{self.who}: gradcheck checked no parameters"
        bad = [f"{r['form']} {r['parameter']}: fd rel {r['fd_max_rel']:.2g}, autograd rel "
               f"{r['autograd_max_rel']}" for r in rows if not r["ok"]]
        assert not bad, f"{self.who}: gradients fail the check:\n" + "\n".join(bad)

    def test_metrics_of_predictions(self) -> None:
        """The dataset's metrics of the model's predictions include its primary metric."""
        spec, split = self.example()
        dataset = rnnlab.get_plugin("dataset", self.dataset())
        scores = dataset.metrics(np.asarray(self.learner(spec=spec).predict(split.x)), split.t)
        primary = dataset.primary_metric
        assert primary in scores, (f"{self.who}: metrics of its predictions {sorted(scores)} "
                                   f"lack the dataset's primary metric '{primary}'")
        assert math.isfinite(scores[primary]), (
            f"{self.who}: {primary} of its predictions is {scores[primary]}")


class DatasetContract(_Contract):
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
        settings = _settings_of(self.who, self.get(), self.settings)
        return DataRequest(L=self.length(), data_dir=data_dir, settings=settings, generate=False)

    def test_example_shapes(self) -> None:
        """`example(L, n, seed)` is (DataSpec, Split) with the shapes the spec describes."""
        plugin = self.get()
        got = _example(self.plugin, self.length(), self.n, self.seed, Path("datasets"))
        assert isinstance(got, tuple) and len(got) == 2, (
            f"{self.who}: example() returned {type(got).__name__}, expected (DataSpec, Split)")
        spec, split = got
        assert isinstance(spec, DataSpec), f"{self.who}: example() spec is {spec!r}"
        assert spec.kind == plugin.kind, (f"{self.who}: example() spec.kind {spec.kind!r}, "
                                          f"but the dataset's kind is {plugin.kind!r}")
        if spec.kind == "sequence":
            assert spec.length == self.L, (f"{self.who}: example(L={self.L}) spec.length is "
                                           f"{spec.length}")
        _check_split(self.who, "example()", spec, split, self.n)

    def test_example_is_seeded(self) -> None:
        """The same seed gives the same example, bit for bit."""
        first = _example(self.plugin, self.length(), self.n, self.seed, Path("datasets"))[1]
        again = _example(self.plugin, self.length(), self.n, self.seed, Path("datasets"))[1]
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
        spec = _example(self.plugin, self.length(), 1, self.seed, Path("datasets"))[0]
        assert data.spec == spec, (f"{self.who}: loaded spec {data.spec} differs from "
                                   f"example()'s {spec}")
        for split, count in sizes.items():
            got = getattr(data, split, None)
            assert got is not None, f"{self.who}: generated split '{split}' does not load"
            _check_split(self.who, f"loaded split '{split}'", data.spec, got, count)
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
        t = np.asarray(_example(self.plugin, self.length(), self.n, self.seed,
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


_STORES: dict[str, Path] = {}  # a tiny run store per training recipe, made once per session


class ReportContract(_Contract):
    """Conformance checks for a report plugin. Subclass it as `TestSomething`, set `plugin`.

    Attributes: `plugin`; `settings` (report settings, e.g. small repeats); `models` and
    `lengths` (the --model/--L filters passed to the report); `name_runs` (pass the runs' ids,
    as `rnnlab report NAME RUN...`, for reports of named runs); `requires_runs` (the report
    refuses an empty run list with a UsageError instead of building a result); the tiny run
    store: one run of `run_model` (lstm) on `run_data` (its default dataset, generated with
    `run_sizes`) with training options `run_options`, trained once per session and copied into
    each test. Override the `runs` fixture (return run ids in `runs_dir`) to supply others.

    Checks: the entry module loads without torch; on an empty run store and on the tiny one,
    `build` returns a well-formed ReportResult (title str, columns Column, rows dicts that
    have every keyed column, cells that render, files that exist) without printing; its rows
    are plain JSON (str/int/float/bool/None/list/dict, finite floats).
    """

    kind = "report"
    models: ClassVar[list[str] | None] = None
    lengths: ClassVar[list[int] | None] = None
    name_runs: ClassVar[bool] = False
    requires_runs: ClassVar[bool] = False
    run_model: ClassVar[str] = "lstm"
    run_data: ClassVar[str] = ""
    run_sizes: ClassVar[dict[str, int] | None] = None
    run_options: ClassVar[dict[str, Any]] = {"L": 5, "epochs": 1, "hidden": 4,
                                             "batch_size": 5, "seed": 0, "device": "cpu"}

    @pytest.fixture
    def runs_dir(self, tmp_path: Path) -> Path:
        """The run store the report reads (empty unless `runs` fills it)."""
        path = tmp_path / "runs"
        path.mkdir()
        return path

    @pytest.fixture
    def runs(self, runs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
        """Ids of the runs in `runs_dir`: a copy of one tiny training run (see the class)."""
        key = json.dumps([self.run_model, self.run_data, self.run_sizes, self.run_options],
                         sort_keys=True, default=str)
        if key not in _STORES:
            _STORES[key] = self._train_store(tmp_path_factory.mktemp("rnnlab-contract-runs"))
        shutil.copytree(_STORES[key], runs_dir, dirs_exist_ok=True, symlinks=True)
        return sorted(p.name for p in runs_dir.iterdir() if not p.name.startswith("."))

    def _train_store(self, root: Path) -> Path:
        """Train one small run of `run_model` under `root`; returns its runs directory."""
        options = dict(self.run_options)
        data = self.run_data or getattr(rnnlab.get_plugin("model", self.run_model), "data", "")
        if data:
            options["data"] = data
            dataset = rnnlab.get_plugin("dataset", data)
            sizes = self.run_sizes or {split: 10 for split in dataset.sizes}
            try:
                rnnlab.gen_data(data, lengths=[options.get("L") or 5], out=root / "datasets",
                                sizes=sizes)
            except UsageError as exc:
                if "cannot generate" not in str(exc):
                    raise
        rnnlab.train(self.run_model, data_dir=str(root / "datasets"),
                     runs_dir=str(root / "runs"), **options)
        return root / "runs"

    def build(self, runs_dir: Path, out_dir: Path, run_ids: list[str] | None) -> ReportResult:
        return rnnlab.report(self.plugin, run_ids if self.name_runs else None,
                             runs_dir=runs_dir, models=self.models, lengths=self.lengths,
                             settings=dict(self.settings), out_dir=out_dir)

    def check_result(self, result: Any, what: str) -> ReportResult:
        """Assert `result` is a well-formed ReportResult; returns it."""
        who = f"{self.who} ({what})"
        assert isinstance(result, ReportResult), (
            f"{who}: build() returned {type(result).__name__}, not a ReportResult")
        assert isinstance(result.title, str), f"{who}: title is {result.title!r}, not a str"
        assert isinstance(result.columns, list) and all(
            isinstance(c, Column) for c in result.columns), (
            f"{who}: columns must be a list of rnnlab.Column, got {result.columns!r}")
        assert isinstance(result.rows, list), f"{who}: rows is {type(result.rows).__name__}"
        assert isinstance(result.notes, list) and all(
            isinstance(n, str) for n in result.notes), f"{who}: notes must be a list of str"
        for i, row in enumerate(result.rows):
            assert isinstance(row, dict), f"{who}: row {i} is {type(row).__name__}, not a dict"
            for column in result.columns:
                if column.fmt is None:
                    assert column.key in row, (f"{who}: row {i} has no key '{column.key}' of "
                                               f"column '{column.header}' (and no fmt)")
                cell = column.cell(row)
                assert isinstance(cell, str), (
                    f"{who}: column '{column.header}' renders row {i} as {cell!r}, not a str")
        for path in result.files:
            assert Path(path).is_file(), f"{who}: lists file {path}, which does not exist"
        return result

    def check_quiet(self, capsys: pytest.CaptureFixture[str], what: str) -> None:
        out, err = capsys.readouterr()
        assert out == "" and err == "", (
            f"{self.who} ({what}): build() printed (reports must return what they show):\n"
            f"stdout: {out[:300]!r}\nstderr: {err[:300]!r}")

    def check_plain_rows(self, result: ReportResult, what: str) -> None:
        _plain(result.rows, f"{self.who} ({what}): rows")
        json.dumps(result.rows, allow_nan=False)  # strict: no default=, no NaN

    def test_empty_run_store(self, runs_dir: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
        """On no runs: a well-formed, plain result without printing (or a UsageError for a
        report that `requires_runs`)."""
        capsys.readouterr()
        if self.requires_runs:
            with pytest.raises(UsageError):
                self.build(runs_dir, tmp_path / "report", [])
            self.check_quiet(capsys, "no runs")
            return
        result = self.check_result(self.build(runs_dir, tmp_path / "report", []), "no runs")
        self.check_quiet(capsys, "no runs")
        self.check_plain_rows(result, "no runs")

    def test_tiny_run_store(self, runs: list[str], runs_dir: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
        """On a tiny real run store: a well-formed result without printing."""
        assert runs, f"{self.who}: the `runs` fixture supplied no runs in {runs_dir}"
        capsys.readouterr()
        result = self.build(runs_dir, tmp_path / "report", runs)
        self.check_quiet(capsys, f"runs {', '.join(runs)}")
        self.check_result(result, f"runs {', '.join(runs)}")

    def test_rows_are_plain_json(self, runs: list[str], runs_dir: Path, tmp_path: Path) -> None:
        """Rows on the tiny run store are plain JSON values, as csv/json output needs."""
        result = self.build(runs_dir, tmp_path / "report", runs)
        self.check_plain_rows(self.check_result(result, "tiny run store"), "tiny run store")
