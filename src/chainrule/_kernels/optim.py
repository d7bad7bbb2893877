"""A fused Adam/AdamW parameter update: one pass over (param, grad, exp_avg, exp_avg_sq).

NumPy's in-place sequence in :class:`chainrule.optim.Adam` reads and writes the four arrays
and a scratch array ten times; the compiled loop reads each element once and writes three.
The scalars arrive already cast to the arrays' dtype, so the compiled float32 arithmetic is
the same sequence of float32 operations as NumPy's (no fused multiply-add: ``fastmath`` is
off) and the results agree bit for bit:

    m += (g - m) * (1 - beta1)                 (a lerp towards g, as PyTorch)
    v  = v * beta2 + (g * g) * (1 - beta2)
    p -= step_size * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

All arrays are flat (1-d) views of C-contiguous arrays of one dtype; AMSGrad keeps NumPy.
"""

from __future__ import annotations

import numpy as np

from . import jit

__all__ = ["adam_step", "adamw_step"]


def _adam_numpy(
    param, grad, m, v, one_minus_b1, b2, one_minus_b2, bc2_sqrt, eps, step_size
) -> None:
    tmp = grad - m
    tmp *= one_minus_b1
    m += tmp
    np.multiply(grad, grad, out=tmp)
    tmp *= one_minus_b2
    v *= b2
    v += tmp
    np.sqrt(v, out=tmp)
    tmp /= bc2_sqrt
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp *= step_size
    param -= tmp


@jit.kernel(fallback=_adam_numpy)
def adam_step(
    param, grad, m, v, one_minus_b1, b2, one_minus_b2, bc2_sqrt, eps, step_size
):  # pragma: no cover - compiled by Numba
    """One Adam update of ``param``, ``m`` and ``v`` in place (scalars of the arrays' dtype)."""
    for i in jit.prange(param.size):
        g = grad[i]
        mi = m[i] + (g - m[i]) * one_minus_b1
        vi = v[i] * b2 + (g * g) * one_minus_b2
        m[i] = mi
        v[i] = vi
        param[i] = param[i] - (mi / (np.sqrt(vi) / bc2_sqrt + eps)) * step_size


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
        mi = m[i] + (g - m[i]) * one_minus_b1
        vi = v[i] * b2 + (g * g) * one_minus_b2
        m[i] = mi
        v[i] = vi
        p = param[i] * decay
        param[i] = p - (mi / (np.sqrt(vi) / bc2_sqrt + eps)) * step_size
