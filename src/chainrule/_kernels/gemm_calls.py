"""CBLAS GEMM calls by address for kernel bodies (re-exported by :mod:`.jit`).

:func:`call_gemm_t` multiplies row-major matrices given by address through the ILP64 CBLAS
GEMM of NumPy's own OpenBLAS (:func:`.blas.gemm_address`). As Python it is a ctypes call
(tests, the NumPy paths); once Numba is imported, :func:`.jit_helpers.bind_numba` rebinds
``call_sgemm(_t)`` and ``call_dgemm(_t)`` (in :mod:`.jit_helpers` and :mod:`.jit`) to
intrinsics made by :func:`gemm_intrinsic`: an ``inttoptr`` of the address and one call, so
that kernels using them stay in Numba's disk cache (a ctypes global baked into a kernel
would prevent it).
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

__all__ = ["NO_TRANS", "TRANS", "call_gemm", "call_gemm_t", "gemm_intrinsic"]

_CBLAS_ROW_MAJOR = 101
NO_TRANS, TRANS = 111, 112  # CBLAS's transpose flags, for :func:`call_gemm_t`


def call_gemm_t(gemm, ta, tb, m, n, k, a, lda, b, ldb, c, ldc) -> None:  # noqa: ANN001
    """C = op(A) op(B) for row-major matrices given by address (``arr.ctypes.data``; C (m,
    n), op(A) (m, k), op(B) (k, n); op transposes where ``ta``/``tb`` is :data:`TRANS`, else
    :data:`NO_TRANS`; leading dimensions in elements of the arrays as stored), by the ILP64
    CBLAS GEMM at address ``gemm`` (:func:`.blas.gemm_address`, for the arrays' dtype), for
    kernel bodies. Once Numba is imported this is an intrinsic that calls the address
    directly (so a kernel that uses it stays cacheable: no ctypes object is baked into it);
    as Python it is a ctypes call (tests)."""
    float_t = ctypes.c_float if _gemm_is_single(gemm) else ctypes.c_double
    i64 = ctypes.c_int64
    proto = ctypes.CFUNCTYPE(
        None, ctypes.c_int, ctypes.c_int, ctypes.c_int, i64, i64, i64, float_t,
        ctypes.c_void_p, i64, ctypes.c_void_p, i64, float_t, ctypes.c_void_p, i64,
    )  # fmt: skip
    proto(gemm)(_CBLAS_ROW_MAJOR, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc)


def call_gemm(gemm, m, n, k, a, lda, b, ldb, c, ldc) -> None:  # noqa: ANN001 - kernel helper
    """C = A B (:func:`call_gemm_t` without transposes)."""
    call_gemm_t(gemm, NO_TRANS, NO_TRANS, m, n, k, a, lda, b, ldb, c, ldc)


def _gemm_is_single(gemm: int) -> bool:
    from .blas import gemm_address  # noqa: PLC0415 - lazily: the package imports jit first

    return gemm == gemm_address(np.float32)


def gemm_intrinsic(numba: Any, single: bool, transposes: bool = False) -> Any:
    """:func:`call_gemm` (or, with ``transposes``, :func:`call_gemm_t`) as a Numba intrinsic
    for one precision (sgemm or dgemm): an ``inttoptr`` of the address and one call; integer
    arguments widened to 64 bits (the transpose flags narrowed to CBLAS's 32-bit enums)."""
    from llvmlite import ir  # noqa: PLC0415 - only with Numba, which depends on llvmlite
    from numba.extending import intrinsic  # noqa: PLC0415

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i32, i64 = ir.IntType(32), ir.IntType(64)
        fl = ir.FloatType() if single else ir.DoubleType()
        ptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(
            ir.VoidType(), [i32, i32, i32, i64, i64, i64, fl, ptr, i64, ptr, i64, fl, ptr, i64]
        )

        def wide(v: Any) -> Any:
            return v if v.type.width == 64 else builder.sext(v, i64)

        if transposes:
            ta, tb = (builder.trunc(wide(v), i32) for v in args[1:3])
            args = args[:1] + args[3:]
        else:
            ta = tb = ir.Constant(i32, NO_TRANS)
        g, mm, nn, kk, pa, la, pb, lb, pc, lc = (wide(v) for v in args)
        fn = builder.inttoptr(g, fnty.as_pointer())
        builder.call(
            fn,
            [
                ir.Constant(i32, _CBLAS_ROW_MAJOR),
                ta,
                tb,
                mm,
                nn,
                kk,
                ir.Constant(fl, 1.0),
                builder.inttoptr(pa, ptr),
                la,
                builder.inttoptr(pb, ptr),
                lb,
                ir.Constant(fl, 0.0),
                builder.inttoptr(pc, ptr),
                lc,
            ],  # fmt: skip
        )
        return context.get_dummy_value()

    if transposes:

        @intrinsic
        def gemm_call_t(typingctx: Any, gemm, ta, tb, m, n, k, a, lda, b, ldb, c, ldc) -> Any:  # noqa: ANN001
            return numba.types.void(gemm, ta, tb, m, n, k, a, lda, b, ldb, c, ldc), codegen

        return gemm_call_t

    @intrinsic
    def gemm_call(typingctx: Any, gemm, m, n, k, a, lda, b, ldb, c, ldc) -> Any:  # noqa: ANN001
        return numba.types.void(gemm, m, n, k, a, lda, b, ldb, c, ldc), codegen

    return gemm_call
