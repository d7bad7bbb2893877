"""The Winograd F(2x2, 3x3) weight gradient (compiled and its NumPy fallback) against PyTorch's
float64 weight gradient and chainrule's im2col one, raw arrays in (C, N, H, W) memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from chainrule._kernels import blas, jit, winograd_wgrad
from chainrule.ops import _conv_kernels

pytestmark = pytest.mark.skipif(
    not jit.numba_available() or blas.gemm_address(np.dtype(np.float32)) is None,
    reason="needs numba and NumPy's OpenBLAS",
)

CASES = [  # (n, c, h, w, o, (pt, pb, pl, pr), crop, nb, chunks, splits)
    (5, 4, 8, 8, 6, (1, 1, 1, 1), 0, 2, 2, 1),  # 'same' padding, even: the in-place fast paths
    (3, 3, 7, 6, 5, (1, 1, 1, 1), 0, 2, 2, 1),  # odd height: a zero last output-gradient row
    (2, 5, 6, 9, 2, (0, 2, 2, 0), 0, 1, 3, 1),  # asymmetric padding, odd width, an idle chunk
    (4, 2, 5, 5, 4, (0, 0, 0, 0), 0, 3, 1, 1),  # 'valid', one block with a partial gather
    (1, 3, 9, 8, 4, (2, 2, 1, 1), 0, 1, 3, 3),  # one image: its tile rows cut into 3 blocks
    (3, 3, 8, 8, 4, (1, 1, 1, 1), 1, 2, 3, 1),  # fewer output rows than the windows give
]


def _torch_dw(x, g, pad):
    """The weight gradient of conv2d(pad(x), w)[..., :Ho, :Wo] for g, NCHW, in float64."""
    pt, pb, pl, pr = pad
    tx = TF.pad(torch.tensor(x.astype(np.float64)), (pl, pr, pt, pb))
    tw = torch.zeros((g.shape[1], x.shape[1], 3, 3), dtype=torch.float64, requires_grad=True)
    y = TF.conv2d(tx, tw)[:, :, : g.shape[2], : g.shape[3]]
    y.backward(torch.tensor(g.astype(np.float64)))
    return tw.grad.numpy()


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "fallback"])
@pytest.mark.parametrize("case", CASES)
def test_winograd_wgrad_pool_matches_torch(case, compiled):
    n, c, h, wd, o, pad, crop, nb, chunks, splits = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal((c, n, h, wd)).astype(np.float32)  # (C, N, H, W) memory
    ho, wo = h + pad[0] + pad[1] - 2 - crop, wd + pad[2] + pad[3] - 2 - crop
    g = rng.standard_normal((o, n, ho, wo)).astype(np.float32)
    ref = _torch_dw(x.transpose(1, 0, 2, 3), g.transpose(1, 0, 2, 3), pad)
    gemm = blas.gemm_address(np.dtype(np.float32))
    kernel = winograd_wgrad.winograd_wgrad_pool
    kernel = kernel if compiled else kernel.fallback
    dw = np.full((o, c, 3, 3), np.nan, np.float32)
    parts = np.full((chunks, 16 * o * c), np.nan, np.float32)  # written before being read
    with jit.use_backend("numba"), blas.one_blas_thread():
        kernel(gemm, x, g, dw, parts, (pad[0], pad[2]), nb, chunks, splits)
    np.testing.assert_allclose(dw, ref, rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("batch", [6, 1])
def test_on_a_resnet_layer_it_is_as_accurate_as_im2col(batch):
    """ResNet-20's 64-channel 8x8 layer: the largest error against a float64 reference,
    relative to the gradient's largest magnitude, stays at float32 rounding (measured 2-8e-7,
    im2col's ~4e-7, benchmarks/bench_winograd_wgrad.py) and matches the im2col path."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, batch, 8, 8)).astype(np.float32).transpose(1, 0, 2, 3)
    g = rng.standard_normal((64, batch, 8, 8)).astype(np.float32).transpose(1, 0, 2, 3)
    pad = (1, 1, 1, 1)
    ref = _torch_dw(x, g, pad)
    with jit.use_backend("numba"):
        assert winograd_wgrad.applies(x, g, (64, 64, 3, 3), (1, 1), (1, 1), 1)
        dw = winograd_wgrad.conv3x3_weight_grad(x, g, pad)
        dw_old = _conv_kernels.conv_weight_grad(x, g, (64, 64, 3, 3), (1, 1), pad, (1, 1), 1)
    scale = np.abs(ref).max()
    err, err_old = np.abs(dw - ref).max() / scale, np.abs(dw_old - ref).max() / scale
    assert err < 2e-6
    assert err < 10 * err_old + 1e-7
    np.testing.assert_allclose(dw, dw_old, rtol=1e-4, atol=1e-4 * scale)


def test_applies_only_to_float32_3x3_stride1_convs():
    x = np.zeros((2, 3, 8, 8), np.float32)
    g = np.zeros((2, 4, 8, 8), np.float32)
    shape = (4, 3, 3, 3)
    with jit.use_backend("numba"):
        assert winograd_wgrad.applies(x, g, shape, (1, 1), (1, 1), 1)
        assert not winograd_wgrad.applies(x.astype(np.float64), g, shape, (1, 1), (1, 1), 1)
        assert not winograd_wgrad.applies(x, g, shape, (2, 2), (1, 1), 1)
        assert not winograd_wgrad.applies(x, g, shape, (1, 1), (2, 2), 1)
        assert not winograd_wgrad.applies(x, g, shape, (1, 1), (1, 1), 3)
        assert not winograd_wgrad.applies(x, g, (4, 3, 5, 5), (1, 1), (1, 1), 1)
    with jit.use_backend("numpy"):
        assert not winograd_wgrad.applies(x, g, shape, (1, 1), (1, 1), 1)


def test_takes_nchw_memory_and_empty_inputs_and_rejects_misfit_gradients():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 6, 6)).astype(np.float32)  # NCHW memory: copied to CNHW
    g = rng.standard_normal((3, 5, 6, 6)).astype(np.float32)
    pad = (1, 1, 1, 1)
    with jit.use_backend("numba"):
        dw = winograd_wgrad.conv3x3_weight_grad(x, g, pad)
        empty = winograd_wgrad.conv3x3_weight_grad(x[:0], g[:0], pad)
        with pytest.raises(ValueError, match="does not fit"):
            winograd_wgrad.conv3x3_weight_grad(x, np.zeros((3, 5, 7, 6), np.float32), pad)
    np.testing.assert_allclose(dw, _torch_dw(x, g, pad), rtol=1e-5, atol=1e-5)
    assert empty.shape == (5, 4, 3, 3) and not empty.any()
