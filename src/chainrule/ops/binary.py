"""Elementwise functions of two tensors, with broadcasting and PyTorch type promotion.

Backward rules return gradients in the *broadcast* shape; the engine sums them back to
each input's shape, so no rule here handles broadcasting.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import elementwise
from ._util import as_tensor, promote, tsum


def _bcast_error(op: str, a: Any, b: Any, err: Exception) -> ValueError:
    sa = getattr(a, "shape", ())
    sb = getattr(b, "shape", ())
    return ValueError(
        f"{op}: shapes {tuple(sa)} and {tuple(sb)} cannot be broadcast together (sizes must be "
        f"equal or 1 in each trailing dimension)"
    )


class _Binary(Function):
    raw = True
    op_name = "binary op"

    @classmethod
    def call(cls, a: Any, b: Any) -> Tensor:
        a, b = promote(cls.op_name, a, b)
        try:
            return cls.apply(a, b)
        except ValueError as err:
            if "broadcast" in str(err):
                raise _bcast_error(cls.op_name, a, b, err) from None
            raise


class Add(_Binary):
    op_name = "add"

    @staticmethod
    def forward(ctx, a, b):
        return elementwise(np.add, a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad

    @staticmethod
    def jvp(ctx, ta, tb):
        return tsum(ta, tb)


class Sub(_Binary):
    op_name = "sub"

    @staticmethod
    def forward(ctx, a, b):
        return elementwise(np.subtract, a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)

    @staticmethod
    def jvp(ctx, ta, tb):
        return tsum(ta, None if tb is None else -tb)


class Mul(_Binary):
    op_name = "mul"

    @staticmethod
    def forward(ctx, a, b):
        # With a Python-scalar factor only that factor is needed (so x.mul_(3) on a
        # non-leaf does not invalidate its own saved input).
        if type(b) is float or type(b) is int:
            ctx.save_for_backward(None, b)
        elif type(a) is float or type(a) is int:
            ctx.save_for_backward(a, None)
        else:
            ctx.save_for_backward(a, b)
        return elementwise(np.multiply, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (grad * b if needs[0] else None), (grad * a if needs[1] else None)

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.primals
        return tsum(None if ta is None else ta * b, None if tb is None else a * tb)


class Div(_Binary):
    op_name = "div"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(None if type(b) is float or type(b) is int else a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ga = grad / b if needs[0] else None
        gb = (grad * a) / (b * b) * -1.0 if needs[1] else None
        return ga, gb

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.primals
        return tsum(None if ta is None else ta / b, None if tb is None else -tb * a / (b * b))


class Pow(_Binary):
    """a ** b; d/da = b a^(b-1), d/db = a^b log a (taken as 0 where a == 0)."""

    op_name = "pow"

    @staticmethod
    def forward(ctx, a, b):
        xp = get_array_module(a, b)
        if isinstance(b, (int, float)) and not isinstance(a, (int, float)):
            y = xp.power(a, b) if b != 2 else a * a
        else:
            y = xp.power(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ga = gb = None
        if needs[0]:
            # d/da = b a^(b-1), taken as 0 where b == 0 (even at a == 0), as PyTorch.
            if not isinstance(b, Tensor):
                bv = float(b)
                ga = grad * bv if bv == 1 else grad * 0.0 if bv == 0 else \
                    grad * (a ** (bv - 1) * bv)
            else:
                bzero = Tensor._make(b.data == 0, False, None, 0)
                ga = grad * b * where(bzero, 1.0, a) ** (b - 1)
        if needs[1]:
            a = as_tensor(a, y)
            safe = Tensor._make(a.data > 0, False, None, 0)
            la = log(where(safe, a, 1.0))
            gb = grad * y * la
        return ga, gb

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.primals
        y = ctx.out
        xp = get_array_module(y)
        out = None
        if ta is not None:
            out = ta * b * xp.power(xp.where(b == 0, 1, a), b - 1)
        if tb is not None:
            la = xp.log(xp.where(a > 0, a, 1.0))
            out = tsum(out, tb * y * la)
        return out


class Maximum(_Binary):
    """Elementwise max; on ties the gradient is split evenly (as PyTorch)."""

    op_name = "maximum"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return get_array_module(a, b).maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_by_mask(grad, a.data > b.data, a.data == b.data)

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.primals
        return _tangent_by_mask(ta, tb, a > b, a == b)


class Minimum(_Binary):
    op_name = "minimum"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return get_array_module(a, b).minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_by_mask(grad, a.data < b.data, a.data == b.data)

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.primals
        return _tangent_by_mask(ta, tb, a < b, a == b)


def _split_by_mask(grad, first, tie):
    dt = grad.dtype
    wa = Tensor._make(first.astype(dt) + tie.astype(dt) * 0.5, False, None, 0)
    wb = Tensor._make((~first & ~tie).astype(dt) + tie.astype(dt) * 0.5, False, None, 0)
    return grad * wa, grad * wb


def _tangent_by_mask(ta, tb, first, tie):
    wa = first + tie * 0.5
    wb = (~first & ~tie) + tie * 0.5
    return tsum(None if ta is None else ta * wa, None if tb is None else tb * wb)


class Where(Function):
    raw = True

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        return get_array_module(cond).where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        c = Tensor._make(ctx.cond, False, None, 0)
        needs = ctx.needs_input_grad
        return (None, where(c, grad, 0.0) if needs[1] else None,
                where(c, 0.0, grad) if needs[2] else None)

    @staticmethod
    def jvp(ctx, _, ta, tb):
        xp = get_array_module(ctx.cond)
        z = xp.zeros((), dtype=ctx.out.dtype)
        return xp.where(ctx.cond, z if ta is None else ta, z if tb is None else tb)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Elements of ``a`` where ``cond`` else of ``b`` (broadcast together)."""
    c = as_tensor(cond)
    if c.data.dtype.kind != "b":
        c = Tensor._make(c.data.astype(bool), False, None, 0)
    a, b = promote("where", a, b)
    if not isinstance(a, Tensor):
        a = as_tensor(a, b)
    if not isinstance(b, Tensor):
        b = as_tensor(b, a)
    try:
        return Where.apply(c, a, b)
    except ValueError as err:
        raise ValueError(
            f"where: condition {c.shape}, input {a.shape} and other {b.shape} cannot be "
            "broadcast together"
        ) from err


