"""Intra-op parallelism for large NumPy kernels: ``set_num_threads`` / ``get_num_threads``.

NumPy runs every ufunc and copy on one core, while PyTorch splits large elementwise kernels
across its intra-op thread pool. NumPy releases the GIL inside ufunc loops and copies, so
the same effect is had by cutting a large array operation into slices along one axis and
running the slices on a few Python threads: on the 2-core machines this project measures
on, the im2col gather of a ResNet-20 3x3 conv took 3.4 ms on one thread and 2.0 ms on two
(see benchmarks/RESULTS.md).

Copies and gathers of more than :data:`MIN_PARALLEL_BYTES` are split, elementwise ufuncs
only from :data:`MIN_ELEMENTWISE_BYTES` (they are memory-bound); below that the thread
hand-off (~20-50 µs) costs more than it saves. ``set_num_threads(1)`` turns the splitting
off (everything then runs on the calling thread). BLAS keeps its own threads
(``OPENBLAS_NUM_THREADS``); this setting does not change them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ._kernels import jit as _kernel_jit
from ._kernels.jit import sync_threads as _sync_kernel_threads

__all__ = [
    "get_num_threads",
    "set_num_threads",
    "parallel_slices",
    "parallel_copy",
    "parallel_ufunc",
    "elementwise",
    "MIN_PARALLEL_BYTES",
]

MIN_PARALLEL_BYTES = 1 << 20  # 1 MiB
# Elementwise ufuncs are memory-bound: on 2 cores a second thread made add/maximum
# 1.3-1.8x faster from 8 MB up, but gained nothing on add at 4 MB (benchmarks/RESULTS.md).
MIN_ELEMENTWISE_BYTES = 4 << 20


def _default_threads() -> int:
    env = os.environ.get("CHAINRULE_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


_num_threads = _default_threads()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def get_num_threads() -> int:
    """The number of threads chainrule uses for large elementwise kernels (as
    ``torch.get_num_threads``). Defaults to the usable CPU cores (at most 8), or the
    ``CHAINRULE_NUM_THREADS`` environment variable."""
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for large elementwise kernels (as ``torch.set_num_threads``)."""
    global _num_threads, _pool
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    with _pool_lock:
        if _pool is not None and n != _num_threads:
            _pool.shutdown(wait=True)
            _pool = None
        _num_threads = n
    _sync_kernel_threads()  # compiled (Numba) kernels follow the same setting


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=_num_threads - 1, thread_name_prefix="chainrule-intraop"
            )
        return _pool


