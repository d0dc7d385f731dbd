"""The core knows no plugin by name, never renders outside ui.py, and plugins import only
rnnlab's public API."""

from __future__ import annotations

import ast
from pathlib import Path

import rnnlab

ROOT = Path(__file__).resolve().parents[1]
CORE = sorted((ROOT / "rnnlab").glob("*.py"))
PLUGIN_FILES = sorted((ROOT / "plugins").rglob("*.py"))


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_core_imports_no_plugin_module():
    for path in CORE:
        for name in imports(path):
            assert not name.startswith(("rnnlab_plugins", "plugins", "rnnlab_gru")), (
                f"{path.name} imports {name}")
    text = "\n".join(p.read_text() for p in CORE)
    assert "rnnlab_plugins" not in text


def test_only_the_ui_and_cli_render():
    for path in CORE:
        if path.name in ("ui.py", "cli.py"):
            continue
        for name in imports(path):
            assert not name.startswith(("rich", "typer")), f"{path.name} imports {name}"


def test_plugins_use_only_the_public_api():
    public = set(rnnlab.__all__)
    for path in PLUGIN_FILES:
        for name in imports(path):
            if name.startswith("rnnlab.") and not name.startswith("rnnlab_plugins"):
                assert name.split(".", 1)[1] in public, f"{path} imports {name}"
