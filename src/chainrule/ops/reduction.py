"""Reductions over dimensions: sum, mean, prod, norm, all/any.

max/min, amax/amin and argmax/argmin (no identity, gradient to the extremes) are in
``extremes.py``; var/std/logsumexp (reductions with a numerically careful rule) in
``statistics.py``, cumsum with the other running operations in ``cumulative.py``.

``dim`` may be None (all elements), an int or a sequence; ``keepdim`` keeps reduced
dimensions with size 1, as in PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._layout import expanded, is_vmap_batched
from ..autograd.function import Function
from ..autograd.saved_fields import given, given_dim, given_dims  # grad_fn._saved_*
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..autograd.view_base import record_view
from ..backend import get_array_module
from ..float8 import refuse as _refuse_float8
from ..meta.array import MetaArray
from ..meta.results import meta_result
from ._first_order import grad_array, grad_view
from ._result_layout import contiguous, in_elementwise_layout, reduced_layout
from ._ufunc_reduce import add_reduce, multiply_reduce
from ._util import DtypeError, as_tensor, int_dim, norm_dim, reduction_axes
from .binding import numpy_keywords, tensor_method
from .complex_norms import complex_norm
from .dim_arguments import dim_type_error
from .norm_order import norm_order, refuse_norm_keepdim
from .number_arguments import parser_bool, refuse_dtype
from .product_gradients import prod_safe_zeros, prod_tangent
from .shape import broadcast_to, reshape
from .sparse_nodense import NoDenseData
from .vector_norms import Norm1, Norm2, NormInf, NormNegInf, NormZero, PNorm, keepdim_shape

__all__ = [
    "all",
    "any",
    "count_nonzero",
    "mean",
    "norm",
    "prod",
    "sum",
]


class Sum(Function):
    @staticmethod
    def node_name(ctx):  # PyTorch: SumBackward0 for a full sum, SumBackward1 with dim
        return "SumBackward0" if getattr(ctx, "axes", None) is None else "SumBackward1"

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_* as PyTorch's SumBackward0 / 1 (saved_fields.py)
        out = {"self_sym_sizes": lambda n: tuple(n.in_shape)}
        if node.axes is not None:
            out.update(dim=lambda n: given_dims(n, n.axes), keepdim=lambda n: n.keepdim)
        return out

    raw = True
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape = x.shape
        ctx.axes, ctx.keepdim = axes, keepdim
        dt = x.dtype
        if dt == np.float16 or dt.kind == "V":  # halves, bfloat16: accumulate in float32
            out = add_reduce(x, axis=axes, keepdims=keepdim, dtype=np.float32)
            return get_array_module(out).asarray(out, dt, order="C")  # C order, as PyTorch
        # integers and bools sum in their own dtype (NumPy would widen int8..int32 and bool to
        # int64, uint8 to uint64): ``sum(dtype=torch.int8)`` wraps around as PyTorch's does
        out = add_reduce(x, axis=axes, keepdims=keepdim, dtype=dt if dt.kind in "biu" else None)
        if keepdim and not x.flags.c_contiguous:  # (the kept dims' strides too: PyTorch's)
            return reduced_layout(out)
        # a transposed input's sum keeps its order in NumPy; PyTorch's result is contiguous
        return out if out.flags.c_contiguous else get_array_module(out).ascontiguousarray(out)

    @staticmethod
    def backward(ctx, grad):
        d = grad_view(ctx, grad)  # first order, plain (_first_order.py), any dtype
        if d is not None:
            out = _expanded_grad(grad, d, ctx.in_shape, ctx.axes)
            if out is not None:
                return out, None, None
        g = grad
        if g.ndim and g.ndim != len(ctx.in_shape):  # dims were dropped: put them back as 1s
            g = reshape(grad, keepdim_shape(ctx.in_shape, ctx.axes))
        return broadcast_to(g, ctx.in_shape), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        if t.dtype == np.float16 or t.dtype.kind == "V":  # in float32, rounded once
            return t.sum(axis=ctx.primals[1], keepdims=ctx.primals[2], dtype=np.float32).astype(
                t.dtype
            )
        return t.sum(axis=ctx.primals[1], keepdims=ctx.primals[2])


def _expanded_grad(grad: Tensor, d: Any, in_shape: tuple, axes: tuple | None) -> Tensor | None:
    """First order: the view of ``grad`` that ``Sum.backward``'s ``reshape`` and
    ``broadcast_to`` make (the same array, sharing ``grad``'s version counter, its base
    recorded: a hook sees a read-only expanded view, and writing into it raises the same
    overlap error), without their two nodes (8x8 sum forward + backward -2.3 us, thread_time,
    min of 9 x 2000, under load). None where ``broadcast_to`` would make a same-shape view
    (its own rules). ``d``: ``grad``'s array."""
    if d.ndim and d.ndim != len(in_shape):
        d = d.reshape(keepdim_shape(in_shape, axes))  # (new size-1 dims: a view, never a copy)
    if d.shape == in_shape:
        return None
    view = Tensor._make(expanded(d, in_shape), False, None, 0)
    view._vc = grad._vc
    record_view(view, grad, is_grad_enabled())
    return view


