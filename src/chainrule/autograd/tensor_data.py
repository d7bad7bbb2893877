"""User data (lists, NumPy arrays, DLPack objects, Tensors) to the array a new Tensor holds,
with PyTorch's default dtypes: floats become the default dtype, integers int64, NumPy data
keeps its dtype. A (nested) list takes, as in PyTorch, the promotion of its elements' own
dtypes, so NumPy scalars, arrays and Tensors inside it keep theirs: ``[np.float64(1.0)]`` is
float64 under a float32 default and ``[np.float32(1.0)]`` float32 under a float64 one (lists
of ``np.float64`` values, such as returns summed by NumPy, are common).
``TensorConversions`` is the mixin every Tensor has: testing for it finds Tensors without
importing ``tensor.py``, which imports this module.
"""

from __future__ import annotations

import numbers
import sys
from functools import reduce
from itertools import chain
from typing import Any

import numpy as np

from .. import dtypes as _dt
from .._user_warnings import warn_at_caller
from ..backend import get_array_module
from .ieee import rerun_quietly
from .tensor_conversions import TensorConversions, _warn_scalar_of_grad_tensor

__all__ = [
    "check_native_byte_order",
    "check_numpy_dtype",
    "check_requires_grad_flag",
    "python_type_name",
    "refuse_legacy_scalar_data",
    "sequence_dtype",
    "to_array",
]

_BOOL = np.dtype(np.bool_)


def check_native_byte_order(arr: Any) -> None:
    """Refuse a NumPy array whose dtype is not in the machine's byte order (``'>f8'`` on a
    little-endian host), as PyTorch does: its tensor would have no PyTorch dtype."""
    if not arr.dtype.isnative:
        raise ValueError(
            "given numpy array has byte order different from the native byte order. "
            "Conversion between byte orders is currently not supported."
        )


def python_type_name(value: Any) -> str:
    """``value``'s type as PyTorch's argument errors name it: ``int``, ``numpy.bool``,
    ``Tensor``."""
    if isinstance(value, TensorConversions):
        return "Tensor"
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__name__
    return f"{cls.__module__.split('.')[0]}.{cls.__name__}"


def check_requires_grad_flag(
    requires_grad: Any, op: str | None = None, optional: bool = False
) -> bool:
    """``requires_grad`` as a bool, refusing one that is not a Python bool (``1``,
    ``np.True_``) as PyTorch's argument parser does, with a TypeError naming ``op``: by
    default the public function that was called (the nearest caller whose name has no
    leading underscore; looked up only when raising). ``None`` means False where the flag is
    ``optional`` (the factories: ``zeros``, ``zeros_like``, ...), and is refused otherwise
    (``tensor``, ``new_tensor``, ``Parameter``), as in PyTorch."""
    if requires_grad is True or requires_grad is False:
        return requires_grad
    if requires_grad is None and optional:
        return False
    if op is None:
        frame = sys._getframe(1)
        while frame.f_back is not None and frame.f_code.co_name.startswith(("_", "<")):
            frame = frame.f_back
        op = frame.f_code.co_name
    raise TypeError(
        f"{op}(): argument 'requires_grad' must be bool, not {python_type_name(requires_grad)}"
    )


def refuse_legacy_scalar_data(data: Any) -> None:
    """PyTorch's legacy constructors (``Tensor(data)``, ``FloatTensor(data)``) take a
    sequence or array: one number (or None, a generator) is refused with ``new()``'s error."""
    if isinstance(data, np.generic) or not (hasattr(data, "__len__") or hasattr(data, "__array__")):
        kind = type(data)
        name = (
            kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
        )
        raise TypeError(f"new(): data must be a sequence (got {name})")


def to_array(data: Any, dtype: Any) -> Any:
    """Convert user data to an array with PyTorch's default dtypes (a value out of the
    dtype's range becomes inf silently, as in PyTorch: see ``ieee.py``)."""
    try:
        return _to_array(data, dtype)
    except RuntimeWarning as w:
        return rerun_quietly(w, _to_array, data, dtype)


