"""The light-entry-module probe: load one plugin in a fresh interpreter where importing the
heavy modules (torch, ...) fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rnnlab.testing.checks import plugin_label

# Run in a fresh interpreter: blocks the named top-level modules, then loads one plugin through
# the registry (which imports only its entry module).
IMPORT_PROBE = textwrap.dedent("""
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


def check_light_import(kind: str, name: str, blocked: tuple[str, ...], cwd: Path) -> None:
    """Load plugin `name` in a subprocess where importing `blocked` modules fails."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # e.g. fake dists in tests
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, kind, name, json.dumps(list(blocked))],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=60,
    )
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
    if proc.returncode == 3:
        pytest.skip(f"cannot check {plugin_label(kind, name)}'s imports: {tail}")
    assert proc.returncode == 0, (
        f"{plugin_label(kind, name)}: its entry module must load without importing "
        f"{', '.join(blocked)} (import them inside build/load/metrics); loading it with them "
        f"blocked failed:\n{tail}")
