"""The float32 exact-GELU kernels (:mod:`chainrule._kernels.gelu`): accuracy in float32 ulp
against a float64 reference, special values, compiled vs NumPy fallback, and PyTorch. The
float32 bounds are the compiled path's (the NumPy fallback's float32 1 + erf cancels)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from chainrule._kernels import gelu as K
from chainrule._kernels import jit

needs_numba = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")

F32 = np.float32
TINY = float(np.finfo(F32).tiny)
BIG = float(np.finfo(F32).max)
# the bounds the module docstring states (float32 ulp of the exact result, wherever it is a
# normal float32; around the derivative's zero, ulp of its largest value on [-1, -0.5])
VALUE_ULP, DERIV_ULP, DERIV_ZERO_ULP, GRAD_ULP = 4.0, 5.5, 5.5, 8.5


def _reference(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x Φ(x) and Φ(x) + x φ(x) in float64, with Φ from erfc (no cancellation for x << 0)."""
    from scipy.special import erfc

    xd = x.astype(np.float64)
    cdf = 0.5 * erfc(-xd / math.sqrt(2.0))
    return xd * cdf, cdf + xd * np.exp(-0.5 * xd * xd) / math.sqrt(2.0 * math.pi)


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    ulp = np.spacing(np.abs(want).astype(F32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / ulp


def _grid() -> np.ndarray:
    """Dense float32 points of [-12, 14], denser in [-1, 1], where the derivative turns."""
    rng = np.random.default_rng(0)
    parts = [np.linspace(-12.0, 14.0, 200_001), rng.uniform(-12, 14, 100_000)]
    parts.append(rng.uniform(-1, 1, 100_000))
    return np.concatenate(parts).astype(F32)


def _run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, d = np.empty_like(x), np.empty_like(x)
    K.gelu_with_grad_f32(x, y, d)
    return y, d


@needs_numba
def test_float32_value_and_derivative_within_stated_ulp():
    x = _grid()
    y, d = _run(x)
    yw, dw = _reference(x)
    tail = x < K.GELU_F32_ZERO_BELOW  # PyTorch's -0.0 there (its float32 1 + erf is 0)
    assert tail.any() and (y[tail] == 0).all() and np.signbit(y[tail]).all()
    ok = (np.abs(yw) > TINY) & ~tail
    assert _ulps(y[ok], yw[ok]).max() <= VALUE_ULP
    zero = (x >= -1.0) & (x <= -0.5)  # the derivative crosses 0 at x = -0.75
    ok = (np.abs(dw) > TINY) & ~zero
    assert _ulps(d[ok], dw[ok]).max() <= DERIV_ULP
    top = np.spacing(F32(np.abs(dw[zero]).max()))
    assert np.abs(d[zero] - dw[zero]).max() <= DERIV_ZERO_ULP * top
    # value-only and gradient kernels give the fused kernel's results
    np.testing.assert_array_equal(K.gelu_f32(x), y)
    g = np.random.default_rng(1).standard_normal(x.size).astype(F32)
    gd = K.gelu_grad_f32(g, x)
    np.testing.assert_array_equal(gd, g * d)
    want = g.astype(np.float64) * dw
    ok = (np.abs(want) > TINY) & ~zero
    assert _ulps(gd[ok], want[ok]).max() <= GRAD_ULP


@needs_numba
def test_float32_negative_tail_keeps_relative_accuracy():
    """Where 1 + erf cancels: the value is PyTorch's -0.0 below ``GELU_F32_ZERO_BELOW``
    (-5.5426) and keeps its relative accuracy above; the derivative keeps it everywhere."""
    x = np.linspace(-13.0, -4.0, 20_001).astype(F32)
    y, d = _run(x)
    yw, dw = _reference(x)
    tail = x < K.GELU_F32_ZERO_BELOW
    assert (np.abs(yw) > TINY).all() and (d < 0).all()
    assert (y[tail] == 0).all() and np.signbit(y[tail]).all() and (y[~tail] < 0).all()
    ok = ~tail
    assert _ulps(y[ok], yw[ok]).max() <= VALUE_ULP
    ok = np.abs(dw) > TINY
    assert _ulps(d[ok], dw[ok]).max() <= DERIV_ULP


@needs_numba
def test_float32_special_values():
    x = np.array(
        [0.0, -0.0, TINY, -TINY, 1e-45, -1e-45, math.inf, -math.inf, math.nan, BIG, -BIG, 20, -20],
        dtype=F32,
    )
    y, d = _run(x)
    assert y[0] == 0 and not np.signbit(y[0]) and y[1] == 0 and np.signbit(y[1])
    assert d[0] == d[1] == 0.5
    assert y[2] == F32(TINY / 2) and y[3] == F32(-TINY / 2)  # x Φ(x) = x / 2 near 0
    assert abs(float(y[4])) <= 1.5e-45 and abs(float(y[5])) <= 1.5e-45  # subnormal: absolute
    assert (d[2:6] == 0.5).all()
    assert y[6] == math.inf and math.isnan(y[7]) and math.isnan(y[8])  # PyTorch's formula
    assert np.isnan(d[6:9]).all()
    assert y[9] == F32(BIG) and d[9] == 1 and y[10] == 0 and np.signbit(y[10]) and d[10] == 0
    assert y[11] == 20 and d[11] == 1 and y[12] == 0 and np.signbit(y[12]) and d[12] == 0
    np.testing.assert_array_equal(K.gelu_f32(x), y)
    np.testing.assert_array_equal(K.gelu_grad_f32(np.full_like(x, 2), x), 2 * d)


@needs_numba
def test_float32_compiled_matches_numpy_fallback():
    """The fallback's float32 1 + erf cancels for x << 0: agreement in absolute terms there."""
    x = np.random.default_rng(2).uniform(-6, 6, 5000).astype(F32)
    g = np.random.default_rng(3).standard_normal(x.size).astype(F32)
    tol = dict(rtol=4e-7, atol=3e-7)
    np.testing.assert_allclose(K.gelu_f32.compiled(x), K.gelu_f32.fallback(x), **tol)
    np.testing.assert_allclose(
        K.gelu_grad_f32.compiled(g, x), K.gelu_grad_f32.fallback(g, x), **tol
    )


@pytest.mark.parametrize("dtype", [pytest.param(torch.float32, marks=needs_numba), torch.float64])
def test_matches_torch(dtype):
    """Against torch.nn.functional.gelu and its autograd at a few hundred points. PyTorch's
    float32 formula loses relative accuracy for x << 0 (1 + erf cancels: an absolute error
    of a few 1e-7 at x = -3), so it is compared above -3 with that absolute tolerance, and
    the same points against PyTorch's float64 to our bounds (the tail is checked against
    erfc above)."""
    lo = -3.0 if dtype == torch.float32 else -6.0
    xf = np.random.default_rng(4).uniform(lo, 6, 400).astype(F32)
    x = xf.astype(np.float64) if dtype == torch.float64 else xf
    g = np.random.default_rng(5).standard_normal(x.size).astype(x.dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.gelu(tx)
    ty.backward(torch.tensor(g))
    y = K.gelu(x)
    gx = K.gelu_grad(g, x)
    rtol, atol = (2e-6, 1e-6) if dtype == torch.float32 else (1e-13, 1e-15)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=rtol, atol=atol)
    if dtype == torch.float32:  # our float32 against torch's float64 on the same points
        t64 = torch.tensor(xf.astype(np.float64), requires_grad=True)
        torch.nn.functional.gelu(t64).backward(torch.tensor(g.astype(np.float64)))
        want = torch.nn.functional.gelu(t64).detach().numpy()
        assert _ulps(y, want).max() <= VALUE_ULP
        np.testing.assert_allclose(gx, t64.grad.numpy(), rtol=3e-6, atol=3e-7)
