"""The compiled pool's convolution kernels and their NumPy fallbacks (run in forked
children) against PyTorch's conv2d and its two gradients, one call each, raw arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from chainrule._kernels import blas, conv_pool, jit

pytestmark = pytest.mark.skipif(
    not jit.numba_available() or blas.gemm_address(np.dtype(np.float64)) is None,
    reason="needs numba and NumPy's OpenBLAS",
)

CASES = [  # (c, n, h, w, o, kh, kw, stride, dilation, (pt, pb, pl, pr), groups, nb, chunks)
    (4, 5, 7, 6, 6, 3, 3, 1, 1, (1, 1, 1, 1), 1, 2, 2),
    (4, 5, 7, 6, 6, 3, 2, 2, 1, (1, 0, 2, 1), 2, 1, 2),  # asymmetric padding, groups
    (6, 3, 9, 8, 9, 3, 3, 2, 2, (3, 0, 1, 3), 3, 2, 3),  # dilation, one image per block
    (3, 2, 5, 5, 4, 5, 5, 3, 1, (4, 4, 4, 4), 1, 1, 2),  # padding wider than the input
    (2, 4, 6, 5, 3, 1, 1, 1, 1, (0, 0, 0, 0), 1, 3, 2),  # pointwise, a partial last gather
]


def _torch_reference(x, w, g, stride, dilation, pad, groups):
    tx = torch.tensor(x.transpose(1, 0, 2, 3), requires_grad=True)  # NCHW
    tw = torch.tensor(w, requires_grad=True)
    pt, pb, pl, pr = pad
    y = TF.conv2d(TF.pad(tx, (pl, pr, pt, pb)), tw, stride=stride, dilation=dilation, groups=groups)
    y.backward(torch.tensor(g))
    return y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()


@pytest.mark.parametrize("og_major", [False, True], ids=["kg_og", "og_kg"])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "fallback"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES)
def test_conv_pool_kernels_match_torch(case, dtype, compiled, og_major):
    c, n, h, wd, o, kh, kw, s, d, pad, groups, nb, chunks = case
    rng = np.random.default_rng(7)
    x = rng.standard_normal((c, n, h, wd)).astype(dtype)  # (C, N, H, W) memory
    w = rng.standard_normal((o, c // groups, kh, kw)).astype(dtype)
    ho = (h + pad[0] + pad[1] - d * (kh - 1) - 1) // s + 1
    wo = (wd + pad[2] + pad[3] - d * (kw - 1) - 1) // s + 1
    g = rng.standard_normal((n, o, ho, wo)).astype(dtype)
    y_ref, dx_ref, dw_ref = _torch_reference(x, w, g, s, d, pad, groups)

    gemm = blas.gemm_address(np.dtype(dtype))
    geom = (kh, kw, s, s, d, d, pad[0], pad[2])
    w2 = w.reshape(o, -1)
    g2 = np.ascontiguousarray(g.transpose(1, 0, 2, 3).reshape(o, -1))
    y = np.empty((o, n, ho, wo), dtype)
    kg, og = w2.shape[1], o // groups
    parts = np.zeros((chunks, groups) + ((og, kg) if og_major else (kg, og)), dtype)
    dx = np.zeros_like(x)

    def call(kernel, *args):
        fn = kernel if compiled else kernel.fallback
        with jit.use_backend("numba"), blas.one_blas_thread():
            fn(gemm, *args)

    call(conv_pool.conv_forward_pool, x, w2, y, geom, groups, nb, chunks)
    call(conv_pool.conv_weight_grad_pool, x, g2, parts, ho, wo, geom, groups, nb, chunks, og_major)
    call(conv_pool.conv_input_grad_pool, g2, w2, dx, ho, wo, geom, groups, nb, chunks)
    dw = parts.sum(0) if og_major else parts.sum(0).transpose(0, 2, 1)
    dw = dw.reshape(w.shape)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(y.transpose(1, 0, 2, 3), y_ref, **tol)
    np.testing.assert_allclose(dx.transpose(1, 0, 2, 3), dx_ref, **tol)
    np.testing.assert_allclose(dw, dw_ref, **tol)
