"""15x15 digit images: unlabelled in the course's pickle format (AutoEncNetLite's data), and
labelled, as a classification dataset (`digits`).

Entry module: light on purpose; NumPy and Pillow work happens in `safe_pickle`, `digits` and
`digits_csv`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnlab import (
    Data,
    DataError,
    DataRequest,
    DatasetPlugin,
    DataSpec,
    EventSink,
    GenerateRequest,
    Note,
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
        "train": Setting("", "training images pickle (default: DATA_DIR/images/, else bundled)",
                         load_only=True),
        "test": Setting("", "test images pickle (default: DATA_DIR/images/, else bundled)",
                        load_only=True),
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


DIGIT_SPLITS = {"train": 0, "test": 1, "dev": 3}  # split -> second seed word, as for `images`


class Digits(DatasetPlugin):
    summary = "The bundled 15x15 digits with their labels 0-9, for classifiers (CSV files)."
    kind = "labelled"
    # The first 1,000 training and 20 test images of seed 0 are the bundled `images` set.
    sizes = {"train": 20_000, "dev": 1_000, "test": 1_000}
    primary_metric = "accuracy"
    percentages = ("accuracy", "majority_accuracy")
    baselines = {"majority_accuracy": "most common digit"}  # a constant answer's score
    default = True  # the labelled dataset of models that name none
    report = "accuracy"

    @staticmethod
    def file(folder: Path, split: str) -> Path:
        return folder / f"digits_{split}.csv"

    def load(self, request: DataRequest, emit: EventSink = lambda e: None) -> Data:
        from rnnlab_plugins.image_pickles.digits_csv import read

        folder = Path(request.data_dir) / "digits"
        paths = {split: self.file(folder, split) for split in DIGIT_SPLITS}
        missing = [split for split, path in paths.items() if not path.exists()]
        if missing and (not request.generate or len(missing) < len(paths)):
            # a set is made whole: another seed or size beside the files there would mix sets
            rest = (" while the other splits are there (run `rnnlab gen-data digits` with "
                    "the options that made them, --force to replace them)"
                    if len(missing) < len(paths) else "")
            raise DataError(f"{paths[missing[0]]}: file not found (labelled digits){rest}")
        if missing:
            emit(Note(f"no labelled digits in {folder}: generating them (seed 0)"))
            self.generate(GenerateRequest([], folder, seed=0, sizes=dict(self.sizes)), emit)
        splits = {split: _labelled(*read(path)) for split, path in paths.items()}
        return Data(spec=DataSpec(kind="labelled", input_dim=225, output_dim=10),
                    train=splits["train"], dev=splits["dev"], test=splits["test"],
                    source=str(self.file(folder, "*")), files=paths)

    def metrics(self, y: Any, t: Any) -> dict[str, float]:
        """Accuracy: the largest output names the digit. The baseline answers the most
        common digit of these targets whatever the image."""
        import numpy as np

        truth = np.argmax(t, axis=1)  # (N,)
        return {"accuracy": float(100.0 * np.mean(np.argmax(y, axis=1) == truth)),
                "majority_accuracy": float(100.0 * np.bincount(truth).max() / len(truth))}

    def example(self, L: int | None, n: int, seed: int = 0) -> tuple[DataSpec, Split]:
        from rnnlab_plugins.image_pickles.digits import make_labelled

        images, labels = make_labelled(n, [seed, 2])  # (n, 15, 15), (n,)
        return (DataSpec(kind="labelled", input_dim=225, output_dim=10),
                _labelled(images.reshape(n, 225), labels))

    def generate(self, request: GenerateRequest, emit: EventSink = lambda e: None) -> list[Path]:
        from rnnlab_plugins.image_pickles.digits import make_labelled
        from rnnlab_plugins.image_pickles.digits_csv import read, write

        def refuse(path: Path) -> None:
            raise UsageError(f"{path} exists with different content; use --force to replace it")

        existing = {}
        for split in DIGIT_SPLITS:  # other sizes or another first image: refused at once
            path = self.file(request.out, split)
            if path.exists() and not request.force:
                existing[split] = read(path)
                first = make_labelled(1, [request.seed, DIGIT_SPLITS[split]])
                if len(existing[split][1]) != request.sizes[split] or \
                        (existing[split][0][0] != first[0].reshape(-1)).any():
                    refuse(path)
        planned = []
        for split in DIGIT_SPLITS:
            path, n = self.file(request.out, split), request.sizes[split]

            def progress(done: int, name: str = path.name, total: int = n) -> None:
                emit(Progress(f"drawing {name}", done, total))

            images, labels = make_labelled(n, [request.seed, DIGIT_SPLITS[split]], progress)
            planned.append((path, images, labels))
        for split, (path, images, labels) in zip(DIGIT_SPLITS, planned, strict=True):
            if split in existing:  # every file checked before any is written
                old_pixels, old_labels = existing[split]
                if (old_pixels != images.reshape(len(images), -1)).any() or \
                        (old_labels != labels).any():
                    refuse(path)
        request.out.mkdir(parents=True, exist_ok=True)
        for path, images, labels in planned:
            write(path, images, labels)
        return [path for path, _, _ in planned]


def _labelled(pixels: Any, labels: Any) -> Split:
    """Inputs (N, 225) in [0, 1] and one-hot targets (N, 10), float32."""
    import numpy as np

    x = (np.asarray(pixels, np.float64) / 255).astype(np.float32)  # (N, 225)
    t = np.eye(10, dtype=np.float32)[labels]  # (N, 10)
    return Split(x, t)
