"""Convolution: conv1d/conv2d and their transposes, as three mutually-defined Functions.

Forward (cross-correlation, as in every DL framework)::

    y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * xpad[n, g(o)*C/G + c, i*s + p*d, j*s + q*d]

computed as im2col + BLAS matmuls (see ``_conv_kernels``). The gradients of a
convolution are again convolutions, which is what makes double backward work:

* ``dL/dx = conv_transpose(g, w)``  (col2im of ``W^T g``)          -> :class:`ConvTranspose2dFn`
* ``dL/dw = correlate(x, g)``       (``g cols(x)^T``)              -> :class:`ConvWeightFn`

and each of those is bilinear, with its own gradients expressed by the same three
Functions, so any order of derivative stays inside this file.
"""

from __future__ import annotations

from typing import Any

from .._layout import is_vmap_array
from ..autograd.function import Function
from ..autograd.lower_precision import AUTOCAST
from ..autograd.saved_fields import given, given_value  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from . import _conv_kernels as K
from ._im2col import out_size
from ._util import NAMED_ERRORS, DtypeError, ShapeError, lead_with, tsum
from .conv_arguments import check_geometry, int_tuple, padding_pairs, string_padding_bias
from .memory_format import channels_last, relayout_array, suggests_memory_format

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


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
    return t.squeeze(2) if graph else Tensor._make(t._data[:, :, 0], False, None, 0)


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
        return y[:, :, 0] if ctx.one_d else y

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
        return out[:, :, 0] if ctx.one_d else out


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
        return out[:, :, 0] if ctx.one_d else out

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
            return out
        b = tb.reshape((1, -1) + (1,) * (len(xs) - 2 - ctx.one_d))
        if out is None:  # only the bias has a tangent: it spreads over the whole result
            return get_array_module(b).broadcast_to(b, ctx.out.shape).copy()
        return out + b


class ConvWeightFn(Function):
    """dw = correlate(x, g): the gradient of conv2d with respect to its weight."""

    raw = True
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, g, w_shape, P, cols=None):
        ctx.P = P
        ctx.save_for_backward(x, g)
        return K.conv_weight_grad(x, g, tuple(w_shape), *P, cols=cols)

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
        return tsum(
            None if tx is None else K.conv_weight_grad(tx, g, tuple(ws), *P),
            None if tg is None else K.conv_weight_grad(x, tg, tuple(ws), *P),
        )


def _channels_last_result(out: Tensor, input: Tensor, weight: Tensor) -> Tensor:
    """Lay a fresh convolution result out channels-last when PyTorch does: when its input
    or its weight suggests that format (``model.to(memory_format=torch.channels_last)``).
    The result is new and unaliased, so its memory is swapped for the relaid copy (same
    values); chainrule's own layout (see ``_conv_kernels``) stays for everything else."""
    if is_vmap_array(out._data) or not (
        suggests_memory_format(input._data, channels_last)
        or suggests_memory_format(weight._data, channels_last)
    ):
        return out
    out._data = relayout_array(out._data, channels_last, "conv2d")
    return out


def _as_image(t: Any) -> Any:
    """A 3-D tensor as the height-1 image (N, C, 1, L) the 2-D checks read (a view without
    a graph: the op itself takes the 3-D tensor); anything else unchanged (for the error)."""
    if isinstance(t, Tensor) and t.ndim == 3:
        return Tensor._make(t._data[:, :, None], False, None, 0)
    return t


def _vmapped(*ts: Any) -> bool:
    """Whether a tensor is vmap's batched one: its conv rule folds 4-D inputs only, so
    conv1d / conv_transpose1d run there on unsqueezed tensors, as separate views."""
    for t in ts:
        if type(t).__name__ == "BatchedTensor":
            return True
    return False


def _crop(t: Tensor, shape: tuple) -> Tensor:
    """Drop trailing rows/cols that a transposed conv's output_padding added (they map to
    no output of the forward conv)."""
    if tuple(t.shape) == tuple(shape):
        return t
    return t[(slice(None), slice(None)) + tuple(slice(0, s) for s in shape[2:])]


def _bias_axes(g: Tensor) -> tuple:
    """The axes a bias gradient sums over: all but the channels'."""
    return (0,) + tuple(range(2, g.ndim))


# ----------------------------------------------------------------------------- arguments
def _padding(padding: Any, k: tuple, stride: tuple, dil: tuple, op: str) -> tuple:
    """Padding as (top, bottom, left, right) for a 2-D conv."""
    return sum(padding_pairs(padding, k, stride, dil, op), ())


