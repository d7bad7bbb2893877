"""PyTorch's legacy tensor types: ``cr.FloatTensor``, ``cr.LongTensor``, ... and the names
``Tensor.type()`` returns.

Old tutorials still write ``torch.FloatTensor(2, 3)`` (an uninitialised 2x3 float32 tensor),
``torch.LongTensor([1, 2])``, ``x.type(torch.FloatTensor)``, ``isinstance(x,
torch.LongTensor)`` and ``x.type() == 'torch.FloatTensor'``. Each legacy type here is a
class whose call builds a plain :class:`Tensor` of its dtype and whose ``isinstance`` check
tests the dtype, so that code runs unchanged. ``Tensor.type()`` returns PyTorch's names
(``'torch.FloatTensor'``) because that is the string such code compares against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._type_names import LEGACY_DTYPES, dtype_of_type_name, type_name
from .autograd.tensor import Tensor
from .creation import empty, tensor

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
    "type_name",
]


class _LegacyMeta(type):
    dtype: np.dtype

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:
        if args and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            return empty(*args, dtype=cls.dtype, device=device)
        if len(args) == 0:
            return empty(0, dtype=cls.dtype, device=device)
        if len(args) != 1:
            raise TypeError(
                f"{cls.__name__}(): expected sizes (ints) or one data argument, "
                f"got {len(args)} arguments"
            )
        data = args[0]
        if isinstance(data, Tensor):
            return data.to(cls.dtype)
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
