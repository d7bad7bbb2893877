"""The three mutually-defined convolution Functions behind conv1d/2d/3d and their transposes.

Forward (cross-correlation, as in every DL framework)::

    y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * xpad[n, g(o)*C/G + c, i*s + p*d, j*s + q*d]

computed as im2col + BLAS matmuls (see ``_conv_kernels``). The gradients of a
convolution are again convolutions, which is what makes double backward work:

* ``dL/dx = conv_transpose(g, w)``  (col2im of ``W^T g``)          -> :class:`ConvTranspose2dFn`
* ``dL/dw = correlate(x, g)``       (``g cols(x)^T``)              -> :class:`ConvWeightFn`

and each of those is bilinear, with its own gradients expressed by the same three
Functions, so any order of derivative stays inside this file.

The kernels lay their results out their own way (channel-major, the weight gradient as
``(C*kh*kw, O)`` memory, a crop of a padded buffer), where PyTorch's are contiguous: each
Function marks what it computes row-major (``_layout_marks.mark_contiguous_result``; ~1 us
for an array that is not row-major), so ``stride()``, ``view`` and ``numpy()`` of a result,
a gradient or a tangent answer as PyTorch's. A convolution whose input or weight suggests
channels-last has its gradients laid out channels-last, as PyTorch's.
"""

from __future__ import annotations

from typing import Any

from .._layout import is_vmap_array
from .._layout_marks import mark_contiguous_result
from ..autograd.function import Function
from ..autograd.saved_fields import given_value  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from . import _conv_kernels as K
from ._util import tsum
from .memory_format import channels_last, relayout_array, suggests_memory_format

__all__ = ["Conv2dFn", "ConvTranspose2dFn", "ConvWeightFn"]


def _shown(node: Any, pair: tuple) -> tuple:
    """A (height, width) argument as PyTorch's node shows it: the width alone for conv1d
    and conv_transpose1d (computed here as 2-D ops over a height-1 image)."""
    return (pair[1],) if node.one_d else tuple(pair)


def _conv_fields(transposed: bool) -> dict:
    """``grad_fn._saved_*`` of PyTorch's ``ConvolutionBackward0`` (saved_fields.py); P:
    stride, pads (top, bottom, left, right; 3-d: front, back first), dilation, groups."""
    return {
        "bias_sym_sizes_opt": lambda n: n.bias_shape,
        "dilation": lambda n: _shown(n, n.P[2]),
        "groups": lambda n: n.P[3],
        "input": 0,
        "output_padding": lambda n: _shown(n, given_value(n, "output_padding", (0,) * len(n.P[0]))),
        "padding": lambda n: given_value(n, "padding") or _shown(n, n.P[1][0::2]),
        "stride": lambda n: _shown(n, n.P[0]),
        "transposed": lambda n: transposed,
        "weight": 1,
    }


def _lift(t: Tensor, graph: bool) -> Tensor:
    """A conv1d tensor (N, C, L) as the height-1 image (N, C, 1, L) the 2-D kernels take:
    recorded where the backward builds a graph, else a bare view."""
    return t.unsqueeze(2) if graph else Tensor._make(t._data[:, :, None], False, None, 0)


def _drop(t: Tensor | None, graph: bool) -> Tensor | None:
    """A height-1 image's gradient (N, C, 1, L) as the conv1d tensor's (N, C, L)."""
    if t is None:
        return None
    if graph:  # (recorded: Function.apply passes the 4-d gradient's mark on)
        return t.squeeze(2)
    return Tensor._make(mark_contiguous_result(t._data[:, :, 0]), False, None, 0)


