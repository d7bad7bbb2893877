"""Pooling over sliding windows: max and average, 1-D and 2-D (adaptive pooling, composed
from these, is in ``adaptive_pooling.py``).

No loop runs over pixels: every kernel loops over the kh*kw window *offsets* and works
on whole strided views (for 2x2 pooling that is four ``np.maximum``-sized passes, which
measured 25x faster than ``reshape(...).max``).

Max pooling: y = max over the window; the gradient is routed to the (first) argmax,
as in PyTorch (ties go to the first element in scan order; a window holding NaN takes its
last NaN, and one of only -inf its first in-bounds element: ``pooling_argmax.py``).
Average pooling is linear: y = (1/|window|) sum over the window. Both gradients are
"window scatter" ops whose own gradients are "window gather" ops, so double backward works.
Unbatched (C, H, W) inputs run as a batch of one inside each op: one node, as PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import dispatch
from .._layout import is_vmap_batched
from ..autograd.function import Function, Node
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.saved_fields import given, given_value, input_tensor, tensor_field
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta import kernels as meta_kernels
from ..meta.array import MetaArray
from ..qtypes import scalar_type_name
from ..quantized_ops import avg_pool2d_quantized, max_pool2d_quantized
from ._result_layout import in_format, input_format, pooled_layout  # (the input's format)
from ._util import DtypeError, dim_range_error, no_dims_error
from .overload_errors import as_with_indices
from .pooling_argmax import fix_argmax, needs_fix, reaches_padding
from .pooling_args import _params, check_flag
from .pooling_avg3d import _check_divisor
from .pooling_fields import AVG_POOL_FIELDS, as_given_pair

__all__ = [
    "avg_pool2d",
    "max_pool2d",
]


def _pad_input(x, ph: int, pw: int, hp: int, wp: int, fill: float):
    """x (N, C, H, W) -> (N, C, hp, wp), x at offset (ph, pw), the rest = fill."""
    n, c, h, w = x.shape
    if ph == 0 and pw == 0 and hp == h and wp == w:
        return x
    xp_ = get_array_module(x)
    buf = xp_.full((n, c, hp, wp), fill, dtype=x.dtype)
    buf[:, :, ph : ph + min(h, hp - ph), pw : pw + min(w, wp - pw)] = x[:, :, : hp - ph, : wp - pw]
    return buf


def _offsets(P):
    (kh, kw), (sh, sw), _pad, (dh, dw), (ho, wo) = P[:5]
    for i in range(kh):
        for j in range(kw):
            h0, w0 = i * dh, j * dw
            yield (
                i * kw + j,
                (
                    slice(None),
                    slice(None),
                    slice(h0, h0 + sh * (ho - 1) + 1, sh),
                    slice(w0, w0 + sw * (wo - 1) + 1, sw),
                ),
            )


def _views(xpad, P):
    """(offset, strided view of the padded input) per window offset, in scan order."""
    return ((k, xpad[idx]) for k, idx in _offsets(P))


def _padded_size(P, h, w):
    (kh, kw), (sh, sw), _pad, (dh, dw), (ho, wo) = P[:5]
    return (
        max((ho - 1) * sh + dh * (kh - 1) + 1, h + _pad[0]),
        max((wo - 1) * sw + dw * (kw - 1) + 1, w + _pad[1]),
    )


def _alloc(xp_, ref, shape, zero: bool):
    """A (N, C, H, W) buffer with ref's memory order: conv outputs live in (C, N, H, W)
    memory (see ``_im2col``), and keeping that order spares the next conv a transpose."""
    make = xp_.zeros if zero else xp_.empty
    n, c, h, w = shape
    if ref.ndim == 4 and ref.strides[0] < ref.strides[1]:
        return make((c, n, h, w), dtype=ref.dtype).transpose(1, 0, 2, 3)
    return make(shape, dtype=ref.dtype)


def _disjoint(P, h, w) -> bool:
    """Windows tile the (unpadded) input without overlap: kernel == stride, no padding or
    dilation, so each input pixel gets at most one gradient term."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = P[:5]
    return (
        (kh, kw) == (sh, sw) and ph == pw == 0 and dh == dw == 1 and ho * sh <= h and wo * sw <= w
    )


