"""ditschuk/pytorch-tsmixer (``torchtsmixer/tsmixer.py``, ``torchtsmixer/layers.py``), the
PyTorch port of Google Research's TSMixer, size-reduced: ``TimeBatchNorm2d`` subclassing
``nn.BatchNorm1d`` over ``num_channels * num_time_steps`` features (``x.reshape(x.shape[0], -1,
1)``, ``super().forward(x)``, reshaped back, a ``ValueError`` for a non-3-D input);
``feature_to_time``/``time_to_feature`` as ``x.permute(0, 2, 1)``; ``TimeMixing`` (a
``nn.Linear(sequence_length, sequence_length)`` across time, ``self.norm(x + x_res)``);
``FeatureMixing`` (``norm_before``/``norm_after`` chosen with ``normalize_before``,
``nn.Identity()`` otherwise, a ``projection`` that is ``nn.Identity()`` when the channel
counts agree, ``fc1``/activation/``nn.Dropout``/``fc2``/dropout and the ``x_proj + x``
residual); ``MixerLayer``;
``TSMixer`` taking ``activation_fn = getattr(F, activation_fn)`` and ``norm_type =
TimeBatchNorm2d if norm_type == "batch" else nn.LayerNorm`` from strings, ``_build_mixer`` as a
``@staticmethod`` over ``zip(channels[:-1], channels[1:])`` into ``nn.Sequential(*...)``, and
the final ``temporal_projection`` from ``sequence_length`` to ``prediction_length``.

Changed: the ETT/weather data is a seeded NumPy multivariate sine series cut into sliding
windows; sequence 12, horizon 4, 3 channels, ``ff_dim`` 8, two blocks; the repository's trainer
class is a plain ``Adam`` + ``nn.MSELoss`` loop of a few steps with ``ReduceLROnPlateau`` on the
validation loss; a ``LayerNorm`` variant with ``normalize_before=False`` and ``gelu`` is trained
beside the batch-norm one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import load_numpy_state

SEQ, PRED, CH = 12, 4, 3


def _tsmixer(torch_like: Any) -> type:
    nn, F = torch_like.nn, torch_like.nn.functional
    Tensor = torch_like.Tensor

    class TimeBatchNorm2d(nn.BatchNorm1d):
        """A batch normalization layer that normalizes over the last two dimensions of a
        sequence in PyTorch, mimicking Keras behavior."""

        def __init__(self, normalized_shape: tuple[int, int]):
            num_time_steps, num_channels = normalized_shape
            super().__init__(num_channels * num_time_steps)
            self.num_time_steps = num_time_steps
            self.num_channels = num_channels

        def forward(self, x: Tensor) -> Tensor:
            if x.ndim != 3:
                raise ValueError(f"Expected 3D input tensor, but got {x.ndim}D tensor instead.")

            # Reshaping input to combine time and feature dimensions for normalization
            x = x.reshape(x.shape[0], -1, 1)

            # Applying batch normalization
            x = super().forward(x)

            # Reshaping back to original dimensions (N, S, C)
            x = x.reshape(x.shape[0], self.num_time_steps, self.num_channels)

            return x

    def time_to_feature(x: Tensor) -> Tensor:
        """Converts a time series tensor to a feature tensor."""
        return x.permute(0, 2, 1)

    feature_to_time = time_to_feature

    class FeatureMixing(nn.Module):
        def __init__(self, sequence_length: int, input_channels: int, output_channels: int,
                     ff_dim: int, activation_fn=F.relu, dropout_rate: float = 0.1,
                     normalize_before: bool = True, norm_type: type = nn.LayerNorm):  # noqa: ANN001 # fmt: skip
            super().__init__()

            self.norm_before = (
                norm_type((sequence_length, input_channels)) if normalize_before else nn.Identity()
            )
            self.norm_after = (
                norm_type((sequence_length, output_channels))
                if not normalize_before
                else nn.Identity()
            )

            self.activation_fn = activation_fn
            self.dropout = nn.Dropout(dropout_rate)
            self.fc1 = nn.Linear(input_channels, ff_dim)
            self.fc2 = nn.Linear(ff_dim, output_channels)

            self.projection = (
                nn.Linear(input_channels, output_channels)
                if input_channels != output_channels
                else nn.Identity()
            )

        def forward(self, x: Tensor) -> Tensor:
            x_proj = self.projection(x)

            x = self.norm_before(x)

            x = self.fc1(x)  # Apply the first linear transformation.
            x = self.activation_fn(x)  # Apply the activation function.
            x = self.dropout(x)  # Apply dropout for regularization.
            x = self.fc2(x)  # Apply the second linear transformation.
            x = self.dropout(x)  # Apply dropout again if needed.

            x = x_proj + x  # Add the projection shortcut to the transformed features.

            return self.norm_after(x)

    class TimeMixing(nn.Module):
        def __init__(self, sequence_length: int, input_channels: int, activation_fn=F.relu,
                     dropout_rate: float = 0.1, norm_type: type = nn.LayerNorm):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.norm = norm_type((sequence_length, input_channels))
            self.activation_fn = activation_fn
            self.dropout = nn.Dropout(dropout_rate)
            self.fc1 = nn.Linear(sequence_length, sequence_length)

        def forward(self, x: Tensor) -> Tensor:
            x_temp = feature_to_time(x)  # Convert feature maps to time dimension
            x_temp = self.activation_fn(self.fc1(x_temp))
            x_temp = self.dropout(x_temp)
            x_res = time_to_feature(x_temp)  # Convert back from time to feature maps

            return self.norm(x + x_res)  # Apply normalization and combine with original input

    class MixerLayer(nn.Module):
        def __init__(self, sequence_length: int, input_channels: int, output_channels: int,
                     ff_dim: int, activation_fn=F.relu, dropout_rate: float = 0.1,
                     normalize_before: bool = False, norm_type: type = nn.LayerNorm):  # noqa: ANN001 # fmt: skip
            super().__init__()
            self.time_mixing = TimeMixing(sequence_length, input_channels, activation_fn,
                                          dropout_rate, norm_type=norm_type)  # fmt: skip
            self.feature_mixing = FeatureMixing(sequence_length, input_channels,
                                                output_channels, ff_dim, activation_fn,
                                                dropout_rate, normalize_before=normalize_before,
                                                norm_type=norm_type)  # fmt: skip

        def forward(self, x: Tensor) -> Tensor:
            x = self.time_mixing(x)  # Apply time mixing first.
            x = self.feature_mixing(x)  # Then apply feature mixing.

            return x

    class TSMixer(nn.Module):
        """TSMixer model for time series forecasting."""

        def __init__(self, sequence_length: int, prediction_length: int, input_channels: int,
                     output_channels: int | None = None, activation_fn: str = "relu",
                     num_blocks: int = 2, dropout_rate: float = 0.1, ff_dim: int = 64,
                     normalize_before: bool = True, norm_type: str = "batch"):  # fmt: skip
            super().__init__()

            # Transform activation_fn to callable
            activation_fn = getattr(F, activation_fn)

            # Transform norm_type to callable
            assert norm_type in {"batch", "layer"}, f"Invalid norm_type: {norm_type}"
            norm_type = TimeBatchNorm2d if norm_type == "batch" else nn.LayerNorm

            # Build mixer layers
            self.mixer_layers = self._build_mixer(
                num_blocks,
                input_channels,
                output_channels,
                ff_dim=ff_dim,
                activation_fn=activation_fn,
                dropout_rate=dropout_rate,
                sequence_length=sequence_length,
                normalize_before=normalize_before,
                norm_type=norm_type,
            )

            # Temporal projection layer
            self.temporal_projection = nn.Linear(sequence_length, prediction_length)

        @staticmethod
        def _build_mixer(num_blocks: int, input_channels: int, output_channels: int,
                         **kwargs: Any) -> Any:  # fmt: skip
            """Build the mixer blocks for the model."""
            output_channels = output_channels if output_channels is not None else input_channels
            channels = [input_channels] * (num_blocks - 1) + [output_channels]

            return nn.Sequential(
                *[
                    MixerLayer(input_channels=in_ch, output_channels=out_ch, **kwargs)
                    for in_ch, out_ch in zip(channels[:-1], channels[1:])
                ]
            )

        def forward(self, x_hist: Tensor) -> Tensor:
            x = self.mixer_layers(x_hist)

            x_temp = feature_to_time(x)

            x_temp = self.temporal_projection(x_temp)

            x = time_to_feature(x_temp)

            return x

    return TSMixer


def make_model(torch_like: Any) -> Any:
    return _tsmixer(torch_like)(SEQ, PRED, CH, num_blocks=3, dropout_rate=0.1, ff_dim=8)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(7)
    t = np.arange(120)
    series = np.stack([np.sin(t / (3.0 + k)) + 0.1 * rng.standard_normal(t.shape)
                       for k in range(CH)], axis=1)  # fmt: skip
    windows = np.stack([series[i : i + SEQ + PRED] for i in range(0, 100, 3)])
    x_all = torch.tensor(windows[:, :SEQ], dtype=torch.float64)
    y_all = torch.tensor(windows[:, SEQ:], dtype=torch.float64)
    values: list[float] = []

    torch.manual_seed(0)
    batch_model = make_model(torch_like)
    load_numpy_state(torch_like, batch_model, init)
    layer_model = _tsmixer(torch_like)(SEQ, PRED, CH, output_channels=2, activation_fn="gelu",
                                       num_blocks=3, ff_dim=8, normalize_before=False,
                                       norm_type="layer")  # fmt: skip
    for model, out_ch in ((batch_model, CH), (layer_model, 2)):
        criterion = torch.nn.MSELoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min",
                                                               factor=0.5, patience=0)  # fmt: skip
        for _epoch in range(3):
            model.train()
            perm = torch.randperm(24)
            for i in range(0, 24, 8):
                idx = perm[i : i + 8]
                optimizer.zero_grad()
                outputs = model(x_all[idx])
                loss = criterion(outputs, y_all[idx][..., :out_ch])
                loss.backward()
                optimizer.step()
                values.append(loss.item())
            model.eval()
            with torch.no_grad():
                val_loss = criterion(model(x_all[24:]), y_all[24:][..., :out_ch]).item()
            scheduler.step(val_loss)
            values += [val_loss, optimizer.param_groups[0]["lr"]]
    bn = batch_model.mixer_layers[0].time_mixing.norm
    values += bn.running_mean[:5].tolist() + bn.running_var[:5].tolist()
    values.append(float(bn.num_batches_tracked))
    try:
        bn(torch.zeros(2, SEQ * CH))
    except ValueError as exc:
        values.append(float(str(exc) == "Expected 3D input tensor, but got 2D tensor instead."))
    return values
