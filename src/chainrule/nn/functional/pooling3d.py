"""Functional 3-D pooling: ``max_pool3d``, ``avg_pool3d``, ``adaptive_avg_pool3d``,
``adaptive_max_pool3d``, composed from the 2-D pooling ops.

A 3-D window is a box, so pooling separates: the (N, C, D, H, W) input is viewed as
(N, C*D, H, W) (a free reshape: 2-D pooling treats channels independently), pooled over
H and W by the 2-D op, and the result is reduced over the depth windows:

* max: the depth taps of each window are stacked, the first maximum in depth is picked with
  ``take_along_dim`` (so the gradient goes to one element, the first argmax in (d, h, w) scan
  order, as in PyTorch; the last NaN when the window holds one, the first in-bounds element
  when it holds only -inf), and return_indices combines the chosen depth with the 2-D index
  into PyTorch's flat index over D*H*W;
* average: the 2-D window sums (``divisor_override=1``) are summed over the depth taps and
  divided by PyTorch's divisor, the product of the per-axis window counts;
* adaptive average: the 2-D adaptive pool, then an averaging matrix over depth (a matmul);
* adaptive max: max_pool3d when the sizes divide, else a gather at each bin's first argmax.

Gradients of every order and forward mode come from the ops used.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...autograd.lower_precision import (
    autocast_float32,
    autocast_float32_op,
    in_float32_rounded_once,
)
from ...autograd.tensor import Tensor
from ...backend import get_array_module
from ...ops._pooling_indices import adaptive_max_indices
from ...ops._util import ShapeError
from ...ops.area_interpolation import adaptive_avg_pool
from ...ops.gather_scatter import take_along_dim
from ...ops.padding import pad
from ...ops.pooling import _check_divisor, _out, avg_pool2d, max_pool2d
from ...ops.shape import stack

__all__ = ["adaptive_avg_pool3d", "adaptive_max_pool3d", "avg_pool3d", "max_pool3d"]


def _triple(v: Any, name: str, op: str) -> tuple:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * 3
    try:
        t = tuple(int(e) for e in v)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of 3 ints, got {v!r}") from None
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
    """(k, s, p, d, out) triples, checked as PyTorch checks them."""
    k = _triple(kernel_size, "kernel_size", op)
    s = (
        k
        if stride is None or (not isinstance(stride, (int, np.integer)) and len(stride) == 0)
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


def _depth_taps(y: Tensor, k: int, s: int, p: int, d: int, do: int, fill: float) -> list:
    """The depth slices each of the k depth taps reads, y (N, C, D, ...) padded with fill
    along depth (on the right as far as a ceil_mode window reaches)."""
    size = y.shape[2]
    right = max((do - 1) * s + d * (k - 1) + 1 - size - p, 0)
    if p or right:
        y = pad(y, [0, 0, 0, 0, p, right], value=fill)
    return [y[:, :, i * d : i * d + s * (do - 1) + 1 : s] for i in range(k)]


def _depth_argmax(vals: Any, k: int, s: int, p: int, d: int, size: int) -> Any:
    """The depth tap each window takes, as PyTorch: the first maximum, the last NaN when the
    taps hold one, the first in-bounds tap when all are -inf (never a padding slot).

    ``vals`` (N, C, k, Do, Ho, Wo) are the 2-D window maxima per depth tap. The ordinary
    case costs one argmax and a check of the picked values (output-sized)."""
    xp = get_array_module(vals)
    arg = xp.argmax(vals, axis=2)  # the first maximum, or the first NaN
    if vals.dtype.kind not in "fV":  # V: bfloat16
        return arg
    picked = xp.take_along_axis(vals, arg[:, :, None], axis=2)[:, :, 0]
    nan = xp.isnan(picked)
    if nan.any():
        last_nan = k - 1 - xp.argmax(xp.isnan(vals)[:, :, ::-1], axis=2)
        arg = xp.where(nan, last_nan, arg)
    ninf = picked == -np.inf
    if ninf.any():
        depth = np.arange(vals.shape[3])[None, :] * s - p + np.arange(k)[:, None] * d
        first = xp.asarray(np.argmax((depth >= 0) & (depth < size), axis=0))  # (Do,)
        arg = xp.where(ninf, first.reshape(1, 1, -1, 1, 1), arg)
    return arg


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
    k, s, p, d, (do, ho, wo) = _params(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    n, c, dd, h, w = x.shape
    y2, idx2 = max_pool2d(
        x.reshape(n, c * dd, h, w), k[1:], s[1:], p[1:], d[1:], ceil_mode, return_indices=True
    )
    y2 = y2.reshape(n, c, dd, ho, wo)
    low = -math.inf if y2.dtype.kind in "fV" else int(np.iinfo(y2.dtype).min)
    taps = stack(_depth_taps(y2, k[0], s[0], p[0], d[0], do, low), 2)
    xp_ = get_array_module(taps._data)
    arg = _depth_argmax(taps._data, k[0], s[0], p[0], d[0], dd)[:, :, None]
    out = take_along_dim(taps, Tensor._make(arg, False, None, 0), 2).squeeze(2)
    if unbatched:
        out = out.squeeze(0)
    if not return_indices:
        return out
    depth = xp_.arange(do).reshape(1, 1, 1, do, 1, 1) * s[0] - p[0] + arg * d[0]
    depth = depth.squeeze(2)  # (N, C, Do, Ho, Wo): the input depth of each maximum
    hw = xp_.take_along_axis(idx2._data.reshape(n, c, dd, ho, wo), depth, axis=2)
    idx = (depth * (h * w) + hw).astype(np.int64)
    if unbatched:
        idx = idx[0]
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
    x, unbatched = _batch5(op, input)
    if divisor_override is not None:  # an int (TypeError), not zero (RuntimeError)
        _check_divisor(op, divisor_override)
    k, s, p, _, (do, ho, wo) = _params(op, x, kernel_size, stride, padding, 1, ceil_mode)
    n, c, dd, h, w = x.shape
    sums = avg_pool2d(x.reshape(n, c * dd, h, w), k[1:], s[1:], p[1:], ceil_mode, True, 1)
    taps = _depth_taps(sums.reshape(n, c, dd, ho, wo), k[0], s[0], p[0], 1, do, 0.0)
    total = taps[0]
    for t in taps[1:]:
        total = total + t
    if divisor_override is not None:
        div = np.full((do, ho, wo), float(int(divisor_override)))
    else:
        counts = []
        for size, o, kk, ss, pp in zip((dd, h, w), (do, ho, wo), k, s, p):
            start = np.arange(o) * ss - pp
            end = np.minimum(start + kk, size + pp)
            if count_include_pad:
                counts.append(end - start)
            else:
                counts.append(np.minimum(end, size) - np.maximum(start, 0))
        div = np.einsum("i,j,k->ijk", *[cc.astype(np.float64) for cc in counts])
    xp_ = get_array_module(total._data)
    if total.dtype.kind in "iu":  # PyTorch: the integer window sum / divisor, toward zero
        dv = xp_.asarray(np.rint(div).astype(total.dtype))
        quot = xp_.abs(total._data) // dv
        out = Tensor._make(xp_.where(total._data < 0, -quot, quot), False, None, 0)
    else:
        out = total * Tensor._make(xp_.asarray((1.0 / div).astype(total.dtype)), False, None, 0)
    return out.squeeze(0) if unbatched else out


def _adaptive_size(op: str, x: Tensor, output_size: Any) -> tuple:
    if output_size is None or isinstance(output_size, (int, np.integer)):
        output_size = (output_size,) * 3
    sizes = tuple(output_size)
    if len(sizes) != 3:
        raise RuntimeError(  # PyTorch's error type
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
    if x.dtype.kind not in "fc":
        raise NotImplementedError(f'{op}: "{op}_cpu" not implemented for {x.dtype}')
    od, oh, ow = _adaptive_size(op, x, output_size)
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
    if x.dtype.kind not in "fcV":  # V: bfloat16
        raise NotImplementedError(f'{op}: "{op}_cpu" not implemented for {x.dtype}')
    od, oh, ow = _adaptive_size(op, x, output_size)
    n, c, dd, h, w = x.shape
    if od == 0 or oh == 0 or ow == 0:
        out = (x.sum((2, 3, 4), keepdim=True) * 0).expand(n, c, od, oh, ow)
        if unbatched:
            out = out.squeeze(0)
        if return_indices:
            xp_ = get_array_module(x._data)
            return out, Tensor._make(xp_.zeros(out.shape, "int64"), False, None, 0)
        return out
    if dd % od == 0 and h % oh == 0 and w % ow == 0:
        kernel = (dd // od, h // oh, w // ow)
        return max_pool3d(input, kernel, kernel, return_indices=return_indices)
    xp_ = get_array_module(x._data)
    data = x._data
    # each bin's first maximum, or its last NaN (PyTorch's rule), as a flat D*H*W index
    idx = adaptive_max_indices(data.reshape(n, c, dd * h * w), (dd, h, w), (od, oh, ow), xp_)
    flat = Tensor._make(idx.reshape(n, c, od * oh * ow), False, None, 0)
    out = take_along_dim(x.reshape(n, c, dd * h * w), flat, 2).reshape(n, c, od, oh, ow)
    if unbatched:
        out, idx = out.squeeze(0), idx[0]
    if return_indices:
        return out, Tensor._make(idx, False, None, 0)
    return out