class Conv2dFn(Function):
    """y = conv2d(x, w) + b; P = (stride, pad4, dilation, groups). conv1d's 3-D input and
    weight too (``one_d``), computed over a height-1 image in this same node (PyTorch's one
    ``ConvolutionBackward0``; the height is a free view of the arrays), and conv3d's 5-D
    ones (P with 3-tuples and pad6; the kernels run them as 3-d convolutions)."""

    raw = True
    node_name = ("ConvolutionBackward0", (0, 1, 2))  # input, weight, bias (or None)
    saved_fields = _conv_fields(False)  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, x, w, b, P):
        ctx.P, ctx.one_d = P, x.ndim == 3
        ctx.bias_shape = (0,) if b is None else tuple(b.shape)
        ctx.save_for_backward(x, w)
        if ctx.one_d:  # conv1d: (N, C, L) as (N, C, 1, L), views
            x, w = x[:, :, None], w[:, :, None]
        if not ctx.needs_input_grad[1]:  # the columns serve only the weight gradient
            ctx.cols = None
            y = K.conv_forward(x, w, b, *P)
        else:
            y, ctx.cols = K.conv_forward(x, w, b, *P, keep_cols=True)
        return mark_contiguous_result(y[:, :, 0] if ctx.one_d else y)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        cols, ctx.cols = ctx.cols, None
        if ctx.one_d:  # the 2-D gradients of the height-1 image, the height dropped
            graph = ctx.create_graph
            x4, w4, g4 = _lift(x, graph), _lift(w, graph), _lift(g, graph)
            dx = ConvTranspose2dFn.apply(g4, w4, x4.shape, ctx.P) if need[0] else None
            dw = ConvWeightFn.apply(x4, g4, w4.shape, ctx.P, cols) if need[1] else None
            db = g.sum((0, 2)) if len(need) > 2 and need[2] else None
            return _drop(dx, graph), _drop(dw, graph), db, None
        dx = ConvTranspose2dFn.apply(g, w, x.shape, ctx.P) if need[0] else None
        dw = ConvWeightFn.apply(x, g, w.shape, ctx.P, cols) if need[1] else None
        db = g.sum(_bias_axes(g)) if len(need) > 2 and need[2] else None
        if x.ndim == 4 and _channels_last(x._data, w._data):
            _to_channels_last(dx)
            _to_channels_last(dw)
        return dx, dw, db, None

    @staticmethod
    def jvp(ctx, tx, tw, tb, _):
        x, w, _b, P = ctx.primals
        if ctx.one_d:
            x, w = x[:, :, None], w[:, :, None]
            tx = None if tx is None else tx[:, :, None]
            tw = None if tw is None else tw[:, :, None]
        out = tsum(
            None if tx is None else K.conv_forward(tx, w, None, *P),
            None if tw is None else K.conv_forward(x, tw, None, *P),
        )
        if tb is not None:
            out = tsum(out, tb.reshape((1, -1) + (1,) * (x.ndim - 2)))
        return mark_contiguous_result(out[:, :, 0] if ctx.one_d else out)


class ConvTranspose2dFn(Function):
    """x = conv_transpose2d(g, w) (+ b) into spatial shape x_shape: the adjoint of Conv2dFn
    in x. ``conv_transpose2d`` passes its bias (or None) as a fifth input, added into the
    fresh result in place: one node, as PyTorch's ``ConvolutionBackward0`` (input, weight,
    bias)."""

    raw = True
    _transposed_fields = _conv_fields(True)

    @staticmethod
    def node_name(node):  # conv_transpose2d's node lists the bias (None without one)
        return ("ConvolutionBackward0", (0, 1, 4)) if node.listed else "ConvolutionBackward0"

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_* as PyTorch's, where conv_transpose2d made it
        if not node.listed:  # conv2d's / conv3d's gradient (create_graph): default
            return None
        return ConvTranspose2dFn._transposed_fields

    @staticmethod
    def forward(ctx, g, w, x_shape, P, *bias):
        ctx.P, ctx.one_d, ctx.listed = P, g.ndim == 3, bool(bias)
        b = bias[0] if bias else None
        ctx.bias_shape = (0,) if b is None else tuple(b.shape)
        ctx.save_for_backward(g, w)
        if ctx.one_d:  # conv_transpose1d: (N, C, L) as (N, C, 1, L), views
            g, w = g[:, :, None], w[:, :, None]
        out = K.conv_input_grad(g, w, tuple(x_shape), *P)
        if b is not None:  # the result is fresh: the bias added in place
            b4 = b.reshape((1, -1) + (1,) * (out.ndim - 2))
            flags = getattr(out, "flags", None)
            if b.dtype == out.dtype and getattr(flags, "writeable", False):
                out += b4
            else:
                out = out + b4
        return mark_contiguous_result(out[:, :, 0] if ctx.one_d else out)

    @staticmethod
    def backward(ctx, gy):
        g, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        db = gy.sum(_bias_axes(gy)) if len(need) > 4 and need[4] else None
        graph = ctx.create_graph
        if ctx.one_d:  # the 2-D gradients of the height-1 image, the height dropped
            g, w, gy = _lift(g, graph), _lift(w, graph), _lift(gy, graph)
        dg = _crop(Conv2dFn.apply(gy, w, None, ctx.P), g.shape) if need[0] else None
        dw = ConvWeightFn.apply(gy, g, w.shape, ctx.P) if need[1] else None
        if ctx.one_d:
            dg, dw = _drop(dg, graph), _drop(dw, graph)
        elif ctx.listed and g.ndim == 4 and _channels_last(g._data, w._data):
            _to_channels_last(dg)  # (conv_transpose2d's own node: PyTorch's are channels-last)
            _to_channels_last(dw)
        return (dg, dw, None, None, db) if len(need) > 4 else (dg, dw, None, None)

    @staticmethod
    def jvp(ctx, tg, tw, *rest):
        g, w, xs, P = ctx.primals[:4]
        if ctx.one_d:
            g, w = g[:, :, None], w[:, :, None]
            tg = None if tg is None else tg[:, :, None]
            tw = None if tw is None else tw[:, :, None]
        out = tsum(
            None if tg is None else K.conv_input_grad(tg, w, tuple(xs), *P),
            None if tw is None else K.conv_input_grad(g, tw, tuple(xs), *P),
        )
        if out is not None and ctx.one_d:
            out = out[:, :, 0]
        tb = rest[2] if len(rest) > 2 else None
        if tb is None:
            return None if out is None else mark_contiguous_result(out)
        b = tb.reshape((1, -1) + (1,) * (len(xs) - 2 - ctx.one_d))
        if out is None:  # only the bias has a tangent: it spreads over the whole result
            return get_array_module(b).broadcast_to(b, ctx.out.shape).copy()
        return mark_contiguous_result(out + b)


