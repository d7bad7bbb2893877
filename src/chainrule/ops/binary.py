"""Elementwise arithmetic of two tensors (``add``, ``sub``, ``mul``, ``div`` and the
reversed operators ``number - x``, ``number / x``), with broadcasting and PyTorch type
promotion.

Each op is a :class:`BinaryElementwise` stating one partial derivative per input; backward
rules return gradients in the *broadcast* shape and the engine sums them back to each
input's shape, so no rule here handles broadcasting. The other two-input families live
beside it: ``maximum``/``minimum``/``logaddexp`` in ``pairwise_extremes.py`` and ``where``
in ``selection_where.py`` (both re-exported here, where many modules import them from),
the promotion and apply step every one of them shares in ``binary_call.py``, ``pow`` in
``power.py``; comparisons, logical and bitwise ops (no gradient) in ``logical.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.ieee import fp_ignoring
from ..autograd.tensor import Tensor
from ..size import Size
from ..threads import elementwise
from ._array_operands import refuse_user_array
from ._division_grad import plain_div_grads
from ._first_order import grad_array, grad_tensor, plain_array, wrapped
from ._util import broadcast_error, promote
from .binary_call import _call
from .binding import tensor_method
from .elementwise import BinaryElementwise
from .no_derivative import record_zero_derivative
from .number_operands import (
    _check_alpha,
    _fused_multiply_add,
    _half_by_number,
    _in_half_precision,
)
from .pairwise_extremes import (  # noqa: F401 - re-exported (their home before session 38)
    LogAddExp,
    Maximum,
    Minimum,
    logaddexp,
    maximum,
    minimum,
)
from .rounded_division import _rounded_div
from .selection_where import Where, where, where_as  # noqa: F401 - re-exported (many importers)
from .sparse_dense_add import dense_operand
from .sparse_tensor import SPARSE_TYPES
from .unary import cast, reciprocal
from .unset_arguments import ALPHA_UNSET, parser_alpha

__all__ = [
    "add",
    "div",
    "logaddexp",
    "maximum",
    "minimum",
    "mul",
    "sub",
    "true_divide",
    "where",
]


class Add(BinaryElementwise):
    """``a + b``, or ``a + alpha * b`` with ``alpha`` inside the node (PyTorch's one
    ``AddBackward0``, rounded once)."""

    node_name = ("AddBackward0", (0, 1))  # PyTorch's name and the inputs its node lists
    saves_a = saves_b = ""
    saved_fields = {"alpha": lambda n: n.__dict__.get("params", {}).get("alpha", 1)}

    @staticmethod
    def f(a, b, alpha=None):
        if alpha is None:
            return elementwise(np.add, a, b)
        return _fused_multiply_add(a, b, alpha)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return 1

    @staticmethod
    def derivative_b(ctx, a, b, y):
        params = ctx.__dict__.get("params")
        return 1 if params is None else params["alpha"]


class Sub(BinaryElementwise):
    """``a - b``, or ``a - alpha * b`` with ``alpha`` inside the node (PyTorch's one
    ``SubBackward0``, rounded once)."""

    node_name = ("SubBackward0", (0, 1))  # PyTorch's name and the inputs its node lists
    saves_a = saves_b = ""
    saved_fields = {"alpha": lambda n: n.__dict__.get("params", {}).get("alpha", 1)}

    @staticmethod
    def f(a, b, alpha=None):
        if alpha is None:
            return elementwise(np.subtract, a, b)
        return _fused_multiply_add(a, b, -alpha)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return 1

    @staticmethod
    def derivative_b(ctx, a, b, y):
        params = ctx.__dict__.get("params")
        return -1 if params is None else -params["alpha"]

    @classmethod
    def backward(cls, ctx, grad):
        needs = ctx.needs_input_grad
        if needs[1] and "params" not in ctx.__dict__:
            g = grad_array(ctx, grad)
            if g is not None:
                # first order: -g as the recorded ``Neg`` computes it (NumPy's negative, the
                # layout kept), without its Function.apply (8x8 x - w forward + backward
                # 16.2 -> 14.2 us, thread_time, min of 3 x 7 x 2000, under load)
                return (grad if needs[0] else None), wrapped(-g)
        return super().backward(ctx, grad)


class Rsub(Sub):
    """``number - x`` (the operator, ``torch.rsub(x, number)``): PyTorch's node for it is
    ``RsubBackward1``, listing ``x`` alone (``torch.sub(number, x)`` is ``SubBackward0``,
    listing the wrapped number as None, then ``x``)."""

    node_name = ("RsubBackward1", (1,))


class RsubTensors(Sub):
    """``torch.rsub(input, other)`` of two tensors, computed as ``other - input``: PyTorch's
    ``RsubBackward0``, listing ``input`` then ``other``."""

    node_name = ("RsubBackward0", (1, 0))


class Mul(BinaryElementwise):
    node_name = ("MulBackward0", (0, 1))  # PyTorch's name and the inputs its node lists
    saved_fields = {"other": 1, "self": 0}  # grad_fn._saved_* by saved position (saved_fields.py)
    saves_a = "b"
    saves_b = "a"

    @staticmethod
    def f(a, b):
        if (type(b) is float or type(b) is int) and getattr(a, "dtype", None) == np.float16:
            return _half_by_number(np.multiply, a, b)  # an int too: 70000 is not inf here
        return elementwise(np.multiply, a, b)

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return b

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return a

    # g * b even for a Python 1 or -1 (``scale`` would pass g on or negate it): PyTorch's
    # MulBackward0 always multiplies, so under create_graph the gradient's node is its
    # MulBackward0, a new tensor (session 43)
    @staticmethod
    def chain_a(ctx, g, a, b, y):
        return g * b

    @staticmethod
    def chain_b(ctx, g, a, b, y):
        return g * a

    @classmethod
    def backward(cls, ctx, grad):
        g = grad_array(ctx, grad)
        if g is None:
            return super().backward(ctx, grad)
        # first order on plain float arrays: g * b and g * a as the recorded ``Mul`` ops
        # compute them (Mul.f, then the forward's layout), without two Function.apply calls
        # (8x8 forward + backward 23.2 -> 20.9 us, thread_time, min of 3 x 7 x 2000, load)
        a, b, _ = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (
            _mul_grad(cls, ctx, grad, g, a, b, 0) if needs[0] else None,
            _mul_grad(cls, ctx, grad, g, a, b, 1) if needs[1] else None,
        )


def _mul_grad(cls: type, ctx: Any, grad: Tensor, g: Any, a: Any, b: Any, i: int) -> Tensor:
    """Mul's gradient for input ``i`` (``g`` times the other operand) on arrays where that
    operand is plain (:func:`plain_array`), else through the recorded rule."""
    other = plain_array(b if i == 0 else a, g)
    if other is None:
        return (cls.chain_a if i == 0 else cls.chain_b)(ctx, grad, a, b, None)
    return grad_tensor(Mul.f(g, other), g, other)


_IGNORE_DIVISION = fp_ignoring("divide", "invalid")  # np.errstate's, entered in 0.4 us, not 1.1


class Div(BinaryElementwise):
    node_name = ("DivBackward0", (0, 1))  # PyTorch's name and the inputs its node lists
    saved_fields = {"other": 1, "self": 0}  # grad_fn._saved_* by saved position (saved_fields.py)
    saves_a = "b"
    saves_b = "ab"

    @staticmethod
    def f(a, b):
        with _IGNORE_DIVISION():  # x/0 is inf/nan, silently (torch)
            if (type(b) is float or type(b) is int) and getattr(a, "dtype", None) == np.float16:
                return _half_by_number(np.divide, a, b)
            return a / b

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return 1 / b

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return -a / (b * b)

    @staticmethod
    def chain_a(ctx, g, a, b, y):  # g / b: one op instead of two
        return g / b

    @staticmethod
    def chain_b(ctx, g, a, b, y):
        # -g a / b^2 as -g ((a / b) / b), PyTorch's order (bit-equal in bfloat16): b * b
        # underflows to 0 for a tiny b (|b| < 1e-162), which made 0 / (b * b) NaN where
        # PyTorch's gradient is 0
        return -g * (a / b / b)

    @classmethod
    def backward(cls, ctx, grad):
        # first order on plain NumPy operands (_first_order.py): no Tensor ops recorded
        # (68 -> 54 us); a profiler sees them
        g = grad_array(ctx, grad)
        if g is not None:
            a, b, _ = ctx.saved_tensors
            out = plain_div_grads(g, a, b, ctx.needs_input_grad)
            if out is not None:
                return out
        return super().backward(ctx, grad)


# ------------------------------------------------------------------------- public functions
class _BoolSubtractionError(TypeError, RuntimeError):
    """``-`` with a bool operand: PyTorch raises ``RuntimeError``, chainrule has raised
    ``TypeError``; this is both, so either ``except`` clause catches it."""


def _no_bool_sub(a: Any, b: Any) -> None:
    """PyTorch refuses a bool operand of ``-``: a bool tensor, or a Python bool beside any
    tensor (``x - True``)."""
    for v in (a, b):  # (a loop, not any() over a generator: 0.41 -> 0.23 us, session 37)
        if type(v) is bool or isinstance(v, Tensor) and v._data.dtype.kind == "b":
            raise _BoolSubtractionError(
                "sub: subtraction, the `-` operator, with a bool tensor is not "
                "supported; to invert a mask use `~` or logical_not(), to compare two "
                "masks use `^` or logical_xor()"
            )


@tensor_method(inplace=True, keywords=True)
def add(input: Any, other: Any, *, alpha: Any = ALPHA_UNSET) -> Tensor:  # noqa: A002
    """``input + alpha * other`` (``torch.add``; ``alpha`` keyword-only, as PyTorch's: a
    positional third argument raises TypeError instead of being read as alpha)."""
    if alpha is ALPHA_UNSET:
        if type(input) is Tensor and type(other) is Tensor:  # two tensors: no alpha, no
            return _call(Add, "add", input, other)  # number to round (session 37)
        alpha = None
    elif type(alpha) is not int and type(alpha) is not float:
        parser_alpha("add", alpha)
    if type(other) in SPARSE_TYPES or type(input) in SPARSE_TYPES:  # dense + sparse: dense
        if type(input) in SPARSE_TYPES:  # sparse + ...: the sparse tensor's own add
            return input.add(other) if alpha is None else input.add(other, alpha=alpha)
        other = dense_operand("add", input, other)
    _check_alpha("add", input, other, alpha)
    return _add_or_sub(Add, "add", input, other, alpha)


def _add_or_sub(cls: type, op: str, a: Any, b: Any, alpha: Any) -> Tensor:
    """``a + b`` / ``a - b`` (``cls``), with ``alpha`` and PyTorch's handling of numbers.

    A number beside a float16/bfloat16 tensor is first rounded to that dtype, as PyTorch
    converts it (``bfloat16 + 1.7`` adds 1.703125); ``alpha`` too. Two tensors with
    ``alpha`` are one node computing ``a + alpha * b`` in the result dtype, rounded once;
    with a number ``b``, ``alpha * b`` is the number added."""
    if type(b) is float and type(a) is Tensor and a._data.dtype.kind in "fV":
        b = _in_half_precision(b, a._data.dtype)
    elif type(a) is float and type(b) is Tensor and b._data.dtype.kind in "fV":
        a = _in_half_precision(a, b._data.dtype)
    if alpha is None:
        return _call(cls, op, a, b)
    if not isinstance(b, Tensor):
        return _call(cls, op, a, b * alpha)
    if not isinstance(a, Tensor):  # a number minus a tensor times alpha (torch.rsub)
        dt = b._data.dtype
        if cls is Rsub and type(alpha) in (int, float) and dt in (np.float32, np.float64):
            if type(a) in (int, float):  # one RsubBackward1, as PyTorch's (number in dtype)
                return _call(cls, op, np.asarray(a, dt), b, alpha=alpha)
        return _call(cls, op, a, mul(b, alpha))
    a, b = promote(op, a, b)
    if isinstance(alpha, float):
        alpha = _in_half_precision(alpha, b._data.dtype)
    return _call(cls, op, a, b, alpha=alpha)


@tensor_method(inplace=True, keywords=True)
def sub(input: Any, other: Any, *, alpha: Any = ALPHA_UNSET) -> Tensor:  # noqa: A002
    """``input - alpha * other`` (``torch.sub``; ``alpha`` keyword-only, as PyTorch's)."""
    if alpha is ALPHA_UNSET:
        if type(input) is Tensor and type(other) is Tensor:  # as add's (-0.2 us)
            if input._data.dtype.kind != "b" and other._data.dtype.kind != "b":  # (bool: no)
                return _call(Sub, "sub", input, other)
        alpha = None
    elif type(alpha) is not int and type(alpha) is not float:
        parser_alpha("sub", alpha)
    if type(other) in SPARSE_TYPES or type(input) in SPARSE_TYPES:  # dense - sparse: dense
        if type(input) in SPARSE_TYPES:  # sparse - ...: the sparse tensor's own sub
            return input.sub(other) if alpha is None else input.sub(other, alpha=alpha)
        other = dense_operand("sub", input, other)
    _no_bool_sub(input, other)
    _check_alpha("sub", input, other, alpha)
    return _add_or_sub(Sub, "sub", input, other, alpha)


def reversed_sub(self: Tensor, other: Any, alpha: Any = None) -> Tensor:
    """``other - alpha * self``: the operator ``other - self`` (``Tensor.__rsub__``) and
    ``torch.rsub``; PyTorch's node is ``RsubBackward1`` for a number ``other`` (listing
    ``self``), ``RsubBackward0`` for a tensor (listing ``self``, ``other``)."""
    _no_bool_sub(other, self)
    _check_alpha("sub", other, self, alpha)
    if not isinstance(self, Tensor):  # (the operator always has a Tensor self)
        return _add_or_sub(Sub, "sub", other, self, alpha)
    cls = RsubTensors if isinstance(other, Tensor) else Rsub
    return _add_or_sub(cls, "sub", other, self, alpha)


def reversed_div(self: Tensor, other: Any) -> Tensor:
    """``other / self`` (``Tensor.__rtruediv__``): for a number ``other`` and a floating
    ``self`` PyTorch's operator computes ``self.reciprocal() * other`` (saving only
    ``1 / self``: the product is a new tensor, so writing into it in place leaves that
    intact); ``torch.div(number, self)`` is one ``DivBackward0`` instead."""
    if (
        type(self) is Tensor
        and (type(other) is float or type(other) is int or type(other) is complex)
        and self._data.dtype.kind in "fV"  # V: bfloat16
    ):
        return mul(reciprocal(self), other)
    return div(other, self)


@tensor_method(inplace=True, keywords=True)
def mul(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's name
    return _call(Mul, "mul", input, other)


class _RoundingModeError(ValueError, RuntimeError):
    """An unknown ``rounding_mode`` of ``div``: PyTorch raises RuntimeError; a ValueError too,
    as chainrule raised before."""


# operands PyTorch's div parser refuses from user code (an array, a list, a tuple)
_REFUSED = frozenset({np.ndarray, list, tuple, Size})  # (torch.Size: a tuple)


@tensor_method(inplace=True, keywords=True)
def div(input: Any, other: Any, rounding_mode: str | None = None) -> Tensor:  # noqa: A002 - PyTorch's name
    """input / other. ``rounding_mode``: None (true division; integers give the default float, as
    in PyTorch), ``'trunc'`` (round toward zero) or ``'floor'`` (toward minus infinity)."""
    if rounding_mode is not None:
        if type(input) in _REFUSED or type(other) in _REFUSED:
            refuse_user_array("div", input, other, rounding_mode)
        if rounding_mode in ("floor", "trunc"):
            try:
                q = _rounded_div("div", input, other, trunc=rounding_mode == "trunc")
            except ValueError as err:
                if "broadcast" in str(err):
                    raise broadcast_error("div", input, other) from None
                raise
            return record_zero_derivative(q, input, other)
        if not isinstance(rounding_mode, str):
            raise TypeError(
                f"div: rounding_mode must be a str ('trunc' or 'floor') or None, "
                f"got {type(rounding_mode).__name__}"
            )
        raise _RoundingModeError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"{rounding_mode!r}"
        )
    if (
        type(input) is Tensor
        and (
            type(other) is Tensor and input._data.dtype is other._data.dtype or type(other) is float
        )
        and input._data.dtype.kind == "f"
    ):
        return _call(Div, "div", input, other)  # the common float case: no integer handling needed
    # an int beside an integer tensor is not wrapped into its dtype: the quotient is a float
    # (uint8_tensor / -2 divides by -2, as PyTorch)
    if type(input) in _REFUSED or type(other) in _REFUSED:  # torch.div(x, arr): TypeError
        refuse_user_array("div", input, other)
    input, other = promote("div", input, other, wrap_ints=False, float_result=True)
    if isinstance(input, Tensor) and input._data.dtype.kind not in "fcV":  # V: bfloat16
        input = cast(input, dtypes.get_default_dtype())
    if isinstance(other, Tensor) and other._data.dtype.kind not in "fcV":
        other = cast(other, dtypes.get_default_dtype())
    return _call(Div, "div", input, other)


true_divide = div
