"""MONAI's 3D segmentation recipe (``monai.networks.nets.UNet`` trained with
``monai.losses.DiceCELoss``, as in the spleen / BraTS tutorials), size-reduced and written out.

``UNet(spatial_dims=3, channels=(4, 8, 16), strides=(2, 2), num_res_units=1, norm=INSTANCE)``:
each ``ResidualUnit`` is ``Convolution`` sub-units (``Conv3d`` then the "NDA" block
``InstanceNorm3d(affine=True)`` / ``Dropout`` / ``PReLU``) plus a residual ``Conv3d`` (1x1x1 or
strided 3x3x3 when the shape changes); the up path is ``ConvTranspose3d(stride=2, padding=1,
output_padding=1)`` on the ``torch.cat([x, y], dim=1)`` of the skip and the lower level, then a
residual unit; ``SkipConnection`` / ``nn.Sequential`` nest the levels recursively.

``DiceCELoss(to_onehot_y=True, softmax=True)``: MONAI's ``one_hot`` (``labels.float()``,
``torch.zeros(size=sh, dtype=dtype)`` then ``o.scatter_(dim=dim, index=labels.long(), value=1)``),
``torch.softmax(input, 1)``, dice over ``reduce_axis = list(range(2, len(input.shape)))`` with
``smooth_nr`` / ``smooth_dr``, ``torch.mean(f)``; the CE part squeezes the channel of the label
(``torch.squeeze(target, dim=1).long()``) into ``nn.CrossEntropyLoss``. Training uses ``Adam``
with ``weight_decay`` and ``model.train()``; evaluation reports a per-class Dice metric
(``argmax(dim=1, keepdim=True)`` then one-hot) under ``torch.no_grad()`` / ``model.eval()``.
Volumes are 2x1x8x8x8 with 3 classes instead of 96^3 crops (no sliding window).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

N_CLASSES = 3


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class Convolution(nn.Sequential):
        """MONAI ``Convolution``: conv (or transposed conv) then the ADN block ("NDA")."""

        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            strides: int = 1,
            kernel_size: int = 3,
            is_transposed: bool = False,
            conv_only: bool = False,
            dropout: float = 0.0,
        ) -> None:
            super().__init__()
            padding = (kernel_size - 1) // 2
            if is_transposed:
                conv = nn.ConvTranspose3d(
                    in_channels,
                    out_channels,
                    kernel_size,
                    stride=strides,
                    padding=padding,
                    output_padding=strides - 1,
                )
            else:
                conv = nn.Conv3d(in_channels, out_channels, kernel_size, strides, padding)
            self.add_module("conv", conv)
            if conv_only:
                return
            adn = nn.Sequential()
            adn.add_module("N", nn.InstanceNorm3d(out_channels, affine=True))
            adn.add_module("D", nn.Dropout(dropout))
            adn.add_module("A", nn.PReLU())
            self.add_module("adn", adn)

    class ResidualUnit(nn.Module):
        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            strides: int = 1,
            subunits: int = 2,
            last_conv_only: bool = False,
        ) -> None:
            super().__init__()
            self.conv = nn.Sequential()
            self.residual = nn.Identity()
            schannels, sstrides = in_channels, strides
            for su in range(max(1, subunits)):
                conv_only = last_conv_only and su == subunits - 1
                unit = Convolution(schannels, out_channels, sstrides, conv_only=conv_only)
                self.conv.add_module(f"unit{su:d}", unit)
                schannels, sstrides = out_channels, 1
            if np.prod(strides) != 1 or in_channels != out_channels:
                rkernel_size, rpadding = (3, 1) if np.prod(strides) != 1 else (1, 0)
                self.residual = nn.Conv3d(
                    in_channels, out_channels, rkernel_size, strides, rpadding
                )

        def forward(self, x: Any) -> Any:
            res = self.residual(x)
            cx = self.conv(x)
            return cx + res

    class SkipConnection(nn.Module):
        def __init__(self, submodule: Any, dim: int = 1) -> None:
            super().__init__()
            self.submodule = submodule
            self.dim = dim

        def forward(self, x: Any) -> Any:
            y = self.submodule(x)
            return torch.cat([x, y], dim=self.dim)

    class UNet(nn.Module):
        def __init__(
            self,
            in_channels: int = 1,
            out_channels: int = N_CLASSES,
            channels: tuple = (4, 8, 16),
            strides: tuple = (2, 2),
            num_res_units: int = 1,
        ) -> None:
            super().__init__()
            self.num_res_units = num_res_units

            def _create_block(inc: int, outc: int, channels: tuple, strides: tuple, is_top: bool):
                c = channels[0]
                s = strides[0]
                if len(channels) > 2:
                    subblock = _create_block(c, c, channels[1:], strides[1:], False)
                    upc = c * 2
                else:
                    subblock = self._get_bottom_layer(c, channels[1])
                    upc = c + channels[1]
                down = self._get_down_layer(inc, c, s, is_top)
                up = self._get_up_layer(upc, outc, s, is_top)
                return nn.Sequential(down, SkipConnection(subblock), up)

            self.model = _create_block(in_channels, out_channels, channels, strides, True)

        def _get_down_layer(self, in_channels: int, out_channels: int, strides: int, is_top: bool):
            return ResidualUnit(in_channels, out_channels, strides, subunits=self.num_res_units)

        def _get_bottom_layer(self, in_channels: int, out_channels: int) -> Any:
            return self._get_down_layer(in_channels, out_channels, 1, False)

        def _get_up_layer(self, in_channels: int, out_channels: int, strides: int, is_top: bool):
            conv = Convolution(
                in_channels,
                out_channels,
                strides,
                is_transposed=True,
                conv_only=is_top and self.num_res_units == 0,
            )
            ru = ResidualUnit(out_channels, out_channels, 1, subunits=1, last_conv_only=is_top)
            return nn.Sequential(conv, ru)

        def forward(self, x: Any) -> Any:
            return self.model(x)

    return UNet()


def one_hot(torch_like: Any, labels: Any, num_classes: int, dtype: Any = None, dim: int = 1):
    """``monai.networks.utils.one_hot``."""
    torch = torch_like
    dtype = torch.float if dtype is None else dtype
    if labels.ndim < dim + 1:
        shape = list(labels.shape) + [1] * (dim + 1 - len(labels.shape))
        labels = torch.reshape(labels, shape)
    sh = list(labels.shape)
    if sh[dim] != 1:
        raise AssertionError("labels should have a channel with length equal to one.")
    sh[dim] = num_classes
    o = torch.zeros(size=sh, dtype=dtype, device=labels.device)
    labels = o.scatter_(dim=dim, index=labels.long(), value=1)
    return labels


def make_dice_ce(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class DiceLoss(nn.Module):
        def __init__(
            self,
            include_background: bool = True,
            to_onehot_y: bool = False,
            softmax: bool = False,
            squared_pred: bool = False,
            smooth_nr: float = 1e-5,
            smooth_dr: float = 1e-5,
            batch: bool = False,
        ) -> None:
            super().__init__()
            self.include_background = include_background
            self.to_onehot_y = to_onehot_y
            self.softmax = softmax
            self.squared_pred = squared_pred
            self.smooth_nr = float(smooth_nr)
            self.smooth_dr = float(smooth_dr)
            self.batch = batch

        def forward(self, input: Any, target: Any) -> Any:
            n_pred_ch = input.shape[1]
            if self.softmax:
                input = torch.softmax(input, 1)
            if self.to_onehot_y:
                target = one_hot(torch_like, target, num_classes=n_pred_ch)
            if not self.include_background:
                target = target[:, 1:]
                input = input[:, 1:]
            if target.shape != input.shape:
                raise AssertionError("ground truth has different shape")
            reduce_axis: list[int] = torch.arange(2, len(input.shape)).tolist()
            if self.batch:
                reduce_axis = [0] + reduce_axis
            intersection = torch.sum(target * input, dim=reduce_axis)
            if self.squared_pred:
                ground_o = torch.sum(target**2, dim=reduce_axis)
                pred_o = torch.sum(input**2, dim=reduce_axis)
            else:
                ground_o = torch.sum(target, dim=reduce_axis)
                pred_o = torch.sum(input, dim=reduce_axis)
            denominator = ground_o + pred_o
            f: Any = 1.0 - (2.0 * intersection + self.smooth_nr) / (denominator + self.smooth_dr)
            return torch.mean(f)

    class DiceCELoss(nn.Module):
        def __init__(self, lambda_dice: float = 1.0, lambda_ce: float = 1.0, **kw: Any) -> None:
            super().__init__()
            self.dice = DiceLoss(**kw)
            self.cross_entropy = nn.CrossEntropyLoss(weight=None, reduction="mean")
            self.lambda_dice = lambda_dice
            self.lambda_ce = lambda_ce

        def ce(self, input: Any, target: Any) -> Any:
            n_pred_ch, n_target_ch = input.shape[1], target.shape[1]
            if n_pred_ch != n_target_ch and n_target_ch == 1:
                target = torch.squeeze(target, dim=1)
                target = target.long()
            elif not torch.is_floating_point(target):
                target = target.to(dtype=input.dtype)
            return self.cross_entropy(input, target)

        def forward(self, input: Any, target: Any) -> Any:
            dice_loss = self.dice(input, target)
            ce_loss = self.ce(input, target)
            total_loss: Any = self.lambda_dice * dice_loss + self.lambda_ce * ce_loss
            return total_loss

    return DiceCELoss


def _volumes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Noisy volumes with a bright cube (class 1) and a dim slab (class 2)."""
    images = 0.1 * rng.standard_normal((n, 1, 8, 8, 8))
    labels = np.zeros((n, 1, 8, 8, 8))
    for i in range(n):
        a, b = rng.integers(0, 4, size=2)
        images[i, 0, a : a + 4, b : b + 4, 2:6] += 1.0
        labels[i, 0, a : a + 4, b : b + 4, 2:6] = 1
        images[i, 0, :, :, 7] += 0.5
        labels[i, 0, :, :, 7] = 2
    return images, labels


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(32)
    images, labels = _volumes(rng, 2)
    val_images, val_labels = _volumes(rng, 2)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    loss_function = make_dice_ce(torch_like)(to_onehot_y=True, softmax=True)
    optimizer = torch.optim.Adam(model.parameters(), 1e-2, weight_decay=1e-5)
    values = []
    inputs, targets = as_tensor(torch, images), as_tensor(torch, labels).float()
    for _epoch in range(3):
        model.train()
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = loss_function(outputs, targets)
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        val_outputs = model(as_tensor(torch, val_images))
        val_pred = one_hot(torch, val_outputs.argmax(dim=1, keepdim=True), N_CLASSES)
        val_true = one_hot(torch, as_tensor(torch, val_labels), N_CLASSES)
        inter = (val_pred * val_true).sum(dim=(2, 3, 4))
        dice = 2 * inter / (val_pred.sum(dim=(2, 3, 4)) + val_true.sum(dim=(2, 3, 4)) + 1e-8)
        values.extend(dice.mean(dim=0).tolist())
        values.append(loss_function(val_outputs, as_tensor(torch, val_labels)).item())
    return values
