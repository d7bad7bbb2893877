"""A muP-parametrised MLP (Yang et al., "Tensor Programs V"; the ``mup`` package's
``MuReadout``, ``set_base_shapes`` and ``MuAdam``, written out by hand as nanoGPT-muP and
the "muP in 100 lines" posts do), trained at three widths with the coordinate check that shows
the activations' scale stays width-independent.

The idioms kept: a ``width_mult = width / base_width`` stored on each layer; hidden weights
initialised ``nn.init.normal_(w, std=1.0 / math.sqrt(fan_in))`` and the input layer ``std=1``
scaled by ``1/sqrt(fan_in)``; the readout ``MuReadout``: ``nn.Linear`` whose input is
multiplied by ``output_mult / width_mult`` and whose weight starts at zero
(``nn.init.zeros_``); attention-free "muP Adam": param groups built from
``named_parameters()`` with ``lr / width_mult`` for the hidden and output matrices and the
plain ``lr`` for vectors and the input layer (``{"params": ..., "lr": ...}``); the coordinate
check with ``register_forward_hook`` recording ``output.abs().mean()`` of every layer at steps
0 and 3 across widths, hooks removed with ``handle.remove()``; ``torch.manual_seed`` before
each width, as the sweeps seed every run.

Changed: widths 8, 16, 32 (base 8), depth 3, 4 Adam steps on a 5-feature regression; the data
and the muP-scaled initial matrices come from NumPy (``init_state``) and are copied in under
``torch.no_grad()``, since the two libraries' random streams differ.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["init_state", "run"]

BASE, WIDTHS, IN, STEPS, BATCH, LR = 8, (8, 16, 32), 5, 4, 32, 1e-2


def init_state(tmp_path: Any) -> dict:
    rng = np.random.default_rng(4)
    state: dict[str, Any] = {"x": rng.standard_normal((BATCH, IN))}
    state["y"] = np.sin(state["x"] @ rng.standard_normal((IN, 1)))
    for w in WIDTHS:
        state[f"{w}.inp"] = rng.standard_normal((w, IN)) / math.sqrt(IN)
        state[f"{w}.hid"] = rng.standard_normal((w, w)) / math.sqrt(w)
    return state


def make_mlp(torch: Any, width: int, init: dict) -> Any:
    nn = torch.nn

    class MuReadout(nn.Linear):
        def __init__(self, in_features: int, out_features: int, output_mult: float = 1.0,
                     width_mult: float = 1.0) -> None:  # fmt: skip
            self.output_mult, self.width_mult_ = output_mult, width_mult
            super().__init__(in_features, out_features)

        def reset_parameters(self) -> None:
            nn.init.zeros_(self.weight)
            nn.init.zeros_(self.bias)

        def forward(self, x: Any) -> Any:
            return super().forward(self.output_mult * x / self.width_mult_)

    class MuMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.width_mult = width / BASE
            self.inp = nn.Linear(IN, width)
            self.hid = nn.Linear(width, width)
            self.out = MuReadout(width, 1, width_mult=self.width_mult)
            with torch.no_grad():
                self.inp.weight.copy_(as_tensor(torch, init[f"{width}.inp"]))
                self.hid.weight.copy_(as_tensor(torch, init[f"{width}.hid"]))
                self.inp.bias.zero_()
                self.hid.bias.zero_()

        def forward(self, x: Any) -> Any:
            h = torch.relu(self.inp(x))
            h = torch.relu(self.hid(h))
            return self.out(h)

    return MuMLP()


def mu_adam(torch: Any, model: Any) -> Any:
    matrices, vectors = [], []
    for name, p in model.named_parameters():
        (matrices if p.ndim == 2 and not name.startswith("inp") else vectors).append(p)
    return torch.optim.Adam([{"params": matrices, "lr": LR / model.width_mult},
                             {"params": vectors, "lr": LR}])  # fmt: skip


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    x, y = as_tensor(torch, init["x"]), as_tensor(torch, init["y"])
    values: list[float] = []
    for width in WIDTHS:
        torch.manual_seed(0)
        model = make_mlp(torch, width, init)
        optimizer = mu_adam(torch, model)
        records: dict[str, list[float]] = {}

        def hook(name: str, records: dict = records) -> Any:
            def record(module: Any, args: Any, output: Any) -> None:
                records.setdefault(name, []).append(output.abs().mean().item())

            return record

        handles = [m.register_forward_hook(hook(n)) for n, m in model.named_children()]
        for _ in range(STEPS):
            loss = torch.nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values.append(loss.item())
        for handle in handles:
            handle.remove()
        model(x)  # no hook records this one
        values += [v for name in ("inp", "hid", "out") for v in records[name][::3]]
        values += [g["lr"] for g in optimizer.param_groups]
    return values
