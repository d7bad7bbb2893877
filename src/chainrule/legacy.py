"""PyTorch's legacy tensor types: ``cr.FloatTensor``, ``cr.LongTensor``, ... and the names
``Tensor.type()`` returns.

Old tutorials still write ``torch.FloatTensor(2, 3)`` (an uninitialised 2x3 float32 tensor),
``torch.LongTensor([1, 2])``, ``x.type(torch.FloatTensor)``, ``isinstance(x,
torch.LongTensor)`` and ``x.type() == 'torch.FloatTensor'``. Each legacy type here is a
class whose call builds a plain :class:`Tensor` of its dtype and whose ``isinstance`` check
tests the dtype, so that code runs unchanged. ``Tensor.type()`` returns PyTorch's names
(``'torch.FloatTensor'``) because that is the string such code compares against.
``cr.set_default_tensor_type(torch.DoubleTensor)`` (or ``'torch.DoubleTensor'``) sets the
default dtype, with PyTorch's deprecation warning.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import numpy as np

from . import cuda
from ._type_names import LEGACY_DTYPES, dtype_of_type_name, type_name
from ._user_warnings import warn_once
from .autograd.tensor import Tensor
from .autograd.tensor_data import refuse_legacy_scalar_data
from .creation import empty, tensor
from .dtypes import is_floating, set_default_dtype
from .settings import set_default_device
from .size import Size

__all__ = [
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
    "dtype_of_type_name",
    "set_default_tensor_type",
    "type_name",
]


class _LegacyMeta(type):
    dtype: np.dtype

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:
        if args and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            return empty(*args, dtype=cls.dtype, device=device)
        if len(args) == 1 and isinstance(args[0], Size):  # FloatTensor(x.shape): sizes
            return empty(tuple(args[0]), dtype=cls.dtype, device=device)
        if len(args) == 0:
            return empty(0, dtype=cls.dtype, device=device)
        if len(args) != 1:
            raise TypeError(
                f"{cls.__name__}(): expected sizes (ints) or one data argument, "
                f"got {len(args)} arguments"
            )
        data = args[0]
        if isinstance(data, Tensor):  # PyTorch aliases a tensor of its dtype, refuses others
            if data.dtype != cls.dtype:
                raise TypeError(
                    f"{cls.__name__}(): expected a tensor of dtype {cls.dtype}, got "
                    f"{data.dtype}; convert it with .to({cls.dtype})"
                )
            return data[...]  # a new alias of the same memory (PyTorch: not ``is``)
        refuse_legacy_scalar_data(data)
        return tensor(data, dtype=cls.dtype, device=device)

    def __repr__(cls) -> str:
        return f"<class 'chainrule.{cls.__name__}'>"


def _legacy(name: str) -> type:
    return _LegacyMeta(
        name,
        (),
        {
            "dtype": LEGACY_DTYPES[name],
            "__doc__": f"Legacy constructor/type of {LEGACY_DTYPES[name]} tensors "
            f"(``torch.{name}``): sizes give an uninitialised tensor, "
            "data gives a copy; isinstance tests the dtype.",
        },
    )


FloatTensor = _legacy("FloatTensor")
DoubleTensor = _legacy("DoubleTensor")
HalfTensor = _legacy("HalfTensor")
LongTensor = _legacy("LongTensor")
IntTensor = _legacy("IntTensor")
ShortTensor = _legacy("ShortTensor")
CharTensor = _legacy("CharTensor")
ByteTensor = _legacy("ByteTensor")
BoolTensor = _legacy("BoolTensor")

_DEPRECATED = (  # PyTorch's text, which filters match by its start
    "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
    "torch.set_default_dtype() and torch.set_default_device() as alternatives."
)
_NOT_FLOATING = "only floating-point types are supported as the default type"


def _resolve(name: str) -> tuple[Any, bool]:
    """The legacy type a ``'torch.FloatTensor'``-style string names (``torch.`` and
    ``chainrule.`` alike), and whether it is a CUDA type; other modules are imported and
    looked up, as PyTorch does."""
    module, _, attr = name.rpartition(".")
    if not module:
        raise ModuleNotFoundError(f"No module named {name!r}")
    if module in ("torch", "chainrule", "torch.cuda", "chainrule.cuda"):
        if attr not in LEGACY_DTYPES and attr != "BFloat16Tensor":
            raise AttributeError(f"module {module!r} has no attribute {attr!r}")
        return getattr(sys.modules[__package__], attr), module.endswith(".cuda")
    return getattr(importlib.import_module(module), attr), False


def set_default_tensor_type(t: Any, /) -> None:
    """Set the default dtype from a legacy tensor type (``cr.DoubleTensor``) or its name
    (``'torch.DoubleTensor'``); ``'torch.cuda.FloatTensor'`` also makes CUDA the default
    device. Deprecated in PyTorch (it warns once per process): use
    :func:`set_default_dtype` and :func:`set_default_device`.

    Raises:
        TypeError: a non-floating type (``'torch.IntTensor'``), something that is not a
            legacy tensor type, or a CUDA type without a GPU (CuPy and a device).
        ModuleNotFoundError, AttributeError: a name that does not resolve.
    """
    warn_once("set_default_tensor_type", _DEPRECATED)
    is_cuda = False
    if isinstance(t, str):
        name = t
        t, is_cuda = _resolve(t)
        if is_cuda and not cuda.is_available():
            raise TypeError(f"type {name} not available. chainrule has no CUDA device here")
    if not isinstance(t, _LegacyMeta):
        raise TypeError(f"invalid type object: {_NOT_FLOATING}")
    if not is_floating(t.dtype):
        raise TypeError(_NOT_FLOATING)
    set_default_dtype(t.dtype)
    if is_cuda:
        set_default_device("cuda")
