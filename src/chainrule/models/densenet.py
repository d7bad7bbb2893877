"""DenseNet with torchvision's names (densenet121) and the CIFAR DenseNet-BC (L=100, k=12)."""

from __future__ import annotations

from collections import OrderedDict

from .. import nn
from ..autograd.tensor import Tensor
from ..ops.shape import cat
from ._common import init_cnn
from .registry import register_model


class _DenseLayer(nn.Module):
    """BN-ReLU-conv1x1(bn_size*k)-BN-ReLU-conv3x3(k) on the concatenation of all inputs."""

    def __init__(self, cin: int, growth: int, bn_size: int, drop_rate: float = 0.0):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else None

    def forward(self, features: list) -> Tensor:
        x = cat(features, 1) if len(features) > 1 else features[0]
        x = self.conv1(self.relu1(self.norm1(x)))
        x = self.conv2(self.relu2(self.norm2(x)))
        return self.dropout(x) if self.dropout is not None else x


class _DenseBlock(nn.ModuleDict):
    def __init__(self, n: int, cin: int, growth: int, bn_size: int, drop_rate: float):
        super().__init__()
        for i in range(n):
            self[f"denselayer{i + 1}"] = _DenseLayer(cin + i * growth, growth, bn_size, drop_rate)

    def forward(self, x: Tensor) -> Tensor:
        feats = [x]
        for layer in self.values():
            feats.append(layer(feats))
        return cat(feats, 1)


class _Transition(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(
            OrderedDict(
                norm=nn.BatchNorm2d(cin),
                relu=nn.ReLU(),
                conv=nn.Conv2d(cin, cout, 1, bias=False),
                pool=nn.AvgPool2d(2, 2),
            )
        )


class DenseNet(nn.Module):
    """DenseNet (Huang et al. 2017): dense blocks joined by BN-conv1x1-avgpool transitions.

    Shape:
        input (N, in_channels, H, W) (224x224 ImageNet stem, or 32x32 with ``cifar=True``)
        -> (N, num_classes).
    """

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: tuple = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        drop_rate: float = 0.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        compression: float = 0.5,
        cifar: bool = False,
    ):
        super().__init__()
        if cifar:
            stem = OrderedDict(
                conv0=nn.Conv2d(in_channels, num_init_features, 3, padding=1, bias=False)
            )
        else:
            stem = OrderedDict(
                conv0=nn.Conv2d(in_channels, num_init_features, 7, stride=2, padding=3, bias=False),
                norm0=nn.BatchNorm2d(num_init_features),
                relu0=nn.ReLU(),
                pool0=nn.MaxPool2d(3, stride=2, padding=1),
            )
        self.features = nn.Sequential(stem)
        c = num_init_features
        for i, n in enumerate(block_config):
            self.features.add_module(
                f"denseblock{i + 1}", _DenseBlock(n, c, growth_rate, bn_size, drop_rate)
            )
            c += n * growth_rate
            if i != len(block_config) - 1:
                out = int(c * compression)
                self.features.add_module(f"transition{i + 1}", _Transition(c, out))
                c = out
        self.features.add_module(f"norm{len(block_config) + 1}", nn.BatchNorm2d(c))
        self.classifier = nn.Linear(c, num_classes)
        init_cnn(self)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x).relu()
        return self.classifier(x.mean((2, 3)))


@register_model
def densenet121(num_classes: int = 1000, in_channels: int = 3, **kw) -> DenseNet:
    """DenseNet-121: G. Huang et al., "Densely Connected Convolutional Networks", CVPR 2017.
    7,978,856 parameters at 1000 classes (torchvision)."""
    return DenseNet(32, (6, 12, 24, 16), 64, num_classes=num_classes, in_channels=in_channels, **kw)


@register_model
def densenet_bc_100_12(num_classes: int = 10, in_channels: int = 3, **kw) -> DenseNet:
    """DenseNet-BC (L=100, k=12) for CIFAR (Huang et al. 2017): three blocks of 16 bottleneck
    layers, compression 0.5, 2k initial features; ~0.8M parameters."""
    return DenseNet(
        12, (16, 16, 16), 24, num_classes=num_classes, in_channels=in_channels, cifar=True, **kw
    )
