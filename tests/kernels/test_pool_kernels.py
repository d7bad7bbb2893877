"""The compiled thread pool's kernels: row-blocked GEMMs (``_kernels/pool_gemm.py``) and
attention over heads (``_kernels/attention_heads.py``), against NumPy and torch, and their
NumPy fallback in a forked child."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule._kernels import attention_heads, blas, jit, pool_gemm
from chainrule.ops import attention_fused

pytestmark = pytest.mark.skipif(jit.backend() != "numba", reason="needs the Numba backend")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "trans_a,trans_b", [(False, False), (False, True), (True, False), (True, True)]
)
def test_pool_matmul_equals_numpy(dtype, trans_a, trans_b, two_threads):
    rng = np.random.default_rng(0)
    m, k, n = 301, 129, 67  # rows not divisible by the blocks
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    pool_gemm.MIN_POOL_MACS, saved = 0, pool_gemm.MIN_POOL_MACS
    try:
        got = pool_gemm.matmul(a, b, trans_a, trans_b)
    finally:
        pool_gemm.MIN_POOL_MACS = saved
    want = (a.T if trans_a else a) @ (b.T if trans_b else b)
    assert got is not None and got.dtype == dtype and got.flags.c_contiguous
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


def test_pool_matmul_declines_what_it_does_not_take(two_threads):
    big = np.ones((256, 256), np.float32)
    assert pool_gemm.matmul(np.ones((4, 4), np.float32), np.ones((4, 4), np.float32)) is None
    assert pool_gemm.matmul(big, big.astype(np.float64)) is None  # mixed dtypes
    assert pool_gemm.matmul(big.T[::2], big) is None  # not C-contiguous
    assert pool_gemm.matmul(big.astype(np.int64), big.astype(np.int64)) is None
    with pytest.raises(ValueError):
        cr.set_num_threads(0)
    cr.set_num_threads(1)
    assert pool_gemm.matmul(big, big) is None  # one thread: NumPy's matmul


def test_linear_runs_its_products_on_the_pool_and_matches_torch(two_threads, monkeypatch):
    """Forward: one row-blocked GEMM; backward: dx and dW in one paired launch."""
    calls = []
    for name in ("gemm_rows", "gemm_pair"):
        real = getattr(pool_gemm, name)

        class Spy:
            def __call__(self, *args, _real=real, _name=name):
                flags = args[4:6] if _name == "gemm_rows" else (args[4:6], args[9:11])
                calls.append((_name, flags))
                return _real(*args)

        monkeypatch.setattr(pool_gemm, name, Spy())
    rng = np.random.default_rng(1)
    x = rng.standard_normal((12, 64, 128)).astype(np.float32)
    w = rng.standard_normal((384, 128)).astype(np.float32) * 0.1
    xc, wc = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    y = cr.nn.functional.linear(xc, wc)
    y.backward(cr.ones_like(y))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.linear(xt, wt)
    yt.backward(torch.ones_like(yt))
    assert calls == [("gemm_rows", (111, 112)), ("gemm_pair", ((111, 111), (112, 111)))]
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(wc.grad.numpy(), wt.grad.numpy(), rtol=1e-5, atol=1e-4)


def _qkv(rng, shape, split):
    if not split:
        return [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    b, h, t, d = shape  # heads cut from one (B, T, 3C) projection, as in a GPT block
    qkv = rng.standard_normal((b, t, 3 * h * d)).astype(np.float32)
    return [
        qkv[..., i * h * d : (i + 1) * h * d].reshape(b, t, h, d).transpose(0, 2, 1, 3)
        for i in range(3)
    ]


@pytest.mark.parametrize(
    "shape,split",
    [((3, 2, 17, 8), False), ((2, 4, 16, 8), True), ((5, 9, 4), False), ((12, 8), False)],
)
@pytest.mark.parametrize("causal", [False, True])
def test_attention_heads_on_the_pool_match_torch(shape, split, causal, two_threads, monkeypatch):
    launches = []
    for name in ("heads_forward", "heads_backward"):
        real = getattr(attention_fused, name)
        monkeypatch.setattr(
            attention_fused, name, lambda *a, _r=real, _n=name: launches.append(_n) or _r(*a)
        )
    monkeypatch.setattr(attention_fused, "SPLIT_HEADS_MACS", 0)
    rng = np.random.default_rng(2)
    arrays = _qkv(rng, shape, split)
    grad = rng.standard_normal(arrays[0].shape[:-1] + (arrays[2].shape[-1],)).astype(np.float32)
    q, k, v = (cr.tensor(a, requires_grad=True) for a in arrays)
    out = cr.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    out.backward(cr.tensor(grad))
    tq, tk, tv = (torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in arrays)
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
    tout.backward(torch.tensor(grad))
    assert launches == ["heads_forward", "heads_backward"]
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=2e-5, atol=2e-6)
    for c, t in zip((q, k, v), (tq, tk, tv)):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_heads_compiled_equals_numpy_fallback(causal):
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 3, 16, 8)).astype(np.float32) for _ in range(3))
    g = rng.standard_normal((2, 3, 16, 8)).astype(np.float32)
    gemm = attention_fused.blas.gemm_address(np.float32)
    results = []
    for run in (attention_heads.heads_forward.compiled, attention_heads.heads_forward.fallback):
        s, out, lse = np.empty((2, 3, 16, 16), np.float32), np.empty_like(q), np.empty(96)
        assert run(gemm, q, k, v, s, out, lse, 8**-0.5, causal, 2) == 0
        grads = [np.empty_like(q) for _ in range(3)]
        ds = np.empty_like(s)
        back = (
            attention_heads.heads_backward.compiled
            if len(results) == 0
            else attention_heads.heads_backward.fallback
        )
        back(gemm, q, k, v, s, g, ds, *grads, 8**-0.5, causal, 2)
        results.append([s, out, lse, *grads])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def _linear_in_child(queue):
    x = np.random.default_rng(4).standard_normal((512, 256)).astype(np.float32)
    w = np.random.default_rng(5).standard_normal((256, 256)).astype(np.float32)
    y = cr.nn.functional.linear(cr.tensor(x), cr.tensor(w))
    queue.put((jit.in_forked_child(), float(np.abs(y.numpy() - x @ w.T).max())))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_child_runs_the_numpy_fallback(two_threads):
    """After the parent used the OpenMP pool, a forked child (a DataLoader worker) must not
    enter it (GNU OpenMP would terminate the child): it takes the NumPy fallback."""
    x = np.ones((512, 256), np.float32)
    cr.nn.functional.linear(cr.tensor(x), cr.tensor(np.ones((256, 256), np.float32)))
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_linear_in_child, args=(queue,))
    child.start()
    forked, err = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0 and forked and err < 1e-3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [2, 3, 4])
def test_pool_matmul_pair_equals_numpy(dtype, threads):
    """A linear layer's two backward products in one launch, any thread count."""
    before = cr.get_num_threads()
    cr.set_num_threads(threads)
    try:
        rng = np.random.default_rng(6)
        g = rng.standard_normal((300, 96)).astype(dtype)
        w = rng.standard_normal((96, 130)).astype(dtype)
        x = rng.standard_normal((300, 130)).astype(dtype)
        gx, gw = pool_gemm.matmul_pair((g, w, False, False), (g, x, True, False))
        small = np.ones((2, 2), dtype)
        assert pool_gemm.matmul_pair((g, w, False, False), (small, small, False, False)) is None
    finally:
        cr.set_num_threads(before)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(gx, g @ w, rtol=tol, atol=tol)
    np.testing.assert_allclose(gw, g.T @ x, rtol=tol, atol=tol)


