"""TorchScript-era model code that never needs a compiler, as found in Megatron-style fused
kernels and older model zoos: helpers compiled with ``@torch.jit.script`` (a fused bias +
tanh-GELU, as Megatron-LM's ``bias_gelu``, and an RMS scaling taking a ``float`` argument),
a ``torch.jit.Final[float]`` class annotation, a Python-only bookkeeping method marked
``@torch.jit.ignore`` and called under ``if not torch.jit.is_scripting()``, a reference path
kept out of compilation with ``@torch.compiler.disable``, and a batch dict of NumPy arrays
turned into tensors with ``torch.utils._pytree.tree_map``/``tree_map_only`` (its
``tree_flatten`` spec counts the leaves). A few Adam steps; then the fused and reference
paths are compared under ``torch.no_grad()``.

PyTorch runs the helpers through its TorchScript compiler (the JIT is on in the reference
run); chainrule runs them eagerly, as PyTorch does with ``PYTORCH_JIT=0``. TorchScript is
deprecated in PyTorch 2.13 and both libraries warn ``DeprecationWarning`` at
``torch.jit.script``, so the definitions silence it, as scripts run with ``-W error`` must.

Changed: sizes are tiny (5 -> 16 -> 2), the data are seeded NumPy draws.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state


def _build(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated

        @torch.jit.script
        def bias_gelu(bias, y):
            x = bias + y
            return x * 0.5 * (1.0 + torch.tanh(0.7978845608028654 * x * (1.0 + 0.044715 * x * x)))

        @torch.jit.script
        def rms_scale(x, eps: float):
            return x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + eps)

    class FusedMLP(nn.Module):
        eps: torch.jit.Final[float]

        def __init__(self, d_in: int, d_hidden: int, d_out: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.fc1 = nn.Linear(d_in, d_hidden, bias=False)
            self.bias1 = nn.Parameter(torch.zeros(d_hidden))
            self.fc2 = nn.Linear(d_hidden, d_out)
            self.eps = eps
            self.calls = 0

        @torch.jit.ignore
        def count_call(self, x: Any) -> None:
            self.calls += x.shape[0]

        @torch.compiler.disable
        def reference_gelu(self, h: Any) -> Any:
            return nn.functional.gelu(h + self.bias1, approximate="tanh")

        def forward(self, x: Any, use_fused: bool = True) -> Any:
            if not torch.jit.is_scripting():
                self.count_call(x)
            h = self.fc1(x)
            h = bias_gelu(self.bias1, h) if use_fused else self.reference_gelu(h)
            return self.fc2(rms_scale(h, self.eps))

    return FusedMLP


def make_model(torch_like: Any) -> Any:
    return _build(torch_like)(5, 16, 2)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    pytree = importlib.import_module(f"{torch.__name__}.utils._pytree")
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(7)
    values: list[float] = []
    for _ in range(4):
        batch = {
            "x": rng.standard_normal((8, 5)),
            "y": rng.standard_normal((8, 2)),
            "meta": {"weight": rng.uniform(0.5, 1.5, (8, 1)), "step": 1},
        }
        batch = pytree.tree_map_only(np.ndarray, torch.from_numpy, batch)
        batch = pytree.tree_map(lambda v: v.double() if torch.is_tensor(v) else v, batch)
        leaves, spec = pytree.tree_flatten(batch)
        pred = model(batch["x"])
        loss = (batch["meta"]["weight"] * (pred - batch["y"]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    x = torch.from_numpy(rng.standard_normal((3, 5)))
    with torch.no_grad():
        gap = (model(x, use_fused=True) - model(x, use_fused=False)).abs().max().item()
    values += [gap, float(model.calls), float(spec.num_leaves), float(len(leaves))]
    return values


def check(values: list[float]) -> None:
    """The fused helper computes the reference GELU; the ignored method ran in every call."""
    assert values[4] < 1e-12, values[4]
    assert values[5:] == [4 * 8 + 2 * 3, 4.0, 4.0], values[5:]
