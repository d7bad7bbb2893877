"""Elementwise ops without a gradient: comparisons, logical and bitwise ops, NaN/inf tests.

Each returns a constant Tensor (bool for comparisons and tests, the promoted integer or bool
dtype for bitwise ops), with broadcasting and PyTorch's type promotion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._layout_carry import carry_elementwise_marks
from .._layout_marks import LAYOUT_MARKS
from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..float8 import is_float8
from ..float8 import refuse as _refuse_float8
from ..meta.array import ITEM_ERROR, MetaArray
from ..meta.results import refuse_meta
from ..size import Size
from ._array_operands import user_call
from ._result_layout import in_elementwise_layout
from ._tensor_args import first_not_tensor
from ._util import DtypeError, as_tensor, broadcast_error, constant, promote
from .binding import tensor_method
from .inplace import make_inplace
from .invalid_arguments import combination_error

__all__ = [
    "allclose",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "eq",
    "equal",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "less",
    "less_equal",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "ne",
    "not_equal",
]


def _apply(op: str, a: Any, b: Any, fn: Callable) -> Tensor:
    """``fn`` on the promoted raw operands; NumPy's broadcast error becomes one naming ``op``.
    The result is laid out as PyTorch's by both operands' strides (``elementwise_layout``),
    skipped when they are row-major (the common case: a few flag reads)."""
    a, b = promote(op, a, b)
    ad = a._data if isinstance(a, Tensor) else a
    bd = b._data if isinstance(b, Tensor) else b
    xp = get_array_module(ad, bd)
    try:
        r = fn(xp, ad, bd)  # only NumPy scalars need wrapping (a vmap LogicalArray must not)
    except ValueError as err:
        if "broadcast" not in str(err):
            raise
        raise broadcast_error(op, ad, bd) from None  # PyTorch's words, then the op's
    if isinstance(r, (np.generic, bool)):
        return constant(xp.asarray(r))
    r = in_elementwise_layout(r, ad, bd)  # PyTorch's layout
    if LAYOUT_MARKS:  # of a convolution's result (no Function.apply here: _layout_carry.py)
        carry_elementwise_marks(r, ad, bd)
    return constant(r)


# operands PyTorch's comparison parsers refuse from user code (an operator takes an array)
_SEQUENCES = frozenset({np.ndarray, list, tuple, Size})
_COMPARE_FORMS = (
    "(Tensor input, Tensor other, *, Tensor out = None)",
    "(Tensor input, Number other, *, Tensor out = None)",
)


def _refuse_sequence(op: str, a: Any, b: Any) -> None:
    """PyTorch's TypeError for ``eq(x, [1, 2])`` / ``x.lt((1, 2))`` called by user code (its
    overloads take a Tensor or a Number); an operator's call (``x == arr``) goes on."""
    if user_call():
        alias = _ALIASES.get(op)
        names = (op, op + "_") if alias is None else (op, op + "_", alias, alias + "_")
        raise combination_error(names, (("input", a), ("other", b)), _COMPARE_FORMS, _METHOD)


_METHOD = ("(Tensor other)", "(Number other)")
_ALIASES = {"ne": "not_equal", "lt": "less", "le": "less_equal", "gt": "greater"}
_ALIASES["ge"] = "greater_equal"


def _ordered(op: str, a: Any, b: Any) -> None:
    _refuse_float8(op + "_cpu", a, b)  # PyTorch has no float8 order comparisons
    for v in (a, b):
        if isinstance(v, Tensor) and v._data.dtype.kind == "c" or isinstance(v, complex):
            raise DtypeError(  # a TypeError and, as PyTorch's, a NotImplementedError
                f"{op}: complex tensors are not supported by {op} (complex numbers have no order)"
            )