def _weight(sel, k):
    kind, arr = sel[:2]  # (a third item: the gradient's memory format)
    if kind == "avg":
        return arr  # (ho, wo) reciprocal divisors, same for every offset
    return arr == k  # max: boolean mask of outputs whose argmax is offset k


def _masked(xp_, g, mask):
    """g where ``mask`` holds, else 0 (an inf or NaN g masked out gives 0, as PyTorch's
    scatter to the argmax; ``g * mask`` would give NaN)."""
    return xp_.where(mask, g, g.dtype.type(0))


def _scatter(g, sel, x_shape, P):
    """WindowScatter's kernel on (N, C, Ho, Wo) g and a 4-D x_shape."""
    if type(g) is MetaArray:  # shapes only: no buffer of the input's size
        return meta_kernels.window_scatter(g, x_shape)
    xp_ = get_array_module(g)
    n, c, h, w = x_shape
    if _disjoint(P, h, w):
        # Each pixel is written once: no zero-fill (unless some are outside every
        # window) and no read-modify-write, just one multiply per window offset.
        (_, _), (sh, sw), _, _, (ho, wo) = P[:5]
        buf = _alloc(xp_, g, x_shape, ho * sh != h or wo * sw != w)
        for k, idx in _offsets(P):
            if sel[0] == "max":  # where, not g * mask: a NaN g reaches the argmax only
                xp_.copyto(buf[idx], _masked(xp_, g, sel[1] == k))
            else:
                xp_.multiply(g, _weight(sel, k), out=buf[idx])
        return buf
    hp, wp = _padded_size(P, h, w)
    ph, pw = P[2]
    buf = _alloc(xp_, g, (n, c, hp, wp), True)
    for k, idx in _offsets(P):
        if sel[0] == "max":  # (as above: PyTorch scatters g to the argmax only)
            buf[idx] += _masked(xp_, g, sel[1] == k)
        else:
            buf[idx] += g * _weight(sel, k)
    return buf[:, :, ph : ph + h, pw : pw + w]


class WindowScatter(Function):
    """dx[window(o) offset k] += g[o] * weight_k[o]: the gradient of a pooling op."""

    raw = True
    node_name = staticmethod(  # PyTorch's gradient nodes of its pooling backward kernels
        lambda node: (
            "AvgPool2DBackwardBackward0"
            if node.kind == "avg"
            else "MaxPool2DWithIndicesBackwardBackward0"
        )
    )

    @staticmethod
    def forward(ctx, g, sel, x_shape, P):
        ctx.kind, ctx.P = sel[0], P
        ctx.save_for_backward(sel[1])  # the divisors or the argmax offsets
        if len(x_shape) == 3:  # unbatched (C, H, W): one plane batch of one
            return _scatter(g[None], sel, (1, *x_shape), P)[0]
        return in_format(_scatter(g, sel, x_shape, P), sel[2] if len(sel) > 2 else None)

    @staticmethod
    def backward(ctx, gg):
        sel = (ctx.kind, ctx.saved_tensors[0]._data)
        return WindowGather.apply(gg, sel, ctx.P), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else WindowScatter.forward(Node(), t, *ctx.primals[1:])


def _gather(x, sel, P):
    """WindowGather's kernel on (N, C, H, W) x."""
    if type(x) is MetaArray:  # shapes only: nothing padded, no window summed
        return meta_kernels.max_pool(x, P[4], False)[0]
    h, w = x.shape[2:]
    hp, wp = _padded_size(P, h, w)
    xp = _pad_input(x, P[2][0], P[2][1], hp, wp, 0.0)
    out = None
    half = x.dtype.char == "e"  # float16: summed in float32, rounded once (PyTorch)
    for k, idx in _offsets(P):
        term = xp[idx]
        if sel[0] == "max":  # gathered at the argmax (a NaN elsewhere stays out)
            term = _masked(get_array_module(term), term, sel[1] == k)
        if out is None:
            out = term.astype(np.float32, order="K") if half else term.copy(order="K")
        else:
            out += term
    if sel[0] == "avg":
        out *= sel[1]
    return out.astype(x.dtype) if half else out


