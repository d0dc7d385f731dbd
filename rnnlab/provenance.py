"""Where a run came from (provenance.json): versions, seed, command line, and the data files
it was trained on with their SHA-256, so that a resume or an evaluation can insist on the
same data."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from rnnlab import numerics
from rnnlab.config import TrainConfig
from rnnlab.contracts import Data
from rnnlab.errors import DataError, RnnlabError
from rnnlab.registry import Registry
from rnnlab.run import Run


def file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return digest.hexdigest(), size


def data_record(data: Data, data_dir: str | Path) -> dict[str, dict[str, Any]]:
    """{split: {path, relative, sha256, bytes}} of the files `data` was read from; `relative`
    (to the data directory) lets `--data-dir` point at a moved copy."""
    root = Path(data_dir).resolve()
    record = {}
    for split, path in data.files.items():
        real = Path(path).resolve()
        sha256, size = file_sha256(real)
        try:
            relative: str | None = str(real.relative_to(root))
        except ValueError:
            relative = None
        record[split] = {"path": str(real), "relative": relative, "sha256": sha256,
                         "bytes": size}
    return record


def provenance(cfg: TrainConfig, registry: Registry, device: str,
               data_source: Any) -> dict[str, Any]:
    """provenance.json of a new run, but for its data files (see `data_record`)."""
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = None
    model_info = registry.find("model", cfg.model)
    data_info = registry.find("dataset", cfg.data)
    import numpy as np

    torch = sys.modules.get("torch")  # not imported: the run did not use it

    return {
        "seed": cfg.seed,
        "rnnlab": version("rnnlab"),
        "model_plugin": {"dist": model_info.dist, "version": model_info.version},
        "dataset_plugin": {"dist": data_info.dist, "version": data_info.version},
        "torch": torch.__version__ if torch is not None else version("torch"),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": numerics.cpu(),
        "device": device,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "blas_environment": numerics.recorded(),
        "git_commit": commit,
        "command": sys.argv,
        "data_source": data_source,
    }


def recorded_files(run: Run, data_dir: str | Path | None) -> dict[str, dict[str, Any]]:
    """The data files `run` recorded ({} if none: an older rnnlab's run), each checked on
    disk, at its recorded path or under `data_dir` (a moved copy): there and unchanged. A
    file the dataset found by itself (no `relative` path, e.g. bundled) is checked later,
    by `check_loaded`."""
    record = run.provenance.get("data_files")
    if not record:
        return {}
    if not isinstance(record, dict) or not all(
            isinstance(e, dict) and isinstance(e.get("path"), str)
            and isinstance(e.get("sha256"), str) for e in record.values()):
        raise RnnlabError(f"{run.dir / 'provenance.json'}: 'data_files' is malformed")
    hint = _hint(data_dir)
    for split, entry in record.items():
        expected = Path(entry["path"])
        if data_dir is not None and isinstance(entry.get("relative"), str):
            expected = Path(data_dir) / entry["relative"]
        if not expected.is_file():
            if expected.exists():
                raise DataError(f"{expected}: not a regular file; run {run.id} was trained on "
                                f"a file there{hint}")
            if entry.get("relative") is None:
                continue  # found by the dataset itself (e.g. bundled files); checked later
            raise DataError(f"{expected}: missing; run {run.id} was trained on it{hint}")
        if file_sha256(expected)[0] != entry["sha256"]:
            raise DataError(f"{expected}: differs from the {split} data run {run.id} was "
                            f"trained on (sha256 {entry['sha256'][:12]}...); refusing to use "
                            "other data")
    return record


def check_loaded(run: Run, record: dict[str, dict[str, Any]], data: Data,
                 data_dir: str | Path, moved: str | Path | None) -> None:
    """The files `data` was loaded from (under `data_dir`) must be the ones `record` names,
    hash for hash; `moved` is the --data-dir the user gave, if any."""
    loaded = data_record(data, data_dir)
    for split, entry in record.items():
        got = loaded.get(split)
        if got is None or got["sha256"] != entry["sha256"]:
            where = got["path"] if got else f"the {split} split"
            raise DataError(f"{where}: differs from the {split} data run {run.id} was trained "
                            f"on (sha256 {entry['sha256'][:12]}...){_hint(moved)}")


def check_given(run: Run, files: dict[str, dict[str, Any]]) -> None:
    """Data loaded elsewhere (by a Dask client), sent along with its `data_record`, must be
    the data `run` recorded."""
    recorded = run.provenance.get("data_files") or {}
    if {k: e.get("sha256") for k, e in files.items()} != \
            {k: e.get("sha256") for k, e in recorded.items() if isinstance(e, dict)}:
        raise DataError(f"run {run.id}: the data sent along is not the data it was trained on "
                        "(content hashes differ)")


def _hint(data_dir: str | Path | None) -> str:
    return "; if the data moved, point --data-dir at the copy" if data_dir is None else ""
