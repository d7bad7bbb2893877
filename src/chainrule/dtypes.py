"""Data types and PyTorch-like type promotion.

Inside chainrule dtypes are NumPy dtypes (arrays carry them; the constants here are
NumPy's); users hold :class:`chainrule.dtype` objects wrapping them (``dtype_objects.py``),
which every function here also accepts. Promotion follows PyTorch rather than NumPy: a
floating tensor combined with an integer tensor keeps the float tensor's dtype (NumPy
would widen int64 + float32 to float64), integer division ``/`` gives the default float
dtype, and Python scalars only change the result's *category* (bool < int < float).

``bfloat16`` is ``ml_dtypes.bfloat16``'s NumPy dtype, imported on first use of
``cr.bfloat16`` (importing ``ml_dtypes`` takes ~0.5 s, more than all of chainrule's other
imports). NumPy gives it kind ``'V'``, so code asks :func:`is_floating` (or
:func:`is_bfloat16`) rather than ``dtype.kind == 'f'``; both answer without importing it.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from . import float8 as _f8

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")  # noqa: A001 - mirrors torch.float
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
uint16 = np.dtype("uint16")
uint32 = np.dtype("uint32")
uint64 = np.dtype("uint64")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")  # noqa: A001 - mirrors torch.int
int64 = long = np.dtype("int64")
bool_ = np.dtype("bool")
complex64 = cfloat = np.dtype("complex64")
complex128 = cdouble = np.dtype("complex128")

_default_dtype = float32
_BFLOAT16: list[np.dtype] = []  # filled on first use: ml_dtypes is slow to import

# ``bfloat16`` itself is a lazy module attribute (see __getattr__), so not in __all__.

__all__ = [
    "as_dtype",
    "bfloat16_dtype",
    "bool_",
    "cdouble",
    "cfloat",
    "combine_categories",
    "complex64",
    "complex128",
    "double",
    "float",
    "float16",
    "float32",
    "float64",
    "get_default_complex_dtype",
    "get_default_dtype",
    "half",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_bfloat16",
    "is_float8",
    "promotion_error",
    "is_floating",
    "long",
    "promote_types",
    "scalar_result_dtype",
    "set_default_dtype",
    "short",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
]

_BY_NAME = {
    "float16": float16,
    "half": float16,
    "float32": float32,
    "float": float32,
    "float64": float64,
    "double": float64,
    "int8": int8,
    "uint8": uint8,
    "uint16": uint16,
    "uint32": uint32,
    "uint64": uint64,
    "int16": int16,
    "int32": int32,
    "int": int32,
    "int64": int64,
    "long": int64,
    "bool": bool_,
    "complex64": complex64,
    "cfloat": complex64,
    "complex128": complex128,
    "cdouble": complex128,
}


def bfloat16_dtype() -> np.dtype:
    """PyTorch's ``bfloat16`` (8 exponent bits, 7 mantissa bits): ``ml_dtypes.bfloat16``'s
    NumPy dtype, imported on the first call.

    Raises:
        ImportError: ``ml_dtypes`` is not installed (it is a dependency of chainrule).
    """
    if not _BFLOAT16:
        try:
            import ml_dtypes  # optional at import time: slow to import (~0.5 s), so lazily
        except ImportError as e:
            raise ImportError(
                "cr.bfloat16 needs the ml_dtypes package (NumPy has no bfloat16): "
                "pip install ml_dtypes"
            ) from e
        _BFLOAT16.append(np.dtype(ml_dtypes.bfloat16))
    return _BFLOAT16[0]


def __getattr__(name: str) -> np.dtype:
    if name == "bfloat16":  # resolved lazily, see bfloat16_dtype
        return bfloat16_dtype()
    if name in _f8.FLOAT8_NAMES:  # ml_dtypes' too: lazily (see float8.py)
        return _f8.float8_dtype(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_bfloat16(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is bfloat16 (without importing ml_dtypes)."""
    return dtype.kind == "V" and dtype.name == "bfloat16"


is_float8 = _f8.is_float8
promotion_error = _f8.promotion_error


def get_default_dtype() -> np.dtype:
    """The dtype new floating tensors get (float32 unless changed)."""
    return _default_dtype


def get_default_complex_dtype() -> np.dtype:
    """The dtype new complex tensors get from Python complex numbers: complex128 when the
    default dtype is float64, else complex64 (PyTorch's rule)."""
    return complex128 if _default_dtype == float64 else complex64


def set_default_dtype(dtype) -> None:
    """Set the dtype for new floating tensors (any floating dtype, bfloat16 too, as
    PyTorch)."""
    global _default_dtype
    d = as_dtype(dtype)
    if is_float8(d):  # PyTorch's own error (it has no storage class for them)
        raise TypeError(f"couldn't find storage object {_f8.scalar_type_name(d)}Storage")
    if not is_floating(d):
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default_dtype = d


def as_dtype(dtype) -> np.dtype:
    """Normalise a dtype given as a NumPy dtype, a Python type or a name."""
    if isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, str):
        if dtype in ("bfloat16", "torch.bfloat16"):
            return bfloat16_dtype()
        if dtype.replace("torch.", "") in _f8.FLOAT8_NAMES:
            return _f8.float8_dtype(dtype.replace("torch.", ""))
        try:
            return _BY_NAME[dtype.replace("torch.", "")]
        except KeyError:  # PyTorch's TypeError naming the op called (it takes no names)
            from .ops.number_arguments import dtype_type_error  # noqa: PLC0415 - error path

            raise dtype_type_error(dtype) from None
    if dtype is bool:
        return bool_
    if dtype is builtins.int:
        return int64
    if dtype is builtins.float:  # PyTorch: Python's float is torch.float64, not the default
        return float64
    name = getattr(dtype, "__module__", "")
    if name.startswith("torch"):
        return as_dtype(str(dtype))
    if isinstance(dtype, type):
        if not issubclass(dtype, np.generic) and dtype is not complex:
            # another class (type(None), object, a tensor class): PyTorch's TypeError
            from .ops.number_arguments import dtype_type_error  # noqa: PLC0415 - error path

            raise dtype_type_error(dtype)
    elif type(dtype).__name__ != "dtype":
        # a bool, a number, a tensor: PyTorch's TypeError naming the op called
        from .ops.number_arguments import dtype_type_error  # noqa: PLC0415 - error path only

        raise dtype_type_error(dtype)
    return np.dtype(dtype)


