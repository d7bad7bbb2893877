"""The compiled kernels' threads: Numba's threading layer, its spin, fork safety, thread count.

Split from :mod:`.jit` so that the thread decisions sit apart from how a kernel is declared
and compiled; :mod:`.jit` re-exports every public name here, and code outside this module
reads them as ``jit.<name>`` (tests patch ``jit.POOL_MIN_ELEMENTS``, and that is the name
:mod:`.dispatch` and :mod:`chainrule.threads` read).

Threads, decided by measurement: most kernels compile serial (``parallel=False``) and
release the GIL (``nogil``): elementwise ones gain little from a second core once fused. On
the shared 2-core machines (load 5-12 from other processes) a parallel launch waited for a
descheduled worker: relu at 1M float32 took a median 4.3 ms launched on Numba's pool with
one thread and 2.4 ms with two, against 0.41 ms serial. The compute-bound work that does
gain from threads (the GEMMs of :mod:`.pool_gemm`, attention's heads, GELU) is declared
``parallel=True`` and runs on one pool, Numba's OpenMP layer (:data:`THREADING_LAYER`), with
:func:`chainrule.get_num_threads` threads, while OpenBLAS is held at one thread: one pool
instead of three (OpenBLAS's, chainrule's Python threads, Numba's), as PyTorch runs its
kernels and MKL on one OpenMP pool (the GPT step: see :data:`THREADING_LAYER`). One launch
at a time (:data:`launch_lock`); in a forked child (:func:`in_forked_child`) the NumPy
fallback runs instead. Kernels that lose to NumPy's SIMD loops (``exp``, ``tanh`` forward:
NumPy's vectorised float32 tanh was 4-8x faster than Numba's scalar libm calls) are not used
on hot paths.

Nothing here imports Numba: :func:`.jit._import_numba` hands the module to
:func:`configure_numba` once it has imported it.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "FALLBACK_THREADING_LAYER",
    "POOL_MIN_ELEMENTS",
    "SPIN_COUNT",
    "THREADING_LAYER",
    "configure_numba",
    "in_forked_child",
    "launch_lock",
    "sync_threads",
]

POOL_MIN_ELEMENTS = 1 << 17
"""Arrays of at least this many elements (512 KiB of float32) run their elementwise or row
kernel cut into blocks on the compiled pool (:mod:`.pool_gemm`: one launch, threads that
spin between kernels) instead of on the calling thread. Measured on the project's 2-core
VMs, relu forward + backward of 1M float32: 892 -> 591 µs (PyTorch 542-574 µs); the
Python thread pool's hand-off (~100 µs) had made the same split slower than one thread.
Read as ``jit.POOL_MIN_ELEMENTS`` (the name tests patch)."""

# Numba's thread pool for ``parallel=True`` kernels: OpenMP (GNU libgomp) when Numba finds
# it, else "workqueue" (threads that sleep between launches). The parallel kernels are the
# ones that replace OpenBLAS's and chainrule's own threads in one pool (the GEMMs of
# ``pool_gemm.py``, attention's heads, GELU): a hand-off to a thread still spinning from the
# last launch costs about a microsecond, where waking a sleeping thread costs 50-150 µs on
# the project's virtual machines (measured in nanoGPT's step, 2026-12-02: a Python pool
# thread started 130-154 µs after its task was submitted). OpenMP threads spin for
# GOMP_SPINCOUNT iterations before sleeping: bounded here (:data:`SPIN_COUNT`; libgomp's
# default is 300000) so that a busy machine gets its cores back quickly; the GPT step measured
# the same at 20000 and 100000. ``NUMBA_THREADING_LAYER`` / ``GOMP_SPINCOUNT`` in the
# environment override both choices.
THREADING_LAYER = "omp"
FALLBACK_THREADING_LAYER = "workqueue"
SPIN_COUNT = "20000"

launch_lock = threading.Lock()
"""Held while a ``parallel=True`` kernel runs: the workqueue layer must not be entered by
two threads at once."""

_numba: Any = None  # the numba module, once :func:`configure_numba` has been given it


def configure_numba(numba: Any) -> None:
    """Set up the just-imported ``numba`` module's threads: its threading layer (unless
    ``NUMBA_THREADING_LAYER`` chooses one) and :func:`chainrule.get_num_threads` threads.
    Called once, by :func:`.jit._import_numba`, under its lock."""
    global _numba
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = _threading_layer()
    _numba = numba
    with _openmp_settings_kept(str(numba.config.THREADING_LAYER)):
        sync_threads()  # numba.set_num_threads starts Numba's threading layer


_OPENMP_LAYERS = ("default", "safe", "forksafe", "threadsafe", "omp")
"""Values of ``numba.config.THREADING_LAYER`` under which Numba may pick its OpenMP layer."""
_OPENMP_FUNCTIONS = (
    "omp_get_max_threads",
    "omp_set_num_threads",
    "omp_get_nested",
    "omp_set_nested",
    "omp_get_max_active_levels",
    "omp_set_max_active_levels",
)


@contextlib.contextmanager
def _openmp_settings_kept(layer: str) -> Iterator[None]:
    """Leave the process's OpenMP settings as they were around the start of Numba's threads.

    Numba's OpenMP layer, when it starts (``launch_threads`` in ``omppool``), calls
    ``omp_set_num_threads(NUMBA_NUM_THREADS)`` and ``omp_set_nested(1)`` on the calling
    thread. Its calls bind to the first libgomp in the process's global symbol scope, which
    is PyTorch's own copy when torch was imported first, so ``torch.get_num_threads()`` changed
    from what the user (or ``OMP_NUM_THREADS``) set. Numba's parallel loops do not need those
    settings (each launch names its thread count: ``num_threads`` clause), so they are read
    before the start and written back after, in every libgomp Numba's calls may bind to."""
    libs = _openmp_libraries(layer)
    saved = [(lib, _read_openmp(lib)) for lib in libs]
    try:
        yield
    finally:
        for lib, (threads, nested, levels) in saved:
            lib.omp_set_nested(nested)  # before the levels: newer libgomps map one onto the other
            lib.omp_set_max_active_levels(levels)
            lib.omp_set_num_threads(threads)


