"""One BLAS thread and one OpenBLAS kernel for every run started from the command line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rnnlab
from rnnlab import numerics
from rnnlab.runs import RunStore

VARIABLES = (*numerics.THREAD_VARIABLES, "OPENBLAS_CORETYPE")


@pytest.fixture
def clean_env(monkeypatch):
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_pinned_sets_one_thread_and_the_avx2_kernel(clean_env):
    clean_env.setattr(numerics, "has_avx2", lambda: True)
    assert numerics.pinned() == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                                 "MKL_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Haswell"}


def test_pinned_keeps_what_the_user_set_and_pins_nothing_without_avx2(clean_env):
    clean_env.setattr(numerics, "has_avx2", lambda: False)
    clean_env.setenv("OMP_NUM_THREADS", "4")
    clean_env.setenv("MKL_NUM_THREADS", "2")
    assert numerics.pinned() == {"OMP_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": "4",
                                 "MKL_NUM_THREADS": "2"}
    clean_env.setenv("OPENBLAS_CORETYPE", "Sandybridge")
    assert numerics.pinned(threads="1") == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                                            "MKL_NUM_THREADS": "1",
                                            "OPENBLAS_CORETYPE": "Sandybridge"}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env["OPENBLAS_VERBOSE"] = "2"  # OpenBLAS names the kernel it loads on stderr
    return env


def test_train_and_sweep_workers_run_on_the_pinned_kernel_and_record_it(workdir, cli,
                                                                         clean_env):
    rnnlab.gen_data("adding", lengths=[10], sizes={"train": 40, "dev": 20, "test": 20})
    expected = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "OPENBLAS_CORETYPE": "Haswell" if numerics.has_avx2() else None,
                "set_before_numpy": "yes"}
    train = ["train", "alarmwork", "--recipe", "homework", "--L", "10", "--epochs", "1",
             "--quiet"]
    done = subprocess.run([sys.executable, "-m", "rnnlab", *train], env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    if numerics.has_avx2():
        assert "Core: Haswell" in done.stderr  # OpenBLAS says which kernel it loaded
    # a sweep started in this process: its spawned workers load OpenBLAS as pinned
    Path("one.yaml").write_text("model: alarmwork\nrecipe: homework\nL: 10\nepochs: 1\n")
    swept = cli("sweep", "one.yaml", "--runs-dir", "swept")
    assert swept.exit_code == 0, swept.stderr
    for store in ("runs", "swept"):
        run = RunStore(workdir / store).list()[0]
        recorded = json.loads((run.dir / "provenance.json").read_text())
        assert recorded["blas_environment"] == expected
        assert recorded["cpu"] == numerics.cpu()  # what a run's numbers may depend on


@pytest.mark.parametrize(("info", "expected"), [
    ({"model name": "AMD EPYC 7B13", "flags": "fpu sse2 avx avx2 fma"}, "AMD EPYC 7B13 (AVX2)"),
    ({"model name": "Intel(R) Xeon(R) Processor", "flags": "avx2 fma avx512f avx512bw"},
     "Intel(R) Xeon(R) Processor (AVX-512)"),
    ({"model name": "Old", "flags": "fpu sse2 avx"}, "Old (SSE)"),
])
def test_the_cpu_a_run_records_and_whether_the_kernel_can_be_pinned(monkeypatch, info,
                                                                   expected):
    monkeypatch.setattr(numerics, "cpu_info", lambda: info)
    assert numerics.cpu() == expected
    monkeypatch.setattr(numerics.platform, "machine", lambda: "x86_64")
    assert numerics.has_avx2() == ("avx2" in info["flags"])


def test_cpu_info_reads_the_first_processor(tmp_path, monkeypatch):
    text = "processor\t: 0\nmodel name\t: First\nflags\t\t: avx2 fma\n\nprocessor\t: 1\n" \
           "model name\t: Second\n"
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(
        tmp_path / "cpuinfo", *a, **k) if path == "/proc/cpuinfo" else real_open(path, *a, **k))
    (tmp_path / "cpuinfo").write_text(text)
    assert numerics.cpu_info() == {"processor": "0", "model name": "First", "flags": "avx2 fma"}


def test_the_python_api_trains_as_the_command_line_does(workdir, clean_env):
    """`import rnnlab` before NumPy pins the kernel (after it, it cannot, and the run says so);
    a run computes on one torch thread and gives the caller's count back afterwards."""
    script = ("import {first}, os, json, rnnlab; "
              "print(json.dumps([os.environ.get('OPENBLAS_CORETYPE'), "
              "rnnlab.numerics.recorded()['set_before_numpy']]))")
    kernel = "Haswell" if numerics.has_avx2() else None
    for first, expected in (("sys", [kernel, "yes"]), ("numpy", [None, "no"])):
        done = subprocess.run([sys.executable, "-c", script.format(first=first)], env=_env(),
                              capture_output=True, text=True, timeout=120)
        assert json.loads(done.stdout) == expected, done.stderr
    import torch

    rnnlab.gen_data("adding", lengths=[10], sizes={"train": 40, "dev": 20, "test": 20})
    seen = []
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        rnnlab.train("lstm", L=10, epochs=2, emit=lambda event: seen.append(
            torch.get_num_threads()) if type(event).__name__ == "EpochDone" else None)
        assert (seen, torch.get_num_threads()) == ([1, 1], 2)
    finally:
        torch.set_num_threads(before)