def _check_input(op: str, x: Tensor, w: Tensor, groups: int, transposed: bool) -> None:
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise TypeError(
            f"{op}: input and weight must be Tensors, got {type(x).__name__} and {type(w).__name__}"
        )
    if x.ndim != 4 or w.ndim != 4:
        raise ShapeError(
            f"{op}: expected a 4-D input (N, C, H, W) and a 4-D weight, got "
            f"input {tuple(x.shape)} and weight {tuple(w.shape)}"
        )
    if groups < 1:  # a RuntimeError, as PyTorch's
        raise ShapeError(f"{op}: non-positive groups is not supported, got {groups}")
    if x.dtype.kind == "b":  # PyTorch has no bool kernel (integers: it has)
        raise DtypeError(f"{op}: not implemented for torch.bool; convert with .float()")
    c = x.shape[1]
    if transposed:
        if c != w.shape[0] or c % groups:
            raise ShapeError(
                f"{op}: input has {c} channels but weight {tuple(w.shape)} "
                f"expects {w.shape[0]} (divisible by groups={groups})"
            )
    else:
        if c != w.shape[1] * groups or w.shape[0] % groups:
            raise ShapeError(
                f"{op}: input {tuple(x.shape)} has {c} channels but weight {tuple(w.shape)} "
                f"with groups={groups} expects {w.shape[1] * groups}; out_channels "
                f"({w.shape[0]}) must also be divisible by groups"
            )
    if x.dtype != w.dtype:
        raise DtypeError(  # a TypeError and, as in PyTorch, a RuntimeError
            f"{op}: input dtype {x.dtype} and weight dtype {w.dtype} differ; "
            "cast one (e.g. model.double() or x.float())"
        )


