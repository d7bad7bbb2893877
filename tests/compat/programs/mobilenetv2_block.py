"""MobileNetV2 as torchvision's ``models/mobilenetv2.py`` writes it (and the many copies of it:
tonylins/pytorch-mobilenet-v2, d-li14/mobilenetv2.pytorch), size-reduced.

The idioms: ``_make_divisible(v, divisor, min_value=None)`` (``max(min_value, int(v + divisor
/ 2) // divisor * divisor)`` and the "do not round down by more than 10%" bump);
``ConvBNActivation(nn.Sequential)`` whose ``__init__`` hands ``nn.Conv2d(in_planes,
out_planes, kernel_size, stride, padding, dilation=dilation, groups=groups, bias=False)``,
``norm_layer(out_planes)`` and ``activation_layer(inplace=True)`` to ``super().__init__`` and
sets ``self.out_channels``, with ``ConvBNReLU = ConvBNActivation`` and ``nn.ReLU6`` as the
default activation; ``InvertedResidual`` (``hidden_dim = int(round(inp * expand_ratio))``,
``self.use_res_connect = self.stride == 1 and inp == oup``, a ``layers: List[nn.Module]``
list ``.append``-ed and ``.extend``-ed, the depthwise ``groups=hidden_dim`` conv, the linear
bottleneck ``nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False)``, ``x + self.conv(x)``);
``MobileNetV2`` (``inverted_residual_setting`` rows ``t, c, n, s``, the ``ValueError`` for a
malformed setting, ``stride = s if i == 0 else 1``, ``self.classifier = nn.Sequential(
nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))``, the weight-init loop over
``self.modules()`` with ``nn.init.kaiming_normal_(m.weight, mode='fan_out')``,
``nn.init.ones_``/``zeros_`` for ``(nn.BatchNorm2d, nn.GroupNorm)`` and ``nn.init.normal_(
m.weight, 0, 0.01)`` for ``nn.Linear``; ``_forward_impl`` with
``nn.functional.adaptive_avg_pool2d(x, (1, 1))`` and ``torch.flatten(x, 1)``; the older form's
``x.mean([2, 3])`` and the ``nn.AdaptiveAvgPool2d`` + ``reshape(x.shape[0], -1)`` head); the
ImageNet reference's training step ``torch.optim.SGD(params, lr, momentum=0.9, nesterov=True,
weight_decay=4e-5)`` with ``nn.CrossEntropyLoss(label_smoothing=0.1)`` and
``CosineAnnealingLR``; the parameter split that keeps norms out of weight decay
(``torchvision.ops._utils.split_normalization_params``: ``isinstance(module, norm_classes)``
over ``model.modules()``, ``module.parameters(recurse=False)``), ``model.eval()`` with
``torch.inference_mode()`` and ``print(model)``.

Changed: 224 x 224 images, width 1.0 and 17 blocks -> 16 x 16, width 0.25 and 4 blocks; the
classifier's dropout is 0 (random masks cannot agree between two frameworks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

NUM_CLASSES, WIDTH, IMG, BATCH, STEPS = 5, 0.25, 16, 4, 3
SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 1, 2]]


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    # Make sure that round down does not go down by more than 10%.
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def build(torch_like: Any, **kwargs: Any) -> Any:
    nn = torch_like.nn
    torch = torch_like

    class ConvBNActivation(nn.Sequential):
        def __init__(self, in_planes: int, out_planes: int, kernel_size: int = 3,
                     stride: int = 1, groups: int = 1, norm_layer: Any = None,
                     activation_layer: Any = None, dilation: int = 1) -> None:  # fmt: skip
            padding = (kernel_size - 1) // 2 * dilation
            if norm_layer is None:
                norm_layer = nn.BatchNorm2d
            if activation_layer is None:
                activation_layer = nn.ReLU6
            super().__init__(
                nn.Conv2d(
                    in_planes,
                    out_planes,
                    kernel_size,
                    stride,
                    padding,
                    dilation=dilation,
                    groups=groups,
                    bias=False,
                ),
                norm_layer(out_planes),
                activation_layer(inplace=True),
            )
            self.out_channels = out_planes

    ConvBNReLU = ConvBNActivation

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int,
                     norm_layer: Any = None) -> None:  # fmt: skip
            super().__init__()
            self.stride = stride
            assert stride in [1, 2]
            if norm_layer is None:
                norm_layer = nn.BatchNorm2d
            hidden_dim = int(round(inp * expand_ratio))
            self.use_res_connect = self.stride == 1 and inp == oup
            layers: list[Any] = []
            if expand_ratio != 1:
                # pw
                layers.append(ConvBNReLU(inp, hidden_dim, kernel_size=1, norm_layer=norm_layer))
            layers.extend(
                [
                    # dw
                    ConvBNReLU(
                        hidden_dim,
                        hidden_dim,
                        stride=stride,
                        groups=hidden_dim,
                        norm_layer=norm_layer,
                    ),
                    # pw-linear
                    nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
                    norm_layer(oup),
                ]
            )
            self.conv = nn.Sequential(*layers)
            self.out_channels = oup
            self._is_cn = stride > 1

        def forward(self, x: Any) -> Any:
            if self.use_res_connect:
                return x + self.conv(x)
            else:
                return self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                     inverted_residual_setting: Any = None, round_nearest: int = 8,
                     block: Any = None, norm_layer: Any = None,
                     dropout: float = 0.2) -> None:  # fmt: skip
            super().__init__()
            if block is None:
                block = InvertedResidual
            if norm_layer is None:
                norm_layer = nn.BatchNorm2d
            input_channel = 32
            last_channel = 1280
            if inverted_residual_setting is None:
                inverted_residual_setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2]]
            # only check the first element, assuming user knows t,c,n,s are required
            if len(inverted_residual_setting) == 0 or len(inverted_residual_setting[0]) != 4:
                raise ValueError(
                    "inverted_residual_setting should be non-empty "
                    f"or a 4-element list, got {inverted_residual_setting}"
                )
            # building first layer
            input_channel = _make_divisible(input_channel * width_mult, round_nearest)
            self.last_channel = _make_divisible(last_channel * max(1.0, width_mult), round_nearest)
            features: list[Any] = [ConvBNReLU(3, input_channel, stride=2, norm_layer=norm_layer)]
            # building inverted residual blocks
            for t, c, n, s in inverted_residual_setting:
                output_channel = _make_divisible(c * width_mult, round_nearest)
                for i in range(n):
                    stride = s if i == 0 else 1
                    features.append(block(input_channel, output_channel, stride,
                                          expand_ratio=t, norm_layer=norm_layer))  # fmt: skip
                    input_channel = output_channel
            # building last several layers
            features.append(
                ConvBNReLU(input_channel, self.last_channel, kernel_size=1, norm_layer=norm_layer)
            )
            # make it nn.Sequential
            self.features = nn.Sequential(*features)
            # building classifier
            self.classifier = nn.Sequential(
                nn.Dropout(p=dropout),
                nn.Linear(self.last_channel, num_classes),
            )
            # weight initialization
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out")
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.zeros_(m.bias)

        def _forward_impl(self, x: Any) -> Any:
            x = self.features(x)
            # Cannot use "squeeze" as batch-size can be 1
            x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
            x = torch.flatten(x, 1)
            x = self.classifier(x)
            return x

        def forward(self, x: Any) -> Any:
            return self._forward_impl(x)

    return MobileNetV2(**kwargs)


def make_model(torch_like: Any) -> Any:
    return build(
        torch_like,
        num_classes=NUM_CLASSES,
        width_mult=WIDTH,
        inverted_residual_setting=SETTING,
        dropout=0.0,
    )


def split_normalization_params(torch_like: Any, model: Any) -> tuple[list, list]:
    """torchvision.ops._utils.split_normalization_params."""
    nn = torch_like.nn
    norm_classes = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm,
                    nn.modules.instancenorm._InstanceNorm, nn.LocalResponseNorm)  # fmt: skip
    norm_params = []
    other_params = []
    for module in model.modules():
        if next(module.children(), None):
            other_params.extend(p for p in module.parameters(recurse=False) if p.requires_grad)
        elif isinstance(module, norm_classes):
            norm_params.extend(p for p in module.parameters() if p.requires_grad)
        else:
            other_params.extend(p for p in module.parameters() if p.requires_grad)
    return norm_params, other_params


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    rng = np.random.default_rng(20)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    values: list[float] = [_make_divisible(32 * WIDTH, 8), model.last_channel]
    values += [float(b.use_res_connect) for b in model.features[1:-1]]
    values += [model.features[0].out_channels, len(model.features)]
    try:
        build(torch_like, inverted_residual_setting=[[1, 16, 1]])
    except ValueError as err:
        values.append(float("4-element list" in str(err)))
    depthwise = model.features[2].conv[1][0]
    values += [depthwise.groups, *depthwise.weight.shape]

    norm_params, other_params = split_normalization_params(torch_like, model)
    values += [len(norm_params), len(other_params)]
    param_groups = [
        {"params": norm_params, "weight_decay": 0.0},
        {"params": other_params, "weight_decay": 4e-5},
    ]
    optimizer = torch.optim.SGD(param_groups, lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=4e-5)  # fmt: skip
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    model.train()
    for _step in range(STEPS):
        image = as_tensor(torch_like, rng.standard_normal((BATCH, 3, IMG, IMG)))
        target = as_tensor(torch_like, rng.integers(0, NUM_CLASSES, BATCH))
        output = model(image)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        acc1 = (output.argmax(dim=1) == target).float().mean()
        values += [loss.item(), acc1.item(), optimizer.param_groups[0]["lr"]]
    bn = model.features[1].conv[0][1]
    values += bn.running_mean.tolist() + bn.running_var.tolist()
    values += [float(bn.num_batches_tracked.item())]

    model.eval()
    image = as_tensor(torch_like, rng.standard_normal((2, 3, IMG, IMG)))
    with torch.inference_mode():
        logits = model(image)
        features = model.features(image)
        pooled = features.mean([2, 3])
        pool = nn.AdaptiveAvgPool2d(1)
        pooled2 = pool(features).reshape(features.shape[0], -1)
        probs = torch.softmax(logits, dim=1)
    values += logits.flatten().tolist() + (pooled - pooled2).abs().max().reshape(1).tolist()
    values += probs.sum(1).tolist() + [float(logits.requires_grad), float(logits.is_inference())]
    return values