def convert(x: Any, dtype: np.dtype) -> Any:
    """``x.astype(dtype)`` for a real NumPy (or CuPy) array ``x``, with PyTorch CPU's results
    (x86-64) where C leaves a float-to-integer conversion undefined: a value beyond the integer
    type, NaN or inf. NumPy already gives them for most pairs (the value truncated through a
    32-bit conversion for 8/16/32-bit types, a 64-bit one for 64-bit types, the lowest value
    on overflow, then wrapped to the width), except: float64 to float16 or bfloat16, which
    PyTorch rounds through float32; bfloat16 to integers, which ml_dtypes turns into 0
    (PyTorch converts through float32); float64 to uint8, which PyTorch converts through int64
    (NumPy through int32: -2147483649.0 gives 255 there, 0 here); float16 to uint32 (through
    int64 too); and float32/float64 to uint32, which PyTorch's contiguous kernel converts as
    ``x >= 2**31 ? int32(x - 2**31) + 2**31 : int32(x)``. No warning, as in PyTorch."""
    src = x.dtype
    if src.itemsize == 1 and src.name in _f8.FLOAT8_NAMES:
        return _f8.from_float8(x, dtype)
    if dtype.itemsize == 1 and dtype.name in _f8.FLOAT8_NAMES:
        return _f8.to_float8(x, dtype)
    if src == np.float64 and dtype.itemsize == 2 and dtype.kind in "fV":
        # float16 and bfloat16 from float64 through float32, rounded twice, as PyTorch's
        # kernels convert (NumPy and ml_dtypes round once: a value near a tie of the 16-bit
        # type can land one step away)
        return x.astype(np.float32).astype(dtype)
    if dtype.kind not in "iu" or src.kind in "iub":
        return x.astype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        if src.kind == "V":  # bfloat16
            x = x.astype(np.float32)
            src = x.dtype
        if dtype == np.uint8 and src == np.float64 or dtype == np.uint32 and src == np.float16:
            return x.astype(np.int64).astype(dtype)
        if dtype == np.uint32:
            x = x.astype(np.float64)
            high = x >= 2.0**31  # (x - 0.0 keeps NaN and -0.0; the subtraction is exact)
            low = (x - high * 2.0**31).astype(np.int32).view(np.uint32)
            return low ^ (high.astype(np.uint32) << np.uint32(31))
        return x.astype(dtype)


def is_floating(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is a real floating type: float16/32/64, bfloat16 or a float8 type."""
    kind = dtype.kind
    return kind == "f" or (kind == "V" and (dtype.name == "bfloat16" or is_float8(dtype)))


def _category(dtype: np.dtype) -> int:
    """bool < integer < floating < complex: the higher category decides a promotion."""
    kind = dtype.kind
    if kind == "V":  # bfloat16, float8
        return 2
    return 0 if kind == "b" else 2 if kind == "f" else 3 if kind == "c" else 1


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's promotion of two tensor dtypes (no NumPy float64 widening)."""
    if a is b or a == b:
        return a
    if is_float8(a) or is_float8(b):
        raise _f8.promotion_error(a, b)
    ca, cb = _category(a), _category(b)
    if ca != cb and not (ca >= 2 and cb >= 2):
        return a if ca > cb else b
    return np.promote_types(a, b)  # same category, or float with complex (complex64 +
    # float64 is complex128, as in PyTorch)


def combine_categories(higher: np.dtype, lower: np.dtype) -> np.dtype:
    """PyTorch's result dtype for an operand of dtype ``higher`` with one of a lower rank
    (a 0-d tensor beside a tensor with dimensions): the lower-ranked operand matters only
    through a higher category, and a complex one beside floats takes the floats' width
    (float32 with a 0-d complex128 tensor is complex64)."""
    ch, cl = _category(higher), _category(lower)
    if cl <= ch:
        return higher
    if cl == 3 and ch == 2:
        return np.promote_types(higher, np.complex64)
    return lower


def scalar_result_dtype(tensor_dtype: np.dtype, scalar) -> np.dtype:
    """Result dtype of ``tensor op python_scalar``: the scalar only raises the category."""
    if isinstance(scalar, bool):
        return tensor_dtype
    if isinstance(scalar, builtins.int):
        return int64 if tensor_dtype.kind == "b" else tensor_dtype
    if isinstance(scalar, (builtins.float, np.floating, np.bool_)):  # np.bool_: a float to torch
        return tensor_dtype if _category(tensor_dtype) >= 2 else _default_dtype
    if isinstance(scalar, (builtins.complex, np.complexfloating)):
        if tensor_dtype.kind == "c":
            return tensor_dtype
        if not is_floating(tensor_dtype):
            return get_default_complex_dtype()
        return np.dtype(np.complex128 if tensor_dtype == np.float64 else np.complex64)
    if isinstance(scalar, np.integer):  # a NumPy integer counts as an int (PyTorch)
        return int64 if tensor_dtype.kind == "b" else tensor_dtype
    return tensor_dtype
