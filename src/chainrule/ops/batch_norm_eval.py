"""Evaluation-mode batch norm with constant affine parameters, as one pass per element.

With the running statistics and a weight and bias that need no gradient, batch norm is a
per-channel affine map: ``y = x α + β`` with ``α = w / sqrt(running_var + eps)`` and
``β = b - running_mean α``, as PyTorch folds it on CPU. The composed form (normalise, then
scale, then shift) made four passes over the activations, each on the intra-op threads: a
third of a ResNet-20 inference pass. The derivative in x is ``α`` (a constant), so
backward, double backward and forward mode stay exact; when the weight or bias needs a
gradient, ``nn.functional.batch_norm`` composes ordinary ops instead.

:class:`BatchNormStatsFn` is the same map with the weight and bias as differentiable inputs
(PyTorch's evaluation-mode ``NativeBatchNormBackward0``), for ``F.instance_norm`` with
``use_input_stats=False``, whose graph PyTorch builds from that node.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import dispatch as _fast
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import elementwise
from .memory_format import in_suggested_format

__all__ = ["BatchNormEvalFn", "BatchNormStatsFn"]


def _per_channel(v: Any, ndim: int) -> Any:
    """A (C,) array shaped to broadcast over (N, C, *spatial)."""
    return v.reshape((1, v.shape[0]) + (1,) * (ndim - 2))


class BatchNormEvalFn(Function):
    """``x α + β`` per channel of an (N, C, *) array; α, β (C,) arrays of x's dtype, or of
    float32 for a float16 x (computed in float32 and rounded once, as PyTorch's kernel)."""

    raw = True

    @staticmethod
    def forward(ctx, x, alpha, beta):
        ctx.save_for_backward(alpha)
        if x.dtype != alpha.dtype:  # float16 x, float32 α and β
            y = x.astype(alpha.dtype) * _per_channel(alpha, x.ndim)
            y += _per_channel(beta, x.ndim)
            return y.astype(x.dtype)
        y = _fast.channel_affine(x, alpha, beta)
        if y is None:  # NumPy keeps x's memory layout (order 'K')
            y = x * _per_channel(alpha, x.ndim)
            y += _per_channel(beta, x.ndim)
        return in_suggested_format(y, x)  # PyTorch: x.suggest_memory_format()

    @staticmethod
    def backward(ctx, g):
        alpha = ctx.saved_tensors[0]._data.astype(g.dtype, copy=False)
        return g * Tensor._make(_per_channel(alpha, g.ndim), False, None, 0), None, None

    @staticmethod
    def jvp(ctx, t, _alpha, _beta):
        alpha = ctx.saved_arrays[0]
        return (
            None if t is None else t * _per_channel(alpha.astype(t.dtype, copy=False), np.ndim(t))
        )


def _xhat(x: Any, mean: Any, invstd: Any) -> Any:
    """x̂ = (x - μ) / σ̂ per channel, recomputed from the saved input (raw arrays)."""
    xp = get_array_module(x)
    xhat = elementwise(xp.subtract, x, _per_channel(mean, x.ndim))
    return elementwise(xp.multiply, xhat, _per_channel(invstd, x.ndim), out=xhat)


class BatchNormStatsFn(Function):
    """``y = γ (x - μ) σ̂⁻¹ + β`` per channel of an (N, C, *) input with fixed statistics
    (μ, σ̂⁻¹ = 1/sqrt(running_var + eps): (C,) arrays of x's dtype) and a weight γ and bias β
    (C,) that may need gradients: ``dx = g γ σ̂⁻¹``, ``dγ = Σ g x̂``, ``dβ = Σ g`` (sums over
    all dims but 1). Saved as PyTorch: x, γ and the statistics.
    With ``create_graph=True`` the backward is built from Tensor ops (x̂ from x), so double
    backward is exact."""

    raw = True
    node_name = ("NativeBatchNormBackward0", (0, 1, 2))

    @staticmethod
    def forward(ctx, x, weight, bias, mean, invstd):
        alpha = invstd if weight is None else invstd * weight
        beta = -mean * alpha
        if bias is not None:
            beta = beta + bias
        alpha, beta = alpha.astype(x.dtype, copy=False), beta.astype(x.dtype, copy=False)
        ctx.save_for_backward(x, weight, mean, invstd)
        y = _fast.channel_affine(x, alpha, beta)
        if y is None:
            y = x * _per_channel(alpha, x.ndim)
            y += _per_channel(beta, x.ndim)
        return y

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        x, w, mean, invstd = ctx.saved_tensors
        axes = (0, *range(2, g.ndim))
        mean, invstd = mean._data, invstd._data
        alpha = invstd if w is None else invstd * w._data
        if ctx.create_graph:  # Tensor ops: dγ's x̂ stays differentiable in x
            gx = gw = None
            if needs[0]:
                k = Tensor._make(_per_channel(invstd, g.ndim), False, None, 0)
                gx = g * k if w is None else g * k * w.reshape((-1,) + (1,) * (g.ndim - 2))
            if needs[1]:
                m = Tensor._make(_per_channel(mean, g.ndim), False, None, 0)
                k = Tensor._make(_per_channel(invstd, g.ndim), False, None, 0)
                gw = (g * ((x - m) * k)).sum(axes)
            gb = g.sum(axes) if needs[2] else None
            return gx, gw, gb, None, None
        gd = g._data
        xp = get_array_module(gd)
        gx = gw = gb = None
        if needs[0]:
            dx = elementwise(xp.multiply, gd, _per_channel(alpha.astype(gd.dtype), gd.ndim))
            gx = Tensor._make(dx, False, None, 0)
        if needs[1]:
            sub = "ab" + "cdefgh"[: gd.ndim - 2]
            gw_arr = xp.einsum(f"{sub},{sub}->b", gd, _xhat(x._data, mean, invstd))
            gw = Tensor._make(gw_arr.astype(gd.dtype, copy=False), False, None, 0)
        if needs[2]:
            gb = Tensor._make(gd.sum(axis=axes), False, None, 0)
        return gx, gw, gb, None, None

    @staticmethod
    def jvp(ctx, tx, tw, tb, *_):
        x, w, mean, invstd = ctx.saved_arrays
        nd = x.ndim
        out = None
        if tx is not None:
            alpha = invstd if w is None else invstd * w
            out = tx * _per_channel(alpha.astype(tx.dtype, copy=False), nd)
        if tw is not None:
            term = _xhat(x, mean, invstd) * _per_channel(tw, nd)
            out = term if out is None else out + term
        if tb is not None:
            term = _per_channel(tb, nd)
            out = term if out is None else out + term
        if out is not None and out.shape != x.shape:  # only the bias moved: constant in x
            out = get_array_module(out).broadcast_to(out, x.shape).copy()
        return out
