"""SGD with momentum and Adam for torch modules, written out as torch.optim computes them
(its single-tensor path, operation for operation, so the numbers are the same to the bit).

Why not torch.optim itself: its first step imports torch._dynamo, which costs every training
process about 2.5 s before the first batch. The update rules, with g a parameter's gradient:

    SGD:   v = g (first step), v = momentum * v + g;   w = w - lr * v
    Adam:  m = lerp(m, g, 1 - b1);  s = b2 s + (1 - b2) g²;  t = t + 1
           w = w - lr / (1 - b1^t) * m / (sqrt(s) / sqrt(1 - b2^t) + eps)

The state has torch.optim's names (momentum_buffer; step, exp_avg, exp_avg_sq) by parameter
index, so checkpoints written with either resume with the other.
"""

from __future__ import annotations

import torch

BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults
EPS = 1e-8


class TorchOptimizer:
    """`kind` 'sgd' (with `momentum`) or 'adam', over `params` in their order."""

    def __init__(self, params: list[torch.nn.Parameter], kind: str, lr: float,
                 momentum: float = 0.0) -> None:
        self.params, self.kind, self.lr, self.momentum = list(params), kind, lr, momentum
        self.state: dict[int, dict[str, torch.Tensor]] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self._adam(i, p) if self.kind == "adam" else self._sgd(i, p)

    def _sgd(self, i: int, p: torch.Tensor) -> None:
        g = p.grad
        if self.momentum != 0:
            state = self.state.setdefault(i, {})
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.detach().clone()
            else:
                state["momentum_buffer"].mul_(self.momentum).add_(g, alpha=1)
            g = state["momentum_buffer"]
        p.add_(g, alpha=-self.lr)

    def _adam(self, i: int, p: torch.Tensor) -> None:
        b1, b2 = BETAS
        g = p.grad
        state = self.state.setdefault(i, {})
        if not state:
            state["step"] = torch.tensor(0.0, dtype=_scalar_dtype())
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        m, s = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        m.lerp_(g, 1 - b1)
        s.mul_(b2).addcmul_(g, g, value=1 - b2)
        t = state["step"].item()
        step_size = self.lr / (1 - b1**t)
        denom = (s.sqrt() / (1 - b2**t) ** 0.5).add_(EPS)
        p.addcdiv_(m, denom, value=-step_size)

    def state_arrays(self) -> dict[str, torch.Tensor]:
        """The state as flat {'INDEX/NAME': tensor} (what a checkpoint holds)."""
        return {f"{i}/{key}": value for i, buffers in self.state.items()
                for key, value in buffers.items()}

    def load_state_arrays(self, flat: dict[str, torch.Tensor]) -> None:
        """Take the state from a checkpoint: only buffers this optimizer keeps, of their
        parameter's shape (ValueError naming the first that is not)."""
        from rnnlab.optim import check_buffers

        keys = ("step", "exp_avg", "exp_avg_sq") if self.kind == "adam" else (
            ("momentum_buffer",) if self.momentum != 0 else ())
        layout = {f"{i}/{key}": () if key == "step" else tuple(p.shape)
                  for i, p in enumerate(self.params) for key in keys}
        groups = [[f"{i}/{key}" for key in keys] for i in range(len(self.params))]
        check_buffers({k: v.numpy() if isinstance(v, torch.Tensor) else v
                       for k, v in flat.items()}, layout,
                      f"{self.kind} with momentum {self.momentum:g}" if self.kind == "sgd"
                      else self.kind, groups)
        state: dict[int, dict[str, torch.Tensor]] = {}
        for name, value in flat.items():
            index, key = name.split("/", 1)
            p = self.params[int(index)]
            # the step stays a CPU scalar; the buffers live where their parameter does
            state.setdefault(int(index), {})[key] = (
                value.to(_scalar_dtype()) if key == "step" else value.to(p.device, p.dtype))
        self.state = state


def _scalar_dtype() -> torch.dtype:
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