def add(a: Any, b: Any, alpha: Any = None) -> Tensor:
    return Add.call(a, b if alpha is None else mul(b, alpha))


def sub(a: Any, b: Any, alpha: Any = None) -> Tensor:
    return Sub.call(a, b if alpha is None else mul(b, alpha))


def mul(a: Any, b: Any) -> Tensor:
    return Mul.call(a, b)


def div(a: Any, b: Any, rounding_mode: str | None = None) -> Tensor:
    """True division (integers give the default float dtype, as in PyTorch)."""
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        q = _raw_binary(a, b, lambda x, y: get_array_module(x).trunc(x / y))
        return q
    if type(a) is Tensor and (type(b) is Tensor and a.data.dtype is b.data.dtype or
                              type(b) is float) and a.data.dtype.kind == "f":
        return Div.call(a, b)  # the common float case: no integer handling needed
    a, b = promote("div", a, b)
    from .. import dtypes
    from .unary import cast

    for i, v in enumerate((a, b)):
        if isinstance(v, Tensor) and v.data.dtype.kind not in "fc":
            v = cast(v, dtypes.get_default_dtype())
            a, b = (v, b) if i == 0 else (a, v)
    return Div.call(a, b)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        a = as_tensor(a, b)
    return Pow.call(a, b)


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum.call(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    return Minimum.call(a, b)


def log(x):
    from .unary import log as _log

    return _log(x)


def _raw_binary(a: Any, b: Any, fn) -> Tensor:
    """A non-differentiable elementwise op: the result is a constant tensor."""
    a, b = promote("op", a, b)
    ad = a.data if isinstance(a, Tensor) else a
    bd = b.data if isinstance(b, Tensor) else b
    return Tensor._make(get_array_module(ad, bd).asarray(fn(ad, bd)), False, None, 0)


def floor_divide(a: Any, b: Any) -> Tensor:
    """a // b (rounds toward minus infinity); not differentiable."""
    return _raw_binary(a, b, lambda x, y: x // y)


def remainder(a: Any, b: Any) -> Tensor:
    """Python-style modulus (sign of the divisor): a - floor(a / b) * b, differentiable."""
    if isinstance(a, Tensor) and a.requires_grad or isinstance(b, Tensor) and b.requires_grad:
        return sub(a, mul(floor_divide(a, b), b))
    return _raw_binary(a, b, lambda x, y: x % y)


def eq(a: Any, b: Any) -> Tensor:
    return _raw_binary(a, b, lambda x, y: x == y)


def ne(a: Any, b: Any) -> Tensor:
    return _raw_binary(a, b, lambda x, y: x != y)


def lt(a: Any, b: Any) -> Tensor:
    return _raw_binary(a, b, lambda x, y: x < y)


def le(a: Any, b: Any) -> Tensor:
    return _raw_binary(a, b, lambda x, y: x <= y)


def gt(a: Any, b: Any) -> Tensor:
    return _raw_binary(a, b, lambda x, y: x > y)


def ge(a: Any, b: Any) -> Tensor:
    return _raw_binary(a, b, lambda x, y: x >= y)


def logical_and(a: Any, b: Any) -> Tensor:
    return _raw_binary(a, b, lambda x, y: get_array_module(x).logical_and(x, y))


def logical_or(a: Any, b: Any) -> Tensor:
    return _raw_binary(a, b, lambda x, y: get_array_module(x).logical_or(x, y))


def logical_xor(a: Any, b: Any) -> Tensor:
    return _raw_binary(a, b, lambda x, y: get_array_module(x).logical_xor(x, y))


def logical_not(a: Any) -> Tensor:
    a = as_tensor(a)
    return Tensor._make(get_array_module(a.data).logical_not(a.data), False, None, 0)


def isnan(a: Any) -> Tensor:
    a = as_tensor(a)
    return Tensor._make(get_array_module(a.data).isnan(a.data), False, None, 0)


def isinf(a: Any) -> Tensor:
    a = as_tensor(a)
    return Tensor._make(get_array_module(a.data).isinf(a.data), False, None, 0)


def isfinite(a: Any) -> Tensor:
    a = as_tensor(a)
    return Tensor._make(get_array_module(a.data).isfinite(a.data), False, None, 0)


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    a, b = as_tensor(a), as_tensor(b)
    return bool(get_array_module(a.data).allclose(a.data, b.data, rtol=rtol, atol=atol,
                                                  equal_nan=equal_nan))


def equal(a: Any, b: Any) -> bool:
    a, b = as_tensor(a), as_tensor(b)
    return a.shape == b.shape and bool((a.data == b.data).all())