@tensor_method(inplace=True, keywords=True)
def eq(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    if type(other) in _SEQUENCES or type(input) in _SEQUENCES:
        _refuse_sequence("eq", input, other)
    return _apply("eq", input, other, lambda xp, x, y: x == y)


@tensor_method(inplace=True, keywords=True)
def ne(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    if type(other) in _SEQUENCES or type(input) in _SEQUENCES:
        _refuse_sequence("ne", input, other)
    return _apply("ne", input, other, lambda xp, x, y: x != y)


@tensor_method(inplace=True, keywords=True)
def lt(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    if type(other) in _SEQUENCES or type(input) in _SEQUENCES:
        _refuse_sequence("lt", input, other)
    _ordered("lt", input, other)
    return _apply("lt", input, other, lambda xp, x, y: x < y)


@tensor_method(inplace=True, keywords=True)
def le(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    if type(other) in _SEQUENCES or type(input) in _SEQUENCES:
        _refuse_sequence("le", input, other)
    _ordered("le", input, other)
    return _apply("le", input, other, lambda xp, x, y: x <= y)


@tensor_method(inplace=True, keywords=True)
def gt(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    if type(other) in _SEQUENCES or type(input) in _SEQUENCES:
        _refuse_sequence("gt", input, other)
    _ordered("gt", input, other)
    return _apply("gt", input, other, lambda xp, x, y: x > y)


@tensor_method(inplace=True, keywords=True)
def ge(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    if type(other) in _SEQUENCES or type(input) in _SEQUENCES:
        _refuse_sequence("ge", input, other)
    _ordered("ge", input, other)
    return _apply("ge", input, other, lambda xp, x, y: x >= y)


# PyTorch's long names
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


class _ZeroDerivative(Function):
    """A comparison's result (``value``, already in the written tensor's dtype) kept in the
    graph of its tensor ``operands``, with derivative zero: PyTorch's ``eq_`` ... ``ge_`` on
    a tensor in the graph leave it in the graph (``EqBackward1``, ...), so the tensor still
    requires grad and a backward through it gives its inputs a zero gradient."""

    raw = True

    @staticmethod
    def forward(ctx, value, *operands):
        ctx.operand_meta = [(o.shape, o.dtype) for o in operands]
        return value

    @staticmethod
    def backward(ctx, grad):
        xp = get_array_module(grad._data)
        return (None,) + tuple(constant(xp.zeros(s, d)) for s, d in ctx.operand_meta)

    @staticmethod
    def jvp(ctx, *tangents):
        return get_array_module(ctx.out).zeros_like(ctx.out)


def _comparison_inplace(name: str, op: Callable) -> Callable:
    """``Tensor.<name>``: ``op``'s result written into the tensor; when the tensor or ``other``
    requires grad the tensor stays in the graph with a zero derivative (see
    :class:`_ZeroDerivative`), as in PyTorch, instead of becoming a constant."""

    def compare(x: Tensor, other: Any) -> Tensor:
        out = op(x, other)
        if type(x) is not Tensor or not grad_mode.is_grad_enabled():
            return out  # (a vmap batched tensor has its own in-place path)
        operands = [v for v in (x, other) if isinstance(v, Tensor) and v.requires_grad]
        if not operands or x._data.dtype.kind not in "fc":
            return out
        return _ZeroDerivative.apply(out._data.astype(x._data.dtype), *operands)

    compare.__name__ = op.__name__
    return make_inplace(name, compare)


# Tensor.eq_ ... ge_ and the long names' in-place forms (bound in ops/__init__.py's
# _TENSOR_ONLY, replacing the plain in-place forms that ``@tensor_method`` makes)
COMPARISONS_INPLACE = {
    name + "_": _comparison_inplace(name + "_", op)
    for name, op in (
        ("eq", eq),
        ("ne", ne),
        ("lt", lt),
        ("le", le),
        ("gt", gt),
        ("ge", ge),
        ("not_equal", ne),
        ("less", lt),
        ("less_equal", le),
        ("greater", gt),
        ("greater_equal", ge),
    )
}


# Python sequences PyTorch's logical_and/or/xor (and their in-place forms) refuse: their
# ``other`` is a Tensor only ("must be Tensor, not tuple"), where NumPy would convert them
_LISTS = frozenset({list, tuple, Size})


@tensor_method(inplace=True, keywords=True)
def logical_and(input: Any, other: Any) -> Tensor:
    if type(other) in _LISTS or type(input) in _LISTS:
        raise first_not_tensor(("logical_and",), (("input", input), ("other", other)))
    _refuse_float8("logical_and_cpu", input, other)
    return _apply("logical_and", input, other, lambda xp, x, y: xp.logical_and(x, y))


@tensor_method(inplace=True, keywords=True)
def logical_or(input: Any, other: Any) -> Tensor:
    if type(other) in _LISTS or type(input) in _LISTS:
        raise first_not_tensor(("logical_or",), (("input", input), ("other", other)))
    _refuse_float8("logical_or_cpu", input, other)
    return _apply("logical_or", input, other, lambda xp, x, y: xp.logical_or(x, y))


@tensor_method(inplace=True, keywords=True)
def logical_xor(input: Any, other: Any) -> Tensor:
    if type(other) in _LISTS or type(input) in _LISTS:
        raise first_not_tensor(("logical_xor",), (("input", input), ("other", other)))
    _refuse_float8("logical_xor_cpu", input, other)
    return _apply("logical_xor", input, other, lambda xp, x, y: xp.logical_xor(x, y))


@tensor_method(inplace=True, keywords=True)
def logical_not(input: Any) -> Tensor:
    input = as_tensor(input)
    _refuse_float8("logical_not_cpu", input)
    return constant(get_array_module(input._data).logical_not(input._data))


# ------------------------------------------------------------------------------ bitwise
def _integral(op: str, *vals: Any) -> None:
    for v in vals:
        kind = (
            v._data.dtype.kind
            if isinstance(v, Tensor)
            else (
                "b"
                if isinstance(v, bool)  # a NumPy bool is a float to PyTorch
                else "i"
                if isinstance(v, (int, np.integer))
                else "f"
            )
        )
        if kind not in "iub":
            dt = v.dtype if isinstance(v, Tensor) else "float" if kind == "f" else type(v).__name__
            raise DtypeError(  # a TypeError and, as PyTorch's, a NotImplementedError
                f"{op}: only integer and bool tensors are supported, got {dt}; "
                "for masks of floats compare first (e.g. x > 0)"
            )


@tensor_method(inplace=True, keywords=True)
def bitwise_and(input: Any, other: Any) -> Tensor:
    """a & b bit by bit (logical and for bool tensors)."""
    _integral("bitwise_and", input, other)
    return _apply("bitwise_and", input, other, lambda xp, x, y: xp.bitwise_and(x, y))


@tensor_method(inplace=True, keywords=True)
def bitwise_or(input: Any, other: Any) -> Tensor:
    _integral("bitwise_or", input, other)
    return _apply("bitwise_or", input, other, lambda xp, x, y: xp.bitwise_or(x, y))


@tensor_method(inplace=True, keywords=True)
def bitwise_xor(input: Any, other: Any) -> Tensor:
    _integral("bitwise_xor", input, other)
    return _apply("bitwise_xor", input, other, lambda xp, x, y: xp.bitwise_xor(x, y))


@tensor_method(inplace=True, keywords=True)
def bitwise_not(input: Any) -> Tensor:
    """~a: bit inversion for integers, logical not for bool."""
    input = as_tensor(input)
    _integral("bitwise_not", input)
    return constant(get_array_module(input._data).invert(input._data))


def _shift(op: str, a: Any, b: Any, left: bool) -> Tensor:
    """Shifts as PyTorch: a shift by >= the bit width gives 0 (or -1 for a negative number
    shifted right), where NumPy's result is platform dependent."""
    _integral(op, a, b)

    def fn(xp, x, y):
        # a Python number shifted by a tensor (``1 << t``) takes the promoted tensor's dtype
        scalar_x = not hasattr(x, "dtype")
        x, y = xp.asarray(x), xp.asarray(y)
        if scalar_x:
            x = x.astype(y.dtype)
        if x.dtype.kind == "b":  # both bool (else promoted): PyTorch has no bool shift
            raise DtypeError(f"{op}: not implemented for bool operands; convert with .long() first")
        bits = x.dtype.itemsize * 8
        too_far = (y >= bits) | (y < 0)
        y_safe = xp.where(too_far, 0, y).astype(x.dtype)
        if left:
            out = xp.where(too_far, 0, xp.left_shift(x, y_safe))
        else:
            fill = xp.where(x < 0, -1, 0) if x.dtype.kind == "i" else 0
            out = xp.where(too_far, fill, xp.right_shift(x, y_safe))
        return out.astype(xp.result_type(x, y_safe), copy=False)

    return _apply(op, a, b, fn)


@tensor_method(inplace=True, keywords=True)
def bitwise_left_shift(input: Any, other: Any) -> Tensor:
    """a << b (multiply by 2**b, wrapping around at the dtype's width)."""
    return _shift("bitwise_left_shift", input, other, left=True)


@tensor_method(inplace=True, keywords=True)
def bitwise_right_shift(input: Any, other: Any) -> Tensor:
    """a >> b (arithmetic shift: floor division by 2**b)."""
    return _shift("bitwise_right_shift", input, other, left=False)


# ---------------------------------------------------------------------- tests on values
@tensor_method
def isnan(input: Any) -> Tensor:
    input = as_tensor(input)
    return constant(get_array_module(input._data).isnan(input._data))


@tensor_method
def isinf(input: Any) -> Tensor:
    input = as_tensor(input)
    dt = input._data.dtype
    if is_float8(dt) and dt.name != "float8_e5m2":  # (PyTorch: the one float8 isinf kernel)
        _refuse_float8("isinf", input)
    return constant(get_array_module(input._data).isinf(input._data))


@tensor_method
def isfinite(input: Any) -> Tensor:
    input = as_tensor(input)
    dt = input._data.dtype
    if is_float8(dt) and dt.name not in ("float8_e5m2", "float8_e8m0fnu"):  # (torch's kernels)
        _refuse_float8("isfinite", input)
    return constant(get_array_module(input._data).isfinite(input._data))


@tensor_method
def isclose(
    input: Any, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> Tensor:
    """|a - b| <= atol + rtol * |b| elementwise (bool tensor), as PyTorch."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):  # PyTorch's TypeError
        raise first_not_tensor(("isclose", "allclose"), (("input", input), ("other", other)))
    _refuse_float8("mul_cpu_reduced_float", input, other)  # PyTorch: |a - b| needs float8 mul
    if input.dtype != other.dtype:  # a RuntimeError (PyTorch's "Double did not match Float")
        raise DtypeError(
            f"isclose: {input.dtype} did not match {other.dtype}; "
            "convert one operand with .to(other.dtype)"
        )
    return _apply(
        "isclose",
        input,
        other,
        lambda xp, x, y: xp.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan),
    )


@tensor_method
def allclose(
    input: Any, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> bool:
    """True if ``isclose`` holds everywhere (operands broadcast together)."""
    every = isclose(input, other, rtol, atol, equal_nan)._data.all()
    if type(every) is MetaArray:  # PyTorch reads the answer with item(): none on meta
        raise RuntimeError(ITEM_ERROR)
    return bool(every)


@tensor_method
def equal(input: Any, other: Any) -> bool:
    """True if both have the same shape and the same values."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("equal", (("input", input), ("other", other)))
    _refuse_float8("equal_notnan_cpu", input, other)
    refuse_meta("equal", input, other)  # PyTorch has no meta kernel for it
    return input.shape == other.shape and bool((input._data == other._data).all())
