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
at a time (a lock); in a forked child (:func:`in_forked_child`) the NumPy fallback runs
instead. Kernels that lose to NumPy's SIMD loops (``exp``, ``tanh`` forward: NumPy's
vectorised float32 tanh was 4-8x faster than Numba's scalar libm calls) are not used on
hot paths.

Callers take a compiled kernel only for arrays it was written for (:func:`eligible`: NumPy
arrays, C-contiguous, float32/float64, at least :data:`MIN_PARALLEL_SIZE` elements): small
arrays stay on NumPy, whose per-call cost is as low as Numba's dispatch there.
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

from .gemm_calls import NO_TRANS, TRANS, call_gemm, call_gemm_t, gemm_intrinsic

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
    "THREADING_LAYER",
]

# The smallest array the compiled kernels take (the name is historical: kernels are serial).
# Below it NumPy's call is as cheap as Numba's dispatch; measured for relu / relu_grad
# (median µs, NumPy vs compiled): 4096 elements 8.7/7.4 and 8.1/9.6, 16384: 19.0/9.8 and
# 16.2/13.5, 65536: 58/24 and 45/32.
POOL_MIN_ELEMENTS = 1 << 17
"""Arrays of at least this many elements (512 KiB of float32) run their elementwise or row
kernel cut into blocks on the compiled pool (:mod:`.pool_gemm`: one launch, threads that
spin between kernels) instead of on the calling thread. Measured on the project's 2-core
VMs, relu forward + backward of 1M float32: 892 -> 591 µs (PyTorch 542-574 µs); the
Python thread pool's hand-off (~100 µs) had made the same split slower than one thread."""

MIN_PARALLEL_SIZE = 1 << 14
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

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_lock = threading.Lock()
_launch_lock = threading.Lock()
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


def prange(*args: int) -> range:
    """A parallel ``range`` for kernel bodies: write ``jit.prange(n)``. Replaced by
    ``numba.prange`` when Numba is imported (Numba resolves ``jit.prange`` when it compiles);
    plain ``range`` when a kernel body runs as Python."""
    return range(*args)


def i32_as_f32(bits: Any) -> Any:
    """The float32 whose bit pattern is the int32 ``bits`` (a reinterpretation, no
    conversion), for kernel bodies: ``jit.i32_as_f32((k + 127) << 23)`` is 2**k. When Numba
    is imported this name is rebound to an LLVM ``bitcast`` intrinsic, which costs nothing
    and keeps loops vectorisable; as Python it is the NumPy view."""
    return np.asarray(bits, dtype=np.int32).view(np.float32)[()]


def f32_as_i32(x: Any) -> Any:
    """The int32 whose bit pattern is the float32 ``x`` (the inverse of :func:`i32_as_f32`),
    for kernel bodies: an LLVM ``bitcast`` once Numba is imported, the NumPy view as
    Python. Integer compares of ``b ^ ((b >> 31) & 0x7FFFFFFF)`` order floats, and integer
    max/min reductions vectorise where IEEE float ones do not."""
    return np.asarray(x, dtype=np.float32).view(np.int32)[()]


# rebound to one intrinsic each when Numba is imported (:mod:`.gemm_calls`)
call_sgemm = call_dgemm = call_gemm
call_sgemm_t = call_dgemm_t = call_gemm_t


def _bitcast_intrinsics(numba: Any) -> tuple[Any, Any]:
    """``i32_as_f32`` and ``f32_as_i32`` as Numba intrinsics: one LLVM bitcast each."""
    from llvmlite import ir  # noqa: PLC0415 - only with Numba, which depends on llvmlite
    from numba.extending import intrinsic  # noqa: PLC0415

    def bitcast(src: Any, dst: Any, dst_ir: Any) -> Any:
        @intrinsic
        def cast(typingctx: Any, value: Any) -> Any:  # pragma: no cover - compile time
            def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
                return builder.bitcast(args[0], dst_ir)

            return dst(src), codegen

        return cast

    t = numba.types
    return bitcast(t.int32, t.float32, ir.FloatType()), bitcast(t.float32, t.int32, ir.IntType(32))


def _import_numba() -> Any:
    global _numba
    if _numba is None:
        with _lock:
            if _numba is None:
                import numba

                globals()["prange"] = numba.prange  # so that kernels' `jit.prange` is Numba's
                globals()["i32_as_f32"], globals()["f32_as_i32"] = _bitcast_intrinsics(numba)
                globals()["call_sgemm"] = gemm_intrinsic(numba, True)
                globals()["call_dgemm"] = gemm_intrinsic(numba, False)
                globals()["call_sgemm_t"] = gemm_intrinsic(numba, True, transposes=True)
                globals()["call_dgemm_t"] = gemm_intrinsic(numba, False, transposes=True)
                for fn, make in _helpers:  # kernels' calls to helpers now reach dispatchers
                    setattr(sys.modules[fn.__module__], fn.__name__, make(numba, fn))
                if "NUMBA_THREADING_LAYER" not in os.environ:
                    numba.config.THREADING_LAYER = _threading_layer()
                _numba = numba
                sync_threads()
    return _numba


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
    from ..threads import get_num_threads

    _numba.set_num_threads(max(1, min(get_num_threads(), _numba.config.NUMBA_NUM_THREADS)))


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
            if self.parallel and _forked:  # no OpenMP after fork (in_forked_child)
                return self.fallback(*args)
            fn = self.compiled
            if self.parallel:
                with _launch_lock:  # the workqueue layer must not be entered by two threads
                    return fn(*args)
            return fn(*args)
        return self.fallback(*args)

    def __repr__(self) -> str:
        return f"<Kernel {self.name} parallel={self.parallel} backend={_backend}>"


