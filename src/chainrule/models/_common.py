"""Small pieces shared by the model files: torchvision-style init and channel rounding."""

from __future__ import annotations

from .. import nn


def init_cnn(
    model: nn.Module, zero_init_residual_bn: list | None = None, linear: str = "default"
) -> None:
    """torchvision's init: kaiming_normal_(fan_out, relu) convs, BN weight 1 / bias 0.

    Args:
        linear: 'default' keeps nn.Linear's own init; 'normal' uses N(0, 0.01), bias 0
            (VGG, MobileNetV2).
    """
    init = nn.init
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv1d)):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                init.zeros_(m.bias)
        elif type(m).__name__ in ("BatchNorm2d", "BatchNorm1d", "GroupNorm"):
            if getattr(m, "weight", None) is not None:
                init.ones_(m.weight)
                init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear == "normal":
            init.normal_(m.weight, 0.0, 0.01)
            init.zeros_(m.bias)
    for bn in zero_init_residual_bn or []:
        init.zeros_(bn.weight)


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of divisor without dropping more than 10% (MobileNet)."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v
