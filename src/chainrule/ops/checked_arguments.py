"""PyTorch's texts for a tensor of a dtype an op cannot take: ``checkScalarTypes``'s (ATen's
``TensorUtils.cpp``: "Expected tensor for argument #1 'indices' to have one of the following
scalar types: Long, Int; but got torch.FloatTensor instead (while checking arguments for
embedding)") and its dispatch macros' ('"elu_cpu" not implemented for 'Long'', naming the
kernel).

The type it prints is the tensor's legacy type string: ``torch.<X>Tensor`` for the eight
dtypes that have a legacy constructor of that spelling in ATen's CPU backend, else
``CPU<ScalarType>Type`` (``CPUBoolType``, ``CPUBFloat16Type``, ``CPUComplexFloatType``).
Users match on it (CONTRIBUTING.md, "Error messages"), so it is written out here once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..qtypes import scalar_type_name
from ._util import DtypeError

__all__ = ["checked_type_name", "kernel_dtype_error", "scalar_types_error"]

_LEGACY = {
    np.dtype(np.uint8): "Byte",
    np.dtype(np.int8): "Char",
    np.dtype(np.int16): "Short",
    np.dtype(np.int32): "Int",
    np.dtype(np.int64): "Long",
    np.dtype(np.float16): "Half",
    np.dtype(np.float32): "Float",
    np.dtype(np.float64): "Double",
}


def checked_type_name(dtype: Any) -> str:
    """The type string PyTorch's argument checks print for a CPU tensor of ``dtype`` (a
    NumPy dtype or chainrule's): ``torch.FloatTensor``, ``CPUBoolType``, ..."""
    name = _LEGACY.get(np.dtype(dtype)) if np.dtype(dtype).kind != "V" else None
    return f"torch.{name}Tensor" if name else f"CPU{scalar_type_name(dtype)}Type"


def scalar_types_error(position: int, name: str, allowed: str, dtype: Any, op: str) -> str:
    """The message of ``checkScalarTypes`` for argument ``#position`` ``name`` of ``op``,
    whose dtype ``dtype`` is not among ``allowed`` (PyTorch's names, "Long, Int")."""
    return (
        f"Expected tensor for argument #{position} '{name}' to have one of the following "
        f"scalar types: {allowed}; but got {checked_type_name(dtype)} instead (while "
        f"checking arguments for {op})"
    )


def kernel_dtype_error(kernel: str, dtype: Any, hint: str = "") -> DtypeError:
    """PyTorch's NotImplementedError from its dispatch macro: ``kernel`` (its name, e.g.
    ``elu_cpu``) has no instance for ``dtype`` (a NumPy dtype or chainrule's). ``hint``:
    chainrule's advice, on a line of its own after PyTorch's words."""
    text = f"\"{kernel}\" not implemented for '{scalar_type_name(dtype)}'"
    return DtypeError(f"{text}\n{hint}" if hint else text)