class WindowGather(Function):
    """y[o] = sum_k x[window(o) offset k] * weight_k[o]: average pooling (and the
    gradient of WindowScatter)."""

    raw = True
    # avg_pool2d is PyTorch's AvgPool2DBackward0; the max gather (the gradient of max
    # pooling's gradient) has no one PyTorch node, so it keeps chainrule's name
    node_name = staticmethod(
        lambda node: "AvgPool2DBackward0" if node.kind == "avg" else "PoolBackward0"
    )
    saved_fields = staticmethod(lambda node: AVG_POOL_FIELDS if node.kind == "avg" else None)

    @staticmethod
    def forward(ctx, x, sel, P):
        ctx.kind, ctx.P, ctx.x_shape, ctx.fmt = sel[0], P, x.shape, input_format(x)
        # the divisors or the argmax offsets; avg pooling's input too (PyTorch's _saved_self:
        # a reference, version-checked on backward as PyTorch's)
        ctx.save_for_backward(sel[1], x if sel[0] == "avg" else None)
        if x.ndim == 3:  # unbatched (C, H, W): one node, as PyTorch's
            return pooled_layout(_gather(x[None], sel, P)[0], x)
        if ctx.fmt is None:  # (row-major, as PyTorch's, for a transposed x too)
            return pooled_layout(_gather(x, sel, P), x)
        return in_format(_gather(x, sel, P), ctx.fmt)

    @staticmethod
    def backward(ctx, g):
        sel = (ctx.kind, ctx.saved_tensors[0]._data, ctx.fmt)  # (dx in x's format)
        return WindowScatter.apply(g, sel, ctx.x_shape, ctx.P), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else WindowGather.forward(Node(), t, *ctx.primals[1:])


