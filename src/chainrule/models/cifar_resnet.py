"""ResNets for 32x32 input (CIFAR): the He et al. 2015 family, pre-activation ResNet-18,
Wide ResNet-28-10 and the ResNet-18 CIFAR variant common in benchmarks."""

from __future__ import annotations

from .. import nn
from ..autograd.tensor import Tensor
from ..ops.shape import pad
from ._common import init_cnn
from .registry import register_model
from .resnet import BasicBlock, ResNet, conv1x1, conv3x3


class _ShortcutA(nn.Module):
    """Option A: subsample by 2 and zero-pad the new channels (no parameters)."""

    def __init__(self, extra: int):
        super().__init__()
        self.extra = extra

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, ::2, ::2]
        return pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))


class CifarBasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN + shortcut (option A), then ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = _ShortcutA(cout - cin) if stride != 1 or cin != cout else None

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        return (out + (x if self.shortcut is None else self.shortcut(x))).relu()


class CifarResNet(nn.Module):
    """6n+2 layers: conv3x3(16), 3 stages of n blocks (16, 32, 64 channels), pool, fc.

    Shape:
        input (N, in_channels, 32, 32) (28x28 works too) -> (N, num_classes).
    """

    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n+2 (20, 32, 44, 56, 110), got {depth}")
        n = (depth - 2) // 6
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        stages, cin = [], 16
        for i, cout in enumerate((16, 32, 64)):
            blocks = []
            for j in range(n):
                blocks.append(CifarBasicBlock(cin, cout, 2 if (i > 0 and j == 0) else 1))
                cin = cout
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        init_cnn(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.bn1(self.conv1(x)).relu()
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


def _cifar(depth: int):
    def builder(num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
        return CifarResNet(depth, num_classes, in_channels)

    builder.__name__ = f"resnet{depth}"
    builder.__doc__ = (
        f'ResNet-{depth} for CIFAR: K. He et al., "Deep Residual Learning for '
        'Image Recognition", 2015, section 4.2 (option A shortcuts).'
    )
    return register_model(builder)


resnet20, resnet32, resnet44, resnet56, resnet110 = (_cifar(d) for d in (20, 32, 44, 56, 110))


class PreActBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 + identity (He et al. 2016, identity mappings)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dropout: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn2 = nn.BatchNorm2d(cout)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.conv2 = conv3x3(cout, cout)
        self.shortcut = conv1x1(cin, cout, stride) if stride != 1 or cin != cout else None

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(x).relu()
        sc = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.bn2(out).relu()
        if self.dropout is not None:
            out = self.dropout(out)
        return self.conv2(out) + sc


class PreActResNet(nn.Module):
    """Pre-activation ResNet for 32x32 input; ends with BN-ReLU, pool, fc.

    Shape:
        input (N, in_channels, 32, 32) -> (N, num_classes).
    """

    def __init__(
        self,
        blocks: list,
        widths: list,
        num_classes: int = 10,
        in_channels: int = 3,
        stem: int = 64,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.conv1 = conv3x3(in_channels, stem)
        cin, stages = stem, []
        for i, (n, w) in enumerate(zip(blocks, widths)):
            layer = []
            for j in range(n):
                layer.append(PreActBlock(cin, w, 2 if (i > 0 and j == 0) else 1, dropout))
                cin = w
            stages.append(nn.Sequential(*layer))
        self.layers = nn.ModuleList(stages)
        self.bn = nn.BatchNorm2d(cin)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        init_cnn(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        for layer in self.layers:
            x = layer(x)
        return self.fc(self.avgpool(self.bn(x).relu()).flatten(1))


@register_model
def preact_resnet18(num_classes: int = 10, in_channels: int = 3) -> PreActResNet:
    """Pre-activation ResNet-18 for CIFAR: K. He et al., "Identity Mappings in Deep Residual
    Networks", ECCV 2016."""
    return PreActResNet([2, 2, 2, 2], [64, 128, 256, 512], num_classes, in_channels)


@register_model
def wrn28_10(num_classes: int = 10, in_channels: int = 3, dropout: float = 0.0) -> PreActResNet:
    """Wide ResNet-28-10 for CIFAR: S. Zagoruyko, N. Komodakis, "Wide Residual Networks",
    BMVC 2016 (~36.5M parameters)."""
    return PreActResNet(
        [4, 4, 4], [160, 320, 640], num_classes, in_channels, stem=16, dropout=dropout
    )


class CifarResNet18(ResNet):
    """torchvision-style ResNet-18 with a 3x3 stride-1 stem and no max pool (for 32x32)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3):
        super().__init__(BasicBlock, [2, 2, 2, 2], num_classes, in_channels)
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        init_cnn(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


@register_model
def resnet18_cifar(num_classes: int = 10, in_channels: int = 3) -> CifarResNet18:
    """ResNet-18 adapted to CIFAR (3x3 stem, no max pool; 11,173,962 parameters at 10
    classes), the variant used by most CIFAR training recipes."""
    return CifarResNet18(num_classes, in_channels)
