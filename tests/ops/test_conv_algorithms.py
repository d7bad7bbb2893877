"""The convolution algorithms of ``ops._conv_kernels`` against PyTorch, path by path.

Each algorithm is chosen by shape and size (batch-chunked im2col + GEMM, whole columns
for wide GEMMs, columns kept from forward, pointwise 1x1, chunked col2im for strided
input gradients, chunked weight gradients, and the compiled pool's kernels, where each
thread gathers and multiplies its own images). The size thresholds are patched down so
tiny problems take every path, including a partial last chunk, and the workspace lends
its buffers even for tiny arrays, so reuse across calls is exercised too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.nn.functional as F
from chainrule._kernels import conv_pool, jit, pool_gemm
from chainrule.ops import _conv_kernels as K
from chainrule.ops import _workspace as W

RNG = np.random.default_rng(11)
TOL = {np.float64: (1e-10, 1e-10), np.float32: (2e-4, 2e-4)}


@pytest.fixture(params=["chunked", "whole", "kept", "pool", "pool_one_thread"])
def path(request, monkeypatch):
    """Force one forward algorithm; the workspace lends buffers of any size."""
    monkeypatch.setattr(W, "MIN_BYTES", 1)
    if request.param.startswith("pool"):  # the compiled kernels, 1-2 images per gather
        if not jit.numba_available():
            pytest.skip("numba is not installed (pip install chainrule[fast])")
        monkeypatch.setattr(pool_gemm, "MIN_POOL_MACS", 1)
        monkeypatch.setattr(K, "POOL_CHUNK_BYTES", 1)
        monkeypatch.setattr(K, "CHUNK_MIN_COLUMNS", 1)
        threads = cr.get_num_threads()
        one = request.param == "pool_one_thread"
        # weight gradients in the weight's own layout on two threads, transposed on one
        monkeypatch.setattr(K, "OG_MAJOR_MIN_ELEMENTS", 1 << 40 if one else 1)
        # stride-1 input gradients: the full convolution on one thread, Wᵀ g + scatter on two
        monkeypatch.setattr(K, "POOL_FULL_CONV_MAX_ROWS", 1 << 40 if one else 0)
        cr.set_num_threads(1 if one else 2)
        try:
            with jit.use_backend("numba"):
                assert K._pool_plan(np, np.float64, 2, 1) is not None
                yield request.param
        finally:
            cr.set_num_threads(threads)
        return
    monkeypatch.setattr(K, "_pool_plan", lambda *args, **kwargs: None)
    if request.param == "chunked":  # 1-2 images per chunk: several chunks, a partial last
        monkeypatch.setattr(K, "CHUNK_BYTES", 1)
        monkeypatch.setattr(K, "WGRAD_CHUNK_BYTES", 1)
        monkeypatch.setattr(K, "CHUNK_MIN_COLUMNS", 1)
        monkeypatch.setattr(K, "CHUNK_MIN_TOTAL_BYTES", 0)
        monkeypatch.setattr(K, "SAVE_COLS_MAX_BYTES", 0)
    elif request.param == "whole":  # wide GEMMs: columns taken whole
        monkeypatch.setattr(K, "CHUNK_MAX_ROWS", 0)
        monkeypatch.setattr(K, "SAVE_COLS_MAX_BYTES", 0)
    else:  # small conv: columns kept from forward for the weight gradient
        monkeypatch.setattr(K, "SAVE_COLS_MAX_BYTES", 1 << 40)
    yield request.param


def _check(dtype, x, w, b, torch_fn, cr_fn, **kw):
    rtol, atol = TOL[dtype]
    x, w = x.astype(dtype), w.astype(dtype)
    b = None if b is None else b.astype(dtype)
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    cs = [cr.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    yt = torch_fn(*ts, **kw)
    yc = cr_fn(*cs, **kw)
    np.testing.assert_allclose(yc._data, yt.detach().numpy(), rtol=rtol, atol=atol)
    gy = RNG.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(gy))
    yc.backward(cr.tensor(gy))
    for c, t in zip(cs, ts):
        np.testing.assert_allclose(c.grad._data, t.grad.numpy(), rtol=rtol, atol=atol * 10)


CONV_CASES = [  # (n, c, o, h, w, k, kwargs)
    (5, 3, 4, 9, 9, 3, dict(padding=1)),  # stride 1, odd batch
    (3, 4, 6, 11, 8, 3, dict(stride=2, padding=1)),  # stride 2: col2im dx
    (3, 4, 4, 10, 9, (2, 4), dict(padding="same")),  # asymmetric 'same' pad
    (3, 4, 6, 12, 12, 3, dict(padding=2, dilation=2)),  # dilation
    (3, 6, 4, 7, 9, 3, dict(padding=1, groups=2)),  # groups
    (3, 6, 6, 8, 8, 3, dict(padding=1, groups=6)),  # depthwise
    (4, 5, 3, 6, 7, 1, {}),  # pointwise 1x1
    (4, 5, 3, 7, 7, 1, dict(stride=2)),  # strided 1x1 (downsample)
    (3, 2, 4, 13, 10, (5, 3), dict(stride=(2, 1), padding=(2, 0))),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's note
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n,c,o,h,w,k,kw", CONV_CASES)
def test_conv2d_paths_match_torch(path, dtype, n, c, o, h, w, k, kw):
    kh, kw_ = (k, k) if isinstance(k, int) else k
    groups = kw.get("groups", 1)
    x = RNG.standard_normal((n, c, h, w))
    wt = RNG.standard_normal((o, c // groups, kh, kw_))
    _check(dtype, x, wt, RNG.standard_normal(o), TF.conv2d, F.conv2d, **kw)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's note
@pytest.mark.parametrize("threads,n,chunk_bytes", [(2, 1, 1 << 19), (2, 1, 1), (3, 2, 1 << 19)])
@pytest.mark.parametrize("n_,c,o,h,w,k,kw", CONV_CASES)
def test_small_batch_inference_splits_output_rows(threads, n, chunk_bytes, n_, c, o, h, w, k, kw):
    """Fewer images than threads, no weight gradient (inference): the compiled forward cuts
    each image's output rows into blocks (``conv_forward_rows_pool``); one block per thread,
    or one row per block when the chunk limit is tiny."""
    if not jit.numba_available():
        pytest.skip("numba is not installed (pip install chainrule[fast])")
    kh, kw_ = (k, k) if isinstance(k, int) else k
    groups = kw.get("groups", 1)
    x = RNG.standard_normal((n, c, h, w)).astype(np.float32)
    wt = RNG.standard_normal((o, c // groups, kh, kw_)).astype(np.float32)
    expected = TF.conv2d(torch.tensor(x), torch.tensor(wt), **kw).numpy()
    calls = []
    rows_kernel = conv_pool.conv_forward_rows_pool
    saved = cr.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pool_gemm, "MIN_POOL_MACS", 1)
        mp.setattr(K, "POOL_CHUNK_BYTES", chunk_bytes)
        mp.setattr(
            conv_pool, "conv_forward_rows_pool", lambda *a: calls.append(a[-1]) or rows_kernel(*a)
        )
        cr.set_num_threads(threads)
        try:
            with jit.use_backend("numba"), cr.no_grad():
                got = F.conv2d(cr.tensor(x), cr.tensor(wt), **kw).numpy()
        finally:
            cr.set_num_threads(saved)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    if not (kh == kw_ == 1 and "stride" not in kw):  # 1x1 stride 1 is a plain GEMM
        assert calls and calls[0] >= -(-threads // n)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_on_channel_first_memory(path, dtype):
    # conv outputs live in (C, N, H, W) memory: the next conv reads them without a copy
    x = np.ascontiguousarray(RNG.standard_normal((4, 3, 8, 8)).transpose(1, 0, 2, 3))
    x = x.transpose(1, 0, 2, 3)
    _check(dtype, x, RNG.standard_normal((5, 3, 3, 3)), None, TF.conv2d, F.conv2d, padding=1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "kw",
    [
        dict(stride=2, padding=1, output_padding=1),
        dict(stride=1, padding=1),
        dict(stride=3, dilation=2),
    ],
)
def test_conv_transpose2d_paths_match_torch(path, dtype, kw):
    x = RNG.standard_normal((3, 4, 5, 6))
    wt = RNG.standard_normal((4, 3, 3, 3))
    _check(dtype, x, wt, RNG.standard_normal(3), TF.conv_transpose2d, F.conv_transpose2d, **kw)


@pytest.mark.parametrize(
    "kw", [dict(padding=1), dict(stride=2, padding=1), dict(padding=1, groups=2)]
)
def test_double_backward_matches_torch(path, kw):
    x = RNG.standard_normal((3, 4, 7, 7))
    w = RNG.standard_normal((4, 4 // kw.get("groups", 1), 3, 3))
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    cx, cw = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    gt = torch.autograd.grad(TF.conv2d(tx, tw, **kw).square().sum(), (tx, tw), create_graph=True)
    gc = cr.autograd.grad(F.conv2d(cx, cw, **kw).square().sum(), (cx, cw), create_graph=True)
    (gt[0].square().sum() + gt[1].pow(3).sum()).backward()
    (gc[0].square().sum() + gc[1].pow(3).sum()).backward()
    for c, t in ((cx, tx), (cw, tw)):
        np.testing.assert_allclose(c.grad._data, t.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_gradgradcheck_through_chunked_kernels(path):
    x = cr.tensor(RNG.standard_normal((3, 2, 5, 5)), requires_grad=True)
    w = cr.tensor(RNG.standard_normal((3, 2, 3, 3)), requires_grad=True)

    def fn(a, b):
        return F.conv2d(a, b, padding=1, stride=(1, 2))

    assert cr.autograd.gradcheck(fn, (x, w))
    assert cr.autograd.gradgradcheck(fn, (x, w))


def test_chunk_plan():
    assert K._images_per_chunk(np, 64, 16 * 9 * 1024 * 4, 1024, 2 << 20) == 3
    assert K._images_per_chunk(np, 64, 64 * 9 * 64 * 4, 64, 2 << 20) == 16  # >= 1024 columns
    assert K._images_per_chunk(np, 2, 1 << 30, 10**6, 2 << 20) == 1
    assert K._images_per_chunk(np, 5, 100, 10, 2 << 20) == 5  # never more than the batch
    assert K._images_per_chunk(np, 64, 60_000, 100, 2 << 20) == 64  # 3.8 MB: taken whole


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, padding=1), {}])
def test_empty_batch_matches_torch(path, kw):
    w = RNG.standard_normal((4, 3, 3, 3))
    tx, tw = torch.zeros((0, 3, 8, 8), requires_grad=True), torch.tensor(w, requires_grad=True)
    cx, cw = cr.zeros((0, 3, 8, 8), requires_grad=True), cr.tensor(w, requires_grad=True)
    yt, yc = TF.conv2d(tx.double(), tw, **kw), F.conv2d(cx.double(), cw, **kw)
    assert tuple(yc.shape) == tuple(yt.shape)
    yt.sum().backward()
    yc.sum().backward()
    assert tuple(cx.grad.shape) == (0, 3, 8, 8)
    np.testing.assert_array_equal(cw.grad._data, tw.grad.numpy())


@settings(max_examples=60, deadline=None)
@given(
    groups=st.sampled_from([1, 1, 2, 3]),
    per_group=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    size=st.tuples(st.integers(1, 5), st.integers(1, 9), st.integers(1, 9)),
    layout=st.sampled_from(["nchw", "cnhw", "nhwc"]),
    threads=st.sampled_from([1, 2, 3]),
)
def test_pool_kernels_match_torch_on_any_geometry(
    groups, per_group, kernel, stride, dilation, padding, size, layout, threads
):
    """Every product on the compiled pool (thresholds at their minimum), random geometries,
    memory layouts and thread counts: values and both gradients equal torch's (float64)."""
    if not jit.numba_available():
        pytest.skip("numba is not installed")
    n, h, w = size
    kh, kw = kernel
    if (
        h + 2 * padding[0] < dilation[0] * (kh - 1) + 1
        or w + 2 * padding[1] < dilation[1] * (kw - 1) + 1
    ):
        return  # no output position: torch refuses the shape
    c, o = groups * per_group[0], groups * per_group[1]
    rng = np.random.default_rng(n * 100 + h * 10 + w)
    x = rng.standard_normal((n, c, h, w))
    if layout == "cnhw":  # a conv output's memory
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    elif layout == "nhwc":  # channels_last
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    wt = rng.standard_normal((o, c // groups, kh, kw))
    kw_args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    saved = (pool_gemm.MIN_POOL_MACS, K.POOL_CHUNK_BYTES, K.CHUNK_MIN_COLUMNS, cr.get_num_threads())
    pool_gemm.MIN_POOL_MACS, K.POOL_CHUNK_BYTES, K.CHUNK_MIN_COLUMNS = 1, 1, 1
    cr.set_num_threads(threads)
    try:
        with jit.use_backend("numba"):
            _check(np.float64, x, wt, None, TF.conv2d, F.conv2d, **kw_args)
    finally:
        pool_gemm.MIN_POOL_MACS, K.POOL_CHUNK_BYTES, K.CHUNK_MIN_COLUMNS = saved[:3]
        cr.set_num_threads(saved[3])
