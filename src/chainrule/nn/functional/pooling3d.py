"""Functional 3-D pooling: ``max_pool3d``, ``avg_pool3d``, ``adaptive_avg_pool3d``,
``adaptive_max_pool3d``, each one recorded op as PyTorch's (unbatched (C, D, H, W) input too):

* max pooling and adaptive max pooling: each window's (bin's) argmax is found on the raw
  arrays as PyTorch's flat D*H*W index (the first maximum in (d, h, w) scan order, the last
  NaN when the window holds one, the first in-bounds element when it holds only -inf), then
  the maxima are gathered there by one ``MaxPool3DWithIndicesBackward0`` /
  ``AdaptiveMaxPool3DBackward0`` node (:mod:`chainrule.ops.pooling_index`);
* average pooling: one ``AvgPool3DBackward0`` node, separable window sums divided by
  PyTorch's divisor (:mod:`chainrule.ops.pooling_avg3d`);
* adaptive average: one ``AdaptiveAvgPool3DBackward0`` node (:mod:`..ops.area_interpolation`).

Gradients of every order and forward mode come from those ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.lower_precision import (
    autocast_float32,
    autocast_float32_op,
    in_float32_rounded_once,
)
from ...autograd.saved_fields import given
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops._pooling_indices import adaptive_max_indices
from ...ops._util import ShapeError, no_complex_kernel
from ...ops.adaptive_pooling import EmptyAdaptiveMax, check_size_elements
from ...ops.area_interpolation import adaptive_avg_pool
from ...ops.overload_errors import as_with_indices
from ...ops.pooling_args import _out, check_flag, size_ints, types_first
from ...ops.pooling_avg3d import AvgPool3dFn, _check_divisor, avg_pool3d_divisor
from ...ops.pooling_index import IndexPool, max_pool3d_indices
from ...qtypes import scalar_type_name

__all__ = ["adaptive_avg_pool3d", "adaptive_max_pool3d", "avg_pool3d", "max_pool3d"]


def _triple(v: Any, name: str, op: str) -> tuple:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):  # (a bool: TypeError)
        return (int(v),) * 3
    t = size_ints(v, name, op)  # (PyTorch's TypeError for a float or a string)
    if len(t) == 1:
        t = t * 3
    if len(t) != 3:
        raise ShapeError(f"{op}: {name} must be an int or a tuple of 3 ints, got {v!r}")
    return t


def _batch5(op: str, input: Any) -> tuple[Tensor, bool]:
    """(5-D input, was_unbatched): accepts (C, D, H, W) like PyTorch."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (4, 5) or 0 in tuple(input.shape)[input.ndim - 4 :]:
        raise ShapeError(
            f"{op}: expected a 4-D (C, D, H, W) or 5-D (N, C, D, H, W) input, non-empty "
            f"except perhaps in the batch dimension, got shape {tuple(input.shape)}"
        )
    if input.ndim == 4:
        return input.unsqueeze(0), True
    return input, False


