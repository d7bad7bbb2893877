"""Products of operands of different dtypes: PyTorch promotes nothing there and refuses
(RuntimeError); chainrule refuses too instead of promoting silently."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr

CALLS = {
    "matmul": lambda L, a, b: a @ b,
    "mm": lambda L, a, b: L.mm(a, b),
    "bmm": lambda L, a, b: L.bmm(a[None], b[None]),
    "dot": lambda L, a, b: L.dot(a[0], b[0]),
    "mv": lambda L, a, b: L.mv(a, b[0]),
    "tensordot": lambda L, a, b: L.tensordot(a, b, 1),
    "einsum": lambda L, a, b: L.einsum("ij,jk->ik", a, b),
}


@pytest.mark.parametrize("other", ["float64", "int64", "complex64"])
@pytest.mark.parametrize("op", list(CALLS))
def test_mixed_dtype_products_refuse_as_torch(op, other):
    for lib in (torch, cr):
        a, b = lib.ones(2, 2), lib.ones(2, 2, dtype=getattr(lib, other))
        with pytest.raises(RuntimeError):
            CALLS[op](lib, a, b)
        assert CALLS[op](lib, a, lib.ones(2, 2)).dtype == lib.float32
