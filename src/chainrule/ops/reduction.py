"""Reductions over dimensions: sum, mean, prod, max/min, argmax/argmin, norm, all/any.

var/std/logsumexp (reductions with a numerically careful rule) are in ``statistics.py``,
cumsum with the other running operations in ``cumulative.py``.

``dim`` may be None (all elements), an int or a sequence; ``keepdim`` keeps reduced
dimensions with size 1, as in PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import return_types
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._result_layout import contiguous
from ._util import DtypeError, as_tensor, int_dim, norm_dim, refuse_complex_order
from .binding import numpy_keywords, tensor_method
from .complex_norms import complex_norm
from .cumulative import cumprod
from .shape import broadcast_to, cat, flip, reshape
from .vector_norms import Norm2, NormZero, PNorm, keepdim_shape

__all__ = [
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "count_nonzero",
    "max",
    "mean",
    "min",
    "norm",
    "prod",
    "sum",
]


def _axes(dim: Any, x: Tensor, op: str, empty_is_all: bool = True) -> tuple | None:
    """``norm_dim`` for reductions; a 0-d tensor accepts dim 0 / -1 and reduces nothing.

    An empty ``dim`` list reduces every dim, as PyTorch's sum/mean/amax/var/norm do (guided
    diffusion's ``mean_flat``: ``tensor.mean(dim=list(range(1, len(tensor.shape))))`` of a
    1-d tensor); ``all``/``any`` pass ``empty_is_all=False``: PyTorch's reduce nothing."""
    if empty_is_all and isinstance(dim, (tuple, list)) and len(dim) == 0:
        return tuple(range(x.ndim))
    axes = norm_dim(dim, x.ndim, op)
    return () if axes is not None and x.ndim == 0 else axes


class Sum(Function):
    @staticmethod
    def node_name(ctx):  # PyTorch: SumBackward0 for a full sum, SumBackward1 with dim
        return "SumBackward0" if getattr(ctx, "axes", None) is None else "SumBackward1"

    raw = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape = x.shape
        ctx.axes = axes
        if x.dtype == np.float16:  # accumulate halves in float32, as PyTorch does
            return x.sum(axis=axes, keepdims=keepdim, dtype=np.float32).astype(np.float16)
        out = x.sum(axis=axes, keepdims=keepdim)
        # a transposed input's sum keeps its order in NumPy; PyTorch's result is contiguous
        return out if out.flags.c_contiguous else get_array_module(out).ascontiguousarray(out)

    @staticmethod
    def backward(ctx, grad):
        g = grad
        if g.ndim and g.ndim != len(ctx.in_shape):  # dims were dropped: put them back as 1s
            g = reshape(grad, keepdim_shape(ctx.in_shape, ctx.axes))
        return broadcast_to(g, ctx.in_shape), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return t.sum(axis=ctx.primals[1], keepdims=ctx.primals[2])


@tensor_method(keywords=True)
def sum(input: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A001
    input = as_tensor(input)
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "biu" and input.dtype != np.int64:
        input = input.to(np.int64)  # PyTorch sums integers (unsigned too) and bools in int64
    return Sum.apply(input, _axes(dim, input, "sum"), keepdim)


def _count(shape: tuple, axes: tuple | None) -> int:
    if axes is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axes)


