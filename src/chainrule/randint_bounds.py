"""``randint``'s bounds checked against the result's dtype, as PyTorch checks them: ``low``
and ``high - 1`` must fit an integer or bool dtype ("to - 1 is out of bounds for signed
char"), and lie within a floating dtype's range, with a UserWarning past the integers the
dtype represents exactly. Shared by ``randint`` and ``randint_like``."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import dtypes as _dt

__all__ = ["check_randint_range"]

_C_NAMES = {
    "int8": "signed char", "uint8": "unsigned char", "int16": "short int", "int32": "int",
    "int64": "long int", "uint16": "unsigned short", "uint32": "unsigned int",
    "uint64": "unsigned long", "bool": "bool", "float16": "c10::Half", "float32": "float",
    "float64": "double",
}  # fmt: skip


def check_randint_range(dtype: Any, low: int, high: int) -> None:
    """PyTorch's checks on ``randint``'s ``[low, high)`` for the result's dtype: ``low`` and
    ``high - 1`` must fit an integer or bool dtype, and lie within a floating dtype's range
    (a UserWarning past the integers it represents exactly, ``2**(mantissa bits + 1)``).

    Raises:
        RuntimeError: a bound out of the dtype's range (PyTorch's text).
    """
    dt = _dt.as_dtype(dtype)
    bf16 = _dt.is_bfloat16(dt)
    name = "c10::BFloat16" if bf16 else _C_NAMES.get(dt.name, dt.name)
    if dt.kind == "b":
        lo_ok, hi_ok = 0, 1
    elif dt.kind in "iu":
        lo_ok, hi_ok = int(np.iinfo(dt).min), int(np.iinfo(dt).max)
    elif dt.kind == "f" or bf16:
        big = 3.3895313892515355e38 if bf16 else float(np.finfo(dt).max)
        lo_ok, hi_ok = -big, big
    else:
        return
    exact = 2**8 if bf16 else (2 ** (np.finfo(dt).nmant + 1) if dt.kind == "f" else None)
    for label, v in (("from", low), ("to - 1", high - 1)):
        if not lo_ok <= v <= hi_ok:
            raise RuntimeError(f"{label} is out of bounds for {name}")
        if exact is not None and not -exact <= v <= exact:
            bits = int(np.log2(exact))
            warnings.warn(
                f"{label} is out of bounds [-(2^{bits}), 2^{bits}]. Due to precision "
                f"limitations {name} can support discrete uniform distribution only within "
                "this range. This warning will become an error in version 1.7 release, please "
                "fix the code in advance",
                UserWarning,
                stacklevel=3,
            )
