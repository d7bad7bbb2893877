"""PixelShuffle / PixelUnshuffle against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F


@pytest.mark.parametrize("shape, r", [((2, 8, 3, 4), 2), ((18, 2, 3), 3), ((2, 1, 4, 1, 2), 2)])
def test_pixel_shuffle_matches_torch(shape, r):
    a = np.random.default_rng(0).standard_normal(shape)
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    yc, yt = cr.nn.PixelShuffle(r)(xc), torch.nn.PixelShuffle(r)(xt)
    np.testing.assert_array_equal(yc.data, yt.detach().numpy())
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(xc.grad.data, xt.grad.numpy())


@pytest.mark.parametrize("shape, r", [((2, 2, 4, 6), 2), ((1, 6, 9), 3), ((2, 1, 3, 2, 2), 2)])
def test_pixel_unshuffle_matches_torch_and_inverts(shape, r):
    a = np.random.default_rng(2).standard_normal(shape)
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    yc, yt = cr.nn.PixelUnshuffle(r)(xc), torch.nn.PixelUnshuffle(r)(xt)
    np.testing.assert_array_equal(yc.data, yt.detach().numpy())
    np.testing.assert_array_equal(F.pixel_shuffle(yc, r).data, a)
    yc.sum().backward()
    np.testing.assert_array_equal(xc.grad.data, np.ones(shape))
    assert repr(cr.nn.PixelUnshuffle(r)) == repr(torch.nn.PixelUnshuffle(r))


def test_gradcheck():
    x = cr.tensor(np.random.default_rng(3).standard_normal((1, 4, 2, 2)), requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: F.pixel_shuffle(t, 2) ** 2, (x,))
    assert cr.autograd.gradgradcheck(lambda t: F.pixel_unshuffle(t, 2) ** 2, (x,))


@pytest.mark.parametrize(
    "fn, shape, r",
    [
        ("pixel_shuffle", (1, 5, 2, 2), 2),
        ("pixel_shuffle", (4, 2), 2),
        ("pixel_shuffle", (1, 4, 2, 2), 0),
        ("pixel_unshuffle", (1, 1, 5, 4), 2),
        ("pixel_unshuffle", (1, 1, 4, 5), 2),
    ],
)
def test_errors_match_torch(fn, shape, r):
    a = np.zeros(shape)
    with pytest.raises(RuntimeError):
        getattr(torch.nn.functional, fn)(torch.tensor(a), r)
    with pytest.raises(RuntimeError, match=fn):
        getattr(F, fn)(cr.tensor(a), r)
