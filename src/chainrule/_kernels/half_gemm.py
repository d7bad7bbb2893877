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

:func:`to_half` is the float32 -> float16 rounding these paths end with, and
:func:`to_single` the float16 -> float32 widening they start with. NumPy converts to and
from float16 in a scalar C loop (2.5-4.4 ns per element to float16, ~2 back, on the 2-core
machine); the compiled kernels (:func:`_to_half_kernel`, :func:`_to_single_kernel`) compute
the same bits with integer and float32 arithmetic in ~0.4 ns (float32 -> float16: round half
to even, subnormals, overflow to inf, NaN payloads as NumPy keeps them), checked against
``astype`` on every float16 pattern and, once, on every float32 pattern (a dense sample of
them in tests/ops/test_half_cdist_einsum.py). Measured (best of 7, 3 processes each, 2
cores under load ~5): ``einsum("i,j->ij")`` of two float16 256-vectors 200-290 us -> 59-85,
a float16 256x256 ``@`` 750-1070 us -> 410-610, 64x256 by 256x256 340-440 -> 140-210.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from . import jit

__all__ = ["float16_in_float32", "half_matmul", "is_host_half", "to_half", "to_single"]

# Below this many elements ``astype`` is as quick as the kernel and its call (best of 9 in
# 3 processes, float32 vector: 256 elements 2.1 us against astype's 1.3, 512: 2.4 against
# 2.4-3.0, 1024: 3.3 against 5.6, 4096: 6 against 22).
TO_HALF_MIN_SIZE = 512
# (the other way: 512 elements 3.3 us against astype's 2.0, 1024: 1.6 against 1.7)
TO_SINGLE_MIN_SIZE = 1024
_F32 = np.dtype(np.float32)


def _to_half_numpy(src: np.ndarray, dst: np.ndarray) -> None:
    dst[...] = src.astype(np.float16).view(np.uint16)


@jit.kernel(fallback=_to_half_numpy)
def _to_half_kernel(src, dst):  # pragma: no cover - compiled by Numba
    """``dst`` (uint16, flat) = the float16 bits nearest ``src`` (float32, flat), as
    NumPy's conversion: normal results add 0xFFF + (the kept lowest bit) before dropping 13
    mantissa bits (ties to even; a carry into the exponent is right, up to inf past 65504);
    subnormal ones are the float32 sum |x| + 0.5, whose last 10 bits are |x| / 2^-24 rounded
    to even by the addition; NaN keeps its top 10 payload bits (at least 1) as in NumPy."""
    for i in range(src.size):
        bits = jit.f32_as_i32(src[i])
        sign = (bits >> np.int32(16)) & np.int32(0x8000)
        ab = bits & np.int32(0x7FFFFFFF)
        # normal: exponent rebiased by 127 - 15 (0x38000000), rounded in the integer
        odd = (ab >> np.int32(13)) & np.int32(1)
        normal = (ab - np.int32(0x38000000) + np.int32(0xFFF) + odd) >> np.int32(13)
        sub = jit.f32_as_i32(jit.i32_as_f32(ab) + np.float32(0.5)) - np.int32(0x3F000000)
        nan = np.int32(0x7C00) | (ab >> np.int32(13) & np.int32(0x3FF))
        nan = nan if nan != np.int32(0x7C00) else np.int32(0x7C01)
        big = nan if ab > np.int32(0x7F800000) else np.int32(0x7C00)
        r = sub if ab < np.int32(0x38800000) else normal
        r = r if ab < np.int32(0x47800000) else big  # 2^16 and above: inf (or NaN)
        dst[i] = np.uint16(r | sign)


