"""``pdist`` as one graph node, PyTorch's ``PdistBackward0`` (saving the input, ``p`` and the
result).

It was a composition: two ``index_select`` of the rows, their difference and a vector norm
(four nodes, the differences kept for backward). The node forms the differences of every
pair of rows ``i < j`` (row by row, PyTorch's order) on arrays and keeps only the distances.
The gradient of a pair with difference ``d = x_i - x_j`` and distance ``r`` is PyTorch's:

* ``p = 0``: 0; ``p = 1``: ``sign(d)``; ``p = inf``: ``sign(d)`` where ``|d| == r``, shared
  equally among tied maxima (a subgradient, as ``vector_norm`` and chainrule's ``cdist``; a
  deliberate difference: PyTorch's pdist gives each tied element the full gradient);
* ``p < 2``: ``sign(d) |d|^(p-1) / r^(p-1)`` (0 where ``d == 0`` and ``p < 1``);
  ``p = 2``: ``d / r``; otherwise ``d |d|^(p-2) / r^(p-1)``;
* 0 for a pair at distance 0 (selected, whatever the gradient there: inf or NaN gives 0,
  except at ``p = 1`` and ``inf``, whose sign is multiplied, as PyTorch's kernel); added to
  row ``i`` and subtracted from row ``j``.

As in PyTorch, the gradient has no derivative: differentiating it again raises PyTorch's
``NotImplementedError`` under its ``PdistBackwardBackward0`` node. The tangent rule is the
same map (chainrule's; PyTorch has none).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import MetaArray, meta_empty
from ._util import wide
from .no_derivative import NotImplementedDerivative, _tracked

__all__ = ["PdistFn"]


def _const(array: Any) -> Tensor:
    return Tensor._make(array, False, None, 0)


def _pairs(n: int, like: Any = None) -> tuple:
    """The rows ``(i, j)``, ``i < j``, of every pair; for a meta input (``like``, its raw
    array) meta index arrays of the pair count (no host arrays quadratic in ``n``)."""
    if type(like) is MetaArray:
        return meta_empty((n * (n - 1) // 2,), np.intp), meta_empty((n * (n - 1) // 2,), np.intp)
    return np.triu_indices(n, 1)


def _distances(diff: Any, p: float) -> Any:
    xp = get_array_module(diff)
    if p == 2:
        return xp.sqrt(xp.einsum("pm,pm->p", diff, diff))
    a = xp.abs(diff)
    if p == 0:
        return (a != 0).sum(-1).astype(diff.dtype)
    if p == 1:
        return a.sum(-1)
    if p == float("inf"):
        return a.max(-1) if a.shape[-1] else xp.zeros(a.shape[:-1], a.dtype)
    return (a**p).sum(-1) ** (1.0 / p)


def _pair_slopes(diff: Any, r: Any, p: float) -> Any:
    """d r / d (x_i - x_j) per pair and element (0 for pairs at distance 0)."""
    xp = get_array_module(diff)
    if p == 0:
        return xp.zeros_like(diff)
    zero = (r == 0)[:, None]
    rr = xp.where(zero, 1.0, r[:, None])
    if p == 1:
        out = xp.sign(diff)
    elif p == float("inf"):
        tied = xp.abs(diff) == r[:, None]  # equal shares among tied maxima (a subgradient)
        out = xp.sign(diff) * tied / xp.maximum(tied.sum(-1, keepdims=True), 1)
    elif p == 2:
        out = diff / rr
    elif p < 2:
        a = xp.abs(diff)
        out = xp.sign(diff) * a ** (p - 1) / rr ** (p - 1)
        if p < 1:
            out = xp.where(diff == 0, 0.0, out)
    else:
        out = diff * xp.abs(diff) ** (p - 2) / rr ** (p - 1)
    return xp.where(zero, 0.0, out).astype(diff.dtype, copy=False)


def _rows(pair_values: Any, n: int) -> Any:
    """Each pair's row added to row ``i`` and subtracted from row ``j`` (N, M)."""
    xp = get_array_module(pair_values)
    out = xp.zeros((n, pair_values.shape[-1]), pair_values.dtype)
    if n < 2 or not pair_values.shape[0] or type(out) is MetaArray:  # meta: the shape only
        return out
    counts_i = np.arange(n - 1, 0, -1)  # row i pairs with the n - 1 - i rows after it
    out[: n - 1] += np.add.reduceat(pair_values, np.r_[0, np.cumsum(counts_i)[:-1]], axis=0)
    _, j = _pairs(n)
    counts_j = np.arange(1, n)  # row j pairs with the j rows before it
    by_j = pair_values[np.argsort(j, kind="stable")]
    out[1:] -= np.add.reduceat(by_j, np.r_[0, np.cumsum(counts_j)[:-1]], axis=0)
    return out


class PdistBackwardBackward(NotImplementedDerivative):
    """The gradient's node: PyTorch names it and raises NotImplementedError."""

    node_name = "PdistBackwardBackward0"

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("the derivative for '_pdist_backward' is not implemented.")


class PdistFn(Function):
    """The p-norm distances of the rows ``i < j`` of a 2-d input, row by row."""

    raw = True
    node_name = "PdistBackward0"
    saved_fields = {"p": lambda n: n.p, "result": 1, "self": 0}  # as PyTorch's

    @staticmethod
    def forward(ctx, x, p):
        ctx.p = float(p)
        i, j = _pairs(x.shape[0], x)
        xw = wide(x)
        with np.errstate(over="ignore", invalid="ignore"):
            r = _distances(xw[i] - xw[j], ctx.p).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, r)
        return r

    @staticmethod
    def backward(ctx, grad):
        x, r = ctx.saved_tensors
        i, j = _pairs(x.shape[0], x._data)
        xw = wide(x._data)
        p = ctx.p
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            diff, rw = xw[i] - xw[j], wide(r._data)
            s = _pair_slopes(diff, rw, p)
            s *= wide(grad._data)[:, None]
            if p != 1.0 and p != float("inf"):
                # PyTorch's kernel selects 0 for a pair at distance 0 (every pair at p = 0, an
                # element d == 0 at p < 1), so a NaN or inf gradient there gives 0, not 0 * inf
                # (p = 1 and inf multiply the sign: NaN, as here)
                skip = (rw == 0)[:, None] | (p == 0.0) | ((diff == 0) & (p < 1.0))
                s = np.where(skip, 0.0, s).astype(s.dtype, copy=False)
        out = _const(_rows(s, x.shape[0]).astype(x.dtype, copy=False))
        if ctx.create_graph and _tracked(out, (grad, x)):
            out = PdistBackwardBackward.apply(out, grad, x, op="_pdist_backward")
        return out, None

    @staticmethod
    def jvp(ctx, t, *_):
        x, r = ctx.saved_arrays
        i, j = _pairs(x.shape[0], x)
        xw, tw = wide(x), wide(t)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            s = _pair_slopes(xw[i] - xw[j], wide(r), ctx.p)
            return (s * (tw[i] - tw[j])).sum(-1).astype(x.dtype, copy=False)
