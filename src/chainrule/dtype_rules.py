"""PyTorch's type objects and type-promotion queries at the top level: ``Size``, ``dtype``,
``promote_types``, ``can_cast`` and ``result_type``.

The dtypes users hold are :class:`chainrule.dtype` objects (``dtype_objects.py``), each
wrapping the NumPy dtype chainrule computes with; these functions take either and return
the former, as PyTorch's return ``torch.dtype`` objects.

The promotion rules are PyTorch's (``c10/core/ScalarType.h`` and ``ResultTypeState``), not
NumPy's: categories bool < integer < floating < complex; a higher category wins
(``int64`` with ``float16`` is ``float16``), except that a complex type combined with a
wider float widens (``complex64`` with ``float64`` is ``complex128``); within a category the
wider type wins, and ``uint8`` with ``int8`` is ``int16``. ``result_type`` ranks its operands:
tensors with dimensions, then 0-d tensors, then Python numbers; a lower rank only changes the
result when it is of a higher category (a Python float makes an integer tensor's result the
default float dtype).

``bfloat16`` is a floating type: with ``float16`` it gives ``float32`` (neither holds the
other), with an integer it stays ``bfloat16``. The float8 types are floating too, but promote
with no other type (PyTorch's RuntimeError "Promotion for Float8 Types is not supported");
``can_cast`` treats them as floats.

One deliberate difference: NumPy has no ``complex32``, so where PyTorch gives
``torch.complex32`` (a ``float16`` tensor with a complex Python number) chainrule gives
``complex64``.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from . import dtypes as _dt
from .autograd.tensor import Tensor
from .dtype_objects import dtype, public_dtype
from .size import Size

__all__ = [
    "Size",
    "can_cast",
    "dtype",
    "get_default_dtype",
    "promote_types",
    "result_type",
    "set_default_dtype",
]


_KINDS = "biufc"


def get_default_dtype() -> dtype:
    """The dtype new floating tensors get (``torch.get_default_dtype``; float32 unless
    changed by :func:`set_default_dtype`)."""
    return public_dtype(_dt.get_default_dtype())


set_default_dtype = _dt.set_default_dtype


def _check_dtype(op: str, name: str, position: builtins.int, value: Any) -> np.dtype:
    if type(value) is dtype:
        value = value.dtype
    if not isinstance(value, np.dtype) or (
        value.kind not in _KINDS and not _dt.is_bfloat16(value) and not _dt.is_float8(value)
    ):
        raise TypeError(
            f"{op}(): argument '{name}' (position {position}) must be torch.dtype (a chainrule "
            f"dtype such as cr.float32), not {type(value).__name__}"
        )
    return value


def _category(d: np.dtype) -> builtins.int:
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3, "V": 2}[d.kind]  # "V": bfloat16, float8


def _promote(a: np.dtype, b: np.dtype) -> np.dtype:
    if a == b:
        return a
    if _dt.is_float8(a) or _dt.is_float8(b):  # PyTorch's RuntimeError
        raise _dt.promotion_error(a, b)
    ca, cb = _category(a), _category(b)
    if ca == cb or {ca, cb} == {2, 3}:  # complex64 with float64 is complex128, as NumPy
        return np.promote_types(a, b)
    return a if ca > cb else b


def promote_types(type1: np.dtype, type2: np.dtype) -> np.dtype:
    """The smallest dtype both ``type1`` and ``type2`` convert to without losing their
    category (``torch.promote_types``; see the module doc for the rules).

    >>> import chainrule as cr
    >>> cr.promote_types(cr.int64, cr.float16)
    torch.float16

    Raises:
        TypeError: an argument is not a dtype.
        RuntimeError: a float8 type with another type (PyTorch's).
    """
    a = _check_dtype("promote_types", "type1", 1, type1)
    b = _check_dtype("promote_types", "type2", 2, type2)
    return public_dtype(_promote(a, b))


def can_cast(from_: np.dtype, to: np.dtype) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` to ``to`` in ops with an ``out=`` or
    in-place result (``torch.can_cast``): never floating to integral, complex to
    non-complex, or a non-bool to bool; everything else, narrowing included, is allowed.

    Raises:
        TypeError: an argument is not a dtype.
    """
    f = _check_dtype("can_cast", "from_", 1, from_)
    t = _check_dtype("can_cast", "to", 2, to)
    cf, ct = _category(f), _category(t)
    if cf >= 2 and ct <= 1:
        return False
    if cf == 3 and ct != 3:
        return False
    return not (ct == 0 and cf != 0)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """PyTorch's ``combine_categories``: a lower-ranked operand matters only through a
    higher category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    return _dt.combine_categories(higher, lower)


def _number_dtype(x: Any) -> np.dtype | None:
    """The dtype a Python number takes part in promotion with (PyTorch's wrapped numbers)."""
    if isinstance(x, builtins.bool):
        return _dt.bool_
    if isinstance(x, (builtins.int, np.integer)):
        return _dt.int64
    if isinstance(x, (builtins.float, np.floating, np.bool_)):  # np.bool_: a float to PyTorch
        return _dt.get_default_dtype()
    if isinstance(x, (builtins.complex, np.complexfloating)):
        return np.promote_types(_dt.get_default_dtype(), np.complex64)
    return None


def result_type(tensor: Any, other: Any) -> np.dtype:
    """The dtype an arithmetic op on ``tensor`` and ``other`` (tensors or Python numbers)
    gives (``torch.result_type``): see the module doc for the ranks and categories.

    >>> import chainrule as cr
    >>> cr.result_type(cr.tensor([1, 2]), 1.0)
    torch.float32

    Raises:
        TypeError: an argument is neither a tensor nor a number.
    """
    ranks: list[np.dtype | None] = [None, None, None]  # dims, 0-d, numbers
    for position, x in enumerate((tensor, other), 1):
        if isinstance(x, Tensor):
            rank, d = (0 if x.ndim else 1), x._data.dtype
        else:
            rank, d = 2, _number_dtype(x)
            if d is None:
                raise TypeError(
                    f"result_type(): argument {position} must be a Tensor or a Number, "
                    f"not {type(x).__name__}"
                )
        ranks[rank] = d if ranks[rank] is None else _promote(ranks[rank], d)
    out = _combine(ranks[0], _combine(ranks[1], ranks[2]))
    assert out is not None  # two operands always give one dtype
    return public_dtype(out)
