"""`rnnlab new-plugin`: write a pip-installable plugin package to start from.

One package `rnnlab-NAME/` per call: `pyproject.toml` with the entry point, a one-file module
`rnnlab_NAME` that works as written, a README, and tests on rnnlab's conformance kit
(`rnnlab.testing`). Everything is written into a temporary directory next to the target and
renamed at the end: all or nothing, and an existing directory is never touched.
"""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
import shlex
import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from string import Template

from rnnlab.errors import RnnlabError, UsageError

GROUPS = {"model": "rnnlab.models", "dataset": "rnnlab.datasets", "report": "rnnlab.reports"}
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MAX_NAME = 40  # keeps the generated lines within 100 characters


@dataclass(frozen=True)
class Plugin:
    """A package `new-plugin` wrote: `root` is rnnlab-NAME/, `files` are relative to it."""

    kind: str
    name: str
    root: Path
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def dist(self) -> str:
        return f"rnnlab-{self.name}"

    @property
    def module(self) -> str:
        return f"rnnlab_{self.name.replace('-', '_')}"


def check_kind(kind: str) -> None:
    if kind not in GROUPS:
        raise UsageError(f"KIND expects {'|'.join(GROUPS)}, got '{kind}'")


def check_name(kind: str, name: str) -> None:
    """A name users can type and pip can install; UsageError names NAME and what is expected."""
    if not NAME_PATTERN.fullmatch(name):
        raise UsageError(f"NAME '{name}' is not valid: expected lowercase letters, digits and "
                         "single '-', starting with a letter and ending with a letter or digit "
                         "(e.g. my-rnn)")
    if len(name) > MAX_NAME:
        raise UsageError(f"NAME '{name}' is too long: expected at most {MAX_NAME} characters")
    module = f"rnnlab_{name.replace('-', '_')}"
    if importlib.util.find_spec(module) is not None:  # e.g. rnnlab's own bundled plugins
        raise UsageError(f"NAME '{name}' is taken: a module {module} is already installed")
    if name in bundled(kind):
        raise UsageError(f"NAME '{name}' is taken: rnnlab bundles a {kind} '{name}', which "
                         "would always be chosen over yours")


def bundled(kind: str) -> set[str]:
    """Names of rnnlab's own plugins of a kind (entry-point metadata only; nothing imported)."""
    return {ep.name for ep in metadata.entry_points(group=GROUPS[kind])
            if ep.dist is not None and ep.dist.name.lower() == "rnnlab"}


def class_name(kind: str, name: str) -> str:
    """'my-rnn' -> 'MyRnnModel'; the kind is appended unless the name ends with it."""
    camel = "".join(part.capitalize() for part in name.split("-"))
    suffix = kind.capitalize()
    return camel if camel.endswith(suffix) else camel + suffix


def render(kind: str, name: str) -> dict[str, str]:
    """The package's files (relative path -> text) for a valid `kind` and `name`."""
    module = f"rnnlab_{name.replace('-', '_')}"
    values = {
        "name": name, "dist": f"rnnlab-{name}", "module": module, "kind": kind,
        "cls": class_name(kind, name), "group": GROUPS[kind], "kit": f"{kind.capitalize()}Contract",
        "test": f"test_{name.replace('-', '_')}",
    }
    values.update({key: Template(text).substitute(values) for key, text in README[kind].items()})
    return {
        "pyproject.toml": Template(PYPROJECT).substitute(values),
        "README.md": Template(README_TEXT).substitute(values),
        f"{module}.py": Template(MODULES[kind]).substitute(values),
        f"tests/{values['test']}.py": Template(TESTS[kind]).substitute(values),
    }


