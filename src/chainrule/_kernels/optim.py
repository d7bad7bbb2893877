"""Optimizer arithmetic as PyTorch's CPU kernels round it: a fused multiply-add that rounds
once, and a fused Adam/AdamW update built on it.

PyTorch's vectorised CPU kernels compute, in float32 (found by experiment against torch 2.13;
``fma`` rounds once, every other operation rounds to float32, scalars are rounded to
float32 first):

- ``x.lerp_(end, w)``: ``fma(w, end - x, x)`` for ``|w| < 0.5``, else
  ``fma(-(end - x), 1 - w, end)`` (``1 - w`` in float32);
- ``x.addcmul_(a, b, value=v)``: ``fma(v * a, b, x)``;
- ``x.add_(y, alpha=a)``: ``fma(a, y, x)``;
- ``x.addcdiv_(a, b, value=v)``: ``x + (v * a) / b`` (no fma);
- ``x.mul_(s)``, ``x / s``, ``x.add_(s)``: one float32 operation each.

:func:`fma` is the one-rounding multiply-add of float32 operands: the hardware instruction
(LLVM's ``llvm.fma.f32``) in compiled kernels; in NumPy the product in float64 (exact) plus
the addend, rounded to float32 (exact but for rare double-rounding ties, see
:func:`fma32_numpy`). For float64 and other dtypes it is ``a * b + c`` rounded twice, in
both paths (NumPy has no exact float64 fma), so the compiled and NumPy paths always agree
bit for bit.

The fused Adam loop reads each element once and writes three (NumPy's in-place sequence
reads and writes the arrays about ten times); AMSGrad keeps NumPy::

    m  = lerp(m, g, 1 - beta1)                   (the |w| < 0.5 branch)
    v  = fma((1 - beta2) * g, g, v * beta2)
    p  = p * decay                               (AdamW only)
    p  = p - (step_size * m) / (sqrt(v) / sqrt(1 - beta2^t) + eps)

All arrays are flat (1-d) views of C-contiguous arrays of one dtype; scalars arrive in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import jit, jit_helpers

__all__ = ["adam_step", "adamw_step", "fma", "fma32_numpy", "fma_arrays", "fma_scalar"]


def fma(a, b, c):  # noqa: ANN001, ANN201 - a kernel helper (scalars)
    """``a * b + c`` for kernel bodies: a float32 fma rounded once (the FMA instruction
    once Numba is imported: this name is then rebound to :func:`_fma_intrinsic`'s
    intrinsic), else ``a * b + c``."""
    if isinstance(a, np.float32):
        return fma32_numpy(np.float32(a), np.float32(b), np.float32(c))[()]
    return a * b + c


def _fma_intrinsic(numba: Any, fn: Any) -> Any:
    """:func:`fma` as a Numba intrinsic: ``llvm.fma.f32`` for float32 (one rounding; the
    FMA instruction, vectorised by LLVM), ``fmul`` + ``fadd`` for float64."""
    from llvmlite import ir  # noqa: PLC0415 - only with Numba, which depends on llvmlite
    from numba.core import cgutils  # noqa: PLC0415
    from numba.extending import intrinsic  # noqa: PLC0415

    types = numba.types

    @intrinsic
    def fma_(typingctx: Any, a: Any, b: Any, c: Any) -> Any:  # pragma: no cover - compile time
        if not (isinstance(a, types.Float) and a == b == c):
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            if a.bitwidth == 32:
                flt = ir.FloatType()
                fnty = ir.FunctionType(flt, [flt, flt, flt])
                fn_ = cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.f32")
                return builder.call(fn_, list(args))
            return builder.fadd(builder.fmul(args[0], args[1]), args[2])

        return a(a, b, c), codegen

    return fma_


fma = jit_helpers._register_helper(fma, _fma_intrinsic)  # noqa: SLF001


def fma32_numpy(a: Any, b: Any, c: Any, out: Any = None) -> Any:
    """``a * b + c`` of float32 operands (arrays or float32 scalars, broadcast) rounded to
    float32 as an FMA instruction rounds it, in NumPy: a float32 product is exact in float64,
    so the float64 sum is off the exact one by one float64 rounding, and rounding that to
    float32 gives the FMA's result except where the float64 sum lands exactly on a float32
    tie it was not (about one element in 2^28 of random data: not repaired, since finding
    them costs three more passes on every call, which doubled small optimizer steps).
    Writes ``out`` (which may be one of the operands) if given."""
    s = np.multiply(a, b, dtype=np.float64)
    if type(s) is np.ndarray and s.shape == np.shape(c):
        np.add(s, c, out=s)
    else:
        s = np.add(s, c, dtype=np.float64)
    if out is None:
        return np.asarray(s).astype(np.float32)
    np.copyto(out, s, casting="same_kind")
    return out


def _fma_scalar_numpy(s, x, y, out) -> None:  # noqa: ANN001
    if out.dtype == np.float32:
        fma32_numpy(s, x, y, out=out)
    else:
        np.add(x * s, y, out=out)


@jit.kernel(fallback=_fma_scalar_numpy)
def fma_scalar(s, x, y, out):  # pragma: no cover - compiled by Numba
    """``out = fma(s, x, y)`` elementwise (``s`` a scalar of the arrays' dtype)."""
    for i in range(out.size):
        out[i] = fma(s, x[i], y[i])


def _fma_arrays_numpy(x, y, z, out) -> None:  # noqa: ANN001
    if out.dtype == np.float32:
        fma32_numpy(x, y, z, out=out)
    else:
        np.add(x * y, z, out=out)


@jit.kernel(fallback=_fma_arrays_numpy)
def fma_arrays(x, y, z, out):  # pragma: no cover - compiled by Numba
    """``out = fma(x, y, z)`` elementwise."""
    for i in range(out.size):
        out[i] = fma(x[i], y[i], z[i])


def _adam_numpy(
    param, grad, m, v, one_minus_b1, b2, one_minus_b2, bc2_sqrt, eps, step_size
) -> None:
    tmp = np.subtract(grad, m)
    _fma_scalar_numpy(one_minus_b1, tmp, m, m)  # m.lerp_(grad, 1 - beta1)
    v *= b2
    np.multiply(grad, one_minus_b2, out=tmp)
    _fma_arrays_numpy(tmp, grad, v, v)  # v.addcmul_(grad, grad, value=1 - beta2)
    den = np.sqrt(v)
    den /= bc2_sqrt
    den += eps
    np.multiply(m, step_size, out=tmp)  # param.addcdiv_(m, den, value=-step_size)
    tmp /= den
    param -= tmp


@jit.kernel(fallback=_adam_numpy)
def adam_step(
    param, grad, m, v, one_minus_b1, b2, one_minus_b2, bc2_sqrt, eps, step_size
):  # pragma: no cover - compiled by Numba
    """One Adam update of ``param``, ``m`` and ``v`` in place (scalars of the arrays' dtype;
    ``one_minus_b1`` < 0.5, the lerp's first branch)."""
    for i in jit.prange(param.size):
        g = grad[i]
        mi = fma(one_minus_b1, g - m[i], m[i])
        vi = fma(g * one_minus_b2, g, v[i] * b2)
        m[i] = mi
        v[i] = vi
        param[i] = param[i] - (step_size * mi) / (np.sqrt(vi) / bc2_sqrt + eps)


def _adamw_numpy(
    param, grad, m, v, one_minus_b1, b2, one_minus_b2, bc2_sqrt, eps, step_size, decay
) -> None:
    param *= decay
    _adam_numpy(param, grad, m, v, one_minus_b1, b2, one_minus_b2, bc2_sqrt, eps, step_size)


@jit.kernel(fallback=_adamw_numpy)
def adamw_step(
    param, grad, m, v, one_minus_b1, b2, one_minus_b2, bc2_sqrt, eps, step_size, decay
):  # pragma: no cover - compiled by Numba
    """AdamW's decoupled decay ``param *= decay`` (decay = 1 - lr·λ) and the Adam update in
    the same pass: the same float operations as the fallback, so the same bits."""
    for i in jit.prange(param.size):
        g = grad[i]
        mi = fma(one_minus_b1, g - m[i], m[i])
        vi = fma(g * one_minus_b2, g, v[i] * b2)
        m[i] = mi
        v[i] = vi
        p = param[i] * decay
        param[i] = p - (step_size * mi) / (np.sqrt(vi) / bc2_sqrt + eps)
