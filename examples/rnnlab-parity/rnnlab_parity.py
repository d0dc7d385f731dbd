"""An rnnlab dataset plugin in one file: the temporal parity (XOR) task.

Each sequence is L random bits; two steps are marked, one in the first half and one in the
second. The target is the parity of the two marked bits (their XOR), so the network must keep
one bit across up to L steps and combine it non-linearly with another. Inputs are (N, L, 2):
the bit and the marker; targets are (N, 1), 0.0 or 1.0.

Files, one per split, under `DATA_DIR/parity/L{L}_{split}.csv`:

    bits,first,second,target
    01101001,2,5,0
    ...

Install it (`pip install ./examples/rnnlab-parity`), then
`rnnlab gen-data parity --L 20` and `rnnlab train lstm --data parity --L 20`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    Split,
    UsageError,
    atomic_write,
    read_input,
)

if TYPE_CHECKING:  # NumPy is imported inside the methods: listing plugins stays fast
    import numpy as np

SPLITS = ("train", "dev", "test")
HEADER = "bits,first,second,target"
CHUNK = 1000  # sequences per progress update


def _ignore(event: Any) -> None:
    pass


def file_name(L: int, split: str) -> str:
    """The file of one split: `L{L}_{split}.csv`."""
    return f"L{L}_{split}.csv"


def _check_length(L: int | None) -> int:
    if L is None or L < 2:
        raise UsageError(f"dataset 'parity' needs --L of at least 2 (two marked steps), got {L}")
    return L


def draw(L: int, n: int, seed: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """`n` sequences of L bits (n, L) int8 and their marked steps (n, 2); one seed, one draw.

    Each split has its own stream, so changing --n-test leaves the training data as it was.
    """
    import numpy as np

    rng = np.random.default_rng([seed, L, SPLITS.index(split)])
    bits = rng.integers(0, 2, size=(n, L), dtype=np.int8)
    first = rng.integers(0, L // 2, size=n)
    second = rng.integers(L // 2, L, size=n)
    return bits, np.stack([first, second], axis=1)


def _arrays(bits: np.ndarray, marks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, L, 2) and targets (n, 1) as float32 from bits and marked steps."""
    import numpy as np

    n, L = bits.shape
    x = np.zeros((n, L, 2), np.float32)
    x[..., 0] = bits
    rows = np.arange(n)[:, None]
    x[rows, marks, 1] = 1.0
    t = np.bitwise_xor.reduce(bits[rows, marks], axis=1).astype(np.float32)[:, None]
    return x, t


def _text(bits: np.ndarray, marks: np.ndarray, progress: Any) -> bytes:
    """The CSV bytes of one split (header, one line per sequence, final newline)."""
    import numpy as np

    chars = (bits + ord("0")).astype(np.uint8)  # (n, L) ASCII '0'/'1'
    lines = [HEADER]
    for i in range(len(bits)):
        a, b = int(marks[i, 0]), int(marks[i, 1])
        row = chars[i].tobytes().decode("ascii")
        lines.append(f"{row},{a},{b},{int(bits[i, a]) ^ int(bits[i, b])}")
        if (i + 1) % CHUNK == 0 or i + 1 == len(bits):
            progress(i + 1)
    return ("\n".join(lines) + "\n").encode("ascii")


def _parse(path: Path, L: int) -> Split:
    """A split file as arrays; DataError names the file and line of the first problem."""
    import numpy as np

    raw = read_input(path, "a parity CSV file")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not ASCII text") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0].strip() != HEADER:
        raise DataError(f"{path}, line 1: expected the header '{HEADER}'")
    n = len(lines) - 1
    if n == 0:
        raise DataError(f"{path}: has a header but no sequences")
    bits = np.zeros((n, L), np.int8)
    marks = np.zeros((n, 2), np.int64)
    for i, line in enumerate(lines[1:]):
        where = f"{path}, line {i + 2}"
        fields = line.strip().split(",")
        if len(fields) != 4:
            raise DataError(f"{where}: expected 4 comma-separated fields, got {len(fields)}")
        row, first, second, target = fields
        if len(row) != L or row.strip("01"):
            raise DataError(f"{where}: expected {L} bits (0 or 1) for L={L}, got {row[:40]!r}")
        try:
            a, b, want = int(first), int(second), int(target)
        except ValueError:
            raise DataError(f"{where}: 'first', 'second' and 'target' must be integers") from None
        if not 0 <= a < L // 2 <= b < L:
            raise DataError(f"{where}: marked steps {a},{b} are not one in each half of 0..{L - 1}")
        bits[i] = np.frombuffer(row.encode("ascii"), np.uint8) - ord("0")
        if want != int(bits[i, a]) ^ int(bits[i, b]):
            raise DataError(f"{where}: target {want} is not the parity of bits {a} and {b}")
        marks[i] = (a, b)
    x, t = _arrays(bits, marks)
    return Split(x, t)


