"""``masked_scatter`` as one graph node, PyTorch's ``MaskedScatterBackward0``.

``y = masked_scatter(x, mask, source)``: ``x`` and the boolean ``mask`` broadcast together,
and the places where ``mask`` is True take the first ``n`` elements of ``source`` (read
row-major), ``n`` the number of True places. The node lists ``x`` and ``source`` (not the
mask) and saves what PyTorch's saves: the mask (and ``source``'s shape as metadata).

Derivatives (linear in each input): ``dy/dx`` keeps ``g`` where the mask is False (the engine
sums a broadcast ``x``'s gradient back to its shape); ``dy/dsource`` puts ``g[mask]`` in the
first ``n`` places of zeros of ``source``'s shape (:class:`MaskedScatterSourceGrad`, PyTorch's
``MaskedScatterBackwardBackward0`` under ``create_graph``), whose own gradient is a
masked_scatter into zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._user_warnings import warn_at_caller
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..qtypes import scalar_type_name

__all__ = ["MaskedScatter", "MaskedScatterSourceGrad", "check_mask_dtype", "masked_scattered"]


def check_mask_dtype(dtype: Any) -> None:
    """PyTorch's check of ``masked_scatter``'s mask dtype (``dtype``: chainrule's): bool
    only. A uint8 mask first warns that it is deprecated (a ``UserWarning`` each call, as
    PyTorch's), then raises as any other non-bool one does.

    Raises:
        RuntimeError: the mask is not bool.
    """
    if dtype.kind == "b":
        return
    if dtype == np.uint8:
        warn_at_caller(
            "masked_scatter_ received a mask with dtype torch.uint8, this behavior is now "
            "deprecated,please use a mask with dtype torch.bool instead."  # PyTorch's text
        )
    raise RuntimeError(
        "masked_scatter_ only supports boolean masks, but got mask with dtype "
        + scalar_type_name(dtype)  # PyTorch's ScalarType name: "Byte", "Long"
    )


def _full_mask(mask: Any, shape: tuple) -> Any:
    xp = get_array_module(mask)
    return mask if mask.shape == shape else xp.broadcast_to(mask, shape)


def masked_scattered(x: Any, source: Any, mask: Any) -> Any:
    """Raw arrays: ``x`` broadcast with ``mask``, its True places taking ``source``'s first
    elements in row-major order (a fresh array)."""
    xp = get_array_module(x)
    shape = tuple(xp.broadcast_shapes(x.shape, mask.shape))
    out = xp.empty(shape, x.dtype)
    out[...] = x  # a fresh C-ordered array (its flat view below writes into it)
    m = _full_mask(mask, shape)
    n = int(m.sum())
    flat = out.reshape(-1)  # a view of the fresh contiguous array (0-d included)
    flat[m.reshape(-1)] = source.reshape(-1)[:n]
    return out


def _source_grad(g: Any, mask: Any, source_shape: tuple) -> Any:
    """``g[mask]`` in the first places of zeros of ``source_shape`` (raw arrays)."""
    xp = get_array_module(g)
    picked = g.reshape(-1)[_full_mask(mask, g.shape).reshape(-1)]
    out = xp.zeros(int(np.prod(source_shape, dtype=np.int64)), g.dtype)
    out[: picked.shape[0]] = picked
    return out.reshape(source_shape)


class MaskedScatter(Function):
    """``x`` (broadcast with ``mask``) with its masked places taken from ``source``; one node
    listing ``x`` and ``source``, saving the mask as PyTorch's."""

    raw = True
    node_name = ("MaskedScatterBackward0", (0, 1))
    saved_input_names = ("mask",)
    saved_fields = {"mask": 0, "source_sym_sizes": lambda n: n.source_shape}  # grad_fn._saved_*

    @staticmethod
    def forward(ctx, x, source, mask):
        ctx.source_shape = tuple(source.shape)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.save_for_backward(mask)
        return masked_scattered(x, source, mask)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        gx = gs = None
        if not ctx.create_graph and type(grad._data) is np.ndarray:
            g = grad._data
            m = _full_mask(mask._data, g.shape)
            if ctx.needs_input_grad[0]:
                gx = Tensor._make(np.where(m, np.zeros((), g.dtype), g), False, None, 0)
            if ctx.needs_input_grad[1]:
                gs = Tensor._make(_source_grad(g, mask._data, ctx.source_shape), False, None, 0)
            return gx, gs, None
        if ctx.needs_input_grad[0]:
            gx = grad.masked_fill(mask, 0)
        if ctx.needs_input_grad[1]:
            gs = MaskedScatterSourceGrad.apply(grad, mask, ctx.source_shape)
        return gx, gs, None

    @staticmethod
    def jvp(ctx, tx, ts, _tm):
        x, source, mask = ctx.primals
        xp = get_array_module(x)
        if tx is None and ts is None:
            return None
        shape = tuple(xp.broadcast_shapes(x.shape, mask.shape))
        tx = xp.zeros(shape, x.dtype) if tx is None else tx
        ts = xp.zeros(source.shape, x.dtype) if ts is None else ts
        return masked_scattered(tx, ts, mask)


class MaskedScatterSourceGrad(Function):
    """``masked_scatter``'s gradient for ``source`` as an op (recorded under
    ``create_graph``): ``g[mask]`` in the first places of zeros of ``source``'s shape. Its
    gradient is a masked_scatter of the incoming gradient into zeros of ``g``'s shape."""

    raw = True
    node_name = ("MaskedScatterBackwardBackward0", (0,))
    saved_input_names = ("mask",)

    @staticmethod
    def forward(ctx, g, mask, source_shape):
        ctx.g_shape = tuple(g.shape)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(mask)
        return _source_grad(g, mask, source_shape)

    @staticmethod
    def backward(ctx, gg):
        (mask,) = ctx.saved_tensors
        xp = get_array_module(gg._data)
        zeros = Tensor._make(xp.zeros(ctx.g_shape, gg.dtype), False, None, 0)
        return MaskedScatter.apply(zeros, gg, mask), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else _source_grad(t, ctx.primals[1], ctx.primals[2])
