"""Running sums and products and finite differences along a dimension: ``cumsum``,
``cumprod`` and ``diff``.

``cumprod`` is a primitive (one NumPy pass); its gradient is the reverse running sum of
``g * y`` divided by ``x``, which needs no zero in ``x``. Where a slice holds a zero the
rule falls back to the exact formula ``dx_i = sum_{j >= i} g_j prod_{k <= j, k != i} x_k``
built from running products that skip ``x_i`` (quadratic in the slice length, as PyTorch's
fallback). ``diff`` is composed from slicing and subtraction.
"""

from __future__ import annotations

import cmath
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import given, given_dim  # grad_fn._saved_*
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._util import as_tensor, int_dim, norm_dim
from .binding import tensor_method
from .number_arguments import parser_int, refuse_dtype
from .product_gradients import cumprod_grad_loop, cumprod_grad_zeros, cumprod_tangent
from .shape import cat, flip, movedim

__all__ = ["cumprod", "cumsum", "diff", "ZeroDimScan"]


def _accumulate(xp: Any, ufunc: Any, x: Any, axis: int, dtype: Any = None) -> Any:
    """``xp.cumsum`` / ``xp.cumprod`` through the ufunc's ``accumulate``: NumPy's functions
    are Python-level wrappers, so their ``inf - inf`` warning came from NumPy's module and
    escaped the filter that hides NumPy's floating-point warnings raised in chainrule's
    modules (``torch.cumsum`` of ``[inf, -inf]`` is silent)."""
    if xp is np and x.ndim:
        return ufunc.accumulate(x, axis=axis, dtype=dtype)
    return (xp.cumsum if ufunc is np.add else xp.cumprod)(x, axis=axis, dtype=dtype)


# PyTorch's CPU scans accumulate in a wider type and round each output once: float16 in
# float32, float32 in float64, complex64 in complex128 (a float32 cumsum of 1e5 terms
# agrees with a float32 accumulation in 0.4% of its entries)
_ACC = {"e": np.float32, "f": np.float64, "F": np.complex128}


def _scan(xp: Any, ufunc: Any, x: Any, axis: int, dtype: Any = None) -> Any:
    """:func:`_accumulate` in PyTorch's accumulate type (``_ACC``), in C order."""
    acc = _ACC.get(x.dtype.char)
    if acc is not None:
        return _accumulate(xp, ufunc, x, axis, acc).astype(x.dtype, order="C")
    return xp.asarray(_accumulate(xp, ufunc, x, axis, dtype), order="C")  # C order (PyTorch)


def _skip_one_products(xp: Any, x: Any) -> Any:
    """R[..., i, j] = prod_{i < k <= j} x_k for j >= i, 0 for j < i; x of shape (..., n)."""
    n = x.shape[-1]
    ar = xp.arange(n)
    z = xp.where(ar[None, :] > ar[:, None], x[..., None, :], 1)  # (i, k): x_k where k > i
    return xp.cumprod(z, axis=-1) * (ar[None, :] >= ar[:, None])


