"""Fused compiled steps of Adagrad, Adamax, NAdam and RAdam: each parameter's update in one
serial pass that performs the float operations of chainrule's NumPy sequence (PyTorch's
single-tensor kernels, rounded as :mod:`.optim` describes), so the bits are the same.

Each kernel takes flat (1-d) C-contiguous arrays of one dtype, ``scalars`` (a tuple of Python
floats, or an array, rounded in the kernel to the arrays' dtype, as PyTorch rounds them) and
``mode`` (the bits of :mod:`.optim`: ``MAXIMIZE``, ``WEIGHT_DECAY`` - the L2 penalty ``g =
fma(wd, p, ±grad)`` - and ``DECAY``, AdamW's decoupled ``p *= 1 - lr·wd`` before the update). The
lerp of a first moment takes PyTorch's two branches: ``fma(w, g - m, m)`` for ``|w| < 0.5``,
else ``fma(1 - w, -(g - m), g)``.
"""

from __future__ import annotations

import numpy as np

from . import jit, optim
from .optim import DECAY, MAXIMIZE, WEIGHT_DECAY

__all__ = ["DECAY", "RECTIFIED", "adagrad_step", "adamax_step", "nadam_step", "radam_step"]

RECTIFIED = 128  # a mode bit: RAdam's rectified step (DECAY: AdamW's decay, from .optim)

_fma_arrays = optim._fma_arrays_numpy  # noqa: SLF001 - the NumPy fma of this package
_grad_numpy = optim._grad_numpy  # noqa: SLF001 - the gradient a rule sees (NumPy)
_lerp_numpy = optim._lerp_numpy  # noqa: SLF001 - PyTorch's two-branch lerp_ (NumPy)
_scalars = optim._scalars  # noqa: SLF001 - the scalars in the arrays' dtype


def _adagrad_numpy(param, grad, acc, scalars, mode) -> None:  # noqa: ANN001
    neg_clr, wd, eps = _scalars(scalars, param)
    g = _grad_numpy(param, grad, wd, mode)
    _fma_arrays(g, g, acc, acc)  # sum.addcmul_(grad, grad, value=1)
    std = np.sqrt(acc)
    std += eps
    g *= neg_clr  # param.addcdiv_(grad, std, value=-clr)
    g /= std
    param += g


@jit.kernel(fallback=_adagrad_numpy)
def adagrad_step(param, grad, acc, scalars, mode):  # pragma: no cover - compiled by Numba
    """Adagrad: ``acc = fma(g, g, acc)``, ``p = p + (g * -clr) / (sqrt(acc) + eps)``;
    ``scalars`` = ``(-clr, weight_decay, eps)``."""
    t = param.dtype.type  # the scalars (a tuple of floats or an array) in the dtype
    neg_clr, wd, eps = t(scalars[0]), t(scalars[1]), t(scalars[2])
    maximize = (mode & MAXIMIZE) != 0
    has_wd = (mode & WEIGHT_DECAY) != 0
    for i in range(param.size):
        g = grad[i]
        if maximize:
            g = -g
        if has_wd:
            g = optim.fma(wd, param[i], g)
        s = optim.fma(g, g, acc[i])
        acc[i] = s
        param[i] = param[i] + (g * neg_clr) / (np.sqrt(s) + eps)


def _adamax_numpy(param, grad, m, u, scalars, mode) -> None:  # noqa: ANN001
    neg_clr, wd, w, beta2, eps, one = _scalars(scalars, param)
    g = _grad_numpy(param, grad, wd, mode)
    _lerp_numpy(m, g, w, one)
    u *= beta2
    norm = np.abs(g)
    norm += eps
    np.maximum(u, norm, out=u)
    tmp = m * neg_clr  # param.addcdiv_(exp_avg, exp_inf, value=-clr)
    tmp /= u
    param += tmp


@jit.kernel(fallback=_adamax_numpy)
def adamax_step(param, grad, m, u, scalars, mode):  # pragma: no cover - compiled by Numba
    """Adamax: ``m`` lerped towards ``g`` by ``w = 1 - beta1``, ``u = max(u * beta2, |g| +
    eps)`` (NaN if either is, as ``np.maximum``), ``p = p + (m * -clr) / u``; ``scalars`` =
    ``(-clr, weight_decay, 1 - beta1, beta2, eps, 1)``."""
    t = param.dtype.type  # the scalars (a tuple of floats or an array) in the dtype
    neg_clr, wd, w = t(scalars[0]), t(scalars[1]), t(scalars[2])
    beta2, eps = t(scalars[3]), t(scalars[4])
    low = abs(w) < 0.5
    lerp_w = w if low else t(scalars[5]) - w
    maximize = (mode & MAXIMIZE) != 0
    has_wd = (mode & WEIGHT_DECAY) != 0
    for i in range(param.size):
        g = grad[i]
        if maximize:
            g = -g
        if has_wd:
            g = optim.fma(wd, param[i], g)
        mi = m[i]
        mi = optim.fma(lerp_w, g - mi, mi) if low else optim.fma(lerp_w, -(g - mi), g)
        m[i] = mi
        a = u[i] * beta2
        b = abs(g) + eps
        if not (a >= b or a != a):  # np.maximum: a NaN in either gives NaN
            a = b
        u[i] = a
        param[i] = param[i] + (mi * neg_clr) / a