def _params(op: str, x: Tensor, kernel_size, stride, padding, dilation, ceil_mode) -> tuple:
    """:func:`_checked_params`, its errors preceded by any argument's TypeError (PyTorch
    parses all types first)."""
    try:
        return _checked_params(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    except (TypeError, ValueError):
        types_first(op, kernel_size, stride, padding, dilation, ceil_mode)
        raise


def _checked_params(op: str, x: Tensor, kernel_size, stride, padding, dilation, ceil_mode) -> tuple:
    """(k, s, p, d, out) triples, checked as PyTorch checks them."""
    if type(ceil_mode) is not bool:  # PyTorch's parser: a Python bool only
        check_flag(op, "ceil_mode", ceil_mode)
    no_complex_kernel(op, x)
    k = _triple(kernel_size, "kernel_size", op)
    s = (
        k
        if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
        else _triple(stride, "stride", op)
    )
    p = _triple(padding, "padding", op)
    d = _triple(dilation, "dilation", op)
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise ShapeError(f"{op}: kernel_size, stride and dilation must be >= 1, got {k}, {s}, {d}")
    if min(p) < 0 or any(pp > kk // 2 for pp, kk in zip(p, k)):
        raise ShapeError(
            f"{op}: pad should be at most half of effective kernel size, but got "
            f"padding={p}, kernel_size={k} and dilation={d}"
        )
    out = tuple(
        _out(size, kk, ss, pp, dd, bool(ceil_mode))
        for size, kk, ss, pp, dd in zip(x.shape[2:], k, s, p, d)
    )
    if min(out) < 1:
        raise ShapeError(
            f"{op}: given input size {tuple(x.shape[1:])}, the calculated output size "
            f"{(x.shape[1],) + out} is too small (kernel {k}, padding {p}, dilation {d})"
        )
    return k, s, p, d, out


@autocast_float32_op
def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """3-D max pooling, like ``torch.nn.functional.max_pool3d``.

    y[n, c, t, i, j] = max over the (dilated) window of the -inf-padded input. The gradient
    goes to the first argmax in (d, h, w) scan order, as in PyTorch.

    Returns:
        (N, C, Do, Ho, Wo); with return_indices also int64 indices into each input volume
        flattened as D*H*W (PyTorch's convention, usable by max_unpool3d).
    """
    op = "max_pool3d"
    x, unbatched = _batch5(op, input)
    try:
        P = _params(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    except TypeError as err:
        if return_indices is True:
            as_with_indices(err, op)
        raise
    idx = max_pool3d_indices(x._data, P)  # PyTorch's flat D*H*W argmax indices
    if unbatched:
        idx = idx[0]
    k, s, p, d, _ = P
    disjoint = all((kk - 1) * dd + 1 <= ss for kk, ss, dd in zip(k, s, d))
    # one MaxPool3DWithIndicesBackward0 node on the input as given (unbatched too)
    out = IndexPool.apply(input, idx, 3, "MaxPool3DWithIndicesBackward0", disjoint)
    if out._grad_fn is not None:
        given(
            out,
            stride=() if stride is None or _empty(stride) else s,
            ceil_mode=bool(ceil_mode),
            dilation=d,
            kernel_size=k,
            padding=p,
        )
    if not return_indices:
        return out
    return out, Tensor._make(idx, False, None, 0)


@autocast_float32_op
def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-D average pooling, like ``torch.nn.functional.avg_pool3d``.

    y = window sum / divisor, the divisor being divisor_override if given, else the number
    of window elements inside the padded input (count_include_pad) or inside the input
    alone (never counting the part of a ceil_mode window past the padding). Integer input
    divides toward zero, as PyTorch does.
    """
    op = "avg_pool3d"
    x, _ = _batch5(op, input)
    if divisor_override is not None:  # an int (TypeError), not zero (RuntimeError)
        _check_divisor(op, divisor_override)
    k, s, p, _, out = _params(op, x, kernel_size, stride, padding, 1, ceil_mode)
    if type(count_include_pad) is not bool:  # PyTorch's parser: a Python bool only
        check_flag(op, "count_include_pad", count_include_pad)
    _check_avg3d_dtype(input)
    P = (k, s, p, out)
    div = avg_pool3d_divisor(
        tuple(x.shape[2:]), P, count_include_pad, divisor_override, like=x._data
    )
    # one AvgPool3DBackward0 node on the input as given (unbatched too, as PyTorch)
    y = AvgPool3dFn.apply(input, P, div)
    if y._grad_fn is not None:
        given(
            y,
            stride=() if stride is None or _empty(stride) else s,
            ceil_mode=bool(ceil_mode),
            count_include_pad=bool(count_include_pad),
            divisor_override=divisor_override,
        )
    return y


def _check_avg3d_dtype(x: Tensor) -> None:
    """PyTorch's CPU avg_pool3d runs in float32, float64 and int64 only (NotImplementedError);
    on CUDA (CuPy arrays) float16 and bfloat16 run too."""
    name = x._data.dtype.name
    if name in ("float32", "float64", "int64"):
        return
    if name in ("float16", "bfloat16") and get_array_module(x._data) is not np:
        return
    torch_name = scalar_type_name(x._data.dtype)
    raise NotImplementedError(f"\"avg_pool3d_out_frame\" not implemented for '{torch_name}'")


def _empty(v: Any) -> bool:
    return not isinstance(v, (int, np.integer)) and len(v) == 0


def _adaptive_size(op: str, x: Tensor, output_size: Any, ndim: int = 5) -> tuple:
    """The output size of a 3-d adaptive pool of the batched ``x`` (``ndim``: the caller's
    input's rank, which picks PyTorch's error type for a wrong-length ``output_size``)."""
    if output_size is None:  # PyTorch's len(None) (None entries are fine)
        raise TypeError(f"{op}: object of type 'NoneType' has no len() (output_size=None)")
    if isinstance(output_size, (bool, np.bool_)):  # PyTorch's parser
        raise TypeError(
            f"{op}(): argument 'output_size' (position 2) must be tuple of ints, not bool"
        )
    if isinstance(output_size, (int, np.integer)):
        output_size = (output_size,) * 3
    check_size_elements(op, output_size)
    sizes = tuple(output_size)
    if len(sizes) != 3:
        # PyTorch's RuntimeError, or its ValueError ("Input dimension should be at least
        # ...") when the input has no more dims than output_size: both
        err = ShapeError if ndim <= len(sizes) else RuntimeError
        raise err(
            f"{op}: output_size must be 3 (an int or a tuple of 3 ints or None), got "
            f"{output_size!r}"
        )
    out = tuple(full if o is None else int(o) for o, full in zip(sizes, x.shape[2:]))
    if min(out) < 0:
        raise RuntimeError(
            f"{op}: elements of output_size must be greater than or equal to 0 "
            f"but received {output_size!r}"
        )
    return out


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """3-D adaptive average pooling, like ``torch.nn.functional.adaptive_avg_pool3d``:
    averages over PyTorch's bins [floor(i D / od), ceil((i+1) D / od)) on each axis.

    bfloat16 is computed in float32 and rounded once. On CPU autocast's float32 list: inside
    the block bfloat16 (and float16) input gives float32 and float32 stays float32, as in
    PyTorch (the matmuls it is composed of are not cast)."""
    if isinstance(input, Tensor):
        (input,) = autocast_float32(input)
    return in_float32_rounded_once(_adaptive_avg_pool3d, input, output_size)


def _adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """:func:`adaptive_avg_pool3d` in the input's dtype, outside autocast."""
    op = "adaptive_avg_pool3d"
    x, _ = _batch5(op, input)
    od, oh, ow = _adaptive_size(op, x, output_size, input.ndim)
    # a 1x1x1 output is PyTorch's mean, which takes complex input (its kernel does not)
    if x.dtype.kind not in "f" and not (x.dtype.kind == "c" and (od, oh, ow) == (1, 1, 1)):
        no_complex_kernel(f"{op}_cpu", x)
        raise NotImplementedError(f'{op}: "{op}_cpu" not implemented for {x.dtype}')
    # one AdaptiveAvgPool3DBackward0 node (a mean for a 1x1x1 output), on the input as given
    return adaptive_avg_pool(input, (od, oh, ow))


@autocast_float32_op
def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False):
    """3-D adaptive max pooling, like ``torch.nn.functional.adaptive_max_pool3d``: the
    maximum over PyTorch's adaptive bins (see :func:`adaptive_avg_pool3d`).

    Divisible sizes are a max_pool3d (the bins are its windows); otherwise each bin's first
    argmax (its last NaN if it holds one) is found in NumPy (a loop over the output cells,
    each a vectorised reduction over the batch and channels) and the maxima gathered at those
    indices, so the gradient goes to one element per bin, as in PyTorch.
    """
    op = "adaptive_max_pool3d"
    x, unbatched = _batch5(op, input)
    no_complex_kernel(f"{op}_cpu", x)
    if x.dtype.kind not in "fV":  # V: bfloat16
        raise NotImplementedError(f'{op}: "{op}_cpu" not implemented for {x.dtype}')
    od, oh, ow = _adaptive_size(op, x, output_size, input.ndim)
    n, c, dd, h, w = x.shape
    if od == 0 or oh == 0 or ow == 0:
        # (in the input's rank: PyTorch's node sees the unbatched shape)
        shape = (c, od, oh, ow) if unbatched else (n, c, od, oh, ow)
        out = EmptyAdaptiveMax.apply(input, shape, 3)
        if return_indices:
            xp_ = get_array_module(x._data)
            return out, Tensor._make(xp_.zeros(out.shape, "int64"), False, None, 0)
        return out
    if dd % od == 0 and h % oh == 0 and w % ow == 0:  # the bins are max_pool3d's windows
        kernel = (dd // od, h // oh, w // ow)
        P = (kernel, kernel, (0, 0, 0), (1, 1, 1), (od, oh, ow))
        idx, disjoint = max_pool3d_indices(x._data, P), True
    else:  # each bin's first maximum, or its last NaN (PyTorch's rule), as a flat index
        xp_ = get_array_module(x._data)
        data = x._data.reshape(n, c, dd * h * w)
        idx = adaptive_max_indices(data, (dd, h, w), (od, oh, ow), xp_)
        idx, disjoint = idx.reshape(n, c, od, oh, ow), False
    if unbatched:
        idx = idx[0]
    # one AdaptiveMaxPool3DBackward0 node on the input as given (unbatched too)
    out = IndexPool.apply(input, idx, 3, "AdaptiveMaxPool3DBackward0", disjoint)
    if return_indices:
        return out, Tensor._make(idx, False, None, 0)
    return out
