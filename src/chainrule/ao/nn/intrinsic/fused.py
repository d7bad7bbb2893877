"""Fused modules (``torch.ao.nn.intrinsic``): a ``Sequential`` of layers that
``fuse_modules`` joined, so a later quantization step treats them as one. In float they
compute exactly what their parts compute in order."""

from __future__ import annotations

from typing import Any

from .... import nn

__all__ = [
    "BNReLU2d",
    "ConvBn2d",
    "ConvBnReLU2d",
    "BNReLU3d",
    "ConvReLU1d",
    "ConvReLU2d",
    "ConvReLU3d",
    "LinearBn1d",
    "LinearReLU",
]


class _FusedModule(nn.Sequential):
    """A fused group of modules (a ``Sequential`` with its parts' types checked)."""

    _parts: tuple[type, ...] = ()

    def __init__(self, *modules: Any) -> None:
        if len(modules) != len(self._parts) or not all(
            isinstance(m, t) for m, t in zip(modules, self._parts, strict=False)
        ):
            names = " and ".join(type(m).__name__ for m in modules)
            raise AssertionError(f"Incorrect types for input modules: {names}")
        super().__init__(*modules)


class ConvReLU1d(_FusedModule):
    """``Conv1d`` then ``ReLU``."""

    _parts = (nn.Conv1d, nn.ReLU)


class ConvReLU2d(_FusedModule):
    """``Conv2d`` then ``ReLU``."""

    _parts = (nn.Conv2d, nn.ReLU)


class ConvReLU3d(_FusedModule):
    """``Conv3d`` then ``ReLU``."""

    _parts = (nn.Conv3d, nn.ReLU)


class LinearReLU(_FusedModule):
    """``Linear`` then ``ReLU``."""

    _parts = (nn.Linear, nn.ReLU)


class BNReLU2d(_FusedModule):
    """``BatchNorm2d`` then ``ReLU``."""

    _parts = (nn.BatchNorm2d, nn.ReLU)


class BNReLU3d(_FusedModule):
    """``BatchNorm3d`` then ``ReLU``."""

    _parts = (nn.BatchNorm3d, nn.ReLU)


class ConvBn2d(_FusedModule):
    """``Conv2d`` then ``BatchNorm2d``, kept apart for quantization-aware training
    (``fuse_modules_qat``); ``prepare_qat`` makes it an ``intrinsic.qat.ConvBn2d``."""

    _parts = (nn.Conv2d, nn.BatchNorm2d)


class ConvBnReLU2d(_FusedModule):
    """``Conv2d``, ``BatchNorm2d`` then ``ReLU`` (for quantization-aware training)."""

    _parts = (nn.Conv2d, nn.BatchNorm2d, nn.ReLU)


class LinearBn1d(_FusedModule):
    """``Linear`` then ``BatchNorm1d``, kept apart for quantization-aware training
    (``fuse_modules_qat``); ``prepare_qat`` makes it an ``intrinsic.qat.LinearBn1d``."""

    _parts = (nn.Linear, nn.BatchNorm1d)
