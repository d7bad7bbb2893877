"""A Tensor's Python operators against NumPy arrays, as PyTorch's Tensor has them.

PyTorch's Tensor operators do not take an ``ndarray`` operand: ``t + a``, ``t * a``,
``t < a`` ... return ``NotImplemented``, so Python asks the array. The array's reflected
operator (``a.__radd__(t)``) computes with NumPy (``t`` converted by ``__array__``, so a
tensor that requires grad refuses) and gives back a tensor through ``__array_wrap__``, with
NumPy's dtype promotion (``float32 tensor * float64 array`` is float64). The other way round
the array's operator defers to the tensor (``__array_priority__``), which declines again, so
``a + t``, ``a * t``, ``a @ t``, ``a < t`` raise TypeError. ``t += a`` cannot run in place
and rebinds ``t`` to a new tensor. The exceptions, as in PyTorch: ``==`` compares
elementwise both ways; ``!=`` is Python's identity comparison (``True``), and ``a / t`` is
``t.reciprocal() * a`` (PyTorch's ``__rtruediv__``), so it works like ``t * a``. ``@``
takes tensors only: a number, a NumPy scalar or a list is a TypeError too.

NumPy scalars (``np.float64(2) * t``) are numbers, not arrays: they keep the tensor's
operators, as in PyTorch. An operand that is neither a number nor a tensor and that the op
refuses with a TypeError (``t ** "a"``, ``t + None``) makes the operator return
``NotImplemented`` too, as PyTorch's operators do: Python's own TypeError follows
("unsupported operand type(s) for ** or pow(): 'Tensor' and 'str'"), or the other
operand's operator (``"a" * t`` repeats the string, so asks ``t.__index__``). A list or a
tuple is declined before the op runs (it would convert them): ``t + [1.0, 2.0]`` is
Python's TypeError, ``[1, 2] * t`` repeats the list. Probed on
torch 2.13 with float64/float32/int64/bool arrays, 0-d arrays and 2-d arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .ops.overload_errors import is_number_or_tensor

__all__ = ["defer_operators_to_ndarray"]

_DECLINING = (
    *("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__"),
    *("__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__"),
    *("__and__", "__rand__", "__or__", "__ror__", "__xor__"),
    *("__rxor__", "__lshift__", "__rlshift__", "__rshift__", "__rrshift__"),
    *("__ne__", "__lt__", "__le__", "__gt__", "__ge__"),
    *("__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__"),
    *("__ipow__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__"),
)
"""The operators that return ``NotImplemented`` for an ``ndarray`` operand."""

# wrappers that pass a call without keywords straight to the function they wrap
_PASS_THROUGH = frozenset({"method", "op_with_keywords", "op_with_aliases", "op_with_out"})


def _unwrapped(fn: Callable[..., Any]) -> Callable[..., Any]:
    code = getattr(fn, "__code__", None)
    while code is not None and code.co_name in _PASS_THROUGH and hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
        code = getattr(fn, "__code__", None)
    return fn


def _signed(
    operator: Callable[..., Any], fn: Callable[..., Any], over: Callable[..., Any]
) -> Callable[..., Any]:
    """``operator`` with the signature, annotations and doc of the operator it replaces
    (``inspect.signature`` follows ``__wrapped__``: the generated Tensor stub is unchanged).
    ``operator_of``: that operator (``Tensor.add`` for ``__add__``), and ``over(new)`` the
    same operator around another function: ``overrides.install`` puts the
    ``__torch_function__`` wrapper of ``Tensor.add`` under ``__add__`` that way, so that a
    handler sees ``Tensor.add`` for ``x + y``, as in PyTorch."""
    functools.update_wrapper(operator, fn)  # (its name too: the stub reads ``add_``'s)
    operator.operator_of = fn  # type: ignore[attr-defined]
    operator.over = over  # type: ignore[attr-defined]
    return operator


def _declined(other: Any) -> bool:
    """Whether an operator returns ``NotImplemented`` for ``other`` (not a Tensor, an int or
    a float): an ``ndarray``, or what PyTorch's parser reads as neither a Tensor nor a
    number (a list, a tuple, ``cr.Size``, a range, a bytearray: ``x + [1.0, 2.0]`` is
    Python's TypeError). An object with a ``__torch_function__`` (an fx ``Proxy``) goes on
    to the op, which dispatches it."""
    if isinstance(other, np.ndarray):
        return True
    return not is_number_or_tensor(other) and not hasattr(other, "__torch_function__")


def _declining(fn: Callable[..., Any], T: type) -> Callable[..., Any]:
    op = _unwrapped(fn)

    def operator(self: Any, other: Any) -> Any:
        t = type(other)  # the common operands first (a Parameter next): no further check
        if t is not T and t is not float and t is not int and not isinstance(other, T):
            if _declined(other):
                return NotImplemented
        try:
            return op(self, other)
        except TypeError:  # (no cost unless raised)
            if is_number_or_tensor(other):
                raise
            return NotImplemented  # an operand the op refuses: Python's TypeError, as PyTorch's

    return _signed(operator, fn, lambda new: _declining(new, T))


def _matmul(fn: Callable[..., Any], T: type) -> Callable[..., Any]:
    op = _unwrapped(fn)

    def operator(self: Any, other: Any) -> Any:
        if not isinstance(other, T):  # PyTorch's @ takes tensors only (not numbers, lists)
            return NotImplemented
        return op(self, other)

    return _signed(operator, fn, lambda new: _matmul(new, T))


def _rtruediv(fn: Callable[..., Any]) -> Callable[..., Any]:
    def __rtruediv__(self: Any, other: Any) -> Any:  # noqa: N807 - the operator's name
        if isinstance(other, np.ndarray):  # PyTorch's: self.reciprocal() * other
            return self.reciprocal() * other
        t = type(other)  # ``[1.0] / x``: PyTorch's ``reciprocal() * [1.0]`` declines
        if t is not float and t is not int and _declined(other):
            return NotImplemented
        try:
            return fn(self, other)
        except TypeError:  # (no cost unless raised) as the other operators
            if is_number_or_tensor(other):
                raise
            return NotImplemented

    return _signed(__rtruediv__, fn, _rtruediv)


def defer_operators_to_ndarray(T: Any) -> None:
    """Rebind ``T``'s operators (already bound) to decline ``ndarray`` operands."""
    for name in _DECLINING:
        fn = T.__dict__.get(name)
        if fn is not None:
            setattr(T, name, _declining(fn, T))
    for name in ("__matmul__", "__rmatmul__"):
        if name in T.__dict__:
            setattr(T, name, _matmul(T.__dict__[name], T))
    if "__rtruediv__" in T.__dict__:
        T.__rtruediv__ = _rtruediv(T.__dict__["__rtruediv__"])
