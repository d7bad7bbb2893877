"""EfficientDet's BiFPN (``zylo117/Yet-Another-EfficientDet-Pytorch``: ``efficientdet/model.py``,
``efficientnet/utils_extra.py``, ``efficientnet/utils.py``), size-reduced to three levels:
``Conv2dStaticSamePadding`` and ``MaxPool2dStaticSamePadding`` (TensorFlow "SAME" padding
computed with ``math.ceil`` and applied by ``F.pad``), ``SeparableConvBlock`` (a depthwise
``groups=in`` conv, a pointwise conv, ``nn.BatchNorm2d(momentum=0.01, eps=1e-3)``),
``MemoryEfficientSwish`` (the ``SwishImplementation`` ``autograd.Function`` saving ``i``, reading
it back through the deprecated ``ctx.saved_variables[0]`` (PyTorch's ``DeprecationWarning`` is
counted) and returning ``grad_output * (sigmoid_i * (1 + i * (1 - sigmoid_i)))``) and ``Swish``;
the fast normalised fusion keeps ``nn.Parameter(torch.ones(2, dtype=torch.float32),
requires_grad=True)`` weights, passes them through ``nn.ReLU()`` and divides by
``torch.sum(weight, dim=0) + self.epsilon``; top-down resampling is ``nn.Upsample(scale_factor=2,
mode='nearest')``, bottom-up is the same-padded max pool. The head regresses a toy target with
``train.py``'s SGD (``momentum=0.9, nesterov=True``) and ``ReduceLROnPlateau``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["DTYPE", "make_model", "run"]

DTYPE = "float32"
CH, STEPS = 6, 4
DEPRECATIONS: list[str] = []  # what ctx.saved_variables warned


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    class SwishImplementation(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, i: Any) -> Any:
            result = i * torch.sigmoid(i)
            ctx.save_for_backward(i)
            return result

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            with warnings.catch_warnings(record=True) as caught:  # (the repository reads the
                warnings.simplefilter("always")  # deprecated name; PyTorch warns about it)
                i = ctx.saved_variables[0]
            DEPRECATIONS.extend(str(w.message) for w in caught if w.category is DeprecationWarning)
            sigmoid_i = torch.sigmoid(i)
            return grad_output * (sigmoid_i * (1 + i * (1 - sigmoid_i)))

    class MemoryEfficientSwish(nn.Module):
        def forward(self, x: Any) -> Any:
            return SwishImplementation.apply(x)

    class Swish(nn.Module):
        def forward(self, x: Any) -> Any:
            return x * torch.sigmoid(x)

    class Conv2dStaticSamePadding(nn.Module):
        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            kernel_size: int,
            stride: int = 1,
            bias: bool = True,
            groups: int = 1,
            dilation: int = 1,
            **kwargs: Any,
        ) -> None:
            super().__init__()
            self.conv = nn.Conv2d(
                in_channels, out_channels, kernel_size, stride=stride, bias=bias, groups=groups
            )
            self.stride = self.conv.stride
            self.kernel_size = self.conv.kernel_size
            self.dilation = self.conv.dilation
            if isinstance(self.stride, int):
                self.stride = [self.stride] * 2
            elif len(self.stride) == 1:
                self.stride = [self.stride[0]] * 2
            if isinstance(self.kernel_size, int):
                self.kernel_size = [self.kernel_size] * 2
            elif len(self.kernel_size) == 1:
                self.kernel_size = [self.kernel_size[0]] * 2

        def forward(self, x: Any) -> Any:
            h, w = x.shape[-2:]
            extra_h = (math.ceil(w / self.stride[1]) - 1) * self.stride[1] - w + self.kernel_size[1]
            extra_v = (math.ceil(h / self.stride[0]) - 1) * self.stride[0] - h + self.kernel_size[0]
            left = extra_h // 2
            right = extra_h - left
            top = extra_v // 2
            bottom = extra_v - top
            x = F.pad(x, [left, right, top, bottom])
            x = self.conv(x)
            return x

    class MaxPool2dStaticSamePadding(nn.Module):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__()
            self.pool = nn.MaxPool2d(*args, **kwargs)
            self.stride = self.pool.stride
            self.kernel_size = self.pool.kernel_size
            if isinstance(self.stride, int):
                self.stride = [self.stride] * 2
            if isinstance(self.kernel_size, int):
                self.kernel_size = [self.kernel_size] * 2

        def forward(self, x: Any) -> Any:
            h, w = x.shape[-2:]
            extra_h = (math.ceil(w / self.stride[1]) - 1) * self.stride[1] - w + self.kernel_size[1]
            extra_v = (math.ceil(h / self.stride[0]) - 1) * self.stride[0] - h + self.kernel_size[0]
            left = extra_h // 2
            right = extra_h - left
            top = extra_v // 2
            bottom = extra_v - top
            x = F.pad(x, [left, right, top, bottom])
            x = self.pool(x)
            return x

    class SeparableConvBlock(nn.Module):
        def __init__(
            self,
            in_channels: int,
            out_channels: int | None = None,
            norm: bool = True,
            activation: bool = False,
            onnx_export: bool = False,
        ) -> None:
            super(SeparableConvBlock, self).__init__()  # noqa: UP008
            if out_channels is None:
                out_channels = in_channels
            self.depthwise_conv = Conv2dStaticSamePadding(
                in_channels, in_channels, kernel_size=3, stride=1, groups=in_channels, bias=False
            )
            self.pointwise_conv = Conv2dStaticSamePadding(
                in_channels, out_channels, kernel_size=1, stride=1
            )
            self.norm = norm
            if self.norm:
                self.bn = nn.BatchNorm2d(num_features=out_channels, momentum=0.01, eps=1e-3)
            self.activation = activation
            if self.activation:
                self.swish = MemoryEfficientSwish() if not onnx_export else Swish()

        def forward(self, x: Any) -> Any:
            x = self.depthwise_conv(x)
            x = self.pointwise_conv(x)
            if self.norm:
                x = self.bn(x)
            if self.activation:
                x = self.swish(x)
            return x

    class BiFPN(nn.Module):
        def __init__(
            self, num_channels: int, epsilon: float = 1e-4, onnx_export: bool = False
        ) -> None:
            super(BiFPN, self).__init__()  # noqa: UP008
            self.epsilon = epsilon
            self.conv4_up = SeparableConvBlock(num_channels, onnx_export=onnx_export)
            self.conv3_up = SeparableConvBlock(num_channels, onnx_export=onnx_export)
            self.conv4_down = SeparableConvBlock(num_channels, onnx_export=onnx_export)
            self.conv5_down = SeparableConvBlock(num_channels, onnx_export=onnx_export)
            self.p4_upsample = nn.Upsample(scale_factor=2, mode="nearest")
            self.p3_upsample = nn.Upsample(scale_factor=2, mode="nearest")
            self.p4_downsample = MaxPool2dStaticSamePadding(3, 2)
            self.p5_downsample = MaxPool2dStaticSamePadding(3, 2)
            self.swish = MemoryEfficientSwish() if not onnx_export else Swish()
            self.p4_w1 = nn.Parameter(torch.ones(2, dtype=torch.float32), requires_grad=True)
            self.p4_w1_relu = nn.ReLU()
            self.p3_w1 = nn.Parameter(torch.ones(2, dtype=torch.float32), requires_grad=True)
            self.p3_w1_relu = nn.ReLU()
            self.p4_w2 = nn.Parameter(torch.ones(3, dtype=torch.float32), requires_grad=True)
            self.p4_w2_relu = nn.ReLU()
            self.p5_w2 = nn.Parameter(torch.ones(2, dtype=torch.float32), requires_grad=True)
            self.p5_w2_relu = nn.ReLU()

        def forward(self, inputs: tuple) -> tuple:
            p3_in, p4_in, p5_in = inputs
            # Weights for P4_0 and P5_0 to P4_1
            p4_w1 = self.p4_w1_relu(self.p4_w1)
            weight = p4_w1 / (torch.sum(p4_w1, dim=0) + self.epsilon)
            p4_up = self.conv4_up(
                self.swish(weight[0] * p4_in + weight[1] * self.p4_upsample(p5_in))
            )
            # Weights for P3_0 and P4_1 to P3_2
            p3_w1 = self.p3_w1_relu(self.p3_w1)
            weight = p3_w1 / (torch.sum(p3_w1, dim=0) + self.epsilon)
            p3_out = self.conv3_up(
                self.swish(weight[0] * p3_in + weight[1] * self.p3_upsample(p4_up))
            )
            # Weights for P4_0, P4_1 and P3_2 to P4_2
            p4_w2 = self.p4_w2_relu(self.p4_w2)
            weight = p4_w2 / (torch.sum(p4_w2, dim=0) + self.epsilon)
            p4_out = self.conv4_down(
                self.swish(
                    weight[0] * p4_in + weight[1] * p4_up + weight[2] * self.p4_downsample(p3_out)
                )
            )
            # Weights for P5_0 and P4_2 to P5_2
            p5_w2 = self.p5_w2_relu(self.p5_w2)
            weight = p5_w2 / (torch.sum(p5_w2, dim=0) + self.epsilon)
            p5_out = self.conv5_down(
                self.swish(weight[0] * p5_in + weight[1] * self.p5_downsample(p4_out))
            )
            return p3_out, p4_out, p5_out

    class Detector(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bifpn = nn.Sequential(*[BiFPN(CH, onnx_export=i == 1) for i in range(2)])
            self.header = SeparableConvBlock(CH, 2, norm=False, activation=False)

        def forward(self, feats: tuple) -> list:
            return [self.header(f) for f in self.bifpn(feats)]

    return Detector()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(8)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    # train.py's --optim sgd (AdamW would turn the round-off gradients of the pointwise convs'
    # biases, which the BatchNorm after them cancels, into full-size steps)
    optimizer = torch.optim.SGD(model.parameters(), 0.05, momentum=0.9, nesterov=True)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    feats = tuple(
        torch.tensor(rng.standard_normal((2, CH, s, s)), dtype=torch.float32) for s in (12, 6, 3)
    )
    targets = [
        torch.tensor(rng.standard_normal((2, 2, s, s)), dtype=torch.float32) for s in (12, 6, 3)
    ]
    values: list[float] = []
    DEPRECATIONS.clear()
    for _ in range(STEPS):
        model.train()
        outs = model(feats)
        loss = sum(torch.nn.functional.smooth_l1_loss(o, t) for o, t in zip(outs, targets))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step(loss.item())
        values += [
            loss.item(),
            model.bifpn[0].p4_w2.grad.abs().sum().item(),
            optimizer.param_groups[0]["lr"],
        ]
    model.eval()
    with torch.no_grad():
        values += [o.mean().item() for o in model(feats)]
    values += model.bifpn[1].p4_w2.tolist()
    values.append(len(DEPRECATIONS))
    values.append(DEPRECATIONS[0] == "'saved_variables' is deprecated; use 'saved_tensors'")
    return values
