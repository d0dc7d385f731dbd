"""rnnlab's written-out SGD and Adam for torch modules give torch.optim's numbers to the bit,
keep its state names, and import no torch._dynamo."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from rnnlab.torch_optim import TorchOptimizer


def lstm_and_batches(seed: int) -> tuple[torch.nn.Module, list[tuple[torch.Tensor, ...]]]:
    torch.manual_seed(seed)
    net = torch.nn.Sequential()
    net.rnn = torch.nn.LSTM(2, 6, batch_first=True)
    batches = [(torch.randn(5, 7, 2), torch.randn(5, 7, 6)) for _ in range(25)]
    return net.rnn, batches


@pytest.mark.parametrize("kind,momentum,clip", [
    ("sgd", 0.9, None), ("sgd", 0.0, None), ("sgd", 0.9, 0.05), ("adam", 0.0, None),
    ("adam", 0.0, 0.05)])
def test_updates_equal_torch_optim_to_the_bit(kind, momentum, clip):
    ours, batches = lstm_and_batches(0)
    theirs, _ = lstm_and_batches(0)
    lr = 0.01
    mine = TorchOptimizer(list(ours.parameters()), kind, lr, momentum)
    reference = (torch.optim.Adam(theirs.parameters(), lr=lr) if kind == "adam" else
                 torch.optim.SGD(theirs.parameters(), lr=lr, momentum=momentum))
    for step, (x, t) in enumerate(batches):
        if step == 12:  # a schedule changes the rate half-way
            mine.lr = lr / 10
            for group in reference.param_groups:
                group["lr"] = lr / 10
        for net, opt in ((ours, mine), (theirs, reference)):
            opt.zero_grad()
            loss = ((net(x)[0] - t) ** 2).mean()
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
            opt.step()
        for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
            assert torch.equal(a, b), f"step {step}"
    expected = {f"{i}/{k}": v for i, s in reference.state_dict()["state"].items()
                for k, v in s.items()}
    got = mine.state_arrays()
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        assert torch.equal(got[name], torch.as_tensor(value)), name


def test_state_from_torch_optim_resumes_the_same_trajectory():
    ours, batches = lstm_and_batches(1)
    theirs, _ = lstm_and_batches(1)
    reference = torch.optim.Adam(theirs.parameters(), lr=0.003)

    def step(net, opt, x, t):
        opt.zero_grad()
        ((net(x)[0] - t) ** 2).mean().backward()
        opt.step()

    for x, t in batches[:10]:
        step(theirs, reference, x, t)
    ours.load_state_dict(theirs.state_dict())
    mine = TorchOptimizer(list(ours.parameters()), "adam", 0.003)
    mine.load_state_arrays({f"{i}/{k}": v.clone() for i, s in
                            reference.state_dict()["state"].items() for k, v in s.items()})
    for x, t in batches[10:]:
        step(theirs, reference, x, t)
        step(ours, mine, x, t)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)


def test_training_imports_no_torch_dynamo(tmp_path):
    code = ("import sys, numpy as np, rnnlab\n"
            "spec = rnnlab.DataSpec('sequence', 2, 1, 5)\n"
            "for kind in ('sgd', 'adam'):\n"
            "    learner = rnnlab.build_learner('lstm', spec, optimizer=kind, device='cpu')\n"
            "    learner.train_step(np.ones((3, 5, 2), np.float32), np.ones((3, 1), np.float32))\n"
            "print('torch._dynamo' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
