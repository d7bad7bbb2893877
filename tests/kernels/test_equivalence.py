"""Every compiled kernel gives the NumPy fallback's results (float32 and float64, with NaN,
inf, signed zeros, and values where exp overflows in float32)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule._kernels import activations, jit, softmax, transcendental

pytestmark = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")

SPECIAL = [
    np.nan,
    np.inf,
    -np.inf,
    0.0,
    -0.0,
    1e-30,
    -1e-30,
    88.0,
    89.0,
    -87.0,
    -104.0,
    -120.0,
    120.0,
    1e-3,
    -1e-3,
    20.0,
    -20.0,
]
# float32: one ulp is 1.2e-7 relative; the compiled float32 kernels round once from float64
TOL = {np.float32: dict(rtol=3e-7, atol=1e-30), np.float64: dict(rtol=1e-14, atol=1e-300)}


def _data(dtype, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 6).astype(dtype)
    k = min(n, len(SPECIAL))
    x[:k] = SPECIAL[:k]
    return x


def _run(fn, *args):
    """Call a kernel path with a fresh output array shaped as the first argument."""
    out = np.empty_like(args[0])
    fn(*args, out)
    return out


def _same(a, b, dtype):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_allclose(a, b, equal_nan=True, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu(dtype):
    x = _data(dtype)
    np.testing.assert_array_equal(
        _run(activations.relu.compiled, x), _run(activations.relu.fallback, x)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu_grad", "tanh_grad", "sigmoid_grad"])
def test_gradient_kernels(dtype, name):
    k = getattr(activations, name)
    g = _data(dtype, seed=1)
    y = np.tanh(_data(dtype, seed=2)) if name != "relu_grad" else _data(dtype, seed=2)
    y[:4] = [np.nan, 0.0, -0.0, 1.0]
    with np.errstate(invalid="ignore"):  # inf * 0 in the NumPy reference
        ref = _run(k.fallback, g, y)
    _same(_run(k.compiled, g, y), ref, dtype)


def test_sigmoid_f32():
    x = _data(np.float32)
    ref = np.float32(1) / (1 + np.exp(-x.astype(np.float64)))  # float64 reference
    with np.errstate(over="ignore"):
        fb = _run(transcendental.sigmoid_f32.fallback, x)
    out = _run(transcendental.sigmoid_f32.compiled, x)
    assert out.dtype == np.float32
    _same(out, fb, np.float32)
    np.testing.assert_allclose(out, ref.astype(np.float32), rtol=1.5e-7, atol=1e-45, equal_nan=True)


@pytest.mark.parametrize("n", [1, 3, 7, 1000])
def test_softmax_rows_f32(n):
    x = _data(np.float32, n=12 * n, seed=n).reshape(12, n)
    x[0, :] = -np.inf  # all -inf: NaN row, as NumPy
    if n > 2:
        x[1, 1] = np.nan  # NaN row
        x[2, 2] = np.inf  # +inf: NaN row
        x[3, :] = 1e4  # large equal values
    with np.errstate(invalid="ignore", over="ignore"):
        ref = _run(softmax.softmax_rows_f32.fallback, x)
        exact = _run(softmax.softmax_rows_f32.fallback, x.astype(np.float64))
    out = _run(softmax.softmax_rows_f32.compiled, x)
    assert out.dtype == np.float32
    # NumPy rounds x - max to float32 (an absolute error of up to |x - max| * 6e-8, so a
    # relative one in exp) and its float32 exp is within ~2.4 ulp; the kernel subtracts and
    # exponentiates in float64 and is within ~1 ulp of the float64 result
    np.testing.assert_allclose(out, ref, rtol=5e-6, atol=1e-30, equal_nan=True)
    np.testing.assert_allclose(out, exact, rtol=4e-7, atol=1e-30, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_backward(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 301)).astype(dtype)
    y = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    g = rng.standard_normal(x.shape).astype(dtype)
    out = _run(softmax.softmax_rows_backward.compiled, g, y)
    ref = _run(softmax.softmax_rows_backward.fallback, g, y)
    # entries are differences of O(y) terms: compare against the scale of y * |g|
    scale = np.abs(y) * (np.abs(g) + 1)
    assert np.all(np.abs(out - ref) <= 8 * np.finfo(dtype).eps * scale)
