"""The differentiable functions that only ``torch.special`` has (``cr.special``; not bound as
``chainrule.*`` or Tensor methods, which is why this module is not in ``ops/__init__.py``).

Each primitive states its derivative once (:mod:`.elementwise`) as a Tensor expression, the
one PyTorch's ``derivatives.yaml`` gives, so double backward and forward mode follow:

- erfcx' = 2 x erfcx(x) - 2 / sqrt(pi); ndtr' = exp(-x^2 / 2) / sqrt(2 pi);
  log_ndtr' = exp(-(log_ndtr(x) + x^2 / 2)) / sqrt(2 pi)
  (no overflow however negative x is); ndtri' = sqrt(2 pi) exp(ndtri(p)^2 / 2);
- i0e' = i1e(x) - sgn(x) i0e(x); i1e' = i0e(x) - i1e(x) (sgn(x) + 1 / x) and
  i1' = i0(x) - i1(x) / x, both 1/2 at |x| <= eps (i0 is ``cr.i0``'s op);
- entr(x) = -x log x (0 at 0, -inf below 0), entr' = -(1 + log x);
- xlog1py(x, y) = x log1p(y) (0 where x == 0, as xlogy); d/dx = log1p(y) (0 where x == 0
  and y <= -1), d/dy = x / (1 + y);
- zeta(x, q)' in q = -x zeta(x + 1, q); gammainc(a, x)' in x = exp((a-1) log x - x - lgamma a)
  and gammaincc's its negative. PyTorch has no derivative of these in their first argument:
  asking for it raises NotImplementedError at backward (or in forward mode), as there.

The raw kernels (float64 NumPy, no SciPy) are in ``_special_more_erf.py``,
``_special_more_bessel_ik.py`` and ``_special_more_gamma.py``; each op computes in float64
and returns its input's floating dtype.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.saved_fields import given, given_value
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import MetaArray, meta_empty
from . import _special_more_bessel_ik as _ik
from . import _special_more_erf as _erf
from . import _special_more_gamma as _gam
from ._pointwise_special import I0
from ._raw_checks import tensor_argument
from ._util import DtypeError, as_tensor, constant, promote
from .binary import _call, where
from .elementwise import BinaryElementwise, UnaryElementwise
from .input_first_grads import DerivativeFirst
from .special import lgamma
from .unary import exp, log
from .unary_inputs import _floating

__all__ = [
    "entr",
    "erfcx",
    "gammainc",
    "gammaincc",
    "i0e",
    "i1",
    "i1e",
    "log_ndtr",
    "ndtr",
    "ndtri",
    "xlog1py",
    "zeta",
]

_SQRT_2PI = math.sqrt(2 * math.pi)


def _kernel(fn: Callable, *arrays: Any) -> Any:
    """Run a float64 NumPy kernel on raw arrays (host copies of CuPy ones) and return the
    result in the arrays' (common) floating dtype and array module."""
    xp = get_array_module(*arrays)
    if xp is not np and any(type(a) is MetaArray for a in arrays):  # meta: no values
        return meta_empty(np.broadcast_shapes(*map(np.shape, arrays)), np.result_type(*arrays))
    host = [a if xp is np else xp.asnumpy(a) for a in arrays]
    with np.errstate(all="ignore"):  # the kernels' infs and NaNs are PyTorch's, on purpose
        y = fn(*[np.asarray(a, dtype=np.float64) for a in host])
    return xp.asarray(y).astype(np.result_type(*arrays), copy=False)


# ------------------------------------------------------------------------ unary primitives
class Erfcx(DerivativeFirst, UnaryElementwise):  # PyTorch's f'(x) * grad (layout)
    """exp(x^2) erfc(x); d/dx = 2 x erfcx(x) - 2 / sqrt(pi)."""

    node_name = "SpecialErfcxBackward0"
    saves = "xy"

    @staticmethod
    def f(x):
        return _kernel(_erf.erfcx, x)

    @staticmethod
    def derivative(ctx, x, y):
        return 2.0 * x * y - 2.0 / math.sqrt(math.pi)


