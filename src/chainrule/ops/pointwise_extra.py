"""More pointwise ops of PyTorch: addcmul, addcdiv, frac, float_power (differentiable) and
nextafter (the gradient passes to input, as in PyTorch); signbit, heaviside, gcd (no gradient,
as in PyTorch).

addcmul and addcdiv (``input + value * t1 * t2``, ``input + value * t1 / t2``) are what
optimizers written for PyTorch call (``exp_avg_sq.addcmul_(g, g, value=1 - beta2)``). Three
tensors of one floating dtype make one node (``AddcmulBackward0``/``AddcdivBackward0`` of
``fused_pointwise.py``); other cases are compositions of mul/div/add, so their promotion and
errors are those ops'. float_power computes in float64 (complex128 for complex input), as
PyTorch. The non-differentiable ops return constant tensors (PyTorch's raise in backward
instead).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..float8 import refuse as _refuse_float8
from ._raw_checks import tensor_argument
from ._util import (
    NAMED_ERRORS,
    DtypeError,
    as_tensor,
    check_broadcast,
    constant,
    lead_with,
    operands_broadcast_error,
    promote,
    promote_tensors,
)
from .binary import add, div, mul
from .binding import tensor_method
from .cast import cast
from .elementwise import BinaryElementwise, UnaryElementwise
from .fused_pointwise import Addcdiv, Addcmul
from .inplace import apply_inplace
from .no_derivative import record_no_derivative
from .power import pow

__all__ = [
    "addcdiv",
    "addcmul",
    "float_power",
    "frac",
    "gcd",
    "heaviside",
    "nextafter",
    "signbit",
]


# ------------------------------------------------------------------------- addcmul/addcdiv
def _value(value: Any, *tensors: Any) -> Any:
    """``value`` as PyTorch uses it: cast to the result dtype, so with all-integer operands a
    fractional value is truncated (``addcmul(int, int, int, value=0.5)`` adds nothing)."""
    integral = all(isinstance(t, Tensor) and t._data.dtype.kind in "iub" for t in tensors)
    if integral and isinstance(value, (float, np.floating)):
        return int(value)
    return value


@tensor_method(inplace=True, keywords=True)
def addcmul(input: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:  # noqa: A002
    """``input + value * tensor1 * tensor2`` elementwise, with broadcasting
    (``torch.addcmul``)."""
    value = _value(value, input, tensor1, tensor2)
    input, tensor1, tensor2 = _common_dtype(input, tensor1, tensor2)
    if isinstance(input, Tensor) and input._data.dtype.kind == "b":
        raise DtypeError(
            "addcmul: \"addcmul_cpu_out\" not implemented for 'Bool' (as PyTorch); convert "
            "the operands with .long() or .float() first"
        )
    if _one_node(input, tensor1, tensor2, value):  # AddcmulBackward0, as PyTorch
        return Addcmul.apply(input, tensor1, tensor2, value=value)
    try:
        prod = mul(tensor1, tensor2)
        return add(input, prod if _is_one(value) else mul(prod, value))
    except NAMED_ERRORS as err:
        _three_shapes("addcmul", input, tensor1, tensor2)
        lead_with("addcmul", err)
        raise


@tensor_method(inplace=True, keywords=True)
def addcdiv(input: Any, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:  # noqa: A002
    """``input + value * tensor1 / tensor2`` elementwise, with broadcasting
    (``torch.addcdiv``). Two integer tensors to divide raise, as in PyTorch."""
    if all(isinstance(t, Tensor) and t._data.dtype.kind in "iub" for t in (tensor1, tensor2)):
        raise RuntimeError(
            "addcdiv: integer division with addcdiv is not supported (as in PyTorch); use "
            "input + value * tensor1 / tensor2 for true division, or convert with .float()"
        )
    input, tensor1, tensor2 = _common_dtype(input, tensor1, tensor2)
    if _one_node(input, tensor1, tensor2, value):  # AddcdivBackward0, as PyTorch
        return Addcdiv.apply(input, tensor1, tensor2, value=value)
    try:
        quot = div(tensor1, tensor2)
        return add(input, quot if _is_one(value) else mul(quot, value))
    except NAMED_ERRORS as err:
        _three_shapes("addcdiv", input, tensor1, tensor2)
        lead_with("addcdiv", err)
        raise


def _three_shapes(op: str, x: Any, t1: Any, t2: Any) -> None:
    """PyTorch's broadcast error of the three operands, in its order (input, tensor1,
    tensor2), the hint naming ``op`` (not the inner ``mul``/``div``); error path only."""
    shapes = [t.shape for t in (x, t1, t2) if isinstance(t, Tensor)]
    err = operands_broadcast_error(op, *shapes) if len(shapes) > 1 else None
    if err is not None:
        raise err from None


def _common_dtype(x: Any, t1: Any, t2: Any) -> tuple:
    """The three tensors in PyTorch's common dtype of all three, before any product or
    quotient: ``tensor1 * tensor2`` is not promoted on its own (a 0-d float64 ``tensor2``
    leaves a float32 ``input``'s result float32; int ``tensor1`` over float16 ``tensor2``
    divides in float32 beside a float32 ``input``)."""
    if not (isinstance(x, Tensor) and isinstance(t1, Tensor) and isinstance(t2, Tensor)):
        return x, t1, t2
    dt = x._data.dtype
    if t1._data.dtype is dt and t2._data.dtype is dt:  # the common case: nothing to do
        return x, t1, t2
    return promote_tensors(x, t1, t2)


def _one_node(x: Any, t1: Any, t2: Any, value: Any) -> bool:
    """Whether ``addcmul``/``addcdiv`` run as one node: three floating or complex tensors of
    one dtype whose shapes broadcast, and a real number ``value`` (other cases are composed,
    with the promotion and the errors of ``mul``/``div``/``add``)."""
    if not (isinstance(x, Tensor) and isinstance(t1, Tensor) and isinstance(t2, Tensor)):
        return False
    dt = x._data.dtype
    if dt.kind not in "fcV" or t1._data.dtype != dt or t2._data.dtype != dt:
        return False
    if type(value) not in (int, float) or type(x._data) is not type(t1._data):
        return False
    try:
        np.broadcast_shapes(x.shape, t1.shape, t2.shape)
    except ValueError:
        return False
    return type(t1._data) is type(t2._data)


def _is_one(value: Any) -> bool:
    return not isinstance(value, Tensor) and value == 1 and not isinstance(value, bool)


# ------------------------------------------------------------------------------- frac
class Frac(UnaryElementwise):
    """x - trunc(x) (the sign of x kept); d/dx = 1."""

    saves = ""

    @staticmethod
    def f(x):
        with np.errstate(invalid="ignore"):  # frac(+-inf) is NaN, as PyTorch
            return x - get_array_module(x).trunc(x)

    @staticmethod
    def derivative(ctx, x, y):
        return 1


@tensor_method(inplace=True, keywords=True)
def frac(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The fractional part, ``input - trunc(input)`` (``torch.frac``; floating only)."""
    x = as_tensor(input)
    if not dtypes.is_floating(x._data.dtype):
        raise DtypeError(f"frac: not implemented for {x.dtype} (floating tensors only)")
    return Frac.apply(x)


