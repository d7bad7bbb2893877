"""Array formulas the optimizers share, written as PyTorch's CPU kernels compute them.

In float32 PyTorch's ``lerp_``, ``addcmul_`` and ``add_(other, alpha=)`` round a fused
multiply-add once, and its Python-float scalars are rounded to float32 first (the rules and
how they were found: :mod:`chainrule._kernels.optim`). The in-place helpers here follow
them, so a float32 step gives PyTorch's bits (except where its ``sqrt`` is not correctly
rounded, see the tests); other dtypes keep plain NumPy arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import jit
from .._kernels import optim as _k
from ..dtypes import get_default_dtype

__all__ = [
    "add_",
    "addcdiv_",
    "addcmul_",
    "fma_into",
    "lerp",
    "lerp_",
    "scalar_dtype",
    "scalar_dtype_round",
]


def fma_into(a: Any, b: Any, c: Any, out: Any) -> Any:
    """``out = a * b + c`` as PyTorch's float32 kernels compute it: rounded once (a fused
    multiply-add) when ``out`` is float32, plainly otherwise. ``a`` may be a scalar (already
    of ``out``'s dtype); ``out`` may be ``b`` or ``c``. The compiled kernel runs for large
    contiguous arrays of one shape (small ones too: one compiled call costs less than
    NumPy's three passes), :func:`chainrule._kernels.optim.fma32_numpy` else."""
    if out.dtype != np.float32:
        np.add(np.multiply(a, b), c, out=out)
        return out
    if type(out) is np.ndarray and not out.flags.writeable:  # NumPy raises its ValueError
        return _k.fma32_numpy(a, b, c, out=out)
    if isinstance(a, np.ndarray):
        if a.shape == b.shape == c.shape == out.shape and jit.eligible(out, a, b, c, min_size=1):
            _k.fma_arrays(a.reshape(-1), b.reshape(-1), c.reshape(-1), out.reshape(-1))
            return out
    elif b.shape == c.shape == out.shape and jit.eligible(out, b, c, min_size=1):
        _k.fma_scalar(np.float32(a), b.reshape(-1), c.reshape(-1), out.reshape(-1))
        return out
    return _k.fma32_numpy(a, b, c, out=out)


def lerp_(start: Any, end: Any, weight: float) -> None:
    """``start.lerp_(end, weight)`` in place, PyTorch's two branches: ``fma(w, end - start,
    start)`` for ``|w| < 0.5``, else ``fma(-(end - start), 1 - w, end)`` (exact at w = 1)."""
    t = start.dtype.type
    w = t(weight)
    diff = np.asarray(np.subtract(end, start, dtype=start.dtype))
    if abs(w) < 0.5:
        fma_into(w, diff, start, start)
    else:
        np.negative(diff, out=diff)
        fma_into(t(1) - w, diff, np.asarray(end, dtype=start.dtype), start)


def lerp(start: Any, end: Any, weight: float) -> Any:
    """``torch.lerp(start, end, weight)`` (a new array), as :func:`lerp_`."""
    out = np.array(start, copy=True)
    lerp_(out, end, weight)
    return out


def addcmul_(x: Any, t1: Any, t2: Any, value: float) -> None:
    """``x.addcmul_(t1, t2, value=value)`` in place: ``fma(value * t1, t2, x)``."""
    fma_into(np.multiply(t1, x.dtype.type(value), dtype=x.dtype), t2, x, x)


def addcdiv_(x: Any, t1: Any, t2: Any, value: float) -> None:
    """``x.addcdiv_(t1, t2, value=value)`` in place: ``x + (value * t1) / t2``, no fma."""
    tmp = np.multiply(t1, x.dtype.type(value), dtype=x.dtype)
    tmp /= t2
    x += tmp


def add_(x: Any, other: Any, alpha: float) -> None:
    """``x.add_(other, alpha=alpha)`` in place: ``fma(alpha, other, x)`` (a plain sum for
    ``alpha == 1``, which the fma rounds the same way)."""
    if alpha == 1:
        x += other
    else:
        fma_into(x.dtype.type(alpha), other, x, x)


_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def scalar_dtype() -> np.dtype:
    """The dtype PyTorch keeps optimizer scalars (``step``, ASGD's ``eta``) in: float64 when
    the default dtype is float64, else float32 (``torch.optim.optimizer._get_scalar_dtype``).
    Called for every counter at every step: the two dtypes are made once."""
    return _F64 if get_default_dtype() == _F64 else _F32


def scalar_dtype_round(value: float, like: Any = None) -> float:
    """Round a Python float to :func:`scalar_dtype`, so state such as ASGD's ``eta`` holds
    the same number as PyTorch's 0-d tensor; to ``like``'s dtype instead when ``like`` is a
    NumPy scalar (a counter a loaded state dict holds in another dtype)."""
    dtype = like.dtype if isinstance(like, np.generic) else scalar_dtype()
    return float(dtype.type(value))
