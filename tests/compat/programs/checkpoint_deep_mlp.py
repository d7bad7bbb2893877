"""Activation checkpointing as prigoyal/pytorch_memonger's "Trading compute for memory in
PyTorch models using Checkpointing" tutorial (``tutorial/Checkpointing_for_PyTorch_models``)
and the ``torch.utils.checkpoint`` docs use it, size-reduced: a deep MLP kept as an
``nn.Sequential`` of ``Linear``/``BatchNorm1d``/``ReLU`` blocks; ``checkpoint_sequential(model,
chunks, input_var, use_reentrant=...)`` on the whole stack (the tutorial's
``input_var.requires_grad = True`` trick for the reentrant variant); a module whose ``forward``
wraps each block with the memonger ``custom(module)`` closure (``def custom_forward(*inputs):
return module(inputs[0])``) and ``checkpoint(self.custom(block), x, use_reentrant=False)``; and
``torch.utils.checkpoint.checkpoint`` with a function taking two tensors and a keyword argument.
Every variant is trained for a few SGD steps and must give the losses, input gradients and
the plain (uncheckpointed) run -- ``check`` asserts that; the BatchNorm running statistics, which
the recomputation updates a second time, are compared with torch's.

Sizes: 100 layers of width 1024 -> 8 layers of width 12, batch 16.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

N_LAYERS = 8
WIDTH = 12
CHUNKS = 3
STEPS = 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    layers: list[Any] = [nn.Linear(6, WIDTH), nn.ReLU()]
    for _ in range(N_LAYERS - 2):
        layers += [nn.Linear(WIDTH, WIDTH), nn.BatchNorm1d(WIDTH), nn.ReLU()]
    layers += [nn.Linear(WIDTH, 3)]
    return nn.Sequential(*layers)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional
    cp = torch_like.utils.checkpoint
    rng = np.random.default_rng(2)
    data = rng.standard_normal((16, 6))
    target = torch.tensor(rng.integers(0, 3, 16))

    class CheckpointedBlocks(nn.Module):
        """Each block of the stack run under ``checkpoint`` (memonger's ``custom`` wrapper)."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def custom(self, module: Any) -> Any:
            def custom_forward(*inputs: Any) -> Any:
                inputs = module(inputs[0])
                return inputs

            return custom_forward

        def forward(self, x: Any) -> Any:
            layers = list(self.model.children())
            for start in range(0, len(layers), 3):
                block = nn.Sequential(*layers[start : start + 3])
                x = cp.checkpoint(self.custom(block), x, use_reentrant=False)
            return x

    def train(mode: str) -> list[float]:
        model = make_model(torch_like)
        load_numpy_state(torch_like, model, init)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        wrapped = CheckpointedBlocks(model)
        out_values = []
        for _step in range(STEPS):
            input_var = torch.tensor(data)
            input_var.requires_grad = True  # needed by the reentrant checkpoint
            optimizer.zero_grad()
            if mode == "plain":
                output = model(input_var)
            elif mode == "sequential_reentrant":
                output = cp.checkpoint_sequential(model, CHUNKS, input_var, use_reentrant=True)
            elif mode == "sequential":
                output = cp.checkpoint_sequential(model, CHUNKS, input_var, use_reentrant=False)
            else:
                output = wrapped(input_var)
            loss = F.cross_entropy(output, target)
            loss.backward()
            optimizer.step()
            out_values += [loss.item(), input_var.grad.abs().sum().item()]
        out_values += [model[3].running_mean.sum().item(), model[3].running_var.sum().item()]
        return out_values

    values: list[float] = []
    for mode in ("plain", "sequential_reentrant", "sequential", "blocks"):
        values += train(mode)

    # A checkpointed function of two tensors and a keyword argument.
    def attention(q: Any, k: Any, *, scale: float) -> Any:
        return torch.softmax(q @ k.transpose(-2, -1) * scale, dim=-1) @ k

    q = torch.tensor(rng.standard_normal((2, 4, 5)), requires_grad=True)
    k = torch.tensor(rng.standard_normal((2, 4, 5)), requires_grad=True)
    out = cp.checkpoint(attention, q, k, use_reentrant=False, scale=0.5)
    (out.tanh().sum()).backward()
    values += [out.sum().item(), q.grad.sum().item(), k.grad.sum().item()]
    return values


def check(values: list[float]) -> None:
    """Every checkpointed variant reproduces the plain run's losses and input gradients. (Not its
    BatchNorm running statistics: the recomputation in backward runs BatchNorm's training-mode
    forward again, so PyTorch updates them twice per step -- the documented caveat; the
    comparison with torch checks that chainrule does the same.)"""
    per_mode = 2 * STEPS + 2
    plain = np.array(values[: 2 * STEPS])
    for i in range(1, 4):
        got = np.array(values[i * per_mode : i * per_mode + 2 * STEPS])
        np.testing.assert_allclose(got, plain, rtol=1e-12, atol=1e-12)
