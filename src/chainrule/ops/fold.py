"""im2col and col2im on checked geometry: the derivative rules behind ``F.unfold``/``F.fold``.

``unfold_columns`` takes every ``k`` patch of a (N, C, H, W) tensor padded by ``p``, with
dilation ``d`` and stride ``s``, and lays the patches out as columns (N, C*kh*kw, L). It is
composed of differentiable views (pad, sliding windows, slicing), so its gradient is exact
and double backward works. :class:`FoldFn` (col2im) is its adjoint: overlapping patches are
summed, so its backward is ``unfold_columns`` of the gradient, and ``unfold_columns``'s
backward (through the views) is a fold.

:class:`Im2Col` is ``unfold_columns`` as one node, PyTorch's ``Im2ColBackward0`` (what
``F.unfold`` records, 3-d or 4-d input): the columns gathered by one strided copy per kernel
tap (the adjoint of FoldFn's sums), its backward a FoldFn of the gradient, its tangent the
columns of the tangent.

The geometry arguments are pairs of ints already checked by ``F.unfold``/``F.fold``
(``nn/functional/fold.py``), which also handle unbatched inputs.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._result_layout import contiguous
from .shape import pad
from .structural import unfold as windows

__all__ = ["FoldFn", "Im2Col", "blocks", "unfold_columns"]


def blocks(size: tuple, k: tuple, d: tuple, p: tuple, s: tuple) -> tuple[int, int]:
    """The number of sliding blocks (rows, columns) that fit a ``size`` (H, W) input."""
    return tuple((size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))


def unfold_columns(x: Tensor, k: tuple, d: tuple, p: tuple, s: tuple) -> Tensor:
    """im2col of a 4-d (N, C, H, W) tensor: (N, C*kh*kw, L), L = oh * ow blocks (each >= 1)."""
    n, c, h, w = x.shape
    oh, ow = blocks((h, w), k, d, p, s)
    if p != (0, 0):
        x = pad(x, (p[1], p[1], p[0], p[0]))
    eh, ew = d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1
    u = windows(windows(x, 2, eh, s[0]), 3, ew, s[1])  # (N, C, oh, ow, eh, ew)
    u = u[:, :, :oh, :ow, :: d[0], :: d[1]]  # (N, C, oh, ow, kh, kw)
    return u.permute(0, 1, 4, 5, 2, 3).reshape(n, c * k[0] * k[1], oh * ow)


class FoldFn(Function):
    """col2im: (N, C*kh*kw, L) columns summed back into (N, C, H, W)."""

    raw = True
    node_name = "Col2ImBackward0"
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): each a pair
        "dilation": lambda n: tuple(n.geom[1]),
        "kernel_size": lambda n: tuple(n.geom[0]),
        "padding": lambda n: tuple(n.geom[2]),
        "stride": lambda n: tuple(n.geom[3]),
    }

    @staticmethod
    def forward(ctx, cols, out_hw, k, d, p, s):
        ctx.geom = (k, d, p, s)
        n, ckk, _ = cols.shape
        c = ckk // (k[0] * k[1])
        oh, ow = blocks(out_hw, k, d, p, s)
        hp, wp = out_hw[0] + 2 * p[0], out_hw[1] + 2 * p[1]
        out = get_array_module(cols).zeros((n, c, hp, wp), cols.dtype)
        cells = cols.reshape(n, c, k[0], k[1], oh, ow)
        for i in range(k[0]):
            for j in range(k[1]):
                r0, c0 = i * d[0], j * d[1]
                out[
                    :, :, r0 : r0 + s[0] * (oh - 1) + 1 : s[0], c0 : c0 + s[1] * (ow - 1) + 1 : s[1]
                ] += cells[:, :, i, j]
        # contiguous, as PyTorch's (not a view into the padded buffer): a reshape of the
        # result is a view of it, so an in-place write through that reshape reaches it
        return contiguous(out[:, :, p[0] : p[0] + out_hw[0], p[1] : p[1] + out_hw[1]])

    @staticmethod
    def backward(ctx, grad):
        k, d, p, s = ctx.geom
        return Im2Col.apply(grad, k, d, p, s), None, None, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return FoldFn.forward(ctx, t, *ctx.primals[1:])


def _im2col(x, k: tuple, d: tuple, p: tuple, s: tuple):
    """The columns (N, C*kh*kw, L) of a (N, C, H, W) array: new memory, row-major."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    oh, ow = blocks((h, w), k, d, p, s)
    if p != (0, 0):
        x = xp.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    out = xp.empty((n, c, k[0], k[1], oh, ow), x.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            r0, c0 = i * d[0], j * d[1]
            out[:, :, i, j] = x[
                :, :, r0 : r0 + s[0] * (oh - 1) + 1 : s[0], c0 : c0 + s[1] * (ow - 1) + 1 : s[1]
            ]
    return out.reshape(n, c * k[0] * k[1], oh * ow)


class Im2Col(Function):
    """im2col of a (N, C, H, W) or unbatched (C, H, W) input as one node
    (``Im2ColBackward0``); the adjoint of :class:`FoldFn`."""

    raw = True
    complex_grad = True  # real-linear: PyTorch's convention passes through unchanged
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): each a pair
        "dilation": lambda n: tuple(n.geom[1]),
        "kernel_size": lambda n: tuple(n.geom[0]),
        "padding": lambda n: tuple(n.geom[2]),
        "self_sym_argsize_minus_1": lambda n: n.hw[1],
        "self_sym_argsize_minus_2": lambda n: n.hw[0],
        "stride": lambda n: tuple(n.geom[3]),
    }

    @staticmethod
    def forward(ctx, x, k, d, p, s):
        ctx.geom, ctx.hw, ctx.unbatched = (k, d, p, s), x.shape[-2:], x.ndim == 3
        if ctx.unbatched:
            return _im2col(x[None], k, d, p, s)[0]
        return _im2col(x, k, d, p, s)

    @staticmethod
    def backward(ctx, grad):
        k, d, p, s = ctx.geom
        if ctx.unbatched:
            return FoldFn.apply(grad.unsqueeze(0), ctx.hw, k, d, p, s).squeeze(0), *[None] * 4
        return FoldFn.apply(grad, ctx.hw, k, d, p, s), None, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        k, d, p, s = ctx.geom
        if ctx.unbatched:
            return _im2col(t[None], k, d, p, s)[0]
        return _im2col(t, k, d, p, s)