def _forget_pool_after_fork() -> None:
    """A forked child has none of the parent's pool threads: start afresh on first use."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)

_in_worker = threading.local()


def parallel_slices(fn: Callable[[int, int], None], length: int, nbytes: int) -> None:
    """Call ``fn(start, stop)`` over ``[0, length)`` cut into up to ``get_num_threads()``
    contiguous slices, in parallel when the work (``nbytes``) is large enough.

    ``fn`` must only write to the part of its output that belongs to its slice. The calling
    thread runs the last slice itself; exceptions from any slice are re-raised. Nested calls
    (from inside a slice) run serially.
    """
    k = min(_num_threads, length)
    if k <= 1 or nbytes < MIN_PARALLEL_BYTES or getattr(_in_worker, "active", False):
        fn(0, length)
        return
    bounds = [length * i // k for i in range(k + 1)]
    pool = _get_pool()
    err = np.geterr()  # np.errstate is per thread: the slices follow the caller's setting

    def run(a: int, b: int) -> None:
        _in_worker.active = True
        try:
            with np.errstate(**err):
                fn(a, b)
        finally:
            _in_worker.active = False

    futures = [pool.submit(run, bounds[i], bounds[i + 1]) for i in range(k - 1)]
    try:
        run(bounds[k - 1], bounds[k])
    finally:
        for f in futures:
            f.result()


def _split_axis(shape: tuple, k: int) -> int:
    """Axis 0 when it has at least ``k`` entries (slices are then large blocks in any
    layout), else the longest axis."""
    return 0 if shape[0] >= k else int(np.argmax(shape))


def parallel_copy(dst: np.ndarray, src: np.ndarray) -> None:
    """``np.copyto(dst, src)`` split across the intra-op threads (NumPy releases the GIL
    while copying)."""
    axis = _split_axis(dst.shape, _num_threads)
    lead = (slice(None),) * axis

    def copy(a: int, b: int) -> None:
        np.copyto(dst[lead + (slice(a, b),)], src[lead + (slice(a, b),)])

    parallel_slices(copy, dst.shape[axis], dst.nbytes)


def parallel_ufunc(ufunc: np.ufunc, *args: Any, out: np.ndarray | None = None) -> np.ndarray:
    """``ufunc(*args)`` for NumPy arrays (and scalars), computed in slices on the intra-op
    threads. Same values, dtype and memory layout (order 'K') as the plain call."""
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
    if out is None:
        # one-element views (not reshape(-1), which copies a non-contiguous array)
        probe = [a[(slice(0, 1),) * a.ndim] if isinstance(a, np.ndarray) else a for a in args]
        dtype = ufunc(*probe).dtype
        full = [a for a in arrays if a.shape == shape]
        orders = {tuple(np.argsort([-st for st in a.strides], kind="stable")) for a in full}
        # NumPy keeps the operands' memory order when they agree, else uses C order
        out = np.empty_like(full[0], dtype=dtype) if len(orders) == 1 else np.empty(shape, dtype)
    if not shape or out.nbytes < MIN_PARALLEL_BYTES or _num_threads <= 1:
        return ufunc(*args, out=out)
    nd = len(shape)
    axis = _split_axis(shape, _num_threads)
    lead = (slice(None),) * axis
    padded = [
        a.reshape((1,) * (nd - a.ndim) + a.shape)
        if isinstance(a, np.ndarray) and a.ndim < nd
        else a
        for a in args
    ]

    def part(start: int, stop: int) -> None:
        sl = lead + (slice(start, stop),)
        ufunc(
            *[a[sl] if isinstance(a, np.ndarray) and a.shape[axis] != 1 else a for a in padded],
            out=out[sl],
        )

    parallel_slices(part, shape[axis], out.nbytes)
    return out


def elementwise(ufunc: np.ufunc, a: Any, b: Any = None, out: Any = None) -> Any:
    """``ufunc(a)`` or ``ufunc(a, b)`` (optionally into ``out``), threaded when an operand is
    a NumPy array of at least :data:`MIN_ELEMENTWISE_BYTES`; other array types (CuPy) and
    smaller arrays take the plain call."""
    # Small NumPy operands (every op on small tensors) take the plain call at once: the
    # checks below cost more than np.add itself on 8x8 (session 37: 0.59 -> 0.20 us over it).
    if (
        out is None
        and type(a) is np.ndarray
        and a.size < _kernel_jit.POOL_MIN_ELEMENTS
        and a.nbytes < MIN_ELEMENTWISE_BYTES
    ):
        if b is None:
            return ufunc(a)
        if type(b) is not np.ndarray or b.nbytes < MIN_ELEMENTWISE_BYTES:
            return ufunc(a, b)
    args = (a,) if b is None else (a, b)
    if (
        out is None
        and type(a) is np.ndarray
        and a.size >= _kernel_jit.POOL_MIN_ELEMENTS
        and b is not None
        and _num_threads > 1
    ):
        # two same-shaped float arrays: blocks on the compiled pool (_kernels/arith.py)
        from ._kernels.dispatch import arithmetic  # noqa: PLC0415 - dispatch imports threads

        result = arithmetic(ufunc, a, b)
        if result is not None:
            return result
    if (
        _num_threads > 1
        and any(type(v) is np.ndarray and v.nbytes >= MIN_ELEMENTWISE_BYTES for v in args)
        and all(isinstance(v, np.ndarray) or np.isscalar(v) for v in args)
        and (out is None or type(out) is np.ndarray)
    ):
        return parallel_ufunc(ufunc, *args, out=out)
    return ufunc(*args) if out is None else ufunc(*args, out=out)
