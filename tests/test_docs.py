"""docs/plugins.md documents the whole plugin contract: every field of every dataclass a plugin
receives or returns, every attribute and method of the plugin base classes and the learner
Protocols, and every public member of `Run` appear in backticks in its Reference section; every
plugin-facing name of `rnnlab.__all__` is mentioned on the page. Adding a field to a contract
without documenting it fails here, with the missing names listed."""

from __future__ import annotations

import abc
import dataclasses
import inspect
import re
import typing
from pathlib import Path

import pytest

import rnnlab
from rnnlab import contracts, errors, events
from rnnlab.config import TrainConfig
from rnnlab.runs import Run

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"

# Events a plugin emits or an executor may pass on; the runner's own are named, not detailed.
PLUGIN_EVENTS = (events.Note, events.Progress, events.CellUpdate)
# Public names that are plugin-facing although not defined in contracts/errors/events.
PLUGIN_FACING = {"Run", "TrainConfig", "Event", "EventSink", "atomic_write", "read_input",
                 "NumpyOptimizer", "NumpyOptimized", "get_plugin", "example", "build_learner",
                 "default_dataset", "subnormals_flushed"}
INHERITED = set(dir(object)) | set(dir(abc.ABC)) | set(dir(typing.Protocol))


def page() -> str:
    return DOC.read_text(encoding="utf-8")


def reference() -> str:
    """The text of the '## Reference' section (up to the next '## ' heading)."""
    match = re.search(r"^## Reference[ \t]*$(.*?)(?=^## |\Z)", page(), re.M | re.S)
    assert match, f"{DOC}: no '## Reference' section"
    return match.group(1)


def in_backticks(name: str, text: str) -> bool:
    """`name`, `name(...)`, `obj.name` or `name: type` inside backticks."""
    return re.search(r"`(?:[\w.]+\.)?" + re.escape(name) + r"(?![\w])", text) is not None


def public(names: typing.Iterable[str]) -> set[str]:
    return {n for n in names if not n.startswith("_")}


def own_methods(cls: type) -> set[str]:
    return public(n for n, v in vars(cls).items() if inspect.isfunction(v))


def in_contracts(obj: object) -> bool:
    """Defined in rnnlab.contracts (one of its modules)."""
    module = getattr(obj, "__module__", None) or ""
    return module == contracts.__name__ or module.startswith(contracts.__name__ + ".")


def contract_classes() -> list[type]:
    return [obj for _, obj in inspect.getmembers(contracts, inspect.isclass) if in_contracts(obj)]


def documented_members() -> list[tuple[str, set[str]]]:
    """(class name, names that must be documented) for every contract a plugin meets."""
    members: list[tuple[str, set[str]]] = []
    for cls in contract_classes():
        if dataclasses.is_dataclass(cls):
            names = {f.name for f in dataclasses.fields(cls)} | own_methods(cls)
        elif getattr(cls, "_is_protocol", False):
            names = public(dir(cls)) | public(getattr(cls, "__annotations__", {}))
        elif issubclass(cls, contracts.Plugin):
            names = public(dir(cls))
        else:
            continue
        members.append((cls.__name__, names - INHERITED))
    for cls in (*PLUGIN_EVENTS, TrainConfig):
        members.append((cls.__name__, {f.name for f in dataclasses.fields(cls)}))
    run = Run(Path("20250101-000000-model-abcdef"))  # reads nothing until asked
    members.append(("Run", (public(dir(Run)) | public(vars(run))) - INHERITED))
    return members


def test_the_reference_section_exists_and_names_each_contract() -> None:
    text = reference()
    missing = [name for name, _ in documented_members() if not in_backticks(name, text)]
    assert not missing, (f"{DOC} Reference section does not name these contracts in "
                         f"backticks: {', '.join(missing)}")


@pytest.mark.parametrize(("owner", "names"), documented_members(),
                         ids=[name for name, _ in documented_members()])
def test_every_public_member_is_in_the_reference(owner: str, names: set[str]) -> None:
    text = reference()
    missing = sorted(n for n in names if not in_backticks(n, text))
    assert not missing, (f"{DOC} Reference section lacks these public members of {owner} "
                         f"(in backticks, e.g. `{missing[0]}`): {', '.join(missing)}")


def test_every_plugin_facing_public_name_is_mentioned() -> None:
    modules = {errors.__name__, events.__name__}
    facing = sorted(n for n in rnnlab.__all__ if n in PLUGIN_FACING or in_contracts(
        getattr(rnnlab, n, None)) or getattr(getattr(rnnlab, n, None), "__module__", None)
        in modules)
    text = page()
    missing = [n for n in facing if not in_backticks(n, text)]
    assert not missing, (f"{DOC} does not mention these plugin-facing names of "
                         f"rnnlab.__all__ (in backticks): {', '.join(missing)}")


def test_every_contract_module_is_seen() -> None:
    """The classes checked above come from each module of rnnlab.contracts."""
    names = {cls.__name__ for cls in contract_classes()}
    assert {"Setting", "Plugin", "DatasetPlugin", "Split", "ModelPlugin", "Learner", "Timing",
            "ReportPlugin", "Column", "ExecutorPlugin", "SweepCell"} <= names


def test_the_check_itself_finds_a_missing_name() -> None:
    assert in_backticks("data_dir", "the `request.data_dir / name` folder")
    assert in_backticks("build", "`build(spec, config)`")
    assert not in_backticks("state_dict", "`load_state_dict(state)`")
    assert not in_backticks("data_dir", "data_dir without backticks")
