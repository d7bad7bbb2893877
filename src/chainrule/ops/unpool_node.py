"""``max_unpool2d`` / ``max_unpool3d``'s one node, as PyTorch's ``MaxUnpool2DBackward0`` /
``MaxUnpool3DBackward0`` (saving ``indices``; ``max_unpool1d`` is the 2-d one between an
``unsqueeze`` and a ``squeeze``, as PyTorch's).

The forward writes each input value at its flat position ``indices`` (over the last ``nd``
dims) of a zero output of spatial size ``out_size``; the gradient is the gather of the
upstream gradient at those positions, the tangent the same scatter of the input's tangent.
The callers check the arguments (``nn/functional/pooling_extra.py`` / ``pooling_more.py``).
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import MetaArray, meta_empty
from ._result_layout import in_format, input_format  # (a channels-last input's format)

__all__ = ["MaxUnpool", "max_unpool"]


def _scatter(x: Any, idx: Any, nd: int, out_size: tuple) -> Any:
    """Zeros of shape ``lead + out_size`` with ``x`` written at the flat ``idx`` (raw)."""
    lead = x.shape[: x.ndim - nd]
    if type(x) is MetaArray:  # shapes only: nothing written
        return meta_empty(lead + tuple(out_size), x.dtype)
    xp = get_array_module(x)
    m = math.prod(x.shape[x.ndim - nd :])
    out = xp.zeros(lead + (math.prod(out_size),), dtype=x.dtype)
    if out.size:  # (an empty plane, kernel_size 0: PyTorch writes nothing, checks nothing)
        xp.put_along_axis(out, idx.reshape(lead + (m,)), x.reshape(lead + (m,)), -1)
    return out.reshape(lead + tuple(out_size))


class MaxUnpool(Function):
    """Scatter of ``x`` into zeros at the flat ``indices`` over the last ``nd`` dims."""

    raw = True
    saved_fields = {"indices": 0}  # grad_fn._saved_indices as PyTorch's

    @staticmethod
    def node_name(ctx: Any) -> str:
        """PyTorch's name: ``MaxUnpool2DBackward0`` or ``MaxUnpool3DBackward0``."""
        return f"MaxUnpool{ctx.nd}DBackward0"

    @staticmethod
    def forward(ctx, x, indices, nd, out_size):
        ctx.nd, ctx.in_shape = nd, x.shape
        ctx.save_for_backward(indices)
        fmt = input_format(x) if nd == 2 else None  # (PyTorch's 3-d one is row-major)
        return in_format(_scatter(x, indices, nd, out_size), fmt)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        nd, shape = ctx.nd, ctx.in_shape
        lead = shape[: len(shape) - nd]
        flat = lead + (math.prod(shape[len(shape) - nd :]),)
        if grad.numel() == 0 and indices.numel():  # an empty unpooled plane (kernel_size 0)
            raise RuntimeError(  # PyTorch's gather refuses every index there, in its words
                f"index {int(indices._data.reshape(-1)[0])} is out of bounds for dimension "
                f"{len(lead)} with size 0"
            )
        if ctx.create_graph:  # differentiable: the gather's derivative is this unpool again
            g = grad.reshape(*lead, -1).gather(-1, indices.reshape(*flat))
            return g.reshape(*shape), None, None, None
        xp = get_array_module(grad._data)
        g = grad._data.reshape(lead + (-1,))
        g = xp.take_along_axis(g, indices._data.reshape(flat), -1).reshape(shape)
        return Tensor._make(g, False, None, 0), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return _scatter(t, ctx.primals[1], ctx.nd, ctx.out.shape[ctx.out.ndim - ctx.nd :])


def max_unpool(x: Tensor, indices: Tensor, out_size: tuple) -> Tensor:
    """The unpool of checked arguments: ``x`` and ``indices`` of one shape, int64 indices
    within ``prod(out_size)``, ``len(out_size)`` (2 or 3) the unpooled dims."""
    return MaxUnpool.apply(x, indices, len(out_size), tuple(out_size))
