"""The base of every contract: the plugin under test, a scratch working directory, and the
check that its entry module loads light."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

import rnnlab
from rnnlab.testing.checks import plugin_label
from rnnlab.testing.probe import check_light_import


class Contract:
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
        return plugin_label(self.kind, self.plugin)

    def get(self) -> Any:
        assert self.plugin, f"{type(self).__name__}: set `plugin` to the registered name"
        return rnnlab.get_plugin(self.kind, self.plugin)

    def test_entry_module_is_light(self, tmp_path: Path) -> None:
        """Loading the plugin imports only its light entry module (no torch)."""
        self.get()  # loads here first, so a plain load failure is reported as such
        check_light_import(self.kind, self.plugin, tuple(self.blocked_imports), tmp_path)
