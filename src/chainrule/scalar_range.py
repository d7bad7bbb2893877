"""Writing a Python number into a tensor of a given dtype: PyTorch's overflow check.

``torch.full``, ``fill_``, ``masked_fill``, ``index_fill``, ``x[i] = v`` and scalar ``clamp``
bounds convert the number to the tensor's dtype first, and refuse one that does not fit:
``RuntimeError: value cannot be converted to type float without overflow``. NumPy casts it
instead, silently: 1e308 becomes inf in float32, 1000 becomes -24 in int8. That is a wrong
answer, so these ops convert it with :func:`fit_scalar` first. The rule, measured on
PyTorch 2.13:

- signed integers: the value (NaN and inf included) must lie in ``[min, max]``;
- unsigned integers: at most ``max`` (a negative integer wraps around, as in PyTorch; a
  negative float, -0.5 included, does not fit);
- float32, complex64, float16 and bfloat16: a finite value must not exceed the dtype's
  largest finite number in magnitude (inf and NaN pass); ``x[i] = v`` does not check the
  16-bit floats (they round to inf), nor does PyTorch 2.13's ``torch.full`` of a single
  element (a quirk chainrule does not mirror);
- a real dtype receives a complex value only when its imaginary part is 0;
- bool takes anything; a 0-d Tensor value is cast without the check (PyTorch's rule too).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .dtypes import convert

__all__ = ["fit_scalar"]


def fit_scalar(op: str, value: Any, dtype: Any, check_half: bool = True) -> Any:
    """``value`` as a NumPy scalar of ``dtype``, or PyTorch's RuntimeError when the number
    does not fit (see the module). Anything that is not a number (a Tensor) passes through.
    Within range the conversion is PyTorch's: truncation toward 0 for integers, wrap-around
    for negative unsigned values. ``check_half=False``: a 16-bit float takes any value,
    rounding to inf (``x[i] = v`` in PyTorch)."""
    if not isinstance(value, (int, float, complex, np.number)) or isinstance(value, np.bool_):
        return value
    dt = np.dtype(dtype)
    if dt.kind != "b" and not isinstance(value, bool):
        parts = (value,)
        if isinstance(value, (complex, np.complexfloating)):
            if dt.kind != "c" and value.imag != 0:
                _overflow(op, value, dt)
            parts = (value.real, value.imag) if dt.kind == "c" else (value.real,)
            value = value if dt.kind == "c" else value.real
        if not all(_part_fits(part, dt, check_half) for part in parts):
            _overflow(op, value, dt)
    with np.errstate(over="ignore"):  # an unchecked 16-bit float may round to inf
        arr = np.asarray(value)  # a Python float to float16/bfloat16 through float32:
        return (convert(arr, dt) if arr.dtype.kind == "f" else arr.astype(dt))[()]  # torch's


def _part_fits(v: Any, dt: np.dtype, check_half: bool = True) -> bool:
    """Whether the real number ``v`` fits ``dt`` (a complex dtype: one of its parts)."""
    if dt.kind in "iu":
        info = np.iinfo(dt)
        if isinstance(v, (float, np.floating)) and not math.isfinite(v):
            return False
        if dt.kind == "u" and isinstance(v, (float, np.floating)):
            return 0 <= v <= info.max  # a negative float does not wrap (an integer does)
        return v <= info.max and (dt.kind == "u" or v >= info.min)
    f = float(v)  # a Python int beyond a double's range raises OverflowError, as in torch
    if dt.itemsize == 1 and dt.kind in "fV":  # float8: x[i] = v takes any number
        # (saturated or NaN); full/fill_ refuse one beyond the type's range, as PyTorch
        from .typeinfo import finfo

        if not check_half or math.isnan(f) or f == 0:
            return True
        if math.isinf(f):
            return dt.name == "float8_e5m2"
        info = finfo(dt)
        return info.min <= f <= info.max
    part = np.finfo(dt).dtype  # complex64 -> float32
    if part.itemsize >= 8 or (part.itemsize == 2 and not check_half):
        return True
    return not math.isfinite(f) or abs(f) <= float(np.finfo(part).max)


def _overflow(op: str, value: Any, dt: np.dtype) -> None:
    if dt.kind in "iu":
        info = np.iinfo(dt)
        valid = f"integers from {info.min} to {info.max}"
    elif isinstance(value, (complex, np.complexfloating)) and dt.kind != "c":
        valid = "real numbers only (a complex value needs imaginary part 0)"
    elif dt.itemsize == 1 and dt.kind in "fV":  # float8 (NumPy's finfo does not know it)
        from .typeinfo import finfo

        info = finfo(dt)
        valid = f"numbers from {info.min:g} to {info.max:g}"
    else:
        valid = f"numbers up to {np.finfo(dt).max:g} in magnitude, or inf"
    article = "an" if dt.name[0] in "aeiou" else "a"
    raise RuntimeError(
        f"{op}: value {value!r} cannot be converted to type {dt.name} without overflow "
        f"({article} {dt.name} tensor holds {valid})"
    )
