"""MobileNet v1 (Howard et al. 2017) and v2 (Sandler et al. 2018, torchvision layout)."""

from __future__ import annotations

from .. import nn
from ..autograd.tensor import Tensor
from ._common import init_cnn, make_divisible
from .registry import register_model


class ReLU6(nn.Module):
    """min(max(x, 0), 6)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.clamp(0.0, 6.0)


def _relu6() -> nn.Module:
    cls = getattr(nn, "ReLU6", None)
    return cls() if cls is not None else ReLU6()


class ConvBNReLU(nn.Sequential):
    """conv (no bias) - BN - ReLU6, torchvision's Conv2dNormActivation (indices 0, 1, 2)."""

    def __init__(
        self, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, relu6: bool = True
    ):
        super().__init__(
            nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            _relu6() if relu6 else nn.ReLU(),
        )


class InvertedResidual(nn.Module):
    """1x1 expand (t) - 3x3 depthwise - 1x1 linear projection, residual when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = round(cin * expand_ratio)
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU(cin, hidden, 1))
        layers += [
            ConvBNReLU(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 (width 1.0). Shape: (N, in_channels, 224, 224) -> (N, num_classes)."""

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        width_mult: float = 1.0,
        dropout: float = 0.2,
    ):
        super().__init__()
        setting = [
            [1, 16, 1, 1],
            [6, 24, 2, 2],
            [6, 32, 3, 2],
            [6, 64, 4, 2],
            [6, 96, 3, 1],
            [6, 160, 3, 2],
            [6, 320, 1, 1],
        ]
        cin = make_divisible(32 * width_mult)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult))
        feats = [ConvBNReLU(in_channels, cin, 3, 2)]
        for t, c, n, s in setting:
            cout = make_divisible(c * width_mult)
            for i in range(n):
                feats.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        feats.append(ConvBNReLU(cin, self.last_channel, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(self.last_channel, num_classes)
        )
        init_cnn(self, linear="normal")

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).mean((2, 3)))


@register_model
def mobilenet_v2(num_classes: int = 1000, in_channels: int = 3, **kw) -> MobileNetV2:
    """MobileNetV2: M. Sandler et al., "MobileNetV2: Inverted Residuals and Linear
    Bottlenecks", CVPR 2018. 3,504,872 parameters at 1000 classes (torchvision)."""
    return MobileNetV2(num_classes, in_channels, **kw)


class MobileNetV1(nn.Module):
    """MobileNet v1: a full conv then 13 depthwise-separable (dw3x3-BN-ReLU, pw1x1-BN-ReLU)
    blocks, global pooling, fc. Shape: (N, in_channels, 224, 224) -> (N, num_classes)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0):
        super().__init__()
        cfg = [
            (64, 1),
            (128, 2),
            (128, 1),
            (256, 2),
            (256, 1),
            (512, 2),
            (512, 1),
            (512, 1),
            (512, 1),
            (512, 1),
            (512, 1),
            (1024, 2),
            (1024, 1),
        ]
        c = int(32 * width_mult)
        layers = [ConvBNReLU(in_channels, c, 3, 2, relu6=False)]
        for cout, s in cfg:
            cout = int(cout * width_mult)
            layers.append(
                nn.Sequential(
                    ConvBNReLU(c, c, 3, s, groups=c, relu6=False),
                    ConvBNReLU(c, cout, 1, relu6=False),
                )
            )
            c = cout
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c, num_classes)
        init_cnn(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.features(x).mean((2, 3)))


@register_model
def mobilenet_v1(num_classes: int = 1000, in_channels: int = 3, **kw) -> MobileNetV1:
    """MobileNet v1: A. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for
    Mobile Vision Applications", 2017. 4,231,976 parameters at 1000 classes."""
    return MobileNetV1(num_classes, in_channels, **kw)
