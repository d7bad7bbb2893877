"""float16 products on the CPU: computed by float32 BLAS and rounded once.

NumPy has no half-precision BLAS: its float16 ``matmul`` multiplies and sums each output in
float32 in a plain C loop and rounds the sum to float16 once, ~10-30x slower than float32
BLAS on the same product (256x256 by 256x256: 72 ms against 2-4 ms on the 2-core machine).
Converting the operands to float32 (exact: float32 holds every float16 value), multiplying
with BLAS and rounding the result to float16 once gives the same numbers up to the order
of the float32 sums, which is also how far PyTorch's own float16 CPU products are from a
float32 product rounded once (about 1 element in 600 of a 256x256 product differs by one
float16 ulp in both). CuPy arrays are left alone: cuBLAS has half-precision GEMMs.

:func:`float16_in_float32` wraps an array kernel (the convolution kernels); the hot
single-product paths (``MatMul``, ``LinearFn``) test ``dtype.char == "e"`` inline and call
:func:`half_matmul`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["float16_in_float32", "half_matmul", "is_host_half"]


def is_host_half(a: Any) -> bool:
    """Whether ``a`` is a float16 NumPy array (a product the host computes in float32)."""
    return type(a) is np.ndarray and a.dtype.char == "e"


def _up(a: Any) -> Any:
    return a.astype(np.float32) if is_host_half(a) else a


def _down(out: Any) -> Any:
    if isinstance(out, tuple):
        return tuple(_down(o) for o in out)
    if type(out) is np.ndarray and out.dtype == np.float32:
        return out.astype(np.float16)
    return out


def half_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` of float16 arrays: float32 BLAS, rounded to float16 once."""
    return np.matmul(_up(a), _up(b)).astype(np.float16)


def float16_in_float32(kernel: Callable) -> Callable:
    """``kernel`` run on float32 copies of its float16 NumPy arguments, its float32 results
    rounded to float16 once; other calls pass through unchanged."""

    @functools.wraps(kernel)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not any(is_host_half(a) for a in args) and not any(
            is_host_half(v) for v in kwargs.values()
        ):
            return kernel(*args, **kwargs)
        out = kernel(*(_up(a) for a in args), **{k: _up(v) for k, v in kwargs.items()})
        return _down(out)

    return run
