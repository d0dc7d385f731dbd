"""Trains a plugin's `torch.nn.Module` with rnnlab's optimizer and MSE loss (a Learner)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rnnlab.config import TrainConfig
from rnnlab.errors import PluginError, UsageError
from rnnlab.numerics import subnormals_flushed
from rnnlab.torch_optim import TorchOptimizer


def pick_device(requested: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is an error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available (use --device cpu)")
    return torch.device(requested)


class TorchLearner:
    """Adapts an nn.Module mapping (B, ...) -> (B, M) to the Learner protocol."""

    def __init__(self, module: torch.nn.Module, config: TrainConfig, device: torch.device):
        self.module = module.to(device)
        self.device = device
        self.optimizer = TorchOptimizer(list(module.parameters()), config.optimizer, config.lr,
                                        config.momentum)
        self.clip_grad = config.clip_grad
        self.loss_fn = torch.nn.MSELoss()

    def set_lr(self, lr: float) -> None:
        """The learning rate of the following updates (--lr-schedule)."""
        self.optimizer.lr = lr

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        dtype = next(self.module.parameters()).dtype
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.device, dtype)

    def double(self) -> TorchLearner:
        """Switch to float64 (for gradient checks)."""
        self.module.double()
        return self

    def loss_and_gradients(self, x: np.ndarray, t: np.ndarray) -> tuple[float, dict[str, Any]]:
        """MSE loss of a batch and its gradient for every parameter, without an update."""
        self.module.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.module(self._tensor(x)), self._tensor(t))
        loss.backward()
        grads = {name: (p.grad if p.grad is not None else torch.zeros_like(p))
                 for name, p in self.module.named_parameters()}
        return float(loss.item()), {k: g.detach().cpu().numpy().copy() for k, g in grads.items()}

    def train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        # Gradients vanishing through a long sequence become subnormal floats, which the CPU
        # computes with many times slower: an LSTM epoch at L=400 took 69 s instead of 5.6 s.
        with subnormals_flushed():
            return self._train_step(x, t)

    def _train_step(self, x: np.ndarray, t: np.ndarray) -> float:
        self.module.train()
        xb, tb = self._tensor(x), self._tensor(t)  # (B, ...), (B, M)
        self.optimizer.zero_grad()
        y = self.module(xb)  # (B, M)
        if y.shape != tb.shape:
            raise PluginError(
                f"model returned shape {tuple(y.shape)} for a batch whose targets have shape "
                f"{tuple(tb.shape)}"
            )
        loss = self.loss_fn(y, tb)
        loss.backward()
        if self.clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(self.module.parameters(), self.clip_grad)
        self.optimizer.step()
        return float(loss.item())

    @torch.no_grad()
    def predict(self, x: np.ndarray, chunk: int = 1000) -> np.ndarray:
        self.module.eval()
        parts = [self.module(self._tensor(x[i : i + chunk])).cpu().numpy()
                 for i in range(0, len(x), chunk)]
        return np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        """The optimizer's buffers (e.g. momentum) as flat arrays, for resuming."""
        return {name: value.detach().cpu().numpy().copy()
                for name, value in self.optimizer.state_arrays().items()}

    def load_optimizer_state(self, flat: dict[str, np.ndarray]) -> None:
        self.optimizer.load_state_arrays({name: torch.from_numpy(np.array(value))
                                          for name, value in flat.items()})

    def state_dict(self) -> dict[str, Any]:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.module.state_dict().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