class Ndtr(DerivativeFirst, UnaryElementwise):  # PyTorch's f'(x) * grad (layout)
    """Phi(x), the standard normal CDF; d/dx = exp(-x^2 / 2) / sqrt(2 pi). A primitive, not
    ``erfc(-x / sqrt 2) / 2``, to keep full relative accuracy in the left tail (the kernel's
    docstring says how). A deliberate difference: PyTorch computes ``(1 + erf(x / sqrt 2))
    / 2``, which cancels there (2% wrong at x = -8, 0 below -8.3); for x >= -1 the two
    agree to a few ulp."""

    @staticmethod
    def f(x):
        return _kernel(_erf.ndtr, x)

    @staticmethod
    def derivative(ctx, x, y):
        return exp(-(x * x) / 2.0) / _SQRT_2PI


class LogNdtr(UnaryElementwise):
    """log Phi(x); d/dx = phi(x) / Phi(x) = exp(-(y + x^2 / 2)) / sqrt(2 pi)."""

    node_name = "SpecialLogNdtrBackward0"
    saves = "xy"

    @staticmethod
    def f(x):
        return _kernel(_erf.log_ndtr, x)

    @staticmethod
    def derivative(ctx, x, y):
        return exp(-(y + x * x / 2.0)) / _SQRT_2PI


class Ndtri(UnaryElementwise):
    """Phi^-1(p); d/dp = 1 / phi(y) = sqrt(2 pi) exp(y^2 / 2)."""

    node_name = "SpecialNdtriBackward0"
    saves = "y"

    @staticmethod
    def f(x):
        return _kernel(_erf.ndtri, x)

    @staticmethod
    def derivative(ctx, x, y):
        return exp(y * y / 2.0) * _SQRT_2PI


def _sgn(x: Tensor) -> Tensor:
    return constant(get_array_module(x._data).sign(x._data))


class I0e(UnaryElementwise):
    """e^-|x| I0(x); d/dx = i1e(x) - sgn(x) i0e(x)."""

    node_name = "SpecialI0EBackward0"
    saves = "xy"

    @staticmethod
    def f(x):
        return _kernel(lambda a: _ik.i_scaled(0, a), x)

    @staticmethod
    def derivative(ctx, x, y):
        return I1e.apply(x) - _sgn(x) * y


class I1(UnaryElementwise):
    """I1(x) (the kernel of ``modified_bessel_i1``); d/dx = i0(x) - i1(x) / x, and 1/2 where
    |x| <= eps or x is NaN, as PyTorch's ``i1_backward`` (which, like this, saves the output)."""

    node_name = "SpecialI1Backward0"
    saves = "xy"

    @staticmethod
    def f(x):
        return _kernel(lambda a: _ik.modified_i(1, a), x)

    @staticmethod
    def derivative(ctx, x, y):
        xd = x._data
        tiny = ~(get_array_module(xd).abs(xd) > np.finfo(xd.dtype).eps)  # NaN too: 1/2
        if not tiny.any():
            return I0.apply(x) - y / x
        keep = constant(~tiny)
        safe = where(keep, x, 1.0)
        return where(keep, I0.apply(safe) - y / safe, 0.5)


class I1e(UnaryElementwise):
    """e^-|x| I1(x); d/dx = i0e(x) - i1e(x) (sgn(x) + 1 / x), and 1/2 where |x| <= eps (the
    limit at 0) or x is NaN, as PyTorch's ``i1e_backward``."""

    node_name = "SpecialI1EBackward0"
    saves = "xy"

    @staticmethod
    def f(x):
        return _kernel(lambda a: _ik.i_scaled(1, a), x)

    @staticmethod
    def derivative(ctx, x, y):
        xd = x._data
        tiny = ~(get_array_module(xd).abs(xd) > np.finfo(xd.dtype).eps)  # NaN too: 1/2
        if not tiny.any():
            return I0e.apply(x) - y * (_sgn(x) + 1.0 / x)
        keep = constant(~tiny)
        safe = where(keep, x, 1.0)
        return where(keep, I0e.apply(safe) - y * (_sgn(safe) + 1.0 / safe), 0.5)