# ------------------------------------------------------------------------- float_power
def _double(v: Any, complex_: bool) -> Any:
    target = np.complex128 if complex_ else np.float64
    if isinstance(v, Tensor):
        return v if v._data.dtype == target else cast(v, target)
    return complex(v) if complex_ else v


@tensor_method(keywords=True)
def float_power(input: Any, exponent: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input ** exponent`` computed in float64 (complex128 for complex operands), as
    ``torch.float_power``; either may be a number."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): expected at least one of input and exponent to be a Tensor")
    cplx = any(
        isinstance(v, complex) or isinstance(v, Tensor) and v._data.dtype.kind == "c"
        for v in (input, exponent)
    )
    try:
        return pow(_double(input, cplx), _double(exponent, cplx))
    except NAMED_ERRORS as err:
        lead_with("float_power", err)
        raise


def float_power_(self: Tensor, exponent: Any) -> Tensor:
    """``Tensor.float_power_``: in place, so the tensor must already be float64 (or
    complex128), as PyTorch requires."""
    cplx = isinstance(exponent, complex) or (
        isinstance(exponent, Tensor) and exponent._data.dtype.kind == "c"
    )
    want = np.dtype(np.complex128 if cplx or self._data.dtype.kind == "c" else np.float64)
    if self._data.dtype != want:
        raise RuntimeError(
            f"float_power_: the base given to float_power_ has dtype {self.dtype} but the "
            f"operation's result requires dtype {want}; convert it with .double() first"
        )
    return apply_inplace(self, "float_power_", float_power, exponent)


