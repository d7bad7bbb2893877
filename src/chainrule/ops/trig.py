"""Trigonometric and hyperbolic functions and their inverses, plus atan2 and hypot.

Each primitive states its derivative once (:mod:`.elementwise`). The hyperbolic and inverse
functions are primitives because their compositions lose accuracy: ``(e^x - e^-x) / 2``
cancels to 0 for tiny x, ``log(x + sqrt(x^2 + 1))`` does for large negative x, and
``sqrt(a^2 + b^2)`` overflows where ``hypot`` does not.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.state import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._tensor_args import first_not_tensor
from ._util import DtypeError, check_broadcast, promote
from .binding import tensor_method
from .complex_elementwise import ComplexAcosh
from .elementwise import BinaryElementwise, UnaryElementwise
from .inplace_names import NOTHING_SAVED, renamed_node
from .unary import _float, reciprocal, rsqrt

__all__ = [
    "acos",
    "acosh",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "cos",
    "cosh",
    "deg2rad",
    "hypot",
    "sin",
    "sinh",
    "tan",
]


class Sin(UnaryElementwise):
    @staticmethod
    def f(x):
        return get_array_module(x).sin(x)

    @staticmethod
    def derivative(ctx, x, y):
        return cos(x)


class Cos(UnaryElementwise):
    @staticmethod
    def f(x):
        return get_array_module(x).cos(x)

    @staticmethod
    def derivative(ctx, x, y):
        return -sin(x)


class Tan(UnaryElementwise):
    """tan. A primitive rather than sin / cos: one ufunc instead of three ops, and it saves
    only its output (d/dx = 1 + y^2, as PyTorch), so changing x in place afterwards is legal."""

    saves = "y"

    @staticmethod
    def f(x):
        return get_array_module(x).tan(x)

    @staticmethod
    def derivative(ctx, x, y):
        return y * y + 1


# float32 sinh/cosh overflow where PyTorch's vectorised kernel overflows: from |x| > 88.72283
# (where e^|x| leaves float32), not at 89.4 (where e^|x| / 2 would). Its scalar tail loop
# (the last n % 32 elements of a block) keeps the finite values up to 89.4.
_F32_EXP_MAX = np.float32(88.72283)


def _f32_overflow(x: Any, y: Any, odd: bool) -> Any:
    """y with +-inf where float32 |x| > 88.72283, as PyTorch's vectorised sinh/cosh."""
    if (
        x.size == 0
        or -_F32_EXP_MAX <= np.fmin.reduce(x, axis=None)
        and np.fmax.reduce(x, axis=None) <= _F32_EXP_MAX
    ):  # two NaN-skipping reductions: no temporary in the common case
        return y
    big = np.abs(x) > _F32_EXP_MAX
    if big.any():
        y[big] = np.copysign(np.float32(np.inf), x[big]) if odd else np.float32(np.inf)
    return y


class Sinh(UnaryElementwise):
    @staticmethod
    def f(x):
        if x.dtype == np.float32 and type(x) is np.ndarray:
            return _f32_overflow(x, np.sinh(x), True)
        return get_array_module(x).sinh(x)

    @staticmethod
    def derivative(ctx, x, y):
        return cosh(x)


class Cosh(UnaryElementwise):
    @staticmethod
    def f(x):
        if x.dtype == np.float32 and type(x) is np.ndarray:
            return _f32_overflow(x, np.cosh(x), False)
        return get_array_module(x).cosh(x)

    @staticmethod
    def derivative(ctx, x, y):
        return sinh(x)


class Asin(UnaryElementwise):
    @staticmethod
    def f(x):
        return get_array_module(x).arcsin(x)

    @staticmethod
    def derivative(ctx, x, y):
        return rsqrt(1 - x * x)

    @staticmethod
    def chain(ctx, g, x, y):  # PyTorch's order: g * rsqrt(1 - x^2) (bit-equal in bfloat16)
        return g * rsqrt(1 - x * x)