# Helpers that kernels call, with the function that compiles each once Numba is imported.
_helpers: list[tuple[Callable, Callable[[Any, Callable], Any]]] = []


def _njit_inline(numba: Any, fn: Callable) -> Any:
    return numba.njit(
        inline="always", cache=False, fastmath=False, nogil=True, error_model="numpy"
    )(fn)


def _njit_reduction(numba: Any, fn: Callable) -> Any:
    return numba.njit(cache=False, fastmath={"reassoc"}, nogil=True, error_model="numpy")(fn)


def _register_helper(fn: Callable, make: Callable[[Any, Callable], Any]) -> Callable:
    _helpers.append((fn, make))
    if _numba is not None:  # defined after Numba's import: rebind here
        return make(_numba, fn)
    return fn


def inline(fn: Callable) -> Callable:
    """Decorate a helper that kernel bodies call, so that Numba copies its body into each
    calling kernel before compiling it (``inline="always"``): the caller's loop keeps plain
    arithmetic, with no call, and LLVM still vectorises it. Write a kernel's shared step
    (a polynomial, a 4-accumulator sum) once this way instead of pasting it into each kernel.

    Numba resolves a kernel's global names when it compiles, so the helper stays a plain
    Python function until Numba is imported, then the module-level name is rebound to a
    Numba dispatcher (as ``jit.prange`` is). A kernel calls it by that module-level name: its
    bare name in the same module, ``module.name`` from another one (a ``from ... import``
    copy would keep the Python function). Numba's disk cache keys a kernel on its own file
    only: after editing a helper in another module, delete ``_kernels/__pycache__/*.nbi``
    and ``*.nbc``.
    """
    return _register_helper(fn, _njit_inline)


@inline
def block(n, t, chunks):  # noqa: ANN001, ANN201 - compiled by Numba
    """``(lo, hi)``: block ``t`` of ``chunks`` near-equal contiguous blocks of ``range(n)``,
    for kernels that cut a flat array over the pool's threads (``x[lo:hi]``)."""
    return n * t // chunks, n * (t + 1) // chunks


def ignoring_chunks(fallback: Callable) -> Callable:
    """A blocks kernel's NumPy fallback: ``fallback`` on the whole arrays, the trailing
    ``chunks`` argument dropped."""

    def whole(*args: Any) -> Any:
        return fallback(*args[:-1])

    return whole


def reduction(fn: Callable) -> Callable:
    """Decorate a helper that sums over a row (a plain ``s += ...`` loop) so that LLVM may
    reassociate its additions (Numba's ``fastmath={"reassoc"}`` on this function only) and
    so vectorise the sum: several SIMD lanes of partial sums, added at the end.

    With IEEE order kept, a sum is one serial chain of dependent additions (about 4 cycles
    each), whatever the vector width: a float64 row sum of 128 float32 values measured 3x
    slower than the vectorised one (layer norm on nanoGPT's (768, 128) rows: 104 -> 47 µs
    forward). Only the order of the additions changes: NaN and inf propagate as before (no
    ``nnan``/``ninf`` flags), and a float64 sum of float32 values differs from the serial
    one by float64 rounding, far below the float32 results' half ulp. The helper is not
    inlined by Numba (its body would take the caller's flags); LLVM inlines the call.
    Called as :func:`inline` helpers are: by its module-level name.
    """
    return _register_helper(fn, _njit_reduction)


_registry: dict[str, Kernel] = {}


def registry() -> dict[str, Kernel]:
    """Every defined kernel by qualified name (a copy)."""
    return dict(_registry)


def kernel(*, fallback: Callable, parallel: bool = False) -> Callable[[Callable], Kernel]:
    """Decorate a Numba-compilable function into a :class:`Kernel` with a NumPy fallback.

    Args:
        fallback: the NumPy implementation with the same signature and results.
        parallel: compile with ``parallel=True`` (``prange`` loops run on Numba's threads).
            Off by default, as measured (see the module docstring). A kernel's mode is fixed
            in its source: Numba's on-disk cache does not key on it.
    """

    def wrap(fn: Callable) -> Kernel:
        k = Kernel(fn, fallback, parallel)
        _registry[k.name] = k
        return k

    return wrap
