"""Elementwise functions of one tensor: y = f(x), dy = f'(x) * dx: exponentials and
logarithms, roots and the reciprocal, negation, ``abs``, ``erf``.

Each primitive is a :class:`UnaryElementwise`: a forward on raw arrays and its derivative
stated once (backward and the forward-mode rule both follow from it). Functions that are
compositions of primitives (square, log2, log10) are written as compositions; a
primitive that could be composed says beside it why it is not. The activation-shaped
functions (``tanh``, ``sigmoid``, ``relu``, ``softplus``) are in ``unary_activations.py``
and the input rules every one-input op shares (integers as the default float) in
``unary_inputs.py``; both are re-exported here, their home before session 38.
"""

from __future__ import annotations

import math

import numpy as np

from .._kernels import dispatch as _fast
from ..autograd.ieee import fp_ignoring
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import elementwise
from ._activation_math import erf_array
from ._first_order import grad_tensor
from ._result_layout import in_elementwise_layout
from ._util import DtypeError, as_tensor
from .binding import tensor_method
from .cast import cast, to_device_op
from .elementwise import UnaryElementwise
from .input_first_grads import DerivativeFirst
from .rounding import sign
from .unary_activations import (  # noqa: F401 - re-exported (their home before session 38)
    Relu,
    Sigmoid,
    Softplus,
    Tanh,
    relu,
    sigmoid,
    softplus,
    tanh,
)
from .unary_inputs import _float, _no_complex

__all__ = [
    "abs",
    "cast",
    "erf",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log1p",
    "neg",
    "reciprocal",
    "relu",
    "rsqrt",
    "sigmoid",
    "softplus",
    "sqrt",
    "square",
    "tanh",
    "to_device_op",
]


_IGNORE_DIVISION = fp_ignoring("divide", "invalid")  # Div.f's np.errstate, 0.4 us not 1.1


# ------------------------------------------------------------------------------ primitives
class Neg(UnaryElementwise):
    saves = ""

    @staticmethod
    def f(x):
        return -x

    @staticmethod
    def derivative(ctx, x, y):
        return -1


class Exp(UnaryElementwise):
    """e^x. Large float32 arrays take the compiled float32 kernel (``_kernels/transcendental``:
    at most 1.2 ulp, 2.5-2.9x NumPy's float32 exp on one thread where NumPy's runs without
    SIMD); everything else NumPy's."""

    saves = "y"

    @staticmethod
    def f(x):
        fast = _fast.exp(x)
        return fast if fast is not None else get_array_module(x).exp(x)

    @staticmethod
    def derivative(ctx, x, y):
        return y

    @staticmethod
    def array_chain(g, x, y):  # g * y as the recorded Mul computes it, first order
        return grad_tensor(elementwise(np.multiply, g, y), g, y)


class Exp2(UnaryElementwise):
    """2 ** x; d/dx = 2 ** x * ln 2 = y * ln 2 (so only the output is saved). A primitive, not
    exp(x * ln 2): that composition misses the exact powers of two at 63 of the 80 integers
    in [-20, 60) in float64; exp2 hits all of them."""

    saves = "y"

    @staticmethod
    def f(x):
        return get_array_module(x).exp2(x)

    @staticmethod
    def derivative(ctx, x, y):
        return y * math.log(2.0)

    @staticmethod
    def chain(ctx, g, x, y):  # PyTorch's order, (g * y) * ln 2 (bit-equal in bfloat16)
        return g * y * math.log(2.0)


class Log(UnaryElementwise):
    @staticmethod
    def f(x):
        return get_array_module(x).log(x)

    @staticmethod
    def derivative(ctx, x, y):
        return 1 / x

    @staticmethod
    def chain(ctx, g, x, y):  # g / x: one op, and exact where 1/x would round twice
        return g / x

    @staticmethod
    def array_chain(g, x, y):  # g / x as the recorded Div computes it, first order
        with _IGNORE_DIVISION():
            return grad_tensor(g / x, g, x)


class Log1p(UnaryElementwise):
    """log(1 + x). A primitive for stability: ``log(1 + x)`` loses all digits for |x| < 1e-16."""

    node_name = ("Log1PBackward0", (0,))  # PyTorch's spelling

    @staticmethod
    def f(x):
        return get_array_module(x).log1p(x)

    @staticmethod
    def derivative(ctx, x, y):
        return 1 / (x + 1)

    @staticmethod
    def chain(ctx, g, x, y):
        return g / (x + 1)


class Expm1(UnaryElementwise):
    """exp(x) - 1. A primitive for stability: ``exp(x) - 1`` cancels to 0 for tiny x."""

    saves = "y"

    @staticmethod
    def f(x):
        return get_array_module(x).expm1(x)

    @staticmethod
    def derivative(ctx, x, y):
        return y + 1


class Sqrt(UnaryElementwise):
    saves = "y"

    @staticmethod
    def f(x):
        return get_array_module(x).sqrt(x)

    @staticmethod
    def derivative(ctx, x, y):
        return 0.5 / y

    @staticmethod
    def chain(ctx, g, x, y):
        return g / (y * 2)

    @staticmethod
    def array_chain(g, x, y):  # g / (y * 2) as the recorded Mul and Div compute it
        y2 = elementwise(np.multiply, y, 2)
        if y2.ndim > 1:
            y2 = in_elementwise_layout(y2, y, 2)
        with _IGNORE_DIVISION():
            return grad_tensor(g / y2, g, y2)


