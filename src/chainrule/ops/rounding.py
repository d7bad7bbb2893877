"""Rounding to integers, elementwise: floor, ceil, round (half to even), trunc.

Each is piecewise constant, so its derivative is zero almost everywhere: the rules return
zeros (as PyTorch does) rather than cutting the graph, so ``x.floor() + x`` still has the
gradient 1. Integer and boolean inputs are already whole and come back unchanged.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .binding import tensor_method
from .elementwise import UnaryElementwise

__all__ = ["ceil", "floor", "round", "trunc"]


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


class Floor(_Rounding):
    fn_name = "floor"


class Ceil(_Rounding):
    fn_name = "ceil"


class Round(_Rounding):
    fn_name = "round"  # NumPy and PyTorch both round half to even


class Trunc(_Rounding):
    fn_name = "trunc"


@tensor_method(inplace=True, keywords=True)
def floor(input: Tensor) -> Tensor:
    """The largest integer <= x, elementwise (``torch.floor``)."""
    return Floor.apply(input) if input.dtype.kind == "f" else input


@tensor_method(inplace=True, keywords=True)
def ceil(input: Tensor) -> Tensor:
    """The smallest integer >= x, elementwise (``torch.ceil``)."""
    return Ceil.apply(input) if input.dtype.kind == "f" else input


@tensor_method(inplace=True, keywords=True)
def round(input: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001 - mirrors torch.round
    """Round half to even, to ``decimals`` decimal places (``torch.round``)."""
    if input.dtype.kind != "f":
        return input
    if decimals:
        scale = 10.0**decimals
        return Round.apply(input * scale) / scale
    return Round.apply(input)


@tensor_method(inplace=True, keywords=True)
def trunc(input: Tensor) -> Tensor:
    """The integer part of x, rounding toward zero (``torch.trunc``)."""
    return Trunc.apply(input) if input.dtype.kind == "f" else input
