"""Pooling layers and other parameter-free spatial layers.

MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool2d, plus
LocalResponseNorm (AlexNet) and ZeroPad2d, all thin wrappers over ``cr.nn.functional``
(``Upsample`` lives in :mod:`.upsampling` and is re-exported here).
"""

from __future__ import annotations

from typing import Any

from ...autograd.tensor import Tensor
from ..functional import pooling as Fp
from ..module import Module
from .padding import ConstantPad2d
from .upsampling import Upsample

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "LocalResponseNorm",
    "MaxPool1d",
    "MaxPool2d",
    "Upsample",
    "ZeroPad2d",
]


class _MaxPool(Module):
    """Max pooling over ``_fn`` (``F.max_pool1d/2d/3d``), with PyTorch's arguments."""

    _fn: Any = None

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return type(self)._fn(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool2d(_MaxPool):
    """2-D max pooling; the gradient goes to each window's argmax.

    Shape:
        (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor_or_ceil((H + 2p - d(k-1) - 1)/s) + 1.
    """

    _fn = staticmethod(Fp.max_pool2d)


class MaxPool1d(_MaxPool):
    """1-D max pooling. Shape: (N, C, L) -> (N, C, L_out)."""

    _fn = staticmethod(Fp.max_pool1d)


class _AvgPool(Module):
    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad = count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AvgPoolWithDivisor(_AvgPool):
    """Average pooling over ``_fn`` (``F.avg_pool2d/3d``), which also take
    ``divisor_override``."""

    _fn: Any = None

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AvgPool2d(_AvgPoolWithDivisor):
    """2-D average pooling. Shape: (N, C, H, W) -> (N, C, H_out, W_out)."""

    _fn = staticmethod(Fp.avg_pool2d)


class AvgPool1d(_AvgPool):
    """1-D average pooling. Shape: (N, C, L) -> (N, C, L_out). As PyTorch's, it keeps
    ``kernel_size``, ``stride`` and ``padding`` as 1-tuples (what its repr shows)."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.kernel_size, self.stride, self.padding = (
            tuple(v) if isinstance(v, (tuple, list)) else (v,)
            for v in (self.kernel_size, self.stride, self.padding)
        )

    def forward(self, input: Tensor) -> Tensor:
        return Fp.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size. Shape: (N, C, H, W) -> (N, C, *output_size)."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return Fp.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Average pooling to a fixed length. Shape: (N, C, L) -> (N, C, output_size)."""

    def forward(self, input: Tensor) -> Tensor:
        return Fp.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size. Shape: (N, C, H, W) -> (N, C, *output_size)."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        return Fp.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class LocalResponseNorm(Module):
    """Local response normalisation across channels (AlexNet), PyTorch's formula.

    b_c = a_c / (k + alpha/n * sum_{window} a^2) ** beta. Shape: (N, C, *) -> same.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return Fp.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros: padding int or (left, right, top, bottom). A
    ``ConstantPad2d`` with ``value=0.0``, as PyTorch's."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"
