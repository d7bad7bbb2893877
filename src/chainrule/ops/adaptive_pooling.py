"""Adaptive pooling: the output size is given and the windows follow from it.

PyTorch's bins for output index i of n over a size-``size`` dimension are
[floor(i * size / n), ceil((i + 1) * size / n)). Average pooling is one node, shared with
``F.interpolate(mode='area')`` (the same map): :mod:`.area_interpolation`. Max pooling is
one ``AdaptiveMaxPool2DBackward0`` node too: each bin's first maximum is found on the raw
arrays (max_pool2d's kernel when the sizes divide, else the index kernel) and gathered there
(:mod:`.pooling_index`), so the gradient reaches that one element as in PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.lower_precision import in_float32_rounded_once
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..qtypes import scalar_type_name
from ..quantized_ops import adaptive_avg_pool2d_quantized
from ._pooling_indices import adaptive_max_indices
from ._tensor_args import torch_type_name
from ._util import ShapeError, no_complex_kernel, no_integer_kernel, wide
from .area_interpolation import adaptive_avg_pool
from .pooling import _max_pool, max_pool2d
from .pooling1d import _one, _to_2d
from .pooling_index import IndexPool
from .shape import stack

__all__ = ["EmptyAdaptiveMax", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]


def _bins(size: int, n: int):
    return [(math.floor(i * size / n), math.ceil((i + 1) * size / n)) for i in range(n)]


def check_size_elements(op: str, output_size: Any, one_d: bool = False) -> None:
    """Refuse an adaptive pool's ``output_size`` holding something other than ints, 0-d
    integer tensors and None (a string, a float, a bool first), as PyTorch's argument
    parser does: a TypeError, before the length is checked. ``one_d``: the 1-d pools, whose
    parser also refuses a whole value that is no int (``output_size=1.5``: "must be tuple of
    ints, not float"); the 2-d and 3-d ones take its ``len()`` first, in PyTorch's Python."""
    if isinstance(output_size, (int, np.integer)) and not isinstance(output_size, bool):
        return
    if one_d and not isinstance(output_size, (tuple, list)):  # the parser's TypeError
        integer = isinstance(output_size, Tensor) and output_size.ndim == 0
        if integer and output_size.dtype.kind in "iu":
            return
        raise TypeError(
            f"{op}(): argument 'output_size' (position 2) must be tuple of ints, not "
            f"{torch_type_name(output_size)}"
        )
    if not isinstance(output_size, (str, tuple, list)):  # 2-d, 3-d: PyTorch's Python
        len(output_size)  # wrapper takes its len() first (a float, a 0-d tensor: TypeError)
    if isinstance(output_size, (str, tuple, list)):
        for k, v in enumerate(output_size):
            integer = isinstance(v, Tensor) and v.ndim == 0 and v.dtype.kind in "iu"
            if not (
                v is None
                or integer
                or (isinstance(v, (int, np.integer)) and not (k == 0 and isinstance(v, bool)))
            ):
                raise TypeError(
                    f"{op}(): argument 'output_size' (position 2) must be tuple of ints, but "
                    f"found element of type {type(v).__name__} at pos {k}"
                )


def _adaptive_size(op: str, input: Tensor, output_size: Any) -> tuple:
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ValueError(
            f"{op}: expected (N, C, H, W) or (C, H, W) input, got "
            f"{getattr(input, 'shape', type(input).__name__)}"
        )
    h, w = input.shape[-2:]
    if output_size is None:  # PyTorch's len(None) (None entries are fine)
        raise TypeError(f"{op}: object of type 'NoneType' has no len() (output_size=None)")
    if isinstance(output_size, (bool, np.bool_)):  # PyTorch's parser
        raise TypeError(
            f"{op}(): argument 'output_size' (position 2) must be tuple of ints, not bool"
        )
    if isinstance(output_size, (int, np.integer)):
        output_size = (output_size, output_size)
    check_size_elements(op, output_size)
    if len(tuple(output_size)) != 2:  # PyTorch's RuntimeError (not an unpacking error), its
        # ValueError when the input has too few dims for the size's length: ShapeError is both
        raise (ShapeError if input.ndim <= len(tuple(output_size)) else RuntimeError)(
            f"{op}: output_size must be 2 (an int or a pair of ints or None), got {output_size!r}"
        )
    oh, ow = output_size
    oh, ow = (h if oh is None else int(oh)), (w if ow is None else int(ow))
    if oh < 0 or ow < 0:
        raise RuntimeError(
            f"{op}: elements of output_size must be greater than or equal to 0 "
            f"but received {output_size}"
        )
    return oh, ow


class EmptyAdaptiveMax(Function):
    """An adaptive max pooling to an output size with a 0: the empty result in PyTorch's node
    (``AdaptiveMaxPool2DBackward0`` / ``3D``), whose backward refuses the empty gradient as
    PyTorch's does (its words, the sizes as the node sees them); the tangent is empty."""

    raw = True
    node_name = staticmethod(lambda node: f"AdaptiveMaxPool{node.k}DBackward0")

    @staticmethod
    def forward(ctx, x, shape, k):
        ctx.k = k
        return get_array_module(x).zeros(shape, x.dtype)

    @staticmethod
    def backward(ctx, grad):
        empty = [d for d in range(1, grad.ndim) if grad.shape[d] == 0]
        raise RuntimeError(
            f"adaptive_max_pool{ctx.k}d_backward(): Expected grad_output to have non-zero size "
            f"for non-batch dimensions, but grad_output has sizes {list(grad.shape)} with "
            f"dimension {empty[0] if empty else 0} being empty"
        )

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else get_array_module(t).zeros(ctx.out.shape, t.dtype)


def _empty_adaptive(input: Tensor, oh: int, ow: int) -> Tensor | None:
    """A size-0 output_size gives an empty result (as PyTorch), still linked to the graph."""
    if oh and ow:
        return None
    return EmptyAdaptiveMax.apply(input, (*input.shape[:-2], oh, ow), 2)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive bins [floor(i H / oh), ceil((i+1) H / oh)).

    One ``AdaptiveAvgPool2DBackward0`` node as PyTorch's (a 1x1 output is its mean,
    ``MeanBackward1``): see :func:`.area_interpolation.adaptive_avg_pool`.
    bfloat16 is computed in float32 and rounded once; CPU autocast casts nothing here (the
    op is on none of its lists, so float32 stays float32 although the matmuls are cast).
    """
    if isinstance(input, Tensor) and input.is_quantized:  # rounded integer bin means
        oh, ow = _adaptive_size("adaptive_avg_pool2d", input, output_size)
        return adaptive_avg_pool2d_quantized(input, oh, ow)
    return in_float32_rounded_once(_adaptive_avg_pool2d, input, output_size)


def _adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """:func:`adaptive_avg_pool2d` in the input's dtype, outside autocast."""
    oh, ow = _adaptive_size("adaptive_avg_pool2d", input, output_size)
    no_integer_kernel("adaptive_avg_pool2d", input)
    if (oh, ow) != (1, 1):  # a 1x1 output is PyTorch's mean, which takes complex input
        no_complex_kernel("adaptive_avg_pool2d", input)
    if 0 in tuple(input.shape[-2:]):
        raise RuntimeError(
            "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch "
            f"dimensions, but input has sizes {list(input.shape)}"
        )
    return adaptive_avg_pool(input, (oh, ow))


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """1-D adaptive average pooling over (N, C, L)."""
    check_size_elements("adaptive_avg_pool1d", output_size, one_d=True)  # before the length
    if isinstance(output_size, Tensor):  # a 0-d integer tensor: the int it holds
        output_size = int(output_size.item())
    if not isinstance(output_size, (int, np.integer)) and len(tuple(output_size)) != 1:
        raise RuntimeError(  # PyTorch's parser error, not the first entry taken
            "adaptive_avg_pool1d() argument 'output_size' should contain one int "
            f"(got {len(tuple(output_size))})"
        )
    return adaptive_avg_pool2d(
        _to_2d("adaptive_avg_pool1d", input),
        (1, _one(output_size, "output_size", "adaptive_avg_pool1d")),
    ).squeeze(-2)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False):
    """Max over PyTorch's adaptive bins (see :func:`adaptive_avg_pool2d`)."""
    oh, ow = _adaptive_size("adaptive_max_pool2d", input, output_size)
    h, w = input.shape[-2:]
    empty = _empty_adaptive(input, oh, ow)
    if empty is not None:
        if return_indices:
            xp_ = get_array_module(input._data)
            idx = Tensor._make(xp_.zeros(empty.shape, "int64"), False, None, 0)
            return empty, idx
        return empty
    if input.is_quantized or type(input).__name__ == "BatchedTensor":
        # quantized: the max of its integers (max_pool2d's quantized path); under vmap the
        # indices cannot be found on the raw arrays: composed of batchable ops
        if h % oh == 0 and w % ow == 0:
            return max_pool2d(input, (h // oh, w // ow), return_indices=return_indices)
        if return_indices:
            raise NotImplementedError(
                "adaptive_max_pool2d: no indices of uneven bins for a quantized input or under vmap"
            )
        rows = []
        for hs, he in _bins(h, oh):
            cols = [input[..., hs:he, ws:we].amax((-2, -1)) for ws, we in _bins(w, ow)]
            rows.append(stack(cols, -1))
        return stack(rows, -2)
    _check_max_input(input)
    idx, disjoint = adaptive_max_indices_2d(input._data, oh, ow)
    # one AdaptiveMaxPool2DBackward0 node on the input as given (unbatched too, as PyTorch)
    out = IndexPool.apply(input, idx, 2, "AdaptiveMaxPool2DBackward0", disjoint)
    if return_indices:
        return out, Tensor._make(idx, False, None, 0)
    return out


def _check_max_input(input: Tensor) -> None:
    """PyTorch's checks: no integer kernel, and only dim 0 may be empty."""
    no_complex_kernel("adaptive_max_pool2d", input)
    if input._data.dtype.kind in "iub":
        torch_name = scalar_type_name(input._data.dtype)
        raise NotImplementedError(f"\"adaptive_max_pool2d\" not implemented for '{torch_name}'")
    for i in range(1, input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(
                "adaptive_max_pool2d(): Expected input to have non-zero size for non-batch "
                f"dimensions, but input has sizes {list(input.shape)} with dimension {i} being "
                "empty"
            )


def adaptive_max_indices_2d(data: Any, oh: int, ow: int) -> tuple:
    """(PyTorch's flat H*W index of each bin's maximum, whether the bins are disjoint) for
    (N, C, H, W) or (C, H, W) data: each bin's first maximum in scan order (its last NaN if
    it holds one, PyTorch's CPU rule); sizes that divide are max_pool2d's windows."""
    xp_ = get_array_module(data)
    x = data if data.ndim == 4 else data[None]
    n, c, h, w = x.shape
    if h % oh == 0 and w % ow == 0:
        kh, kw = h // oh, w // ow
        P = ((kh, kw), (kh, kw), (0, 0), (1, 1), (oh, ow))
        arg = _max_pool(wide(x), P, True)[1]
        rows = xp_.arange(oh).reshape(oh, 1) * kh + arg // kw
        cols = xp_.arange(ow).reshape(1, ow) * kw + arg % kw
        idx, disjoint = (rows * w + cols).astype(np.int64), True
    else:
        flat = x.reshape(n, c, h * w)
        idx = adaptive_max_indices(flat, (h, w), (oh, ow), xp_).reshape(n, c, oh, ow)
        disjoint = False
    return (idx if data.ndim == 4 else idx[0]), disjoint
