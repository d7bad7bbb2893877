"""``torch.dist(a, b, p)`` as one graph node, PyTorch's ``DistBackward0`` for every ``p``.

It was ``vector_norm(a - b, p)`` (a ``SubBackward0`` and a ``LinalgVectorNormBackward0``);
as one node it lists ``a`` and ``b`` and saves what PyTorch's saves (``self``, ``other``,
``result``, ``p``). The norm itself is the fused vector norm of ``p`` (``vector_norms.py``,
``linalg/norms.py``), run on the difference through a small stand-in context: the same
values, the same gradient conventions at the singular points (0 where the norm or an entry
is 0) and the same double backward (the difference is rebuilt from the saved inputs with
Tensor ops, so a second backward reaches ``a`` and ``b``) and tangents (``ta - tb``).
``dist`` (``products.py``) calls it for real floating inputs of one dtype (float32 / float64);
other cases keep the composite. At ``p = 0`` (the count of non-zero differences) the node
gives no gradient, as the 0-norm's (PyTorch's ``DistBackward0`` there returns an undefined
gradient that its engine then refuses: a torch bug, not mirrored).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..linalg.norms import EuclideanNorm
from .vector_norms import Norm1, NormInf, NormNegInf, NormZero, PNorm

__all__ = ["Dist", "dist_node_ok"]


def dist_node_ok(a: Tensor, b: Tensor, p: Any) -> bool:
    """Whether :class:`Dist` computes ``dist(a, b, p)``: one real float32 / float64 dtype and
    a finite or infinite ``p``."""
    dt = a._data.dtype
    return (
        dt == b._data.dtype
        and dt in (np.float32, np.float64)
        and isinstance(p, (int, float, np.integer, np.floating))
        and not isinstance(p, bool)
        and not math.isnan(float(p))
    )


class _NormContext:
    """What a fused norm's forward / backward / jvp read from their node: attributes the
    forward sets, the saved values, ``create_graph``, ``primals`` and ``out``."""

    def save_for_backward(self, *values: Any) -> None:
        """Nothing kept: :class:`Dist` saves its own inputs and rebuilds the difference."""


def _norm_class(p: float) -> tuple:
    """The fused norm of ``p`` and its leading arguments after the input (as
    ``linalg.vector_norm`` calls it on all dims)."""
    if p == 2.0:
        return EuclideanNorm, ()
    if p == 0.0:
        return NormZero, ()
    if p == 1.0:
        return Norm1, ()
    if p == math.inf:
        return NormInf, ()
    if p == -math.inf:
        return NormNegInf, ()
    return PNorm, (p,)


class Dist(Function):
    """``||a - b||_p`` over all elements (broadcast), one node (``DistBackward0``)."""

    raw = True
    node_name = ("DistBackward0", (0, 1))  # both inputs listed (None without a gradient)
    saved_fields = {"other": 1, "p": lambda n: n.p_given, "result": 2, "self": 0}

    @staticmethod
    def forward(ctx, a, b, p, p_given):
        cls, lead = _norm_class(float(p))
        diff = a - b
        norm_ctx = _NormContext()
        axes = None if cls in (EuclideanNorm, PNorm) else tuple(range(diff.ndim))
        y = cls.forward(norm_ctx, diff, *lead, axes, False)
        ctx.cls, ctx.lead, ctx.axes, ctx.norm_ctx, ctx.p_given = cls, lead, axes, norm_ctx, p_given
        ctx.save_for_backward(a, b, y)  # PyTorch's _saved_self / _other / _result
        return y

    @staticmethod
    def backward(ctx, grad):
        if ctx.cls is NormZero:  # piecewise constant: no gradient (as the 0-norm's)
            return None, None, None, None
        a, b, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if ctx.create_graph:  # a Tensor op: a second backward reaches a and b
            diff = a - b
        else:
            diff = Tensor._make(a._data - b._data, False, None, 0)
        norm_ctx = ctx.norm_ctx
        norm_ctx.saved_tensors, norm_ctx.create_graph = (diff, y), ctx.create_graph
        g = ctx.cls.backward(norm_ctx, grad)[0]
        return (g if needs[0] else None), (-g if needs[1] else None), None, None

    @staticmethod
    def jvp(ctx, ta, tb, *_):
        a, b = ctx.primals[:2]
        xp = get_array_module(ctx.out)
        diff = a - b
        if ta is None and tb is None:
            return xp.zeros(ctx.out.shape, ctx.out.dtype)
        t = ta if tb is None else -tb if ta is None else ta - tb
        norm_ctx = ctx.norm_ctx
        norm_ctx.primals, norm_ctx.out = (diff,), ctx.out
        return ctx.cls.jvp(norm_ctx, xp.broadcast_to(t, diff.shape), *ctx.lead, ctx.axes, False)
