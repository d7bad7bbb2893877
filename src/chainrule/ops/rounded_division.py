"""Division that rounds: ``floor_divide``, ``div(rounding_mode=...)``'s quotient, ``fmod``
and ``remainder``.

Integer division by zero raises :class:`IntegerDivisionByZero` (a ``ZeroDivisionError``, as
in PyTorch) where NumPy would return 0 with a warning. The rounded quotient is not
differentiable (its gradient is zero almost everywhere); ``fmod``/``remainder`` are, as
``a - q * b`` with the quotient ``q`` held constant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..float8 import refuse as _refuse_float8
from ._util import DtypeError, broadcast_error, check_broadcast, promote
from .binding import tensor_method
from .elementwise import BinaryElementwise
from .no_derivative import record_no_derivative

__all__ = ["floor_divide", "fmod", "remainder"]


class IntegerDivisionByZero(ZeroDivisionError, RuntimeError):
    """Integer division or modulus by zero. PyTorch raises ``RuntimeError('ZeroDivisionError')``;
    this is both, so ``except RuntimeError`` and ``except ZeroDivisionError`` each catch it."""


def _raw_pair(op: str, a: Any, b: Any) -> tuple:
    a, b = promote(op, a, b)
    if (a if isinstance(a, Tensor) else b)._data.dtype.kind == "b":  # both bool
        raise DtypeError(
            f"{op}: not implemented for bool operands (PyTorch has no bool kernel for it); "
            "convert with .long() or .float() first"
        )
    if (a if isinstance(a, Tensor) else b)._data.dtype.kind == "c":  # NumPy's raw TypeError
        raise DtypeError(
            f"{op}: not implemented for complex tensors (rounding a complex quotient is not "
            "defined; PyTorch has no complex kernel for it)"
        )
    check_broadcast(op, a, b)
    return (a._data if isinstance(a, Tensor) else a, b._data if isinstance(b, Tensor) else b)


def _check_int_zero(op: str, ad: Any, bd: Any) -> None:
    """Integer division by zero raises (PyTorch), where NumPy would return 0 with a warning."""
    xp = get_array_module(ad, bd)
    # an array as it is (under vmap a LogicalArray: its dtype and == are per-sample, while
    # asarray would convert it, which vmap refuses); a Python number through asarray
    b_arr = bd if hasattr(bd, "dtype") else xp.asarray(bd)
    a_int = (ad if hasattr(ad, "dtype") else xp.asarray(ad)).dtype.kind in "iub"
    if a_int and b_arr.dtype.kind in "iub" and bool((b_arr == 0).any()):
        raise IntegerDivisionByZero(
            f"{op}: integer division by zero (ZeroDivisionError); make "
            "one operand floating to get inf/nan instead"
        )


def _differentiated(*args: Any) -> bool:
    """Whether an operand requires grad or carries a forward-mode tangent (for
    ``cr.func.vmap``'s batched tensor: its physical tensor's, which carries the tangent)."""
    for a in args:
        while isinstance(a, Tensor):
            if a.requires_grad or a._fw_tangent is not None:
                return True
            a = getattr(a, "_value", None)  # a BatchedTensor's physical tensor, else None
    return False


def _unbool(a: Any, b: Any) -> Any:
    """A bool ``a`` beside a floating tensor ``b`` in ``b``'s dtype (``a - q * b`` would
    otherwise subtract from a bool tensor, which raises)."""
    if isinstance(a, Tensor) and a.dtype.kind == "b" and isinstance(b, Tensor):
        return a.to(b.dtype)
    return a


def _rounded_div(op: str, a: Any, b: Any, trunc: bool) -> Tensor:
    """Rounded quotient; not differentiable (zero gradient almost everywhere)."""
    ad, bd = _raw_pair(op, a, b)
    _check_int_zero(op, ad, bd)
    xp = get_array_module(ad, bd)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = xp.trunc(ad / bd) if trunc else ad // bd
    # the promoted tensor's dtype (a number beside it is weak: 2.5 / a bfloat16 tensor
    # stays bfloat16, where NumPy's result_type of the pair would say float32)
    dt = ad.dtype if hasattr(ad, "dtype") else bd.dtype
    q = _as_array(xp, q)
    if trunc and q.dtype != dt:
        q = q.astype(dt)
    return Tensor._make(q, False, None, 0)


@tensor_method(inplace=True, keywords=True)
def floor_divide(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """a // b (rounds toward minus infinity); not differentiable (a floating result of an
    input requiring grad is recorded, and backward through it raises, as PyTorch)."""
    _refuse_float8("div_floor_cpu", input, other)
    try:
        result = _rounded_div("floor_divide", input, other, trunc=False)
    except ValueError as err:
        if "broadcast" in str(err):
            raise broadcast_error("floor_divide", input, other) from None
        raise
    return record_no_derivative("floor_divide", result, input, other)


@tensor_method(inplace=True, keywords=True)
def fmod(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """C-style remainder (the sign of the dividend): a - trunc(a / b) * b, differentiable
    (d/da = 1, d/db = -trunc(a / b)), as ``torch.fmod``."""
    _refuse_float8("fmod_cpu", input, other)
    if _differentiated(input, other):
        if isinstance(input, Tensor):  # one node, as PyTorch's FmodBackward0 / 1
            return _one_node("fmod", _unbool(input, other), other, FmodTensor, FmodNumber)
        out = input - _rounded_div("fmod", input, other, trunc=True) * other
        return _exact_values(out, fmod, input, other)
    ad, bd = _raw_pair("fmod", input, other)
    _check_int_zero("fmod", ad, bd)
    return Tensor._make(_fmod_values(ad, bd), False, None, 0)


def _per_sample(r: Any) -> bool:
    """Whether ``r`` is ``cr.func.vmap``'s per-sample LogicalArray (its elementwise NumPy
    runs per sample; converting it to an array is refused)."""
    return getattr(type(r), "vmap_raw_array", False) and type(r) is not np.ndarray


def _as_array(xp: Any, r: Any) -> Any:
    """``r`` as an array: a NumPy scalar (a 0-d result) as a 0-d array, a per-sample
    LogicalArray as it is."""
    return r if _per_sample(r) else xp.asanyarray(r)


def _fmod_values(ad: Any, bd: Any) -> Any:
    xp = get_array_module(ad, bd)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _as_array(xp, xp.fmod(ad, bd))


def _exact_values(out: Tensor, op: Callable, a: Any, b: Any) -> Tensor:
    """``out``, the differentiable composite ``a - q * b``, holding the values the op gives
    unrecorded (PyTorch's, the same with or without a gradient): the composite rounds
    otherwise (``a - q * b`` is +0 where fmod and remainder give -0, e.g. at a = -2, b = 1)."""
    with no_grad():
        exact = op(
            a.detach() if isinstance(a, Tensor) else a, b.detach() if isinstance(b, Tensor) else b
        )
    if exact.shape == out.shape and exact.dtype == out.dtype:
        out._data[...] = exact._data
    return out


@tensor_method(inplace=True, keywords=True)
def remainder(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """Python-style modulus (sign of the divisor): a - floor(a / b) * b, differentiable."""
    _refuse_float8("remainder_cpu", input, other)
    if _differentiated(input, other):
        input = _unbool(input, other)
        if isinstance(input, Tensor):  # one node, as PyTorch's RemainderBackward0 / 1
            return _one_node("remainder", input, other, RemainderTensor, RemainderNumber)
        out = input - _rounded_div("remainder", input, other, trunc=False) * other
        return _exact_values(out, remainder, input, other)
    ad, bd = _raw_pair("remainder", input, other)
    _check_int_zero("remainder", ad, bd)
    return Tensor._make(_remainder_values(ad, bd), False, None, 0)


def _remainder_values(ad: Any, bd: Any) -> Any:
    xp = get_array_module(ad, bd)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = _as_array(xp, ad % bd)
        if r.dtype.kind == "f" and _per_sample(r):
            r = xp.where(r == 0, xp.copysign(r, ad), r)  # as below, without out= (vmap)
        elif r.dtype.kind == "f" and r.ndim:
            # PyTorch's remainder is fmod(a, b) moved by b where its sign differs from b's:
            # a zero keeps the dividend's sign (NumPy's takes the divisor's)
            xp.copysign(r, ad, out=r, where=r == 0)
        elif r.dtype.kind == "f" and r == 0:
            r = xp.asanyarray(xp.copysign(r, ad))
        return r


def _one_node(op: str, a: Tensor, b: Any, with_tensor: type, with_number: type) -> Tensor:
    """``fmod`` / ``remainder`` of a tensor recorded as one node (PyTorch's): the gradient
    is ``g`` for ``a`` and ``-g * q`` for a tensor ``b`` (``q`` the rounded quotient)."""
    ad, bd = _raw_pair(op, a, b)
    _check_int_zero(op, ad, bd)
    try:
        fn = with_tensor if isinstance(b, Tensor) else with_number
        return fn.apply(*promote(op, a, b))
    except ValueError as err:
        if "broadcast" in str(err):
            raise broadcast_error(op, a, b) from None
        raise


class _RoundedRemainder(BinaryElementwise):
    """``a - q * b`` with the rounded quotient ``q`` held constant: d/da 1, d/db -q."""

    saves_a = ""
    saves_b = "ab"
    trunc = True

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return 1

    @classmethod
    def derivative_b(cls, ctx, a, b, y):
        return -_rounded_div("fmod" if cls.trunc else "remainder", a, b, trunc=cls.trunc)


class FmodTensor(_RoundedRemainder):
    node_name = ("FmodBackward1", (0, 1))  # PyTorch's node for a tensor divisor
    saved_fields = {"other": 1, "self": 0}
    f = staticmethod(_fmod_values)


class FmodNumber(_RoundedRemainder):
    node_name = "FmodBackward0"  # PyTorch's node for a number divisor (saves nothing)
    saved_fields: dict = {}
    f = staticmethod(_fmod_values)


class RemainderTensor(_RoundedRemainder):
    node_name = ("RemainderBackward1", (0, 1))
    saved_fields = {"other": 1, "self": 0}
    f = staticmethod(_remainder_values)
    trunc = False


class RemainderNumber(_RoundedRemainder):
    node_name = "RemainderBackward0"
    saved_fields: dict = {}
    f = staticmethod(_remainder_values)
    trunc = False
