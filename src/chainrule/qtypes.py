"""PyTorch's quantized dtypes (``cr.qint8``, ``cr.quint8``, ``cr.qint32``) and quantization
schemes (``cr.per_tensor_affine``, ...).

chainrule's other dtypes wrap NumPy dtypes (``dtype_objects.py``), but NumPy has no quantized
type: a quantized tensor's values are an integer array plus a scale and zero point, which
only together mean numbers. So each quantized dtype is a ``cr.dtype`` of its own
(:class:`QDtype`) naming the integer type that stores it and its range; it wraps no NumPy
dtype, so a quantized dtype handed to a dense op fails instead of silently computing on the
stored integers. They print as PyTorch's (``torch.qint8``), as the other dtypes do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dtype_objects import dtype

__all__ = [
    "QDtype",
    "QScheme",
    "QUANTIZED_DTYPES",
    "is_quantized_dtype",
    "per_channel_affine",
    "per_channel_affine_float_qparams",
    "per_channel_symmetric",
    "per_tensor_affine",
    "per_tensor_symmetric",
    "qint8",
    "qint32",
    "quint8",
    "scalar_type_name",
]


class QDtype(dtype):
    """A quantized dtype: the name, the NumPy integer type that stores its values and the
    range ``[qmin, qmax]`` of those integers. A ``cr.dtype`` (``isinstance(cr.qint8,
    cr.dtype)``, as in PyTorch) that wraps no NumPy dtype: NumPy and dense ops asking it for
    one get an error."""

    __slots__ = ("storage", "qmin", "qmax", "_type_name")

    def __new__(cls, *args: Any, **kwargs: Any) -> QDtype:
        return object.__new__(cls)

    def __init__(self, name: str, storage: Any, type_name: str) -> None:
        self.name = name
        self.storage = np.dtype(storage)
        info = np.iinfo(self.storage)
        self.qmin, self.qmax = int(info.min), int(info.max)
        self._type_name = type_name

    @property
    def itemsize(self) -> int:
        return self.storage.itemsize

    @property
    def is_floating_point(self) -> bool:
        return False

    @property
    def is_complex(self) -> bool:
        return False

    @property
    def is_signed(self) -> bool:
        raise RuntimeError("isSignedType not supported for quantized types")

    def __getattr__(self, attr: str) -> Any:
        # a dense op reading ``dtype.kind``/``dtype.type`` of a quantized tensor: say so
        if attr[:2] == "__":
            raise AttributeError(attr)
        raise NotImplementedError(
            f"torch.{object.__getattribute__(self, 'name')} is a quantized dtype: "
            f"{attr!r} is not defined for it (dense ops need .dequantize() first)"
        )

    def __eq__(self, other: Any) -> bool:
        return other is self

    def __hash__(self) -> int:
        return object.__hash__(self)

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    __str__ = __repr__

    def __reduce__(self) -> str:
        return self.name  # pickles as the module-level singleton


class QScheme:
    """A quantization scheme (``cr.per_tensor_affine``, ...), printed as PyTorch prints its
    ``torch.qscheme`` objects."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self) -> str:
        return self.name


qint8 = QDtype("qint8", np.int8, "QInt8")
quint8 = QDtype("quint8", np.uint8, "QUInt8")
qint32 = QDtype("qint32", np.int32, "QInt32")
QUANTIZED_DTYPES: tuple[QDtype, ...] = (qint8, quint8, qint32)

per_tensor_affine = QScheme("per_tensor_affine")
per_channel_affine = QScheme("per_channel_affine")
per_tensor_symmetric = QScheme("per_tensor_symmetric")
per_channel_symmetric = QScheme("per_channel_symmetric")
per_channel_affine_float_qparams = QScheme("per_channel_affine_float_qparams")

# PyTorch's ScalarType names, which its quantization errors print ("got Double")
_SCALAR_NAMES = {
    "float32": "Float",
    "float64": "Double",
    "float16": "Half",
    "bfloat16": "BFloat16",
    "int8": "Char",
    "uint8": "Byte",
    "int16": "Short",
    "int32": "Int",
    "int64": "Long",
    "bool": "Bool",
    "complex64": "ComplexFloat",
    "complex128": "ComplexDouble",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "uint64": "UInt64",
}


def is_quantized_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is one of the quantized dtypes."""
    return isinstance(dtype, QDtype)


def scalar_type_name(dtype: Any) -> str:
    """PyTorch's ScalarType name of ``dtype`` (``Float``, ``Double``, ``QInt8``)."""
    if isinstance(dtype, QDtype):
        return dtype._type_name
    name = np.dtype(dtype).name
    return _SCALAR_NAMES.get(name, name)