class Parity(DatasetPlugin):
    summary = "Temporal parity: XOR of two marked bits in a random bit sequence (example plugin)."
    kind = "sequence"
    sizes = {"train": 2000, "dev": 500, "test": 500}
    primary_metric = "accuracy"
    higher_is_better = True
    percentages = ("accuracy", "zero_accuracy")  # shown with %
    baselines = {"zero_accuracy": "always 0"}  # what a model that learned nothing scores

    def load(self, request: DataRequest, emit: EventSink = _ignore) -> Data:
        """Read `L{L}_{split}.csv` under `data_dir/parity`, writing missing files (seed 0,
        default sizes) first when `request.generate` allows."""
        L = _check_length(request.L)
        folder = Path(request.data_dir) / "parity"
        paths = {split: folder / file_name(L, split) for split in SPLITS}
        missing = [split for split, path in paths.items() if not path.exists()]
        if missing and not request.generate:
            path = paths[missing[0]]
            raise DataError(f"{path}: file not found (write it with `rnnlab gen-data parity "
                            f"--L {L} --out {request.data_dir}`)")
        if missing:
            emit(Note(f"generating parity data for L={L} (seed 0) in {folder}"))
            self._write(folder, [L], 0, self.sizes, False, missing, emit)
        splits = {split: _parse(path, L) for split, path in paths.items()}
        return Data(spec=DataSpec("sequence", 2, 1, L), train=splits["train"],
                    dev=splits["dev"], test=splits["test"], source=str(folder),
                    files=paths)

    def metrics(self, y: np.ndarray, t: np.ndarray) -> dict[str, float]:
        """accuracy: % of outputs within 0.5 of the target bit; mse; zero_accuracy: always 0."""
        import numpy as np

        error = np.abs(np.asarray(y, np.float64) - np.asarray(t, np.float64))  # (N, 1)
        return {
            "accuracy": float(100.0 * np.mean(error < 0.5)),
            "mse": float(np.mean(error**2)),
            "zero_accuracy": float(100.0 * np.mean(np.asarray(t) < 0.5)),
        }

    def generate(self, request: GenerateRequest, emit: EventSink = _ignore) -> list[Path]:
        """Write every (L, split) file; identical files are left alone ("already up to date"),
        different ones are refused unless `request.force`. Nothing is written on a refusal."""
        for L in request.lengths:
            _check_length(L)
        return self._write(Path(request.out), list(request.lengths), request.seed,
                           request.sizes, request.force, list(SPLITS), emit)

    def example(self, L: int | None, n: int, seed: int = 0, *,
                data_dir: Path | None = None) -> tuple[DataSpec, Split]:
        """`n` training sequences as `gen-data --seed SEED` draws them, in memory (nothing is
        read or written, so `data_dir` is not used)."""
        L = _check_length(L or 20)
        x, t = _arrays(*draw(L, n, seed, "train"))
        return DataSpec("sequence", 2, 1, L), Split(x, t)

    @staticmethod
    def _write(folder: Path, lengths: list[int], seed: int, sizes: dict[str, int], force: bool,
               splits: list[str], emit: EventSink) -> list[Path]:
        planned: list[tuple[Path, bytes | None]] = []  # None: already up to date
        for L in lengths:
            for split in splits:
                path = folder / file_name(L, split)
                n = sizes.get(split, Parity.sizes[split])

                def progress(done: int, name: str = path.name, total: int = n) -> None:
                    emit(Progress(f"generating {name}", done, total))

                payload = _text(*draw(L, n, seed, split), progress)
                if path.is_dir():
                    raise UsageError(f"{path} is a directory, expected a data file")
                if path.exists():
                    if read_input(path, "a parity CSV file", UsageError) == payload:
                        planned.append((path, None))
                        continue
                    if not force:
                        raise UsageError(
                            f"{path} exists with different content; use --force to replace it")
                planned.append((path, payload))
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create {folder} ({exc.strerror or exc})") from None
        for path, payload in planned:
            if payload is None:
                emit(Note(f"{path}: already up to date"))
            else:
                atomic_write(path, payload)
        return [path for path, _ in planned]
