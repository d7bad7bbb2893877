"""Powers: ``a ** b`` of tensors and numbers, with PyTorch's promotion, its integer rules
(negative integer exponents) and the exponents it computes by a formula rather than ``pow``.

Split from ``binary.py``: the power has more special cases than the other arithmetic ops
(bit-equal ``x ** -0.5``, integer powers, derivative conventions at 0 and for complex bases).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.ieee import fp_ignoring
from ..autograd.saved_fields import saved_number  # grad_fn._saved_* helpers
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import bfloat16_dtype, is_floating
from ..scalar_range import fit_scalar
from ._first_order import grad_array, grad_tensor, plain_array
from ._util import DtypeError, as_tensor, promote, wrap_int_scalar
from .binary import Mul, _call, where
from .binding import tensor_method
from .elementwise import BinaryElementwise
from .input_first_grads import plain_layout
from .overload_errors import is_number_or_tensor, number_or_tensor_error
from .unary import log

_PLAIN_EXPONENTS = frozenset((int, float, Tensor))  # the fast test of pow's exponent type

__all__ = ["pow"]

# np.errstate(<events>="ignore")'s setting, entered in 0.4 us, not 1.1 (ieee.fp_ignoring)
_IGNORE_INVALID = fp_ignoring("invalid")


_POW_SPECIAL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _pow_special(xp: Any, a: Any, b: float) -> Any:
    """``a ** b`` for the scalar exponents PyTorch computes by a formula rather than ``pow``
    (``x ** -0.5`` is ``rsqrt``, ``1 / sqrt(x)``; ``x ** -2`` is ``1 / (x * x)``; ``x ** 3``
    is ``x * x * x``): NumPy's ``power`` differs from those in the last bit for about a
    quarter of the inputs, which BatchNorm-style ``(var + eps) ** -0.5`` then carries on."""
    one = a.dtype.type(1)
    if b == -0.5:
        return one / xp.sqrt(a)
    if b == -2:
        return one / (a * a)
    return a * a * a


def _half_power(a: Any, b: float, half: str) -> Any:
    """float16/bfloat16 ``a ** b`` for a number ``b`` (already rounded to that dtype, as
    PyTorch converts it), as PyTorch's CPU kernels compute it: ``x * x`` for 2, ``1/sqrt``
    for -0.5; for 3 and -2, ``x * x`` rounded to bfloat16 before the last step in bfloat16
    (its vectorised arithmetic rounds each step) and not in float16; other exponents in
    float64, rounded once. ``a`` arrives in float32 for bfloat16 (``elementwise.py`` rounds
    the result), in float16 for float16."""
    x = a.astype(np.float32)
    if b == 2:
        y = x * x
    elif b == -0.5:
        y = np.float32(1) / np.sqrt(x)
    elif b in (3, -2):
        sq = x * x
        if half == "bfloat16":
            sq = sq.astype(bfloat16_dtype()).astype(np.float32)
        y = sq * x if b == 3 else np.float32(1) / sq
    else:
        y = np.power(x.astype(np.float64), b).astype(np.float32)
    return y if half == "bfloat16" else y.astype(np.float16)


def _number(ctx: Any) -> Any:
    """The Python number of ``x ** number`` or ``number ** x`` as the caller gave it (before
    rounding to the tensor's dtype), or None."""
    params = vars(ctx).get("params")  # not getattr: a node's miss names it, by its edges
    return None if params is None else params.get("number")


def _exponent(node: Any) -> Any:
    """PowBackward0's ``_saved_exponent``: the number as given (kept by ``Pow.forward``)."""
    d = vars(node)
    return d["exponent"] if "exponent" in d else saved_number(node, 1)


def _row_major_power(ctx: Any, y: Any, b: Any) -> Any:
    """``number ** x``'s result ``y`` row-major, as PyTorch's ``pow(Scalar, Tensor)``
    allocates it whatever ``x``'s layout (a channels-last or transposed ``x``), the saved
    result swapped for it; ``y`` itself where ``x`` carries a layout mark (its marks carry
    PyTorch's layout: ``_layout_carry.py``)."""
    if y.ndim < 2 or not plain_layout(b):
        return y
    laid = np.ascontiguousarray(y)
    saved = getattr(ctx, "_saved", None)
    if saved:
        ctx._saved = tuple(laid if v is y else v for v in saved)
    return laid


class Pow(BinaryElementwise):
    """a ** b; d/da = b a^(b-1) (0 where b == 0), d/db = a^b log a (0 where a == 0 and
    b >= 0, NaN for a negative a, as PyTorch; for complex a, 0 where a == 0)."""

    @staticmethod
    def node_name(ctx):  # PyTorch: x ** 2 PowBackward0, x ** y PowBackward1, 2 ** x PowBackward2
        a, b = ctx.next_edges
        if b is None:
            return "PowBackward0", (0,)
        return ("PowBackward2", (1,)) if a is None else ("PowBackward1", (0, 1))

    saves_a = "ab"
    saves_b = "aby"

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_*: PyTorch's PowBackward0 / 1 / 2 (saved_fields.py)
        name = node.name()
        if name == "PowBackward0":  # the number kept by forward: readable after backward
            return {"exponent": _exponent, "self": 0}
        return {"exponent": 1, "result": 2, "self": 0 if name == "PowBackward1" else _number}

    @classmethod
    def forward(cls, ctx, a, b, **params):  # keeps a number exponent as given (above)
        if type(b) in (int, float):
            ctx.exponent = params.get("number", b)
        y = super().forward(ctx, a, b, **params)
        if params and type(b) is np.ndarray and not y.flags.c_contiguous:
            return _row_major_power(ctx, y, b)  # number ** x (its number= or number_base=)
        return y

    @staticmethod
    def f(a, b, half=None, number=None, number_base=False):
        if half is not None:
            return _half_power(a, b, half)
        if isinstance(b, (int, float)) and not isinstance(a, (int, float)):
            if b == 2:
                return a * a
            if b in (-0.5, -2, 3) and getattr(a, "dtype", None) in _POW_SPECIAL_DTYPES:
                return _pow_special(get_array_module(a), a, b)
        return get_array_module(a, b).power(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        # first order, x ** 2 (rms_norm's x.pow(2), a square) on plain float arrays:
        # g * (2 x), the values the recorded rule's g * (x ** 1.0 * 2.0) gives (x ** 1.0 is
        # x exactly), without its three Function.apply calls (16x256 float32 pow(2) forward
        # + backward 68 -> ~52 us, x * x's time; thread_time, min of 9 x 100, under load)
        if ctx.__dict__.get("exponent") == 2 and not ctx.needs_input_grad[1]:
            g = grad_array(ctx, grad)
            if g is not None:
                ad = plain_array(ctx.saved_tensors[0], g)
                if type(ad) is np.ndarray:
                    d = Mul.f(ad, 2.0)
                    return grad_tensor(Mul.f(g, d), g, d), None
        return super().backward(ctx, grad)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        if not isinstance(b, Tensor):
            # a float16/bfloat16 power computes with the exponent rounded to that dtype, its
            # gradient with the number as given (PyTorch; bit-equal in bfloat16)
            number = _number(ctx)
            b = b if number is None else number
            try:
                bv = float(b)
            except TypeError:  # a complex exponent: a ** (b - 1) * b as it is
                bv = b
            return 1 if bv == 1 else 0.0 if bv == 0 else a ** (bv - 1) * bv
        bzero = Tensor._make(b._data == 0, False, None, 0)
        return b * where(bzero, 1.0, a) ** (b - 1)

    @classmethod
    def chain_a(cls, ctx, g, a, b, y):
        """``g * d/da``, 0 where the exponent is 0 whatever ``g`` is (PyTorch writes zeros
        there: a NaN or inf gradient or tangent does not pass an ``x ** 0``)."""
        d = cls.derivative_a(ctx, a, b, y)
        if isinstance(b, Tensor):
            bzero = b._data == 0
            if bzero.any():
                return where(Tensor._make(bzero, False, None, 0), 0.0, g * d)
            return g * d
        if type(d) is float and d == 0.0:  # x ** 0 (a number)
            never = get_array_module(g._data).zeros((), bool)
            return where(Tensor._make(never, False, None, 0), g, 0.0)
        return g if type(d) is int and d == 1 else g * d

    @staticmethod
    def derivative_b(ctx, a, b, y):
        a = as_tensor(a, y)
        d = a._data
        if d.dtype.kind == "c":  # complex a: the principal log, everywhere but 0
            safe = Tensor._make(d != 0, False, None, 0)
            return y * log(where(safe, a, 1.0))
        # real a: PyTorch's a^b log a, 0 only where a == 0 and b >= 0 (the limit from a > 0);
        # a negative base has no real derivative in b (NaN, not a silent 0), 0^-1 gives inf
        number = _number(ctx)
        if type(number) in (int, float) and number > 0:  # number ** b: its log as a number,
            return y * math.log(number)  # not of the number rounded to b's dtype (PyTorch)
        bd = b._data if isinstance(b, Tensor) else np.asarray(b)
        with _IGNORE_INVALID():  # a NaN b compares False
            zero = (d == 0) & (bd >= 0)
        if not zero.any():
            return y * log(a)
        z = Tensor._make(zero, False, None, 0)
        return where(z, 0.0, y * log(where(z, 1.0, a)))


class NegativeIntegerPowerError(ValueError, RuntimeError):
    """An integer tensor to a negative Python-int power. PyTorch raises ``RuntimeError``;
    chainrule has raised ``ValueError``: this is both, so either ``except`` clause catches it."""


@tensor_method(inplace=True, keywords=True)
def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001, A002 - PyTorch's names
    if type(exponent) not in _PLAIN_EXPONENTS and not is_number_or_tensor(exponent):
        raise number_or_tensor_error("pow", [("input", input), ("exponent", exponent)])
    number_base = False  # number ** tensor: PyTorch's result is row-major (_row_major_power)
    if not isinstance(input, Tensor) and isinstance(exponent, Tensor):
        number_base = True
        if type(input) not in _PLAIN_EXPONENTS and not is_number_or_tensor(input):
            raise number_or_tensor_error("pow", [("input", input), ("exponent", exponent)])
        if type(input) in (int, float) and input > 0 and is_floating(exponent._data.dtype):
            base = input  # its gradient takes log(base) of the number as given (PyTorch)
            return _call(Pow, "pow", as_tensor(input, exponent), exponent, number=base)
        if type(input) is int and exponent._data.dtype.kind in "iu":  # wraps, as PyTorch:
            input = wrap_int_scalar(input, exponent._data.dtype)  # (-2) ** uint8 tensor
        input = as_tensor(input, exponent)
    # a number exponent is checked as given, not wrapped into an integer tensor's dtype
    input, exponent = promote("pow", input, exponent, wrap_ints=False)
    bd = exponent._data if isinstance(exponent, Tensor) else exponent
    ad = input._data if isinstance(input, Tensor) else input
    if isinstance(input, Tensor) and ad.dtype.kind == "b":  # both bool (else promoted)
        if type(exponent) is not bool:
            raise DtypeError(
                "pow: \"pow\" not implemented for 'Bool' (as PyTorch); convert a bool tensor "
                "with .long() or .float() first"
            )
        # x ** True is x and x ** False is True: PyTorch keeps bool here
        xp = get_array_module(ad)
        return Tensor._make(ad.copy() if exponent else xp.ones_like(ad), False, None, 0)
    a_int = isinstance(input, Tensor) and ad.dtype.kind in "iu" or isinstance(input, int)
    b_int = isinstance(exponent, Tensor) and bd.dtype.kind in "iu" or type(exponent) is int
    if a_int and b_int:
        if type(exponent) is int and exponent < 0:
            raise NegativeIntegerPowerError(
                "Integers to negative integer powers are not allowed. (pow: make "
                "the base or the exponent floating, e.g. x.float() ** -1)"
            )
        if type(exponent) is int:  # PyTorch's RuntimeError where it does not fit the dtype
            fit_scalar("pow", exponent, ad.dtype)
        xp = get_array_module(ad, bd)
        if bool(xp.any(xp.asarray(bd) < 0)):  # NumPy raises here; PyTorch computes
            return Tensor._make(_int_power(xp, ad, bd), False, None, 0)
    if type(exponent) in (int, float) and isinstance(input, Tensor):
        half = "float16" if ad.dtype == np.float16 else "bfloat16" if ad.dtype.kind == "V" else None
        if half is not None:  # the exponent in the tensor's dtype, as PyTorch converts it
            fit_scalar("pow", exponent, ad.dtype)  # PyTorch's RuntimeError beyond its range
            rounded = float(np.float32(exponent).astype(ad.dtype))
            return _call(Pow, "pow", input, rounded, half=half, number=exponent)
    if number_base:
        return _call(Pow, "pow", input, exponent, number_base=True)
    return _call(Pow, "pow", input, exponent)


def _int_power(xp: Any, base: Any, exp: Any) -> Any:
    """Integer power with negative exponents as PyTorch: 1 ** -n = 1, (-1) ** -n = +-1 and
    any other base ** -n = 0 (the integer part of 1 / base ** n)."""
    base, exp = xp.broadcast_arrays(xp.asarray(base), xp.asarray(exp))
    pos = xp.power(base, xp.where(exp < 0, 0, exp))
    neg = xp.where(base == 1, 1, xp.where(base == -1, 1 - 2 * (exp % 2), 0))
    return xp.where(exp < 0, neg, pos).astype(xp.result_type(base, exp), copy=False)
