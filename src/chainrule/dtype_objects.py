"""``torch.dtype``: the dtype objects users see (``cr.float32``, ``x.dtype``).

Inside chainrule a dtype is a NumPy dtype: arrays carry one and every op computes with it.
What a user holds is a :class:`dtype` wrapping it, so that PyTorch code that asks a dtype
PyTorch's questions works unchanged: ``x.dtype.is_floating_point``, ``dtype.itemsize``,
``dtype.to_complex()``, ``print(x.dtype)`` printing ``torch.float32`` (as ``cr.Size``
prints ``torch.Size``), ``isinstance(d, cr.dtype)``.

A wrapper is also a NumPy dtype in every way NumPy asks: NumPy reads the ``dtype``
attribute of any object given where it wants a dtype (``np.zeros(3, cr.float32)``,
``a.astype(x.dtype)``, ``np.dtype(cr.int64)``), it compares and hashes as its NumPy dtype
(``x.dtype == np.float32``, dictionaries keyed by NumPy dtypes) and answers NumPy's
attributes (``kind``, ``itemsize``, ``type``, ``name``, ...), so code written for NumPy
dtypes, chainrule's own included, keeps working. There is one wrapper per NumPy dtype
(``cr.float32 is x.dtype``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "bool_",
    "cdouble",
    "cfloat",
    "complex64",
    "complex128",
    "double",
    "dtype",
    "float",
    "float16",
    "float32",
    "float64",
    "half",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "long",
    "public_dtype",
    "short",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
]

# PyTorch's names of the dtypes (str(torch.bool) is "torch.bool", not "torch.bool_")
_TORCH_NAMES = {
    "bool": "bool",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "float16": "float16",
    "float32": "float32",
    "float64": "float64",
    "bfloat16": "bfloat16",
    "float8_e4m3fn": "float8_e4m3fn",
    "float8_e5m2": "float8_e5m2",
    "float8_e4m3fnuz": "float8_e4m3fnuz",
    "float8_e5m2fnuz": "float8_e5m2fnuz",
    "float8_e8m0fnu": "float8_e8m0fnu",
    "complex64": "complex64",
    "complex128": "complex128",
}
_REAL_OF = {"complex64": "float32", "complex128": "float64"}
_COMPLEX_OF = {"float32": "complex64", "float64": "complex128", "float16": "complex64"}


class dtype:  # noqa: N801 - mirrors torch.dtype
    """``torch.dtype``: one of chainrule's dtypes as users see it.

    PyTorch's attributes: ``is_floating_point``, ``is_complex``, ``is_signed``,
    ``itemsize``, ``to_real()``, ``to_complex()``; NumPy's (``kind``, ``type``, ``name``,
    ``char`` and, through the wrapped dtype, the rest) for code written for NumPy dtypes.
    Not made by calling the class (``torch.dtype()`` raises, as in PyTorch).
    """

    __slots__ = (
        "dtype",
        "kind",
        "char",
        "type",
        "name",
        "itemsize",
        "is_floating_point",
        "is_complex",
        "is_signed",
        "_torch_name",
    )

    def __new__(cls, *args: Any, **kwargs: Any) -> dtype:
        raise TypeError("cannot create 'torch.dtype' instances")

    @classmethod
    def _wrap(cls, np_dtype: np.dtype) -> dtype:
        self = object.__new__(cls)
        self.dtype = np_dtype  # what NumPy reads: np.zeros(3, d), a.astype(d), np.dtype(d)
        self.kind, self.char, self.type = np_dtype.kind, np_dtype.char, np_dtype.type
        self.name, self.itemsize = np_dtype.name, np_dtype.itemsize
        low = np_dtype.kind == "V" and np_dtype.name in _TORCH_NAMES  # bfloat16, float8
        self.is_floating_point = np_dtype.kind == "f" or low
        self.is_complex = np_dtype.kind == "c"
        # float8_e8m0fnu (powers of two) has no sign bit: PyTorch's is_signed is False
        self.is_signed = np_dtype.kind in "ifc" or (low and np_dtype.name != "float8_e8m0fnu")
        self._torch_name = _TORCH_NAMES.get(np_dtype.name, np_dtype.name)
        return self

    def __getattr__(self, name: str) -> Any:  # NumPy's other dtype attributes
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.dtype, name)

    def __eq__(self, other: Any) -> bool:
        if other is self:
            return True
        if type(other) is dtype:
            return self.dtype == other.dtype
        try:
            return bool(self.dtype == other)
        except TypeError:
            return False

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.dtype)

    def __repr__(self) -> str:
        return f"torch.{self._torch_name}"

    __str__ = __repr__

    def __reduce__(self) -> tuple:
        return (_by_name, (self.dtype.name,))

    def __copy__(self) -> dtype:
        return self

    def __deepcopy__(self, memo: dict) -> dtype:
        return self

    def to_real(self) -> dtype:
        """The real dtype of a complex one (complex64 -> float32); others unchanged."""
        return public_dtype(np.dtype(_REAL_OF.get(self.name, self.name)))

    def to_complex(self) -> dtype:
        """The complex dtype of a floating one (float32 -> complex64), as PyTorch's."""
        if self.kind == "c":
            return self
        if self.name.startswith("float8_"):  # PyTorch's message, naming its C++ type
            from .float8 import scalar_type_name

            raise RuntimeError(f"Unknown Complex ScalarType for {scalar_type_name(self.dtype)}")
        if self.name not in _COMPLEX_OF:
            raise RuntimeError(f"to_complex is only supported for floating point types, got {self}")
        return public_dtype(np.dtype(_COMPLEX_OF[self.name]))


