"""Shared fixtures: a scratch working directory, small adding-task data, a CLI driver and
fake installed distributions (real dist-info entry points on sys.path)."""

from __future__ import annotations

import contextlib
import io
import sys
import textwrap
from pathlib import Path

import pytest

import rnnlab
from rnnlab import registry as plugin_registry
from rnnlab.cli import main, state

SIZES = {"train": 200, "dev": 100, "test": 100}


@pytest.fixture(autouse=True)
def fresh_registry():
    """Every test discovers plugins anew and starts without --debug."""
    plugin_registry.reset()
    debug = state["debug"]
    state["debug"] = False
    yield
    plugin_registry.reset()
    state["debug"] = debug


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty current directory, so runs/ and datasets/ land in tmp."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RNNLAB_PLUGINS", raising=False)
    monkeypatch.delenv("RNNLAB_DEBUG", raising=False)
    return tmp_path


@pytest.fixture
def small_data(workdir):
    """Adding-task files for L=10 with 200/100/100 sequences in ./datasets/adding."""
    return rnnlab.gen_data("adding", lengths=[10], out="datasets", sizes=SIZES)


class Result:
    def __init__(self, exit_code: int, stdout: str, stderr: str, exception: BaseException | None):
        self.exit_code, self.stdout, self.stderr, self.exception = (
            exit_code, stdout, stderr, exception)


@pytest.fixture
def cli():
    """Run the CLI in-process, as the console script does: cli("train", "lstm", ...) ->
    Result(exit_code, stdout, stderr, exception)."""

    def invoke(*args: str) -> Result:
        plugin_registry.reset()
        out, err = io.StringIO(), io.StringIO()
        code, exception = 0, None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except Exception as exc:  # only with --debug: the error is re-raised
                code, exception = 1, exc
        return Result(code, out.getvalue(), err.getvalue(), exception)

    return invoke


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """Install a distribution for this test only: fake_dist(name, entry_points, modules)."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def make(name: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str],
             version: str = "1.0") -> Path:
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = []
        for group, entries in entry_points.items():
            lines.append(f"[{group}]")
            lines += [f"{k} = {v}" for k, v in entries.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for module, source in modules.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
        for module in modules:
            sys.modules.pop(module, None)
        plugin_registry.reset()
        return site

    yield make
    for path in site.glob("*.py"):
        sys.modules.pop(path.stem, None)


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_JUNK = ("build", "dist", "*.egg-info", "__pycache__")  # leftovers of older installs


@pytest.fixture(scope="session")
def examples_site(tmp_path_factory) -> Path:
    """Every package under examples/ pip-installed once per session into a scratch folder
    (never into the venv). Clean copies are installed, so a stale build/ or *.egg-info inside
    examples/ can neither be picked up nor be added to."""
    import importlib.util
    import shutil
    import subprocess

    root = tmp_path_factory.mktemp("examples")
    sources = []
    for project in sorted(EXAMPLES.glob("*/pyproject.toml")):
        copy = root / "src" / project.parent.name
        shutil.copytree(project.parent, copy, ignore=shutil.ignore_patterns(*EXAMPLE_JUNK))
        sources.append(str(copy))
    site = root / "site"
    # offline with the venv's setuptools; a venv without it (Python >= 3.12 makes none) lets
    # pip fetch setuptools into an isolated build environment instead
    offline = ["--no-build-isolation", "--no-index"] if importlib.util.find_spec(
        "setuptools") else []
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", *offline,
         "--disable-pip-version-check", "--quiet", "--target", str(site), *sources],
        capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"pip could not install examples/:\n{done.stdout}{done.stderr}")
    return site


@pytest.fixture
def examples_installed(examples_site, monkeypatch, request) -> Path:
    """The example plugins (rnnlab-gru, rnnlab-parity, rnnlab-bestrun) for this test: their
    install folder first on sys.path and on PYTHONPATH (for CLI subprocesses), registry reset."""
    import os

    monkeypatch.syspath_prepend(str(examples_site))  # also invalidates the import caches
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(examples_site), os.environ.get("PYTHONPATH", "")) if p))
    modules = [path.stem for path in examples_site.glob("*.py")]

    def forget() -> None:  # the next test imports them anew, from wherever it finds them
        for module in modules:
            sys.modules.pop(module, None)
        plugin_registry.reset()

    forget()
    request.addfinalizer(forget)
    return examples_site
