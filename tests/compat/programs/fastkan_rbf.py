"""FastKAN (Li 2024, ``ZiyaoLi/fast-kan``): a Kolmogorov-Arnold network whose B-spline bases
are replaced by Gaussian radial basis functions, trained on a toy symbolic regression as the
repository's notebook does.

The idioms kept: ``SplineLinear(nn.Linear)`` with ``init_scale`` and ``reset_parameters``
overridden to ``nn.init.trunc_normal_(self.weight, mean=0, std=self.init_scale)``;
``RadialBasisFunction`` with a non-trainable grid ``torch.nn.Parameter(torch.linspace(
grid_min, grid_max, num_grids), requires_grad=False)``, ``self.denominator = denominator or
(grid_max - grid_min) / (num_grids - 1)`` and ``torch.exp(-((x[..., None] - self.grid) /
self.denominator) ** 2)``; ``FastKANLayer`` with its ``nn.LayerNorm`` before the bases,
``self.spline_linear(spline_basis.view(*spline_basis.shape[:-2], -1))`` plus the base update
``self.base_linear(self.base_activation(x))`` (``F.silu``); ``FastKAN`` as an
``nn.ModuleList`` built from ``zip(layers_hidden[:-1], layers_hidden[1:])``; the layer's
``plot_curve`` helper reading one input-output curve (``w = self.spline_linear.weight[
output_index].view(-1, num_grids)[input_index]``); the parameters that require grad counted
with ``sum(p.numel() for p in model.parameters() if p.requires_grad)``; LBFGS-free training
with ``Adam`` and ``ExponentialLR``.

Changed: widths [2, 5, 1], 6 grids, 64 samples of ``exp(sin(pi x) + y^2)``, 6 steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

WIDTHS, GRIDS, SAMPLES, STEPS = [2, 5, 1], 6, 64, 6


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class SplineLinear(nn.Linear):
        def __init__(self, in_features: int, out_features: int, init_scale: float = 0.1,
                     **kw: Any) -> None:  # fmt: skip
            self.init_scale = init_scale
            super().__init__(in_features, out_features, bias=False, **kw)

        def reset_parameters(self) -> None:
            nn.init.trunc_normal_(self.weight, mean=0, std=self.init_scale)

    class RadialBasisFunction(nn.Module):
        def __init__(self, grid_min: float = -2.0, grid_max: float = 2.0, num_grids: int = 8,
                     denominator: float | None = None) -> None:  # fmt: skip
            super().__init__()
            grid = torch.linspace(grid_min, grid_max, num_grids)
            self.grid = torch.nn.Parameter(grid, requires_grad=False)
            self.denominator = denominator or (grid_max - grid_min) / (num_grids - 1)

        def forward(self, x: Any) -> Any:
            return torch.exp(-(((x[..., None] - self.grid) / self.denominator) ** 2))

    class FastKANLayer(nn.Module):
        def __init__(self, input_dim: int, output_dim: int, num_grids: int = GRIDS,
                     use_base_update: bool = True, base_activation: Any = F.silu,
                     spline_weight_init_scale: float = 0.1) -> None:  # fmt: skip
            super().__init__()
            self.layernorm = nn.LayerNorm(input_dim)
            self.rbf = RadialBasisFunction(num_grids=num_grids)
            self.spline_linear = SplineLinear(input_dim * num_grids, output_dim,
                                              spline_weight_init_scale)  # fmt: skip
            self.use_base_update = use_base_update
            if use_base_update:
                self.base_activation = base_activation
                self.base_linear = nn.Linear(input_dim, output_dim)

        def forward(self, x: Any, time_benchmark: bool = False) -> Any:
            spline_basis = self.rbf(self.layernorm(x))
            ret = self.spline_linear(spline_basis.view(*spline_basis.shape[:-2], -1))
            if self.use_base_update:
                ret = ret + self.base_linear(self.base_activation(x))
            return ret

        def plot_curve(self, input_index: int, output_index: int, num_pts: int = 5) -> Any:
            ng = self.rbf.grid.numel()
            h = self.rbf.denominator
            x = torch.linspace(self.rbf.grid[0] - h, self.rbf.grid[-1] + h, num_pts)
            w = self.spline_linear.weight[output_index].view(-1, ng)[input_index]
            return x, self.rbf(x) @ w

    class FastKAN(nn.Module):
        def __init__(self, layers_hidden: list[int]) -> None:
            super().__init__()
            self.layers = nn.ModuleList([FastKANLayer(i, o) for i, o in
                                         zip(layers_hidden[:-1], layers_hidden[1:])])  # fmt: skip

        def forward(self, x: Any) -> Any:
            for layer in self.layers:
                x = layer(x)
            return x

    return FastKAN(WIDTHS)


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    rng = np.random.default_rng(2)
    xy = rng.uniform(-1, 1, (SAMPLES, 2))
    target = np.exp(np.sin(math.pi * xy[:, :1]) + xy[:, 1:] ** 2)
    x, y = as_tensor(torch, xy), as_tensor(torch, target)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    values = [float(sum(p.numel() for p in model.parameters() if p.requires_grad))]
    for _ in range(STEPS):
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        values += [loss.item(), scheduler.get_last_lr()[0]]
    values.append(float(model.layers[0].rbf.grid.grad is None))
    with torch.no_grad():
        pts, curve = model.layers[0].plot_curve(1, 2)
    return values + pts.tolist() + curve.tolist()
