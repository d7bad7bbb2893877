"""The Winograd F(2x2, 3x3) convolution kernel (compiled and its NumPy fallback) against
PyTorch's conv2d and its input gradient, raw arrays in (C, N, H, W) memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from chainrule._kernels import blas, jit, winograd
from chainrule.ops import _conv_kernels

pytestmark = pytest.mark.skipif(
    not jit.numba_available() or blas.gemm_address(np.dtype(np.float32)) is None,
    reason="needs numba and NumPy's OpenBLAS",
)

CASES = [  # (n, c, h, w, o, (pt, pb, pl, pr), nb, chunks, parts); chunks = n·parts for parts > 1
    (5, 4, 8, 8, 6, (1, 1, 1, 1), 2, 2, 1),  # 'same' padding, even: the in-place fast paths
    (3, 3, 7, 6, 5, (1, 1, 1, 1), 2, 2, 1),  # odd height: a cropped last tile row
    (2, 5, 6, 9, 3, (0, 2, 2, 0), 1, 2, 1),  # asymmetric padding, odd width
    (4, 2, 5, 5, 4, (0, 0, 0, 0), 3, 1, 1),  # 'valid', one block with a partial gather
    (1, 3, 9, 8, 4, (2, 2, 1, 1), 1, 3, 3),  # one image: its tile rows cut into 3 blocks
]


def _torch(x, w, g, pad):
    """y = conv2d(x, w) and its input gradient for g, x in NCHW, float64."""
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    pt, pb, pl, pr = pad
    y = TF.conv2d(TF.pad(tx, (pl, pr, pt, pb)), torch.tensor(w.astype(np.float64)))
    y.backward(torch.tensor(g.astype(np.float64)))
    return y.detach().numpy(), tx.grad.numpy()


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "fallback"])
@pytest.mark.parametrize("case", CASES)
def test_winograd_pool_matches_torch(case, compiled):
    n, c, h, wd, o, pad, nb, chunks, parts = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal((c, n, h, wd)).astype(np.float32)  # (C, N, H, W) memory
    w = rng.standard_normal((o, c, 3, 3)).astype(np.float32)
    ho, wo = h + pad[0] + pad[1] - 2, wd + pad[2] + pad[3] - 2
    g = rng.standard_normal((o, n, ho, wo)).astype(np.float32)
    y_ref, dx_ref = _torch(x.transpose(1, 0, 2, 3), w, g.transpose(1, 0, 2, 3), pad)
    gemm = blas.gemm_address(np.dtype(np.float32))
    kernel = winograd.winograd_pool if compiled else winograd.winograd_pool.fallback
    y = np.full((o, n, ho, wo), np.nan, np.float32)
    dx = np.full((c, n, h, wd), np.nan, np.float32)
    full = tuple(2 - p for p in pad)  # the input gradient: the flipped, transposed conv
    with jit.use_backend("numba"), blas.one_blas_thread():
        kernel(gemm, x, w, y, (pad[0], pad[2]), False, nb, chunks, parts)
        kernel(gemm, g, w, dx, (full[0], full[2]), True, nb, chunks, parts)
    np.testing.assert_allclose(y.transpose(1, 0, 2, 3), y_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx.transpose(1, 0, 2, 3), dx_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("batch", [6, 1])
def test_conv3x3_on_a_resnet_layer_is_as_accurate_as_im2col(batch):
    """ResNet-20's 64-channel 8x8 layer: Winograd's largest error against a float64 reference,
    relative to the output's largest magnitude, stays at float32 rounding (measured 1-3e-7,
    im2col's ~4e-7) and far inside the conv tests' float32 tolerance (2e-4)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, batch, 8, 8)).astype(np.float32).transpose(1, 0, 2, 3)
    w = (rng.standard_normal((64, 64, 3, 3)) / 24).astype(np.float32)
    g = rng.standard_normal((64, batch, 8, 8)).astype(np.float32).transpose(1, 0, 2, 3)
    y_ref, dx_ref = _torch(x, w, g, (1, 1, 1, 1))
    with jit.use_backend("numba"):
        assert winograd.applies(x, w, (1, 1), (1, 1), 1)
        y = winograd.conv3x3(x, w, (1, 1, 1, 1)).transpose(1, 0, 2, 3)
        dx = winograd.conv3x3(g, w, (1, 1, 1, 1), flip=True).transpose(1, 0, 2, 3)
        y_old = _conv_kernels.conv_forward(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    err = np.abs(y - y_ref).max() / np.abs(y_ref).max()
    err_old = np.abs(y_old - y_ref).max() / np.abs(y_ref).max()
    err_dx = np.abs(dx - dx_ref).max() / np.abs(dx_ref).max()
    assert err < 2e-6 and err_dx < 2e-6
    assert err < 10 * err_old + 1e-7


def test_applies_only_to_float32_3x3_stride1_convs():
    x = np.zeros((2, 3, 8, 8), np.float32)
    w = np.zeros((4, 3, 3, 3), np.float32)
    with jit.use_backend("numba"):
        assert winograd.applies(x, w, (1, 1), (1, 1), 1)
        assert not winograd.applies(x.astype(np.float64), w.astype(np.float64), (1, 1), (1, 1), 1)
        assert not winograd.applies(x, w, (2, 2), (1, 1), 1)
        assert not winograd.applies(x, w, (1, 1), (2, 2), 1)
        assert not winograd.applies(x, w, (1, 1), (1, 1), 3)
        assert not winograd.applies(x, np.zeros((4, 3, 5, 5), np.float32), (1, 1), (1, 1), 1)
    with jit.use_backend("numpy"):
        assert not winograd.applies(x, w, (1, 1), (1, 1), 1)


def test_conv3x3_takes_nchw_memory_an_out_array_and_empty_inputs():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 6, 6)).astype(np.float32)  # NCHW memory: copied to CNHW
    w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    y_ref, _ = _torch(x, w, np.zeros((3, 5, 6, 6), np.float32), (1, 1, 1, 1))
    out = np.empty((5, 3, 6, 6), np.float32)
    with jit.use_backend("numba"):
        assert winograd.conv3x3(x, w, (1, 1, 1, 1), out=out) is out
        empty = winograd.conv3x3(np.zeros((0, 4, 6, 6), np.float32), w, (1, 1, 1, 1))
        no_channels = winograd.conv3x3(np.ones((2, 0, 6, 6), np.float32), w[:, :0], (1, 1, 1, 1))
    np.testing.assert_allclose(out.transpose(1, 0, 2, 3), y_ref, rtol=1e-5, atol=1e-5)
    assert empty.shape == (5, 0, 6, 6)
    assert no_channels.shape == (5, 2, 6, 6) and not no_channels.any()
