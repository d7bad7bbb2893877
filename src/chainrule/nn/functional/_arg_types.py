"""PyTorch's argument-parser type rules for the scalar arguments of ``nn.functional``.

PyTorch's C++ parser reads a ``bool`` argument as a Python ``bool`` only (1, 2.5, None and
NumPy bools raise its TypeError), a ``float`` as any real number (bool, int, float, a NumPy
number or a 0-d tensor) and an ``int`` as an integer that is not a bool (a NumPy integer or a
0-d integer tensor). Its message names the function, the argument, the position when the
argument can be given positionally, and the type received, e.g. ``kl_div(): argument
'log_target' must be bool, not float``. Callers test the fast case inline (``type(v) is
bool``, ``type(v) is float``) and call these only for other values, so the plain path pays
one type check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = [
    "as_float",
    "as_int",
    "as_number",
    "bad_bool",
    "bad_str",
    "finite_bounds",
    "parser_type_name",
    "scale_factors",
]


def parser_type_name(value: Any) -> str:
    """The name PyTorch's parser shows for ``value``'s type: the bare name for builtins and
    tensors, module-qualified otherwise (``numpy.bool``, ``numpy.float64``)."""
    kind = type(value)
    if kind.__module__ == "builtins" or kind.__name__ in ("Tensor", "Parameter"):
        return kind.__name__
    return f"{kind.__module__}.{kind.__qualname__}"


def _where(name: str, pos: int | None) -> str:
    return f"argument '{name}'" + ("" if pos is None else f" (position {pos})")


def bad_bool(op: str, name: str, value: Any, pos: int | None = None) -> None:
    """Raise PyTorch's TypeError unless ``value`` is a Python bool (``op``'s ``name``
    argument, at position ``pos`` when positional)."""
    if type(value) is not bool:
        raise TypeError(f"{op}(): {_where(name, pos)} must be bool, not {parser_type_name(value)}")


def _zero_dim(value: Any) -> bool:
    return type(value).__name__ in ("Tensor", "Parameter") and value.ndim == 0


def as_float(op: str, name: str, value: Any, pos: int | None = None) -> float:
    """``value`` as a float if PyTorch's parser takes it as one (a real number, a NumPy
    real or a 0-d tensor), else PyTorch's TypeError."""
    if isinstance(value, (Real, np.bool_)) and not isinstance(value, np.datetime64):
        return float(value)
    if _zero_dim(value) and value.dtype.kind in "biuf":
        return float(value.item())
    raise TypeError(f"{op}(): {_where(name, pos)} must be float, not {parser_type_name(value)}")


def as_int(op: str, name: str, value: Any, pos: int | None = None) -> int:
    """``value`` as an int if PyTorch's parser takes it as one (an int that is not a bool,
    a NumPy integer, a 0-d integer tensor), else PyTorch's TypeError."""
    if isinstance(value, Integral) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    if _zero_dim(value) and value.dtype.kind in "iu":
        return int(value.item())
    raise TypeError(f"{op}(): {_where(name, pos)} must be int, not {parser_type_name(value)}")


def as_number(op: str, name: str, value: Any, pos: int | None = None) -> Any:
    """``value`` for a ``Scalar`` argument (PyTorch's "Number": a real or complex number, a
    NumPy number or a 0-d tensor, read as a Python number), else PyTorch's TypeError."""
    if isinstance(value, np.generic) and isinstance(value, (np.bool_, np.number)):
        return value.item()  # a Python number (NumPy's bool has no negation)
    if isinstance(value, (Real, complex)):
        return value
    if _zero_dim(value):
        return value.item()
    raise TypeError(f"{op}(): {_where(name, pos)} must be Number, not {parser_type_name(value)}")


def bad_str(op: str, name: str, value: Any, pos: int | None = None) -> None:
    """Raise PyTorch's TypeError unless ``value`` is a str."""
    if not isinstance(value, str):
        raise TypeError(f"{op}(): {_where(name, pos)} must be str, not {parser_type_name(value)}")


def finite_bounds(op: str, lower: Any, upper: Any) -> tuple[Any, Any]:
    """``(lower, upper)`` read as numbers (positions 2 and 3), else PyTorch's TypeError, and
    its RuntimeError for a bound that is not finite (inf or NaN)."""
    lower, upper = as_number(op, "lower", lower, 2), as_number(op, "upper", upper, 3)
    for name, bound in (("lower", lower), ("upper", upper)):
        if not -math.inf < bound < math.inf:
            raise RuntimeError(f"{op}: {name} bound must be finite, got {bound}")
    return lower, upper


def scale_factors(op: str, factors: Sequence) -> None:
    """PyTorch's TypeError for a scale factor that is not a number (its parser reads a
    tuple of floats)."""
    for i, s in enumerate(factors):
        if not isinstance(s, (Real, np.number, np.bool_)) and not hasattr(s, "item"):
            raise TypeError(
                f"{op}(): argument 'scale_factors' must be tuple of floats, but found element "
                f"of type {type(s).__name__} at pos {i}"
            )
