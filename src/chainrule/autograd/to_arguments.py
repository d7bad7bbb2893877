"""PyTorch's three forms of ``Tensor.to`` and its errors for a call that fits none of them:

- ``to(device=None, dtype=None, non_blocking=False, copy=False, *, memory_format=None)``
- ``to(dtype, non_blocking=False, copy=False, *, memory_format=None)``
- ``to(tensor, non_blocking=False, copy=False, *, memory_format=None)``

``Tensor.to`` reads its common calls (one positional dtype, device or tensor, optionally
flags and keywords) itself; it calls :func:`check_to_forms` only where a call is unusual
(two or more positional arguments, a positional one besides a ``dtype=``/``device=``
keyword, a leading bool) and :func:`to_fallback` where its dtype cannot be read, so its
common calls pay nothing. PyTorch's parser also reads a positional Python number as a
tensor (``x.to(1.5)`` converts to float64, ``x.to(True)`` to bool: the dtypes of a wrapped
number) and a positional int as a device index (``x.to(0)``); a device string that names no
device is its RuntimeError. chainrule also takes a dtype's name (``x.to("float64")``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..backend import Device

__all__ = ["check_to_forms", "to_fallback"]

_TAIL = "bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = None"
_FORMS = (
    f"(torch.device device = None, torch.dtype dtype = None, {_TAIL})",
    f"(torch.dtype dtype, {_TAIL})",
    f"(Tensor tensor, {_TAIL})",
)
_NAMES = (
    ("device", "dtype", "non_blocking", "copy"),
    ("dtype", "non_blocking", "copy"),
    ("tensor", "non_blocking", "copy"),
)
_OPTIONAL = {"device", "dtype"}  # first form: None is their default, so None fits them
_TORCH_DEVICE_TYPES = (
    "cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, "
    "vulkan, mps, meta, hpu, mtia, privateuseone"
)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_device(value: Any) -> bool:
    return isinstance(value, (Device, str)) or _is_int(value)


def _is_dtype(value: Any) -> bool:
    if isinstance(value, str):  # chainrule's extension: a dtype's name
        try:
            _dt.as_dtype(value)
        except TypeError:
            return False
        return True
    return type(value).__name__ == "dtype" or isinstance(value, (np.dtype, type))


def _is_tensor(value: Any) -> bool:
    # a Python number is PyTorch's wrapped-number tensor (an int went to the device form)
    return hasattr(value, "_data") or type(value) in (bool, complex) or isinstance(value, float)


_FITS = {
    "device": _is_device,
    "dtype": _is_dtype,
    "tensor": _is_tensor,
    "non_blocking": lambda v: type(v) is bool,
    "copy": lambda v: type(v) is bool,
}


def _fits(names: Sequence[str], args: Sequence[Any], kwargs: dict[str, Any]) -> bool:
    if len(args) > len(names):
        return False
    named = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key == "memory_format":
            continue
        if key not in names or key in named:
            return False
        named[key] = value
    return all(
        (value is None and key in _OPTIONAL) or _FITS[key](value) for key, value in named.items()
    )


def combination_error(args: Sequence[Any], kwargs: dict[str, Any]) -> TypeError:
    """PyTorch's "invalid combination of arguments" TypeError for ``to(*args, **kwargs)``."""
    from ..ops.invalid_arguments import format_invalid_args  # in here: ops import autograd

    keywords = list(reversed(kwargs.items()))  # PyTorch's order for a call's few keywords
    return TypeError(format_invalid_args("to", args, keywords, _FORMS))


def check_to_forms(args: Sequence[Any], kwargs: dict[str, Any]) -> None:
    """PyTorch's TypeError where ``to(*args, **kwargs)`` (the call as given) fits none of
    its forms; returns where one fits."""
    if len(args) == 2 and not kwargs and isinstance(args[0], (str, Device)):
        if type(args[1]).__name__ == "dtype" or _is_dtype(args[1]):  # to(device, dtype)
            return
    if any(_fits(names, args, kwargs) for names in _NAMES):
        return
    if len(args) > 4:
        raise TypeError(f"to() takes from 0 to 4 positional arguments but {len(args)} were given")
    raise combination_error(args, kwargs)


def _device_string_error(text: str) -> RuntimeError:
    """PyTorch's RuntimeError for a device string naming no device."""
    if re.fullmatch(r"[A-Za-z_]+(:\d+)?", text):
        return RuntimeError(
            f"Expected one of {_TORCH_DEVICE_TYPES} device type at start of device string: "
            f"{text.split(':')[0]}"
        )
    return RuntimeError(f"Invalid device string: '{text}'")


def to_fallback(value: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """``(dtype, device)`` for a ``dtype`` that chainrule's dtype reader refused (``value``,
    from ``args`` or the ``dtype=`` keyword), as PyTorch's parser reads the call, or its
    error: a first positional Python float or complex as its wrapped tensor's dtype, an int
    as a device index, a string as a device (its RuntimeError where it names none)."""
    if args and args[0] is value:
        if isinstance(value, float):  # (NumPy's float64 too)
            return _dt.float64, None
        if type(value) is complex:
            return _dt.complex128, None
        if _is_int(value):
            return None, int(value)
        if isinstance(value, str):
            raise _device_string_error(value)
    raise combination_error(args, kwargs)
