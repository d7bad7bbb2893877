"""Functional pooling and other spatial ops: max/avg/adaptive pooling, local response
normalisation (AlexNet); ``interpolate`` is re-exported from :mod:`.interpolate`.

Pooling kernels live in :mod:`chainrule.ops.pooling` (adaptive pooling in
:mod:`chainrule.ops.adaptive_pooling`); the rest is composed from Tensor ops, so it needs no
gradient rules of its own.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from ...autograd.tensor import Tensor
from ...ops._util import ShapeError, no_complex_kernel
from ...ops.adaptive_pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool2d
from ...ops.pooling import avg_pool2d, max_pool2d
from ...ops.pooling1d import avg_pool1d, max_pool1d
from ...ops.shape import pad
from ._arg_types import parser_type_name
from .interpolate import interpolate, upsample_nearest
from .pooling3d import avg_pool3d

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "interpolate",
    "local_response_norm",
    "max_pool1d",
    "max_pool2d",
    "upsample_nearest",
]


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Local response normalisation across channels (Krizhevsky et al. 2012), PyTorch's formula.

    b_c = a_c / (k + alpha / n * sum_{c' in window(c)} a_{c'}^2) ** beta, where the window of
    n = size channels runs from c - size//2 to c + (size-1)//2 (zero outside).
    """
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ValueError(
            f"local_response_norm: expected input with >= 3 dims (N, C, ...), "
            f"got {getattr(input, 'shape', type(input).__name__)}"
        )
    if type(size) is not int:  # PyTorch's avg_pool's parser: an int kernel size
        if isinstance(size, bool) or not isinstance(size, Integral):
            raise TypeError(
                f"avg_pool{input.ndim - 1 if input.ndim == 3 else 3}d(): argument "
                "'kernel_size' (position 2) must be tuple of ints, but found element of type "
                f"{parser_type_name(size)} at pos 0"
            )
        size = int(size)
    if size < 1:
        # a ValueError and, as PyTorch's (its avg_pool kernel's check), a RuntimeError
        raise ShapeError(f"local_response_norm: size must be >= 1, got {size}")
    if type(alpha) is not float or type(beta) is not float or type(k) is not float:
        for what, name, v in (("mul", "alpha", alpha), ("pow", "beta", beta), ("add", "k", k)):
            if not isinstance(v, (Real, np.bool_, np.number, Tensor)):  # PyTorch's TypeError
                raise TypeError(
                    f"local_response_norm: {what}(): argument '{name}' must be a number or "
                    f"a Tensor, not {parser_type_name(v)}"
                )
    no_complex_kernel("avg_pool3d_out_frame", input)  # PyTorch averages through avg_pool3d
    if input.numel() == 0:
        return input
    # PyTorch's composition (its graph): the squares averaged over the channel window by
    # avg_pool2d (3-d input, unsqueezed) or avg_pool3d (viewed as (N, 1, C, H, -1))
    div = input.mul(input)
    if input.ndim == 3:
        div = pad(div.unsqueeze(1), (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = input.shape
        div = div.view(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1)
        div = div.view(sizes)
    div = div.mul(alpha).add(k).pow(beta)
    return input / div