_PUBLIC: dict[np.dtype, dtype] = {}  # NumPy dtype -> its wrapper (Tensor.dtype reads it)


def public_dtype(np_dtype: Any) -> dtype:
    """The :class:`dtype` of a NumPy dtype (one object per dtype)."""
    try:
        return _PUBLIC[np_dtype]
    except (KeyError, TypeError):  # a dtype first seen, or a name / type to resolve first
        pass
    if type(np_dtype) is dtype:
        return np_dtype
    d = np.dtype(np_dtype)
    made = _PUBLIC.get(d)
    if made is None:
        made = _PUBLIC[d] = dtype._wrap(d)
    return made


def _by_name(name: str) -> dtype:
    """Unpickling: the dtype of a NumPy name (bfloat16 and float8 through ml_dtypes)."""
    if name == "bfloat16":
        from .dtypes import bfloat16_dtype  # ml_dtypes on first use (see dtypes.py)

        return public_dtype(bfloat16_dtype())
    if name.startswith("float8_"):
        from .float8 import float8_dtype  # ml_dtypes on first use

        return public_dtype(float8_dtype(name))
    return public_dtype(np.dtype(name))


# The public dtypes (``cr.float32``, ...), with PyTorch's aliases. ``cr.bfloat16`` is made
# on first use (see dtypes.bfloat16_dtype: ml_dtypes is slow to import).
float16 = half = public_dtype(np.dtype("float16"))
float32 = float = public_dtype(np.dtype("float32"))  # noqa: A001 - mirrors torch.float
float64 = double = public_dtype(np.dtype("float64"))
int8 = public_dtype(np.dtype("int8"))
int16 = short = public_dtype(np.dtype("int16"))
int32 = int = public_dtype(np.dtype("int32"))  # noqa: A001 - mirrors torch.int
int64 = long = public_dtype(np.dtype("int64"))
uint8 = public_dtype(np.dtype("uint8"))
uint16 = public_dtype(np.dtype("uint16"))
uint32 = public_dtype(np.dtype("uint32"))
uint64 = public_dtype(np.dtype("uint64"))
bool_ = public_dtype(np.dtype("bool"))
complex64 = cfloat = public_dtype(np.dtype("complex64"))
complex128 = cdouble = public_dtype(np.dtype("complex128"))
