"""The functions kernel bodies call, and their rebinding to Numba objects when Numba loads.

A kernel body is plain Python that Numba compiles; the names it calls must then be Numba
objects, while the same body (and the tests) can still run it as Python. Each name below is
therefore defined as Python and rebound when :func:`.jit._import_numba` imports Numba and
calls :func:`bind_numba`:

- :func:`prange` (``range`` -> ``numba.prange``), the bitcasts :func:`i32_as_f32` and
  :func:`f32_as_i32` (NumPy views -> one LLVM ``bitcast`` each) and the CBLAS GEMM calls
  ``call_sgemm(_t)`` / ``call_dgemm(_t)`` (ctypes -> intrinsics of :mod:`.gemm_calls`);
- helpers declared with :func:`inline` or :func:`reduction`, here (:func:`block`) or in any
  kernel module (``transcendental.exp_poly``, ``softmax.row_sum``): their module-level name
  becomes a Numba dispatcher.

Numba resolves a kernel's global names when it compiles it, and kernels reach these names
as ``jit.<name>`` (or by bare name in the helper's own module). So :func:`bind_numba` rebinds
each name where it is defined *and* in the modules that re-export it (:mod:`.jit`): a copy
left unbound would be the Python function, which a kernel cannot call. Kept apart from
:mod:`.jit` so that what kernels call is listed in one place; :mod:`.jit` re-exports all of
it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from .gemm_calls import call_gemm, call_gemm_t, gemm_intrinsic

__all__ = [
    "bind_numba",
    "block",
    "call_dgemm",
    "call_dgemm_t",
    "call_sgemm",
    "call_sgemm_t",
    "f32_as_i32",
    "i32_as_f32",
    "ignoring_chunks",
    "inline",
    "prange",
    "reduction",
]

_numba: Any = None  # the numba module, once :func:`bind_numba` has run

# Helpers that kernels call, with the function that compiles each once Numba is imported.
_helpers: list[tuple[Callable, Callable[[Any, Callable], Any]]] = []


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


def bind_numba(numba: Any, *faces: ModuleType) -> None:
    """Rebind every name kernels call to its Numba object, here and in ``faces`` (the modules
    that re-export these names: :mod:`.jit`). Registered helpers are rebound in the module
    that defines them, and in a face where the face's name is that same Python function.
    Called once, by :func:`.jit._import_numba`, under its lock."""
    global _numba
    here = sys.modules[__name__]
    i32_f32, f32_i32 = _bitcast_intrinsics(numba)
    intrinsics = {
        "prange": numba.prange,  # so that kernels' `jit.prange` is Numba's
        "i32_as_f32": i32_f32,
        "f32_as_i32": f32_i32,
        "call_sgemm": gemm_intrinsic(numba, True),
        "call_dgemm": gemm_intrinsic(numba, False),
        "call_sgemm_t": gemm_intrinsic(numba, True, transposes=True),
        "call_dgemm_t": gemm_intrinsic(numba, False, transposes=True),
    }
    for name, obj in intrinsics.items():
        for module in (here, *faces):
            setattr(module, name, obj)
    for fn, make in _helpers:  # kernels' calls to helpers now reach dispatchers
        compiled = make(numba, fn)
        setattr(sys.modules[fn.__module__], fn.__name__, compiled)
        for face in faces:
            if getattr(face, fn.__name__, None) is fn:
                setattr(face, fn.__name__, compiled)
    _numba = numba


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
    copy would keep the Python function; only :mod:`.jit`'s re-exports are rebound too).
    Numba's disk cache keys a kernel on its own file only: after editing a helper in another
    module, delete ``_kernels/__pycache__/*.nbi`` and ``*.nbc``.
    """
    return _register_helper(fn, _njit_inline)


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


@inline
def block(n, t, chunks):  # noqa: ANN001, ANN201 - compiled by Numba
    """``(lo, hi)``: block ``t`` of ``chunks`` near-equal contiguous blocks of ``range(n)``,
    for kernels that cut a flat array over the pool's threads (``x[lo:hi]``; kernels call
    ``jit.block``, rebound with this one)."""
    return n * t // chunks, n * (t + 1) // chunks


def ignoring_chunks(fallback: Callable) -> Callable:
    """A blocks kernel's NumPy fallback: ``fallback`` on the whole arrays, the trailing
    ``chunks`` argument dropped."""

    def whole(*args: Any) -> Any:
        return fallback(*args[:-1])

    return whole
