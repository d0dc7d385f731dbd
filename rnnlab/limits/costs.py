"""The measured figures the estimates are built from, and a plugin's own figures over them.

Measured on the machine of the README (2-core AMD EPYC VM, 25.3 GB, one thread, NumPy 2.4,
torch 2.13 CPU) with /usr/bin/time -v (peak resident set of a whole command) or by sampling
/proc/self/statm around one call in a fresh process (as benchmarks/epoch.py does). "GB" is
10^9 bytes."""

from __future__ import annotations

from typing import Any

PROCESS_BYTES = 230e6
"""A process that has imported NumPy, torch and the plugins: 227 MB peak resident."""

SEQ_STEP_SECONDS = 0.83e-6
"""Seconds per sequence step (one sample, one time step) of training, hidden 50: alarmwork's
hand-written BPTT, the fastest model, trains an epoch of 10,000 x 100 steps in 0.83 s (README,
benchmarks/epoch.py); lstm 1.77 s, simple-rnn 2.30 s, autograd 5.16 s. Larger hidden layers
cost more: hidden 200 measured 5.9 times hidden 50, estimated as only hidden/50 (a lower
bound), so a refusal never depends on a pessimistic guess."""

EVAL_CHUNK = 1000
"""Learners predict in chunks of 1,000 samples (TorchLearner and the BPTT learner)."""

PARAM_BYTES = 48
"""Bytes per weight: float64 at worst, times six copies (weights, gradient, two Adam buffers,
the BPTT learner's stacked and transposed copies)."""

LOSS_BYTES = 40
"""Per update: the loss as a Python float in a list (32 bytes) and in losses.npy (8): 40.4
bytes measured with tracemalloc."""

INDEX_BYTES = 120
"""Per update with random or shuffled batches: an index array (112 bytes + 8 per sample) and
its list slot; 286 bytes measured at batch 20 (120 + 8 x 20 = 280)."""

MODEL_COSTS: dict[str, float] = {
    # bytes per sample x time step x hidden unit kept for the backward pass of one batch:
    # alarmwork BPTT 30.5 (L=2,000 and 5,000, batch 20), its autograd form 24.7, simple-rnn
    # 27.6, lstm 90.1 (hidden 50; 69.5 at hidden 200): the lstm's, rounded up.
    "train": 96.0,
    # the same for a forward pass without gradients (evaluation, chunks of 1,000): alarmwork
    # 10.4, lstm 8.6, simple-rnn 12.2 (L=1,000); rounded up.
    "predict": 16.0,
    # hidden x hidden weight matrices: alarmwork 2, simple-rnn 1, lstm 4 (one per gate).
    "matrices": 4,
}

DATA_COSTS: dict[str, dict[str, float]] = {
    # Bytes per sequence step (adding task, 2 values per step):
    # file: 8.39 (83,943,478 bytes for 10,000 x 1,000 steps);
    # make: what generating one split needs besides its text, 24 (peak 26.7 bytes/step at
    #   L=100 and 31 at L=3,000, including the text); every file is kept until all are made;
    # load: reading one CSV file, 51.7 (L=1,000) and 53.9 (L=100) bytes/step: 54;
    # kept: the loaded float32 inputs, 2 x 4 bytes.
    "sequence": {"file": 8.4, "make": 24.0, "load": 54.0, "kept": 8.0, "values": 2},
    # Bytes per 15x15 image: file 1,800 (a float64 pickle); make 3,700 (peak 5.5 kB per
    # image for 20,000 with the files); load 7,300 (7.2 kB measured); kept 900 (float32).
    "image": {"file": 1800.0, "make": 3700.0, "load": 7300.0, "kept": 900.0, "values": 225},
    # Bytes per labelled 15x15 image (one CSV line: the class, 225 pixels): file 800 (text);
    # make 3,700 (as images); load 6,000; kept 940 (float32 pixels and one-hot targets).
    "labelled": {"file": 800.0, "make": 3700.0, "load": 6000.0, "kept": 940.0, "values": 235},
}

DEFAULT_SIZES = {"train": 10_000, "dev": 1_000, "test": 1_000}  # a dataset that declares none


def costs_of(plugin: Any, defaults: dict[str, float]) -> dict[str, float]:
    """`defaults` overridden by what the plugin declares in its `costs`."""
    declared = getattr(plugin, "costs", None)
    return {**defaults, **(declared if isinstance(declared, dict) else {})}


def data_costs(plugin: Any, kind: str) -> dict[str, float]:
    """The figures of a dataset of `kind`: its own over the bundled ones of that kind."""
    return costs_of(plugin, DATA_COSTS.get(kind, DATA_COSTS["sequence"]))
