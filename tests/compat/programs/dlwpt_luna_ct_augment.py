"""Part 2 of *Deep Learning with PyTorch* (Stevens, Antiga, Viehmann), the LUNA lung-nodule
project (github.com/deep-learning-with-pytorch/dlwpt-code, ``p2ch11/model.py``,
``p2ch12/training.py``, ``p2ch14/model.py``, ``p2ch13/training.py``), size-reduced.

The idioms kept: ``LunaBlock`` (two ``nn.Conv3d(..., kernel_size=3, padding=1, bias=True)``
with ``nn.ReLU(inplace=True)`` and ``nn.MaxPool3d(2, 2)``), ``LunaModel`` with its
``self.tail_batchnorm = nn.BatchNorm3d(1)``, ``conv_flat = block_out.view(block_out.size(0),
-1)``, ``self.head_softmax = nn.Softmax(dim=1)`` returning ``(linear_output,
self.head_softmax(linear_output))``; ``_init_weights`` (``nn.init.kaiming_normal_(m.weight.data,
a=0, mode='fan_out', nonlinearity='relu')``, ``fan_in, fan_out =
nn.init._calculate_fan_in_and_fan_out(m.weight.data)``, ``bound = 1 / math.sqrt(fan_out)``,
``nn.init.normal_(m.bias, -bound, bound)``); ``LunaAugmentationModel``'s ``_build3dTransformMatrix``
(``transform_t = torch.eye(4)``, flips ``transform_t[i,i] *= -1``, offsets ``transform_t[i,3]``,
scales, the rotation about z ``torch.tensor([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0,
0, 1]])`` with ``transform_t @ rotation_t``) and its ``F.affine_grid(transform_t[:,:3],
input_g.size(), align_corners=False)`` / ``F.grid_sample(input_g, affine_t,
padding_mode='border', align_corners=False)`` plus ``noise_t = torch.randn_like(augmented_chunk)
* self.noise``; ``computeBatchLoss``'s ``nn.CrossEntropyLoss(reduction='none')`` with
``loss_g.mean()`` and the metrics tensor ``metrics_g[METRICS_LOSS_NDX, start_ndx:end_ndx] =
loss_g.detach()``; p2ch13's ``diceLoss`` (``diceLabel_g = label_g.sum(dim=[1,2,3])``, ``(2 *
diceCorrect_g + epsilon) / (dicePrediction_g + diceLabel_g + epsilon)``) and the recall-weighted
``diceLoss(prediction_g * label_g, label_g)`` term; ``torch.optim.SGD(..., lr=0.001,
momentum=0.99)``.

Changed: 8x8x8 chunks (not 32x48x48), ``depth=1`` with ``conv_channels=4``, random rotation
angle / flips / offsets taken from NumPy instead of ``random.random()``, two batches of 3.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor

__all__ = ["run"]

METRICS_LABEL_NDX, METRICS_PRED_NDX, METRICS_LOSS_NDX, METRICS_SIZE = 0, 1, 2, 3


def build(torch_like: Any) -> tuple[Any, Any]:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class LunaBlock(nn.Module):
        def __init__(self, in_channels: int, conv_channels: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv3d(in_channels, conv_channels, kernel_size=3, padding=1,
                                   bias=True)  # fmt: skip
            self.relu1 = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv3d(conv_channels, conv_channels, kernel_size=3, padding=1,
                                   bias=True)  # fmt: skip
            self.relu2 = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool3d(2, 2)

        def forward(self, input_batch: Any) -> Any:
            block_out = self.conv1(input_batch)
            block_out = self.relu1(block_out)
            block_out = self.conv2(block_out)
            block_out = self.relu2(block_out)
            return self.maxpool(block_out)

    class LunaModel(nn.Module):
        def __init__(self, in_channels: int = 1, conv_channels: int = 4) -> None:
            super().__init__()
            self.tail_batchnorm = nn.BatchNorm3d(1)
            self.block1 = LunaBlock(in_channels, conv_channels)
            self.head_linear = nn.Linear(4 * 4 * 4 * conv_channels, 2)
            self.head_softmax = nn.Softmax(dim=1)
            self._init_weights()

        def _init_weights(self) -> None:
            for m in self.modules():
                if type(m) in {nn.Linear, nn.Conv3d, nn.Conv2d, nn.ConvTranspose2d,
                               nn.ConvTranspose3d}:  # fmt: skip
                    nn.init.kaiming_normal_(m.weight.data, a=0, mode="fan_out",
                                            nonlinearity="relu")  # fmt: skip
                    if m.bias is not None:
                        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(m.weight.data)
                        bound = 1 / math.sqrt(fan_out)
                        nn.init.normal_(m.bias, -bound, bound)

        def forward(self, input_batch: Any) -> tuple[Any, Any]:
            bn_output = self.tail_batchnorm(input_batch)
            block_out = self.block1(bn_output)
            conv_flat = block_out.view(block_out.size(0), -1)
            linear_output = self.head_linear(conv_flat)
            return linear_output, self.head_softmax(linear_output)

    class LunaAugmentationModel(nn.Module):
        def __init__(self, flip: bool, offset: float, scale: float, noise: float) -> None:
            super().__init__()
            self.flip, self.offset, self.scale, self.noise = flip, offset, scale, noise

        def forward(self, input_g: Any, draws: np.ndarray) -> Any:
            transform_t = self._build3dTransformMatrix(draws)
            transform_t = transform_t.expand(input_g.shape[0], -1, -1)
            transform_t = transform_t.to(input_g.device, input_g.dtype)
            affine_t = F.affine_grid(transform_t[:, :3], input_g.size(), align_corners=False)
            augmented_chunk = F.grid_sample(input_g, affine_t, padding_mode="border",
                                            align_corners=False)  # fmt: skip
            if self.noise:
                noise_t = torch.randn_like(augmented_chunk)
                noise_t *= self.noise
                augmented_chunk += noise_t
            return augmented_chunk

        def _build3dTransformMatrix(self, draws: np.ndarray) -> Any:
            transform_t = torch.eye(4)
            for i in range(3):
                if self.flip:
                    if draws[i] > 0.5:
                        transform_t[i, i] *= -1
                if self.offset:
                    offset_float = self.offset
                    random_float = draws[3 + i] * 2 - 1
                    transform_t[i, 3] = offset_float * random_float
                if self.scale:
                    scale_float = self.scale
                    random_float = draws[6 + i] * 2 - 1
                    transform_t[i, i] *= 1.0 + scale_float * random_float
            angle_rad = float(draws[9]) * math.pi * 2
            s = math.sin(angle_rad)
            c = math.cos(angle_rad)
            rotation_t = torch.tensor([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
            transform_t @= rotation_t
            return transform_t

    return LunaModel(), LunaAugmentationModel(flip=True, offset=0.1, scale=0.2, noise=0.05)


def diceLoss(prediction_g: Any, label_g: Any, epsilon: float = 1) -> Any:
    diceLabel_g = label_g.sum(dim=[1, 2, 3])
    dicePrediction_g = prediction_g.sum(dim=[1, 2, 3])
    diceCorrect_g = (prediction_g * label_g).sum(dim=[1, 2, 3])
    diceRatio_g = (2 * diceCorrect_g + epsilon) / (dicePrediction_g + diceLabel_g + epsilon)
    return 1 - diceRatio_g


def run(torch_like: Any, init: Any) -> list[float]:
    torch, nn = torch_like, torch_like.nn
    torch.manual_seed(0)
    model, augmentation_model = build(torch_like)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.99)
    rng = np.random.default_rng(14)
    n, batch_size = 6, 3
    trnMetrics_g = torch.zeros(METRICS_SIZE, n)
    values: list[float] = []
    for _epoch in range(2):
        for batch_ndx in range(n // batch_size):
            input_t = as_tensor(torch_like, rng.standard_normal((batch_size, 1, 8, 8, 8)))
            label_t = as_tensor(torch_like, rng.integers(0, 2, batch_size))
            input_g = augmentation_model(input_t, rng.random(10))
            logits_g, probability_g = model(input_g)
            loss_func = nn.CrossEntropyLoss(reduction="none")
            loss_g = loss_func(logits_g, label_t)
            start_ndx = batch_ndx * batch_size
            end_ndx = start_ndx + label_t.size(0)
            trnMetrics_g[METRICS_LABEL_NDX, start_ndx:end_ndx] = label_t.detach()
            trnMetrics_g[METRICS_PRED_NDX, start_ndx:end_ndx] = probability_g[:, 1].detach()
            trnMetrics_g[METRICS_LOSS_NDX, start_ndx:end_ndx] = loss_g.detach()
            # p2ch13's segmentation loss, on a soft mask from the augmented chunk
            prediction_g = torch.sigmoid(input_g[:, 0])
            label_g = input_t[:, 0] > 0.5
            dice = diceLoss(prediction_g, label_g)
            fnLoss_g = diceLoss(prediction_g * label_g, label_g)
            loss_var = loss_g.mean() + 0.1 * (dice.mean() + fnLoss_g.mean() * 8)
            optimizer.zero_grad()
            loss_var.backward()
            optimizer.step()
            values.append(loss_var.item())
        values.extend(trnMetrics_g.sum(1).tolist())
    return values
