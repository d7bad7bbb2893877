"""Small CNNs: LeNet-5 (LeCun et al. 1998) and a 1-D CNN for MNIST-1D (Greydanus 2020)."""

from __future__ import annotations

from .. import nn
from ..autograd.tensor import Tensor
from .registry import register_model


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max pooling (the modern textbook form).

    conv5x5(6, pad 2) - pool - conv5x5(16) - pool - fc120 - fc84 - fc(num_classes).

    Shape:
        input (N, in_channels, 28, 28) (or 32x32 with ``input_size=32``) -> (N, num_classes).
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        input_size: int = 28,
        channels: tuple = (6, 16),
        hidden: tuple = (120, 84),
        dropout: float = 0.0,
    ):
        super().__init__()
        pad = 2 if input_size == 28 else 0
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, padding=pad),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        side = ((input_size + 2 * pad - 4) // 2 - 4) // 2
        h1, h2 = hidden
        drop = [nn.Dropout(dropout)] if dropout > 0 else []
        self.classifier = nn.Sequential(
            *drop,
            nn.Linear(c2 * side * side, h1),
            nn.ReLU(),
            *drop,
            nn.Linear(h1, h2),
            nn.ReLU(),
            nn.Linear(h2, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1))


@register_model
def lenet5(num_classes: int = 10, in_channels: int = 1, input_size: int = 28) -> LeNet5:
    """LeNet-5: Y. LeCun et al., "Gradient-based learning applied to document recognition",
    Proc. IEEE 1998. 61,706 parameters for 1x28x28 input and 10 classes."""
    return LeNet5(num_classes, in_channels, input_size)


@register_model
def lenet_wide(num_classes: int = 10, in_channels: int = 1, input_size: int = 28) -> LeNet5:
    """LeNet-5's layout with 32/64 filters, 256/128 hidden units and dropout 0.3: the same
    LeNet-style network sized for Fashion-MNIST (496,138 parameters)."""
    return LeNet5(num_classes, in_channels, input_size, (32, 64), (256, 128), 0.3)


class CNN1d(nn.Module):
    """A small 1-D CNN for MNIST-1D: three conv(k=5)-ReLU stages, global pooling, linear.

    Shape:
        input (N, in_channels, L) or (N, L) (a single channel) -> (N, num_classes).
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 1, width: int = 32, input_size: int = 40
    ):
        super().__init__()
        self.in_channels = in_channels
        self.features = nn.Sequential(
            nn.Conv1d(in_channels, width, 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=2, stride=2),
            nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=2, stride=2),
            nn.ReLU(),
        )
        length = (((input_size - 1) // 2 + 1) - 1) // 2 + 1
        self.classifier = nn.Linear(width * length, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 2:
            x = x.unsqueeze(1)
        return self.classifier(self.features(x).flatten(1))


@register_model
def cnn1d(
    num_classes: int = 10, in_channels: int = 1, width: int = 32, input_size: int = 40
) -> CNN1d:
    """1-D CNN for MNIST-1D (S. Greydanus, "Scaling down deep learning", 2020), whose
    reference CNN reaches ~94%; input (N, 1, 40) or (N, 40)."""
    return CNN1d(num_classes, in_channels, width, input_size)