@tensor_method(keywords=True)
def sum(input: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A001
    input = as_tensor(input)
    if type(input) is not Tensor and type(input._data) is NoDenseData:  # torch.sum(sparse)
        return input.sum(dim, keepdim, dtype=dtype)  # the layout's own sum (its method)
    if dtype is not None:
        refuse_dtype("sum", dtype, input, dim)
        input = input.to(dtype)
    elif input.dtype.kind in "biu" and input.dtype != np.int64:
        input = input.to(np.int64)  # PyTorch sums integers (unsigned too) and bools in int64
    if type(keepdim) is not bool:
        parser_bool("sum", "keepdim", 3, keepdim)
    out = Sum.apply(input, reduction_axes(dim, input, "sum"), keepdim)
    return given(out, dim=dim)  # grad_fn._saved_dim as given


def _count(shape: tuple, axes: tuple | None) -> int:
    if axes is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axes)


@tensor_method(keywords=True)
def mean(input: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    input = as_tensor(input)
    if dtype is not None:
        refuse_dtype("mean", dtype, input, dim)
        input = input.to(dtype)
    if input.dtype.kind not in "fcV":  # (V: bfloat16)
        raise DtypeError(
            f"mean: input dtype must be floating point, got {input.dtype}; call .float() first"
        )
    if type(keepdim) is not bool:
        parser_bool("mean", "keepdim", 3, keepdim)
    out = Mean.apply(input, reduction_axes(dim, input, "mean"), keepdim)
    return given(out, dim=dim)  # grad_fn._saved_dim as given


class Mean(Function):
    """The sum over ``axes`` divided by the count (PyTorch divides: 1/n would round first in
    float32); an empty reduction gives NaN. One node, as PyTorch's ``MeanBackward0/1``
    (composed as a sum and a division it was two: twice the per-op overhead)."""

    @staticmethod
    def node_name(ctx):  # PyTorch: MeanBackward0 for a full mean, MeanBackward1 with dim
        return "MeanBackward0" if getattr(ctx, "axes", None) is None else "MeanBackward1"

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_* as PyTorch's MeanBackward0 / 1 (saved_fields.py)
        out = Sum.saved_fields(node)
        out["self_sym_numel"] = lambda n: math.prod(n.in_shape)
        return out

    raw = True
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        ctx.count = n = _count(x.shape, axes)
        xp = get_array_module(x)
        dt = x.dtype
        if dt == np.float16 or dt.kind == "V":  # float16, bfloat16: float32 sum, one rounding
            total = xp.asarray(add_reduce(x, axis=axes, keepdims=keepdim, dtype=np.float32))
            with np.errstate(invalid="ignore"):
                out = total / n if n else total * float("nan")
            return xp.asarray(out, dt, order="C")  # (a half sum would overflow at 65504)
        total = xp.asarray(Sum.forward(ctx, x, axes, keepdim))
        out = xp.asarray(total / n if n else total * float("nan"))  # n == 0: NaN, as PyTorch
        return out.astype(total.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        n = ctx.count
        g = grad_array(ctx, grad) if n else None  # first order, plain (_first_order.py)
        shape = ctx.in_shape
        if g is not None:
            if type(g) is np.ndarray and g.shape != shape:
                # PyTorch's MeanBackward: sum_backward(grad) / n, a new tensor (not Sum's
                # expanded view): writable in a hook, taken as a leaf's .grad without a copy
                # (version 0; the copy .grad needed moves here), laid out as the division
                # of the expanded gradient (Div's forward: the same NumPy division)
                if g.ndim and g.ndim != len(shape):
                    g = g.reshape(keepdim_shape(shape, ctx.axes))
                ge = expanded(g, shape)
                q = in_elementwise_layout(ge / n, ge, n)
                return Tensor._make(q, False, None, 0), None, None
            # first order: ``grad / n`` as Div's forward computes it (the same NumPy division
            # and result layout), without recording it (8x8 mean forward + backward -1.5 us,
            # thread_time, min of 9 x 2000, under load); Sum.backward then expands it
            q = g / n
            q = in_elementwise_layout(q, g, n) if q.ndim > 1 else np.asarray(q)
            return Sum.backward(ctx, Tensor._make(q, False, None, 0))
        if grad.shape != shape:  # expand, then divide (PyTorch's order: a new tensor)
            return Sum.backward(ctx, grad)[0] / n, None, None
        return Sum.backward(ctx, grad / n)  # divide the small gradient, then expand

    @staticmethod
    def jvp(ctx, t, *_):
        n = ctx.count
        if t.dtype == np.float16 or t.dtype.kind == "V":  # in float32, rounded once
            total = t.sum(axis=ctx.primals[1], keepdims=ctx.primals[2], dtype=np.float32)
            return get_array_module(t).asarray(total / n if n else total * float("nan"), t.dtype)
        total = t.sum(axis=ctx.primals[1], keepdims=ctx.primals[2])
        return total / n if n else total * float("nan")


_ALL_DIMS: Any = object()  # prod's dim not given (all elements); None is refused, as PyTorch


def _prod_others(xd, axis):
    """Product of all *other* elements along ``axis`` (None: all), exact with zeros.

    Built from exclusive cumulative products from both sides, so no division by x.
    """
    xp = get_array_module(xd)
    shape = xd.shape
    if xd.size == 0:  # nothing to multiply (an empty reduction): an empty array
        return xp.ones_like(xd)
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
    # PyTorch: ProdBackward0 for a full product, ProdBackward1 with dim (a 0-d input's
    # dim, reduced as a full product here, is kept as ``dim_given``)
    node_name = staticmethod(
        lambda node: (
            "ProdBackward0"
            if node.axis is None and not getattr(node, "dim_given", False)
            else "ProdBackward1"
        )
    )

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_* as PyTorch's ProdBackward0 / 1 (saved_fields.py)
        out = {"result": 1, "self": 0}
        if node.name() == "ProdBackward1":  # the dim as given (-1 as 2**64 - 1)
            out["dim"] = lambda n: given_dim(n, default=n.axis)
            out["keepdim"] = lambda n: n.keepdim
        return out

    @staticmethod
    def forward(ctx, x, axis, keepdim, dim_given=False):
        dt = x.dtype if x.dtype.kind in "biu" else None
        y = multiply_reduce(x, axis=axis, keepdims=keepdim, dtype=dt)
        y = y if y.flags.c_contiguous else get_array_module(y).ascontiguousarray(y)  # PyTorch
        if keepdim and not x.flags.c_contiguous:  # (the kept dim's stride too)
            y = reduced_layout(y)
        ctx.save_for_backward(x, y)
        ctx.axis, ctx.keepdim, ctx.dim_given = axis, keepdim, dim_given
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if x.ndim == 0:  # PyTorch: the gradient itself (not g * y / x: NaN at +-inf)
            return grad, None, None
        shape = keepdim_shape(x.shape, None if ctx.axis is None else (ctx.axis,))
        g = reshape(grad, shape)
        yk = reshape(y, shape)
        zeros = bool((x._data == 0).any())  # (how many: only for a full product's rule)
        recorded = is_grad_enabled() and x.requires_grad  # create_graph: differentiated
        if not zeros:  # (PyTorch's g * (y / x) when differentiated: its NaNs at +-inf)
            return (g * (yk / x) if recorded and x.dtype.kind != "c" else g * yk / x), None, None
        if recorded:  # PyTorch's prod_safe_zeros_backward op for op (of the flattened input
            # for a full product), so that its derivative is torch's at +-inf too
            if ctx.axis is None:
                return reshape(prod_safe_zeros(g, reshape(x, (-1,)), 0), x.shape), None, None
            return prod_safe_zeros(g, x, ctx.axis), None, None
        if ctx.axis is None and int((x._data == 0).sum()) > 1:  # PyTorch's, outside grad
            # mode: zeros, even where an inf makes the product of the others 0 * inf (NaN)
            xp = get_array_module(x._data)
            return Tensor._make(xp.zeros(x.shape, x.dtype), False, None, 0), None, None
        # with zeros, y / x is undefined: the product of all *other* elements (raw arrays)
        others = Tensor._make(_prod_others(x._data, ctx.axis), False, None, 0)
        return g * others, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        if x.dtype.kind == "f" and x.ndim:  # PyTorch's rule (product_gradients)
            return prod_tangent(x, t, ctx.out, ctx.axis, ctx.keepdim)
        return (t * _prod_others(x, ctx.axis)).sum(axis=ctx.axis, keepdims=ctx.keepdim)


@tensor_method(keywords=True)
def prod(input: Any, dim: int = _ALL_DIMS, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Product over ``dim`` (all elements when not given); ``dtype``: cast ``input`` to it
    first. An explicit ``dim=None`` is a TypeError, as PyTorch's parser (its ``dim`` overload
    takes an int)."""
    if dim is None:
        raise dim_type_error(dim) or TypeError(  # PyTorch's text, as the call reads
            "prod(): argument 'dim' (position 2) must be int, not NoneType"
            if keepdim is not False
            else "prod() received an invalid combination of arguments - got (Tensor, NoneType), "
            "but expected one of:\n * (Tensor input, *, torch.dtype dtype = None)\n * (Tensor "
            "input, int dim, bool keepdim = False, *, torch.dtype dtype = None, Tensor out = None)"
            "\n"
        )
    dim = None if dim is _ALL_DIMS else dim
    input = as_tensor(input)
    if dtype is not None:
        refuse_dtype("prod", dtype, input, dim)
        input = input.to(dtype)
    elif input.dtype.kind in "biu" and input.dtype != np.int64:
        input = input.to(np.int64)  # as PyTorch (NumPy would give uint64 for unsigned ints)
    axis = None if dim is None else int_dim(dim, input.ndim, "prod")
    if input.ndim == 0 and axis is not None:  # a full product, named as one with dim
        return given(Prod.apply(input, None, keepdim, dim_given=True), dim=dim)  # _saved_dim
    out = Prod.apply(input, axis, keepdim)
    return out if dim is None else given(out, dim=dim)  # grad_fn._saved_dim as given


@numpy_keywords(keywords="out")  # x.norm() is bound in ops/__init__.py (no out=)
def norm(
    input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); p in {2, 'fro', 1, inf, float},
    or ``'nuc'``, the nuclear norm of the matrices over the two dims ``dim`` (all the dims,
    which must then be two, by default).

    ``dtype``: compute in (and return) that floating dtype, at least as wide as the input's.
    """
    if type(keepdim) is not bool:
        refuse_norm_keepdim(p, dim, keepdim, dtype)  # PyTorch's TypeError (None included)
    input = as_tensor(input)
    if p == "nuc":  # the nuclear norm of a matrix: linalg.matrix_norm over dim (all dims)
        from ..linalg.norms import matrix_norm  # in here: linalg imports ops

        dims = tuple(range(input.ndim)) if dim is None else dim
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        return matrix_norm(input, "nuc", dim=dims, keepdim=keepdim, dtype=dtype)
    if dtype is not None and input.dtype.kind in "fcV":  # V: bfloat16
        target = np.dtype(dtype)
        if target.kind not in "fcV" or not np.can_cast(input.dtype, target, "safe"):
            raise RuntimeError(
                f"norm: the dtype of the input ({input.dtype}) should be convertible without "
                f"narrowing to the specified floating dtype ({target})"
            )
        input = input.to(target)
    kind = input.dtype.kind
    if kind not in "fcV":  # checked before dim, as PyTorch (F.normalize of an int vector)
        raise DtypeError(
            f"norm: expected a floating point or complex tensor as input, got "
            f"{input.dtype}; call .float() first"
        )
    axes = reduction_axes(dim, input, "norm")
    # grad_fn._saved_ord as PyTorch's: 'fro' as 2, None as 2.0, else as given
    shown = 2 if p == "fro" else 2.0 if p is None else p
    if kind == "V":  # bfloat16: computed in float32, rounded once (PyTorch)
        if p in ("fro", 2, 2.0, None):  # one node, float32 inside (native_bfloat16)
            return given(Norm2.apply(input, axes, keepdim), dim=dim, ord=shown)
        return norm(input.float(), p, dim, keepdim).to(input.dtype)
    if kind == "c":  # a real norm of |z| (of the (re, im) pairs for p = 2)
        q = 2 if p in ("fro", 2, 2.0, None) else p
        return complex_norm(input, q, axes, keepdim, lambda r, pr, ax, kd: norm(r, pr, ax, kd))
    if p in ("fro", 2, 2.0, None):
        return given(Norm2.apply(input, axes, keepdim), dim=dim, ord=shown)  # _saved_*
    if p == 1:  # one LinalgVectorNormBackward0, as PyTorch's
        return given(Norm1.apply(input, axes, keepdim), dim=dim, ord=shown)
    if p in (float("inf"), "inf", float("-inf"), "-inf"):
        # (``0 in ...``: this module's own ``any`` op shadows the builtin)
        if input.numel() == 0 if axes is None else 0 in [input.shape[a] for a in axes]:
            raise RuntimeError(
                f"norm: cannot compute the {p} norm on an empty tensor because "
                "the operation does not have an identity"
            )
        # (amax/amin whose tangent lets a NaN or inf anywhere in the slice through, as
        # PyTorch's norm)
        cls = NormInf if p in (float("inf"), "inf") else NormNegInf
        return given(cls.apply(input, axes, keepdim), dim=dim, ord=shown)
    if isinstance(p, (int, float)) and not isinstance(p, bool) and p == 0:
        return NormZero.apply(input, axes, keepdim)
    if isinstance(p, (int, float)) and not isinstance(p, bool) and p > 0:
        return given(PNorm.apply(input, float(p), axes, keepdim), dim=dim, ord=shown)
    if isinstance(p, (int, float)) and not isinstance(p, bool) and p < 0:
        # (sum |x|^p)^(1/p), PyTorch's linalg.vector_norm: 0 where an entry is 0
        if input.numel() == 0 if axes is None else 0 in [input.shape[a] for a in axes]:
            raise RuntimeError(
                f"norm: cannot compute the {p} norm on an empty tensor because "
                "the operation does not have an identity"
            )
        return given(PNorm.apply(input, float(p), axes, keepdim), dim=dim, ord=shown)
    q = norm_order(p)  # a NumPy number, a 0-d tensor as its number; else torch's error
    if q is p:  # a plain real number none of the above takes: NaN, as PyTorch's pow-sum
        return given(PNorm.apply(input, float(p), axes, keepdim), dim=dim, ord=shown)
    return norm(input, q, dim, keepdim)


@tensor_method(keywords=True)
def all(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether every element over ``dim`` is non-zero: bool, or uint8 for a uint8 input
    (PyTorch keeps that dtype, from before bool tensors existed)."""
    input = as_tensor(input)
    axes = reduction_axes(dim, input, "all", empty_is_all=False)
    out = input._data.all(axis=axes, keepdims=keepdim)
    if isinstance(out, np.generic):  # a full reduction: NumPy's read-only scalar, as an array
        out = np.asarray(out)
    if input.dtype == np.uint8:
        out = out.astype(np.uint8)
    if keepdim and type(out) is np.ndarray and not input._data.flags.c_contiguous:
        return Tensor._make(reduced_layout(out), False, None, 0)  # (the kept dims' strides)
    return Tensor._make(contiguous(out), False, None, 0)


@tensor_method(keywords=True)
def any(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Whether any element over ``dim`` is non-zero: bool, or uint8 for a uint8 input
    (PyTorch keeps that dtype, from before bool tensors existed)."""
    input = as_tensor(input)
    axes = reduction_axes(dim, input, "any", empty_is_all=False)
    out = input._data.any(axis=axes, keepdims=keepdim)
    if isinstance(out, np.generic):  # a full reduction: NumPy's read-only scalar, as an array
        out = np.asarray(out)
    if input.dtype == np.uint8:
        out = out.astype(np.uint8)
    if keepdim and type(out) is np.ndarray and not input._data.flags.c_contiguous:
        return Tensor._make(reduced_layout(out), False, None, 0)  # (the kept dims' strides)
    return Tensor._make(contiguous(out), False, None, 0)


@tensor_method(keywords="axis")  # axis= (function and method), no out= (PyTorch)
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """The number of non-zero elements over ``dim`` (all by default), as int64."""
    _refuse_float8("nonzero_count_cpu", input)
    if is_vmap_batched(input._data):  # cr.func.vmap: once per sample
        from ..func._per_sample import per_sample  # noqa: PLC0415 - func imports the ops

        return per_sample(count_nonzero, input, dim)
    xp = get_array_module(input._data)
    empty = isinstance(dim, (tuple, list)) and len(dim) == 0  # every dim, as PyTorch
    axes = None if empty else norm_dim(dim, input.ndim, "count_nonzero")
    if input.ndim == 0:  # dim 0 (or -1) of a 0-d tensor is the tensor itself
        axes = None
    if type(input._data) is MetaArray:  # no values to count: the counts' shape (meta)
        return meta_result(np.shape(xp.count_nonzero(input._data, axis=axes)), np.int64)
    return Tensor._make(
        contiguous(xp.asarray(xp.count_nonzero(input._data, axis=axes), dtype="int64")),
        False,
        None,
        0,
    )
