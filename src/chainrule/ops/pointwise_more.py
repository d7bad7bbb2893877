"""More elementwise math of PyTorch: copysign, fmax, fmin, frexp, ldexp, logaddexp2,
positive, rsub (differentiable where PyTorch's are) and lcm, isneginf, isposinf, isreal (no
gradient, as in PyTorch); erfc, i0 and mvlgamma are in ``_pointwise_special.py``, exported
from here.

The compositions (rsub, frexp's mantissa) take their gradients, promotion and broadcasting
from the ops they are built of. copysign, fmax, fmin, ldexp and logaddexp2 are primitives:
copysign/fmax/fmin need PyTorch's exact masks at zeros, ties and NaNs, and each saves for
backward what PyTorch saves (so modifying an input or the result in place afterwards raises
exactly where PyTorch's does; tests/ops/test_inplace_after_forward.py). The root in-place
functions (``torch.abs_``, ``torch.clamp_``, ...) are in ``_root_inplace.py`` and exported
from here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes, return_types
from ..autograd.saved_fields import given, given_value, tensor_field
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..float8 import refuse as _refuse_float8
from . import _pointwise_special, _root_inplace
from ._pointwise_special import *  # noqa: F403
from ._raw_checks import tensor_argument as _tensor_argument
from ._root_inplace import *  # noqa: F403
from ._util import NAMED_ERRORS, DtypeError, as_tensor, constant, lead_with, promote
from .binary import _call, mul, reversed_sub
from .binding import tensor_method
from .cast import cast
from .elementwise import BinaryElementwise
from .inplace import apply_inplace, composite_result
from .logarithms import log2, log10
from .masking import masked_fill
from .pairwise_extremes import torch_choice_jvp
from .power import pow
from .unary import exp2, sigmoid

__all__ = [
    "copysign",
    "fmax",
    "fmin",
    "frexp",
    "isneginf",
    "isposinf",
    "isreal",
    "lcm",
    "ldexp",
    "logaddexp2",
    "positive",
    "rsub",
    *_pointwise_special.__all__,
    *_root_inplace.__all__,
]

_LN2 = math.log(2.0)


def _no_complex(op: str, *vs: Any) -> None:
    for v in vs:
        if isinstance(v, complex) or isinstance(v, Tensor) and v._data.dtype.kind == "c":
            raise DtypeError(f"{op}: not implemented for complex tensors")


# ------------------------------------------------------------------------------ copysign
class Copysign(BinaryElementwise):
    """|a| with the sign of b. d/da = ``result / a`` masked to 0 at a = +-0 (PyTorch's rule:
    it reads a and the result, what PyTorch saves; NaN at an infinite a); d/db = 0 (the sign
    is piecewise constant)."""

    saves_a = "ay"
    saves_b = ""

    @staticmethod
    def f(a, b):
        return get_array_module(a, b).copysign(a, b)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        xp = get_array_module(a._data)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = y._data / a._data  # +-1; NaN at an infinite a (inf / inf), as PyTorch
        d = xp.where(a._data == 0, xp.zeros((), ratio.dtype), ratio)
        return constant(d.astype(a._data.dtype, copy=False))

    @classmethod
    def chain_b(cls, ctx, g, a, b, y):
        return constant(get_array_module(g._data).zeros_like(g._data))

    @classmethod
    def jvp(cls, ctx, ta, tb):
        """The tangent from ``a``'s alone: PyTorch's forward rule reads only ``self_t``, so
        a tangent on ``b`` alone gives the result none (not zeros)."""
        return super().jvp(ctx, ta, None)


class CopysignNumber(Copysign):
    """``copysign(tensor, number)``: PyTorch's Scalar-overload node, listing the tensor."""

    node_name = ("CopysignBackward1", (0,))


