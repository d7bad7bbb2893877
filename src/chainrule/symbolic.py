"""``torch.sym_int``, ``sym_float``, ``sym_max`` ... on plain numbers.

In PyTorch these work on symbolic sizes while tracing (``torch.compile``, ``torch.export``)
and fall back to Python's arithmetic on ordinary numbers. chainrule runs eagerly, so sizes
are always ordinary numbers (or 0-d tensors, read with ``int()``/``float()``) and these are
that fallback: model code that calls them to stay traceable runs unchanged.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "sym_constrain_range",
    "sym_constrain_range_for_size",
    "sym_float",
    "sym_fresh_size",
    "sym_int",
    "sym_ite",
    "sym_max",
    "sym_min",
    "sym_not",
    "sym_sqrt",
    "sym_sum",
]

_NUMBERS = (builtins.int, builtins.float, np.integer, np.floating)
_INT64_MAX = 2**63 - 1


def sym_int(a: Any) -> int:
    """``int(a)``, truncating toward zero (``sym_int(-3.7) == -3``)."""
    return math.trunc(a) if isinstance(a, builtins.float) else builtins.int(a)


def sym_float(a: Any) -> float:
    """``float(a)``."""
    return builtins.float(a)


def _number(op: str, a: Any) -> Any:
    if not isinstance(a, _NUMBERS):  # bool is an int here, as in PyTorch
        raise TypeError(f"{op}: expected int or float (or a NumPy number), got {type(a).__name__}")
    return a


def sym_max(a: Any, b: Any) -> Any:
    """The larger of two numbers; a float when either is one (``sym_max(2, 3.5) == 3.5``)."""
    a, b = _number("sym_max", a), _number("sym_max", b)
    out = builtins.max(a, b)
    return builtins.float(out) if isinstance(a, float) or isinstance(b, float) else out


def sym_min(a: Any, b: Any) -> Any:
    """The smaller of two numbers; a float when either is one (``sym_min(2, 3.5) == 2.0``)."""
    a, b = _number("sym_min", a), _number("sym_min", b)
    out = builtins.min(a, b)
    return builtins.float(out) if isinstance(a, float) or isinstance(b, float) else out


def sym_not(a: Any) -> bool:
    """``not a`` (a 0-d tensor is read with ``bool()``)."""
    return not a


def sym_sqrt(a: Any) -> float:
    """``math.sqrt(a)``."""
    return math.sqrt(a)


def sym_ite(b: Any, t: Any, f: Any) -> Any:
    """``t if b else f`` for a bool ``b`` (both branches are evaluated already, as in
    PyTorch, which also refuses a non-bool condition with AssertionError)."""
    if not isinstance(b, (bool, np.bool_)):
        raise AssertionError(f"expected SymBool or bool, got {type(b)}")
    return t if b else f


def sym_sum(args: Iterable[Any]) -> Any:
    """``sum(args)``."""
    return builtins.sum(args)


def sym_fresh_size(expr: Any) -> Any:
    """The size itself (a fresh symbol while tracing)."""
    return expr


def _check_range(size: Any, low: Any, high: Any) -> None:
    if not low <= size <= high:
        raise RuntimeError(f"Invalid value range for {size} between [{low}, {high}].")


def sym_constrain_range(size: Any, min: Any = None, max: Any = None) -> None:  # noqa: A002
    """Check that ``size`` lies in ``[min, max]`` (a bound left None is open), as PyTorch
    does for a concrete size; while tracing it would constrain a symbol instead."""
    _check_range(size, -math.inf if min is None else min, math.inf if max is None else max)


def sym_constrain_range_for_size(size: Any, min: Any = None, max: Any = None) -> None:  # noqa: A002
    """Check that ``size`` is a valid size in ``[min, max]`` (``min`` 0 and ``max`` 2**63 - 1
    when left None), as PyTorch does for a concrete size."""
    _check_range(size, 0 if min is None else min, _INT64_MAX if max is None else max)
