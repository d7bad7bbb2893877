"""``ndarray.sum`` / ``ndarray.prod`` through the ufuncs themselves.

The ndarray methods run NumPy's Python-level ``numpy/_core/_methods.py``, so a floating-point
warning of theirs (``inf + -inf``: "invalid value encountered in reduce"; an overflow) comes
from NumPy's module and escapes the filter that hides NumPy's floating-point warnings raised
in chainrule's modules (``chainrule/__init__.py``); PyTorch's reductions are silent. Calling
``np.add.reduce`` from chainrule's code puts chainrule's frame first, so the filter applies,
at no cost (it skips a Python call). A CuPy array keeps its own method.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["add_reduce", "multiply_reduce"]


def add_reduce(x: Any, **kwargs: Any) -> Any:
    """``x.sum(**kwargs)`` (``axis``, ``keepdims``, ``dtype``)."""
    if isinstance(x, np.ndarray):
        return np.add.reduce(x, **kwargs)
    return x.sum(**kwargs)


def multiply_reduce(x: Any, **kwargs: Any) -> Any:
    """``x.prod(**kwargs)`` (``axis``, ``keepdims``, ``dtype``)."""
    if isinstance(x, np.ndarray):
        return np.multiply.reduce(x, **kwargs)
    return x.prod(**kwargs)
