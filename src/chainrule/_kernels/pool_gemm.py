"""GEMMs on chainrule's one compiled thread pool: the rows of the product cut into one block
per thread, each block a single-threaded BLAS call, all blocks in one compiled launch.

    C = op(A) op(B)        (op: the matrix or its transpose, as stored C-contiguous)

Block t of T computes rows m0..m1 of C from rows m0..m1 of op(A) (rows of A, or columns of
A when it is transposed) and all of op(B), by the CBLAS GEMM of NumPy's own OpenBLAS called
by address (:func:`.jit.call_sgemm_t`), with OpenBLAS held at one thread meanwhile.

Why: OpenBLAS splits a GEMM over its own threads, and chainrule's other parallel kernels
(attention's heads, GELU) ran on other threads; on 2 cores the pools took turns, and a hand-off
to a sleeping thread cost 50-150 µs on the project's virtual machines. With the GEMMs, the
attention heads and GELU on one pool of spinning threads (Numba's OpenMP layer, see
:data:`.jit.THREADING_LAYER`), nanoGPT's CPU training step went from 62-84 ms to 52-74 ms
(five alternating runs each, 2026-12-02, benchmarks/RESULTS.md). In isolation a pool GEMM is
as fast as OpenBLAS's own two threads (768x128 by 128x384: 503 against 449 µs, 343 against
335, 363 against 340 for the three products of a linear layer).

A linear layer's two backward products (dx = G W, dW = Gᵀ x) take equal work, so
:func:`matmul_pair` runs them in one launch, one whole GEMM per thread with two threads
(the GPT step's medians 46.1 -> 42.0 ms against two row-split launches).

Below :data:`MIN_POOL_MACS` multiply-adds, or with one thread, callers use NumPy's matmul.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import blas, jit

__all__ = [
    "MIN_OPENBLAS_THREADED_MACS",
    "MIN_POOL_MACS",
    "batched",
    "gemm_batch",
    "gemm_pair",
    "gemm_rows",
    "matmul",
    "matmul_2d",
    "matmul_pair",
    "pool_active",
]

MIN_OPENBLAS_THREADED_MACS = 1 << 17
"""From about this many multiply-adds OpenBLAS splits a GEMM over its own threads (which then
spin, competing with the pool's); :func:`matmul` runs such products below
:data:`MIN_POOL_MACS` with OpenBLAS held at one thread while the pool is active."""

MIN_POOL_MACS = 1 << 20
"""Products smaller than this (about 1M multiply-adds, ~0.1 ms on one core) stay one BLAS
call on the calling thread: the launch would cost more than the second core saves."""

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _gemm_numpy(gemm, a, b, c, ta, tb, chunks):  # noqa: ANN001 - the kernel's signature
    np.matmul(a.T if ta == jit.TRANS else a, b.T if tb == jit.TRANS else b, out=c)


@jit.kernel(fallback=_gemm_numpy, parallel=True)
def gemm_rows(gemm, a, b, c, ta, tb, chunks):  # pragma: no cover - compiled by Numba
    """C = op(A) op(B) into C (m, n), its rows cut into ``chunks`` blocks run in parallel;
    A, B, C C-contiguous of one float dtype, ``gemm`` the address of that dtype's GEMM."""
    for t in jit.prange(chunks):
        _gemm_block(gemm, a, b, c, ta, tb, t, chunks)


def _gemm_pair_numpy(gemm, a1, b1, c1, ta1, tb1, a2, b2, c2, ta2, tb2, chunks):  # noqa: ANN001
    _gemm_numpy(gemm, a1, b1, c1, ta1, tb1, chunks)
    _gemm_numpy(gemm, a2, b2, c2, ta2, tb2, chunks)


@jit.inline
def _gemm_block(gemm, a, b, c, ta, tb, block, blocks):  # pragma: no cover - inlined
    """Rows block/blocks of C = op(A) op(B) (see :func:`gemm_rows`)."""
    m, n = c.shape
    k = a.shape[0] if ta == jit.TRANS else a.shape[1]
    lda = a.shape[1]
    ldb = b.shape[1]
    size = c.itemsize
    m0 = m * block // blocks
    m1 = m * (block + 1) // blocks
    if m1 > m0:
        first = m0 * lda if ta == jit.NO_TRANS else m0
        pa = a.ctypes.data + first * size
        pc = c.ctypes.data + m0 * n * size
        if size == 4:
            jit.call_sgemm_t(gemm, ta, tb, m1 - m0, n, k, pa, lda, b.ctypes.data, ldb, pc, n)
        else:
            jit.call_dgemm_t(gemm, ta, tb, m1 - m0, n, k, pa, lda, b.ctypes.data, ldb, pc, n)


@jit.kernel(fallback=_gemm_pair_numpy, parallel=True)
def gemm_pair(gemm, a1, b1, c1, ta1, tb1, a2, b2, c2, ta2, tb2, chunks):  # pragma: no cover
    """Two products of equal work in one launch, each cut into ``chunks`` row blocks (with
    two threads: one product per thread, unsplit)."""
    for t in jit.prange(2 * chunks):
        if t < chunks:
            _gemm_block(gemm, a1, b1, c1, ta1, tb1, t, chunks)
        else:
            _gemm_block(gemm, a2, b2, c2, ta2, tb2, t - chunks, chunks)


def pool_active() -> int:
    """The number of threads the pool kernels may use now (0 where they do not apply: the
    NumPy backend, one thread, or a forked child, see :func:`.jit.in_forked_child`)."""
    from ..threads import get_num_threads  # noqa: PLC0415 - threads imports _kernels

    n = get_num_threads()
    if n < 2 or jit.backend() != "numba" or jit.in_forked_child():
        return 0
    return n


def _problem(a: Any, b: Any, trans_a: bool, trans_b: bool) -> tuple | None:
    """(m, n, dtype) of op(a) @ op(b) when the pool can take it, else None."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim != 2 or b.ndim != 2:
        return None
    dtype = a.dtype
    if dtype not in _FLOATS or b.dtype != dtype:
        return None
    if not (a.flags.c_contiguous and b.flags.c_contiguous):
        return None
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != kb or m * n * k < MIN_POOL_MACS:
        return None
    return m, n, dtype


def _mid_sized(a: Any, b: Any, trans_a: bool, trans_b: bool) -> bool:
    """Whether op(a) @ op(b) is a 2-d float product too small for the pool but large enough
    for OpenBLAS to wake its own threads (:data:`MIN_OPENBLAS_THREADED_MACS`)."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim != 2 or b.ndim != 2:
        return False
    m = a.shape[1] if trans_a else a.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    if a.dtype not in _FLOATS or b.dtype != a.dtype:
        return False
    return MIN_OPENBLAS_THREADED_MACS <= m * n * a.shape[0 if trans_a else 1] < MIN_POOL_MACS


def _flag(trans: bool) -> int:
    return jit.TRANS if trans else jit.NO_TRANS


def matmul_pair(first: tuple, second: tuple) -> tuple | None:
    """Two products ``(a, b, trans_a, trans_b)`` in one launch (:func:`gemm_pair`): a linear
    layer's two backward products, whose work is always equal (N·out·in multiply-adds each),
    so that with two threads each thread runs one whole GEMM. None where either does not
    apply (the caller then uses :func:`matmul` or NumPy)."""
    p1, p2 = _problem(*first), _problem(*second)
    if p1 is None or p2 is None or p1[2] != p2[2]:
        return None
    threads = pool_active()
    gemm = blas.gemm_address(p1[2]) if threads else None
    if gemm is None:
        return None
    c1, c2 = np.empty(p1[:2], p1[2]), np.empty(p2[:2], p2[2])
    (a1, b1, ta1, tb1), (a2, b2, ta2, tb2) = first, second
    chunks = max(1, min(threads // 2, p1[0], p2[0]))
    with blas.one_blas_thread():
        gemm_pair(
            gemm, a1, b1, c1, _flag(ta1), _flag(tb1), a2, b2, c2, _flag(ta2), _flag(tb2), chunks
        )
    return c1, c2


def matmul(a: Any, b: Any, trans_a: bool = False, trans_b: bool = False) -> np.ndarray | None:
    """op(a) @ op(b) on the pool for C-contiguous 2-d float32/float64 NumPy arrays of one
    dtype (op transposes where asked), or None where the pool does not apply (other arrays,
    small products, NumPy's BLAS not a known OpenBLAS): the caller then multiplies itself."""
    problem = _problem(a, b, trans_a, trans_b)
    if problem is None and _mid_sized(a, b, trans_a, trans_b) and pool_active():
        # one BLAS thread: OpenBLAS's woken workers would spin on past the call and take
        # the core from the pool's threads (LeNet's step: 14 -> 7 ms where the spin time
        # was OpenBLAS's default, i.e. NumPy imported before chainrule)
        with blas.one_blas_thread():
            return np.matmul(a.T if trans_a else a, b.T if trans_b else b)
    threads = pool_active() if problem is not None else 0
    gemm = blas.gemm_address(problem[2]) if threads else None
    if gemm is None:
        return None
    m, n, dtype = problem
    c = np.empty((m, n), dtype)
    with blas.one_blas_thread():  # each block is one single-threaded BLAS call
        gemm_rows(gemm, a, b, c, _flag(trans_a), _flag(trans_b), min(threads, m))
    return c


def _gemm_batch_numpy(gemm, a, b, c, ta, tb, chunks):  # noqa: ANN001 - the kernel's signature
    np.matmul(
        a.swapaxes(-1, -2) if ta == jit.TRANS else a,
        b.swapaxes(-1, -2) if tb == jit.TRANS else b,
        out=c,
    )


@jit.kernel(fallback=_gemm_batch_numpy, parallel=True)
def gemm_batch(gemm, a, b, c, ta, tb, chunks):  # pragma: no cover - compiled by Numba
    """c[i] = op(a[i]) op(b[i]) for stacks of matrices (batch, rows, cols) whose matrices are
    C-contiguous as stored (``a``/``b`` given untransposed, ``ta``/``tb`` say whether to
    transpose), any batch stride; the batch cut into ``chunks`` blocks, one single-threaded
    BLAS call per matrix."""
    batch, m, n = c.shape
    k = a.shape[1] if ta == jit.TRANS else a.shape[2]
    lda, ldb = a.shape[2], b.shape[2]
    size = c.itemsize
    sa, sb, sc = a.strides[0], b.strides[0], c.strides[0]
    for t in jit.prange(chunks):
        lo, hi = jit.block(batch, t, chunks)
        for i in range(lo, hi):
            pa = a.ctypes.data + i * sa
            pb = b.ctypes.data + i * sb
            pc = c.ctypes.data + i * sc
            if size == 4:
                jit.call_sgemm_t(gemm, ta, tb, m, n, k, pa, lda, pb, ldb, pc, n)
            else:
                jit.call_dgemm_t(gemm, ta, tb, m, n, k, pa, lda, pb, ldb, pc, n)


def _stored(x: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """(``x`` as stored, whether to transpose it) for a 2-d matrix, or a 3-d stack of them
    (any batch stride), that is C-contiguous as given or transposed; None for other strides."""
    if x.ndim == 3 and not x.shape[0]:
        return None
    m = x[0] if x.ndim == 3 else x  # one matrix: all share its strides
    if m.flags.c_contiguous:
        return x, False
    if m.T.flags.c_contiguous:
        return x.swapaxes(-1, -2), True
    return None


def batched(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:
    """out[i] = a[i] @ b[i] for 3-d float stacks of one dtype on the compiled pool, one
    single-threaded BLAS call per matrix, the batch cut over the pool's threads (one launch;
    a matrix transposed in memory is passed with CBLAS's transpose flag, not copied). False
    (nothing done) where the pool does not apply."""
    threads = pool_active()
    gemm = blas.gemm_address(a.dtype) if threads else None
    if gemm is None or a.dtype not in _FLOATS or b.dtype != a.dtype or out.dtype != a.dtype:
        return False
    sa, sb = _stored(a), _stored(b)
    if sa is None or sb is None or not out.flags.c_contiguous:
        return False
    with blas.one_blas_thread():
        gemm_batch(gemm, sa[0], sb[0], out, _flag(sa[1]), _flag(sb[1]), min(threads, a.shape[0]))
    return True


def matmul_2d(a: Any, b: Any) -> np.ndarray | None:
    """``a @ b`` for 2-d float NumPy arrays (each C-contiguous as given or transposed) through
    :func:`matmul`, so that ``torch.matmul``-style code gets the pool, or OpenBLAS held at
    one thread for mid-sized products, as ``nn.Linear`` does; None for small products (checked
    first: the per-op cost of a tiny matmul is unchanged) and anything else."""
    if (
        type(a) is not np.ndarray
        or type(b) is not np.ndarray
        or a.ndim != 2
        or b.ndim != 2
        or a.shape[0] * a.shape[1] * b.shape[-1] < MIN_OPENBLAS_THREADED_MACS
    ):
        return None
    sa, sb = _stored(a), _stored(b)
    if sa is None or sb is None:
        return None
    return matmul(sa[0], sb[0], sa[1], sb[1])
