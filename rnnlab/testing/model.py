"""The conformance checks of a model plugin."""

from __future__ import annotations

import math
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import rnnlab
from rnnlab import DataSpec, Learner, Split
from rnnlab.testing.base import Contract
from rnnlab.testing.checks import GROUPS, arrays_equal, fetch_example, label


class ModelContract(Contract):
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
    include its primary metric; a learner that packs on the CPU trains each member of a pack
    as its solo run (skipped for one that does not).
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
            metafunc.parametrize("variant", variants, ids=[label(v) for v in variants])

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
        spec, split = fetch_example(name, self.L if kind == "sequence" else None, self.batch,
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
        assert y.shape == want, (f"{self.who} ({label(variant)}): predict() gave shape "
                                 f"{y.shape} for {spec}, expected (B, M) = {want}")
        assert np.isfinite(y).all(), f"{self.who} ({label(variant)}): non-finite predictions"
        again = np.asarray(learner.predict(split.x))
        assert np.array_equal(y, again), (f"{self.who} ({label(variant)}): predict() gave "
                                          "different outputs for the same batch twice")
        assert arrays_equal(before, self.state(learner, "after predict")), (
            f"{self.who} ({label(variant)}): predict() changed the model's state")

    def test_train_step(self, variant: dict[str, Any]) -> None:
        """A training step returns a finite float loss and changes the weights."""
        spec, split = self.example()
        learner = self.learner(variant, spec=spec)
        before = self.state(learner, "after build")
        loss = learner.train_step(split.x, split.t)
        assert isinstance(loss, float), (f"{self.who} ({label(variant)}): train_step() "
                                         f"returned {type(loss).__name__}, expected a float")
        assert math.isfinite(loss), f"{self.who} ({label(variant)}): train_step() loss {loss}"
        assert not arrays_equal(before, self.state(learner, "after a step")), (
            f"{self.who} ({label(variant)}): train_step() left every weight unchanged")

    def test_state_dict_round_trip(self, variant: dict[str, Any]) -> None:
        """A trained state loaded into a model built with another seed predicts the same."""
        spec, split = self.example()
        trained = self.learner(variant, spec=spec)
        trained.train_step(split.x, split.t)
        state = self.state(trained, "after a step")
        fresh = self.learner(variant, seed=self.seed + 1, spec=spec)
        fresh.load_state_dict(state)
        assert arrays_equal(state, self.state(fresh, "after load_state_dict")), (
            f"{self.who} ({label(variant)}): state_dict() after load_state_dict() differs "
            "from the state loaded")
        y, y_fresh = np.asarray(trained.predict(split.x)), np.asarray(fresh.predict(split.x))
        assert np.array_equal(y, y_fresh), (
            f"{self.who} ({label(variant)}): a model loaded from state_dict() predicts "
            f"differently (max |diff| {float(np.max(np.abs(y - y_fresh))):.3g})")

    def test_seed_determines_initial_state(self, variant: dict[str, Any]) -> None:
        """The same seed gives the same initial weights; another seed gives others."""
        spec = self.example()[0]
        first = self.state(self.learner(variant, spec=spec), "after build")
        same = self.state(self.learner(variant, spec=spec), "after build")
        other = self.state(self.learner(variant, seed=self.seed + 1, spec=spec), "after build")
        assert arrays_equal(first, same), (
            f"{self.who} ({label(variant)}): two builds with seed {self.seed} start from "
            "different weights (seed NumPy from config.seed)")
        assert not arrays_equal(first, other), (
            f"{self.who} ({label(variant)}): seeds {self.seed} and {self.seed + 1} give the "
            "same initial weights (the seed is ignored)")

    def test_a_pack_trains_each_member_as_its_solo_run(self, variant: dict[str, Any]) -> None:
        """Where the learner is `Packable` and packs on the CPU: two members with their own
        seeds, learning rates and batches take three packed steps; each member's losses,
        weights, predictions and optimizer state's names are its solo learner's (up to float32
        rounding: rtol 1e-4)."""
        spec = self.example()[0]
        lrs = (0.01, 0.02)

        def build(s: int) -> Learner:
            return rnnlab.build_learner(
                self.plugin, spec, settings={**self.settings, **variant},
                seed=self.seed + s, hidden=self.hidden,
                **{"device": "cpu", **self.options, "lr": lrs[s]})

        learners = [build(0), build(1)]
        if not isinstance(learners[0], rnnlab.Packable):
            pytest.skip(f"{self.who} ({label(variant)}) does not pack")
        packed = learners[0].pack(learners, "cpu")
        if packed is None:
            pytest.skip(f"{self.who} ({label(variant)}) does not pack on the CPU")
        assert isinstance(packed, rnnlab.PackedLearner), (
            f"{self.who} ({label(variant)}): pack() returned {type(packed).__name__}, "
            "expected a PackedLearner or None")
        solos = [build(0), build(1)]
        batches = [self.example(seed=self.seed + 10 + k)[1] for k in range(6)]
        for step in range(3):
            mine = batches[2 * step: 2 * step + 2]  # one batch per member
            losses = np.asarray(packed.train_packed(np.stack([b.x for b in mine]),
                                                    np.stack([b.t for b in mine])))
            alone = [solo.train_step(b.x, b.t) for solo, b in zip(solos, mine, strict=True)]
            assert np.allclose(losses, alone, rtol=1e-4, atol=1e-7), (
                f"{self.who} ({label(variant)}): packed losses {losses.tolist()} at step "
                f"{step + 1}, solo {alone}")
        x = batches[0].x
        for s, solo in enumerate(solos):
            member = packed.member(s)
            ours, theirs = member.state_dict(), solo.state_dict()
            assert sorted(ours) == sorted(theirs) and all(
                np.allclose(ours[k], theirs[k], rtol=1e-4, atol=1e-6) for k in theirs), (
                f"{self.who} ({label(variant)}): member {s}'s weights after 3 packed steps "
                "are not its solo learner's")
            assert np.allclose(member.predict(x), solo.predict(x), rtol=1e-4, atol=1e-6), (
                f"{self.who} ({label(variant)}): member {s} predicts otherwise than its solo "
                "learner")
            if isinstance(solo, rnnlab.HasOptimizerState):
                assert sorted(member.optimizer_state()) == sorted(solo.optimizer_state()), (
                    f"{self.who} ({label(variant)}): member {s}'s optimizer state holds "
                    f"{sorted(member.optimizer_state())}, its solo learner's "
                    f"{sorted(solo.optimizer_state())} (a run resumes alone)")

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
