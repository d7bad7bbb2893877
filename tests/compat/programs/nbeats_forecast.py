"""N-BEATS ("Neural basis expansion analysis for interpretable time series forecasting",
Oreshkin et al. 2020) as ElementAI/N-BEATS writes it (``models/nbeats.py``,
``common/torch/losses.py``, ``common/torch/ops.py``, ``experiments/trainer.py``,
``common/sampler.py``), size-reduced.

The idioms: ``NBeatsBlock`` (a ``t.nn.ModuleList`` of ``t.nn.Linear`` layers under ``t.relu``
and a ``basis_parameters`` head handing ``theta`` to a basis module); ``NBeats.forward(x,
input_mask)`` with the doubly residual stacking (``residuals = x.flip(dims=(1,))``,
``input_mask.flip(dims=(1,))``, ``forecast = x[:, -1:]`` as the naive level, ``residuals =
(residuals - backcast) * input_mask``, ``forecast = forecast + block_forecast``);
``GenericBasis`` slicing ``theta[:, :backcast_size], theta[:, -forecast_size:]``; ``TrendBasis``
with the polynomial time grids as frozen float32 ``t.nn.Parameter(t.tensor(np.concatenate([
np.power(np.arange(size, dtype=np.float64) / size, i)[None, :] for i in range(p)]),
dtype=t.float32), requires_grad=False)`` and ``t.einsum('bp,pt->bt', theta[:, p:],
self.backcast_time)``; ``SeasonalityBasis`` with the Fourier templates (``np.append(np.zeros(1,
dtype=np.float32), np.arange(harmonics, harmonics / 2 * forecast_size, dtype=np.float32) /
harmonics)[None, :]``, ``-2 * np.pi * (np.arange(backcast_size)[:, None] / forecast_size) *
frequency``, ``np.transpose(np.cos(grid))``) and ``params_per_harmonic = theta.shape[1] // 4``;
the interpretable model's *shared* blocks (``t.nn.ModuleList([trend_block for _ in
range(trend_blocks)] + [seasonality_block ...])``, so one block's weights appear twice in the
state dict and the printed model); the losses (``divide_no_nan`` zeroing ``result[result !=
result]`` and ``result[result == np.inf]``, ``smape_loss`` as ``200 * t.mean(divide_no_nan(
t.abs(forecast - target), t.abs(forecast.data) + t.abs(target.data)) * mask)``, ``mase_loss``
with ``masep = t.mean(t.abs(insample[:, freq:] - insample[:, :-freq]), dim=1)`` and
``divide_no_nan(mask, masep[:, None])``, ``mape_loss``); the sampler's zero-padded, masked
history windows; and the trainer (``to_tensor`` as ``t.tensor(array, dtype=t.float32)``,
``t.optim.Adam``, the NaN guard, ``t.nn.utils.clip_grad_norm_(model.parameters(), 1.0)``, the
step decay ``param_group["lr"] = learning_rate * 0.5 ** (i // lr_decay_step)``).

Changed: sizes (horizon 4, look-back 2H, layer size 16, 2 layers per block, 2+1 shared blocks,
6 steps of each model on a batch of 6 synthetic series); the NaN guard reads
``np.isnan(training_loss.item())``, as the repo's ``float(training_loss)`` now warns in PyTorch
on a tensor that requires grad.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["DTYPE", "RTOL", "check", "make_model", "run"]

DTYPE = "float32"  # ElementAI's models, templates and tensors are all float32
RTOL = 2e-5

HORIZON, LOOKBACK, LAYER_SIZE, LAYERS, BATCH, STEPS, LR, FREQ = 4, 2, 16, 2, 6, 6, 1e-3, 2
INPUT = LOOKBACK * HORIZON


def make_model(torch_like: Any) -> Any:
    t = torch_like

    class NBeatsBlock(t.nn.Module):
        def __init__(
            self,
            input_size: int,
            theta_size: int,
            basis_function: t.nn.Module,
            layers: int,
            layer_size: int,
        ) -> None:
            super().__init__()
            self.layers = t.nn.ModuleList(
                [t.nn.Linear(in_features=input_size, out_features=layer_size)]
                + [
                    t.nn.Linear(in_features=layer_size, out_features=layer_size)
                    for _ in range(layers - 1)
                ]
            )
            self.basis_parameters = t.nn.Linear(in_features=layer_size, out_features=theta_size)
            self.basis_function = basis_function

        def forward(self, x: Any) -> tuple[Any, Any]:
            block_input = x
            for layer in self.layers:
                block_input = t.relu(layer(block_input))
            basis_parameters = self.basis_parameters(block_input)
            return self.basis_function(basis_parameters)

    class NBeats(t.nn.Module):
        def __init__(self, blocks: t.nn.ModuleList) -> None:
            super().__init__()
            self.blocks = blocks

        def forward(self, x: Any, input_mask: Any) -> Any:
            residuals = x.flip(dims=(1,))
            input_mask = input_mask.flip(dims=(1,))
            forecast = x[:, -1:]
            for _i, block in enumerate(self.blocks):
                backcast, block_forecast = block(residuals)
                residuals = (residuals - backcast) * input_mask
                forecast = forecast + block_forecast
            return forecast

    class GenericBasis(t.nn.Module):
        def __init__(self, backcast_size: int, forecast_size: int) -> None:
            super().__init__()
            self.backcast_size = backcast_size
            self.forecast_size = forecast_size

        def forward(self, theta: Any) -> tuple[Any, Any]:
            return theta[:, : self.backcast_size], theta[:, -self.forecast_size :]

    class TrendBasis(t.nn.Module):
        def __init__(self, degree_of_polynomial: int, backcast_size: int, forecast_size: int):
            super().__init__()
            self.polynomial_size = degree_of_polynomial + 1
            self.backcast_time = t.nn.Parameter(
                t.tensor(
                    np.concatenate(
                        [
                            np.power(np.arange(backcast_size, dtype=np.float64) / backcast_size, i)[
                                None, :
                            ]
                            for i in range(self.polynomial_size)
                        ]
                    ),
                    dtype=t.float32,
                ),
                requires_grad=False,
            )
            self.forecast_time = t.nn.Parameter(
                t.tensor(
                    np.concatenate(
                        [
                            np.power(np.arange(forecast_size, dtype=np.float64) / forecast_size, i)[
                                None, :
                            ]
                            for i in range(self.polynomial_size)
                        ]
                    ),
                    dtype=t.float32,
                ),
                requires_grad=False,
            )

        def forward(self, theta: Any) -> tuple[Any, Any]:
            backcast = t.einsum("bp,pt->bt", theta[:, self.polynomial_size :], self.backcast_time)
            forecast = t.einsum("bp,pt->bt", theta[:, : self.polynomial_size], self.forecast_time)
            return backcast, forecast

    class SeasonalityBasis(t.nn.Module):
        def __init__(self, harmonics: int, backcast_size: int, forecast_size: int) -> None:
            super().__init__()
            self.frequency = np.append(
                np.zeros(1, dtype=np.float32),
                np.arange(harmonics, harmonics / 2 * forecast_size, dtype=np.float32) / harmonics,
            )[None, :]
            backcast_grid = (
                -2
                * np.pi
                * (np.arange(backcast_size, dtype=np.float32)[:, None] / forecast_size)
                * self.frequency
            )
            forecast_grid = (
                2
                * np.pi
                * (np.arange(forecast_size, dtype=np.float32)[:, None] / forecast_size)
                * self.frequency
            )

            def template(grid: np.ndarray) -> Any:
                return t.nn.Parameter(
                    t.tensor(np.transpose(grid), dtype=t.float32), requires_grad=False
                )

            self.backcast_cos_template = template(np.cos(backcast_grid))
            self.backcast_sin_template = template(np.sin(backcast_grid))
            self.forecast_cos_template = template(np.cos(forecast_grid))
            self.forecast_sin_template = template(np.sin(forecast_grid))

        def forward(self, theta: Any) -> tuple[Any, Any]:
            params_per_harmonic = theta.shape[1] // 4
            backcast_harmonics_cos = t.einsum(
                "bp,pt->bt",
                theta[:, 2 * params_per_harmonic : 3 * params_per_harmonic],
                self.backcast_cos_template,
            )
            backcast_harmonics_sin = t.einsum(
                "bp,pt->bt", theta[:, 3 * params_per_harmonic :], self.backcast_sin_template
            )
            backcast = backcast_harmonics_sin + backcast_harmonics_cos
            forecast_harmonics_cos = t.einsum(
                "bp,pt->bt", theta[:, :params_per_harmonic], self.forecast_cos_template
            )
            forecast_harmonics_sin = t.einsum(
                "bp,pt->bt",
                theta[:, params_per_harmonic : 2 * params_per_harmonic],
                self.forecast_sin_template,
            )
            forecast = forecast_harmonics_sin + forecast_harmonics_cos
            return backcast, forecast

    def generic(input_size: int, output_size: int, stacks: int, layers: int, layer_size: int):
        return NBeats(
            t.nn.ModuleList(
                [
                    NBeatsBlock(
                        input_size=input_size,
                        theta_size=input_size + output_size,
                        basis_function=GenericBasis(
                            backcast_size=input_size, forecast_size=output_size
                        ),
                        layers=layers,
                        layer_size=layer_size,
                    )
                    for _ in range(stacks)
                ]
            )
        )

    def interpretable(
        input_size: int,
        output_size: int,
        trend_blocks: int,
        degree_of_polynomial: int,
        seasonality_blocks: int,
        num_of_harmonics: int,
    ) -> NBeats:
        trend_block = NBeatsBlock(
            input_size=input_size,
            theta_size=2 * (degree_of_polynomial + 1),
            basis_function=TrendBasis(
                degree_of_polynomial=degree_of_polynomial,
                backcast_size=input_size,
                forecast_size=output_size,
            ),
            layers=LAYERS,
            layer_size=LAYER_SIZE,
        )
        seasonality_block = NBeatsBlock(
            input_size=input_size,
            theta_size=4
            * int(np.ceil(num_of_harmonics / 2 * output_size) - (num_of_harmonics - 1)),
            basis_function=SeasonalityBasis(
                harmonics=num_of_harmonics, backcast_size=input_size, forecast_size=output_size
            ),
            layers=LAYERS,
            layer_size=LAYER_SIZE,
        )
        return NBeats(
            t.nn.ModuleList(
                [trend_block for _ in range(trend_blocks)]
                + [seasonality_block for _ in range(seasonality_blocks)]
            )
        )

    class Models(t.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.generic = generic(INPUT, HORIZON, stacks=3, layers=LAYERS, layer_size=LAYER_SIZE)
            self.interpretable = interpretable(
                INPUT,
                HORIZON,
                trend_blocks=2,
                degree_of_polynomial=2,
                seasonality_blocks=1,
                num_of_harmonics=2,
            )

    return Models()


def divide_no_nan(a: Any, b: Any) -> Any:
    """a/b where the resulted NaN or Inf are replaced by 0."""
    result = a / b
    result[result != result] = 0.0
    result[result == np.inf] = 0.0
    return result


def mape_loss(t: Any, insample: Any, freq: int, forecast: Any, target: Any, mask: Any) -> Any:
    weights = divide_no_nan(mask, target)
    return t.mean(t.abs((forecast - target) * weights))


def smape_loss(t: Any, insample: Any, freq: int, forecast: Any, target: Any, mask: Any) -> Any:
    return 200 * t.mean(
        divide_no_nan(t.abs(forecast - target), t.abs(forecast.data) + t.abs(target.data)) * mask
    )


def mase_loss(t: Any, insample: Any, freq: int, forecast: Any, target: Any, mask: Any) -> Any:
    masep = t.mean(t.abs(insample[:, freq:] - insample[:, :-freq]), dim=1)
    masked_masep_inv = divide_no_nan(mask, masep[:, None])
    return t.mean(t.abs(target - forecast) * masked_masep_inv)


def make_series(rng: np.random.Generator) -> list[np.ndarray]:
    """Positive seasonal series of different lengths; some end in zeros (sMAPE's 0/0)."""
    series = []
    for i in range(8):
        length = int(rng.integers(6, 20))
        time = np.arange(length)
        values = 10 + 0.3 * i * time + 3 * np.sin(2 * np.pi * time / FREQ + i)
        values += rng.standard_normal(length)
        if i % 3 == 0:
            values[-2:] = 0.0
        series.append(values.astype(np.float32))
    return series


def sample(rng: np.random.Generator, timeseries: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """ElementAI's ``TimeseriesSampler``: a cut point per series, history zero-padded on the
    left with its mask, the horizon after the cut with its mask."""
    insample = np.zeros((BATCH, INPUT), dtype=np.float32)
    insample_mask = np.zeros((BATCH, INPUT), dtype=np.float32)
    outsample = np.zeros((BATCH, HORIZON), dtype=np.float32)
    outsample_mask = np.zeros((BATCH, HORIZON), dtype=np.float32)
    sampled_ts_indices = rng.integers(len(timeseries), size=BATCH)
    for i, sampled_index in enumerate(sampled_ts_indices):
        sampled_timeseries = timeseries[sampled_index]
        cut_point = rng.integers(low=max(1, len(sampled_timeseries) - 3 * HORIZON),
                                 high=len(sampled_timeseries), size=1)[0]  # fmt: skip
        insample_window = sampled_timeseries[max(0, cut_point - INPUT) : cut_point]
        insample[i, -len(insample_window) :] = insample_window
        insample_mask[i, -len(insample_window) :] = 1.0
        outsample_window = sampled_timeseries[cut_point : min(len(sampled_timeseries),
                                                              cut_point + HORIZON)]  # fmt: skip
        outsample[i, : len(outsample_window)] = outsample_window
        outsample_mask[i, : len(outsample_window)] = 1.0
    return insample, insample_mask, outsample, outsample_mask


def train(t: Any, model: Any, loss_fn: Any, rng: np.random.Generator, series: list) -> list:
    def to_tensor(array: np.ndarray) -> Any:
        return t.tensor(array, dtype=t.float32)

    learning_rate = LR
    optimizer = t.optim.Adam(model.parameters(), lr=learning_rate)
    lr_decay_step = STEPS // 3
    if lr_decay_step == 0:
        lr_decay_step = 1
    losses = []
    for i in range(1, STEPS + 1):
        model.train()
        x, x_mask, y, y_mask = map(to_tensor, sample(rng, series))
        optimizer.zero_grad()
        forecast = model(x, x_mask)
        training_loss = loss_fn(t, x, FREQ, forecast, y, y_mask)
        if np.isnan(training_loss.item()):  # float(loss) warns in PyTorch 2.x
            break
        training_loss.backward()
        t.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        for param_group in optimizer.param_groups:
            param_group["lr"] = learning_rate * 0.5 ** (i // lr_decay_step)
        losses += [training_loss.item(), optimizer.param_groups[0]["lr"]]
    return losses


def run(torch_like: Any, init: dict) -> list[float]:
    t = torch_like
    rng = np.random.default_rng(17)
    models = make_model(torch_like)
    load_numpy_state(torch_like, models, init)
    series = make_series(rng)
    interp = models.interpretable
    state = interp.state_dict()

    # the shared blocks: the state dict lists each twice, parameters() once; the loss helpers
    # turn 0/0 and x/0 into zeros
    a = t.tensor([0.0, 1.0, -2.0, 3.0])
    b = t.tensor([0.0, 0.0, 4.0, 2.0])
    values = [
        float(interp.blocks[0] is interp.blocks[1]),
        len(state),
        len(list(interp.parameters())),
        float(state["blocks.0.layers.0.weight"] is not None),
        *divide_no_nan(a, b).tolist(),
        *interp.blocks[2].basis_function.forecast_cos_template.flatten()[:6].tolist(),
        *interp.blocks[0].basis_function.backcast_time[2].tolist(),
    ]

    x, x_mask, y, y_mask = (t.tensor(arr) for arr in sample(rng, series))
    with t.no_grad():
        forecast = models.generic(x, x_mask)
        values += [
            smape_loss(t, x, FREQ, forecast, y, y_mask).item(),
            mase_loss(t, x, FREQ, forecast, y, y_mask).item(),
            mape_loss(t, x, FREQ, forecast, y, y_mask).item(),
        ]

    values += train(t, models.generic, smape_loss, rng, series)
    values += train(t, models.interpretable, mase_loss, rng, series)
    with t.no_grad():
        x, x_mask, _, _ = (t.tensor(arr) for arr in sample(rng, series))
        values += models.interpretable(x, x_mask)[0].tolist()
    return values


def check(values: list[float]) -> None:
    """The interpretable model's blocks were shared (one module, listed twice)."""
    assert values[0] == 1.0, values[0]
