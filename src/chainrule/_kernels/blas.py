"""Batched matmul of small matrices: one BLAS thread per matrix, the batch split over threads.

NumPy's stacked ``a @ b`` calls one GEMM per matrix, and OpenBLAS splits each 128x128 GEMM
over its own threads, which spin and synchronise 32 times per ``bmm``. Measured on the
2-core machines (load ~8 from other processes), forward plus the two backward products of
``bmm`` 32x128x128 float32, medians of 40 alternating runs in one process:

    OpenBLAS 2 threads (NumPy's default)          245 ms   (min 61 ms)
    OpenBLAS 1 thread                              57 ms   (min 31 ms)
    OpenBLAS 1 thread, batch split over 2 threads  40 ms   (min 18 ms)

PyTorch does the last: ``bmm`` parallelises over the batch. :func:`batched_matmul` does the
same with chainrule's intra-op pool (:func:`chainrule.threads.parallel_slices`; NumPy
releases the GIL inside GEMM) while OpenBLAS is held at one thread, then restores its
setting. It applies to NumPy float arrays with equal batch shapes whose matrices are small
(at most :data:`MAX_SMALL_FLOPS` multiply-adds each: larger GEMMs use OpenBLAS's threads
well); anything else returns None and the caller runs ``a @ b``. When NumPy's BLAS is not
OpenBLAS (or its thread control is not found) it is not used either.

Holding OpenBLAS at one thread is process-wide for the duration of the call; a lock keeps two
batched products from interleaving their set/restore.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..backend import get_array_module

__all__ = [
    "MAX_SMALL_FLOPS",
    "MIN_BATCHED_MACS",
    "batched_matmul",
    "gemm_address",
    "matmul_stack",
    "one_blas_thread",
    "openblas_threads_control",
]

MAX_SMALL_FLOPS = 1 << 22  # m * k * n per matrix: 128^3 = 2^21 qualifies, 256^3 does not
MIN_BATCHED_MACS = 1 << 20
"""Stacks with fewer multiply-adds in all skip the batch split (:func:`matmul_stack`): one
launch on the compiled pool cost 1.5-2 ms on the loaded 2-core host, against 2 us for NumPy's
own 4x6x8 by 4x8x6 product and 7 us for 32x16x16 by 32x16x16 (2026-12-03), as
:data:`.pool_gemm.MIN_POOL_MACS` for single GEMMs."""
_OPENBLAS_THREADED_MACS = 1 << 17  # from about here OpenBLAS splits one GEMM over its threads
_PREFIXES = ("scipy_openblas_", "openblas_", "")
_SUFFIXES = ("64_", "")
_lock = threading.Lock()
_control: Any = False  # False: not looked up yet; None: not available
_gemm: Any = False  # False: not looked up yet; else {dtype char: address} (maybe empty)
# the ILP64 (64-bit integer) CBLAS GEMMs of NumPy's OpenBLAS (NumPy >= 2 wheels):
# cblas_?gemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
_GEMM_SYMBOLS = {
    "f": ("scipy_cblas_sgemm64_", "cblas_sgemm64_"),
    "d": ("scipy_cblas_dgemm64_", "cblas_dgemm64_"),
}


def _openblas_libraries() -> list:
    """The OpenBLAS shared libraries NumPy's wheel ships (loaded, or already loaded)."""
    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    libs = []
    for path in sorted(glob.glob(os.path.join(libdir, "*openblas*"))):
        try:
            libs.append(ctypes.CDLL(path))
        except OSError:
            continue
    return libs


def gemm_address(dtype: Any) -> int | None:
    """The address of the ILP64 ``cblas_sgemm`` / ``cblas_dgemm`` of NumPy's own OpenBLAS for
    ``dtype`` (float32 / float64), or None (another BLAS, another dtype, or a 32-bit integer
    build). Compiled time loops (:mod:`.recurrent_loops`) call it through
    :func:`.jit.call_gemm`, so a whole sequence of small GEMMs and the elementwise work
    between them runs in one compiled call, with no Python in between: the same OpenBLAS
    that ``np.matmul`` uses, at the same speed, under the same thread setting."""
    global _gemm
    if _gemm is False:
        found: dict[str, int] = {}
        for lib in _openblas_libraries():
            for char, names in _GEMM_SYMBOLS.items():
                for name in names:
                    fn = getattr(lib, name, None)
                    if fn is not None and char not in found:
                        found[char] = ctypes.cast(fn, ctypes.c_void_p).value
        _gemm = found
    return _gemm.get(np.dtype(dtype).char)


