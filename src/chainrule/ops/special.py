"""Special functions with derivatives: lgamma, digamma, polygamma, erfinv, xlogy, logit, sinc.

Each primitive states its derivative once (:mod:`.elementwise`) as a Tensor expression, so
double backward and forward mode follow. The derivatives chain into each other: lgamma' is
digamma, digamma' is polygamma(1, .), polygamma(n, .)' is polygamma(n + 1, .), and erfinv'
is sqrt(pi)/2 exp(erfinv(x)^2). The raw kernels (SciPy when installed, a NumPy fallback
otherwise) are in :mod:`._special_kernels`.

Like PyTorch, each saves its input (not its output), integer inputs become the default
float, and the values at the singular points are PyTorch's: xlogy(0, y) = 0 (and its
gradient in x is 0 there), sinc(0) = 1 with derivative 0, logit(0) = -inf.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.saved_fields import given, given_value
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import _BFLOAT16
from . import _special_kernels as K
from ._result_layout import elementwise_tensor
from ._util import as_tensor, promote
from .binary import _call, where
from .binding import numpy_keywords, tensor_method
from .elementwise import BinaryElementwise, UnaryElementwise
from .input_first_grads import DerivativeFirst, plain_layout
from .trig import cos, sin
from .unary import exp
from .unary_inputs import _float, _mask
from .unary_inputs import _floating as _real_float  # complex refused, integers as floats

__all__ = ["digamma", "erfinv", "lgamma", "logit", "polygamma", "sinc", "xlogy"]


def _is_bfloat16(x: Tensor) -> bool:
    return bool(_BFLOAT16) and x._data.dtype == _BFLOAT16[0]


def _via_bfloat16(v: Any) -> Any:
    """A float32 array rounded to bfloat16 and widened back: one rounded step of a
    bfloat16 kernel that PyTorch computes step by step."""
    return v.astype(_BFLOAT16[0]).astype(np.float32)


# ------------------------------------------------------------------------------ primitives
class Lgamma(UnaryElementwise):
    f = staticmethod(K.lgamma)

    @staticmethod
    def derivative(ctx, x, y):
        return digamma(x)


class Digamma(UnaryElementwise):
    f = staticmethod(K.digamma)

    @staticmethod
    def derivative(ctx, x, y):
        return polygamma(1, x)


def _trigamma_poles(x: Any, y: Any) -> Any:
    """``y = polygamma(1, x)`` with PyTorch's values at the negative integers.

    PyTorch evaluates trigamma below 1/2 by reflection, psi1(x) = pi^2 / sin^2(pi x) -
    psi1(1 - x), with ``pi x`` rounded in x's dtype: at a negative integer that product is
    not an exact multiple of pi, so sin(pi x) is a tiny rounding residue (~1e-7 |x| in
    float32, ~1e-16 |x| in float64) and the result a large finite number, not inf. The same
    rounding here gives the same numbers (x = 0, where sin is exactly 0, stays inf); half
    precision computes in float32, as PyTorch, and rounds the result."""
    xp = get_array_module(x)
    poles = (x < 0) & (x == xp.floor(x))
    if not poles.any():
        return y
    xs = x[poles]
    xs = xs.astype(np.float64 if xs.dtype == np.float64 else np.float32)
    pi = xs.dtype.type(math.pi)
    s = xp.sin(pi * xs)
    y = y.copy()
    with np.errstate(over="ignore", divide="ignore"):
        y[poles] = ((pi * pi) / (s * s) - K.polygamma(1, 1 - xs)).astype(y.dtype)
    return y


class Polygamma(UnaryElementwise):
    saved_fields = {"n": lambda node: node.params["n"], "self": 0}  # grad_fn._saved_*, as torch

    @staticmethod
    def f(x, n):
        y = K.polygamma(n, x)
        if n >= 2 and x.dtype.kind == "f":
            # NaN at +inf, as PyTorch (its (-1)^(n+1) n! zeta(n + 1, x) is NaN there, as is
            # zeta(s, inf) in both); SciPy's limit is 0
            return get_array_module(x).where(x == np.inf, np.nan, y).astype(y.dtype, copy=False)
        return _trigamma_poles(x, y) if n == 1 and x.dtype.kind == "f" else y

    @staticmethod
    def derivative(ctx, x, y):
        return polygamma(ctx.params["n"] + 1, x)


class Erfinv(DerivativeFirst, UnaryElementwise):  # PyTorch's f'(x) * grad (layout)
    """Saves its input, as PyTorch (the derivative recomputes erfinv(x))."""

    f = staticmethod(K.erfinv)

    @staticmethod
    def derivative(ctx, x, y):
        return exp(erfinv(x) ** 2) * (math.sqrt(math.pi) / 2)


class Logit(UnaryElementwise):
    """log(x / (1 - x)), x first clamped to [eps, 1 - eps] when ``eps`` is given. The
    derivative is 1 / (x (1 - x)); 0 outside [eps, 1 - eps] (the clamp), and NaN outside
    [0, 1] without eps, as PyTorch."""

    saved_fields = {"eps": lambda n: n.params["eps"], "self": 0}  # grad_fn._saved_*

    @staticmethod
    def f(x, eps, bf16=False):
        xp = get_array_module(x)
        # PyTorch's clamp order: below eps -> eps first (matters only for eps > 0.5)
        z = x if eps is None else xp.where(x < eps, eps, xp.where(x > 1.0 - eps, 1.0 - eps, x))
        with np.errstate(divide="ignore", invalid="ignore"):  # logit(0) = -inf, as PyTorch
            if bf16:  # x widened from bfloat16: PyTorch rounds each step to bfloat16
                z = _via_bfloat16(z)
                return xp.log(_via_bfloat16(z / _via_bfloat16(1 - z)))
            return xp.log(z / (1 - z)).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(ctx, x, y):
        return Logit.chain(ctx, 1, x, y)

    @staticmethod
    def chain(ctx, g, x, y):  # PyTorch's order, g / (x (1 - x)) (bit-equal in bfloat16)
        eps = ctx.params["eps"]
        xd = x._data
        if eps is None:
            with np.errstate(divide="ignore"):  # 1 / 0 = inf at x = 0 and 1, as PyTorch
                out = g / (x * (1 - x))
            outside = (xd < 0) | (xd > 1)
            return where(_mask(outside, bool), math.nan, out) if outside.any() else out
        inside = _mask((xd >= eps) & (xd <= 1 - eps), bool)
        safe = where(inside, x, 0.5)  # no 0 * inf at the clamped ends
        out = where(inside, g / (safe * (1 - safe)), 0.0)
        # logit_backward(grad, self): laid out by g first (the mask, from x, led here)
        if isinstance(g, Tensor) and plain_layout(g, x):
            return elementwise_tensor(out, g, x)
        return out


class Sinc(DerivativeFirst, UnaryElementwise):  # PyTorch's where(x == 0, ...) first
    """sin(pi x) / (pi x), 1 at 0. d/dx = (cos(pi x) pi x - sin(pi x)) / (pi x^2), and
    -pi^2 x / 3 (its series, exact in double precision) for |x| < 1e-20: there the formula
    is 0 / 0 (pi x^2 underflows below 1e-154), and 0 at 0."""

    @staticmethod
    def f(x):
        # np.sinc's own formula, written here: np.sinc is Python-level NumPy, so the warning
        # of sin(inf) came from NumPy's module and escaped the filter that hides NumPy's
        # floating-point warnings raised in chainrule's modules (torch.sinc(inf) is silent)
        # (float16 in float32, rounded once, as PyTorch)
        xp = get_array_module(x)
        w = x.astype(np.float32) if x.dtype == np.float16 else x
        y = xp.pi * xp.where(w == 0, 1.0e-20, w)
        return (xp.sin(y) / y).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(ctx, x, y):
        small = np.abs(x._data) < 1e-20
        if not small.any():
            px = x * math.pi  # PyTorch's order (bit-equal in bfloat16)
            return (cos(px) * px - sin(px)) / (x * x * math.pi)
        big = _mask(~small, bool)
        safe = where(big, x, 1.0)  # keeps 0/0 out of the value and of double backward
        px = safe * math.pi
        slope = (cos(px) * px - sin(px)) / (safe * safe * math.pi)
        return where(big, slope, x * (-(math.pi**2) / 3))


class Xlogy(BinaryElementwise):
    """x * log(y), 0 where x == 0 (unless y is NaN), as PyTorch. The gradients are
    PyTorch's: ``g`` times log(y) for x (as ``xlogy(g, y)``, so a zero g stays 0), set to 0
    where x == 0 and y <= 0 (there log(y) is -inf or NaN); ``g x / y`` for y."""

    node_name = ("XlogyBackward0", (0, 1))  # both listed, (None, 0) without a gradient
    saved_fields = {"other": 1, "self": 0}  # by position: xlogy(x, x) shows both
    saves_a = "ab"
    saves_b = "ab"

    @staticmethod
    def f(a, b, bf16=False):
        xp = get_array_module(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            # from bfloat16 (widened): log(y) rounded to bfloat16 first, as PyTorch
            y = a * (_via_bfloat16(xp.log(b)) if bf16 else xp.log(b))
        y = xp.where((a == 0) & ~xp.isnan(b), 0, y)
        return y.astype(xp.result_type(a, b), copy=False)

    @staticmethod
    def chain_a(ctx, g, a, b, y):
        gx = xlogy(g, b)
        masked = (a._data == 0) & (b._data <= 0)
        return where(_mask(masked, bool), 0.0, gx) if masked.any() else gx

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return a / b

    @staticmethod
    def chain_b(ctx, g, a, b, y):  # (g x) / y: x / y alone overflows for x = 1e308, y = 0.5
        return (g * a) / b


class XlogyNumberSelf(Xlogy):
    """``xlogy(number, tensor)``: PyTorch's ``XlogyBackward1`` (its Scalar-self overload)."""

    node_name = ("XlogyBackward1", (1,))
    saved_fields = {"other": 1, "self": lambda node: given_value(node, "self")}