# ---------------------------------------------------------------- no gradient: bool/ints
@tensor_method(keywords=True)
def signbit(input: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """Whether the sign bit is set (True for -0.0 and negative NaN too; ``torch.signbit``)."""
    x = as_tensor(input)
    d = x._data
    xp = get_array_module(d)
    if d.dtype.kind == "c":
        raise RuntimeError("signbit: not implemented for complex tensors")
    _refuse_float8("signbit_cpu", x)
    if d.dtype.kind in "bu":
        return constant(xp.zeros(d.shape, dtype=bool))
    return constant(xp.asarray(xp.signbit(d)))


def _same_dtype_pair(op: str, a: Any, b: Any, names: tuple = ("input", "other")) -> tuple:
    a = tensor_argument(op, names[0], 1, a)
    b = tensor_argument(op, names[1], 2, b)
    check_broadcast(op, a, b)
    return a, b


@tensor_method(inplace=True, keywords=True)
def heaviside(input: Any, values: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The step function: 0 where input < 0, ``values`` where input == 0, 1 where input > 0
    (NaN counts as neither, giving 0, as PyTorch). ``input`` and ``values`` must have the
    same dtype (``torch.heaviside``)."""
    x = tensor_argument("heaviside", "input", 1, input)
    v = tensor_argument("heaviside", "values", 2, values)
    # PyTorch's meta function checks, in its order and words, before broadcasting
    xd, vd = x._data, v._data
    if xd.dtype.kind == "c" or vd.dtype.kind == "c":
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if xd.dtype != vd.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    check_broadcast("heaviside", x, v)
    _refuse_float8("heaviside_cpu", x, v)
    xp = get_array_module(xd, vd)
    out = xp.where(xd == 0, vd, xd > 0).astype(xd.dtype, copy=False)  # (an array already:
    return record_no_derivative("heaviside", constant(out), x, v)  # vmap's has no asarray)


@tensor_method(inplace=True, keywords=True)
def nextafter(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The next floating-point value after ``input`` towards ``other`` (``torch.nextafter``;
    floating tensors only)."""
    a, b = _same_dtype_pair("nextafter", input, other)
    a, b = promote("nextafter", a, b)
    if not dtypes.is_floating(a._data.dtype):
        raise DtypeError(f"nextafter: not implemented for {a.dtype} (real floating tensors only)")
    return Nextafter.apply(a, b)


class Nextafter(BinaryElementwise):
    """The next float after a towards b. PyTorch's rule: d/da = 1 where a != b (the
    gradient passes to input; 0 where a == b, the result is then b), zeros for other; the
    tangent is input's alone (None from other's)."""

    node_name = ("NextafterBackward0", (0, 1))
    saves_a = "ab"
    saves_b = ""

    @staticmethod
    def f(a, b):
        return get_array_module(a, b).nextafter(a, b)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return constant((a._data != b._data).astype(a._data.dtype, copy=False))

    @classmethod
    def chain_b(cls, ctx, g, a, b, y):
        return constant(get_array_module(g._data).zeros_like(g._data))

    @classmethod
    def jvp(cls, ctx, ta, tb):
        return None if ta is None else super().jvp(ctx, ta, None)


@tensor_method(inplace=True, keywords=True)
def gcd(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    """The greatest common divisor, elementwise (non-negative; ``gcd(0, 0) = 0``;
    ``torch.gcd``; integer tensors only)."""
    a, b = _same_dtype_pair("gcd", input, other)
    a, b = promote("gcd", a, b)
    if a._data.dtype.kind not in "iu":
        raise DtypeError(f"gcd: not implemented for {a.dtype} (integer tensors only)")
    xp = get_array_module(a._data, b._data)
    return constant(xp.asarray(xp.gcd(a._data, b._data)))
