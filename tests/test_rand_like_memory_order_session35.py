"""``rand_like`` of a non-contiguous tensor fills the result's memory in order, as PyTorch's
(chainrule filled it in logical order: ``rand_like(x.t())`` under one seed gave other values
than torch's). Normal draws into such memory take another path in PyTorch, not reproduced
(``randn_like`` of a contiguous tensor is still torch's stream)."""

import numpy as np
import pytest
import torch

import chainrule as cr

LIKES = {
    "transposed": lambda L: L.zeros(2, 3).t(),
    "permuted": lambda L: L.zeros(2, 3, 4).permute(2, 0, 1),
    "channels_last": lambda L: L.zeros(2, 3, 4, 5).to(memory_format=L.channels_last),
    "strided_slice": lambda L: L.zeros(5, 6)[:, ::2],
    "size_one_dims": lambda L: L.zeros(4, 1, 3).transpose(0, 2),
    "contiguous": lambda L: L.zeros(3, 4),
}


@pytest.mark.parametrize("name", sorted(LIKES))
def test_rand_like_as_torch(name):
    results = []
    for lib in (torch, cr):
        lib.manual_seed(0)
        r = lib.rand_like(LIKES[name](lib))
        results.append((tuple(r.stride()), np.asarray(r.tolist())))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[1][1], results[0][1])


def test_explicit_channels_last_and_randn_of_a_contiguous_tensor():
    results = []
    for lib in (torch, cr):
        lib.manual_seed(0)
        a = lib.rand_like(lib.zeros(2, 3, 4, 5), memory_format=lib.channels_last)
        b = lib.randn_like(lib.zeros(4, 5))
        results.append([np.asarray(t.tolist()) for t in (a, b)])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_array_equal(got, want)