class Acos(UnaryElementwise):
    @staticmethod
    def f(x):
        return get_array_module(x).arccos(x)

    @staticmethod
    def derivative(ctx, x, y):
        return -rsqrt(1 - x * x)

    @staticmethod
    def chain(ctx, g, x, y):  # PyTorch's order: g * -rsqrt(1 - x^2) (bit-equal in bfloat16)
        return g * -rsqrt(1 - x * x)


class Atan(UnaryElementwise):
    @staticmethod
    def f(x):
        return get_array_module(x).arctan(x)

    @staticmethod
    def derivative(ctx, x, y):
        return 1 / (x * x + 1)

    @staticmethod
    def chain(ctx, g, x, y):  # g / (x^2 + 1): one rounding fewer, PyTorch's (bfloat16)
        return g / (x * x + 1)


class Asinh(UnaryElementwise):
    @staticmethod
    def f(x):
        return get_array_module(x).arcsinh(x)

    @staticmethod
    def derivative(ctx, x, y):
        return rsqrt(x * x + 1)

    @staticmethod
    def chain(ctx, g, x, y):  # PyTorch's order: g * rsqrt(x^2 + 1) (bit-equal in bfloat16)
        return g * rsqrt(x * x + 1)


class Acosh(UnaryElementwise):
    @staticmethod
    def f(x):
        return get_array_module(x).arccosh(x)

    @staticmethod
    def derivative(ctx, x, y):
        return rsqrt(x * x - 1)

    @staticmethod
    def chain(ctx, g, x, y):  # PyTorch's order: g * rsqrt(x^2 - 1) (bit-equal in bfloat16)
        return g * rsqrt(x * x - 1)


class Atanh(UnaryElementwise):
    @staticmethod
    def f(x):
        return get_array_module(x).arctanh(x)

    @staticmethod
    def derivative(ctx, x, y):
        return 1 / (1 - x * x)

    @staticmethod
    def chain(ctx, g, x, y):  # g / (1 - x^2): one rounding fewer, PyTorch's (bfloat16)
        return g / (1 - x * x)


class Atan2(BinaryElementwise):
    """atan2(a, b), the angle of the point (b, a): d/da = b / r^2, d/db = -a / r^2."""

    @staticmethod
    def f(a, b):
        return get_array_module(a, b).arctan2(a, b)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return b / _radius2(a, b)

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return -a / _radius2(a, b)

    # PyTorch's order, g * b * (1 / r^2) and g * -a * (1 / r^2) (bit-equal in bfloat16)
    @staticmethod
    def chain_a(ctx, g, a, b, y):
        return g * b * _recip_radius2(a, b)

    @staticmethod
    def chain_b(ctx, g, a, b, y):
        return g * -a * _recip_radius2(a, b)

    @classmethod
    def jvp(cls, ctx, ta, tb):
        """PyTorch's forward rule, (b ta - a tb) / (a^2 + b^2), is not masked at the origin:
        its tangent there is 0/0 = NaN (its gradient, above, 0)."""
        out = super().jvp(ctx, ta, tb)
        a, b = (p._data if isinstance(p, Tensor) else p for p in ctx.primals)
        xp = get_array_module(a, b)
        origin = (xp.asarray(a) == 0) & (xp.asarray(b) == 0)
        if out is None or not origin.any():
            return out
        return xp.where(origin, xp.asarray(math.nan, dtype=out.dtype), out)


def _radius2(a: Tensor, b: Tensor) -> Tensor:
    """a^2 + b^2, with 1 at the origin: atan2's gradient there is 0, as in PyTorch (both
    numerators vanish), instead of 0/0 = NaN."""
    r2 = a * a + b * b
    return r2 + (r2.detach() == 0).to(r2.dtype)


def _recip_radius2(a: Tensor, b: Tensor) -> Tensor:
    """1 / (a^2 + b^2), 0 at the origin: PyTorch's atan2_backward, ``recip = (a * a + b *
    b).reciprocal()`` masked to 0 where ``a^2 + b^2 == 0``, op for op. The gradient there is
    0 as before; its derivative is PyTorch's too: the mask passes 0 to the reciprocal, whose
    derivative at 0 is 0 * -inf = NaN (the second derivative at the origin is NaN)."""
    r2 = a * a + b * b
    if not is_grad_enabled():  # a plain backward (values only, the same): the cheaper form
        return reciprocal(r2 + (r2 == 0).to(r2.dtype))
    return reciprocal(r2).masked_fill(r2.detach() == 0, 0.0)


