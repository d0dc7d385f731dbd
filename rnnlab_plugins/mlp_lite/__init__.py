"""MLP-Lite: a small feed-forward classifier with forward and backward written by hand in
NumPy (the pen-and-paper exercises, seed 003). Entry module: light on purpose; NumPy work
happens in `net`, `losses` and `activations`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rnnlab import DataSpec, ModelPlugin, Setting, TrainConfig, UsageError

ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "identity")
# weights in all layers together: 20M float64 are 160 MB, about 800 MB with their gradients,
# Adam's two moments and a batch (the bundled digits with sizes 4096,4096 need 18M)
MAX_WEIGHTS = 20_000_000


@dataclass(frozen=True)
class Checked(Setting):
    """A setting whose value is checked when it is given (before any data is read)."""

    check: Callable[[Any], Any] | None = None

    def parse(self, key: str, raw: Any) -> Any:
        value = super().parse(key, raw)
        if self.check is not None:
            self.check(value)
        return value


def check_margin(margin: float) -> None:
    if not 0 < margin <= 1:
        raise UsageError(f"--set margin expects a number in (0, 1], got {margin:g} (a "
                         "difference of probabilities)")


class MlpLite(ModelPlugin):
    summary = ("MLP-Lite: feed-forward classifier, backprop by hand in NumPy; squared, "
               "cross-entropy or multiclass hinge loss.")
    data = "digits"
    kinds = ("labelled",)
    settings = {
        "sizes": Checked("", "hidden layer sizes, comma-separated, e.g. 64,32; '' for one "
                         "layer of --hidden units, 'none' for no hidden layer",
                         check=lambda text: layer_sizes(text, 1)),
        "activation": Checked("relu", "hidden layers' activation (sigmoid, tanh, relu, "
                              "identity): one for all, or one per layer, comma-separated",
                              check=lambda text: layer_activations(text, None)),
        "output": Setting("identity", "the output layer's activation f_out (before the "
                          "softmax where the loss has one)", choices=ACTIVATION_NAMES),
        "loss": Setting("cross-entropy", "squared: 0.5 (y - t)²; cross-entropy: softmax + "
                        "-log p_y; hinge: softmax + Σ_{j≠y} max(0, p_j - p_y + margin)",
                        choices=("squared", "cross-entropy", "hinge")),
        "margin": Checked(0.2, "the hinge loss's margin, between probabilities (0 < margin "
                          "<= 1)", check=check_margin),
        "bias": Setting(True, "biases b_k in every layer"),
    }
    # Adam on 20,000 digits: 87.0% test accuracy in 20 epochs, seed 0 (docs/results.md)
    recipe = {"optimizer": "adam", "lr": 0.001, "hidden": 128, "epochs": 20, "shuffle": True}
    torch_free = True  # NumPy only, seeded by config.seed
    after_training = ("curves", "confusion")
    # Every loss and every activation, in the hidden and in the output layer (the forms share
    # their weights, so their shapes: deeper and bias-free nets are checked by the tests).
    # relu's output follows tanh units: after relu units that are all off its input would sit
    # exactly on the kink (biases start at 0), where finite differences see a slope of 1/2.
    gradcheck = tuple(
        [{"loss": "squared", "activation": a, "output": b}
         for a, b in zip(ACTIVATION_NAMES, ("tanh", "relu", "identity", "sigmoid"), strict=True)]
        + [{"loss": "cross-entropy", "activation": "relu"},
           {"loss": "hinge", "activation": "tanh", "margin": 0.5},
           {"loss": "hinge", "activation": "sigmoid", "output": "tanh", "margin": 1.0}])

    def build(self, spec: DataSpec, config: TrainConfig) -> Any:
        from rnnlab import NumpyOptimizer
        from rnnlab_plugins.mlp_lite.learner import MlpLearner
        from rnnlab_plugins.mlp_lite.net import MlpLite as Net

        s = config.settings
        hidden = layer_sizes(s["sizes"], config.hidden)
        activations = layer_activations(s["activation"], len(hidden))
        check_margin(s["margin"])
        widths = [spec.input_dim, *hidden, spec.output_dim]
        weights = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
        if weights > MAX_WEIGHTS:
            option = "--set sizes" if s["sizes"].strip() else "--hidden"
            raise UsageError(f"{option}: {weights:,} weights ({' x '.join(map(str, widths))}) "
                             f"are more than {MAX_WEIGHTS:,}; use smaller layers")
        net = Net([spec.input_dim, *hidden, spec.output_dim], [*activations, s["output"]],
                  s["loss"], s["margin"], s["bias"], config.seed)
        return MlpLearner(net, NumpyOptimizer.from_config(config))


def layer_sizes(text: str, hidden: int) -> list[int]:
    """The hidden layer sizes from the `sizes` setting ('' : [hidden]; 'none': [])."""
    text = text.strip()
    if not text:
        return [hidden]
    if text == "none":
        return []
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not (part.isascii() and part.isdigit()) or not 1 <= int(part) <= 100_000:
            raise UsageError(f"--set sizes expects layer sizes 1-100000 separated by commas "
                             f"(or 'none'), got '{text[:40]}'")
        sizes.append(int(part))
    if len(sizes) > 16:
        raise UsageError(f"--set sizes: at most 16 hidden layers, got {len(sizes)}")
    return sizes


def layer_activations(text: str, layers: int | None) -> list[str]:
    """One activation per hidden layer from the `activation` setting (`layers` None: only
    the names are checked)."""
    names = [part.strip() for part in text.split(",")]
    for name in names:
        if name not in ACTIVATION_NAMES:
            raise UsageError(f"--set activation: '{name[:20]}' is not one of "
                             f"{', '.join(ACTIVATION_NAMES)}")
    if layers is None or len(names) == layers:
        return names
    if len(names) == 1:
        return names * layers
    raise UsageError(f"--set activation names {len(names)} activations for {layers} "
                     "hidden layer(s); give one, or one per layer")