class ConvWeightFn(Function):
    """dw = correlate(x, g): the gradient of conv2d with respect to its weight."""

    raw = True
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, g, w_shape, P, cols=None):
        ctx.P = P
        ctx.save_for_backward(x, g)
        return mark_contiguous_result(K.conv_weight_grad(x, g, tuple(w_shape), *P, cols=cols))

    @staticmethod
    def backward(ctx, gw):
        x, g = ctx.saved_tensors
        need = ctx.needs_input_grad
        dx = ConvTranspose2dFn.apply(g, gw, x.shape, ctx.P) if need[0] else None
        dg = _crop(Conv2dFn.apply(x, gw, None, ctx.P), g.shape) if need[1] else None
        return (dx, dg) + (None,) * (len(need) - 2)

    @staticmethod
    def jvp(ctx, tx, tg, *_):
        x, g, ws, P = ctx.primals[:4]
        out = tsum(
            None if tx is None else K.conv_weight_grad(tx, g, tuple(ws), *P),
            None if tg is None else K.conv_weight_grad(x, tg, tuple(ws), *P),
        )
        return None if out is None else mark_contiguous_result(out)


def _crop(t: Tensor, shape: tuple) -> Tensor:
    """Drop trailing rows/cols that a transposed conv's output_padding added (they map to
    no output of the forward conv)."""
    if tuple(t.shape) == tuple(shape):
        return t
    out = t[(slice(None), slice(None)) + tuple(slice(0, s) for s in shape[2:])]
    mark_contiguous_result(out._data)  # (PyTorch's gradient is a new contiguous tensor)
    return out


def _channels_last(x: Any, w: Any) -> bool:
    """Whether PyTorch computes a 2-d convolution of the arrays ``x`` and ``w`` channels-last
    (either suggests that format: ``model.to(memory_format=torch.channels_last)``), so that
    its result and its gradients are laid out so. A channels-last array's channel stride is
    at most its width's (a necessary condition, tested first: ~0.2 us against ~1.5 us for
    the full test, which a convolution's channel-major input and a row-major weight fail)."""
    xs, ws = x.strides, w.strides
    return (xs[1] <= xs[-1] and suggests_memory_format(x, channels_last)) or (
        ws[1] <= ws[-1] and suggests_memory_format(w, channels_last)
    )


def _to_channels_last(t: Tensor | None) -> None:
    """Lay ``t``, a fresh gradient of a channels-last convolution (its kernels' own layout,
    marked row-major: ``_layout_marks.py``), out channels-last in place, as PyTorch's."""
    if t is not None and not is_vmap_array(t._data):
        t._data = relayout_array(t._data, channels_last, "conv2d")


def _bias_axes(g: Tensor) -> tuple:
    """The axes a bias gradient sums over: all but the channels'."""
    return (0,) + tuple(range(2, g.ndim))


# ----------------------------------------------------------------------------- arguments