def _nadam_numpy(param, grad, m, v, scalars, mode) -> None:  # noqa: ANN001
    decay, wd, w, beta2, omb2, bias2, eps, c1, c2, one = _scalars(scalars, param)
    if mode & DECAY:
        param *= decay
    g = _grad_numpy(param, grad, wd, mode)
    _lerp_numpy(m, g, w, one)
    v *= beta2  # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    _fma_arrays(g * omb2, g, v, v)
    denom = v / bias2
    np.sqrt(denom, out=denom)
    denom += eps
    g *= c1  # param.addcdiv_(grad, denom, c1); param.addcdiv_(exp_avg, denom, c2)
    g /= denom
    param += g
    tmp = m * c2
    tmp /= denom
    param += tmp


@jit.kernel(fallback=_nadam_numpy)
def nadam_step(param, grad, m, v, scalars, mode):  # pragma: no cover - compiled by Numba
    """NAdam: ``m`` lerped towards ``g`` by ``w = 1 - beta1``, ``v = fma(g * (1 - beta2), g,
    v * beta2)``, ``d = sqrt(v / bias2) + eps``, ``p = p + (g * c1) / d`` then ``p = p + (m *
    c2) / d``; ``scalars`` = ``(decay, weight_decay, 1 - beta1, beta2, 1 - beta2, bias2, eps,
    c1, c2, 1)``."""
    t = param.dtype.type  # the scalars (a tuple of floats or an array) in the dtype
    decay, wd, w = t(scalars[0]), t(scalars[1]), t(scalars[2])
    beta2, omb2 = t(scalars[3]), t(scalars[4])
    bias2, eps, c1, c2 = t(scalars[5]), t(scalars[6]), t(scalars[7]), t(scalars[8])
    low = abs(w) < 0.5
    lerp_w = w if low else t(scalars[9]) - w
    maximize = (mode & MAXIMIZE) != 0
    has_wd = (mode & WEIGHT_DECAY) != 0
    has_decay = (mode & DECAY) != 0
    for i in range(param.size):
        p, g = optim.adam_grad(param[i], grad[i], decay, wd, has_decay, maximize, has_wd)
        mi, vi = optim.adam_moments(g, m[i], v[i], lerp_w, low, omb2, beta2)
        m[i] = mi
        v[i] = vi
        d = np.sqrt(vi / bias2) + eps
        p = p + (g * c1) / d
        param[i] = p + (mi * c2) / d


def _radam_numpy(param, grad, m, v, scalars, mode) -> None:  # noqa: ANN001
    decay, wd, w, beta2, omb2, bias1, lr, eps, bc2_sqrt, rect, one = _scalars(scalars, param)
    if mode & DECAY:
        param *= decay
    g = _grad_numpy(param, grad, wd, mode)
    _lerp_numpy(m, g, w, one)
    v *= beta2
    _fma_arrays(g * omb2, g, v, v)
    update = m / bias1
    update *= lr
    if mode & RECTIFIED:  # update *= (1 / (sqrt(v) + eps)) * bias2**0.5; update *= rect
        adaptive = np.sqrt(v)
        adaptive += eps
        np.reciprocal(adaptive, out=adaptive)
        adaptive *= bc2_sqrt
        update *= adaptive
        update *= rect
    param -= update


@jit.kernel(fallback=_radam_numpy)
def radam_step(param, grad, m, v, scalars, mode):  # pragma: no cover - compiled by Numba
    """RAdam: moments as NAdam's, ``u = (m / bias1) * lr``, rectified (``RECTIFIED``) ``u =
    (u * ((1 / (sqrt(v) + eps)) * bc2_sqrt)) * rect``, ``p = p - u``; ``scalars`` =
    ``(decay, weight_decay, 1 - beta1, beta2, 1 - beta2, bias1, lr, eps, bc2_sqrt, rect,
    1)``."""
    t = param.dtype.type  # the scalars (a tuple of floats or an array) in the dtype
    decay, wd, w = t(scalars[0]), t(scalars[1]), t(scalars[2])
    beta2, omb2 = t(scalars[3]), t(scalars[4])
    bias1, lr, eps = t(scalars[5]), t(scalars[6]), t(scalars[7])
    bc2_sqrt, rect = t(scalars[8]), t(scalars[9])
    one = t(scalars[10])
    low = abs(w) < 0.5
    lerp_w = w if low else one - w
    maximize = (mode & MAXIMIZE) != 0
    has_wd = (mode & WEIGHT_DECAY) != 0
    has_decay = (mode & DECAY) != 0
    rectified = (mode & RECTIFIED) != 0
    for i in range(param.size):
        p, g = optim.adam_grad(param[i], grad[i], decay, wd, has_decay, maximize, has_wd)
        mi, vi = optim.adam_moments(g, m[i], v[i], lerp_w, low, omb2, beta2)
        m[i] = mi
        v[i] = vi
        u = (mi / bias1) * lr
        if rectified:
            u = (u * ((one / (np.sqrt(vi) + eps)) * bc2_sqrt)) * rect
        param[i] = p - u