def test_mid_sized_products_hold_openblas_at_one_thread(two_threads, monkeypatch):
    """Too small for the pool but large enough for OpenBLAS's own threads: computed with
    OpenBLAS held at one thread (its woken workers would spin on, taking the pool's core)."""
    held = []
    real = blas.one_blas_thread
    monkeypatch.setattr(blas, "one_blas_thread", lambda: held.append(1) or real())
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((64, 120)), rng.standard_normal((120, 84))  # 645k MACs
    np.testing.assert_allclose(pool_gemm.matmul(a, b), a @ b, rtol=1e-12)
    assert held == [1]
    tiny = np.ones((4, 4))
    assert pool_gemm.matmul(tiny, tiny) is None and held == [1]  # tiny: untouched


@pytest.mark.parametrize("layout", ["plain", "a_t", "b_t", "both_t"])
def test_matmul_op_of_2d_operands_uses_the_pool_and_matches_torch(layout, two_threads):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((96, 130)).astype(np.float32)
    b = rng.standard_normal((130, 110)).astype(np.float32)
    if layout in ("a_t", "both_t"):
        a = np.ascontiguousarray(a.T).T
    if layout in ("b_t", "both_t"):
        b = np.ascontiguousarray(b.T).T
    got = pool_gemm.matmul_2d(a, b)
    assert got is not None  # 1.4M MACs: on the pool, transposes as flags
    np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-4)
    ca, cb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (ca @ cb).square().sum().backward()
    (ta @ tb).square().sum().backward()
    np.testing.assert_allclose(ca.grad.numpy(), ta.grad.numpy(), rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(cb.grad.numpy(), tb.grad.numpy(), rtol=1e-4, atol=1e-2)
