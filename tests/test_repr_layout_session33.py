"""``repr`` of tensors laid out as torch 2.13 lays them out, compared live.

chainrule formatted elements as torch but let NumPy break the lines: NumPy keeps room for an
n-d array's closing brackets and counts a summarised row's ``...`` by its three characters,
and the suffixes (``dtype=``, ``requires_grad=``) never wrapped, so 825 of 3,296 random
tensors printed differently (a (3, 20) float tensor 7 elements a line instead of 8; a
(40, 40) one with 5 instead of 4). Now every row holds ``(linewidth - indent) // (width + 2)``
elements and a suffix that passes the line width starts a new line, as in torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

SHAPES = [(), (0, 3), (5,), (20,), (3, 20), (2, 3, 15), (2, 2, 2, 20), (40, 40), (2000,), (9, 10)]
DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "uint8", "bool", "complex64"]
OPTIONS = [
    {},
    {"precision": 2},
    {"linewidth": 120},
    {"edgeitems": 2, "threshold": 50},
    {"sci_mode": True},
    {"sci_mode": False},
]


@pytest.fixture
def options(request):
    opts = request.param
    for lib in (torch, cr):
        lib.set_printoptions(profile="default")
        lib.set_printoptions(**opts)
    yield opts
    for lib in (torch, cr):
        lib.set_printoptions(profile="default")


def _values(shape, dtype, scale, rng):
    a = rng.standard_normal(shape) * scale
    if dtype == "int64":
        return (a * 10).astype(np.int64)
    if dtype == "uint8":
        return np.abs(a * 10).astype(np.uint8)
    if dtype == "bool":
        return a > 0
    if dtype == "complex64":
        return a + 1j * np.flip(a)
    if a.size and scale == 1:
        a.flat[0], a.flat[-1] = np.inf, np.nan  # non-finite values are not sized from
    return a


@pytest.mark.parametrize("options", OPTIONS, indirect=True, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_repr_matches_torch(options, dtype):
    rng = np.random.default_rng(len(dtype))
    mismatches = []
    for shape in SHAPES:
        for scale in (1, 1e5, 1e-5, 3):
            a = _values(shape, dtype, scale, rng)
            t = torch.tensor(a, dtype=getattr(torch, dtype))
            c = cr.tensor(a, dtype=getattr(cr, dtype))
            grads = [False, True] if dtype in ("float32", "float64") else [False]
            for requires_grad in grads:
                if requires_grad:
                    t, c = t.clone().requires_grad_(), c.clone().requires_grad_()
                if repr(c) != repr(t):
                    mismatches.append((shape, scale, requires_grad, repr(t), repr(c)))
    assert not mismatches, mismatches[0]
