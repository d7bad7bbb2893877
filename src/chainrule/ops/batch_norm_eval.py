"""Evaluation-mode batch norm with constant affine parameters, as one pass per element.

With the running statistics and a weight and bias that need no gradient, batch norm is a
per-channel affine map: ``y = x α + β`` with ``α = w / sqrt(running_var + eps)`` and
``β = b - running_mean α``, as PyTorch folds it on CPU. The composed form (normalise, then
scale, then shift) made four passes over the activations, each on the intra-op threads: a
third of a ResNet-20 inference pass. The derivative in x is ``α`` (a constant), so
backward, double backward and forward mode stay exact; when the weight or bias needs a
gradient, ``nn.functional.batch_norm`` composes ordinary ops instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import dispatch as _fast
from ..autograd.function import Function
from ..autograd.tensor import Tensor

__all__ = ["BatchNormEvalFn"]


def _per_channel(v: Any, ndim: int) -> Any:
    """A (C,) array shaped to broadcast over (N, C, *spatial)."""
    return v.reshape((1, v.shape[0]) + (1,) * (ndim - 2))


class BatchNormEvalFn(Function):
    """``x α + β`` per channel of an (N, C, *) array; α, β (C,) arrays of x's dtype."""

    raw = True

    @staticmethod
    def forward(ctx, x, alpha, beta):
        ctx.save_for_backward(alpha)
        y = _fast.channel_affine(x, alpha, beta)
        if y is None:  # NumPy keeps x's memory layout (order 'K')
            y = x * _per_channel(alpha, x.ndim)
            y += _per_channel(beta, x.ndim)
        return y

    @staticmethod
    def backward(ctx, g):
        alpha = ctx.saved_tensors[0]._data
        return g * Tensor._make(_per_channel(alpha, g.ndim), False, None, 0), None, None

    @staticmethod
    def jvp(ctx, t, _alpha, _beta):
        return None if t is None else t * _per_channel(ctx.saved_arrays[0], np.ndim(t))
