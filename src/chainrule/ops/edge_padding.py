"""Reflection and replication padding as one graph node, under PyTorch's names.

They were gathers (one integer-array index per padded dim: a chain of ``IndexBackward0``
nodes, each keeping its index array). As one node they print as PyTorch's
(``ReflectionPad1DBackward0`` ... ``ReplicationPad3DBackward0``, by the number of padded
dims) and save the input, as PyTorch's, so modifying it in place after forward raises.

``pad`` lists ``(before, after)`` pairs from the last dim, as ``F.pad``. A negative entry
crops, as PyTorch's kernels do it: the input is padded by the positive entries first, then the
negative ones cut the result (so a reflect pad may crop one side and reflect on the other up
to the whole input). Along one dim of size ``n`` padded by ``(lo, hi)``:

* reflect: output ``j`` reads input ``lo - j`` left of the input and ``2 (n - 1) + lo - j``
  right of it (the edge not repeated; ``lo, hi < n``);
* replicate: it reads the edge, ``0`` or ``n - 1``.

The forward copies the input into the middle of the output and fills each border from the
output itself with slices (a reversed slice for reflect, a broadcast edge for replicate), one
padded dim after the other, so the corners come out right. The backward adds each border's
gradient back onto the positions it was read from, dim by dim in the same slices (PyTorch's
scatter-add); it is linear, and its own derivative is the padding again
(:class:`EdgePadBackward`, PyTorch's ``...BackwardBackward0``). The tangent is padded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import as_uint64  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._result_layout import in_format, input_format  # (a channels-last input's format)

__all__ = ["EdgePad", "EdgePadBackward", "pad_widths", "with_centre"]


def pad_widths(ndim: int, pads: tuple) -> list:
    """``[(axis, lo, hi), ...]`` of the padded axes (``pads`` from the last dim)."""
    return [(ndim - 1 - i, pads[2 * i], pads[2 * i + 1]) for i in range(len(pads) // 2)]


def with_centre(a: Any, widths: list) -> tuple[Any, list]:
    """A fresh C-ordered array grown by the positive widths, ``a`` copied into its middle,
    and the index of that middle (a list of slices): the start of every padding mode."""
    xp = get_array_module(a)
    shape = list(a.shape)
    centre = [slice(None)] * a.ndim
    for axis, lo, hi in widths:
        lo, hi = max(lo, 0), max(hi, 0)
        shape[axis] += lo + hi
        centre[axis] = slice(lo, lo + a.shape[axis])
    out = xp.empty(shape, a.dtype)
    out[tuple(centre)] = a
    return out, centre


def _at(ndim: int, axis: int, sl: slice) -> tuple:
    return (slice(None),) * axis + (sl,)


def _crop(widths: list, ndim: int) -> tuple | None:
    """The slice cutting the negative pads off the positively padded array, or None."""
    if all(lo >= 0 and hi >= 0 for _, lo, hi in widths):
        return None
    idx = [slice(None)] * ndim
    for axis, lo, hi in widths:
        idx[axis] = slice(max(-lo, 0), hi if hi < 0 else None)
    return tuple(idx)


def edge_pad_array(a: Any, pads: tuple, mode: str) -> Any:
    """``a`` padded by ``pads`` (signed, from the last dim) in ``mode`` ('reflect' or
    'replicate'), a fresh C-ordered array."""
    xp = get_array_module(a)
    nd = a.ndim
    widths = pad_widths(nd, pads)
    out, _ = with_centre(a, widths)
    for axis, lo, hi in widths:
        lo, hi = max(lo, 0), max(hi, 0)
        n = a.shape[axis]
        if mode == "reflect":
            if lo:
                out[_at(nd, axis, slice(0, lo))] = out[_at(nd, axis, slice(2 * lo, lo, -1))]
            if hi:
                stop = lo + n - 2 - hi  # -1: down to index 0 (a slice would read -1 as the end)
                src = slice(lo + n - 2, stop if stop >= 0 else None, -1)
                out[_at(nd, axis, slice(lo + n, lo + n + hi))] = out[_at(nd, axis, src)]
        else:
            if lo:
                out[_at(nd, axis, slice(0, lo))] = out[_at(nd, axis, slice(lo, lo + 1))]
            if hi:
                edge = out[_at(nd, axis, slice(lo + n - 1, lo + n))]
                out[_at(nd, axis, slice(lo + n, lo + n + hi))] = edge
    crop = _crop(widths, nd)
    return out if crop is None else xp.ascontiguousarray(out[crop])


def edge_pad_grad_array(g: Any, pads: tuple, mode: str) -> Any:
    """The adjoint of :func:`edge_pad_array`: ``g`` (the padded shape) summed back onto the
    input positions each element was read from, a fresh C-ordered array."""
    xp = get_array_module(g)
    nd = g.ndim
    widths = pad_widths(nd, pads)
    crop = _crop(widths, nd)
    if crop is not None:  # the cropped positions got no gradient: put zeros back there
        full = list(g.shape)
        for axis, lo, hi in widths:
            full[axis] += max(-lo, 0) + max(-hi, 0)
        z = xp.zeros(full, g.dtype)
        z[crop] = g
        g = z
    for axis, lo, hi in reversed(widths):
        lo, hi = max(lo, 0), max(hi, 0)
        if not lo and not hi:
            continue
        n = g.shape[axis] - lo - hi
        gx = g[_at(nd, axis, slice(lo, lo + n))].copy()
        if mode == "reflect":
            if lo:  # input lo..1 fed output 0..lo-1
                head = g[_at(nd, axis, slice(0, lo))]
                gx[_at(nd, axis, slice(1, lo + 1))] += xp.flip(head, axis)
            if hi:  # input n-2..n-1-hi fed output lo+n..lo+n+hi-1
                tail = g[_at(nd, axis, slice(lo + n, lo + n + hi))]
                gx[_at(nd, axis, slice(n - 1 - hi, n - 1))] += xp.flip(tail, axis)
        else:
            if lo:
                gx[_at(nd, axis, slice(0, 1))] += g[_at(nd, axis, slice(0, lo))].sum(
                    axis=axis, keepdims=True
                )
            if hi:
                gx[_at(nd, axis, slice(n - 1, n))] += g[_at(nd, axis, slice(lo + n, None))].sum(
                    axis=axis, keepdims=True
                )
        g = gx
    return g if g.flags.c_contiguous else xp.ascontiguousarray(g)


def _label(mode: str, pads: tuple) -> str:
    kind = "Reflection" if mode == "reflect" else "Replication"
    return f"{kind}Pad{len(pads) // 2}D"


class EdgePad(Function):
    """Reflect / replicate padding of the last ``len(pads) // 2`` dims
    (``ReflectionPad2DBackward0``, ``ReplicationPad1DBackward0``, ...)."""

    raw = True
    node_name = staticmethod(lambda node: f"{_label(node.mode, node.pads)}Backward0")
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): -1 as 2**64 - 1
        "padding": lambda n: tuple(as_uint64(p) for p in n.pads),
        "self": 0,
    }
    saved_input_names = ("self",)

    @staticmethod
    def forward(ctx, x, pads, mode):
        ctx.pads, ctx.mode = pads, mode
        ctx.save_for_backward(x)  # as PyTorch (its backward reads only the shape)
        ctx.fmt = input_format(x)  # (channels-last in, channels-last out, as PyTorch)
        return in_format(edge_pad_array(x, pads, mode), ctx.fmt)

    @staticmethod
    def backward(ctx, grad):
        ctx.saved_tensors  # noqa: B018 - reads the input as PyTorch does: its version is checked
        if not ctx.create_graph and type(grad._data) is np.ndarray:
            g = in_format(edge_pad_grad_array(grad._data, ctx.pads, ctx.mode), ctx.fmt)
            return Tensor._make(g, False, None, 0), None, None
        return EdgePadBackward.apply(grad, ctx.pads, ctx.mode), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return edge_pad_array(t, ctx.pads, ctx.mode)


class EdgePadBackward(Function):
    """The backward of :class:`EdgePad` as an op (under ``create_graph``): the padded
    gradient summed back onto the input; its derivative is the padding again."""

    raw = True
    node_name = staticmethod(lambda node: f"{_label(node.mode, node.pads)}BackwardBackward0")

    @staticmethod
    def forward(ctx, g, pads, mode):
        ctx.pads, ctx.mode = pads, mode
        return edge_pad_grad_array(g, pads, mode)

    @staticmethod
    def backward(ctx, gg):
        return EdgePad.apply(gg, ctx.pads, ctx.mode), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return edge_pad_grad_array(t, ctx.pads, ctx.mode)