def _conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    one_d: bool = False,
) -> Tensor:
    """:func:`conv2d` in chainrule's own result layout (what ``conv1d`` builds on);
    ``one_d``: conv1d's 3-D input and weight, computed as a height-1 image in one node."""
    unbatched = not one_d and isinstance(input, Tensor) and input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if AUTOCAST[0]:  # autocast casts the arguments before the dtype checks
        input, weight, bias = AUTOCAST[1](Conv2dFn, (input, weight, bias))
    op = "conv2d"
    x4, w4 = (_as_image(input), _as_image(weight)) if one_d else (input, weight)
    _check_input(op, x4, w4, groups, False)
    k = tuple(w4.shape[2:])
    stride = int_tuple(stride, 2, "stride", op)
    dil = int_tuple(dilation, 2, "dilation", op)
    if not isinstance(padding, str):
        check_geometry(op, stride, dil, int_tuple(padding, 2, "padding", op))
    check_geometry(op, stride, dil)
    pad = _padding(padding, k, stride, dil, op)
    h, w = x4.shape[2:]
    ho = out_size(h, k[0], stride[0], pad[0], pad[1], dil[0])
    wo = out_size(w, k[1], stride[1], pad[2], pad[3], dil[1])
    if ho < 1 or wo < 1:
        raise ShapeError(
            f"{op}: input {tuple(x4.shape)} is too small for kernel {k} with "
            f"padding {pad}, dilation {dil}: output would be {ho}x{wo}"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ShapeError(
            f"{op}: bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}"
        )
    bias = string_padding_bias(input, bias, padding)
    if bias is not None and bias.dtype != input.dtype:
        raise DtypeError(  # PyTorch promotes nothing here: a RuntimeError
            f"{op}: input dtype {input.dtype} and bias dtype {bias.dtype} differ; "
            f"convert the bias with .to({input.dtype})"
        )
    out = Conv2dFn.apply(input, weight, bias, (stride, pad, dil, int(groups)))
    return out.squeeze(0) if unbatched else out


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation, like ``torch.nn.functional.conv2d``.

    Args:
        input: (N, C, H, W) or unbatched (C, H, W).
        weight: (O, C/groups, kh, kw).
        bias: optional (O,).
        stride, dilation: int or (sh, sw).
        padding: int, (ph, pw), 'valid' or 'same' (stride 1 only; odd totals pad the
            bottom/right one more, as PyTorch does).
        groups: split channels into independent groups (groups == C is depthwise).

    Returns:
        (N, O, Ho, Wo) with Ho = floor((H + 2ph - dh (kh - 1) - 1) / sh) + 1, laid out
        channels-last when the input or the weight is (as PyTorch's).
    """
    out = _conv2d(input, weight, bias, stride, padding, dilation, groups)
    if out.ndim == 4 and isinstance(weight, Tensor):
        out = _channels_last_result(out, input, weight)
    return out


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation: input (N, C, L) or (C, L), weight (O, C/groups, k).

    Computed as a 2-D convolution over a height-1 image.
    """
    unbatched = isinstance(input, Tensor) and input.ndim == 2
    if unbatched:
        input = input.unsqueeze(0)
    if input.ndim != 3 or weight.ndim != 3:
        raise ShapeError(
            f"conv1d: expected input (N, C, L) and weight (O, C/groups, k), got "
            f"{tuple(input.shape)} and {tuple(weight.shape)}"
        )
    pad = (
        padding if isinstance(padding, str) else (0, int_tuple(padding, 1, "padding", "conv1d")[0])
    )
    try:
        stride = (1, int_tuple(stride, 1, "stride", "conv1d")[0])
        dilation = (1, int_tuple(dilation, 1, "dilation", "conv1d")[0])
        if _vmapped(input, weight, bias):  # vmap's conv rule: 4-D tensors
            x4, w4 = input.unsqueeze(2), weight.unsqueeze(2)
            out = _conv2d(x4, w4, bias, stride, pad, dilation, groups).squeeze(2)
        else:  # one node, as PyTorch's (the height-1 image is inside it)
            out = _conv2d(input, weight, bias, stride, pad, dilation, groups, one_d=True)
    except NAMED_ERRORS as err:  # the 2-D op's check names itself: lead with conv1d
        lead_with("conv1d", err)
        raise
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed 2-D convolution (the gradient of conv2d w.r.t. its input).

    Args:
        input: (N, Cin, H, W). weight: (Cin, Cout/groups, kh, kw), as in PyTorch.
        output_padding: extra rows/cols added to one side of the output (< stride or
            dilation) to pick among the input sizes a strided conv maps to H.

    Returns:
        (N, Cout, Ho, Wo), Ho = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1, laid out
        channels-last when the input or the weight is (as PyTorch's).
    """
    return _conv_transpose2d(
        input, weight, bias, stride, padding, output_padding, groups, dilation, True
    )


def _conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
    layout: bool,
    one_d: bool = False,
) -> Tensor:
    """:func:`conv_transpose2d`; ``layout``: apply PyTorch's channels-last result rule
    (``conv_transpose1d`` builds on the op without it); ``one_d``: conv_transpose1d's 3-D
    input and weight, computed as a height-1 image in one node."""
    unbatched = not one_d and isinstance(input, Tensor) and input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if AUTOCAST[0]:  # autocast casts the arguments before the dtype checks
        input, weight, bias = AUTOCAST[1](ConvTranspose2dFn, (input, weight, bias))
    op = "conv_transpose2d"
    x4, w4 = (_as_image(input), _as_image(weight)) if one_d else (input, weight)
    _check_input(op, x4, w4, groups, True)
    k = tuple(w4.shape[2:])
    stride = int_tuple(stride, 2, "stride", op)
    dil = int_tuple(dilation, 2, "dilation", op)
    ph, pw = int_tuple(padding, 2, "padding", op)
    oph, opw = int_tuple(output_padding, 2, "output_padding", op)
    check_geometry(op, stride, dil, (ph, pw), (oph, opw))
    for o_, s_, d_ in ((oph, stride[0], dil[0]), (opw, stride[1], dil[1])):
        if o_ >= max(s_, d_):
            raise ShapeError(
                f"{op}: output padding must be smaller than either stride or dilation, "
                f"but got output_padding={(oph, opw)}, stride={stride}, "
                f"dilation={dil}"
            )
    n, _, h, w = x4.shape
    ho = (h - 1) * stride[0] - 2 * ph + dil[0] * (k[0] - 1) + oph + 1
    wo = (w - 1) * stride[1] - 2 * pw + dil[1] * (k[1] - 1) + opw + 1
    if ho < 1 or wo < 1:
        raise ShapeError(
            f"{op}: output size {ho}x{wo} is not positive for input "
            f"{tuple(x4.shape)}, kernel {k}, padding {(ph, pw)}"
        )
    cout = w4.shape[1] * groups
    if bias is not None:
        if tuple(bias.shape) != (cout,):  # (the shape error the separate add gave)
            bias.reshape(1, cout, 1, 1)
        if bias.dtype != input.dtype:  # PyTorch adds the bias into the output: its dtype wins
            if bias.dtype.kind == "c" and input.dtype.kind != "c":
                raise RuntimeError(
                    f"{op}: a complex bias ({bias.dtype}) cannot be added to the real output "
                    f"({input.dtype}); convert the bias with .to({input.dtype}) or the input "
                    "and weight to a complex dtype"
                )
            bias = bias.to(input.dtype)
    # one node with the bias (or None) as its fifth input, as PyTorch's
    out = ConvTranspose2dFn.apply(
        input, weight, (n, cout, ho, wo), (stride, (ph, ph, pw, pw), dil, int(groups)), bias
    )
    given(out, output_padding=(oph, opw))  # grad_fn._saved_output_padding
    if layout and not unbatched:
        out = _channels_last_result(out, input, weight)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed 1-D convolution: input (N, Cin, L) or unbatched (Cin, L), weight (Cin,
    Cout/groups, k); computed as the 2-D op on a height-1 image (the height inserted just
    before L, so an unbatched input stays unbatched)."""

    def one(v: Any, name: str) -> int:
        return int_tuple(v, 1, name, "conv_transpose1d")[0]

    try:
        args = (
            bias,
            (1, one(stride, "stride")),
            (0, one(padding, "padding")),
            (0, one(output_padding, "output_padding")),
            groups,
            (1, one(dilation, "dilation")),
            False,
        )
        if isinstance(input, Tensor) and not _vmapped(input, weight, bias):
            # one node, as PyTorch's (the height-1 image is inside it); unbatched: as
            # PyTorch's, the batch dim added and removed around it
            unbatched = input.ndim == 2
            x = input.unsqueeze(0) if unbatched else input
            out = _conv_transpose2d(x, weight, *args, one_d=True)
            return out.squeeze(0) if unbatched else out
        out = _conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(2), *args)
    except NAMED_ERRORS as err:  # the 2-D op's check names itself: lead with conv_transpose1d
        lead_with("conv_transpose1d", err)
        raise
    return out.squeeze(-2)
