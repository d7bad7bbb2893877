"""Running extremes and the running log-sum-exp along a dimension: ``cummax``, ``cummin``
and ``logcumsumexp``.

``cummax``/``cummin`` find the running arg-extreme with one vectorised step per position
(as PyTorch: a later equal value takes over the index, NaN propagates from its first
occurrence and each later NaN takes over the index), then gather the values, so the gradient
of each output goes to the element it came from.

``logcumsumexp`` is a primitive computed with ``logaddexp.accumulate`` (no overflow). Its
gradient ``dx_i = sum_{j >= i} g_j exp(x_i - y_j)`` is evaluated in log space with the
positive and negative parts of ``g`` kept apart (PyTorch's and TensorFlow's stable form), from
differentiable ops, so double backward works too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._result_layout import contiguous
from ._util import DtypeError, as_tensor, constant, int_dim
from .binary import where
from .binding import tensor_method
from .rearranging import flip
from .selected_values import selected_values

__all__ = ["cummax", "cummin", "logcumsumexp"]


def _running_arg(a: Any, d: int, largest: bool) -> Any:
    """Index (along ``d``) of the running maximum (or minimum) of array ``a``."""
    xp = get_array_module(a)
    moved = xp.moveaxis(a, d, -1)
    idx = xp.zeros(a.shape, np.int64)  # row-major whatever ``a`` is, as PyTorch's result
    idx_moved = xp.moveaxis(idx, d, -1)  # a view: filled along the last dim
    if moved.shape[-1] == 0 or moved.size == 0:
        return idx
    floats = moved.dtype.kind in "fc"
    best, at = moved[..., 0].copy(), xp.zeros(moved.shape[:-1], np.int64)
    for i in range(1, moved.shape[-1]):
        v = moved[..., i]
        take = v >= best if largest else v <= best
        if floats:
            take = take | xp.isnan(v)
        best = xp.where(take, v, best)
        at = xp.where(take, i, at)
        idx_moved[..., i] = at
    return idx


class RunningArg(Function):
    """:func:`_running_arg` as an op (integers, no gradient), so that ``cr.func.vmap`` runs
    it per sample."""

    raw = True

    @staticmethod
    def forward(ctx, x, d, largest):
        return _running_arg(x, d, largest)

    @staticmethod
    def backward(ctx, grad):
        return None, None, None


def _cum_extreme(op: str, input: Any, dim: int, largest: bool) -> Any:  # noqa: A002
    x = as_tensor(input)
    if x._data.dtype.kind == "c":
        raise RuntimeError(f"{op}(): complex tensors have no order (got {x.dtype})")
    d = int_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return getattr(return_types, op)(x.clone(), constant(np.zeros((), np.int64)))
    idx = RunningArg.apply(x.detach(), d, largest)
    return getattr(return_types, op)(selected_values(op, x, d, idx), idx)


@tensor_method(keywords=True)
def cummax(input: Any, dim: int) -> return_types.cummax:  # noqa: A002
    """(values, indices) of the running maximum along ``dim``; each value's gradient goes to
    the element it was taken from."""
    return _cum_extreme("cummax", input, dim, largest=True)


@tensor_method(keywords=True)
def cummin(input: Any, dim: int) -> return_types.cummin:  # noqa: A002
    """(values, indices) of the running minimum along ``dim``."""
    return _cum_extreme("cummin", input, dim, largest=False)


def _reverse_logcumsumexp(v: Tensor, d: int) -> Tensor:
    """out_i = log sum_{j >= i} exp(v_j) along ``d`` (differentiable)."""
    return flip(logcumsumexp(flip(v, d), d), d)


class LogCumSumExp(Function):
    raw = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        y = contiguous(get_array_module(x).logaddexp.accumulate(x, axis=dim))  # as PyTorch
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        d = ctx.dim
        g = grad._data
        lowest = float(np.finfo(x.dtype).min) / 2  # log(0), with room to add y and x
        pos, neg = constant(g > 0), constant(g < 0)
        log_abs = where(constant(g != 0), grad, 1.0).abs().log()
        out_pos = (_reverse_logcumsumexp(where(pos, log_abs, lowest) - y, d) + x).exp()
        out_neg = (_reverse_logcumsumexp(where(neg, log_abs, lowest) - y, d) + x).exp()
        return out_pos - out_neg, None

    @staticmethod
    def jvp(ctx, t, _):
        x, y, d = ctx.primals[0], ctx.out, ctx.dim
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            parts = []
            for part in (xp.where(t > 0, t, 0), xp.where(t < 0, -t, 0)):
                acc = xp.logaddexp.accumulate(xp.log(part) + x, axis=d)
                parts.append(xp.exp(acc - y))
        return (parts[0] - parts[1]).astype(x.dtype)


@tensor_method(keywords=True)
def logcumsumexp(input: Any, dim: int) -> Tensor:  # noqa: A002
    """y_j = log(exp(x_0) + ... + exp(x_j)) along ``dim``, without overflow.

    Raises:
        NotImplementedError: an integer, bool or complex input.
    """
    x = as_tensor(input)
    if x._data.dtype.kind != "f":
        raise DtypeError(
            f"logcumsumexp: not implemented for {x.dtype} input (floating point only); "
            "convert it with .float() first"
        )
    d = int_dim(dim, x.ndim, "logcumsumexp")
    if x.ndim == 0:
        return x.clone()
    return LogCumSumExp.apply(x, d)