def create(kind: str, name: str, where: Path | str = ".") -> Plugin:
    """Write `where/rnnlab-NAME/`; UsageError (nothing written) for a bad kind or name, or if
    the directory exists."""
    check_kind(kind)
    check_name(kind, name)
    parent = Path(where)
    root = parent / f"rnnlab-{name}"
    if os.path.lexists(root):
        raise UsageError(f"{root} already exists; choose another NAME or --dir (nothing was "
                         "written)")
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"--dir {parent} is not a directory")
    files = render(kind, name)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = parent / f".rnnlab-{name}.{secrets.token_hex(4)}.tmp"
        staging.mkdir()
    except OSError as exc:
        raise RnnlabError(f"cannot write in {parent} ({exc.strerror or exc})") from None
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if os.path.lexists(root):  # made by someone else while we wrote
            raise UsageError(f"{root} already exists; choose another NAME or --dir (nothing "
                             "was written)")
        staging.rename(root)
    except OSError as exc:
        raise RnnlabError(f"cannot write {root} ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone after the rename; left over on error
    warnings = []
    try:
        version = metadata.version(f"rnnlab-{name}")
        warnings.append(f"rnnlab-{name} {version} is already installed; installing the new "
                        "package replaces it")
    except metadata.PackageNotFoundError:
        pass
    return Plugin(kind, name, root, [Path(p) for p in files], warnings)


def next_steps(plugin: Plugin) -> list[str]:
    """What to run after `create`, as shell lines (paths quoted)."""
    root = shlex.quote(str(plugin.root))
    use = {
        "model": f"rnnlab train {plugin.name} --L 10 --epochs 2",
        "dataset": f"rnnlab gen-data {plugin.name} --L 10 && "
                   f"rnnlab train lstm --data {plugin.name} --L 10 --epochs 2",
        "report": f"rnnlab report {plugin.name}",
    }[plugin.kind]
    return [
        f"pip install -e {root}",
        f"rnnlab plugins # lists {plugin.kind} '{plugin.name}' from {plugin.dist}",
        f"pytest {shlex.quote(str(plugin.root / 'tests'))}",
        use,
        f"then edit {shlex.quote(str(plugin.root / (plugin.module + '.py')))} (see its README)",
    ]


# ---------------------------------------------------------------------------------------------
# templates: string.Template text ($name, $module, $cls, ...); generated code is ruff clean

PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "An rnnlab $kind plugin: $name."
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["rnnlab"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points."$group"]
$name = "$module:$cls"

[tool.setuptools]
py-modules = ["$module"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100
target-version = "py310"

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP"]
"""

README_TEXT = """\
# $dist

An rnnlab $kind plugin, `$name`: $what
Written by `rnnlab new-plugin`; it works as written, so install it and run its tests first,
then make it yours.

## Install

    pip install -e .       # in this directory, into the environment rnnlab is installed in
    rnnlab plugins         # lists the $kind '$name' from $dist, status ok

## Use

    $use

## Edit

- `$module.py`: $edit
- Keep the module light: import torch and NumPy inside the methods, so `rnnlab plugins` and
  `rnnlab --help` stay fast.
- `pyproject.toml` registers the plugin: `$name = "$module:$cls"` under
  `[project.entry-points."$group"]`. Change the name there and reinstall to rename it.
- What rnnlab passes in and expects back: `docs/plugins.md` in rnnlab's repository.

## Test

    pip install -e ".[test]"
    pytest

`tests/$test.py` runs rnnlab's conformance kit, `rnnlab.testing.$kit`: the checks every
$kind must pass. Add your own tests next to it.
"""

README = {
    "model": {
        "what": "a small Elman RNN with a linear read-out of the last step.",
        "use": "rnnlab train $name --L 10 --epochs 5\n"
               "    rnnlab train $name --L 10 --epochs 5 --set activation=relu",
        "edit": "`build` returns a fresh `torch.nn.Module` mapping a (B, L, D) batch to\n"
                "  (B, M); rnnlab trains it (SGD or Adam on MSE loss), checkpoints and "
                "evaluates it.\n  Add options to `settings`; users give them as "
                "`--set key=value`.",
    },
    "dataset": {
        "what": "is the first value of the sequence positive?",
        "use": "rnnlab gen-data $name --L 10        # datasets/$name/*.csv\n"
               "    rnnlab train lstm --data $name --L 10 --epochs 5",
        "edit": "`draw` makes the sequences and targets; `load` reads the CSV files back\n"
                "  (generating them when missing), `metrics` scores predictions and must "
                "include\n  `primary_metric`, `example` draws a small batch in memory.",
    },
    "report": {
        "what": "a table of runs (model, L, status, test score).",
        "use": "rnnlab report $name\n    rnnlab report $name --format json --set "
               "status=completed",
        "edit": "`build` turns `request.runs` into rows (plain dicts) and columns; a report\n"
                "  never prints, rnnlab renders it as a table, markdown, csv or json.",
    },
}

MODULES = {
    "model": '''\
"""rnnlab model plugin `$name`.

A small Elman RNN with a linear read-out of the last step. Edit `build` to make it your model.
The module stays light: torch is imported inside `build`, so `rnnlab plugins` lists the plugin
without loading torch.
"""

from __future__ import annotations

from typing import Any

from rnnlab import DataSpec, ModelPlugin, Setting, TrainConfig


class $cls(ModelPlugin):
    summary = "Elman RNN + linear read-out of the last step (rnnlab new-plugin)."
    settings = {
        "activation": Setting("tanh", "recurrent nonlinearity", choices=("tanh", "relu")),
    }

    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        """A fresh torch module mapping (B, L, D) inputs to (B, M) outputs."""
        import torch  # heavy imports inside build, so listing plugins stays fast
        from torch import nn

        act = torch.relu if config.settings["activation"] == "relu" else torch.tanh

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inp = nn.Linear(spec.input_dim, config.hidden)  # x_t -> (P,)
                self.rec = nn.Linear(config.hidden, config.hidden, bias=False)  # h_{t-1} -> (P,)
                self.out = nn.Linear(config.hidden, spec.output_dim)  # h_L -> (M,)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                h = x.new_zeros(x.shape[0], self.rec.in_features)  # (B, P)
                for step in range(x.shape[1]):
                    h = act(self.inp(x[:, step]) + self.rec(h))
                return self.out(h)  # (B, M)

        return Net()
''',
    "dataset": '''\
"""rnnlab dataset plugin `$name`.

Is the first value of the sequence positive? A sequence holds L values uniform in [-1, 1]
(D = 1); its target is 1 when the first value is positive, else 0 (M = 1). `rnnlab gen-data`
writes one CSV file per L and split under DATA_DIR/NAME/ (a row: the L values, then the
target); `load` reads them back and generates them first when they are missing. Edit `draw` to
make it your task. The module stays light: NumPy is imported inside the functions.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rnnlab import (
    Data,
    DataError,
    DataRequest,
    DatasetPlugin,
    DataSpec,
    EventSink,
    GenerateRequest,
    Note,
    Split,
    UsageError,
    atomic_write,
)

if TYPE_CHECKING:
    import numpy as np

NAME = "$name"
SPLITS = ("train", "dev", "test")
SIZES = {"train": 1000, "dev": 200, "test": 200}  # `rnnlab gen-data --n-train ...` overrides


def file_name(L: int, split: str) -> str:
    """The file of one split, e.g. ${name}_L010_train.csv."""
    return f"{NAME}_L{L:03d}_{split}.csv"


def draw(L: int, n: int, seed: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Sequences x (n, L, 1) and targets t (n, 1): one seed, L and split, one draw."""
    import numpy as np

    rng = np.random.default_rng([seed, L, SPLITS.index(split)])
    x = np.round(rng.uniform(-1.0, 1.0, (n, L, 1)), 4).astype(np.float32)  # (n, L, 1)
    t = (x[:, 0, :] > 0).astype(np.float32)  # (n, 1): is the first value positive?
    return x, t


def to_csv(x: np.ndarray, t: np.ndarray) -> str:
    """One row per sequence: its L values, then its target."""
    import numpy as np

    buffer = io.StringIO()
    np.savetxt(buffer, np.concatenate([x[:, :, 0], t], axis=1), fmt="%.4f", delimiter=",")
    return buffer.getvalue()


def read(path: Path, L: int) -> tuple[np.ndarray, np.ndarray]:
    """A split file back as x (n, L, 1) and t (n, 1); DataError names the file if it is bad."""
    import numpy as np

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file: reported below
            rows = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: {exc}") from None
    if len(rows) == 0 or rows.shape[1] != L + 1 or not np.isfinite(rows).all():
        raise DataError(f"{path}: expected rows of {L + 1} numbers (L={L} values, then the "
                        "target)")
    return rows[:, :L, None].astype(np.float32), rows[:, L:].astype(np.float32)


def write(request: GenerateRequest, splits: Sequence[str]) -> list[Path]:
    """Write the files of `splits` for every L; all contents are checked before any is
    written, so a refusal leaves no files."""
    planned: list[tuple[Path, str]] = []
    for L in request.lengths:
        for split in splits:
            path = request.out / file_name(L, split)
            n = request.sizes.get(split, SIZES[split])
            text = to_csv(*draw(L, n, request.seed, split))
            if path.exists() and not request.force and path.read_text() != text:
                raise UsageError(f"{path} exists with different content; use --force to "
                                 "replace it")
            planned.append((path, text))
    request.out.mkdir(parents=True, exist_ok=True)
    for path, text in planned:
        atomic_write(path, text)
    return [path for path, _ in planned]


class $cls(DatasetPlugin):
    summary = "Is the first value positive? L values in [-1, 1] (rnnlab new-plugin)."
    kind = "sequence"
    sizes = SIZES
    primary_metric = "accuracy"
    percentages = ("accuracy",)  # shown with %

    def load(self, request: DataRequest, emit: EventSink = lambda e: None) -> Data:
        """The splits for L from DATA_DIR/NAME/, generated there (seed 0) when missing."""
        L = request.L or 100
        folder = Path(request.data_dir) / NAME
        paths = {split: folder / file_name(L, split) for split in SPLITS}
        missing = [split for split, path in paths.items() if not path.exists()]
        if missing and not request.generate:
            raise DataError(f"{paths[missing[0]]}: file not found ({NAME} data for L={L})")
        if missing:
            emit(Note(f"no {NAME} data for L={L} in {folder}: generating it (seed 0)"))
            write(GenerateRequest([L], folder, seed=0, sizes=dict(self.sizes)), missing)
        splits = {split: Split(*read(path, L)) for split, path in paths.items()}
        return Data(spec=DataSpec("sequence", 1, 1, L), train=splits["train"],
                    dev=splits["dev"], test=splits["test"], source=str(folder), files=paths)

    def metrics(self, y: np.ndarray, t: np.ndarray) -> dict[str, float]:
        """Accuracy (%, an output above 0.5 means "positive") and mean squared error."""
        import numpy as np

        y = np.asarray(y, np.float64)
        return {"accuracy": float(100.0 * np.mean((y > 0.5) == (t > 0.5))),
                "mse": float(np.mean((y - t) ** 2))}

    def generate(self, request: GenerateRequest, emit: EventSink = lambda e: None) -> list[Path]:
        """Write the CSV files of every L and split under request.out: same seed, same bytes."""
        return write(request, SPLITS)

    def example(self, L: int | None, n: int, seed: int = 0) -> tuple[DataSpec, Split]:
        """`n` training sequences drawn in memory (nothing is written)."""
        L = L or 100
        return DataSpec("sequence", 1, 1, L), Split(*draw(L, n, seed, "train"))
''',
    "report": '''\
"""rnnlab report plugin `$name`.

One row per run: model, L, status, test score. `rnnlab report` renders it as a table, markdown,
csv or json. Edit `build` to make it your report: a report never prints, it returns rows (plain
dicts) and/or files.
"""

from __future__ import annotations

from typing import Any

from rnnlab import Column, ReportPlugin, ReportRequest, ReportResult, Setting


def score(row: dict[str, Any]) -> str:
    """The test cell: value and metric, e.g. '98.5 accuracy'."""
    if row["test"] is None:
        return "-"
    return f"{row['test']:.4g} {row['metric']}"


class $cls(ReportPlugin):
    summary = "One row per run: model, L, status, test score (rnnlab new-plugin)."
    settings = {"status": Setting("", "only runs with this status, e.g. completed")}

    def build(self, request: ReportRequest) -> ReportResult:
        """Rows sorted by model, L and run id; csv and json get them as they are."""
        wanted = request.settings.get("status", "")
        rows: list[dict[str, Any]] = []
        for run in request.runs:
            metric = run.summary.get("primary_metric", "")
            row = {"run": run.id, "model": run.config.get("model"), "L": run.config.get("L"),
                   "status": run.state(), "metric": metric,
                   "test": (run.summary.get("test") or {}).get(metric)}
            if not wanted or row["status"] == wanted:
                rows.append(row)
        rows.sort(key=lambda r: (str(r["model"]), r["L"] if isinstance(r["L"], int) else -1,
                                 r["run"]))
        columns = [Column("run", "run"), Column("model", "model"), Column("L", "L"),
                   Column("status", "status"), Column("test", fmt=score)]
        return ReportResult(title=f"runs ({len(rows)})", columns=columns, rows=rows,
                            notes=[] if rows else ["no runs match"])
''',
}

TESTS = {
    "model": '''\
"""Tests of `$name`: rnnlab's conformance kit, then your own."""

from __future__ import annotations

import rnnlab
from rnnlab import DataSpec
from rnnlab.testing import ModelContract

PLUGIN = "$name"


class Test$cls(ModelContract):
    plugin = PLUGIN
    variants = ({"activation": "tanh"}, {"activation": "relu"})  # each check runs for both


def test_output_remembers_the_first_step() -> None:
    import numpy as np

    learner = rnnlab.build_learner(PLUGIN, DataSpec("sequence", 2, 1, 5), hidden=4)
    x = np.zeros((1, 5, 2), np.float32)
    changed = x.copy()
    changed[0, 0] = 1.0
    assert learner.predict(x)[0, 0] != learner.predict(changed)[0, 0]
''',
    "dataset": '''\
"""Tests of `$name`: rnnlab's conformance kit, then your own."""

from __future__ import annotations

import rnnlab
from rnnlab.testing import DatasetContract

PLUGIN = "$name"


class Test$cls(DatasetContract):
    plugin = PLUGIN


def test_target_says_whether_the_first_value_is_positive() -> None:
    spec, split = rnnlab.get_plugin("dataset", PLUGIN).example(5, 50, seed=1)
    assert (spec.input_dim, spec.output_dim, spec.length) == (1, 1, 5)
    assert ((split.x[:, 0, 0] > 0) == (split.t[:, 0] == 1)).all()
    assert 0 < split.t.sum() < 50
''',
    "report": '''\
"""Tests of `$name`: rnnlab's conformance kit, then your own."""

from __future__ import annotations

from pathlib import Path

import rnnlab
from rnnlab import ReportRequest
from rnnlab.testing import ReportContract

PLUGIN = "$name"


class Test$cls(ReportContract):
    plugin = PLUGIN


def test_no_runs_make_an_empty_table_with_a_note(tmp_path: Path) -> None:
    request = ReportRequest(runs=[], run_ids=[], models=[], lengths=[],
                            settings={"status": ""}, out_dir=tmp_path)
    result = rnnlab.get_plugin("report", PLUGIN).build(request)
    assert result.rows == [] and result.notes == ["no runs match"]
''',
}
