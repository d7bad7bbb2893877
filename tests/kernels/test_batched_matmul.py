"""bmm / batched matmul through the batch-split path (chainrule._kernels.blas), against
NumPy and PyTorch, forward, backward and double backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import blas, jit, pool_gemm

needs_openblas = pytest.mark.skipif(
    blas.openblas_threads_control() is None, reason="NumPy's BLAS is not OpenBLAS"
)


@pytest.fixture(params=["compiled_pool", "python_threads"])
def batch_path(request, monkeypatch):
    """The compiled pool's batched GEMM (one launch, transposes as CBLAS flags), or the
    batch split over chainrule's Python threads."""
    before = cr.get_num_threads()
    cr.set_num_threads(2)
    if request.param == "compiled_pool":
        if not jit.numba_available():
            pytest.skip("numba is not installed")
        calls = []
        real = pool_gemm.batched
        monkeypatch.setattr(pool_gemm, "batched", lambda *a: calls.append(real(*a)) or calls[-1])
        with jit.use_backend("numba"):
            yield calls
    else:
        monkeypatch.setattr(pool_gemm, "pool_active", lambda: 0)
        yield None
    cr.set_num_threads(before)


@needs_openblas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["plain", "b_transposed", "a_transposed", "4d"])
def test_matches_numpy(dtype, layout, batch_path):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 9, 7)).astype(dtype)
    b = rng.standard_normal((6, 7, 5)).astype(dtype)
    if layout == "b_transposed":
        b = np.ascontiguousarray(b.transpose(0, 2, 1)).transpose(0, 2, 1)
    elif layout == "a_transposed":
        a = np.ascontiguousarray(a.transpose(0, 2, 1)).transpose(0, 2, 1)
    elif layout == "4d":
        a, b = a.reshape(2, 3, 9, 7), b.reshape(2, 3, 7, 5)
    out = blas.batched_matmul(a, b)
    assert out is not None and out.shape == (a @ b).shape and out.dtype == dtype
    if batch_path is not None:
        assert batch_path == [True]  # the compiled launch ran
    np.testing.assert_allclose(
        out,
        a @ b,
        rtol=1e-5 if dtype == np.float32 else 1e-12,
        atol=1e-5 if dtype == np.float32 else 1e-12,
    )


@needs_openblas
def test_restores_blas_threads():
    get, _ = blas.openblas_threads_control()
    before = get()
    x = np.ones((4, 8, 8))
    blas.batched_matmul(x, x)
    assert get() == before


def test_not_applicable_returns_none():
    x = np.ones((4, 8, 8), np.float32)
    assert blas.batched_matmul(x, np.ones((1, 8, 8), np.float32)) is None  # broadcast batch
    assert blas.batched_matmul(x, x.astype(np.float64)) is None  # mixed dtypes
    assert blas.batched_matmul(np.ones((8, 8)), np.ones((8, 8))) is None  # not batched
    assert blas.batched_matmul(x.astype(np.int64), x.astype(np.int64)) is None
    big = np.ones((2, 256, 256), np.float32)
    assert blas.batched_matmul(big, big) is None  # large GEMMs


def test_bmm_vs_torch_with_double_backward():
    rng = np.random.default_rng(1)
    aa, ba = rng.standard_normal((5, 4, 6)), rng.standard_normal((5, 6, 3))
    va = rng.standard_normal((5, 4, 3))
    res = []
    for m in (cr, torch):
        a, b = m.tensor(aa, requires_grad=True), m.tensor(ba, requires_grad=True)
        y = m.bmm(a, b)
        ga, gb = m.autograd.grad((y * m.tensor(va)).sum(), (a, b), create_graph=True)
        gga = m.autograd.grad((ga * ga).sum() + (gb * gb).sum(), (a, b))
        res.append([t.detach().numpy() for t in (y, ga, gb, *gga)])
    for x, t in zip(*res):
        np.testing.assert_allclose(x, t, rtol=1e-12, atol=1e-12)
