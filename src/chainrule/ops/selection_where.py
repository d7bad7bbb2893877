"""``where(condition, input, other)``: elementwise selection, and ``Where``, the node that
ops built on selection (``masked_fill``, ``tril``) record under their own names.

Kept apart from :mod:`.binary` (which re-exports ``where``, imported from there by many
modules) so that the arithmetic file stays about arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._user_warnings import warn_once
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..scalar_range import fit_scalar
from ._array_operands import user_call
from ._result_layout import in_elementwise_layout
from ._tensor_args import PYTHON_DATA, called_as, tensor_operand
from ._util import ShapeError, _same_device, as_tensor, promote
from .binding import numpy_keywords
from .elementwise import BinaryElementwise
from .invalid_arguments import combination_error

__all__ = ["Where", "where", "where_as"]


class Where(BinaryElementwise):
    """``a`` where ``cond`` else ``b``: the gradient is routed by the same condition."""

    node_name = ("WhereBackward0", (0, 1))  # PyTorch's name and the inputs its node lists
    saved_fields = {"condition": 0}  # grad_fn._saved_condition (saved_fields.py)
    native_bfloat16 = False  # its own forward (the condition is a third, bool, argument)

    saves_a = saves_b = ""

    @staticmethod
    def f(a, b, cond):
        return get_array_module(cond).where(cond, a, b)

    @classmethod
    def forward(cls, ctx, a, b, cond):
        """``cond`` is the condition Tensor: saved (version-checked), so modifying it in place
        after forward raises in backward, as in PyTorch, instead of misrouting the gradient.
        The result's layout is PyTorch's elementwise one over (``cond``, ``a``, ``b``)."""
        arr = cond._data if isinstance(cond, Tensor) else cond
        ctx.save_for_backward(cond)  # read by backward and, as an array, by the jvp rule
        y = cls.f(a, b, arr)
        return in_elementwise_layout(y, arr, a, b)  # PyTorch's order: the condition first

    @classmethod
    def backward(cls, ctx, grad):
        (cond,) = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (
            where(cond, grad, 0.0) if needs[0] else None,
            where(cond, 0.0, grad) if needs[1] else None,
        )

    @staticmethod
    def derivative_a(ctx, a, b, y):
        return Tensor._make(ctx.saved_arrays[0], False, None, 0)

    @staticmethod
    def derivative_b(ctx, a, b, y):
        return Tensor._make(~ctx.saved_arrays[0], False, None, 0)

    @staticmethod
    def chain_a(ctx, g, a, b, y):  # select, not multiply: keeps inf * 0 out of the gradient
        return where(Tensor._make(ctx.saved_arrays[0], False, None, 0), g, 0.0)

    @staticmethod
    def chain_b(ctx, g, a, b, y):
        return where(Tensor._make(ctx.saved_arrays[0], False, None, 0), 0.0, g)


_WHERE_FORMS = (
    "(Tensor condition)",
    "(Tensor condition, Tensor input, Tensor other, *, Tensor out = None)",
    "(Tensor condition, Number self, Tensor other)",
    "(Tensor condition, Tensor input, Number other)",
    "(Tensor condition, Number self, Number other)",
)
_WHERE_METHOD_FORMS = ("(Tensor condition, Tensor other)", "(Tensor condition, Number other)")
_NOT_OPERANDS = frozenset({list, tuple, str, dict, set})  # what no overload reads as a Tensor


def _where_error(condition: Any, input: Any, other: Any) -> TypeError:  # noqa: A002
    """PyTorch's TypeError for a ``where`` no overload takes: Python data as the condition,
    or (from user code) a NumPy array as any of the three."""
    if called_as(("where",))[1]:  # x.where(condition, other): x is self
        params = (("input", input), ("condition", condition), ("other", other))
    else:
        params = (("condition", condition), ("input", input), ("other", other))
    return combination_error("where", params, _WHERE_FORMS, _WHERE_METHOD_FORMS)


@numpy_keywords  # the method x.where(cond, y) is bound in ops/__init__.py (argument order)
def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """Elements of ``input`` where ``condition`` else of ``other`` (broadcast together).

    ``where(cond)`` alone is ``nonzero(cond, as_tuple=True)``, as in PyTorch.
    """
    if input is None and other is None:
        from .indexing import nonzero

        if not isinstance(condition, Tensor):
            condition = tensor_operand("where", "condition", 1, condition)
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:  # PyTorch's parser: no overload takes a None
        raise _where_error(condition, input, other)
    if isinstance(condition, Tensor):
        c = condition
        if type(input) is not Tensor or type(other) is not Tensor:  # numbers, arrays, data
            if (type(input) is np.ndarray or type(other) is np.ndarray) and user_call():
                raise _where_error(condition, input, other)  # as PyTorch's parser
            if type(input) in _NOT_OPERANDS or type(other) in _NOT_OPERANDS:
                raise _where_error(condition, input, other)  # (x, (1.0, 2.0)): no overload
    elif isinstance(condition, PYTHON_DATA) or (
        type(condition) is np.ndarray and user_call()  # user code's array: as PyTorch's
    ):  # PyTorch's parser: no overload takes it
        raise _where_error(condition, input, other)
    else:
        c = as_tensor(condition)
    if c._data.dtype.kind != "b":
        if c._data.dtype != np.uint8:  # PyTorch reads no number as a truth value here
            raise RuntimeError(
                "where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{c.dtype}"
            )
        warn_once(
            "where_uint8",
            "where received a uint8 condition tensor. This behavior is deprecated and will be "
            "removed in a future version of PyTorch. Use a boolean condition instead.",
        )
        c = Tensor._make(c._data.astype(bool), False, None, 0)
    return where_as(Where, c, input, other)


def _fitted(value: Any, like: Tensor) -> Any:
    """The number ``value`` checked to fit ``like``'s dtype, as a Python number: the NumPy
    scalar :func:`fit_scalar` gives would be a NumPy bool for a bool ``like``, which counts
    as a float operand (PyTorch's argument parser; a NumPy bool given is kept as one)."""
    v = fit_scalar("where", value, like._data.dtype)
    return v.item() if isinstance(v, np.generic) and v is not value else v


def where_as(fn: type, c: Tensor, input: Any, other: Any) -> Tensor:
    """``where(c, input, other)`` for a boolean ``c``, recorded as ``fn`` (``Where`` or a
    subclass naming the node after the op that used it: ``masked_fill``, ``tril``)."""
    input, other = promote("where", input, other, wrap_ints=False)
    if not isinstance(input, Tensor):  # a number must fit the result dtype (PyTorch's check)
        input = as_tensor(_fitted(input, other), other)
    if not isinstance(other, Tensor):
        other = as_tensor(_fitted(other, input), input)
    # one device for the three (the condition is not an argument Function.apply moves): a
    # 0-d CPU tensor follows GPU data, as in PyTorch; any other mix raises
    c, input = _same_device("where", c, input)
    c, other = _same_device("where", c, other)
    try:
        return fn.apply(input, other, cond=c)
    except ValueError as err:
        raise ShapeError(
            f"where: condition {tuple(c.shape)}, input {tuple(input.shape)} and other "
            f"{tuple(other.shape)} cannot be "
            "broadcast together"
        ) from err
