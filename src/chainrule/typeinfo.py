"""``cr.finfo`` and ``cr.iinfo``: numerical limits of floating and integer dtypes.

The attributes mirror PyTorch's (``bits``, ``eps``, ``max``, ``min``, ``tiny``,
``smallest_normal``, ``resolution``, ``dtype``) and are plain Python numbers, so
``x.clamp(min=cr.finfo(x.dtype).eps)`` and ``cr.finfo().max`` behave as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes

__all__ = ["finfo", "iinfo"]


def _fmt(x: float) -> str:
    return f"{x:g}"


# PyTorch's limits of the float8 types: (max, min, eps, smallest_normal); resolution is 1.
# (float8_e5m2fnuz's eps is PyTorch's 2**-3; float8_e8m0fnu has no sign: min is 2**-127.)
_FLOAT8 = {
    "float8_e4m3fn": (448.0, -448.0, 2.0**-3, 2.0**-6),
    "float8_e5m2": (57344.0, -57344.0, 2.0**-2, 2.0**-14),
    "float8_e4m3fnuz": (240.0, -240.0, 2.0**-3, 2.0**-7),
    "float8_e5m2fnuz": (57344.0, -57344.0, 2.0**-3, 2.0**-15),
    "float8_e8m0fnu": (2.0**127, 2.0**-127, 1.0, 2.0**-127),
}


def _bfloat16_finfo() -> Any:
    """ml_dtypes' limits of bfloat16 (``np.finfo`` does not know the type)."""
    import ml_dtypes  # optional dependency, slow to import: only for bfloat16

    return ml_dtypes.finfo(dtypes.bfloat16_dtype())


class finfo:  # noqa: N801 - mirrors torch.finfo
    """Limits of a floating dtype (the default dtype when none is given); a complex dtype
    gives its real and imaginary parts' (float32 for complex64, float64 for complex128).

    Raises:
        TypeError: for a non-floating dtype.
    """

    def __init__(self, type: Any = None) -> None:  # noqa: A002 - PyTorch's argument name
        dt = dtypes.get_default_dtype() if type is None else dtypes.as_dtype(type)
        if dt.kind == "c":  # a complex dtype: the limits of its parts (PyTorch's answer)
            dt = np.dtype(np.float32 if dt == np.complex64 else np.float64)
        if not dtypes.is_floating(dt):
            raise TypeError(
                f"cr.finfo() requires a floating point input type, got {dt}; "
                "use cr.iinfo for integer dtypes"
            )
        if dtypes.is_float8(dt):
            self.bits, self.resolution, self.dtype = 8, 1.0, dt.name
            self.max, self.min, self.eps, self.smallest_normal = _FLOAT8[dt.name]
            self.tiny = self.smallest_normal
            return
        info = _bfloat16_finfo() if dtypes.is_bfloat16(dt) else np.finfo(dt)
        self.bits: int = int(info.bits)
        self.eps: float = float(info.eps)
        self.max: float = float(info.max)
        self.min: float = float(info.min)
        self.tiny: float = float(info.smallest_normal)
        self.smallest_normal: float = float(info.smallest_normal)
        self.resolution: float = 10.0 ** -int(info.precision)
        self.dtype: str = dt.name

    def __eq__(self, other: object) -> bool:
        """Equal when both describe the same dtype (PyTorch's; so finfo is unhashable)."""
        return isinstance(other, finfo) and other.dtype == self.dtype

    __hash__ = None  # type: ignore[assignment]  # PyTorch's finfo is unhashable

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={_fmt(self.resolution)}, min={_fmt(self.min)}, "
            f"max={_fmt(self.max)}, eps={_fmt(self.eps)}, smallest_normal="
            f"{_fmt(self.smallest_normal)}, tiny={_fmt(self.tiny)}, dtype={self.dtype})"
        )


class iinfo:  # noqa: N801 - mirrors torch.iinfo
    """Limits of an integer dtype.

    Raises:
        TypeError: for a floating dtype or ``bool`` (as PyTorch).
    """

    def __init__(self, type: Any) -> None:  # noqa: A002 - PyTorch's argument name
        dt = dtypes.as_dtype(type)
        if dt.kind == "b":
            raise TypeError("cr.iinfo: bool is not supported; it has no integer range")
        if dt.kind not in "iu":
            raise TypeError(
                f"cr.iinfo() requires an integer input type, got {dt}; "
                "use cr.finfo for floating dtypes"
            )
        info = np.iinfo(dt)
        self.bits: int = int(info.bits)
        self.max: int = int(info.max)
        self.min: int = int(info.min)
        self.dtype: str = dt.name

    def __eq__(self, other: object) -> bool:
        """Equal when both describe the same dtype (PyTorch's; so iinfo is unhashable)."""
        return isinstance(other, iinfo) and other.dtype == self.dtype

    __hash__ = None  # type: ignore[assignment]  # PyTorch's iinfo is unhashable

    def __repr__(self) -> str:
        return f"iinfo(min={float(self.min):g}, max={float(self.max):g}, dtype={self.dtype})"
