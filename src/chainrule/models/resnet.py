"""ResNets for ImageNet-sized input, with torchvision's layer names.

ResNet-18/34/50/101/152 (He et al. 2015), wide_resnet50_2 (Zagoruyko & Komodakis 2016),
resnext50_32x4d (Xie et al. 2017), se_resnet50 (Hu et al. 2018). Bottlenecks put the
stride on the 3x3 conv ("ResNet v1.5"), as torchvision does, so state_dicts line up.
"""

from __future__ import annotations

from .. import nn
from ..autograd.tensor import Tensor
from ._common import init_cnn
from .registry import register_model


def conv3x3(cin: int, cout: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class SqueezeExcitation(nn.Module):
    """Channel attention: x * sigmoid(W2 relu(W1 mean_hw(x))) (Hu et al. 2018)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean((2, 3))
        s = self.fc2(self.fc1(s).relu()).sigmoid()
        return x * s.reshape(s.shape[0], s.shape[1], 1, 1)


class BasicBlock(nn.Module):
    """Two 3x3 convs with an identity (or 1x1 projection) shortcut; expansion 1."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        se: bool = False,
    ):
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = SqueezeExcitation(planes) if se else None
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (grouped for ResNeXt, strided), 1x1 expand (x4) + shortcut."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        se: bool = False,
    ):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.se = SqueezeExcitation(planes * self.expansion) if se else None
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ImageNet ResNet: 7x7/2 stem, 3x3/2 max pool, four stages, global average pool, fc.

    Shape:
        input (N, in_channels, H, W) (224x224 in the papers; any size >= 32 works)
        -> (N, num_classes).
    """

    def __init__(
        self,
        block: type,
        layers: list,
        num_classes: int = 1000,
        in_channels: int = 3,
        groups: int = 1,
        width_per_group: int = 64,
        se: bool = False,
        zero_init_residual: bool = False,
    ):
        super().__init__()
        self.inplanes = 64
        self.groups, self.base_width, self._se = groups, width_per_group, se
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        last = "bn3" if block is Bottleneck else "bn2"
        zero = (
            [getattr(m, last) for m in self.modules() if isinstance(m, block)]
            if zero_init_residual
            else None
        )
        init_cnn(self, zero)

    def _make_layer(self, block: type, planes: int, blocks: int, stride: int = 1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [
            block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, self._se)
        ]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(
                block(self.inplanes, planes, 1, None, self.groups, self.base_width, self._se)
            )
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


@register_model
def resnet18(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    """ResNet-18: K. He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.
    11,689,512 parameters at 1000 classes (as torchvision)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, **kw)


@register_model
def resnet34(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    """ResNet-34 (He et al. 2016): 21,797,672 parameters."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, **kw)


@register_model
def resnet50(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    """ResNet-50 (He et al. 2016), bottleneck blocks: 25,557,032 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, **kw)


@register_model
def resnet101(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    """ResNet-101 (He et al. 2016): 44,549,160 parameters."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels, **kw)


@register_model
def resnet152(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    """ResNet-152 (He et al. 2016): 60,192,808 parameters."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels, **kw)


@register_model
def wide_resnet50_2(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    """Wide ResNet-50-2: S. Zagoruyko, N. Komodakis, "Wide Residual Networks", BMVC 2016
    (bottleneck width doubled): 68,883,240 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, width_per_group=128, **kw)


@register_model
def resnext50_32x4d(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    """ResNeXt-50 32x4d: S. Xie et al., "Aggregated Residual Transformations for Deep Neural
    Networks", CVPR 2017 (32 groups of width 4): 25,028,904 parameters."""
    return ResNet(
        Bottleneck, [3, 4, 6, 3], num_classes, in_channels, groups=32, width_per_group=4, **kw
    )


@register_model
def se_resnet50(num_classes: int = 1000, in_channels: int = 3, **kw) -> ResNet:
    """SE-ResNet-50: J. Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018
    (reduction 16 in every bottleneck): 28,088,024 parameters."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, se=True, **kw)
