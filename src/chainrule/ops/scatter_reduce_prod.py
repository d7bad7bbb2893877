"""``scatter_reduce(reduce='prod')``'s derivatives: the product as ``r * exp(L - L0)`` (``L``
the scatter-sum of ``log|v|``), equal to the product near the input so that every derivative
order is right; with a zero among the inputs, PyTorch's first-order rule
(``scatter_reduce_backward``, :class:`_ProdZeros`) and no double backward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._util import constant
from .gather_scatter import Scatter, ScatterAdd, _full_index
from .scatter_reduce_value import _add_counts, _value

__all__: list[str] = []  # private helpers of scatter_reduce.py


class _ProdZeros(Function):
    """A ``prod`` reduction with a zero among its inputs, with PyTorch's first-order rule
    (``scatter_reduce_backward``): self's gradient is ``grad * r' / self'`` with self's zeros
    replaced by 1 (``r'`` the product with them so replaced), src's is
    ``grad * r / src`` where src is non-zero, the product of the others where it is the only
    zero in its group, and 0 where its group holds more zeros."""

    raw = True

    @staticmethod
    def forward(ctx, x, src, d, idx, include_self):
        ctx.args = (d, include_self)
        result = _value(x, d, idx, src, "prod", include_self)[0]
        ctx.save_for_backward(x, src, idx, result)  # result: our own copy (see below)
        return result.copy()  # the output may be modified in place; keep our own

    @staticmethod
    def backward(ctx, grad):
        xt, st, it, rt = ctx.saved_tensors
        x, src, idx, result = xt._data, st._data, it._data, rt._data
        saved = (xt, st)
        d, include_self = ctx.args
        g = grad._data
        cx, cs = _prod_coefficients(x, src, d, idx, include_self, result)
        gx = gs = None
        if ctx.needs_input_grad[0]:
            gx = _FirstOrderOnly.apply((g * cx).astype(x.dtype), grad, *saved)
        if ctx.needs_input_grad[1]:
            part = tuple(slice(0, n) for n in idx.shape)
            ga = get_array_module(src).zeros(src.shape, src.dtype)
            ga[part] = g[_full_index(idx, d)] * cs
            gs = _FirstOrderOnly.apply(ga, grad, *saved)
        return gx, gs, None, None, None

    @staticmethod
    def jvp(ctx, tx, ts, *_):
        x, src, idx, result = ctx.saved_arrays
        d, include_self = ctx.args
        cx, cs = _prod_coefficients(x, src, d, idx, include_self, result)
        xp = get_array_module(x)
        out = xp.zeros(x.shape, x.dtype) if tx is None else tx * cx
        if ts is not None:
            xp.add.at(out, _full_index(idx, d), ts[tuple(slice(0, n) for n in idx.shape)] * cs)
        return out


def _prod_coefficients(x: Any, src: Any, d: int, idx: Any, include_self: bool, r: Any) -> tuple:
    """d result / d self (x's shape) and d result[index] / d src (the index's shape) of a
    ``prod`` reduction, zeros handled as PyTorch's ``scatter_reduce_backward``."""
    xp = get_array_module(x)
    full = _full_index(idx, d)
    part = tuple(slice(0, n) for n in idx.shape)
    masked_self = xp.where(x == 0, 1, x).astype(x.dtype)
    cx = _value(masked_self, d, idx, src, "prod", include_self)[0] / masked_self
    if not include_self:
        written = xp.zeros(x.shape, bool)
        written[full] = True
        cx = xp.where(written, 0, cx)
    s = src[part]
    zero = s == 0
    zeros_at = xp.zeros(x.shape, np.int64)
    _add_counts(zeros_at, full, zero)
    single = zero & (zeros_at[full] == 1)
    masked_src = src.copy()
    masked_src[part] = xp.where(single, 1, s)
    r_src = _value(x, d, idx, masked_src, "prod", include_self)[0]
    cs = xp.where(single, r_src[full], r[full] / xp.where(zero, 1, s))
    return cx, cs


class _FirstOrderOnly(Function):
    """A gradient computed as plain arrays: linked to the upstream gradient and to self and
    src, so that a double backward through it raises instead of silently returning zero."""

    raw = True

    @staticmethod
    def forward(ctx, value, *inputs):
        return value

    @staticmethod
    def backward(ctx, _):
        raise NotImplementedError(
            "scatter_reduce: the double backward of reduce='prod' when self or src contains "
            "a zero is not implemented in chainrule"
        )


def _prod(x: Tensor, d: int, idx: Tensor, s: Tensor, r: Any, include_self: bool) -> Tensor:
    """``r`` as ``r * exp(L - L0)``, ``L`` the scatter-sum of ``log|v|`` (see module doc)."""
    if (x._data == 0).any() or (s._data == 0).any():
        # x.clone(): the node saves its self, which scatter_reduce_ then overwrites
        return _ProdZeros.apply(x.clone(), s, d, idx, include_self)
    log_self = x.clone().abs().log()  # a private copy: scatter_reduce_ overwrites x
    if not include_self:
        log_self = Scatter.apply(log_self, d, idx, 0.0)
    total = ScatterAdd.apply(log_self, d, idx, s.abs().log())
    return constant(r) * (total - constant(total._data.copy())).exp()
