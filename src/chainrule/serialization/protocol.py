"""The ``pickle_protocol`` argument of ``cr.save`` and ``cr.export.save``, read as PyTorch's
pickler reads it: an int (a bool, NumPy int or one-element int tensor by its index; anything
else Python's TypeError, "'float' object cannot be interpreted as an integer"), None for
Python's default, a negative int for the highest protocol, and above the highest Python's
ValueError ("pickle protocol must be <= 5").
"""

from __future__ import annotations

import operator
import pickle
from typing import Any

__all__ = ["read_protocol"]


def read_protocol(op: str, value: Any) -> int:
    """The protocol ``value`` stands for (0 included: each caller says what it does with
    it), or the error Python's pickler raises for it, with ``op``'s detail on a second line."""
    if value is None:
        return pickle.DEFAULT_PROTOCOL  # what Python's pickler takes None for
    if type(value) is not int:
        value = operator.index(value)
    if value > pickle.HIGHEST_PROTOCOL:
        raise ValueError(
            f"pickle protocol must be <= {pickle.HIGHEST_PROTOCOL}\n{op}: pickle_protocol must "
            f"be an int from 0 to {pickle.HIGHEST_PROTOCOL}, a negative int (the highest "
            f"protocol) or None; got {value!r}"
        )
    return pickle.HIGHEST_PROTOCOL if value < 0 else value
