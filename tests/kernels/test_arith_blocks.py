"""Add, subtract and multiply of large same-shaped float arrays on the compiled pool
(`_kernels/arith.py`): bitwise NumPy's results, NumPy's layout, and NumPy's path for
everything else; through the Tensor ops, torch's values and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import arith, dispatch, jit

pytestmark = pytest.mark.skipif(not jit.numba_available(), reason="numba is not installed")

UFUNCS = [np.add, np.subtract, np.multiply]


@pytest.fixture
def pool(monkeypatch):
    """The pool active on two threads, every array large enough."""
    monkeypatch.setattr(jit, "POOL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(jit, "MIN_PARALLEL_SIZE", 1)
    before = cr.get_num_threads()
    cr.set_num_threads(2)
    with jit.use_backend("numba"):
        yield
    cr.set_num_threads(before)


def _specials(shape, dtype, seed):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    a.reshape(-1)[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, np.finfo(dtype).tiny / 4]
    return a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ufunc", UFUNCS, ids=lambda u: u.__name__)
@pytest.mark.parametrize("layout", ["c", "cnhw"])
def test_bitwise_numpy(pool, ufunc, dtype, layout):
    a, b = _specials((3, 4, 5, 7), dtype, 0), _specials((3, 4, 5, 7), dtype, 1)[::-1].copy()
    if layout == "cnhw":
        a = np.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
        b = np.ascontiguousarray(b.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    got = dispatch.arithmetic(ufunc, a, b)
    want = ufunc(a, b)
    assert got is not None and got.dtype == want.dtype and got.strides == want.strides
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))  # bit for bit


def test_other_cases_keep_numpy(pool):
    a = np.ones((4, 5), np.float32)
    assert dispatch.arithmetic(np.add, a, np.ones((1, 5), np.float32)) is None  # broadcast
    assert dispatch.arithmetic(np.add, a, np.ones((4, 5), np.float64)) is None  # dtypes
    assert dispatch.arithmetic(np.add, a, 2.0) is None  # a scalar
    assert dispatch.arithmetic(np.add, a, np.ones((5, 4), np.float32).T) is None  # layouts
    assert dispatch.arithmetic(np.divide, a, a) is None  # not one of the three
    assert dispatch.arithmetic(np.add, a.astype(np.int64), a.astype(np.int64)) is None


def test_fallback_is_numpy():
    a, b = np.arange(10.0), np.arange(10.0)[::-1].copy()
    out = np.empty_like(a)
    arith.arith_blocks.fallback(a, b, out, arith.SUB, 2)
    np.testing.assert_array_equal(out, a - b)


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_tensor_ops_match_torch(pool, op):
    rng = np.random.default_rng(2)
    x, y = (rng.standard_normal((6, 7)).astype(np.float32) for _ in range(2))
    cx, cy = cr.tensor(x, requires_grad=True), cr.tensor(y, requires_grad=True)
    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    fn = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b}[op]
    g = rng.standard_normal((6, 7)).astype(np.float32)
    zc, zt = fn(cx, cy), fn(tx, ty)
    np.testing.assert_array_equal(zc.detach().numpy(), zt.detach().numpy())
    (zc * cr.tensor(g)).sum().backward()
    (zt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(cy.grad.numpy(), ty.grad.numpy(), rtol=1e-6)
