"""``masked_select`` as one graph node, PyTorch's ``MaskedSelectBackward0``.

It was a broadcast (``expand``) and a boolean subscript (``IndexBackward0``): one or two
nodes. As one node it lists the input alone and saves what PyTorch's saves, the input and
the mask, so modifying either in place after forward raises as there.

``y = x[m]`` with ``x`` and the boolean ``m`` broadcast together: the elements of ``x`` where
``m`` is True, in row-major order, as one 1-d tensor. Its gradient puts ``g`` back at the
mask's True places in zeros of the broadcast shape (the engine sums a broadcast ``x``'s
gradient back to its shape); that placement (:class:`MaskedPlace`) and the selection are
each other's adjoint, so double backward is one of the two again.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module

__all__ = ["MaskedPlace", "MaskedSelect", "masked_placed", "masked_selected"]


def _broadcast(x: Any, m: Any) -> tuple:
    """``x`` and ``m`` as views of their common shape (themselves where it is theirs)."""
    xp = get_array_module(x)
    shape = xp.broadcast_shapes(x.shape, m.shape)
    x = x if x.shape == shape else xp.broadcast_to(x, shape)
    m = m if m.shape == shape else xp.broadcast_to(m, shape)
    return x, m


def masked_selected(x: Any, m: Any) -> Any:
    """``x[m]`` of raw arrays broadcast together: a fresh 1-d array."""
    x, m = _broadcast(x, m)
    return x[m]


def masked_placed(g: Any, m: Any, shape: tuple) -> Any:
    """Zeros of ``shape`` (``m`` broadcast to it) with ``g`` written at ``m``'s True places."""
    xp = get_array_module(g)
    out = xp.zeros(shape, g.dtype)
    out[m if m.shape == shape else xp.broadcast_to(m, shape)] = g
    return out


class MaskedSelect(Function):
    """``input``'s elements where ``mask`` is True (both broadcast), as a 1-d tensor
    (``torch.masked_select``); saves the input and the mask, as PyTorch's node."""

    raw = True
    complex_grad = True  # a real-linear selection: its transpose is right for complex
    node_name = ("MaskedSelectBackward0", (0,))
    saved_input_names = ("self", "mask")

    @staticmethod
    def forward(ctx, x, mask):
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x, mask)
        return masked_selected(x, mask)

    @staticmethod
    def backward(ctx, grad):
        x, mask = ctx.saved_tensors
        shape = get_array_module(x._data).broadcast_shapes(x.shape, mask.shape)
        if not ctx.create_graph:
            gx = Tensor._make(masked_placed(grad._data, mask._data, shape), False, None, 0)
        else:
            gx = MaskedPlace.apply(grad, mask, shape)
        gx._vc[0] = 1  # PyTorch's zeros.masked_scatter_(...): version 1 (as a leaf's .grad)
        return gx, None

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else masked_selected(t, ctx.primals[1])


class MaskedPlace(Function):
    """The adjoint of :class:`MaskedSelect`: ``g`` at ``mask``'s True places of zeros of
    ``shape`` (recorded only by a ``masked_select`` backward under ``create_graph``)."""

    raw = True
    complex_grad = True
    node_name = ("MaskedScatterBackward0", (0,))

    @staticmethod
    def forward(ctx, g, mask, shape):
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(mask)
        return masked_placed(g, mask, shape)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return MaskedSelect.apply(grad, mask), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return None if t is None else masked_placed(t, ctx.primals[1], ctx.primals[2])