def to_half(a: np.ndarray) -> np.ndarray:
    """``a.astype(float16)``, bit for bit, by a compiled kernel for float32 NumPy arrays (of
    :data:`TO_HALF_MIN_SIZE` elements or more, with Numba active); other arrays go through
    ``astype``. The result has ``a``'s memory order, as ``astype``'s."""
    if (
        type(a) is not np.ndarray
        or a.dtype.char != "f"
        or a.size < TO_HALF_MIN_SIZE
        or jit.backend() != "numba"
    ):
        return a.astype(np.float16)
    run = _TO_HALF[0] or _load_to_half()
    if a.flags.c_contiguous:
        bits = np.empty(a.shape, np.uint16)
        run(a.ravel(), bits.ravel())
        return bits.view(np.float16)
    out = np.empty_like(a, dtype=np.float16)  # (order "K": a's layout, gaps closed)
    order = np.argsort([-abs(st) for st in out.strides], kind="stable")
    dst = out.transpose(order)
    if not dst.flags.c_contiguous:  # (negative strides and the like)
        return a.astype(np.float16)
    src = np.ascontiguousarray(a.transpose(order))
    run(src.ravel(), dst.view(np.uint16).ravel())
    return out


_TO_HALF: list = [None]  # the compiled kernel, once loaded (skips Kernel.__call__: 0.5 us)


def _load_to_half():
    _TO_HALF[0] = _to_half_kernel.compiled
    return _TO_HALF[0]


def _to_single_numpy(src: np.ndarray, dst: np.ndarray) -> None:
    dst[...] = src.view(np.float16).astype(np.float32)


@jit.kernel(fallback=_to_single_numpy)
def _to_single_kernel(src, dst):  # pragma: no cover - compiled by Numba
    """``dst`` (float32, flat) = the float16 values whose bits are ``src`` (uint16, flat),
    exactly: the exponent rebiased (normal), |bits| · 2^-24 (subnormal, exact in float32),
    exponent 255 with the payload kept (inf, NaN), as NumPy's conversion."""
    for i in range(src.size):
        h = np.int32(src[i])
        ab = h & np.int32(0x7FFF)
        normal = (ab << np.int32(13)) + np.int32(0x38000000)
        sub = jit.f32_as_i32(np.float32(ab) * np.float32(2.0**-24))
        big = (ab << np.int32(13)) | np.int32(0x7F800000)
        r = sub if ab < np.int32(0x400) else normal
        r = r if ab < np.int32(0x7C00) else big
        dst[i] = jit.i32_as_f32(r | ((h & np.int32(0x8000)) << np.int32(16)))


def to_single(a: np.ndarray) -> np.ndarray:
    """``a.astype(float32)`` for float16 NumPy arrays, by a compiled kernel from
    :data:`TO_SINGLE_MIN_SIZE` elements (NumPy's loop: ~2 ns per element, the kernel's
    ~0.3; 65536 elements 21 us against 147), C-contiguous result; other arrays go through
    ``astype``."""
    if (
        type(a) is not np.ndarray
        or a.dtype.char != "e"
        or a.size < TO_SINGLE_MIN_SIZE
        or jit.backend() != "numba"
    ):
        return a.astype(np.float32)
    run = _TO_SINGLE[0] or _load_to_single()
    out = np.empty(a.shape, np.float32)
    run(np.ascontiguousarray(a).view(np.uint16).ravel(), out.ravel())
    return out


_TO_SINGLE: list = [None]


def _load_to_single():
    _TO_SINGLE[0] = _to_single_kernel.compiled
    return _TO_SINGLE[0]


def is_host_half(a: Any) -> bool:
    """Whether ``a`` is a float16 NumPy array (a product the host computes in float32)."""
    return type(a) is np.ndarray and a.dtype.char == "e"


def _up(a: Any) -> Any:
    return to_single(a) if is_host_half(a) else a


def _down(out: Any) -> Any:
    if isinstance(out, tuple):
        return tuple(_down(o) for o in out)
    if type(out) is np.ndarray and out.dtype == np.float32:
        return to_half(out)
    return out


def half_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` of float16 arrays: float32 BLAS, rounded to float16 once."""
    return to_half(np.matmul(_up(a), _up(b)))


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
