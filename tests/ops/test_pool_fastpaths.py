"""The 2x2 max-pool tournament (ops.pooling) against PyTorch: values, the first-argmax
tie rule, gradients, indices and double backward, on the shapes where it is used."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F

RNG = np.random.default_rng(3)

CASES = [  # (input shape, kwargs); kernel 2 everywhere
    ((2, 3, 8, 8), {}),  # disjoint (LeNet)
    ((2, 3, 9, 7), {}),  # odd sizes: uncovered pixels
    ((2, 2, 7, 6), dict(stride=1)),  # overlapping windows
    ((2, 2, 7, 7), dict(stride=2, padding=1)),  # -inf padding
    ((1, 2, 9, 9), dict(stride=2, dilation=2)),
    ((1, 2, 7, 8), dict(stride=2, ceil_mode=True)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,kw", CASES)
@pytest.mark.parametrize("ties", [False, True])
def test_maxpool_2x2_matches_torch(dtype, shape, kw, ties):
    x = RNG.standard_normal(shape)
    if ties:  # ReLU-like input, rounded: many tied maxima inside windows
        x = np.round(np.maximum(x, 0.0), 0)
    x = x.astype(dtype)
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    yt, it = TF.max_pool2d(tx, 2, return_indices=True, **kw)
    yc, ic = F.max_pool2d(cx, 2, return_indices=True, **kw)
    np.testing.assert_array_equal(yc._data, yt.detach().numpy())
    np.testing.assert_array_equal(ic._data, it.numpy())
    gy = RNG.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(gy))
    yc.backward(cr.tensor(gy))
    np.testing.assert_allclose(cx.grad._data, tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_maxpool_2x2_keeps_channel_major_memory():
    # a convolution's result (channel-major memory, marked row-major): pooled with no copy.
    # (An unmarked channel-major array is a user's transpose: pooled row-major, as PyTorch's;
    # session 44, tests/ops/test_result_layouts_session44.py.)
    x = cr.tensor(RNG.standard_normal((3, 4, 10, 10)), requires_grad=True)
    c = F.conv2d(x, cr.tensor(RNG.standard_normal((4, 4, 3, 3))))
    assert c._data.transpose(1, 0, 2, 3).flags["C_CONTIGUOUS"]
    y = F.max_pool2d(c, 2)
    assert y._data.transpose(1, 0, 2, 3).flags["C_CONTIGUOUS"]  # next conv reads it as is
    assert y.stride() == (64, 16, 4, 1)  # (PyTorch's)


def test_maxpool_2x2_double_backward_and_gradcheck():
    x = cr.tensor(RNG.standard_normal((2, 2, 6, 6)), requires_grad=True)

    def fn(a):
        return F.max_pool2d(a, 2, stride=1)

    assert cr.autograd.gradcheck(fn, (x,))
    assert cr.autograd.gradgradcheck(fn, (x,))