class Hypot(BinaryElementwise):
    """sqrt(a^2 + b^2) without overflow: d/da = a / y, d/db = b / y."""

    saves_a = "ay"
    saves_b = "by"

    @staticmethod
    def f(a, b):
        return get_array_module(a, b).hypot(a, b)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return a / y

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return b / y

    # PyTorch's order, (g * a) / y (bit-equal in bfloat16)
    @staticmethod
    def chain_a(ctx, g, a, b, y):
        return g * a / y

    @staticmethod
    def chain_b(ctx, g, a, b, y):
        return g * b / y


@tensor_method(inplace=True, keywords=True)
def sin(input: Any) -> Tensor:
    return Sin.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def cos(input: Any) -> Tensor:
    return Cos.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def tan(input: Any) -> Tensor:
    return Tan.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def sinh(input: Any) -> Tensor:
    return Sinh.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def cosh(input: Any) -> Tensor:
    return Cosh.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def asin(input: Any) -> Tensor:
    return Asin.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def acos(input: Any) -> Tensor:
    return Acos.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def atan(input: Any) -> Tensor:
    return Atan.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def asinh(input: Any) -> Tensor:
    return Asinh.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def acosh(input: Any) -> Tensor:
    x = _float(input)
    return (ComplexAcosh if x._data.dtype.kind == "c" else Acosh).apply(x)


@tensor_method(inplace=True, keywords=True)
def atanh(input: Any) -> Tensor:
    return Atanh.apply(_float(input))


def _float_pair(op: str, a: Any, b: Any) -> tuple:
    a, b = promote(op, a, b, wrap_ints=False, float_result=True)  # a number is not wrapped
    check_broadcast(op, a, b)
    return (
        _float(a) if isinstance(a, Tensor) else float(a),
        _float(b) if isinstance(b, Tensor) else float(b),
    )


@tensor_method(inplace=True, keywords=True)
def atan2(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The angle of (other, input) in (-pi, pi], elementwise with broadcasting."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):  # PyTorch's TypeError
        raise first_not_tensor(("atan2", "arctan2"), (("input", input), ("other", other)))
    for v in (input, other):  # NumPy's raw TypeError otherwise; PyTorch's NotImplementedError
        if isinstance(v, complex) or isinstance(v, Tensor) and v._data.dtype.kind == "c":
            raise DtypeError("atan2: not implemented for complex tensors (use torch.angle)")
    return Atan2.apply(*_float_pair("atan2", input, other))


@tensor_method(inplace=True, keywords=True)
def hypot(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """sqrt(input^2 + other^2) elementwise, without intermediate overflow."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("hypot", (("input", input), ("other", other)))
    a, b = promote("hypot", input, other)
    for v in (a, b):
        if isinstance(v, Tensor) and not dtypes.is_floating(v._data.dtype):
            raise DtypeError(
                f"hypot: expects floating tensors, got {v.dtype} (PyTorch does "
                "not implement hypot for integers); convert with .float()"
            )
    check_broadcast("hypot", a, b)
    return Hypot.apply(a, b)


@tensor_method(inplace=True, keywords=True)
def deg2rad(input: Any) -> Tensor:
    """Degrees to radians, x * pi / 180 (``torch.deg2rad``): the product's node, shown as
    PyTorch's ``Deg2RadBackward0`` (listing x alone, saving nothing)."""
    x = _float(input)
    if x._data.dtype.kind == "c":  # an angle is real (PyTorch refuses too)
        raise RuntimeError("deg2rad is not supported for complex tensors.")
    out = x * (math.pi / 180.0)
    if out._grad_fn is not None:
        renamed_node(out._grad_fn, "Deg2RadBackward0", NOTHING_SAVED)
    return out


# arcsin etc.: PyTorch's aliases
arcsin, arccos, arctan, arcsinh, arccosh, arctanh, arctan2 = (
    asin,
    acos,
    atan,
    asinh,
    acosh,
    atanh,
    atan2,
)
