"""The sigmoid family's formulas on arrays: sigmoid's overflow-free form for float64 (and
float16 through float32) and its float32 steps, which round where PyTorch's CPU kernel rounds
(1 from x > 16.6, 0 below -88.7), softplus's float32 steps, elu's (forward and backward) and
logsigmoid's backward float32 steps, and erf of any array (``erf_array``; float16/bfloat16
in PyTorch's float32 form). Kept apart from ``unary.py``
so that the ops read as the ops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._kernels import dispatch as _fast
from ..autograd.ieee import fp_ignoring
from ..backend import get_array_module
from ..meta.array import MetaArray

__all__ = [
    "SOFTPLUS_F32_STEPS",
    "celu_grad_input_scale",
    "elu_f32",
    "elu_grad_f32",
    "erf_array",
    "erf_reduced",
    "logsigmoid_grad_f32",
    "sigmoid_f32",
    "softplus_f32",
    "stable_sigmoid",
]

# np.errstate(<events>="ignore")'s setting, entered in 0.4 us, not 1.1 (ieee.fp_ignoring)
_IGNORE_OVER = fp_ignoring("over")


def stable_sigmoid(x):
    """sigma(x) = 1/(1+e^-x) for x >= 0 and e^x/(1+e^x) for x < 0: never overflows."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_f32(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) for a float32 array in float32 steps, as PyTorch's CPU kernel: 1 where
    1 + e^-x rounds to 1 (x > 16.6), 0 where e^-x overflows (x < -88.7), never a warning."""
    out = np.negative(x, out=np.empty(x.shape, x.dtype))  # an array for a 0-d x too
    with _IGNORE_OVER():
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


SOFTPLUS_F32_STEPS = (np.dtype(np.float32), np.dtype(np.float16))


def softplus_f32(x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    """softplus of a float32 (or float16) array as PyTorch's CPU kernel: ``log1p(exp(b x)) / b``
    with ``e^(b x)`` and the log1p each rounded once to float32 (computed in float64), ``x``
    where ``b x > threshold``. float16 goes through float32 and rounds once, as PyTorch's.
    Bit-equal to PyTorch's for 95% of float32 inputs (its vectorised exp is not correctly
    rounded everywhere; the stable max/log1p form matched 83%)."""
    if x.dtype == np.float16:
        return softplus_f32(x.astype(np.float32), beta, threshold).astype(np.float16)
    bx = x * np.float32(beta) if beta != 1 else x
    w = np.empty(x.shape, np.float64)
    with _IGNORE_OVER():  # e^(b x) = inf: log1p gives inf, as PyTorch's
        np.exp(bx, out=w, dtype=np.float64)
        y = w.astype(np.float32)
        np.log1p(y, out=w, dtype=np.float64)
        y[...] = w
    if beta != 1:
        y /= np.float32(beta)
    np.copyto(y, x, where=bx > threshold)
    return y


# Sleef's expm1f (PyTorch's vectorised float32 expm1) is exactly -1 below this, else (nearly
# always) the correctly rounded expm1; inf above _EXPM1_F32_OVER
_EXPM1_F32_ONE = np.float32(-16.635532333438687)
_EXPM1_F32_OVER = np.float32(88.72283172607421875)


def elu_f32(x: np.ndarray, alpha: float, scale: float, input_scale: float) -> np.ndarray:
    """elu / selu / celu of a float32 array as PyTorch's CPU kernel: ``expm1(x * input_scale)
    * (alpha * scale)`` where ``x <= 0``, else ``x * scale``, each step in float32 (the
    coefficients rounded to float32 first, ``alpha * scale`` a float32 product) with the
    expm1 correctly rounded (float64, rounded once) and exactly -1 below -16.64, as Sleef's.
    Bit-equal to PyTorch's on all but ~4e-5 of float32 inputs over [-100, 100] (3.9% before,
    NumPy's float32 expm1 being off by an ulp). ``neg + max(-0.0, x)`` in place of a ``where``
    (each side 0 on the other's half, signed zeros kept; a ``where`` over a random sign
    pattern costs 3.5 ms at 1e6 elements), so at 1e6 elements this takes 4.6-6.2 ms where
    the old ``where`` form took 7.6-9.7 (-24% to -48%), while at 1e3 it is 2-3.4 us slower
    (8.6-10 us, old 6.5-7.4: the float64 expm1 and two more calls); mins of repeats,
    measured under heavy load (session 37)."""
    if x.ndim == 0:  # NumPy's steps give scalars for a 0-d array
        return elu_f32(x.reshape(1), alpha, scale, input_scale).reshape(())
    f32 = np.float32
    z = np.minimum(0, x)  # keeps -0.0: elu(-0.0) = -0.0
    if input_scale != 1:
        z *= f32(input_scale)
    w = np.expm1(z, dtype=np.float64)
    neg = w.astype(np.float32)
    np.copyto(neg, f32(-1), where=z < _EXPM1_F32_ONE)
    if input_scale < 0:  # celu with a negative alpha: z > 0
        np.copyto(neg, f32(np.inf), where=z > _EXPM1_F32_OVER)
    coef = f32(alpha) * f32(scale)
    if coef != 1:
        neg *= coef
    if not coef >= 0:  # a negative (or NaN) coefficient: PyTorch's elu(+-0.0) is +-0.0
        pos = x * f32(scale) if scale != 1 else x
        return np.where(x >= 0, pos, neg)
    pos = np.maximum(f32(-0.0), x)  # -0.0 for x <= 0: adds nothing to neg, keeps its sign
    if scale != 1:
        pos *= f32(scale)
    neg += pos
    return neg


def celu_grad_input_scale(alpha: float) -> float:
    """The input scale of celu's backward as PyTorch's ``derivatives.yaml`` writes it,
    ``1.0 / alpha.toFloat()``: the quotient in float64 of alpha rounded to float32 (the
    forward's ``1 / alpha`` is exact), for ``CeluBackward0`` and ``CeluBackward1`` alike."""
    return 1.0 / float(np.float32(alpha))


def elu_grad_f32(
    g: np.ndarray, x: np.ndarray, alpha: float, scale: float, input_scale: float
) -> np.ndarray:
    """PyTorch's float32 ``elu_backward`` from the input: ``((g * input_scale) * (alpha *
    scale)) * exp(x * input_scale)`` where ``x <= 0`` (NaN too), else ``g * scale``, each
    step in float32, the exp the compiled float32 kernel's where it runs (large arrays on the
    numba backend: 2% of gradients differ from PyTorch's over [-100, 100]), else correctly
    rounded (float64, rounded once: 4% differ; PyTorch's Sleef expf is an ulp off that on
    ~9% of inputs, NumPy's float32 exp on ~40%: 16-25% differed before). For elu with
    ``alpha = 1`` the ``x > 0`` side is the same product (``exp(0) = 1``): no ``where``.
    One pass of NumPy ops in place of ``g *`` the derivative's five Tensor ops: 7-11 us at 1e3
    elements (36-61 us before), 2-13 ms at 1e6 (15-27 ms), measured under load."""
    f32 = np.float32
    z = np.minimum(x, f32(0), out=np.empty(x.shape, np.float32))  # an array for a 0-d x too
    if input_scale != 1:
        z *= f32(input_scale)
    e = _fast.exp(z)  # the compiled float32 exp (large arrays): nearer Sleef's (2% differ)
    if e is None:
        e = np.exp(z, out=z, dtype=np.float64)  # buffered: no float64 temporary
    t = np.multiply(g, f32(input_scale), dtype=np.float32)
    coef = f32(alpha) * f32(scale)
    if coef != 1:
        t *= coef
    t *= e
    if input_scale == 1 and coef == scale == 1:
        return t
    pos = g * f32(scale) if scale != 1 else g
    return np.where(x > 0, pos, t)


def logsigmoid_grad_f32(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """PyTorch's ``log_sigmoid_backward`` on float32, one pass of NumPy ops: ``(m - s q) g``
    with ``q = b / (1 + b)`` from its buffer ``b = exp(-|x|)``, ``m, s = 1, 1`` where
    ``x < 0`` else ``0, -1``, each step in float32, as ``|m - q| g`` (exact: 0 <= q <= 1/2;
    a ``where`` over a random sign pattern costs 3.5 ms at 1e6 elements). 15% of gradients
    differ from PyTorch's over [-100, 100] (26-31% as ``g σ(-x)``), all from NumPy's float32
    exp: a correctly rounded one (float64) gives 3.8% but costs ~1 ms more at 1e6 elements,
    so the forward keeps NumPy's float32 exp and log1p too (80% bit-equal; 95% with a float64
    exp, for +40% of its time at 1e3 and 1e6 elements). Versus ``g * sigmoid(-x)``: 6.4 us
    at 1e3 elements (12.4), 1.33 ms at 1e6 (1.16 NumPy backend, 3.7 compiled); mins of
    repeats, measured under load (session 37)."""
    b = np.abs(x, out=np.empty(x.shape, np.float32))  # an array for a 0-d x too
    np.negative(b, out=b)
    np.exp(b, out=b)
    q = np.add(b, np.float32(1), out=np.empty_like(b))
    np.divide(b, q, out=q)
    np.subtract(np.less(x, 0), q, out=q, dtype=np.float32)  # 1 - q, or -q
    np.abs(q, out=q)  # 1 - q or q
    return np.multiply(q, g, out=q)


# Abramowitz & Stegun 7.1.26: erf(a) ~ 1 - t e^(-a^2) (p1 t + ... + p5 t^5), t = 1/(1 + p a),
# in float32 with fused multiply-adds: PyTorch's CPU erf for float16 and bfloat16 (computed
# in float32, rounded once), bit-equal on every finite float16 and bfloat16 input
_AS_P = np.float32(0.3275911)
_AS = tuple(
    np.float32(c) for c in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
)


def _fma32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a b + c rounded once to float32 (a b exact in float64) for float32 operands."""
    return (np.multiply(a, b, dtype=np.float64) + c).astype(np.float32)


def erf_reduced(x: np.ndarray) -> np.ndarray:
    """erf of a float16 or bfloat16 array as PyTorch's CPU kernel: Abramowitz & Stegun's
    7.1.26 form in float32 steps (above), rounded once to x's dtype. (The correctly rounded
    erf differs from PyTorch's on 10% of float16 and 44% of bfloat16 inputs, by up to 13,404
    bfloat16 ulp near 0, where the form's absolute error of 1e-7 is many ulp.)"""
    v = x.astype(np.float32).reshape(-1)  # 1-d: 0-d steps would give scalars
    a = np.abs(v)
    one = np.float32(1.0)
    t = one / _fma32(_AS_P, a, one)
    p5, p4, p3, p2, p1 = _AS[4], _AS[3], _AS[2], _AS[1], _AS[0]
    r = _fma32(_fma32(_fma32(_fma32(p5, t, p4), t, p3), t, p2), t, p1)
    with _IGNORE_OVER():  # a^2 = inf: e^-inf = 0, erf = +-1
        e = np.exp(-(v * v), dtype=np.float64).astype(np.float32)
    y = _fma32(-e * t, r, one)
    np.negative(y, out=y, where=np.signbit(v))
    return y.astype(x.dtype).reshape(x.shape)


def erf_array(x: Any) -> Any:
    """erf of an array: float16/bfloat16 in PyTorch's float32 form (:func:`erf_reduced`),
    CuPy's or SciPy's erf otherwise (a vectorised math.erf without SciPy)."""
    xp = get_array_module(x)
    host = xp is np or type(x) is MetaArray  # meta: the NumPy path on its protocols
    if host and x.dtype.itemsize == 2:  # float16, bfloat16: PyTorch's float32 form
        return erf_reduced(x)
    if not host:
        import cupyx.scipy.special as sp  # type: ignore  # noqa: PLC0415 - CuPy is optional

        return sp.erf(x)
    try:
        from scipy.special import erf as sp_erf  # noqa: PLC0415 - SciPy is optional
    except ImportError:  # vectorised math.erf: exact, slower
        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return sp_erf(x).astype(x.dtype, copy=False)