@tensor_method(inplace=True, keywords=True)
def copysign(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """|input| with the sign of ``other`` (a tensor or a number), elementwise with
    broadcasting (``torch.copysign``). Integer operands give the default float. Gradient:
    ``sign(input) * copysign(1, other)`` for input (0 at input = 0), 0 for other."""
    x = _tensor_argument("copysign", "input", 1, input)
    _no_complex("copysign", x, other)
    try:
        a, b = promote("copysign", x, other, wrap_ints=False, float_result=True)  # -1, not 255
        if not dtypes.is_floating(a._data.dtype):
            a = cast(a, dtypes.get_default_dtype())
        if isinstance(b, Tensor) and b._data.dtype != a._data.dtype:
            b = cast(b, a._data.dtype)
        return _call(Copysign if isinstance(b, Tensor) else CopysignNumber, "copysign", a, b)
    except NAMED_ERRORS as err:
        lead_with("copysign", err)
        raise


# --------------------------------------------------------------------------- fmax / fmin
class _NanIgnoringExtreme(BinaryElementwise):
    """fmax/fmin: the larger/smaller input, a NaN losing to a number. The gradient goes to
    the chosen input, as PyTorch: to ``a`` where ``a`` wins, ties (a == b) and where ``b`` is
    NaN (both NaN included); to ``b`` everywhere else. Both masks are constants."""

    saves_a = saves_b = "ab"
    _wins: Any = None  # np.greater_equal / np.less_equal
    _strict: Any = None  # np.greater / np.less_equal: the forward rule's mask

    @classmethod
    def _a_chosen(cls, a, b):
        xp = get_array_module(a._data, b._data)
        return cls._wins(a._data, b._data) | xp.isnan(b._data)

    @classmethod
    def chain_a(cls, ctx, g, a, b, y):
        return masked_fill(g, constant(~cls._a_chosen(a, b)), 0.0)

    @classmethod
    def chain_b(cls, ctx, g, a, b, y):
        return masked_fill(g, constant(cls._a_chosen(a, b)), 0.0)

    @classmethod
    def jvp(cls, ctx, ta, tb):
        """PyTorch's forward rule, ``tb + w * (ta - tb)``, ``w`` 1 where ``a`` wins strictly
        or ``b`` is NaN (a tie: ``tb`` for fmax, ``ta`` for fmin, as torch):
        the loser's NaN or inf tangent spreads, as torch's (core seed 987)."""
        out = super().jvp(ctx, ta, tb)
        if out is None:
            return out
        a, b = (v._data if isinstance(v, Tensor) else np.asarray(v) for v in ctx.primals)
        xp = get_array_module(out)
        return torch_choice_jvp(out, cls._strict(a, b) | xp.isnan(b), ta, tb)


class Fmax(_NanIgnoringExtreme):
    f = staticmethod(np.fmax)
    _wins = staticmethod(np.greater_equal)
    _strict = staticmethod(np.greater)


class Fmin(_NanIgnoringExtreme):
    f = staticmethod(np.fmin)
    _wins = staticmethod(np.less_equal)
    _strict = staticmethod(np.less_equal)  # (torch: a tie takes ta for fmin, tb for fmax)


def _extreme(cls: type, op: str, input: Any, other: Any) -> Tensor:  # noqa: A002
    a, b = _tensor_argument(op, "input", 1, input), _tensor_argument(op, "other", 2, other)
    _no_complex(op, a, b)
    if a._data.dtype.kind not in "fV" and b._data.dtype.kind not in "fV":  # V: bfloat16
        a, b = promote(op, a, b)  # integers/bool: no NaN, no gradient; NumPy's fmax is exact
        xp = get_array_module(a._data, b._data)
        try:
            return constant(xp.asarray(cls.f(a._data, b._data)))
        except ValueError:
            raise ValueError(
                f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast"
            ) from None
    return _call(cls, op, a, b)


@tensor_method(keywords=True)
def fmax(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The elementwise maximum, where a NaN loses to a number (``torch.fmax``; NumPy's
    fmax). Gradient to the chosen input; a tie goes to ``input``."""
    return _extreme(Fmax, "fmax", input, other)


@tensor_method(keywords=True)
def fmin(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The elementwise minimum, where a NaN loses to a number (``torch.fmin``; NumPy's
    fmin). Gradient to the chosen input; a tie goes to ``input``."""
    return _extreme(Fmin, "fmin", input, other)


# ------------------------------------------------------------------------- frexp / ldexp
"""``frexp``'s result, with PyTorch's field names (``torch.return_types.frexp``)."""


@tensor_method(keywords=True)
def frexp(input: Any) -> return_types.frexp:  # noqa: A002 - PyTorch's name
    """``(mantissa, exponent)`` with ``input = mantissa * 2 ** exponent`` and
    ``0.5 <= |mantissa| < 1`` (``torch.frexp``; floating input only; the exponent is int32).
    The mantissa is ``input * 2 ** -exponent`` with the exponent held constant, so its
    gradient is ``2 ** -exponent``, as PyTorch's; the exponent has none."""
    x = as_tensor(input)
    _refuse_float8("frexp_cpu", x)
    if not dtypes.is_floating(x._data.dtype):
        raise RuntimeError(
            f"torch.frexp() only supports floating-point dtypes (got {x.dtype.name}); use .float()"
        )
    xp = get_array_module(x._data)
    # bfloat16 (no NumPy frexp/ldexp loops) through float32: its values and exponent range
    # are float32's, and the powers of two below are exact in bfloat16
    arr = x._data.astype(np.float32) if dtypes.is_bfloat16(x._data.dtype) else x._data
    _, e = xp.frexp(arr)
    e = xp.asarray(e).astype(np.int32, copy=False)  # (a 0-d input: a read-only NumPy scalar)
    one = xp.ones_like(arr)
    if (e < xp.finfo(arr.dtype).minexp).any():
        # a subnormal input: 2 ** -e overflows (2 ** 1073 for 5e-324), so the exact scaling
        # goes in two powers of two; the gradient, their product, is then inf as PyTorch's
        first = -e // 2
        with np.errstate(over="ignore"):
            mantissa = mul(mul(x, _power_of_two(one, first, x)), _power_of_two(one, -e - first, x))
        return return_types.frexp(mantissa, constant(e))
    return return_types.frexp(mul(x, _power_of_two(one, -e, x)), constant(e))


def _power_of_two(one: Any, k: Any, like: Tensor) -> Tensor:
    """The constant ``2 ** k`` (elementwise) in ``like``'s dtype."""
    return constant(get_array_module(one).ldexp(one, k).astype(like._data.dtype, copy=False))


class Ldexp(BinaryElementwise):
    """a * 2^b. d/da = 2^b, d/db = y ln 2: from b and the result, what PyTorch saves (the
    result whichever input needs a gradient, as PyTorch)."""

    node_name = ("LdexpBackward0", (0, 1))  # both listed, (None, 0) without a gradient
    saved_fields = {"other": 1, "result": 2}
    saves_a = "by"
    saves_b = "y"

    @staticmethod
    def f(a, b):
        return a * get_array_module(a, b).exp2(b)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return pow(2.0, b)

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return y * _LN2


class LdexpIntegerOther(Ldexp):
    """``ldexp(x, integer_tensor)``: PyTorch's node shows the integer exponent it was given
    (chainrule computes with it cast to the result's dtype)."""

    saved_fields = {"other": tensor_field(lambda node: given_value(node, "other")), "result": 2}


def _ldexp_dtype(a: Tensor, b: Tensor) -> np.dtype:
    """PyTorch's result dtype for ldexp: the promoted dtype of the two tensors (a 0-d operand
    of a lower category does not win), the default float if that is not floating."""
    pa = constant(np.zeros((1,) * min(a.ndim, 1), dtype=a._data.dtype))
    pb = constant(np.zeros((1,) * min(b.ndim, 1), dtype=b._data.dtype))
    dt = promote("ldexp", pa, pb)[0]._data.dtype
    return dt if dtypes.is_floating(dt) else np.dtype(dtypes.get_default_dtype())


@tensor_method(inplace=True, keywords=True)
def ldexp(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input * 2 ** other`` (``torch.ldexp``, both tensors; integer operands give the
    default float; complex operands are composed from ``mul`` and ``pow``). Gradients:
    ``2 ** other`` for input, ``result * ln 2`` for other.

    Deliberate difference: PyTorch's gradient for input is ``grad * pow(2, other)`` in
    integer arithmetic when ``other`` is an integer tensor, so it is 0 wherever other < 0
    (``ldexp(x, -2)`` has gradient 0, not 1/4); chainrule gives the true ``2 ** other``."""
    a = _tensor_argument("ldexp", "input", 1, input)
    b = _tensor_argument("ldexp", "other", 2, other)
    if a._data.dtype.kind == "c" or b._data.dtype.kind == "c":  # composed, as PyTorch's
        return mul(a, pow(2.0, b))
    target = _ldexp_dtype(a, b)
    a = a if a._data.dtype == target else cast(a, target)
    if b._data.dtype == target:
        return _call(Ldexp, "ldexp", a, b)
    if b._data.dtype.kind in "biu":
        return given(_call(LdexpIntegerOther, "ldexp", a, cast(b, target)), other=b)
    return _call(Ldexp, "ldexp", a, cast(b, target))


# ----------------------------------------------------------------------------- logaddexp2
class LogAddExp2(BinaryElementwise):
    """log2(2^a + 2^b) without overflow; d/da = 2^a / (2^a + 2^b) = sigmoid((a - b) ln 2),
    d/db = sigmoid((b - a) ln 2), from the inputs (what PyTorch saves)."""

    node_name = ("Logaddexp2Backward0", (0, 1))  # PyTorch's spelling
    saves_a = saves_b = "ab"

    @staticmethod
    def f(a, b):
        with np.errstate(over="ignore", invalid="ignore"):
            return get_array_module(a, b).logaddexp2(a, b)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return sigmoid((a - b) * _LN2)

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return sigmoid((b - a) * _LN2)

    # PyTorch's form, g / (1 + 2^(b - a)) (bit-equal in bfloat16)
    @staticmethod
    def chain_a(ctx, g, a, b, y):
        return g / (exp2(b - a) + 1)

    @staticmethod
    def chain_b(ctx, g, a, b, y):
        return g / (exp2(a - b) + 1)


@tensor_method(keywords=True)
def logaddexp2(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """log2(2 ** input + 2 ** other) without overflow (``torch.logaddexp2``; floating
    tensors). d/dinput = ``2 ** input / (2 ** input + 2 ** other)``."""
    for pos, (name, v) in enumerate((("input", input), ("other", other)), 1):
        _tensor_argument("logaddexp2", name, pos, v)
    a, b = promote("logaddexp2", input, other)  # float32 with int32 is float32, as PyTorch
    if not dtypes.is_floating(a._data.dtype):
        raise NotImplementedError(
            f"logaddexp2: not implemented for {a.dtype} (floating tensors only); use .float()"
        )
    return _call(LogAddExp2, "logaddexp2", a, b)


# ------------------------------------------------------------------ no gradient: tests, lcm
@tensor_method(inplace=True, keywords=True)
def lcm(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The least common multiple, elementwise (non-negative; ``lcm(0, x) = 0``;
    ``torch.lcm``; integer tensors only, no gradient)."""
    a, b = _tensor_argument("lcm", "input", 1, input), _tensor_argument("lcm", "other", 2, other)
    a, b = promote("lcm", a, b)
    if a._data.dtype.kind not in "iu":
        raise DtypeError(f"lcm: not implemented for {a.dtype} (integer tensors only)")
    xp = get_array_module(a._data, b._data)
    try:
        return constant(xp.asarray(xp.lcm(a._data, b._data)))
    except ValueError:
        raise ValueError(
            f"lcm: shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast"
        ) from None


def _infinity_test(op: str, input: Any, sign: int) -> Tensor:  # noqa: A002
    x = as_tensor(input)
    if x._data.dtype.kind == "c":
        raise RuntimeError(f"{op} does not support complex inputs.")
    _refuse_float8(op + "_cpu", x)
    d = x._data
    xp = get_array_module(d)
    if d.dtype.kind not in "fV":  # V: bfloat16
        return constant(xp.zeros(d.shape, dtype=bool))
    return constant(xp.asarray(d == sign * xp.inf))


@tensor_method(keywords=True)
def isneginf(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """Whether each element is -inf (bool; never for integers; ``torch.isneginf``)."""
    return _infinity_test("isneginf", input, -1)


@tensor_method(keywords=True)
def isposinf(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """Whether each element is +inf (bool; never for integers; ``torch.isposinf``)."""
    return _infinity_test("isposinf", input, 1)


@tensor_method
def isreal(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """Whether each element has a zero imaginary part (all True for real dtypes;
    ``torch.isreal``)."""
    x = as_tensor(input)
    d = x._data
    xp = get_array_module(d)
    if d.dtype.kind != "c":
        return constant(xp.ones(d.shape, dtype=bool))
    return constant(xp.asarray(d.imag == 0))


# ----------------------------------------------------------------------- positive / rsub
@tensor_method
def positive(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``+input``: the tensor itself (``torch.positive``; bool tensors raise, as PyTorch)."""
    x = _tensor_argument("positive", "input", 1, input)
    if x._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return x


def rsub(input: Any, other: Any, alpha: Any = 1) -> Tensor:  # noqa: A002 - PyTorch's name
    """``other - alpha * input`` (``torch.rsub``, subtraction with the operands swapped;
    ``other`` may be a number). Gradients: ``-alpha`` for input, 1 for other."""
    x = _tensor_argument("rsub", "input", 1, input)
    try:
        return reversed_sub(x, other, None if _is_one(alpha) else alpha)
    except NAMED_ERRORS as err:
        lead_with("rsub", err)
        raise


def _is_one(alpha: Any) -> bool:
    return not isinstance(alpha, (Tensor, bool)) and alpha == 1


# ------------------------------------------------------------- Tensor-only (see ops/__init__)
def hardshrink_method(self: Tensor, lambd: float = 0.5) -> Tensor:
    """``Tensor.hardshrink``: ``nn.functional.hardshrink(self, lambd)``."""
    from ..nn.functional import hardshrink  # noqa: PLC0415 - in here: nn.functional imports ops

    return hardshrink(self, lambd)


def log10_method_(self: Tensor) -> Tensor:
    """``Tensor.log10_``: one ``Log10Backward0`` node, as PyTorch's, whose saved input is a
    private copy of the old value (the in-place machinery's ``original_self``). A complex
    tensor's log10 is composed (``log(x) / ln 10``), so it runs on a clone there
    (``composite_result``) and the write cannot spoil what its inner ``log`` saved."""
    return _log_of_base_(self, "log10", log10)


def log2_method_(self: Tensor) -> Tensor:
    """``Tensor.log2_`` (one ``Log2Backward0`` node, as :func:`log10_method_`)."""
    return _log_of_base_(self, "log2", log2)


def _log_of_base_(self: Tensor, name: str, fn: Any) -> Tensor:
    if isinstance(self, Tensor) and self._data.dtype.kind == "c":
        return composite_result(self, True, name, fn)
    return apply_inplace(self, name + "_", fn)