def _saved_pool_indices(node: Any) -> Any:
    """``_saved_result1``: max_pool2d's int64 indices into each input plane, from the saved
    argmax offsets (the values ``return_indices=True`` gives)."""
    arg = node.saved_tensor(0)
    if arg is None:
        return None
    arg = arg._data
    xp_ = get_array_module(arg)
    (_kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = node.P
    rows = xp_.arange(ho).reshape(ho, 1) * sh - ph + (arg // kw) * dh
    cols = xp_.arange(wo).reshape(1, wo) * sw - pw + (arg % kw) * dw
    return Tensor._make((rows * node.x_shape[-1] + cols).astype(np.int64), False, None, 0)


def _max_pool(x, P, want_arg):
    """(maxima, argmax offsets or None) of (N, C, H, W) x: MaxPool2dFn's kernel."""
    if type(x) is MetaArray:  # shapes only: nothing padded, no window compared
        return meta_kernels.max_pool(x, P[4], want_arg)
    xp_ = get_array_module(x)
    h, w = x.shape[2:]
    hp, wp = _padded_size(P, h, w)
    if P[0] == (2, 2) and _disjoint(P, h, w):  # then (Ho, Wo) = (H // 2, W // 2)
        fast = dispatch.max_pool2x2(x)  # one compiled pass (LeNet's pools), or None
        if fast is not None:
            arg = fast[1] if want_arg else None
            if want_arg and needs_fix(fast[0], False):  # a NaN: PyTorch takes the last
                fix_argmax(_views(x, P), fast[0], arg, P, h, w)
            return fast[0], arg
    xp = _pad_input(x, P[2][0], P[2][1], hp, wp, -np.inf)
    if want_arg and P[0] == (2, 2):
        # 2x2 windows as a tournament of pairs: 3 maxima and 3 comparisons instead of
        # 3 rounds of compare + putmask + maximum (LeNet's pools: 1.9 -> 1.1 ms). Ties
        # keep the earlier offset at every step, so the argmax is the first in scan order.
        v0, v1, v2, v3 = (xp[idx] for _, idx in _offsets(P))
        top, bottom = xp_.maximum(v0, v1), xp_.maximum(v2, v3)
        first = (v1 > v0).astype(np.int8)
        second = (v3 > v2).astype(np.int8) + np.int8(2)
        arg = xp_.where(bottom > top, second, first)
        best = xp_.maximum(top, bottom)
        if needs_fix(best, reaches_padding(P, h, w)):  # NaN, or -inf beside padding
            fix_argmax(_views(xp, P), best, arg, P, h, w)
        return best, arg
    best = None
    arg = None
    for k, idx in _offsets(P):
        v = xp[idx]
        if best is None:
            best = v.copy(order="K")  # keep the input's (C, N, H, W) memory order
            if want_arg:
                arg = xp_.zeros_like(best, dtype=np.int16)
            continue
        if want_arg:
            m = v > best
            xp_.putmask(arg, m, k)
        xp_.maximum(best, v, out=best)
    if want_arg and needs_fix(best, reaches_padding(P, h, w)):  # NaN, or -inf by padding
        fix_argmax(_views(xp, P), best, arg, P, h, w)
    return best, arg


class MaxPool2dFn(Function):
    """y = max over each window; saves the argmax offset (int8/int16) for backward (None
    when no gradient and no indices are wanted)."""

    raw = True
    node_name = "MaxPool2DWithIndicesBackward0"
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py); P: k, s, p, d, out
        "ceil_mode": lambda n: given_value(n, "ceil_mode", False),
        "dilation": lambda n: n.P[3],
        "kernel_size": lambda n: n.P[0],
        "padding": lambda n: n.P[2],
        "result1": tensor_field(_saved_pool_indices),
        "self": tensor_field(lambda n: input_tensor(n, 0)),
        "stride": lambda n: as_given_pair(given_value(n, "stride"), ()),
    }

    @staticmethod
    def forward(ctx, x, P, want_arg):
        ctx.P, ctx.x_shape, ctx.fmt = P, x.shape, input_format(x)
        if x.ndim == 3:  # unbatched (C, H, W): one node, as PyTorch's
            best, arg = _max_pool(x[None], P, want_arg)
            best, arg = best[0], (None if arg is None else arg[0])
        else:
            best, arg = _max_pool(x, P, want_arg)
        ctx.save_for_backward(arg, x)  # x: PyTorch's _saved_self (a reference, no copy)
        if ctx.fmt is None:  # (row-major, as PyTorch's, for a transposed x too)
            return pooled_layout(best, x)
        return in_format(best, ctx.fmt)  # (a padded pooling of a channels-last x: copied)

    @staticmethod
    def backward(ctx, g):
        arg = ctx.saved_tensors[0]._data
        return WindowScatter.apply(g, ("max", arg, ctx.fmt), ctx.x_shape, ctx.P), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        if t is None:
            return None
        arg = ctx.saved_arrays[0]
        if arg is None:
            arg = _argmax_offsets(ctx.primals[0], ctx.P)
        return WindowGather.forward(Node(), t, ("max", arg), ctx.P)


