"""N-HiTS (Challu et al., ``neuralforecast/models/nhits.py``), size-reduced: hierarchical
interpolation forecasting on a synthetic multi-seasonal series.

Each ``NHITSBlock`` pools its input with ``nn.MaxPool1d(kernel_size=k, stride=k,
ceil_mode=True)`` (multi-rate input pooling: kernels 4, 3, 1 on a window of 10, so the pooled
sizes come from ``int(np.ceil(input_size / n_pool_kernel_size))``), after
``insample_y.unsqueeze(1)`` / ``squeeze(1)``; an MLP (``nn.Linear`` + ``nn.ReLU`` stacks built
from ``mlp_units``) emits ``theta``; ``_IdentityBasis`` splits it into the backcast and the
forecast knots, ``knots.reshape(len(knots), self.out_features, -1)``, and upsamples the knots
with ``F.interpolate(knots, size=self.forecast_size, mode=self.interpolation_mode)``
(``'linear'``; ``n_freq_downsample`` 4, 2, 1 gives 2, 4 and 8 knots for ``h = 8``), then
``forecast.permute(0, 2, 1)``. ``NHITS.forward`` flips the window (``insample_y.flip(dims=(-1,))``),
starts the forecast at the naive level ``insample_y[:, -1:, None]`` repeated over the horizon,
and runs the doubly residual stacking ``residuals = (residuals - backcast) * insample_mask``,
``forecast = forecast + block_forecast``. The weights use ``init_weights``' glorot choice
(``nn.init.xavier_uniform_``); the loss is neuralforecast's masked ``MAE``
(``torch.abs(y - y_hat)`` weighted by the mask, ``torch.sum(losses * weights) /
torch.sum(weights)``); ``Adam`` with ``StepLR``; windows are drawn with
``Tensor.unfold(dimension=-1, size=..., step=1)`` as ``TimeSeriesLoader`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

INPUT_SIZE, H = 10, 8


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class _IdentityBasis(nn.Module):
        def __init__(
            self,
            backcast_size: int,
            forecast_size: int,
            interpolation_mode: str,
            out_features: int = 1,
        ) -> None:
            super().__init__()
            assert (interpolation_mode in ["linear", "nearest"]) or ("cubic" in interpolation_mode)
            self.forecast_size = forecast_size
            self.backcast_size = backcast_size
            self.interpolation_mode = interpolation_mode
            self.out_features = out_features

        def forward(self, theta: Any) -> tuple[Any, Any]:
            backcast = theta[:, : self.backcast_size]
            knots = theta[:, self.backcast_size :]

            # Interpolation is performed on default dim=-1 := H
            knots = knots.reshape(len(knots), self.out_features, -1)
            if self.interpolation_mode in ["nearest", "linear"]:
                forecast = F.interpolate(
                    knots, size=self.forecast_size, mode=self.interpolation_mode
                )
            else:
                raise NotImplementedError(self.interpolation_mode)
            # [B,Q,H] -> [B,H,Q]
            forecast = forecast.permute(0, 2, 1)
            return backcast, forecast

    ACTIVATIONS = ["ReLU", "Softplus", "Tanh", "SELU", "LeakyReLU", "PReLU", "Sigmoid"]
    POOLING = ["MaxPool1d", "AvgPool1d"]

    class NHITSBlock(nn.Module):
        def __init__(
            self,
            input_size: int,
            h: int,
            n_theta: int,
            mlp_units: list,
            basis: Any,
            n_pool_kernel_size: int,
            pooling_mode: str,
            dropout_prob: float,
            activation: str,
        ) -> None:
            super().__init__()
            pooled_hist_size = int(np.ceil(input_size / n_pool_kernel_size))
            input_size = pooled_hist_size
            self.dropout_prob = dropout_prob
            assert activation in ACTIVATIONS, f"{activation} is not in {ACTIVATIONS}"
            assert pooling_mode in POOLING, f"{pooling_mode} is not in {POOLING}"
            activ = getattr(nn, activation)()
            self.pooling_layer = getattr(nn, pooling_mode)(
                kernel_size=n_pool_kernel_size, stride=n_pool_kernel_size, ceil_mode=True
            )
            # Block MLPs
            hidden_layers = [nn.Linear(in_features=input_size, out_features=mlp_units[0][0])]
            for layer in mlp_units:
                hidden_layers.append(nn.Linear(in_features=layer[0], out_features=layer[1]))
                hidden_layers.append(activ)
                if self.dropout_prob > 0:
                    hidden_layers.append(nn.Dropout(p=self.dropout_prob))
            output_layer = [nn.Linear(in_features=mlp_units[-1][1], out_features=n_theta)]
            layers = hidden_layers + output_layer
            self.layers = nn.Sequential(*layers)
            self.basis = basis

        def forward(self, insample_y: Any) -> tuple[Any, Any]:
            # Pooling
            # Pool1d needs 3D input, (B,C,L), adding C dimension
            insample_y = insample_y.unsqueeze(1)
            insample_y = self.pooling_layer(insample_y)
            insample_y = insample_y.squeeze(1)
            theta = self.layers(insample_y)
            backcast, forecast = self.basis(theta)
            return backcast, forecast

    def init_weights(module: Any, initialization: str) -> None:
        if type(module) is torch.nn.Linear:
            if initialization == "orthogonal":
                torch.nn.init.orthogonal_(module.weight)
            elif initialization == "he_uniform":
                torch.nn.init.kaiming_uniform_(module.weight)
            elif initialization == "glorot":
                torch.nn.init.xavier_uniform_(module.weight)
            elif initialization == "lecun_normal":
                pass
            else:
                assert 1 < 0, f"Initialization {initialization} not found"

    class NHITS(nn.Module):
        def __init__(
            self,
            h: int = H,
            input_size: int = INPUT_SIZE,
            stack_types: tuple = ("identity", "identity", "identity"),
            n_pool_kernel_size: tuple = (4, 3, 1),
            n_freq_downsample: tuple = (4, 2, 1),
            pooling_mode: str = "MaxPool1d",
            interpolation_mode: str = "linear",
            mlp_units: tuple = ((12, 12), (12, 12)),
        ) -> None:
            super().__init__()
            self.h = h
            blocks = []
            for i in range(len(stack_types)):
                n_theta = input_size + max(h // n_freq_downsample[i], 1)
                basis = _IdentityBasis(input_size, h, interpolation_mode)
                nbeats_block = NHITSBlock(
                    input_size=input_size,
                    h=h,
                    n_theta=n_theta,
                    mlp_units=list(mlp_units),
                    basis=basis,
                    n_pool_kernel_size=n_pool_kernel_size[i],
                    pooling_mode=pooling_mode,
                    dropout_prob=0.0,
                    activation="ReLU",
                )
                # Select type of evaluation and apply it to all layers of block
                init_function = lambda m: init_weights(module=m, initialization="glorot")  # noqa: E731
                nbeats_block.layers.apply(init_function)
                blocks.append(nbeats_block)
            self.blocks = torch.nn.ModuleList(blocks)

        def forward(self, insample_y: Any, insample_mask: Any) -> tuple[Any, Any]:
            residuals = insample_y.flip(dims=(-1,))  # backcast init
            insample_mask = insample_mask.flip(dims=(-1,))

            forecast = insample_y[:, -1:, None]  # Level with Naive1
            block_forecasts = [forecast.repeat(1, self.h, 1)]
            for block in self.blocks:
                backcast, block_forecast = block(insample_y=residuals)
                residuals = (residuals - backcast) * insample_mask
                forecast = forecast + block_forecast
                block_forecasts.append(block_forecast)
            # (n_batch, n_blocks, h, n_outputs)
            stacked = torch.stack(block_forecasts)
            stacked = stacked.permute(1, 0, 2, 3)
            return forecast, stacked

    return NHITS()


def mae(torch_like: Any, y: Any, y_hat: Any, mask: Any = None) -> Any:
    """neuralforecast's ``MAE.__call__`` with ``_weighted_mean``."""
    torch = torch_like
    losses = torch.abs(y - y_hat)
    weights = torch.ones_like(y) if mask is None else mask
    return torch.sum(losses * weights) / torch.sum(weights)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(34)
    t = np.arange(120.0)
    series = (
        np.sin(2 * np.pi * t / 12) + 0.5 * np.sin(2 * np.pi * t / 5) + 0.01 * t
    ) + 0.1 * rng.standard_normal(120)
    y = as_tensor(torch, series)
    windows = y.unfold(dimension=-1, size=INPUT_SIZE + H, step=1)  # (n_windows, L + h)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    values = []
    model.train()
    for step in range(6):
        idx = as_tensor(torch, rng.choice(len(windows) - 20, size=8, replace=False))
        batch = windows[idx]
        insample_y, outsample_y = batch[:, :INPUT_SIZE], batch[:, INPUT_SIZE:]
        insample_mask = torch.ones_like(insample_y)
        if step % 2:
            insample_mask[:, :2] = 0  # missing values at the start of the window
        forecast, _ = model(insample_y, insample_mask)
        loss = mae(torch, outsample_y, forecast.squeeze(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        test = windows[-20:]
        forecast, stacked = model(test[:, :INPUT_SIZE], torch.ones_like(test[:, :INPUT_SIZE]))
        values.append(mae(torch, test[:, INPUT_SIZE:], forecast[..., 0]).item())
        values.extend(stacked[0, :, -1, 0].tolist())
        values.append(list(stacked.shape)[1])
    return values
