"""15x15 image pickles in the course format (AutoEncNetLite's data).

Entry module: light on purpose; NumPy and Pillow work happens in `safe_pickle` and `digits`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnlab import (
    Data,
    DataRequest,
    DatasetPlugin,
    DataSpec,
    EventSink,
    GenerateRequest,
    Progress,
    Setting,
    Split,
    UsageError,
)

FILES = {"train": "images_train.pickle", "test": "images_test.pickle"}


def bundled_dir() -> Path:
    """The default set, shipped inside this package (bundled/)."""
    return Path(__file__).resolve().parent / "bundled"


class Images(DatasetPlugin):
    summary = ("15x15 grey images in the course's pickle format; a bundled set of 1,000 + 20 "
               "digits, or your own files (--set train=PATH --set test=PATH).")
    kind = "image"
    sizes = {"train": 1_000, "test": 20}
    primary_metric = "mse"
    higher_is_better = False
    default = True  # the image dataset of models that name none
    report = "accuracy"
    settings = {
        "train": Setting("", "training images pickle (default: DATA_DIR/images/, else bundled)"),
        "test": Setting("", "test images pickle (default: DATA_DIR/images/, else bundled)"),
    }

    def path(self, request: DataRequest, split: str) -> Path:
        given = request.settings.get(split, "")
        if given:
            return Path(given)
        local = Path(request.data_dir) / "images" / FILES[split]
        return local if local.is_file() else bundled_dir() / FILES[split]

    def load(self, request: DataRequest, emit: EventSink = lambda e: None) -> Data:
        from rnnlab_plugins.image_pickles.safe_pickle import read

        paths = {split: self.path(request, split) for split in FILES}
        train, test = (read(paths[s]).astype("float32") for s in ("train", "test"))  # (N, 225)
        return Data(spec=DataSpec(kind="image", input_dim=225, output_dim=225),
                    train=Split(train, train), test=Split(test, test),
                    source=f"{paths['train']}, {paths['test']}", files=paths)

    def metrics(self, y: Any, t: Any) -> dict[str, float]:
        import numpy as np

        error = np.asarray(y, np.float64) - t  # (N, 225)
        return {"mse": float(np.mean(error**2)),
                "sse_per_image": float(np.sum(error**2) / len(error))}

    def example(self, L: int | None, n: int, seed: int = 0) -> tuple[DataSpec, Split]:
        from rnnlab_plugins.image_pickles.digits import make

        x = (make(n, [seed, 2]) / 255).reshape(n, 225).astype("float32")  # (n, 225)
        return DataSpec(kind="image", input_dim=225, output_dim=225), Split(x, x)

    def generate(self, request: GenerateRequest, emit: EventSink = lambda e: None) -> list[Path]:
        from rnnlab_plugins.image_pickles.digits import make
        from rnnlab_plugins.image_pickles.safe_pickle import write

        planned = []
        for offset, split in enumerate(("train", "test")):
            path = request.out / FILES[split]
            n = request.sizes[split]

            def progress(done: int, name: str = path.name, total: int = n) -> None:
                emit(Progress(f"drawing {name}", done, total))

            images = make(n, [request.seed, offset], progress)  # (n, 15, 15)
            planned.append((path, images))
        for path, images in planned:
            if path.exists() and not request.force:
                from rnnlab_plugins.image_pickles.safe_pickle import read

                old = read(path) * 255
                if old.shape != images.reshape(len(images), -1).shape or \
                        (old != images.reshape(len(images), -1)).any():
                    raise UsageError(f"{path} exists with different content; use --force to "
                                     "replace it")
        request.out.mkdir(parents=True, exist_ok=True)
        for path, images in planned:
            write(path, images)
        return [path for path, _ in planned]