class XlogyNumberOther(Xlogy):
    """``xlogy(tensor, number)``: PyTorch's ``XlogyBackward2`` (its Scalar-other overload)."""

    node_name = ("XlogyBackward2", (0,))
    saved_fields = {"other": lambda node: given_value(node, "other"), "self": 0}


# ------------------------------------------------------------------------- public functions
@tensor_method(inplace=True, keywords=True)
def lgamma(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """log |Gamma(input)| elementwise (``torch.lgamma``); +inf at 0 and the negative
    integers. Its derivative is digamma."""
    return Lgamma.apply(_real_float("lgamma", input))


@tensor_method(inplace=True, keywords=True)
def digamma(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """psi(input) = d/dx log Gamma(x) (``torch.digamma``); -inf at 0, NaN at the negative
    integers. Its derivative is polygamma(1, input)."""
    return Digamma.apply(_real_float("digamma", input))


@numpy_keywords  # out=; x.polygamma(n) is bound by hand (polygamma_method: n first)
def polygamma(n: int, input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The ``n``-th derivative of digamma (``torch.polygamma``; n = 0 is digamma)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n (got n={n})")
    return Polygamma.apply(_real_float("polygamma", input), n=n)


def polygamma_method(self: Tensor, n: int) -> Tensor:
    """``x.polygamma(n)`` is ``polygamma(n, x)`` (PyTorch's method takes n first too)."""
    return polygamma(n, self)


@tensor_method(inplace=True, keywords=True)
def erfinv(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The inverse error function (``torch.erfinv``): +-inf at +-1, NaN outside [-1, 1]."""
    return Erfinv.apply(_real_float("erfinv", input))


@tensor_method(inplace=True, keywords=True)
def logit(input: Any, eps: float | None = None) -> Tensor:  # noqa: A002 - PyTorch's name
    """log(p / (1 - p)) (``torch.logit``); with ``eps`` the input is first clamped to
    [eps, 1 - eps] (and the gradient is 0 where it was clamped)."""
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, (int, float))):
        raise TypeError(f"logit(): argument 'eps' must be float or None, not {type(eps).__name__}")
    x = _real_float("logit", input)
    eps = None if eps is None else float(eps)
    return Logit.apply(x, eps=eps, bf16=_is_bfloat16(x))


@tensor_method(inplace=True, keywords=True)
def sinc(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The normalised sinc, sin(pi x) / (pi x) with sinc(0) = 1 (``torch.sinc``)."""
    return Sinc.apply(_float(input))  # complex too: sinc is holomorphic


@tensor_method(inplace=True, keywords=True)
def xlogy(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """input * log(other), 0 where input == 0 (``torch.xlogy``); either may be a number;
    integers become the default float."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(
            "xlogy(): expected at least one of input and other to be a Tensor, got "
            f"{type(input).__name__} and {type(other).__name__}"
        )
    # an int beside an integer tensor is not wrapped into its dtype: the tensor becomes
    # floating first, and the number joins it as it is (uint8_tensor with -1, as PyTorch)
    a, b = promote("xlogy", input, other, wrap_ints=False, float_result=True)
    a = _real_float("xlogy", a) if isinstance(a, Tensor) else a
    b = _real_float("xlogy", b) if isinstance(b, Tensor) else b
    a = _real_float("xlogy", as_tensor(a, b if isinstance(b, Tensor) else None))
    b = _real_float("xlogy", as_tensor(b, a))
    fn = Xlogy if isinstance(input, Tensor) else XlogyNumberSelf
    if not isinstance(other, Tensor):
        out = _call(XlogyNumberOther, "xlogy", a, b, bf16=_is_bfloat16(a) and _is_bfloat16(b))
        return given(out, other=other)
    out = _call(fn, "xlogy", a, b, bf16=_is_bfloat16(a) and _is_bfloat16(b))
    return out if fn is Xlogy else given(out, self=input)
