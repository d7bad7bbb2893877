"""``cr.ao.nn.quantized.functional`` (``torch.ao.nn.quantized.functional``): the pooling
functions on quantized tensors, under the names torch's quantized functional API uses.
Each refuses a float input as torch does and runs the quantized branch of the dense
function (:mod:`chainrule.quantized_ops`: the scale and zero point are kept)."""

from __future__ import annotations

from typing import Any

from ....autograd.tensor import Tensor
from ....ops.adaptive_pooling import adaptive_avg_pool2d as _adaptive_avg_pool2d
from ....ops.pooling import avg_pool2d as _avg_pool2d
from ....ops.pooling import max_pool2d as _max_pool2d

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "max_pool2d"]


def _quantized(name: str, input: Any) -> None:  # noqa: A002 - torch's name
    if not (isinstance(input, Tensor) and input.is_quantized):
        raise ValueError(f"Input to '{name}' must be quantized!")


def avg_pool2d(
    input: Tensor,  # noqa: A002 - torch's name
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Average pooling of a per-tensor quantized tensor: each window's integer mean,
    rounded as torch's quantized kernel rounds it, with the input's qparams."""
    _quantized("quantized.avg_pool2d", input)
    return _avg_pool2d(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Adaptive average pooling of a per-tensor quantized tensor (the input's qparams)."""
    _quantized("quantized.functional.adaptive_avg_pool2d", input)
    return _adaptive_avg_pool2d(input, output_size)


def max_pool2d(
    input: Tensor,  # noqa: A002 - torch's name
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """Max pooling of a per-tensor quantized tensor (the max of its integers)."""
    if return_indices:
        raise NotImplementedError("return_indices is not yet implemented!")
    return _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)
