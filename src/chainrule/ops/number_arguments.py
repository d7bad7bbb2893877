"""PyTorch's argument parser for an op's ``Scalar`` (Number) arguments, on their non-plain
path: a real number, a NumPy number or a 0-d tensor is read as a Python number; anything
else is its TypeError (``softplus(): argument 'beta' (position 2) must be Number, not
NoneType``, the position left out for a keyword argument, read from the call site); a
complex value where the op computes in real numbers is its RuntimeError. Ops test the plain
case (``type(v) in (int, float)``) inline and call :func:`parser_numbers` otherwise.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ._tensor_args import called_as, torch_type_name

__all__ = ["parser_numbers"]


def parser_numbers(op: str, params: Sequence[tuple[str, Any]]) -> list[Any]:
    """``params`` ((name, value), in order from position 2: after the input) as PyTorch
    reads ``op``'s real ``Scalar`` arguments: the values as Python numbers, else its
    TypeError for the first that is not a number, and its RuntimeError where one is complex
    (checked after the types)."""
    values = []
    for pos, (name, value) in enumerate(params, start=2):
        if isinstance(value, (np.bool_, np.number)) or (
            isinstance(value, Tensor) and value.ndim == 0
        ):
            value = value.item()
        if not isinstance(value, (numbers.Real, complex)):
            _, _, given = called_as((op,))
            where = "" if name in given else f" (position {pos})"
            raise TypeError(
                f"{op}(): argument '{name}'{where} must be Number, not {torch_type_name(value)}"
            )
        values.append(value)
    if any(isinstance(v, complex) for v in values):
        raise RuntimeError("value cannot be converted to type float without overflow")
    return values
