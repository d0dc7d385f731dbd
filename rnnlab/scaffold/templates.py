"""The templates of `rnnlab new-plugin`, by kind: the pyproject.toml and README every package
gets, and the README lines, module and tests of each plugin kind (one module per kind).

string.Template text ($name, $module, $cls, ...); the generated code is ruff clean."""

from __future__ import annotations

from rnnlab.scaffold import dataset, model, report

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

_KINDS = {"model": model, "dataset": dataset, "report": report}

README = {kind: texts.README for kind, texts in _KINDS.items()}
MODULES = {kind: texts.MODULE for kind, texts in _KINDS.items()}
TESTS = {kind: texts.TESTS for kind, texts in _KINDS.items()}
