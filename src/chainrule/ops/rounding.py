"""Rounding to integers, elementwise: floor, ceil, round (half to even), trunc; and sign.

Each is piecewise constant, so its derivative is zero almost everywhere: the rules return
zeros (as PyTorch does) rather than cutting the graph, so ``x.floor() + x`` still has the
gradient 1. Floating inputs include bfloat16 (whose NumPy dtype kind is not ``'f'``). Integer
inputs are already whole and come back as a copy (a new tensor, as PyTorch's, so writing into
the result never changes the input); boolean and complex inputs raise PyTorch's
NotImplementedError (complex numbers have no floor). ``sign`` (and ``sgn`` of real input)
is piecewise constant as well, recorded the same way (``SignBackward0``), so
``x.sign().sum().backward()`` gives zeros rather than an error, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_floating
from ._util import DtypeError, as_tensor
from .binding import tensor_method
from .elementwise import UnaryElementwise
from .unset_arguments import DECIMALS_UNSET, parser_round_decimals

__all__ = ["ceil", "floor", "round", "sign", "trunc"]


class _Rounding(UnaryElementwise):
    """``y = rounding(x)``: dy/dx = 0 wherever it exists (the steps are ignored)."""

    saves = ""
    fn_name = "floor"

    @classmethod
    def f(cls, x):  # the NumPy / CuPy function of the same name
        return getattr(get_array_module(x), cls.fn_name)(x)

    @staticmethod
    def derivative(ctx, x, y):
        return 0.0

    @classmethod
    def chain(cls, ctx, g, x, y):
        # zeros, not g * 0: a NaN or infinite gradient arriving here stops (PyTorch's
        # zeros_like(grad)), and nothing is recorded under create_graph
        return Tensor._make(get_array_module(g._data).zeros_like(g._data), False, None, 0)


class Floor(_Rounding):
    fn_name = "floor"


class Ceil(_Rounding):
    fn_name = "ceil"


class Round(_Rounding):
    fn_name = "round"  # NumPy and PyTorch both round half to even


class Trunc(_Rounding):
    fn_name = "trunc"


def _whole(input: Tensor, name: str) -> bool:
    """True for a floating ``input`` (round it); for an integer one False (it is whole
    already); bool and complex raise as PyTorch."""
    kind = input.dtype.kind
    if kind == "c":
        raise NotImplementedError(f"{name} is not supported for complex inputs")
    if kind == "b":
        raise NotImplementedError(f"{name}: not implemented for 'Bool' tensors")
    return is_floating(input.dtype)


def _rounded(fn: type[_Rounding], input: Tensor, name: str) -> Tensor:
    return fn.apply(input) if _whole(input, name) else input.clone()


@tensor_method(inplace=True, keywords=True)
def floor(input: Tensor) -> Tensor:
    """The largest integer <= x, elementwise (``torch.floor``)."""
    return _rounded(Floor, input, "floor")


@tensor_method(inplace=True, keywords=True)
def ceil(input: Tensor) -> Tensor:
    """The smallest integer >= x, elementwise (``torch.ceil``)."""
    return _rounded(Ceil, input, "ceil")


@tensor_method(inplace=True, keywords=True)
def round(input: Tensor, decimals: Any = DECIMALS_UNSET) -> Tensor:  # noqa: A001 - torch.round
    """Round half to even, to ``decimals`` decimal places (``torch.round``; integer inputs
    only without ``decimals``, as PyTorch: its overload taking decimals, even 0, has no
    integer kernel; an explicit None is PyTorch's TypeError)."""
    if decimals is DECIMALS_UNSET:
        decimals = None
    elif type(decimals) is not int:
        decimals = parser_round_decimals(input, decimals)
    if not _whole(input, "round"):
        if decimals is not None:
            raise NotImplementedError(
                f"round: decimals={decimals} is not implemented for integer tensors "
                f"({input.dtype}), as in PyTorch (round() without decimals copies them)"
            )
        return input.clone()
    if decimals:
        scale = 10.0**decimals
        return Round.apply(input * scale) / scale
    return Round.apply(input)


@tensor_method(inplace=True, keywords=True)
def trunc(input: Tensor) -> Tensor:
    """The integer part of x, rounding toward zero (``torch.trunc``)."""
    return _rounded(Trunc, input, "trunc")


class Sign(_Rounding):
    """``sign(x)`` in {-1, 0, 1}, 0 for NaN (as PyTorch; NumPy's sign keeps NaN)."""

    @staticmethod
    def f(x):
        xp = get_array_module(x)
        s = xp.sign(x)
        return xp.where(xp.isnan(s), 0, s).astype(x.dtype, copy=False)


class Sgn(Sign):
    """``torch.sgn`` of a real tensor: ``sign`` under PyTorch's node name (``SgnBackward0``),
    keeping the input and the result as PyTorch's node does (``_saved_self``,
    ``_saved_result``; so an in-place change to either raises at backward there too)."""

    saves = "xy"


@tensor_method(inplace=True, keywords=True)
def sign(input: Tensor) -> Tensor:
    """sign(x) in {-1, 0, 1} (0 for NaN, as PyTorch); its gradient is zero everywhere."""
    return signum(input, Sign)


def signum(input: Any, fn: type[Sign]) -> Tensor:
    """``fn`` (``Sign`` or ``Sgn``) of a real ``input``: recorded for floating input, a copy
    for bool, the integer signs otherwise; complex input raises (``sgn`` handles it)."""
    input = as_tensor(input)
    kind = input._data.dtype.kind
    if kind == "c":
        raise DtypeError(
            "sign: complex tensors are not supported by sign; PyTorch uses sgn for complex input"
        )
    if kind == "b":
        return Tensor._make(input._data.copy(), False, None, 0)
    if is_floating(input._data.dtype):
        return fn.apply(input)
    return Tensor._make(get_array_module(input._data).sign(input._data), False, None, 0)
