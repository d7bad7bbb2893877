"""Reductions over dimensions: sum, mean, prod, max/min, var/std, logsumexp, norm, cumsum.

``dim`` may be None (all elements), an int or a sequence; ``keepdim`` keeps reduced
dimensions with size 1, as in PyTorch.
"""
from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._util import as_tensor, norm_dim
from .shape import broadcast_to, reshape

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _keepdim_shape(in_shape: tuple, axes: tuple | None) -> tuple:
    if axes is None:
        return (1,) * len(in_shape)
    return tuple(1 if i in axes else s for i, s in enumerate(in_shape))


class Sum(Function):
    raw = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape = x.shape
        ctx.axes = axes
        return x.sum(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        g = grad
        if g.ndim and g.ndim != len(ctx.in_shape):  # dims were dropped: put them back as 1s
            g = reshape(grad, _keepdim_shape(ctx.in_shape, ctx.axes))
        return broadcast_to(g, ctx.in_shape), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return t.sum(axis=ctx.primals[1], keepdims=ctx.primals[2])


def sum(x: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A001
    x = as_tensor(x)
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "bi" and x.dtype.itemsize < 8 or x.dtype.kind == "b":
        x = x.to(np.int64)  # PyTorch sums integers and bools in int64
    return Sum.apply(x, norm_dim(dim, x.ndim, "sum"), keepdim)


def _count(shape: tuple, axes: tuple | None) -> int:
    if axes is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axes)


def mean(x: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    x = as_tensor(x)
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind not in "fc":
        raise TypeError(f"mean: input dtype must be floating point, got {x.dtype}; "
                        "call .float() first")
    axes = norm_dim(dim, x.ndim, "mean")
    n = _count(x.shape, axes)
    return Sum.apply(x, axes, keepdim) * (1.0 / n if n else float("nan"))


def _prod_others(xd, axis):
    """Product of all *other* elements along ``axis`` (None: all), exact with zeros.

    Built from exclusive cumulative products from both sides, so no division by x.
    """
    xp = get_array_module(xd)
    shape = xd.shape
    if axis is None:
        xd = xd.reshape(-1)
    a = 0 if axis is None else axis
    n = xd.shape[a]
    ones = xp.ones_like(xp.take(xd, [0], axis=a))
    left = xp.take(xp.concatenate([ones, xp.cumprod(xd, axis=a)], axis=a), range(n), axis=a)
    right = xp.concatenate([ones, xp.cumprod(xp.flip(xd, axis=a), axis=a)], axis=a)
    right = xp.flip(xp.take(right, range(n), axis=a), axis=a)
    return (left * right).reshape(shape)


class Prod(Function):
    raw = True

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        y = x.prod(axis=axis, keepdims=keepdim)
        ctx.save_for_backward(x, y)
        ctx.axis, ctx.keepdim = axis, keepdim
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        shape = _keepdim_shape(x.shape, None if ctx.axis is None else (ctx.axis,))
        g = reshape(grad, shape)
        yk = reshape(y, shape)
        if not (x.data == 0).any():
            return g * yk / x, None, None
        # With zeros, y/x is undefined: use the product of all *other* elements. That product
        # is computed on raw arrays (first-order only), so refuse to record it as a graph.
        from ..autograd.grad_mode import is_grad_enabled

        if is_grad_enabled() and x.requires_grad:
            raise RuntimeError(
                f"prod: double backward (create_graph=True) through a product whose input "
                f"(shape {tuple(x.shape)}) contains zeros is not supported; the first-order "
                "gradient is exact"
            )
        others = Tensor._make(_prod_others(x.data, ctx.axis), False, None, 0)
        return g * others, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        return (t * _prod_others(x, ctx.axis)).sum(axis=ctx.axis, keepdims=ctx.keepdim)


def prod(x: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    x = as_tensor(x)
    axis = None if dim is None else norm_dim(dim, x.ndim, "prod")[0]
    return Prod.apply(x, axis, keepdim)


class Amax(Function):
    """max over dims; the gradient is shared evenly among tied maxima (as torch.amax)."""

    raw = True
    mode = "max"

    @classmethod
    def forward(cls, ctx, x, axes, keepdim):
        y = x.max(axis=axes, keepdims=True) if cls.mode == "max" else \
            x.min(axis=axes, keepdims=True)
        ctx.save_for_backward(x)
        ctx.yk = y
        ctx.axes, ctx.keepdim = axes, keepdim
        return y if keepdim else y.reshape([s for i, s in enumerate(y.shape)
                                            if not (axes is None or i in axes)])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        mask = (x.data == ctx.yk)
        w = mask / mask.sum(axis=ctx.axes, keepdims=True)
        g = reshape(grad, ctx.yk.shape)
        return g * Tensor._make(w.astype(grad.dtype), False, None, 0), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        mask = x == ctx.yk
        w = mask / mask.sum(axis=ctx.axes, keepdims=True)
        return (t * w).sum(axis=ctx.axes, keepdims=ctx.keepdim)


class Amin(Amax):
    mode = "min"


def _check_nonempty(op: str, x: Tensor, axes) -> None:
    if x.data.size == 0:
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")


def amax(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    x = as_tensor(x)
    axes = norm_dim(dim, x.ndim, "amax")
    _check_nonempty("amax", x, axes)
    return Amax.apply(x, axes, keepdim)


def amin(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    x = as_tensor(x)
    axes = norm_dim(dim, x.ndim, "amin")
    _check_nonempty("amin", x, axes)
    return Amin.apply(x, axes, keepdim)


def _max_min(op: str, x: Any, dim: Any, keepdim: bool, other: Any):
    from .binary import maximum, minimum

    if isinstance(dim, Tensor) and other is None:
        other, dim = dim, None
    if other is not None:
        return maximum(x, other) if op == "max" else minimum(x, other)
    x = as_tensor(x)
    if dim is None:
        return amax(x) if op == "max" else amin(x)
    from .indexing import gather

    d = norm_dim(dim, x.ndim, op)[0]
    _check_nonempty(op, x, (d,))
    xp = get_array_module(x.data)
    idx = (xp.argmax if op == "max" else xp.argmin)(x.data, axis=d)
    idx_k = xp.expand_dims(idx, d)
    values = gather(x, d, Tensor._make(idx_k, False, None, 0))
    if not keepdim:
        values = reshape(values, idx.shape)
        return ValuesIndices(values, Tensor._make(idx, False, None, 0))
    return ValuesIndices(values, Tensor._make(idx_k, False, None, 0))


def max(x: Any, dim: Any = None, keepdim: bool = False, other: Any = None):  # noqa: A001
    """``max(x)`` -> the largest value; ``max(x, dim)`` -> (values, indices);
    ``max(x, other)`` -> elementwise maximum."""
    return _max_min("max", x, dim, keepdim, other)


def min(x: Any, dim: Any = None, keepdim: bool = False, other: Any = None):  # noqa: A001
    return _max_min("min", x, dim, keepdim, other)


def argmax(x: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    x = as_tensor(x)
    xp = get_array_module(x.data)
    if dim is None:
        return Tensor._make(xp.asarray(xp.argmax(x.data)), False, None, 0)
    d = norm_dim(dim, x.ndim, "argmax")[0]
    return Tensor._make(xp.argmax(x.data, axis=d, keepdims=keepdim), False, None, 0)


def argmin(x: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    x = as_tensor(x)
    xp = get_array_module(x.data)
    if dim is None:
        return Tensor._make(xp.asarray(xp.argmin(x.data)), False, None, 0)
    d = norm_dim(dim, x.ndim, "argmin")[0]
    return Tensor._make(xp.argmin(x.data, axis=d, keepdims=keepdim), False, None, 0)


def var(x: Any, dim: Any = None, unbiased: Any = None, keepdim: bool = False,
        correction: Any = None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), as PyTorch."""
    x = as_tensor(x)
    if correction is None:
        correction = 1 if unbiased is None or unbiased is True else 0
    axes = norm_dim(dim, x.ndim, "var")
    n = _count(x.shape, axes)
    m = mean(x, axes, keepdim=True)
    d = x - m
    return sum(d * d, axes, keepdim) / builtins_max(n - correction, 0)


def builtins_max(a, b):
    return a if a > b else b


def std(x: Any, dim: Any = None, unbiased: Any = None, keepdim: bool = False,
        correction: Any = None) -> Tensor:
    return var(x, dim, unbiased, keepdim, correction).sqrt()


def logsumexp(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m = max(x): never overflows."""
    x = as_tensor(x)
    axes = norm_dim(dim, x.ndim, "logsumexp")
    xp = get_array_module(x.data)
    m = x.data.max(axis=axes, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    mt = Tensor._make(m, False, None, 0)
    out = sum((x - mt).exp(), axes, keepdim=True).log() + mt
    if not keepdim:
        out = reshape(out, tuple(s for i, s in enumerate(out.shape)
                                 if not (axes is None or i in axes)))
    return out


class Norm2(Function):
    """Euclidean norm sqrt(sum x^2); gradient x / ||x||, defined as 0 at x = 0 (as PyTorch)."""

    raw = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        xp = get_array_module(x)
        yk = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        y = yk if keepdim else yk.reshape([s for i, s in enumerate(yk.shape)
                                           if not (axes is None or i in axes)])
        # Save the *output* (not the keepdim temporary) so double backward sees y(x).
        ctx.save_for_backward(x, y)
        ctx.axes, ctx.keepdim, ctx.kshape = axes, keepdim, yk.shape
        return y

    @staticmethod
    def backward(ctx, grad):
        from .binary import where

        x, y = ctx.saved_tensors
        yk = reshape(y, ctx.kshape)
        zero = Tensor._make(yk.data == 0, False, None, 0)
        safe = where(zero, 1.0, yk)
        g = reshape(grad, ctx.kshape)
        return where(zero, 0.0, g / safe) * x, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        xp = get_array_module(x)
        yk = ctx.out.reshape(ctx.kshape)
        safe = xp.where(yk == 0, 1, yk)
        return (x * t / safe).sum(axis=ctx.axes, keepdims=ctx.keepdim)


def norm(x: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); p in {2, 'fro', 1, inf, float}."""
    x = as_tensor(x)
    axes = norm_dim(dim, x.ndim, "norm")
    if p in ("fro", 2, 2.0, None):
        return Norm2.apply(x, axes, keepdim)
    if p == 1:
        return sum(x.abs(), axes, keepdim)
    if p in (float("inf"), "inf"):
        return amax(x.abs(), axes, keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(x.abs(), axes, keepdim)
    if isinstance(p, (int, float)) and p > 0:
        return sum(x.abs() ** p, axes, keepdim) ** (1.0 / p)
    raise ValueError(f"norm: unsupported p={p!r}; use 'fro', a positive number or inf")


class Cumsum(Function):
    raw = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return get_array_module(x).cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        from .shape import flip

        return flip(cumsum(flip(grad, ctx.dim), ctx.dim), ctx.dim), None

    @staticmethod
    def jvp(ctx, t, _):
        return get_array_module(t).cumsum(t, axis=ctx.dim)


def cumsum(x: Any, dim: int) -> Tensor:
    x = as_tensor(x)
    if x.dtype.kind in "bi" and x.dtype.itemsize < 8 or x.dtype.kind == "b":
        x = x.to(np.int64)
    return Cumsum.apply(x, norm_dim(dim, x.ndim, "cumsum")[0])


def all(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    x = as_tensor(x)
    return Tensor._make(x.data.all(axis=norm_dim(dim, x.ndim, "all"), keepdims=keepdim),
                        False, None, 0)


def any(x: Any, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    x = as_tensor(x)
    return Tensor._make(x.data.any(axis=norm_dim(dim, x.ndim, "any"), keepdims=keepdim),
                        False, None, 0)
