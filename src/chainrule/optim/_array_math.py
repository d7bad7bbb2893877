"""Array formulas the optimizers share, written as PyTorch's kernels compute them."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import get_default_dtype

__all__ = ["lerp", "scalar_dtype", "scalar_dtype_round"]


def lerp(start: Any, end: Any, weight: float) -> Any:
    """``torch.lerp(start, end, weight)`` with PyTorch's two-branch formula (a new array):
    ``start + w (end - start)`` for ``|w| < 0.5``, else ``end - (end - start)(1 - w)``, which
    is exact at ``w = 1``. Using the same branch keeps float64 results equal to ~1 ulp."""
    diff = end - start
    if abs(weight) < 0.5:
        diff *= weight
        diff += start
        return diff
    diff *= 1 - weight
    return end - diff


def scalar_dtype() -> np.dtype:
    """The dtype PyTorch keeps optimizer scalars (``step``, ASGD's ``eta``) in: float64 when
    the default dtype is float64, else float32 (``torch.optim.optimizer._get_scalar_dtype``)."""
    return np.dtype(np.float64) if get_default_dtype() == np.float64 else np.dtype(np.float32)


def scalar_dtype_round(value: float, like: Any = None) -> float:
    """Round a Python float to :func:`scalar_dtype`, so state such as ASGD's ``eta`` holds
    the same number as PyTorch's 0-d tensor; to ``like``'s dtype instead when ``like`` is a
    NumPy scalar (a counter a loaded state dict holds in another dtype)."""
    dtype = like.dtype if isinstance(like, np.generic) else scalar_dtype()
    return float(dtype.type(value))
