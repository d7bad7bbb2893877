"""Special functions of ``ops/pointwise_more.py`` (exported from there): erfc, i0 and
mvlgamma, with I1 (i0's derivative). Their raw kernels are in ``_bessel_kernels.py``.

erfc is a primitive because ``1 - erf(x)`` loses every digit for x > ~6; i0's derivative
I1 is a primitive too, so that double backward works; mvlgamma is one node summing
lgammas (its derivative a sum of digammas).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from . import _bessel_kernels as _bk
from . import _special_kernels as _sk
from ._util import constant
from .binding import tensor_method
from .elementwise import UnaryElementwise
from .input_first_grads import DerivativeFirst
from .masking import masked_fill
from .special import digamma
from .unary import exp
from .unary_inputs import _floating

__all__ = ["erfc", "i0", "mvlgamma"]


# ----------------------------------------------------------------------------- erfc / i0
class Erfc(DerivativeFirst, UnaryElementwise):  # PyTorch's f'(x) * grad (layout)
    """1 - erf(x), computed directly (no cancellation); d/dx = -2 / sqrt(pi) * exp(-x^2)."""

    @staticmethod
    def f(x):
        return _bk.erfc(x)

    @staticmethod
    def derivative(ctx, x, y):
        return exp(-(x * x)) * (-2.0 / math.sqrt(math.pi))


@tensor_method(inplace=True, keywords=True)
def erfc(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The complementary error function ``1 - erf(input)`` (``torch.erfc``; integers give
    the default float). Its derivative is ``-2 / sqrt(pi) * exp(-input ** 2)``."""
    return Erfc.apply(_floating("erfc", input))


class I0(UnaryElementwise):
    """The modified Bessel function of the first kind, order 0; d/dx = I1(x)."""

    @staticmethod
    def f(x):
        return _bk.i0(x)

    @staticmethod
    def derivative(ctx, x, y):
        return I1.apply(x)


class I1(UnaryElementwise):
    """I1(x) (``torch.special.i1``; here only i0's derivative); d/dx = I0(x) - I1(x) / x,
    whose limit at x = 0 is 1/2."""

    @staticmethod
    def f(x):
        return _bk.i1(x)

    @staticmethod
    def derivative(ctx, x, y):
        at0 = constant(x._data == 0)
        safe = masked_fill(x, at0, 1.0)
        return masked_fill(I0.apply(x) - I1.apply(x) / safe, at0, 0.5)


@tensor_method(inplace=True, keywords=True)
def i0(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The modified Bessel function of the first kind of order 0 (``torch.i0``; NaN at
    +-inf, as PyTorch's Cephes kernel). Its derivative is I1(input)."""
    return I0.apply(_floating("i0", input))


# ------------------------------------------------------------------------------ mvlgamma
class Mvlgamma(UnaryElementwise):
    """``p (p - 1) / 4 * log(pi) + sum_{i<p} lgamma(x - i / 2)`` in one node (PyTorch's
    ``MvlgammaBackward0``, showing ``p`` and the input); d/dx = ``sum_i digamma(x - i / 2)``,
    a Tensor expression, so every order and forward mode follow."""

    saved_fields = {"p": lambda n: n.params["p"], "self": 0}

    @staticmethod
    def f(x, p):
        xp = get_array_module(x)
        shifts = xp.asarray(-np.arange(p, dtype=np.float64) / 2.0, dtype=x.dtype)
        total = _sk.lgamma(x[..., None] + shifts).sum(-1)
        if hasattr(x, "flags") and not x.flags.c_contiguous:  # PyTorch's sum(-1): row-major
            total = xp.ascontiguousarray(total)
        return total + xp.asarray(p * (p - 1) / 4.0 * math.log(math.pi), dtype=total.dtype)

    @staticmethod
    def derivative(ctx, x, y):
        d = digamma(x)
        for i in range(1, ctx.params["p"]):
            d = d + digamma(x - i / 2.0)
        return d


@tensor_method(inplace=True, keywords=True)
def mvlgamma(input: Any, p: int) -> Tensor:  # noqa: A002 - PyTorch's name
    """The multivariate log-gamma function of dimension ``p`` (``torch.mvlgamma``):
    ``p (p - 1) / 4 * log(pi) + sum_{i=0}^{p-1} lgamma(input - i / 2)``; +inf at the poles,
    as PyTorch (which no longer checks input > (p - 1) / 2). Gradient:
    ``sum_i digamma(input - i / 2)``."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"mvlgamma(): argument 'p' must be int, not {type(p).__name__}")
    if p < 1:
        raise RuntimeError(f"mvlgamma: p has to be greater than or equal to 1 (got p={p})")
    if isinstance(input, Tensor) and input._data.dtype == np.bool_:  # integers are floated
        raise RuntimeError("The input tensor may not be a boolean tensor.")
    return Mvlgamma.apply(_floating("mvlgamma", input), p=int(p))