class Entr(UnaryElementwise):
    """-x log x for x > 0, 0 at 0, -inf below 0 (NaN stays NaN); d/dx = -(1 + log x), as
    PyTorch (inf at 0, NaN below 0)."""

    node_name = "SpecialEntrBackward0"

    @staticmethod
    def f(x):
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = -x * xp.log(x)
        y = xp.where(x == 0, 0, xp.where(x < 0, -xp.inf, y))
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def derivative(ctx, x, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -(1.0 + log(x))


# ----------------------------------------------------------------------- binary primitives
class Xlog1py(BinaryElementwise):
    """x log1p(y), 0 where x == 0 (unless y is NaN); PyTorch's gradients: ``g`` times
    log1p(y) for x (as ``xlog1py(g, y)``), set to 0 where x == 0 and y <= -1, and
    ``g x / (1 + y)`` for y."""

    node_name = ("SpecialXlog1PyBackward0", (0, 1))  # both listed, (None, 0) without a grad
    saved_fields = {"other": 1, "self": 0}

    @staticmethod
    def f(a, b):
        xp = get_array_module(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = a * xp.log1p(b)
        y = xp.where((a == 0) & ~xp.isnan(b), 0, y)
        return y.astype(xp.result_type(a, b), copy=False)

    @staticmethod
    def chain_a(ctx, g, a, b, y):
        gx = Xlog1py.apply(g, b)
        masked = (a._data == 0) & (b._data <= -1)  # where log1p(b) is -inf or NaN
        return where(constant(masked), 0.0, gx) if masked.any() else gx

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return a / (b + 1.0)

    @staticmethod
    def chain_b(ctx, g, a, b, y):  # (g x) / (1 + y): x / (1 + y) alone may overflow
        return (g * a) / (b + 1.0)


def _no_first_derivative(op: str) -> Callable:
    def chain_a(ctx, g, a, b, y):
        raise NotImplementedError(
            f"{op}: the derivative with respect to 'input' is not implemented (PyTorch has "
            f"none either); only 'other' can require grad through {op}"
        )

    return staticmethod(chain_a)


class Zeta(BinaryElementwise):
    """The Hurwitz zeta function zeta(x, q); d/dq = -x zeta(x + 1, q)."""

    node_name = ("SpecialZetaBackward0", (0, 1))
    saved_fields = {"other": 1, "self": 0}
    saves_b = "ab"
    chain_a = _no_first_derivative("zeta")

    @staticmethod
    def f(a, b):
        return _kernel(_gam.zeta, a, b)

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return -a * Zeta.apply(a + 1.0, b)


def _gamma_density(a: Tensor, x: Tensor) -> Tensor:
    """x^(a-1) e^-x / Gamma(a), PyTorch's formula for the derivative of P(a, x) in x."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return exp((a - 1.0) * log(x) - x - lgamma(a))


class Gammainc(BinaryElementwise):
    """The regularized lower incomplete gamma P(a, x); d/dx = x^(a-1) e^-x / Gamma(a)."""

    node_name = ("IgammaBackward0", (0, 1))  # igamma's node (special.gammainc is igamma)
    saves_b = "ab"
    chain_a = _no_first_derivative("gammainc")

    @staticmethod
    def f(a, b):
        return _kernel(_gam.gammainc, a, b)

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return _gamma_density(a, b)


class Gammaincc(BinaryElementwise):
    """The regularized upper incomplete gamma Q(a, x) = 1 - P(a, x); d/dx = -x^(a-1) e^-x /
    Gamma(a)."""

    node_name = ("IgammacBackward0", (0, 1))
    saves_b = "ab"
    chain_a = _no_first_derivative("gammaincc")

    @staticmethod
    def f(a, b):
        return _kernel(_gam.gammaincc, a, b)

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return -_gamma_density(a, b)


def _number(name: str) -> Callable:
    """A ``_saved_`` field showing the number argument ``name`` as the caller gave it."""
    return lambda node: given_value(node, name)


class Xlog1pyNumberSelf(Xlog1py):
    """``xlog1py(number, tensor)``: PyTorch's Scalar-self overload node."""

    node_name = ("SpecialXlog1PyBackward1", (1,))
    saved_fields = {"other": 1, "self": _number("self")}


class Xlog1pyNumberOther(Xlog1py):
    """``xlog1py(tensor, number)``: PyTorch's Scalar-other overload node."""

    node_name = ("SpecialXlog1PyBackward2", (0,))
    saved_fields = {"other": _number("other"), "self": 0}


class ZetaNumberSelf(Zeta):
    """``zeta(number, tensor)``: PyTorch's Scalar-self overload node."""

    node_name = ("SpecialZetaBackward1", (1,))
    saved_fields = {"other": 1, "self": _number("self")}


class ZetaNumberOther(Zeta):
    """``zeta(tensor, number)``: PyTorch's Scalar-other overload node (it saves nothing: the
    first argument has no derivative)."""

    node_name = ("SpecialZetaBackward2", (0,))
    saved_fields: dict = {}


# ------------------------------------------------------------------------ public functions
def erfcx(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The scaled complementary error function exp(x^2) erfc(x) (``torch.special.erfcx``)."""
    return Erfcx.apply(_floating("erfcx", input))


def ndtr(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The standard normal CDF (accurate in the left tail, unlike PyTorch's: see Ndtr)."""
    # applied to a copy (x * 1.0 is exact and saves nothing): PyTorch's ndtr is a composite
    # that saves an intermediate, so an in-place change to input after the call is legal
    return Ndtr.apply(_floating("ndtr", input) * 1.0)


def log_ndtr(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """log of the standard normal CDF, accurate far into the left tail."""
    return LogNdtr.apply(_floating("log_ndtr", input))


def ndtri(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The standard normal quantile function (inverse of ndtr): -inf at 0, +inf at 1, NaN
    outside [0, 1]."""
    return Ndtri.apply(_floating("ndtri", input))


def i0e(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The exponentially scaled modified Bessel function e^-|x| I0(x)."""
    return I0e.apply(_floating("i0e", input))


def i1(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The modified Bessel function of the first kind of order 1, I1(x) (i0's derivative)."""
    return I1.apply(_floating("i1", input))


def i1e(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The exponentially scaled modified Bessel function e^-|x| I1(x)."""
    return I1e.apply(_floating("i1e", input))


def entr(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The elementwise entropy term -x log x (0 at 0, -inf for x < 0)."""
    return Entr.apply(_floating("entr", input))


def _binary(cls: type, op: str, input: Any, other: Any, integers: bool = True) -> Tensor:  # noqa: A002
    """Promote (at least one Tensor, as PyTorch's overloads) and apply ``cls`` (its
    ``number_self`` / ``number_other`` subclass where that argument is a number: PyTorch's
    Scalar overload nodes). The incomplete gamma functions (``integers=False``) take
    tensors only and have no integer kernel, as in PyTorch."""
    if not integers:
        tensor_argument(f"special_{op}", "input", 1, input)  # PyTorch's name in its error
        tensor_argument(f"special_{op}", "other", 2, other)
    self_tensor, other_tensor = isinstance(input, Tensor), isinstance(other, Tensor)
    if not self_tensor and not other_tensor:
        raise TypeError(
            f"{op}(): expected at least one of input and other to be a Tensor, got "
            f"{type(input).__name__} and {type(other).__name__}"
        )
    # an int beside an integer tensor is not wrapped into its dtype: the tensor becomes
    # floating first, and the number joins it as it is (PyTorch)
    a, b = promote(op, input, other, wrap_ints=False, float_result=integers)
    t = a if isinstance(a, Tensor) else b
    if not integers and t._data.dtype.kind in "biu":
        raise DtypeError(f"{op}: not implemented for integer tensors (got {t.dtype})")
    a = _floating(op, a) if isinstance(a, Tensor) else a
    b = _floating(op, b) if isinstance(b, Tensor) else b
    a = as_tensor(a, b if isinstance(b, Tensor) else None)
    if self_tensor and other_tensor:
        return _call(cls, op, a, as_tensor(b, a))
    if self_tensor:
        return given(_call(_NUMBER_OTHER.get(cls, cls), op, a, as_tensor(b, a)), other=other)
    return given(_call(_NUMBER_SELF.get(cls, cls), op, a, as_tensor(b, a)), self=input)


_NUMBER_SELF = {Xlog1py: Xlog1pyNumberSelf, Zeta: ZetaNumberSelf}
_NUMBER_OTHER = {Xlog1py: Xlog1pyNumberOther, Zeta: ZetaNumberOther}


def xlog1py(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """input * log1p(other), 0 where input == 0 (``torch.special.xlog1py``)."""
    return _binary(Xlog1py, "xlog1py", input, other)


def zeta(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The Hurwitz zeta function sum_k (other + k)^-input; differentiable in ``other`` only."""
    return _binary(Zeta, "zeta", input, other)


def gammainc(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The regularized lower incomplete gamma function P(input, other); differentiable in
    ``other`` only. Integer tensors raise, as in PyTorch (no integer kernel)."""
    return _binary(Gammainc, "gammainc", input, other, integers=False)


def gammaincc(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P; differentiable
    in ``other`` only. Integer tensors raise, as in PyTorch."""
    return _binary(Gammaincc, "gammaincc", input, other, integers=False)