class Cumprod(Function):
    raw = True
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py): the dim as given
        "dim": lambda n: given_dim(n, default=n.dim),
        "result": 1,
        "self": 0,
    }

    @staticmethod
    def forward(ctx, x, dim, dtype=None):
        """``dtype``: a floating dtype ``x`` is cast to first, in this node (PyTorch's one
        ``CumprodBackward0``, saving ``x`` as given); the gradient is cast back."""
        xp = get_array_module(x)
        ctx.dim, given_x = dim, x
        if dtype is not None:
            x = x.astype(dtype)
        dt = x.dtype if x.dtype.kind in "biu" else None  # int8..int32 keep their dtype
        if x.dtype.kind == "c" and x.ndim and x.size:
            # PyTorch's scan starts from 1 and multiplies the first element in: (1 + 0j) *
            # (-inf + 0j) is -inf + nanj (0 * inf); NumPy's starts from it (seed 987)
            first = (slice(None),) * dim + (0,)
            head = x[first]
            # a 1-d NumPy input's head is one scalar: cmath's check (~0.1 us), not a ufunc
            # and a reduction (~2 us)
            if not (cmath.isfinite(head) if xp is np and x.ndim == 1 else xp.isfinite(head).all()):
                x = x.copy()  # (the first element along dim only: the rest meet the product)
                x[first] *= x.dtype.type(1)
        if x.ndim == 0:  # a 0-d input is its own product (PyTorch's node all the same)
            y = x.copy()
        else:
            y = _scan(xp, np.multiply, x, dim, dt)  # float16/32, complex64: wider, rounded once
        ctx.save_for_backward(given_x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if x.dtype != y.dtype:  # cumprod(dtype=): in the result's dtype, cast back after
            gx = Cumprod.backward_in(x.to(y.dtype), y, grad, ctx.dim)
            return gx.to(x.dtype), None, None
        return Cumprod.backward_in(x, y, grad, ctx.dim), None, None

    @staticmethod
    def backward_in(x, y, grad, d):
        """The input's gradient, all of ``x``, ``y`` and ``grad`` in one dtype."""
        # y = x (and PyTorch's numel <= 1: an empty x too): the gradient itself, no
        # (g * y) / x, whose derivative would only be rounding
        if x.ndim == 0 or x.shape[d] == 1 or x._data.size <= 1:
            return grad
        if not bool((x._data == 0).any()):
            return _reverse_cumsum(grad * y, d) / x
        if x.dtype.kind == "f":  # PyTorch's two zero branches op for op (product_gradients)
            if is_grad_enabled():  # recorded: its O(n^2) loop, whose derivative is torch's
                return cumprod_grad_loop(x, grad, d)
            gx = cumprod_grad_zeros(x._data, y._data, grad._data, d)
            return Tensor._make(gx, False, None, 0)
        # Exact with zeros: move dim last, dx_i = sum_j g_j y_{i-1} R[i, j].
        xl, gl, yl = (movedim(t, d, -1) for t in (x, grad, y))
        n = xl.shape[-1]
        ones = Tensor._make(np.ones(xl.shape[:-1] + (1,), dtype=xl.dtype), False, None, 0)
        y_before = cat([ones, yl[..., : n - 1]], -1)  # y_{i-1}, with y_{-1} = 1
        r = _skip_products_tensor(xl)
        gx = y_before * (r * gl.unsqueeze(-2)).sum(-1)
        return movedim(gx, -1, d)

    @staticmethod
    def jvp(ctx, t, *_):
        x, y, d = ctx.primals[0], ctx.out, ctx.primals[1]
        if x.dtype != y.dtype:  # cumprod(dtype=): in the result's dtype
            x, t = x.astype(y.dtype), t.astype(y.dtype)
        xp = get_array_module(x)
        if x.dtype.kind == "f" and x.ndim:  # PyTorch's cumprod_jvp (product_gradients)
            return cumprod_tangent(x, t, y, d)
        if x.ndim == 0:  # PyTorch's 0-d cumprod_jvp: t / x * y, t where x is 0 (NaN at inf)
            with np.errstate(all="ignore"):
                return xp.where(x == 0, t, t / x * y)
        if not bool((x == 0).any()):
            return y * xp.cumsum(t / x, axis=d)
        xl, tl = xp.moveaxis(x, d, -1), xp.moveaxis(t, d, -1)
        yl = xp.moveaxis(y, d, -1)
        y_before = xp.concatenate([xp.ones(yl.shape[:-1] + (1,), yl.dtype), yl[..., :-1]], -1)
        r = _skip_one_products(xp, xl)  # (..., k, j)
        dy = ((tl * y_before)[..., :, None] * r).sum(-2)
        return xp.moveaxis(dy, -1, d)


def _reverse_cumsum(v: Tensor, d: int) -> Tensor:
    """out_i = sum_{j >= i} v_j along dim ``d`` (differentiable)."""
    return flip(flip(v, (d,)).cumsum(d), (d,))


def _skip_products_tensor(x: Tensor) -> Tensor:
    """Differentiable R[..., i, j] = prod_{i < k <= j} x_k for j >= i (0 for j < i), via
    cumprod of masked rows."""
    n = x.shape[-1]
    ar = get_array_module(x._data).arange(n)
    keep = Tensor._make(ar[None, :] > ar[:, None], False, None, 0)
    upper = Tensor._make((ar[None, :] >= ar[:, None]).astype(x.dtype), False, None, 0)
    return cumprod(x.unsqueeze(-2).where(keep, 1.0), -1) * upper


def _no_bool_accumulator(op: str, x: Tensor) -> None:
    """PyTorch has no bool running sum or product (``dtype=torch.bool``): NotImplementedError,
    except for a 0-d or empty tensor, which PyTorch answers without its kernel."""
    if x.dtype.kind == "b" and x.ndim and x._data.size:
        raise NotImplementedError(
            f"{op}: not implemented for dtype=torch.bool; accumulate in an integer dtype "
            "(the default, int64) and compare with 0 afterwards"
        )


@tensor_method(inplace=True, keywords=True)
def cumprod(input: Any, dim: int, dtype: Any = None) -> Tensor:  # noqa: A002
    """Running product along ``dim``: y_j = x_0 x_1 ... x_j (differentiable, zeros too)."""
    x = as_tensor(input)
    cast = None
    if dtype is not None:
        if _cast_in_node(x, dtype):  # one node, as PyTorch's (the cast inside it)
            cast = np.dtype(dtype)
        else:
            x = x.to(dtype)
            _no_bool_accumulator("cumprod", x)
    elif x.dtype.kind in "biu":
        x = x.to(np.int64)  # as PyTorch: integer and bool products accumulate in int64
    d = int_dim(dim, x.ndim, "cumprod")
    if x.ndim == 0 and x.dtype.kind not in "fc":
        x = x if cast is None else x.to(cast)
        return x.clone() if x.dtype.kind == "b" else x * 1  # bool * 1 would be int64
    out = Cumprod.apply(x, d) if cast is None else Cumprod.apply(x, d, dtype=cast)
    return given(out, dim=dim)  # grad_fn._saved_dim as given


def _cast_in_node(x: Tensor, dtype: Any) -> bool:
    """Whether a scan's ``dtype=`` cast of ``x`` is done inside its node (PyTorch's one
    ``CumprodBackward0`` / ``CumsumBackward0``): a real floating ``x`` to another real
    floating NumPy dtype (else a separate cast, whose gradient handles the rest); not
    under vmap (the batching rule reads the positional arguments only)."""
    if type(x).__name__ == "BatchedTensor":
        return False
    try:
        target = np.dtype(dtype)
    except TypeError:
        return False
    return x.dtype.kind == "f" and target.kind == "f" and target != x.dtype


@tensor_method(keywords=True)
def diff(
    input: Any,
    n: int = 1,
    dim: int = -1,
    prepend: Any = None,  # noqa: A002
    append: Any = None,
) -> Tensor:
    """n-th forward difference along ``dim``: out[i] = x[i + 1] - x[i], applied ``n`` times
    (after concatenating ``prepend`` / ``append`` along ``dim``)."""
    x = as_tensor(input)
    if x.ndim == 0:
        raise RuntimeError("diff: expected a tensor with at least one dimension, got a 0-d tensor")
    if type(n) is not int:
        n = parser_int("diff", "n", 2, n)
    if type(dim) is not int:
        dim = parser_int("diff", "dim", 3, dim)
    if n < 0:
        raise ValueError(f"diff: order n must be a non-negative integer, got {n!r}")
    d = norm_dim(dim, x.ndim, "diff")[0]
    parts = (
        [as_tensor(p, x) for p in (prepend,) if p is not None]
        + [x]
        + [as_tensor(a, x) for a in (append,) if a is not None]
    )
    for p in parts:
        if p.ndim != x.ndim or any(
            a != b for i, (a, b) in enumerate(zip(p.shape, x.shape)) if i != d
        ):
            raise RuntimeError(
                f"diff: expected prepend/append of shape {tuple(x.shape)} "
                f"except along dim {d} (same number of dims as input), got "
                f"{tuple(p.shape)}"
            )
    if len(parts) > 1:
        x = cat(parts, d)
    for _ in range(n):
        length = x.shape[d]
        if length == 0:
            break
        hi = (slice(None),) * d + (slice(1, None),)
        lo = (slice(None),) * d + (slice(0, length - 1),)
        x = x[hi] ^ x[lo] if x.dtype.kind == "b" else x[hi] - x[lo]
    return x


class ZeroDimScan(Function):
    """A running sum / maximum / log-sum-exp of a 0-d floating tensor: the element itself,
    recorded under PyTorch's node of the op (``CumsumBackward0``, ``CummaxBackward0``, ...;
    the gradient and tangent pass through), not as a copy (``MulBackward0`` /
    ``CloneBackward0``), so that ``grad_fn`` reads as PyTorch's."""

    raw = True
    complex_grad = True  # the identity is right for complex gradients too
    node_name = staticmethod(lambda node: node.scan_name)
    saved_fields = {"dim": lambda n: given_dim(n, default=0)}  # grad_fn._saved_dim as given

    @staticmethod
    def forward(ctx, x, name):
        ctx.scan_name = name
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad, None

    @staticmethod
    def jvp(ctx, t, _):
        return t


class Cumsum(Function):
    raw = True
    saved_fields = {"dim": lambda n: given_dim(n, default=n.dim)}  # grad_fn._saved_dim as given

    @staticmethod
    def forward(ctx, x, dim, dtype=None):
        """``dtype``: a floating dtype ``x`` is cast to first, in this node (PyTorch's one
        ``CumsumBackward0``); the gradient is cast back to ``x``'s dtype."""
        ctx.dim, ctx.in_dtype = dim, x.dtype
        xp = get_array_module(x)
        if dtype is not None:
            x = x.astype(dtype)
        dt = x.dtype if x.dtype.kind in "biu" else None  # int8..int32 keep their dtype
        return _scan(xp, np.add, x, dim, dt)  # float16/32, complex64: wider, rounded once

    @staticmethod
    def backward(ctx, grad):
        gx = flip(cumsum(flip(grad, (ctx.dim,)), ctx.dim), (ctx.dim,))
        return (gx if gx.dtype == ctx.in_dtype else gx.to(ctx.in_dtype)), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return _scan(get_array_module(t), np.add, t.astype(ctx.out.dtype, copy=False), ctx.dim)


@tensor_method(inplace=True, keywords=True)
def cumsum(input: Any, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sum along ``dim``; ``dtype``: cast ``input`` to it first (as PyTorch)."""
    input = as_tensor(input)
    cast = None
    if dtype is not None:
        refuse_dtype("cumsum", dtype)
        if _cast_in_node(input, dtype):  # one node, as PyTorch's (the cast inside it)
            cast = np.dtype(dtype)
        else:
            input = input.to(dtype)
            _no_bool_accumulator("cumsum", input)
    elif input.dtype.kind in "biu" and input.dtype != np.int64:
        input = input.to(np.int64)
    d = int_dim(dim, input.ndim, "cumsum")
    if input.ndim == 0:
        input = input if cast is None else input.to(cast)
        if input.dtype.kind in "fc":  # PyTorch's CumsumBackward0 (the element itself)
            return given(ZeroDimScan.apply(input, "CumsumBackward0"), dim=dim)
        return input.clone() if input.dtype.kind == "b" else input * 1  # bool * 1: int64
    out = Cumsum.apply(input, d) if cast is None else Cumsum.apply(input, d, dtype=cast)
    return given(out, dim=dim)  # grad_fn._saved_dim as given


def _bool_scan_in_place(op: str, fn: Any) -> Any:
    """``x.<op>_(dim, dtype=None)``: the scan written into x. In place, PyTorch scans in x's
    own dtype; for a bool x it has no kernel (NotImplementedError) except on a 0-d or empty
    x, which it leaves as it is (the out-of-place op accumulates in int64 instead)."""

    def scan(x: Any, dim: int, *args: Any, dtype: Any = None) -> Tensor:
        if isinstance(x, Tensor) and x.dtype.kind == "b" and not args and dtype is None:
            int_dim(dim, x.ndim, op)
            if x.ndim and x._data.size:
                raise NotImplementedError(f"\"{op}_out_cpu\" not implemented for 'Bool'")
            return x.detach().clone()
        return fn(x, dim, *args, dtype=dtype)

    scan.__name__ = op
    return scan


cumsum_in_place = _bool_scan_in_place("cumsum", cumsum)
cumprod_in_place = _bool_scan_in_place("cumprod", cumprod)
