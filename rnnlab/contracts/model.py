"""The model contract: torch modules trained by rnnlab's optimizer, or learners that train
themselves, and the optional learner capabilities rnnlab checks with `isinstance`."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from rnnlab.contracts.base import Plugin
from rnnlab.contracts.data import DataSpec

if TYPE_CHECKING:
    import numpy as np

    from rnnlab.config import TrainConfig


@runtime_checkable
class Learner(Protocol):
    """A model that runs its own forward, backward and weight update (e.g. NumPy code)."""

    def train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        """One update on a batch; return the batch loss."""
        ...

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs (N, M) for inputs x, without changing the model."""
        ...

    def state_dict(self) -> dict[str, np.ndarray]:
        """The parameters (and any state needed to resume), as NumPy arrays."""
        ...

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore what state_dict returned."""
        ...


# Optional learner capabilities. rnnlab checks them with isinstance(learner, ...) and refuses
# an option that needs one the learner lacks. Torch modules get all of them from rnnlab.


@runtime_checkable
class SetsLearningRate(Protocol):
    """Follows `--lr-schedule`: rnnlab calls set_lr before every epoch."""

    def set_lr(self, lr: float) -> None: ...


@runtime_checkable
class HasOptimizerState(Protocol):
    """Resumes with its optimizer's buffers (momentum, Adam moments), not only its weights."""

    def optimizer_state(self) -> dict[str, np.ndarray]: ...

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None: ...


@runtime_checkable
class HasGradients(Protocol):
    """Exposes its gradients for `rnnlab gradcheck`: loss and {parameter: gradient} on a
    batch without updating, and a float64 copy of itself."""

    def loss_and_gradients(self, x: np.ndarray, t: np.ndarray
                           ) -> tuple[float, dict[str, np.ndarray]]: ...

    def double(self) -> Any: ...


@runtime_checkable
class Packable(Protocol):
    """Trains together with learners like it as one packed learner (`rnnlab sweep --pack`):
    runs that differ only in seed or in scalar options (lr, momentum, clip_grad, the schedule,
    early stop, the initial weights). `pack` gets the members' freshly built learners (this
    one among them, each seeded as its run says) and the device the pack may use ('cuda'
    where there is a GPU and the runs allow it, else 'cpu'); it returns a PackedLearner, or
    None where packing would not be faster there (the runs then train one by one)."""

    def pack(self, learners: list[Any], device: str) -> PackedLearner | None: ...


@runtime_checkable
class PackedLearner(Protocol):
    """S learners trained as one. `member(s)` is learner s as an ordinary Learner (with the
    capabilities its solo learner has: predict, state_dict, set_lr, optimizer state, ...) whose
    `train_step` rnnlab never calls: a packed step trains all S at once, each on its own batch,
    x (S, B, ...) and t (S, B, M), and returns the S losses. A member whose run has ended gets
    zeros and a learning rate of 0 (frozen) until the pack ends."""

    def member(self, s: int) -> Any: ...

    def train_packed(self, x: np.ndarray, t: np.ndarray) -> np.ndarray: ...


OPTIMIZER_OPTIONS = frozenset({"optimizer", "momentum", "clip_grad"})


@runtime_checkable
class HonoursOptions(Protocol):
    """Says which of rnnlab's optimizer options (OPTIMIZER_OPTIONS) its own update applies.
    A learner without it applies none of them: a run that sets one to anything but its
    default is refused rather than recorded as if it had been applied. `--lr` always goes
    to the learner (through build's config)."""

    options: frozenset[str]


@dataclass(frozen=True)
class Timing:
    """Two forms of a model that must give the same outputs, timed by `rnnlab report timing`:
    `setting` at `slow` against `fast`, with `shared` settings for both."""

    setting: str
    slow: Any
    fast: Any
    shared: dict[str, Any] = field(default_factory=dict)


class ModelPlugin(Plugin):
    """A model. `build` returns a `torch.nn.Module` mapping (B, ...) inputs to (B, M) outputs,
    which rnnlab trains with its optimizer and MSE loss, or a `Learner` that trains itself."""

    data: ClassVar[str] = ""  # the dataset when `--data` is not given ('': its kind's default)
    kinds: ClassVar[tuple[str, ...]] = ("sequence",)  # data kinds the model accepts
    recipe: ClassVar[dict[str, Any]] = {}  # training options that differ from the defaults
    # Named recipes (`--recipe NAME`): training options, and `set` for the model's settings.
    # Every model also has 'homework' (rnnlab's defaults) unless it declares its own.
    recipes: ClassVar[dict[str, dict[str, Any]]] = {}
    default_recipe: ClassVar[str] = ""  # the named recipe a run uses unless told ('': recipe)
    timing: ClassVar[Timing | None] = None  # a slow and a fast form to compare
    # Setting variants whose gradients `rnnlab gradcheck` checks against finite differences
    # (and against the first variant trained by torch autograd); their learners must be
    # HasGradients.
    gradcheck: ClassVar[tuple[dict[str, Any], ...]] = ()
    # Reports written into the run directory when training completes, e.g. ("curves",).
    after_training: ClassVar[tuple[str, ...]] = ()
    # Memory per sample x step x hidden unit for the limits, keys as in
    # rnnlab.limits.MODEL_COSTS; {}: the costliest bundled model's figures.
    costs: ClassVar[dict[str, float]] = {}
    # True: build() seeds any torch it uses itself (torch.manual_seed(config.seed)), so rnnlab
    # does not import torch for this model (a NumPy model then starts seconds sooner).
    torch_free: ClassVar[bool] = False

    @abc.abstractmethod
    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        """Make a fresh, initialised model for data described by `spec`."""

    def auto_device(self, spec: DataSpec, config: TrainConfig, cuda: bool) -> str:
        """The device ('cpu' or 'cuda') a run with `--device auto` trains on; `cuda` says
        whether a GPU is present (as a bool: asking imports torch). By default the GPU where
        there is one; a model whose CPU path is the faster one for the run's size overrides
        this (say why, with the figures)."""
        return "cuda" if cuda else "cpu"
