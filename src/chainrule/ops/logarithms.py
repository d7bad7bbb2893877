"""Base-2 and base-10 logarithms, each one node under PyTorch's name (``Log2Backward0``,
``Log10Backward0``; they were ``log(x) / ln b``, two nodes and two roundings), with
PyTorch's gradient ``g / (x ln b)``. Complex input stays ``log(x) / ln b``, composed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .binding import tensor_method
from .elementwise import UnaryElementwise
from .unary import _float, log

__all__ = ["log10", "log2"]

_LN2 = 0.6931471805599453
# PyTorch's literal, one ulp under math.log(10) in float64: log10's float64 gradient
# g / (x * ln 10) is then bit-equal to PyTorch's (math.log(10) missed 3 in 4)
_LN10 = 2.3025850929940456


def _in_float64(fn: Any, x: Any) -> Any:
    """``fn(x)`` for float32 ``x`` computed in float64 and rounded once: NumPy's float32
    log2/log10 differ from PyTorch's in the last bit for 10-50 % of inputs, the rounded
    float64 values for under 0.1 %."""
    if x.dtype == np.float32:
        return fn(x.astype(np.float64)).astype(np.float32)
    return fn(x)


class _LogOfBase(UnaryElementwise):
    """log_b(x) as one node (PyTorch's ``Log2Backward0`` / ``Log10Backward0``; it was
    ``log(x) / ln b``, two nodes and two roundings), with PyTorch's gradient ``g / (x ln b)``.
    Subclasses give the NumPy function's name and ``ln b``."""

    _numpy_name = ""
    _ln_base = 1.0

    @classmethod
    def f(cls, x):
        return _in_float64(getattr(get_array_module(x), cls._numpy_name), x)

    @classmethod
    def derivative(cls, ctx, x, y):
        return 1 / (x * cls._ln_base)

    @classmethod
    def chain(cls, ctx, g, x, y):
        return g / (x * cls._ln_base)


class Log2(_LogOfBase):
    _numpy_name, _ln_base = "log2", _LN2


class Log10(_LogOfBase):
    _numpy_name, _ln_base = "log10", _LN10


@tensor_method(keywords=True)
def log2(input: Tensor) -> Tensor:
    """The base-2 logarithm (complex input: ``log(x) / ln 2``, composed)."""
    x = _float(input)
    if x._data.dtype.kind == "c":
        return log(x) * (1.0 / _LN2)
    return Log2.apply(x)


@tensor_method(keywords=True)
def log10(input: Tensor) -> Tensor:
    """The base-10 logarithm (complex input: ``log(x) / ln 10``, composed)."""
    x = _float(input)
    if x._data.dtype.kind == "c":
        return log(x) * (1.0 / math.log(10.0))  # nearer PyTorch's than 1 / _LN10
    return Log10.apply(x)