def _argmax_offsets(x, P):
    """Each window's argmax offset (raw arrays; x (N, C, H, W) or unbatched (C, H, W))."""
    if x.ndim == 3:
        return _max_pool(x[None], P, True)[1][0]
    return _max_pool(x, P, True)[1]


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-D max pooling, like ``torch.nn.functional.max_pool2d``.

    y[n, c, i, j] = max_{p, q} xpad[n, c, i*s + p*d, j*s + q*d] (padding is -inf).
    Gradient: routed to the first argmax of each window.

    Returns:
        (N, C, Ho, Wo); with return_indices also int64 indices into each input plane
        flattened as H*W (usable by PyTorch's max_unpool2d convention).
    """
    if isinstance(input, Tensor) and input.is_quantized:  # the max of its integers
        return max_pool2d_quantized(
            input,
            lambda ints: max_pool2d(ints, kernel_size, stride, padding, dilation, ceil_mode),
            return_indices,
        )
    try:
        P = _params("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)
    except TypeError as err:
        if return_indices is True:
            as_with_indices(err, "max_pool2d")
        raise
    want = return_indices or (input.requires_grad and is_grad_enabled())
    out = given(MaxPool2dFn.apply(input, P, want), stride=stride, ceil_mode=ceil_mode)
    if not return_indices:
        return out
    node = out._grad_fn
    arg = node.saved_arrays[0] if node is not None and node._forward_cls is MaxPool2dFn else None
    if arg is None and is_vmap_batched(input._data):  # cr.func.vmap: once per sample
        from ..func._per_sample import per_sample  # noqa: PLC0415 - func imports the ops

        return per_sample(
            max_pool2d, input, kernel_size, stride, padding, dilation, ceil_mode, True
        )
    if arg is None:  # no graph recorded: recompute cheaply through a throwaway ctx
        arg = _argmax_offsets(input._data, P)
    xp_ = get_array_module(input._data)
    (_kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = P
    w_in = input.shape[-1]
    rows = xp_.arange(ho).reshape(ho, 1) * sh - ph + (arg // kw) * dh
    cols = xp_.arange(wo).reshape(1, wo) * sw - pw + (arg % kw) * dw
    idx = (rows * w_in + cols).astype(np.int64)
    if input_format(input._data) is None:  # (row-major for a transposed input, as PyTorch's)
        idx = pooled_layout(idx, input._data)
    return out, Tensor._make(idx, False, None, 0)


def _avg_divisor(h, w, P, count_include_pad: bool, divisor_override):
    (kh, kw), (sh, sw), (ph, pw), _, (ho, wo) = P
    if divisor_override:
        return np.full((ho, wo), 1.0 / divisor_override)

    def sizes(n_out, size, k, s, p):
        start = np.arange(n_out) * s - p
        end = np.minimum(start + k, size + p)
        full = end - start
        valid = np.minimum(end, size) - np.maximum(start, 0)
        return full, valid

    fh, vh = sizes(ho, h, kh, sh, ph)
    fw, vw = sizes(wo, w, kw, sw, pw)
    div = np.outer(fh, fw) if count_include_pad else np.outer(vh, vw)
    return 1.0 / div


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-D average pooling, like ``torch.nn.functional.avg_pool2d``.

    y = (1 / divisor) * sum over the window; the divisor counts padding zeros when
    count_include_pad (but never the part of a ceil_mode window past the padding).
    """
    if isinstance(input, Tensor) and input.is_quantized:  # rounded integer window means

        def pool(t: Tensor, div: int | None) -> Tensor:
            return avg_pool2d(t, kernel_size, stride, padding, ceil_mode, count_include_pad, div)

        return avg_pool2d_quantized(input, pool, divisor_override)
    if isinstance(input, Tensor) and input.ndim < 3:  # PyTorch reads dim -3: an IndexError
        raise dim_range_error(-3, input.ndim) if input.ndim else no_dims_error(-3)
    P = _params("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode)
    check_flag("avg_pool2d", "count_include_pad", count_include_pad)
    if input.dtype.kind == "b":  # PyTorch has no bool kernel (integers: truncated means)
        raise DtypeError('"avg_pool2d" not implemented for torch.bool; convert with .float()')
    if input.dtype.kind in "iu" and input.dtype != np.int64:  # its CPU kernel: int64 only
        name = scalar_type_name(input._data.dtype)
        raise DtypeError(f"\"avg_pool2d\" not implemented for '{name}'")
    if divisor_override is not None:
        _check_divisor("avg_pool2d", divisor_override)
    h, w = input.shape[-2:]
    inv = _avg_divisor(h, w, P, count_include_pad, divisor_override)
    xp_ = get_array_module(input._data)
    if input.dtype.kind in "iu":  # PyTorch: the integer window sum / divisor, toward zero
        div = xp_.asarray(np.rint(1.0 / inv).astype(input.dtype))
        sums = WindowGather.apply(input, ("avg", xp_.ones_like(div)), P)._data
        quot = xp_.abs(sums) // div
        return Tensor._make(xp_.where(sums < 0, -quot, quot), False, None, 0)
    inv = inv.astype(np.float32 if input.dtype.char == "e" else input.dtype)  # (float16: f32 sums)
    if xp_ is not np:
        inv = xp_.asarray(inv)
    out = WindowGather.apply(input, ("avg", inv), P)
    return given(
        out,
        stride=stride,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
    )
