"""The compiled float32 exp and tanh (``_kernels/transcendental.exp_f32`` / ``tanh_f32``):
within 1.5 ulp of the correctly rounded result over the float32 range (NumPy's own float32
exp reaches 2.4 ulp, its tanh 1.4), exact special values and signed zeros, and ``cr.exp`` /
``cr.tanh`` on the compiled path equal to PyTorch's forward and backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import dispatch, jit, transcendental

pytestmark = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")

SPECIAL = [  # (x, e^x in float32)
    (0.0, 1.0),
    (-0.0, 1.0),
    (np.inf, np.inf),
    (-np.inf, 0.0),
    (88.73, np.inf),  # overflow
    (89.0, np.inf),
    (1e30, np.inf),
    (-104.0, 0.0),  # underflow
    (-1e30, 0.0),
]


def _ulp_error(out: np.ndarray, x: np.ndarray, exact_fn=np.exp) -> np.ndarray:
    """|out - exact| in float32 ulps of the correctly rounded result, where that result is a
    finite normal float32."""
    exact = exact_fn(x.astype(np.float64))
    with np.errstate(over="ignore"):
        rounded = np.abs(exact.astype(np.float32))
    keep = np.isfinite(rounded) & (rounded >= np.finfo(np.float32).tiny)
    return np.abs(out[keep] - exact[keep]) / np.spacing(rounded[keep]).astype(np.float64)


def test_accuracy_over_the_float32_range():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.uniform(-104, 89, 400_000),
            rng.standard_normal(100_000),
            rng.uniform(-1e-6, 1e-6, 10_000),
            np.linspace(-87.5, -87.2, 1000),  # around the smallest normal result
            np.linspace(88.5, 88.75, 1000),  # around overflow
        ]
    ).astype(np.float32)
    out = np.empty_like(x)
    transcendental.exp_f32.compiled(x, out)
    assert _ulp_error(out, x).max() < 1.5


def test_special_values_and_subnormal_results():
    x = np.array([v for v, _ in SPECIAL] + [np.nan, -88.0, -100.0, -103.9], np.float32)
    out = np.empty_like(x)
    transcendental.exp_f32.compiled(x, out)
    want = np.array([e for _, e in SPECIAL], np.float32)
    np.testing.assert_array_equal(out[: len(SPECIAL)], want)
    assert np.isnan(out[len(SPECIAL)])
    # subnormal results: within one subnormal step of the correctly rounded value
    exact = np.exp(x[len(SPECIAL) + 1 :].astype(np.float64)).astype(np.float32)
    np.testing.assert_allclose(out[len(SPECIAL) + 1 :], exact, rtol=0, atol=1.5e-45)


def test_fallback_is_numpy_and_dispatch_takes_float32_only(monkeypatch):
    x = np.linspace(-5, 5, 1 << 15, dtype=np.float32)
    out = np.empty_like(x)
    transcendental.exp_f32.fallback(x, out)
    np.testing.assert_array_equal(out, np.exp(x))
    with jit.use_backend("numba"):
        assert dispatch.exp(x.astype(np.float64)) is None
        assert dispatch.exp(x[::2]) is None  # not contiguous
        np.testing.assert_allclose(dispatch.exp(x), np.exp(x), rtol=2.5e-7)
    with jit.use_backend("numpy"):
        assert dispatch.exp(x) is None


@pytest.mark.parametrize("shape", [(1000, 1000), (12, 64, 512)])
def test_cr_exp_matches_torch(shape):
    x = (np.random.default_rng(1).standard_normal(shape) * 8).astype(np.float32)
    with jit.use_backend("numba"):
        cx = cr.tensor(x, requires_grad=True)
        y = cx.exp()
        g = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
        y.backward(cr.tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    yt = tx.exp()
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y._data, yt.detach().numpy(), rtol=3e-7, atol=0)
    np.testing.assert_allclose(cx.grad._data, tx.grad.numpy(), rtol=5e-7, atol=0)


def test_tanh_accuracy_and_specials():
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [
            rng.uniform(-12, 12, 300_000),
            rng.standard_normal(300_000),
            rng.uniform(-1e-3, 1e-3, 20_000),
            np.linspace(0.39, 0.41, 20_000),  # where the two formulas meet
            -np.linspace(0.39, 0.41, 20_000),
            np.linspace(8.5, 9.5, 1000),  # the clamp
        ]
    ).astype(np.float32)
    out = np.empty_like(x)
    transcendental.tanh_f32.compiled(x, out)
    assert _ulp_error(out, x, np.tanh).max() < 1.5
    odd = np.empty_like(x)
    transcendental.tanh_f32.compiled(-x, odd)
    np.testing.assert_array_equal(odd, -out)  # exactly odd
    sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 50.0, -50.0], np.float32)
    got = np.empty_like(sp)
    transcendental.tanh_f32.compiled(sp, got)
    np.testing.assert_array_equal(got, np.tanh(sp))
    np.testing.assert_array_equal(np.signbit(got[:2]), [False, True])


def test_tanh_dispatch_and_fallback():
    x = np.linspace(-5, 5, 1 << 15, dtype=np.float32)
    out = np.empty_like(x)
    transcendental.tanh_f32.fallback(x, out)
    np.testing.assert_array_equal(out, np.tanh(x))
    with jit.use_backend("numba"):
        assert dispatch.tanh(x.astype(np.float64)) is None
        # both within ~1.5 ulp of the exact value, so within 3 ulp of each other
        np.testing.assert_allclose(dispatch.tanh(x), np.tanh(x), rtol=4e-7, atol=1e-45)
    with jit.use_backend("numpy"):
        assert dispatch.tanh(x) is None


@pytest.mark.parametrize("shape", [(1000, 1000), (32, 64, 128)])
def test_cr_tanh_matches_torch(shape):
    x = (np.random.default_rng(4).standard_normal(shape) * 2).astype(np.float32)
    g = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    with jit.use_backend("numba"):
        cx = cr.tensor(x, requires_grad=True)
        y = cx.tanh()
        y.backward(cr.tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    yt = tx.tanh()
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y._data, yt.detach().numpy(), rtol=3e-7, atol=1e-7)
    np.testing.assert_allclose(cx.grad._data, tx.grad.numpy(), rtol=1e-6, atol=1e-6)