class Reciprocal(UnaryElementwise):
    """1 / x. A primitive rather than ``1 / x`` through div: it saves only its output (as
    PyTorch), so changing x in place after ``1 / x`` or ``2 / x`` stays legal."""

    saves = "y"

    @staticmethod
    def f(x):
        return get_array_module(x).reciprocal(x)

    @staticmethod
    def derivative(ctx, x, y):
        return -(y * y)


class Rsqrt(UnaryElementwise):
    """1 / sqrt(x) for real input, one node saving its output as PyTorch's ``RsqrtBackward0``
    (d/dx = -y³ / 2); complex input is composed from sqrt and reciprocal."""

    saves = "y"

    @staticmethod
    def f(x):
        xp = get_array_module(x)
        if x.dtype == np.float16:  # in float32, rounded once, as PyTorch (not twice)
            return xp.reciprocal(xp.sqrt(x.astype(np.float32))).astype(np.float16)
        return xp.reciprocal(xp.sqrt(x))

    @staticmethod
    def derivative(ctx, x, y):
        return y * y * y * -0.5


class Abs(UnaryElementwise):
    """``|x|``; for complex ``z`` the modulus, with PyTorch's gradient ``g * z / |z|`` (0 at
    ``z = 0``) and tangent ``Re(conj(z) t) / |z|``."""

    complex_grad = True

    @staticmethod
    def f(x):
        return get_array_module(x).abs(x)

    @staticmethod
    def derivative(ctx, x, y):
        return sign(x)

    @classmethod
    def backward(cls, ctx, grad):
        (x,) = ctx.saved_tensors
        if x._data.dtype.kind != "c":
            return cls.chain(ctx, grad, x, None)
        return grad.to(x.dtype) * x.sgn()

    @classmethod
    def jvp(cls, ctx, t):
        x = ctx.primals[0]
        if t is None or x.dtype.kind != "c":
            return super().jvp(ctx, t)
        y = ctx.out
        with np.errstate(divide="ignore", invalid="ignore"):
            d = (x.real * t.real + x.imag * t.imag) / y
        return np.where(y == 0, 0.0, d).astype(y.dtype, copy=False)


class Erf(DerivativeFirst, UnaryElementwise):  # PyTorch's f'(x) * grad (layout)
    @classmethod
    def forward(cls, ctx, x):  # bfloat16 unwidened: erf_array takes PyTorch's reduced form
        y = erf_array(x)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
        return y

    @staticmethod
    def f(x):
        return erf_array(x)

    @staticmethod
    def derivative(ctx, x, y):
        return exp(-(x * x)) * (2.0 / math.sqrt(math.pi))


# ------------------------------------------------------------------------- public functions
@tensor_method(inplace=True, keywords=True)
def neg(input: Tensor) -> Tensor:
    input = as_tensor(input)
    if input._data.dtype.kind == "b":
        raise DtypeError(  # a TypeError, and torch's RuntimeError
            "neg: negation, the `-` operator, on a bool tensor is not supported; "
            "to invert a mask use the `~` operator or logical_not()"
        )
    return Neg.apply(input)


@tensor_method(inplace=True, keywords=True)
def exp(input: Tensor) -> Tensor:
    return Exp.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def exp2(input: Tensor) -> Tensor:
    """Elementwise 2 ** x (``torch.exp2``)."""
    return Exp2.apply(_float(input))  # integer input -> default float, as in PyTorch


@tensor_method(inplace=True, keywords=True)
def log(input: Tensor) -> Tensor:
    return Log.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def log1p(input: Tensor) -> Tensor:
    return Log1p.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def expm1(input: Tensor) -> Tensor:
    return Expm1.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def sqrt(input: Tensor) -> Tensor:
    return Sqrt.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def rsqrt(input: Tensor) -> Tensor:
    """1 / sqrt(x) (integers give the default float, as PyTorch)."""
    x = _float(input)
    if x._data.dtype.kind == "c":
        return reciprocal(sqrt(x))
    return Rsqrt.apply(x)


@tensor_method(inplace=True, keywords=True)
def abs(input: Tensor) -> Tensor:  # noqa: A001
    if isinstance(input, Tensor) and input._data.dtype.kind == "b":
        raise DtypeError(
            "abs: \"abs_cpu\" not implemented for 'Bool' (as PyTorch); a bool tensor is its "
            "own absolute value, or convert it with .long() first"
        )
    return Abs.apply(input)


@tensor_method(inplace=True, keywords=True)
def erf(input: Tensor) -> Tensor:
    x = _float(input)
    _no_complex("erf", x)  # PyTorch has no complex erf kernel ("erf_vml_cpu")
    return Erf.apply(x)


@tensor_method(inplace=True, keywords=True)
def reciprocal(input: Tensor) -> Tensor:
    """1 / x (integers become the default float)."""
    return Reciprocal.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def square(input: Tensor) -> Tensor:
    """``pow(x, 2)``, as PyTorch (node ``PowBackward0``, ``_saved_exponent`` 2; the values
    ``x * x``); a bool input gives int64."""
    from .power import Pow, pow  # (power.py imports this module)

    input = as_tensor(input)
    if input.dtype.kind == "b":
        input = input.to(np.int64)
    dtype = input._data.dtype  # a float tensor passes pow's checks: straight to its node
    fast = type(input) is Tensor and dtype.kind in "fc" and dtype != np.float16
    return Pow.apply(input, 2) if fast else pow(input, 2)