def _read_openmp(lib: ctypes.CDLL) -> tuple[int, int, int]:
    """The calling thread's OpenMP thread count, nesting flag and active-level limit."""
    return lib.omp_get_max_threads(), lib.omp_get_nested(), lib.omp_get_max_active_levels()


def _openmp_libraries(layer: str) -> list[ctypes.CDLL]:
    """The libgomps that Numba's OpenMP layer may call: the one its symbols bind to first (the
    process's global scope: e.g. PyTorch's libgomp) and the one ``omppool`` links itself;
    none when the layer cannot be OpenMP or ``omppool`` does not load."""
    if layer.lower() not in _OPENMP_LAYERS:
        return []
    try:
        omppool = importlib.import_module("numba.np.ufunc.omppool")
        handles = [ctypes.CDLL(None), ctypes.CDLL(omppool.__file__)]
    except (ImportError, OSError):
        return []
    libs: list[ctypes.CDLL] = []
    seen: set[int | None] = set()
    for lib in handles:
        if not all(hasattr(lib, name) for name in _OPENMP_FUNCTIONS):
            continue
        address = ctypes.cast(lib.omp_set_num_threads, ctypes.c_void_p).value
        if address not in seen:
            seen.add(address)
            libs.append(lib)
    return libs


def _threading_layer() -> str:
    """:data:`THREADING_LAYER` when its runtime loads (libgomp for OpenMP), else
    :data:`FALLBACK_THREADING_LAYER`. Bounds OpenMP's spin first (:data:`SPIN_COUNT`),
    since libgomp reads ``GOMP_SPINCOUNT`` when it loads."""
    os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
    try:
        importlib.import_module("numba.np.ufunc.omppool")
    except ImportError:
        return FALLBACK_THREADING_LAYER
    return THREADING_LAYER


def in_forked_child() -> bool:
    """Whether this process was forked from one that may have started Numba's threads: GNU
    OpenMP cannot run in such a child (Numba terminates it), so parallel kernels run their
    NumPy fallback there (DataLoader workers are forked)."""
    return _forked


def _mark_forked() -> None:
    global _forked
    _forked = True


_forked = False
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_mark_forked)


def sync_threads() -> None:
    """Give Numba's parallel loops :func:`chainrule.get_num_threads` threads (at most what
    Numba started). A no-op until Numba has been imported. Numba's setting is per calling
    thread; chainrule calls this from the thread that imports Numba and from
    :func:`chainrule.set_num_threads`."""
    if _numba is None:
        return
    from ..threads import get_num_threads  # noqa: PLC0415 - chainrule.threads imports jit

    _numba.set_num_threads(max(1, min(get_num_threads(), _numba.config.NUMBA_NUM_THREADS)))
