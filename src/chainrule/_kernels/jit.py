"""Optional compiled kernels: Numba when it is installed, pure NumPy otherwise.

A kernel is written twice, in the same file, next to each other:

- a *compiled* version, plain Python loops over arrays that :func:`numba.njit` turns into
  machine code (``parallel=True`` spreads ``numba.prange`` loops over threads; fused: one
  pass over memory instead of one per NumPy ufunc);
- a *fallback* in NumPy, which is the reference: tests run both and require equal results.

Usage (kernels write into an ``out`` array the caller allocates, so that results own their
memory; see :mod:`.dispatch`)::

    def _scale_add_numpy(x, y, a, out):
        np.add(x * a, y, out=out)

    @kernel(fallback=_scale_add_numpy)
    def scale_add(x, y, a, out):         # compiled on first call when Numba is active
        for i in jit.prange(x.size):     # numba.prange once compiled (range when serial)
            out[i] = x[i] * a + y[i]

    scale_add(x, y, 2.0, out)            # whichever path is active
    scale_add.compiled(x, y, 2.0, out)   # the Numba path (tests), scale_add.fallback: NumPy

Which path runs (:func:`backend`):

- ``"numba"`` when ``numba`` is importable and the environment variable
  ``CHAINRULE_NUMBA`` is not ``0`` (install it with ``pip install chainrule[fast]``);
- ``"numpy"`` otherwise, chosen automatically; :func:`set_backend` switches at run time.

Numba is imported lazily, on the first compiled call, so ``import chainrule`` does not pay
its ~1 s import. Compilation uses ``cache=True`` (machine code is written beside the source,
in ``__pycache__``, or under ``NUMBA_CACHE_DIR``), so only the first process on a machine
pays the compile time; ``fastmath=False`` keeps IEEE semantics (NaN and inf propagate as in
NumPy and PyTorch), and ``error_model="numpy"`` makes x / 0 give inf or NaN as NumPy does
(Python's model checks every division for zero to raise ``ZeroDivisionError``, and that
branch stopped LLVM from vectorising loops that divide: sigmoid ran at 12 ns per element).
Numba's cache key ignores these flags: after changing them, delete the ``*.nbi``/``*.nbc``
files in ``_kernels/__pycache__``. Measured (2 cores, load ~7): compiling all 14 kernel
signatures of relu, the activation gradients, softmax, sigmoid and Adam took 49 s in the first
process (1.4-8 s each); a second process loaded them from the cache in 0.03 s each, after
~1 s to import Numba and ~1-3 s for its first call.

Callers take a compiled kernel only for arrays it was written for (:func:`eligible`: NumPy
arrays, C-contiguous, float32/float64, at least :data:`MIN_PARALLEL_SIZE` elements): small
arrays stay on NumPy, whose per-call cost is as low as Numba's dispatch there.

This module is the public face and the kernel machinery (path selection, :class:`Kernel`,
:func:`kernel`, the lazy Numba import). Two modules hold the rest, and everything public in
them is re-exported here, since kernels and callers write ``jit.<name>``:

- :mod:`.jit_helpers`: what kernel bodies call (``prange``, the bitcasts, the GEMM calls,
  :func:`inline` / :func:`reduction` helpers, ``block``), rebound to Numba objects when
  Numba is imported, in that module and here;
- :mod:`.jit_threads`: Numba's threading layer and spin, ``POOL_MIN_ELEMENTS``, fork
  safety and the thread count (why most kernels are serial: see its docstring).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import jit_helpers as _jit_helpers
from . import jit_threads as _jit_threads
from .gemm_calls import NO_TRANS, TRANS, call_gemm, call_gemm_t
from .jit_helpers import (
    block,
    call_dgemm,
    call_dgemm_t,
    call_sgemm,
    call_sgemm_t,
    f32_as_i32,
    i32_as_f32,
    ignoring_chunks,
    inline,
    prange,
    reduction,
)
from .jit_threads import (
    FALLBACK_THREADING_LAYER,
    POOL_MIN_ELEMENTS,
    SPIN_COUNT,
    THREADING_LAYER,
    in_forked_child,
    sync_threads,
)
from .jit_threads import launch_lock as _launch_lock

__all__ = [
    "Kernel",
    "backend",
    "eligible",
    "kernel",
    "numba_available",
    "registry",
    "set_backend",
    "use_backend",
    "prange",
    "i32_as_f32",
    "f32_as_i32",
    "block",
    "ignoring_chunks",
    "call_gemm",
    "call_sgemm",
    "call_dgemm",
    "call_gemm_t",
    "call_sgemm_t",
    "call_dgemm_t",
    "NO_TRANS",
    "TRANS",
    "sync_threads",
    "in_forked_child",
    "inline",
    "reduction",
    "MIN_PARALLEL_SIZE",
    "POOL_MIN_ELEMENTS",
    "THREADING_LAYER",
    "FALLBACK_THREADING_LAYER",
    "SPIN_COUNT",
]

# The smallest array the compiled kernels take (the name is historical: kernels are serial).
# Below it NumPy's call is as cheap as Numba's dispatch; measured for relu / relu_grad
# (median µs, NumPy vs compiled): 4096 elements 8.7/7.4 and 8.1/9.6, 16384: 19.0/9.8 and
# 16.2/13.5, 65536: 58/24 and 45/32. Read by :func:`eligible` at each call (tests patch it).
MIN_PARALLEL_SIZE = 1 << 14

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_lock = threading.Lock()
_numba: Any = None  # the numba module once imported


def numba_available() -> bool:
    """Whether Numba is installed (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def _initial_backend() -> str:
    if os.environ.get("CHAINRULE_NUMBA", "").strip().lower() in ("0", "false", "off", "no"):
        return "numpy"
    return "numba" if numba_available() else "numpy"


_backend = _initial_backend()


def backend() -> str:
    """The active kernel path: ``"numba"`` (compiled) or ``"numpy"`` (the fallback)."""
    return _backend


def set_backend(name: str) -> None:
    """Select ``"numba"`` or ``"numpy"`` kernels for this process.

    Raises:
        ValueError: for another name.
        RuntimeError: ``"numba"`` when Numba is not installed.
    """
    global _backend
    if name not in ("numba", "numpy"):
        raise ValueError(f"set_backend: expected 'numba' or 'numpy', got {name!r}")
    if name == "numba" and not numba_available():
        raise RuntimeError(
            "set_backend('numba'): numba is not installed; "
            "install it with `pip install chainrule[fast]`"
        )
    _backend = name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run a block with the given kernel path, then restore the previous one."""
    old = _backend
    set_backend(name)
    try:
        yield
    finally:
        set_backend(old)


def eligible(*arrays: Any, min_size: int | None = None) -> bool:
    """True when the compiled path is active and every argument is a C-contiguous float32 or
    float64 NumPy array of one dtype, the first with at least ``min_size`` elements (default
    :data:`MIN_PARALLEL_SIZE`, read at each call)."""
    if _backend != "numba" or not arrays:
        return False
    first = arrays[0]
    if min_size is None:
        min_size = MIN_PARALLEL_SIZE
    if type(first) is not np.ndarray or first.size < min_size or first.dtype not in _FLOATS:
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != first.dtype or not a.flags.c_contiguous:
            return False
    return True


def _import_numba() -> Any:
    """Import Numba once: rebind what kernels call to Numba objects (:mod:`.jit_helpers`,
    here and in that module), then set up its threads (:mod:`.jit_threads`)."""
    global _numba
    if _numba is None:
        with _lock:
            if _numba is None:
                import numba

                _jit_helpers.bind_numba(numba, sys.modules[__name__])
                _jit_threads.configure_numba(numba)
                _numba = numba
    return _numba


class Kernel:
    """One kernel: a Numba-compilable ``pyfunc`` and its NumPy ``fallback``.

    Calling the kernel runs the active path. ``compiled`` is the Numba dispatcher (compiled
    on first use, cached on disk); ``fallback`` the NumPy function.
    """

    __slots__ = ("name", "pyfunc", "fallback", "parallel", "_compiled")

    def __init__(self, pyfunc: Callable, fallback: Callable, parallel: bool) -> None:
        self.name = f"{pyfunc.__module__}.{pyfunc.__qualname__}"
        self.pyfunc = pyfunc
        self.fallback = fallback
        self.parallel = parallel
        self._compiled: Any = None

    @property
    def compiled(self) -> Callable:
        """The Numba-compiled function (imports Numba and compiles on first use).

        Raises:
            RuntimeError: Numba is not installed.
        """
        if self._compiled is None:
            if not numba_available():
                raise RuntimeError(
                    f"kernel {self.name}: numba is not installed; install it "
                    "with `pip install chainrule[fast]`"
                )
            numba = _import_numba()
            with _lock:
                if self._compiled is None:
                    self._compiled = numba.njit(
                        cache=True,
                        parallel=self.parallel,
                        fastmath=False,
                        nogil=True,
                        error_model="numpy",
                    )(self.pyfunc)
        return self._compiled

    def __call__(self, *args: Any) -> Any:
        if _backend == "numba":
            if self.parallel:
                if in_forked_child():  # no OpenMP after fork
                    return self.fallback(*args)
                fn = self.compiled
                with _launch_lock:  # the workqueue layer must not be entered by two threads
                    return fn(*args)
            return self.compiled(*args)
        return self.fallback(*args)

    def __repr__(self) -> str:
        return f"<Kernel {self.name} parallel={self.parallel} backend={_backend}>"


_registry: dict[str, Kernel] = {}


def registry() -> dict[str, Kernel]:
    """Every defined kernel by qualified name (a copy)."""
    return dict(_registry)


def kernel(*, fallback: Callable, parallel: bool = False) -> Callable[[Callable], Kernel]:
    """Decorate a Numba-compilable function into a :class:`Kernel` with a NumPy fallback.

    Args:
        fallback: the NumPy implementation with the same signature and results.
        parallel: compile with ``parallel=True`` (``prange`` loops run on Numba's threads).
            Off by default, as measured (see :mod:`.jit_threads`). A kernel's mode is fixed
            in its source: Numba's on-disk cache does not key on it.
    """

    def wrap(fn: Callable) -> Kernel:
        k = Kernel(fn, fallback, parallel)
        _registry[k.name] = k
        return k

    return wrap
