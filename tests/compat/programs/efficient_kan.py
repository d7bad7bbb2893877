"""A Kolmogorov-Arnold network as Blealtan/efficient-kan writes it (``src/efficient_kan/kan.py``),
size-reduced.

The idioms: ``KANLinear`` with its extended knot grid ``(torch.arange(-spline_order, grid_size +
spline_order + 1) * h + grid_range[0]).expand(in_features, -1).contiguous()`` registered as a
buffer; parameters made with the legacy ``torch.nn.Parameter(torch.Tensor(out, in, coeff))`` and
filled by ``reset_parameters`` (``kaiming_uniform_(..., a=math.sqrt(5) * scale_base)``, the
spline weight from ``curve2coeff`` of uniform noise under ``torch.no_grad()``, copied in with
``.data.copy_``); ``b_splines`` by the Cox-de Boor recursion (``((x >= grid[:, :-1]) & (x <
grid[:, 1:])).to(x.dtype)`` then the ``(x - grid[:, : -(k + 1)]) / (grid[:, k:-1] - grid[:, :
-(k + 1)]) * bases[:, :, :-1]`` blend); ``curve2coeff`` with ``torch.linalg.lstsq(A,
B).solution`` and ``.permute(2, 0, 1)``; the ``scaled_spline_weight`` property
(``spline_scaler.unsqueeze(-1)``); ``forward`` as ``F.linear(self.base_activation(x),
self.base_weight) + F.linear(self.b_splines(x).view(x.size(0), -1),
self.scaled_spline_weight.view(self.out_features, -1))``; the ``@torch.no_grad()`` decorated
``update_grid`` (``torch.bmm`` of the permuted bases and coefficients, ``torch.sort(x,
dim=0)[0]``, the adaptive grid picked with ``torch.linspace(0, batch - 1, grid_size + 1,
dtype=torch.int64)``, the uniform grid from a float32 ``torch.arange`` promoted by the
per-channel step, ``torch.concatenate`` of the extended ends, ``self.grid.copy_(grid.T)``); and
``regularization_loss`` (``l1_fake.sum()``, the entropy ``-torch.sum(p * p.log())``), summed
over ``KAN.layers``; trained with AdamW on a two-input function, updating the grid on the
first step as ``model(x, update_grid=True)``.

Changed: sizes (a 2-4-1 network, grid of 5, a batch of 32, six steps).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

LAYERS, GRID, ORDER, BATCH, STEPS, LR = [2, 4, 1], 5, 3, 32, 6, 1e-2


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    F = torch_like.nn.functional

    class KANLinear(torch.nn.Module):
        def __init__(
            self,
            in_features: int,
            out_features: int,
            grid_size: int = 5,
            spline_order: int = 3,
            scale_noise: float = 0.1,
            scale_base: float = 1.0,
            scale_spline: float = 1.0,
            enable_standalone_scale_spline: bool = True,
            base_activation: Any = torch.nn.SiLU,
            grid_eps: float = 0.02,
            grid_range: tuple = (-1, 1),
        ) -> None:
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.grid_size = grid_size
            self.spline_order = spline_order

            h = (grid_range[1] - grid_range[0]) / grid_size
            grid = (
                (torch.arange(-spline_order, grid_size + spline_order + 1) * h + grid_range[0])
                .expand(in_features, -1)
                .contiguous()
            )
            self.register_buffer("grid", grid)

            self.base_weight = torch.nn.Parameter(torch.Tensor(out_features, in_features))
            self.spline_weight = torch.nn.Parameter(
                torch.Tensor(out_features, in_features, grid_size + spline_order)
            )
            if enable_standalone_scale_spline:
                self.spline_scaler = torch.nn.Parameter(torch.Tensor(out_features, in_features))

            self.scale_noise = scale_noise
            self.scale_base = scale_base
            self.scale_spline = scale_spline
            self.enable_standalone_scale_spline = enable_standalone_scale_spline
            self.base_activation = base_activation()
            self.grid_eps = grid_eps

            self.reset_parameters()

        def reset_parameters(self) -> None:
            torch.nn.init.kaiming_uniform_(self.base_weight, a=math.sqrt(5) * self.scale_base)
            with torch.no_grad():
                noise = (
                    (torch.rand(self.grid_size + 1, self.in_features, self.out_features) - 1 / 2)
                    * self.scale_noise
                    / self.grid_size
                )
                self.spline_weight.data.copy_(
                    (self.scale_spline if not self.enable_standalone_scale_spline else 1.0)
                    * self.curve2coeff(self.grid.T[self.spline_order : -self.spline_order], noise)
                )
                if self.enable_standalone_scale_spline:
                    torch.nn.init.kaiming_uniform_(
                        self.spline_scaler, a=math.sqrt(5) * self.scale_spline
                    )

        def b_splines(self, x: Any) -> Any:
            assert x.dim() == 2 and x.size(1) == self.in_features
            grid = self.grid  # (in_features, grid_size + 2 * spline_order + 1)
            x = x.unsqueeze(-1)
            bases = ((x >= grid[:, :-1]) & (x < grid[:, 1:])).to(x.dtype)
            for k in range(1, self.spline_order + 1):
                bases = (
                    (x - grid[:, : -(k + 1)])
                    / (grid[:, k:-1] - grid[:, : -(k + 1)])
                    * bases[:, :, :-1]
                ) + (
                    (grid[:, k + 1 :] - x) / (grid[:, k + 1 :] - grid[:, 1:(-k)]) * bases[:, :, 1:]
                )
            assert bases.size() == (x.size(0), self.in_features, self.grid_size + self.spline_order)
            return bases.contiguous()

        def curve2coeff(self, x: Any, y: Any) -> Any:
            assert x.dim() == 2 and x.size(1) == self.in_features
            assert y.size() == (x.size(0), self.in_features, self.out_features)
            A = self.b_splines(x).transpose(0, 1)  # (in_features, batch_size, coeff)
            B = y.transpose(0, 1)  # (in_features, batch_size, out_features)
            solution = torch.linalg.lstsq(A, B).solution  # (in_features, coeff, out_features)
            result = solution.permute(2, 0, 1)  # (out_features, in_features, coeff)
            assert result.size() == (
                self.out_features,
                self.in_features,
                self.grid_size + self.spline_order,
            )
            return result.contiguous()

        @property
        def scaled_spline_weight(self) -> Any:
            return self.spline_weight * (
                self.spline_scaler.unsqueeze(-1) if self.enable_standalone_scale_spline else 1.0
            )

        def forward(self, x: Any) -> Any:
            assert x.size(-1) == self.in_features
            original_shape = x.shape
            x = x.reshape(-1, self.in_features)
            base_output = F.linear(self.base_activation(x), self.base_weight)
            spline_output = F.linear(
                self.b_splines(x).view(x.size(0), -1),
                self.scaled_spline_weight.view(self.out_features, -1),
            )
            output = base_output + spline_output
            output = output.reshape(*original_shape[:-1], self.out_features)
            return output

        @torch.no_grad()
        def update_grid(self, x: Any, margin: float = 0.01) -> None:
            assert x.dim() == 2 and x.size(1) == self.in_features
            batch = x.size(0)

            splines = self.b_splines(x)  # (batch, in, coeff)
            splines = splines.permute(1, 0, 2)  # (in, batch, coeff)
            orig_coeff = self.scaled_spline_weight  # (out, in, coeff)
            orig_coeff = orig_coeff.permute(1, 2, 0)  # (in, coeff, out)
            unreduced_spline_output = torch.bmm(splines, orig_coeff)  # (in, batch, out)
            unreduced_spline_output = unreduced_spline_output.permute(1, 0, 2)  # (batch, in, out)

            # sort each channel individually to collect data distribution
            x_sorted = torch.sort(x, dim=0)[0]
            grid_adaptive = x_sorted[
                torch.linspace(0, batch - 1, self.grid_size + 1, dtype=torch.int64, device=x.device)
            ]

            uniform_step = (x_sorted[-1] - x_sorted[0] + 2 * margin) / self.grid_size
            grid_uniform = (
                torch.arange(self.grid_size + 1, dtype=torch.float32, device=x.device).unsqueeze(1)
                * uniform_step
                + x_sorted[0]
                - margin
            )

            grid = self.grid_eps * grid_uniform + (1 - self.grid_eps) * grid_adaptive
            grid = torch.concatenate(
                [
                    grid[:1]
                    - uniform_step
                    * torch.arange(self.spline_order, 0, -1, device=x.device).unsqueeze(1),
                    grid,
                    grid[-1:]
                    + uniform_step
                    * torch.arange(1, self.spline_order + 1, device=x.device).unsqueeze(1),
                ],
                dim=0,
            )

            self.grid.copy_(grid.T)
            self.spline_weight.data.copy_(self.curve2coeff(x, unreduced_spline_output))

        def regularization_loss(
            self, regularize_activation: float = 1.0, regularize_entropy: float = 1.0
        ) -> Any:
            l1_fake = self.spline_weight.abs().mean(-1)
            regularization_loss_activation = l1_fake.sum()
            p = l1_fake / regularization_loss_activation
            regularization_loss_entropy = -torch.sum(p * p.log())
            return (
                regularize_activation * regularization_loss_activation
                + regularize_entropy * regularization_loss_entropy
            )

    class KAN(torch.nn.Module):
        def __init__(self, layers_hidden: list, grid_size: int = 5, spline_order: int = 3) -> None:
            super().__init__()
            self.grid_size = grid_size
            self.spline_order = spline_order
            self.layers = torch.nn.ModuleList()
            for in_features, out_features in zip(layers_hidden, layers_hidden[1:], strict=False):
                self.layers.append(
                    KANLinear(
                        in_features, out_features, grid_size=grid_size, spline_order=spline_order
                    )
                )

        def forward(self, x: Any, update_grid: bool = False) -> Any:
            for layer in self.layers:
                if update_grid:
                    layer.update_grid(x)
                x = layer(x)
            return x

        def regularization_loss(
            self, regularize_activation: float = 1.0, regularize_entropy: float = 1.0
        ) -> Any:
            return sum(
                layer.regularization_loss(regularize_activation, regularize_entropy)
                for layer in self.layers
            )

    return KAN(LAYERS, grid_size=GRID, spline_order=ORDER)


def target_fn(torch_like: Any, x: Any) -> Any:
    return torch_like.sin(math.pi * x[:, :1]) + x[:, 1:] ** 2


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    layer = model.layers[0]

    # the B-spline bases of the initial grid form a partition of unity inside the grid range
    probe = as_tensor(torch_like, rng.uniform(-0.99, 0.99, (6, 2)))
    bases = layer.b_splines(probe)
    values = [
        float(torch.allclose(bases.sum(-1), torch.ones(6, 2, dtype=bases.dtype))),
        *bases[0, 0].tolist(),
        *layer.grid[0].tolist(),
    ]
    # curve2coeff inverts the spline evaluation on enough points (least squares, exact fit)
    with torch.no_grad():
        xs = as_tensor(torch_like, np.linspace(-0.95, 0.95, 12)[:, None].repeat(2, 1))
        ys = torch.einsum("bik,oik->bio", layer.b_splines(xs), layer.spline_weight)
        coeff = layer.curve2coeff(xs, ys)
    values += [float(torch.allclose(coeff, layer.spline_weight, atol=1e-9))]
    values += [(coeff - layer.spline_weight).abs().max().lt(1e-9).float().item()]
    values += coeff[0, 1, :3].tolist()

    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    for step in range(STEPS):
        x = as_tensor(torch_like, rng.uniform(-1.0, 1.0, (BATCH, 2)))
        y = target_fn(torch_like, x)
        optimizer.zero_grad()
        pred = model(x, update_grid=(step == 0))
        mse = torch.nn.functional.mse_loss(pred, y)
        reg = model.regularization_loss(1.0, 1.0)
        loss = mse + 1e-3 * reg
        loss.backward()
        optimizer.step()
        values += [mse.item(), reg.item()]
        if step == 0:
            values += layer.grid[1].tolist()
    with torch.no_grad():
        x = as_tensor(torch_like, rng.uniform(-0.9, 0.9, (5, 2)))
        values += model(x).flatten().tolist()
    return values


def check(values: list[float]) -> None:
    """The bases summed to one and curve2coeff recovered the spline weights."""
    assert values[0] == 1.0, values[0]
    coeff_at = 1 + (GRID + ORDER) + (GRID + 2 * ORDER + 1)
    assert values[coeff_at : coeff_at + 2] == [1.0, 1.0], values[coeff_at : coeff_at + 2]
