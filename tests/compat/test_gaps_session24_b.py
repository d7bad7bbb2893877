"""Gaps found by the session-24 (batch b) drop-in programs (``efficient_kan``,
``retnet_retention``, ``xlstm_mlstm``, ``patchtst_revin``, ``nbeats_forecast``), each checked
against PyTorch.

- A matmul of a stack of tiny matrices (retention's per-head ``Q @ K^T``, the mLSTM's ``(B, NH,
  S, DH)`` products, ``bmm``/``baddbmm``) always went to the compiled pool, whose launch cost
  ~1-2 ms on the loaded 2-core host against 1-7 us for NumPy's own product: the RetNet and
  xLSTM programs took 0.4-0.5 s where they now take under 0.1 s. Stacks under
  ``blas.MIN_BATCHED_MACS`` multiply-adds in all now run as one NumPy matmul on the calling
  thread; larger stacks still split their batch over the pool.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule
from chainrule._kernels import blas, pool_gemm

torch = pytest.importorskip("torch")


@pytest.fixture
def pool_launches(monkeypatch: pytest.MonkeyPatch, two_threads: None) -> list:
    """Records each call of the compiled pool's batched GEMM (and what it returned), with two
    intra-op threads (where the pool is active)."""
    calls: list = []
    real = pool_gemm.batched
    monkeypatch.setattr(pool_gemm, "batched", lambda *a: calls.append(real(*a)) or calls[-1])
    return calls


def _products(m: Any, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> list:
    x = m.tensor(a, requires_grad=True)
    y = m.tensor(b, requires_grad=True)
    out = [x @ y, m.bmm(x, y), m.baddbmm(m.tensor(c), x, y, beta=0.5, alpha=2.0)]
    sum(o.sum() for o in out).backward()
    return [o.detach().numpy() for o in out] + [x.grad.numpy(), y.grad.numpy()]


@pytest.mark.parametrize("shape", [(4, 6, 8, 5), (3, 1, 7, 2)])
def test_small_stacked_products_skip_the_pool_and_match_torch(
    shape: tuple, pool_launches: list
) -> None:
    batch, m, k, n = shape
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(s) for s in ((batch, m, k), (batch, k, n), (batch, m, n)))
    got = _products(chainrule, a, b, c)
    want = _products(torch, a, b, c)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    assert pool_launches == []  # under MIN_BATCHED_MACS: no launch
    assert batch * m * k * n < blas.MIN_BATCHED_MACS


def test_four_d_attention_scores_match_torch(pool_launches: list) -> None:
    rng = np.random.default_rng(1)
    q, k = rng.standard_normal((2, 2, 6, 4)), rng.standard_normal((2, 2, 6, 4))
    got = chainrule.tensor(q) @ chainrule.tensor(k).transpose(-2, -1)
    want = torch.tensor(q) @ torch.tensor(k).transpose(-2, -1)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    assert pool_launches == []


def test_large_stacks_still_split_over_the_pool(pool_launches: list) -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((32, 32, 32)), rng.standard_normal((32, 32, 32))
    assert a.size * b.shape[-1] >= blas.MIN_BATCHED_MACS
    got = blas.matmul_stack(a, b)
    np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-12)
    if pool_gemm.pool_active() and blas.gemm_address(a.dtype) is not None:
        assert pool_launches == [True]


def test_matmul_stack_broadcasts_and_takes_vectors_like_torch() -> None:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3, 4, 5))
    for b in (rng.standard_normal((5, 2)), rng.standard_normal(5), rng.standard_normal((3, 5, 2))):
        got = chainrule.tensor(a) @ chainrule.tensor(b)
        want = torch.tensor(a) @ torch.tensor(b)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
