"""`rnnlab new-plugin`: check the kind and name, render the templates, and write the package
into a temporary directory next to the target, renamed at the end: all or nothing, and an
existing directory is never touched."""

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
from rnnlab.scaffold.templates import MODULES, PYPROJECT, README, README_TEXT, TESTS

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