def openblas_threads_control() -> tuple | None:
    """``(get_num_threads, set_num_threads)`` of the OpenBLAS that NumPy loaded, or None."""
    global _control
    if _control is not False:
        return _control
    _control = None
    for lib in _openblas_libraries():
        for pre in _PREFIXES:
            for suf in _SUFFIXES:
                get = getattr(lib, f"{pre}get_num_threads{suf}", None)
                put = getattr(lib, f"{pre}set_num_threads{suf}", None)
                if pre == "" and get is not None:  # bare names belong to other libraries
                    get = put = None
                if get is not None and put is not None:
                    get.restype = ctypes.c_int
                    put.argtypes = [ctypes.c_int]
                    _control = (get, put)
                    return _control
    return _control


@contextlib.contextmanager
def one_blas_thread() -> Iterator[bool]:
    """Hold OpenBLAS at one thread for the ``with`` block, then restore its setting (under
    a lock, so that two holders do not interleave their set/restore). For code that runs
    many small GEMMs, or GEMMs on several of chainrule's threads at once. Yields whether
    the hold applies (False when NumPy's BLAS is not a controllable OpenBLAS)."""
    control = openblas_threads_control()
    if control is None:
        yield False
        return
    get, put = control
    with _lock:
        before = get()
        if before > 1:
            put(1)
        try:
            yield True
        finally:
            if before > 1:
                put(before)


def matmul_stack(a: Any, b: Any) -> Any:
    """``a @ b`` for a stack of matrices ``a`` (``a.ndim > 2``, any ``b`` matmul accepts):
    :func:`batched_matmul` from :data:`MIN_BATCHED_MACS` multiply-adds in all, else one NumPy
    matmul on this thread (OpenBLAS held at one thread where its matrices are big enough for
    it to split them), since a launch would cost more than the second core saves. CuPy
    arrays (or a host constant beside one) go straight to the array module's matmul."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:  # no host BLAS path on a GPU
        xp = get_array_module(a, b)
        return xp.matmul(xp.asarray(a), xp.asarray(b))
    m, k = a.shape[-2:]
    n = b.shape[-1] if b.ndim > 1 else 1
    if a.size * n >= MIN_BATCHED_MACS:
        out = batched_matmul(a, b)
        return a @ b if out is None else out
    if m * k * n >= _OPENBLAS_THREADED_MACS:
        with one_blas_thread():
            return a @ b
    return a @ b


def batched_matmul(a: Any, b: Any) -> np.ndarray | None:
    """``a @ b`` for stacks of small matrices with one BLAS thread per matrix and the batch
    split over chainrule's threads, or None when that does not apply (see module doc)."""
    from ..threads import get_num_threads, parallel_slices

    if (
        type(a) is not np.ndarray
        or type(b) is not np.ndarray
        or a.ndim < 3
        or a.shape[:-2] != b.shape[:-2]
        or a.dtype != b.dtype
        or a.dtype not in (np.float32, np.float64)
        or get_num_threads() < 2
    ):
        return None
    m, k = a.shape[-2:]
    n = b.shape[-1]
    batch = a.size // (m * k) if m * k else 0
    if batch < 2 or m * k * n > MAX_SMALL_FLOPS or b.shape[-2] != k:
        return None
    if openblas_threads_control() is None:
        return None
    a3 = a.reshape(batch, m, k)
    b3 = b.reshape(batch, k, n)
    out = np.empty((batch, m, n), a.dtype)
    from .pool_gemm import batched  # noqa: PLC0415 - pool_gemm imports this module

    if batched(a3, b3, out):  # on the compiled pool: one launch
        return out.reshape(a.shape[:-2] + (m, n))

    def part(start: int, stop: int) -> None:
        np.matmul(a3[start:stop], b3[start:stop], out=out[start:stop])

    with one_blas_thread():
        parallel_slices(part, batch, out.nbytes + a.nbytes + b.nbytes)
    return out.reshape(a.shape[:-2] + (m, n))