@tensor_method(keywords=True)
def mean(input: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    input = as_tensor(input)
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype.kind == "V":  # bfloat16: float32 accumulation, rounded once (PyTorch)
        return mean(input.float(), dim, keepdim).to(input.dtype)
    if input.dtype.kind not in "fc":
        raise DtypeError(
            f"mean: input dtype must be floating point, got {input.dtype}; call .float() first"
        )
    if input.dtype == np.float16:  # float32 accumulation: a half sum overflows at 65504
        return mean(input.to(np.float32), dim, keepdim).to(np.float16)
    return Mean.apply(input, _axes(dim, input, "mean"), keepdim)


class Mean(Function):
    """The sum over ``axes`` divided by the count (PyTorch divides: 1/n would round first in
    float32); an empty reduction gives NaN. One node, as PyTorch's ``MeanBackward0/1``
    (composed as a sum and a division it was two: twice the per-op overhead)."""

    @staticmethod
    def node_name(ctx):  # PyTorch: MeanBackward0 for a full mean, MeanBackward1 with dim
        return "MeanBackward0" if getattr(ctx, "axes", None) is None else "MeanBackward1"

    raw = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape, ctx.axes = x.shape, axes
        ctx.count = n = _count(x.shape, axes)
        xp = get_array_module(x)
        total = xp.asarray(Sum.forward(ctx, x, axes, keepdim))
        out = xp.asarray(total / n if n else total * float("nan"))  # n == 0: NaN, as PyTorch
        return out.astype(total.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return Sum.backward(ctx, grad / ctx.count)  # divide the small gradient, then expand

    @staticmethod
    def jvp(ctx, t, *_):
        n = ctx.count
        total = t.sum(axis=ctx.primals[1], keepdims=ctx.primals[2])
        return total / n if n else total * float("nan")


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


def _prod_others_recorded(x: Tensor, axis: int | None) -> Tensor:
    """:func:`_prod_others` as differentiable Tensor ops: exclusive running products from
    both sides (``cumprod``'s backward is exact with zeros), so double backward works."""
    flat = reshape(x, (-1,)) if axis is None else x
    a = 0 if axis is None else axis
    n = flat.shape[a]
    ones = Tensor._make(
        get_array_module(x._data).ones_like(flat.narrow(a, 0, 1)._data), False, None, 0
    )
    if n == 1:  # no other elements: a constant 1, as PyTorch (no second derivative)
        return reshape(ones, x.shape)
    left = cat([ones, cumprod(flat, a).narrow(a, 0, n - 1)], a)
    right = flip(cat([ones, cumprod(flip(flat, [a]), a).narrow(a, 0, n - 1)], a), [a])
    return reshape(left * right, x.shape)


class Prod(Function):
    raw = True

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        y = x.prod(axis=axis, keepdims=keepdim)
        y = y if y.flags.c_contiguous else get_array_module(y).ascontiguousarray(y)  # PyTorch
        ctx.save_for_backward(x, y)
        ctx.axis, ctx.keepdim = axis, keepdim
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        shape = keepdim_shape(x.shape, None if ctx.axis is None else (ctx.axis,))
        g = reshape(grad, shape)
        yk = reshape(y, shape)
        if not (x._data == 0).any():
            return g * yk / x, None, None
        # With zeros, y/x is undefined: use the product of all *other* elements, on raw
        # arrays, or, when this backward is itself recorded (create_graph=True), as Tensor
        # ops whose own derivative is exact with zeros too.
        from ..autograd.grad_mode import is_grad_enabled

        if is_grad_enabled() and x.requires_grad:
            return g * _prod_others_recorded(x, ctx.axis), None, None
        others = Tensor._make(_prod_others(x._data, ctx.axis), False, None, 0)
        return g * others, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        return (t * _prod_others(x, ctx.axis)).sum(axis=ctx.axis, keepdims=ctx.keepdim)


@tensor_method(keywords=True)
def prod(input: Any, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Product over ``dim`` (all elements by default); ``dtype``: cast ``input`` to it first."""
    input = as_tensor(input)
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "biu" and input.dtype != np.int64:
        input = input.to(np.int64)  # as PyTorch (NumPy would give uint64 for unsigned ints)
    axis = None if dim is None else int_dim(dim, input.ndim, "prod")
    if input.ndim == 0:
        axis = None
    return Prod.apply(input, axis, keepdim)


def _extreme_mask(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Where ``x`` attains its reduced extreme ``y``. A NaN propagates to ``y``, and the
    NaNs that produced it take the gradient (as torch.max() does), instead of a 0/0 that
    would make the whole slice's gradient NaN; the NaN test runs on the small ``y`` first."""
    mask = x == y
    if y.dtype.kind == "f" and np.isnan(y).any():
        mask |= np.isnan(x) & np.isnan(y)
    return mask


def _tie_shares(mask: np.ndarray, axes: Any, dtype: Any) -> np.ndarray:
    """Each extreme's share of its slice's gradient, in ``dtype``: 1 where the extreme is
    unique, 1/k among k ties. Built in the gradient's dtype (not ``mask / count``, a float64
    array and a cast: at 1000x1000 float32 the backward went 3.4 -> 1.4 ms)."""
    w = mask.astype(dtype)
    count = mask.sum(axis=axes, keepdims=True)
    if count.size and count.max() > 1:
        get_array_module(w).divide(w, count.astype(dtype), out=w)
    return w


class Amax(Function):
    """max over dims; the gradient is shared evenly among tied maxima (as torch.amax)."""

    @staticmethod
    def node_name(ctx):  # PyTorch: x.max() MaxBackward1, amax(x, dim) AmaxBackward0
        mode = getattr(ctx.fn, "mode", "max")  # (a bfloat16 cast node may carry this name)
        if getattr(ctx, "axes", None) is None:
            return f"{mode.capitalize()}Backward1"
        return f"A{mode}Backward0"

    raw = True
    mode = "max"

    @classmethod
    def forward(cls, ctx, x, axes, keepdim):
        y = contiguous(  # PyTorch's result is row-major whatever the input's layout
            x.max(axis=axes, keepdims=True)
            if cls.mode == "max"
            else x.min(axis=axes, keepdims=True)
        )
        ctx.save_for_backward(x, y)  # y is (the base of) the output: version-checked
        ctx.axes, ctx.keepdim = axes, keepdim
        return (
            y
            if keepdim
            else y.reshape([s for i, s in enumerate(y.shape) if not (axes is None or i in axes)])
        )

    @staticmethod
    def backward(ctx, grad):
        x, yk = ctx.saved_tensors
        w = _tie_shares(_extreme_mask(x._data, yk._data), ctx.axes, grad.dtype)
        g = reshape(grad, yk.shape)
        return g * Tensor._make(w, False, None, 0), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x, yk = ctx.saved_arrays
        w = _tie_shares(_extreme_mask(x, yk), ctx.axes, t.dtype)
        return (t * w).sum(axis=ctx.axes, keepdims=ctx.keepdim)


class Amin(Amax):
    mode = "min"


def _lenient_axes(dim: Any, ndim: int) -> tuple | None:
    """The valid axes in ``dim`` (bad ones are reported later by norm_dim): PyTorch checks
    for a size-0 reduction dim before it checks for repeated dims."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return None
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    return tuple(
        {int(d) % ndim for d in dims if isinstance(d, (int, np.integer)) and -ndim <= d < ndim}
    )


def _check_nonempty(op: str, x: Tensor, axes) -> None:
    """max/min-like reductions have no identity: refuse to reduce over a size-0 dim."""
    if axes is None and x._data.size == 0:
        err = IndexError if op.startswith("arg") else RuntimeError
        raise err(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0 "
            f"(got a tensor of shape {tuple(x.shape)}); specify the reduction dim with "
            "the 'dim' argument"
        )
    for a in axes or ():
        if x.shape[a] == 0:
            raise IndexError(
                f"{op}(): Expected reduction dim {a} to have non-zero size (got "
                f"a tensor of shape {tuple(x.shape)})"
            )


@tensor_method(keywords=True)
def amax(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    input = as_tensor(input)
    refuse_complex_order("amax", input, error=NotImplementedError)
    _check_nonempty("amax", input, _lenient_axes(dim, input.ndim))
    axes = _axes(dim, input, "amax")
    _check_nonempty("amax", input, axes)
    return Amax.apply(input, axes, keepdim)


@tensor_method(keywords=True)
def amin(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:
    input = as_tensor(input)
    refuse_complex_order("amin", input, error=NotImplementedError)
    _check_nonempty("amin", input, _lenient_axes(dim, input.ndim))
    axes = _axes(dim, input, "amin")
    _check_nonempty("amin", input, axes)
    return Amin.apply(input, axes, keepdim)


def _max_min(op: str, x: Any, dim: Any, keepdim: bool, other: Any):
    from .binary import maximum, minimum

    if isinstance(dim, Tensor) and other is None:
        other, dim = dim, None
    if other is not None:
        return maximum(x, other) if op == "max" else minimum(x, other)
    x = as_tensor(x)
    if x._data.dtype.kind == "c":  # NumPy would order complex numbers lexicographically
        raise TypeError(
            f"{op}: complex tensors are not supported by {op} (complex numbers have no order)"
        )
    if dim is None:
        return amax(x) if op == "max" else amin(x)
    from .gather_scatter import gather

    d = int_dim(dim, x.ndim, op)
    result = return_types.max if op == "max" else return_types.min
    if x.ndim == 0:
        zero = Tensor._make(np.zeros((), np.int64), False, None, 0)
        return result(x * 1, zero)
    _check_nonempty(op, x, (d,))
    xp = get_array_module(x._data)
    idx = (xp.argmax if op == "max" else xp.argmin)(x._data, axis=d)
    idx_k = xp.expand_dims(idx, d)
    values = gather(x, d, Tensor._make(idx_k, False, None, 0))
    if not keepdim:
        values = reshape(values, idx.shape)
        return result(values, Tensor._make(idx, False, None, 0))
    return result(values, Tensor._make(idx_k, False, None, 0))


@tensor_method(keywords=True)
def max(input: Any, dim: Any = None, keepdim: bool = False, other: Any = None):  # noqa: A001
    """``max(x)`` -> the largest value; ``max(x, dim)`` -> (values, indices);
    ``max(x, other)`` -> elementwise maximum."""
    return _max_min("max", input, dim, keepdim, other)


@tensor_method(keywords=True)
def min(input: Any, dim: Any = None, keepdim: bool = False, other: Any = None):  # noqa: A001
    return _max_min("min", input, dim, keepdim, other)


def _arg_reduce(op: str, x: Any, dim: int | None, keepdim: bool) -> Tensor:
    x = as_tensor(x)
    refuse_complex_order(op, x)
    xp = get_array_module(x._data)
    fn = xp.argmax if op == "argmax" else xp.argmin
    if dim is None:
        _check_nonempty(op, x, None)
        idx = xp.asarray(fn(x._data), dtype=np.int64)
        return Tensor._make(idx.reshape((1,) * x.ndim) if keepdim else idx, False, None, 0)
    d = int_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return Tensor._make(xp.zeros((), np.int64), False, None, 0)
    _check_nonempty(op, x, (d,))
    return Tensor._make(fn(x._data, axis=d, keepdims=keepdim).astype(np.int64), False, None, 0)


@tensor_method(keywords=True)
def argmax(input: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (first among ties), over all elements or along ``dim``."""
    return _arg_reduce("argmax", input, dim, keepdim)


@tensor_method(keywords=True)
def argmin(input: Any, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest value (first among ties), over all elements or along ``dim``."""
    return _arg_reduce("argmin", input, dim, keepdim)


@tensor_method(keywords=True)
def norm(
    input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); p in {2, 'fro', 1, inf, float},
    or ``'nuc'``, the nuclear norm of the matrices over the two dims ``dim`` (all the dims,
    which must then be two, by default).

    ``dtype``: compute in (and return) that floating dtype, at least as wide as the input's.
    """
    input = as_tensor(input)
    if p == "nuc":  # the nuclear norm of a matrix: linalg.matrix_norm over dim (all dims)
        from ..linalg.norms import matrix_norm  # in here: linalg imports ops

        dims = tuple(range(input.ndim)) if dim is None else dim
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        return matrix_norm(input, "nuc", dim=dims, keepdim=keepdim, dtype=dtype)
    if dtype is not None and input.dtype.kind in "fc":
        target = np.dtype(dtype)
        if target.kind not in "fc" or not np.can_cast(input.dtype, target, "safe"):
            raise RuntimeError(
                f"norm: the dtype of the input ({input.dtype}) should be convertible without "
                f"narrowing to the specified floating dtype ({target})"
            )
        input = input.to(target)
    axes = _axes(dim, input, "norm")
    kind = input.dtype.kind
    if kind == "V":  # bfloat16: computed in float32, rounded once (PyTorch)
        return norm(input.float(), p, dim, keepdim).to(input.dtype)
    if kind != "f":
        if kind == "c":  # a real norm of |z| (of the (re, im) pairs for p = 2)
            q = 2 if p in ("fro", 2, 2.0, None) else p
            return complex_norm(input, q, axes, keepdim, lambda r, pr, ax, kd: norm(r, pr, ax, kd))
        raise DtypeError(
            f"norm: expected a floating point or complex tensor as input, got "
            f"{input.dtype}; call .float() first"
        )
    if p in ("fro", 2, 2.0, None):
        return Norm2.apply(input, axes, keepdim)
    if p == 1:
        return sum(input.abs(), axes, keepdim)
    if p in (float("inf"), "inf", float("-inf"), "-inf"):
        # (``0 in ...``: this module's own ``any`` op shadows the builtin)
        if input.numel() == 0 if axes is None else 0 in [input.shape[a] for a in axes]:
            raise RuntimeError(
                f"norm: cannot compute the {p} norm on an empty tensor because "
                "the operation does not have an identity"
            )
        return (
            amax(input.abs(), axes, keepdim)
            if p in (float("inf"), "inf")
            else amin(input.abs(), axes, keepdim)
        )
    if isinstance(p, (int, float)) and not isinstance(p, bool) and p == 0:
        return NormZero.apply(input, axes, keepdim)
    if isinstance(p, (int, float)) and not isinstance(p, bool) and p > 0:
        return PNorm.apply(input, float(p), axes, keepdim)
    raise ValueError(f"norm: unsupported p={p!r}; use 'fro', a non-negative number or inf")


@tensor_method(keywords=True)
def all(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether every element over ``dim`` is non-zero: bool, or uint8 for a uint8 input
    (PyTorch keeps that dtype, from before bool tensors existed)."""
    input = as_tensor(input)
    out = input._data.all(axis=_axes(dim, input, "all", empty_is_all=False), keepdims=keepdim)
    if input.dtype == np.uint8:
        out = out.astype(np.uint8)
    return Tensor._make(contiguous(out), False, None, 0)


@tensor_method(keywords=True)
def any(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether any element over ``dim`` is non-zero: bool, or uint8 for a uint8 input
    (PyTorch keeps that dtype, from before bool tensors existed)."""
    input = as_tensor(input)
    out = input._data.any(axis=_axes(dim, input, "any", empty_is_all=False), keepdims=keepdim)
    if input.dtype == np.uint8:
        out = out.astype(np.uint8)
    return Tensor._make(contiguous(out), False, None, 0)


@numpy_keywords  # the method x.count_nonzero() is bound in ops/__init__.py (no keywords)
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """The number of non-zero elements over ``dim`` (all by default), as int64."""
    xp = get_array_module(input._data)
    empty = isinstance(dim, (tuple, list)) and len(dim) == 0  # every dim, as PyTorch
    axes = None if empty else norm_dim(dim, input.ndim, "count_nonzero")
    if input.ndim == 0:  # dim 0 (or -1) of a 0-d tensor is the tensor itself
        axes = None
    return Tensor._make(
        contiguous(xp.asarray(xp.count_nonzero(input._data, axis=axes), dtype="int64")),
        False,
        None,
        0,
    )
