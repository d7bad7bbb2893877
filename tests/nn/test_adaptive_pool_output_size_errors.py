"""A wrong-length ``output_size`` for adaptive pooling is PyTorch's RuntimeError: 1-d took
the first entry of a pair, 2-d raised Python's unpacking error, 3-d a ValueError."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr

CASES = {
    "avg1d_pair": lambda lib: lib.nn.functional.adaptive_avg_pool1d(lib.ones(2, 3, 8), (2, 2)),
    "max1d_pair": lambda lib: lib.nn.functional.adaptive_max_pool1d(lib.ones(2, 3, 8), (2, 2)),
    "avg2d_triple": lambda lib: lib.nn.functional.adaptive_avg_pool2d(
        lib.ones(1, 2, 4, 4), (2, 2, 2)
    ),
    "avg3d_pair": lambda lib: lib.nn.functional.adaptive_avg_pool3d(
        lib.ones(1, 2, 4, 4, 4), (2, 2)
    ),
    "max3d_pair": lambda lib: lib.nn.functional.adaptive_max_pool3d(
        lib.ones(1, 2, 4, 4, 4), (2, 2)
    ),
    "module_avg1d_pair": lambda lib: lib.nn.AdaptiveAvgPool1d((3, 1))(lib.ones(2, 3, 8)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_wrong_length_output_size_is_runtime_error_as_torch(case):
    with pytest.raises(RuntimeError):
        CASES[case](torch)
    with pytest.raises(RuntimeError, match="output_size"):
        CASES[case](cr)


def test_one_element_sequence_still_accepted():
    x = cr.arange(8.0).reshape(1, 1, 8)
    got = cr.nn.functional.adaptive_avg_pool1d(x, (4,))
    want = torch.nn.functional.adaptive_avg_pool1d(torch.arange(8.0).reshape(1, 1, 8), (4,))
    assert got.numpy().tolist() == want.numpy().tolist()