def test_subnormals_are_flushed_inside_the_block_only():
    """On x86-64 Linux with glibc a float32 result below 1.2e-38 is zero within the block (and
    a subnormal input reads as zero); the environment before it comes back after, exception or
    not."""
    import platform

    import numpy as np

    where = (sys.platform == "linux" and platform.machine().lower() in ("x86_64", "amd64")
             and platform.libc_ver()[0] == "glibc")
    small, subnormal = np.float32(1e-30), np.array([1e-40], np.float32)
    with pytest.raises(KeyError):
        with rnnlab.subnormals_flushed() as flushing:
            inside = (small * np.float32(1e-10), float((subnormal * np.float32(1))[0]))
            raise KeyError("leaves the block")
    assert flushing is where
    assert inside == ((0.0, 0.0) if where else (np.float32(1e-40), float(subnormal[0])))
    assert small * np.float32(1e-10) == np.float32(1e-40) != 0
    assert float((subnormal * np.float32(1))[0]) == float(subnormal[0]) != 0


def test_torch_training_steps_flush_subnormals_and_an_lstm_at_L400_keeps_its_bytes():
    """The torch learners' CPU steps run within `subnormals_flushed` as the NumPy ones do (an
    LSTM epoch at L=400: 5.6 s instead of 69 s); predicting does not. Two steps of an LSTM at
    L=400 give the same weights and Adam state as the same steps without the flush."""
    import numpy as np
    import torch

    from rnnlab.config import TrainConfig
    from rnnlab.torch_learner import TorchLearner

    with rnnlab.subnormals_flushed() as flushing:
        pass

    class Probe(torch.nn.Module):
        """A linear read-out that notes what 1e-30 * 1e-10 comes out as while it runs."""

        def __init__(self) -> None:
            super().__init__()
            self.linear, self.seen = torch.nn.Linear(2, 1), []

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            tiny = torch.tensor([1e-30], dtype=torch.float32) * torch.tensor([1e-10])
            self.seen.append(float(tiny[0]))
            return self.linear(x[:, -1])

    probe = TorchLearner(Probe(), TrainConfig(), torch.device("cpu"))
    x, t = np.ones((3, 4, 2), np.float32), np.ones((3, 1), np.float32)
    probe.train_step(x, t)
    probe.predict(x)
    subnormal = float(np.float32(1e-40))
    assert probe.module.seen == [0.0 if flushing else subnormal, subnormal]

    rng = np.random.default_rng(0)
    spec = rnnlab.DataSpec("sequence", 2, 1, 400)
    flushed, plain = (rnnlab.build_learner("lstm", spec, optimizer="adam", lr=3e-4, clip_grad=1.0,
                                           device="cpu", seed=0) for _ in range(2))
    for _ in range(2):
        x, t = rng.random((20, 400, 2), np.float32), rng.random((20, 1), np.float32)
        assert flushed.train_step(x, t) == plain._train_step(x, t)
    assert {k: v.tobytes() for k, v in flushed.state_dict().items()} == {
        k: v.tobytes() for k, v in plain.state_dict().items()}
    assert {k: v.tobytes() for k, v in flushed.optimizer_state().items()} == {
        k: v.tobytes() for k, v in plain.optimizer_state().items()}
