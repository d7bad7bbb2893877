"""Circular padding as one graph node (``F.pad(mode='circular')``).

It was a gather (one integer-array index per padded dim: a chain of ``IndexBackward0``
nodes, each keeping its index array). PyTorch writes circular padding as a composition:
an empty output filled by slice copies (``out[centre] = x``, then each border copied from
the output itself), so its graph is a chain of ``torch::autograd::CopySlices`` and
``SliceBackward0`` nodes (about three per padded dim). As one node this prints under the
name of that chain's top (``torch::autograd::CopySlices``, repr ``<CopySlices ...>``) and,
like PyTorch's chain, saves no tensor (the backward reads only the shapes).

``pads`` lists ``(before, after)`` pairs from the last dim, as ``F.pad``. A negative entry
crops, as PyTorch does it: the input is cropped by the negative entries first, then the
cropped array is wrapped by the positive ones. Along one dim cropped to ``n`` and padded by
``(lo, hi)`` (``lo, hi <= n``), output ``j`` reads cropped input ``(j - lo) mod n``.

The forward copies the cropped input into the middle of the output and fills each border
from the output itself (``out[:lo] = out[n:n + lo]``, ``out[lo + n:] = out[lo:lo + hi]``),
one padded dim after the other, so the corners come out right. The backward folds each
border's gradient back onto the positions it was read from (a sum), dim by dim, and puts
zeros at the cropped positions; it is linear, and its own derivative is the padding again
(:class:`CircularPadBackward`, listed as PyTorch's gradient's top node
``SliceBackwardBackward0``). The tangent is padded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .edge_padding import pad_widths, with_centre

__all__ = [
    "CircularPad",
    "CircularPadBackward",
    "check_circular_pads",
    "circular_pad_array",
    "circular_pad_grad_array",
]


def _at(axis: int, sl: slice, inner: list) -> tuple:
    """An index taking ``sl`` along ``axis`` and ``inner[d]`` along every other dim."""
    idx = list(inner)
    idx[axis] = sl
    return tuple(idx)


def _crop(ndim: int, shape: tuple, widths: list) -> tuple | None:
    """The slice of the input kept by the negative pads, or None when nothing is cropped."""
    if all(lo >= 0 and hi >= 0 for _, lo, hi in widths):
        return None
    idx = [slice(None)] * ndim
    for axis, lo, hi in widths:
        idx[axis] = slice(max(-lo, 0), shape[axis] - max(-hi, 0))
    return tuple(idx)


def check_circular_pads(shape: Sequence[int], pads: Sequence[int]) -> None:
    """PyTorch's checks of circular pads (its messages), after the rank check.

    A pad wider than its dim would wrap more than once; crops may leave the dim empty but
    not negative. PyTorch wraps the cropped dim, so a pad wider than what the crop left
    reads memory it never wrote (an internal overlap error or an undefined result there):
    that is refused here with a clear error instead.
    """
    nd = len(shape)
    for axis, lo, hi in pad_widths(nd, tuple(pads)):
        n = shape[axis]
        if lo > n or hi > n:
            raise RuntimeError(
                "Padding value causes wrapping around more than once. (pad: circular padding "
                f"({lo}, {hi}) of dimension {axis}: each pad must be at most its size {n})"
            )
        if n + min(lo, 0) + min(hi, 0) < 0:
            raise RuntimeError(
                "Negative padding value is resulting in an empty dimension (pad: padding "
                f"({lo}, {hi}) crops more than the {n} elements of dimension {axis})"
            )
    for axis, lo, hi in pad_widths(nd, tuple(pads)):
        kept = shape[axis] + min(lo, 0) + min(hi, 0)
        if max(lo, 0) > kept or max(hi, 0) > kept:
            raise RuntimeError(
                f"pad: circular padding ({lo}, {hi}) of dimension {axis} (size {shape[axis]}) "
                f"wraps a dim that the negative padding cropped to {kept} elements: each "
                f"positive pad must be at most {kept}"
            )


def circular_pad_array(a: Any, pads: tuple) -> Any:
    """``a`` cropped by the negative entries of ``pads`` (signed, from the last dim), then
    wrapped around by the positive ones: a fresh C-ordered array."""
    nd = a.ndim
    widths = pad_widths(nd, pads)
    crop = _crop(nd, a.shape, widths)
    if crop is not None:
        a = a[crop]
    out, centre = with_centre(a, widths)
    inner = list(centre)  # dims not yet wrapped: only their middle is written so far
    for axis, lo, hi in widths:
        lo, hi = max(lo, 0), max(hi, 0)
        n = a.shape[axis]
        if lo:
            out[_at(axis, slice(0, lo), inner)] = out[_at(axis, slice(n, n + lo), inner)]
        if hi:
            out[_at(axis, slice(lo + n, lo + n + hi), inner)] = out[
                _at(axis, slice(lo, lo + hi), inner)
            ]
        inner[axis] = slice(None)
    return out


def circular_pad_grad_array(g: Any, pads: tuple, in_shape: tuple) -> Any:
    """The adjoint of :func:`circular_pad_array`: ``g`` (the padded shape) folded back onto
    the positions each element was read from, zero at the cropped ones; a fresh C-ordered
    array of ``in_shape``."""
    xp = get_array_module(g)
    nd = g.ndim
    widths = pad_widths(nd, pads)
    folded = False
    for axis, lo, hi in reversed(widths):
        lo, hi = max(lo, 0), max(hi, 0)
        if not lo and not hi:
            continue
        n = g.shape[axis] - lo - hi
        full = [slice(None)] * nd
        gx = g[_at(axis, slice(lo, lo + n), full)].copy()
        if lo:  # output 0..lo-1 read input n-lo..n-1
            gx[_at(axis, slice(n - lo, n), full)] += g[_at(axis, slice(0, lo), full)]
        if hi:  # output lo+n..lo+n+hi-1 read input 0..hi-1
            gx[_at(axis, slice(0, hi), full)] += g[_at(axis, slice(lo + n, lo + n + hi), full)]
        g, folded = gx, True
    crop = _crop(nd, in_shape, widths)
    if crop is not None:  # the cropped positions got no gradient
        z = xp.zeros(in_shape, g.dtype)
        z[crop] = g
        return z
    if not folded or not g.flags.c_contiguous:
        return xp.ascontiguousarray(g) if folded else g.copy()
    return g


class CircularPad(Function):
    """Circular padding of the last ``len(pads) // 2`` dims, negative pads cropping first
    (PyTorch's graph top: ``torch::autograd::CopySlices``)."""

    raw = True
    node_name = "torch::autograd::CopySlices"  # the top of PyTorch's slice-copy chain

    @staticmethod
    def forward(ctx, x, pads):
        ctx.pads, ctx.in_shape = pads, tuple(x.shape)  # shapes only, as PyTorch's chain
        return circular_pad_array(x, pads)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.create_graph and type(grad._data) is np.ndarray:
            g = circular_pad_grad_array(grad._data, ctx.pads, ctx.in_shape)
            return Tensor._make(g, False, None, 0), None
        return CircularPadBackward.apply(grad, ctx.pads, ctx.in_shape), None

    @staticmethod
    def jvp(ctx, t, *_):
        return circular_pad_array(t, ctx.pads)


class CircularPadBackward(Function):
    """The backward of :class:`CircularPad` as an op (under ``create_graph``): the padded
    gradient folded back onto the input; its derivative is the padding again."""

    raw = True
    node_name = "SliceBackwardBackward0"  # the top of PyTorch's gradient of the chain

    @staticmethod
    def forward(ctx, g, pads, in_shape):
        ctx.pads, ctx.in_shape = pads, in_shape
        return circular_pad_grad_array(g, pads, in_shape)

    @staticmethod
    def backward(ctx, gg):
        return CircularPad.apply(gg, ctx.pads), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return circular_pad_grad_array(t, ctx.pads, ctx.in_shape)
