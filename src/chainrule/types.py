"""``cr.types``: the type aliases of ``torch.types``, for annotations in user code
(``from torch.types import Device, Number``).

chainrule has no symbolic shapes, so the ``*LikeType`` aliases are the plain Python types
and :data:`py_sym_types` is empty.
"""

from __future__ import annotations

import os
from typing import IO

from .autograd.tensor import Tensor
from .backend import Device as _DeviceClass
from .size import Size
from .storage.untyped import UntypedStorage as Storage

__all__ = [
    "BoolLikeType",
    "Device",
    "FileLike",
    "FloatLikeType",
    "IntLikeType",
    "Number",
    "Size",
    "Storage",
    "Tensor",
    "py_sym_types",
]

Number = int | float | bool
Device = _DeviceClass | str | int | None
FileLike = str | os.PathLike | IO[bytes]
IntLikeType = int
FloatLikeType = float
BoolLikeType = bool
py_sym_types: tuple[type, ...] = ()
