"""SE-ResNeXt as Cadene's ``pretrainedmodels/models/senet.py`` and timm's ``resnet.py`` /
``layers/squeeze_excite.py`` write it, trained with the recipe of torchvision's
``references/classification/train.py`` and timm's ``optim_factory``, size-reduced.

The idioms: ``SEResNeXtBottleneck`` (``width = math.floor(planes * (base_width / 64)) *
groups``, a 1x1 conv, the grouped ``nn.Conv2d(width, width, kernel_size=3, stride=stride,
padding=1, groups=groups, bias=False)``, a 1x1 conv to ``planes * 4``, ``out =
self.se_module(out) + residual`` then ``self.relu(out)``) with the downsample
``nn.Sequential(nn.Conv2d(..., kernel_size=1, stride=stride, bias=False), BatchNorm2d)``;
two squeeze-excitation modules: timm's (``x_se = x.mean((2, 3), keepdim=True)``, 1x1 convs with
bias, ``x * self.gate(x_se)``) and the SENet paper's (``b, c, _, _ = x.size()``,
``self.avg_pool(x).view(b, c)``, ``nn.Sequential(nn.Linear(c, c // r, bias=False), ReLU,
nn.Linear(c // r, c, bias=False), nn.Sigmoid())``, ``y.view(b, c, 1, 1)``, ``x *
y.expand_as(x)``); torchvision's init loop (``nn.init.kaiming_normal_(m.weight, mode="fan_out",
nonlinearity="relu")`` for convs, ``nn.init.constant_`` 1 / 0 for BN) and ``zero_init_residual``
(``nn.init.zeros_(m.bn3.weight)``); timm's ``param_groups_weight_decay`` (``param.ndim <= 1 or
name.endswith(".bias")`` -> ``weight_decay: 0.``) into ``SGD(..., momentum=0.9,
nesterov=True)``; ``CrossEntropyLoss(label_smoothing=0.1)``; torchvision's warm-up
``SequentialLR([LinearLR(start_factor=..., total_iters=...), CosineAnnealingLR(T_max=...)],
milestones=[...])``; top-1 / top-5 ``accuracy`` (``output.topk(maxk, 1, True, True)``,
``pred.t()``, ``pred.eq(target.view(1, -1).expand_as(pred))``,
``correct[:k].reshape(-1).float().sum(0, keepdim=True)``, ``mul_(100.0 / batch_size)``).

Changed: 32 groups of width 4 are 4 groups of width 2; two bottlenecks on 8x8 random NumPy
images, ten classes; ImageNet's 90 epochs are six steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

GROUPS, BASE_WIDTH, REDUCTION = 4, 8, 16
CLASSES, IMG, BATCH, STEPS, WARMUP = 10, 8, 6, 6, 2


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class SEModule(nn.Module):
        """timm's squeeze-excite: mean over H, W, 1x1 convs, sigmoid gate."""

        def __init__(self, channels: int, rd_ratio: float = 1.0 / 16) -> None:
            super().__init__()
            rd_channels = int(channels * rd_ratio)
            self.fc1 = nn.Conv2d(channels, rd_channels, kernel_size=1, bias=True)
            self.bn = nn.Identity()
            self.act = nn.ReLU(inplace=True)
            self.fc2 = nn.Conv2d(rd_channels, channels, kernel_size=1, bias=True)
            self.gate = nn.Sigmoid()

        def forward(self, x: Any) -> Any:
            x_se = x.mean((2, 3), keepdim=True)
            x_se = self.fc1(x_se)
            x_se = self.act(self.bn(x_se))
            x_se = self.fc2(x_se)
            return x * self.gate(x_se)

    class SELayer(nn.Module):
        """The SENet paper's squeeze-excite with Linear layers."""

        def __init__(self, channel: int, reduction: int = 16) -> None:
            super().__init__()
            self.avg_pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Sequential(
                nn.Linear(channel, channel // reduction, bias=False),
                nn.ReLU(inplace=True),
                nn.Linear(channel // reduction, channel, bias=False),
                nn.Sigmoid(),
            )

        def forward(self, x: Any) -> Any:
            b, c, _, _ = x.size()
            y = self.avg_pool(x).view(b, c)
            y = self.fc(y).view(b, c, 1, 1)
            return x * y.expand_as(x)

    class SEResNeXtBottleneck(nn.Module):
        expansion = 4

        def __init__(
            self,
            inplanes: int,
            planes: int,
            groups: int,
            reduction: int,
            stride: int = 1,
            downsample: Any = None,
            base_width: int = 4,
            linear_se: bool = False,
        ) -> None:
            super().__init__()
            width = math.floor(planes * (base_width / 64)) * groups
            self.conv1 = nn.Conv2d(inplanes, width, kernel_size=1, bias=False, stride=1)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(
                width, width, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False
            )
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, planes * 4, kernel_size=1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            if linear_se:
                self.se_module = SELayer(planes * 4, reduction=reduction)
            else:
                self.se_module = SEModule(planes * 4, rd_ratio=1.0 / reduction)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x: Any) -> Any:
            residual = x
            out = self.conv1(x)
            out = self.bn1(out)
            out = self.relu(out)
            out = self.conv2(out)
            out = self.bn2(out)
            out = self.relu(out)
            out = self.conv3(out)
            out = self.bn3(out)
            if self.downsample is not None:
                residual = self.downsample(x)
            out = self.se_module(out) + residual
            out = self.relu(out)
            return out

    class SENet(nn.Module):
        def __init__(self, num_classes: int = 1000, zero_init_residual: bool = True) -> None:
            super().__init__()
            self.inplanes = 16
            self.layer0 = nn.Sequential(
                nn.Conv2d(3, self.inplanes, 3, stride=1, padding=1, bias=False),
                nn.BatchNorm2d(self.inplanes),
                nn.ReLU(inplace=True),
            )
            self.layer1 = self._make_layer(16, blocks=1, stride=1)
            self.layer2 = self._make_layer(16, blocks=2, stride=2, linear_se=True)
            self.avg_pool = nn.AdaptiveAvgPool2d(1)
            self.dropout = None
            self.last_linear = nn.Linear(16 * SEResNeXtBottleneck.expansion, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
            if zero_init_residual:
                for m in self.modules():
                    if isinstance(m, SEResNeXtBottleneck) and m.bn3.weight is not None:
                        nn.init.zeros_(m.bn3.weight)

        def _make_layer(
            self, planes: int, blocks: int, stride: int = 1, linear_se: bool = False
        ) -> Any:
            downsample = None
            expansion = SEResNeXtBottleneck.expansion
            if stride != 1 or self.inplanes != planes * expansion:
                downsample = nn.Sequential(
                    nn.Conv2d(
                        self.inplanes,
                        planes * expansion,
                        kernel_size=1,
                        stride=stride,
                        bias=False,
                    ),
                    nn.BatchNorm2d(planes * expansion),
                )
            layers = []
            layers.append(
                SEResNeXtBottleneck(
                    self.inplanes, planes, GROUPS, REDUCTION, stride, downsample, BASE_WIDTH,
                    linear_se,
                )
            )  # fmt: skip
            self.inplanes = planes * expansion
            for _ in range(1, blocks):
                layers.append(
                    SEResNeXtBottleneck(
                        self.inplanes, planes, GROUPS, REDUCTION, base_width=BASE_WIDTH,
                        linear_se=linear_se,
                    )
                )  # fmt: skip
            return nn.Sequential(*layers)

        def features(self, x: Any) -> Any:
            x = self.layer0(x)
            x = self.layer1(x)
            x = self.layer2(x)
            return x

        def logits(self, x: Any) -> Any:
            x = self.avg_pool(x)
            if self.dropout is not None:
                x = self.dropout(x)
            x = x.view(x.size(0), -1)
            x = self.last_linear(x)
            return x

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = self.logits(x)
            return x

    return SENet(num_classes=CLASSES)


def param_groups_weight_decay(model: Any, weight_decay: float = 1e-5, no_weight_decay_list=()):
    no_weight_decay_list = set(no_weight_decay_list)
    decay = []
    no_decay = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name.endswith(".bias") or name in no_weight_decay_list:
            no_decay.append(param)
        else:
            decay.append(param)
    return [
        {"params": no_decay, "weight_decay": 0.0},
        {"params": decay, "weight_decay": weight_decay},
    ]


def accuracy(torch_like: Any, output: Any, target: Any, topk: tuple = (1,)) -> list:
    """Computes the accuracy over the k top predictions for the specified values of k"""
    with torch_like.inference_mode():
        maxk = max(topk)
        batch_size = target.size(0)
        if target.ndim == 2:
            target = target.max(dim=1)[1]
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target[None])
        res = []
        for k in topk:
            correct_k = correct[:k].flatten().sum(dtype=torch_like.float32)
            res.append(correct_k * (100.0 / batch_size))
        return res


def accuracy_legacy(torch_like: Any, output: Any, target: Any, topk: tuple = (1,)) -> list:
    """The older ``main.py`` spelling of the same metric."""
    with torch_like.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch_like.nn
    model = make_model(torch_like)
    values: list[float] = []
    # the init loop's effects, before the shared weights replace the draws
    bn3 = [m.bn3.weight for m in model.modules() if hasattr(m, "bn3")]
    values += [float(len(bn3)), sum(w.abs().sum().item() for w in bn3)]
    values += [float(model.layer1[0].conv2.weight.shape[1]), float(model.layer1[0].conv2.groups)]
    load_numpy_state(torch_like, model, init)

    parameters = param_groups_weight_decay(model, weight_decay=1e-4)
    values += [float(len(g["params"])) for g in parameters]
    optimizer = torch.optim.SGD(parameters, lr=0.1, momentum=0.9, nesterov=True)
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=WARMUP)
    main = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS - WARMUP, eta_min=0.0)
    lr_scheduler = torch.optim.lr_scheduler.SequentialLR(
        optimizer, schedulers=[warmup, main], milestones=[WARMUP]
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)

    rng = np.random.default_rng(5)
    images = rng.standard_normal((BATCH, 3, IMG, IMG))
    labels = rng.integers(0, CLASSES, BATCH)
    image = as_tensor(torch_like, images)
    target = as_tensor(torch_like, labels)
    model.train()
    for _step in range(STEPS):
        output = model(image)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        lr_scheduler.step()
        acc1, acc5 = accuracy(torch_like, output, target, topk=(1, 5))
        legacy1, legacy5 = accuracy_legacy(torch_like, output, target, topk=(1, 5))
        values += [loss.item(), acc1.item(), acc5.item(), legacy1.item(), legacy5.item()]
        values += [optimizer.param_groups[0]["lr"]]
        values += [model.layer2[0].bn3.weight.abs().sum().item()]
        values += [model.layer2[1].se_module.fc[0].weight.grad.norm().item()]
    values += model.layer1[0].bn2.running_mean.tolist()

    model.eval()
    with torch.no_grad():
        out = model(image)
        se = model.layer1[0].se_module
        feat = model.layer1(model.layer0(image))
        gate = se.gate(se.fc2(se.act(se.fc1(feat.mean((2, 3), keepdim=True)))))
    values += out.flatten().tolist()
    values += [float(se.fc1.out_channels)] + list(gate.shape) + gate.flatten().tolist()
    return values