def _to_array(data: Any, dtype: Any) -> Any:
    d = None if dtype is None else _dt.as_dtype(dtype)
    if isinstance(data, TensorConversions):
        arr = data._data.copy()
        return arr if d is None else _cast(arr, d)
    xp = get_array_module(data)
    if xp is not np:
        return data if d is None else _cast(data, d)
    if isinstance(data, (np.ndarray, np.generic)):  # NumPy data keeps its dtype (as torch)
        check_native_byte_order(data)
        check_numpy_dtype(data)
        arr = np.array(data, copy=True)
        return arr if d is None or arr.dtype == d else _cast(arr, d)
    if hasattr(data, "__dlpack__") and not isinstance(data, (list, tuple)):
        arr = np.array(np.from_dlpack(data), copy=True)
        return arr if d is None or arr.dtype == d else _cast(arr, d)
    if isinstance(data, (list, tuple)):
        if d is None:
            d, numpy_bool = _sequence_dtype(data)
        else:
            numpy_bool = d.kind in "iu" and _sequence_dtype(data)[1]
        if numpy_bool and d is not None and d.kind in "iu":  # PyTorch reads the elements of
            # an integer tensor with __index__, which NumPy's bool does not have
            raise TypeError("'numpy.bool' object cannot be interpreted as an integer")
    elif d is None and isinstance(data, int) and not isinstance(data, bool):
        d = _dt.int64  # NumPy would pick uint64 for 2**63 (then wrapped) or object
    values = unwrap_nested(data)  # outside the try: its ValueError is not about raggedness
    if d is not None and d.itemsize <= 2 and d.kind in "fV":  # Python floats (doubles) to
        # float16/bfloat16/float8 through float32, rounded twice, as PyTorch converts them
        return _cast(to_array(data, _dt.float64), d)
    try:
        arr = np.asarray(values, dtype=d)
    except OverflowError:  # a Python int outside the dtype's range (PyTorch's errors)
        if dtype is not None:
            raise RuntimeError(
                f"tensor(): value cannot be converted to type {d} without overflow"
            ) from None
        raise ValueError(
            "tensor(): Overflow when unpacking long long: an integer in the data is outside "
            "int64's range [-2**63, 2**63); pass dtype= a floating dtype to keep it"
        ) from None
    except ValueError as err:
        if d is not None and str(err).startswith("cannot convert float"):  # NaN or inf
            raise RuntimeError(
                f"tensor(): value cannot be converted to type {d} without overflow"
            ) from None
        if isinstance(data, (list, tuple)):
            raise ValueError(
                f"tensor(): expected a rectangular nested sequence (every row of "
                f"the same length), got ragged data: {err}"
            ) from None
        raise
    if d is None:
        if arr.dtype.kind == "f":
            arr = arr.astype(_dt.get_default_dtype(), copy=False)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(_dt.int64, copy=False)
        elif arr.dtype.kind == "c":  # Python complex numbers: complex64 by default (torch)
            arr = arr.astype(_dt.get_default_complex_dtype(), copy=False)
        elif arr.dtype.kind not in "bc":
            raise _no_dtype_error(data, arr)
        return arr
    return arr


class _NoDtypeError(TypeError, RuntimeError):
    """Data PyTorch cannot infer a dtype of (None, an object): its RuntimeError, and the
    TypeError chainrule raised before."""


class _StringDataError(TypeError, ValueError):
    """Strings inside a sequence: PyTorch's ValueError ("too many dimensions 'str'"), and a
    TypeError as for a string given whole."""


def _first_odd_leaf(data: Any) -> tuple[Any, bool]:
    """The first element of nested lists/tuples that is no number, bool, array or tensor
    (the one PyTorch's dtype inference stops at), and whether it lies on the path of first
    elements (where PyTorch's shape inference meets it first); ``data`` itself when it is
    no sequence."""
    if not isinstance(data, (list, tuple)):
        return data, True
    for i, item in enumerate(data):
        leaf, first = _first_odd_leaf(item)
        if leaf is item and isinstance(item, (list, tuple)):  # nothing odd inside it
            continue
        if not isinstance(leaf, (numbers.Number, np.generic, np.ndarray, TensorConversions)):
            return leaf, first and i == 0
    return data, True


def _no_dtype_error(data: Any, arr: Any) -> Exception:
    """PyTorch's error for data with no tensor dtype (error path only): a string given
    whole, or after a number, is its parser's TypeError, a string first in a sequence its
    shape inference's ValueError, anything else (None, an object) its RuntimeError "Could
    not infer dtype of ..."."""
    hint = (
        f"\ntensor(): cannot make a tensor from {type(data).__name__} (NumPy inferred dtype "
        f"{arr.dtype})"
    )
    leaf, first = _first_odd_leaf(data)
    if isinstance(leaf, (str, bytes)):
        if first and leaf is not data:
            return _StringDataError(f"too many dimensions '{type(leaf).__name__}'{hint}")
        return TypeError(f"new(): invalid data type '{type(leaf).__name__}'{hint}")
    return _NoDtypeError(f"Could not infer dtype of {type(leaf).__name__}{hint}")


