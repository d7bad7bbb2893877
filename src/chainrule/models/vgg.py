"""AlexNet and VGG with torchvision's layout (features / avgpool / classifier)."""

from __future__ import annotations

from .. import nn
from ..autograd.tensor import Tensor
from ._common import init_cnn
from .registry import register_model


class AlexNet(nn.Module):
    """AlexNet as in torchvision (single-GPU variant of Krizhevsky et al. 2012).

    ``lrn=True`` adds the paper's LocalResponseNorm(5, 1e-4, 0.75, 2) after the first two
    conv layers (no parameters, so the count is unchanged).

    Shape:
        input (N, in_channels, 224, 224) -> (N, num_classes).
    """

    def __init__(
        self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, lrn: bool = False
    ):
        super().__init__()

        def norm():
            return [nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0)] if lrn else []

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 11, stride=4, padding=2),
            nn.ReLU(),
            *norm(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(),
            *norm(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(256 * 36, 4096),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


@register_model
def alexnet(num_classes: int = 1000, in_channels: int = 3, **kw) -> AlexNet:
    """AlexNet: A. Krizhevsky, I. Sutskever, G. Hinton, "ImageNet Classification with Deep
    Convolutional Neural Networks", NeurIPS 2012. 61,100,840 parameters (torchvision)."""
    return AlexNet(num_classes, in_channels, **kw)


CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}


class VGG(nn.Module):
    """VGG: stacks of 3x3 convs (optionally with BatchNorm) and 2x2 max pools, 3 FC layers.

    Shape:
        input (N, in_channels, 224, 224) -> (N, num_classes).
    """

    def __init__(
        self,
        cfg: list,
        num_classes: int = 1000,
        in_channels: int = 3,
        batch_norm: bool = False,
        dropout: float = 0.5,
    ):
        super().__init__()
        layers, c = [], in_channels
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            layers.append(nn.Conv2d(c, v, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU())
            c = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 49, 4096),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )
        init_cnn(self, linear="normal")

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _vgg(name: str, cfg: str, bn: bool, depth: int):
    def builder(num_classes: int = 1000, in_channels: int = 3, **kw) -> VGG:
        return VGG(CFGS[cfg], num_classes, in_channels, bn, **kw)

    builder.__name__ = name
    builder.__doc__ = (
        f"VGG-{depth}{' with BatchNorm' if bn else ''}: K. Simonyan, "
        'A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image '
        'Recognition", ICLR 2015 (configuration ' + cfg + ")."
    )
    return register_model(builder)


vgg11 = _vgg("vgg11", "A", False, 11)
vgg11_bn = _vgg("vgg11_bn", "A", True, 11)
vgg13 = _vgg("vgg13", "B", False, 13)
vgg13_bn = _vgg("vgg13_bn", "B", True, 13)
vgg16 = _vgg("vgg16", "D", False, 16)
vgg16_bn = _vgg("vgg16_bn", "D", True, 16)
vgg19 = _vgg("vgg19", "E", False, 19)
vgg19_bn = _vgg("vgg19_bn", "E", True, 19)