def _cast(arr: Any, d: np.dtype) -> Any:
    """An array of the user's data converted to ``d`` as ``Tensor.to`` converts (PyTorch's
    integer results for out-of-range floats; a complex array cast to a real type keeps the
    real parts, with PyTorch's UserWarning instead of NumPy's ComplexWarning)."""
    if arr.dtype.kind == "c" and d.kind not in "cb":
        out = _dt.convert(arr.real, d)
        warn_at_caller("Casting complex values to real discards the imaginary part")
        return out
    return _dt.convert(arr, d)


def check_numpy_dtype(arr: Any) -> None:
    """Refuse a NumPy array of a dtype PyTorch has no tensor type for (``longdouble``,
    strings, objects, datetimes), with PyTorch's TypeError; ml_dtypes' bfloat16 is taken."""
    if _dt.is_bfloat16(arr.dtype):
        return
    if arr.dtype.kind not in "biufc" or arr.dtype.itemsize > 16 or arr.dtype == np.longdouble:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{arr.dtype.type.__name__}. The only "
            "supported types are: float64, float32, float16, complex64, complex128, int64, "
            "int32, int16, int8, uint64, uint32, uint16, uint8, and bool."
        )


def sequence_dtype(data: list | tuple) -> np.dtype | None:
    """PyTorch's dtype for a (nested) sequence: every element's own dtype (a Python float the
    default dtype, an int int64, a bool bool, a complex the default complex dtype; a NumPy
    scalar, a NumPy array or a Tensor its dtype), promoted together with ``promote_types``
    (``[np.float16(1), 2]`` is float16, ``[np.uint8(1), np.int8(1)]`` int16). None for an empty
    sequence or one holding anything else, which NumPy's inference then handles.

    The elements are visited one nesting level at a time, each level's types gathered in one
    ``set(map(type, ...))`` pass, so long and deeply nested lists stay cheap."""
    return _sequence_dtype(data)[0]


def _sequence_dtype(data: list | tuple) -> tuple[np.dtype | None, bool]:
    """:func:`sequence_dtype`, and whether a NumPy bool is among the elements (PyTorch
    refuses one in an integer tensor)."""
    found: set[np.dtype] = set()
    numpy_bool = False
    level: list = [data]
    while level:
        items = level[0] if len(level) == 1 else list(chain.from_iterable(level))
        level = []
        for kind in set(map(type, items)):
            if kind is float:
                found.add(_dt.get_default_dtype())
            elif kind is int:
                found.add(_dt.int64)
            elif kind is bool:
                found.add(_BOOL)
            elif kind is complex:
                found.add(_dt.get_default_complex_dtype())
            elif issubclass(kind, (list, tuple)):
                level.extend(x for x in items if type(x) is kind)
            elif issubclass(kind, np.generic):
                found.add(np.dtype(kind))
                numpy_bool = numpy_bool or kind is np.bool_
            elif issubclass(kind, np.ndarray):
                found.update(x.dtype for x in items if type(x) is kind)
            elif issubclass(kind, TensorConversions):
                found.update(x._data.dtype for x in items if type(x) is kind)
            else:
                return None, numpy_bool
    return (reduce(_dt.promote_types, found) if found else None), numpy_bool


def unwrap_nested(data: Any) -> Any:
    """``data`` with every Tensor in it replaced by its array. A Tensor inside a list is one
    number there, as in PyTorch: it must hold one element (any shape: ``[[[1.]]]`` counts
    as ``1.``), else ValueError, and one that requires grad gives the once-per-process
    warning of ``float(t)``."""
    if isinstance(data, TensorConversions):
        return data._data
    if isinstance(data, (list, tuple)) and any(
        isinstance(x, (TensorConversions, list, tuple)) for x in data
    ):
        return [_element(x) if isinstance(x, TensorConversions) else unwrap_nested(x) for x in data]
    return data


def _element(t: Any) -> Any:
    """A Tensor found inside a list: its one element as a 0-d array (PyTorch reads it as a
    Python scalar, keeping its dtype for the list's promotion)."""
    if t._data.size != 1:
        raise ValueError("only one element tensors can be converted to Python scalars")
    if t.requires_grad:
        _warn_scalar_of_grad_tensor()
    return t._data.reshape(())
