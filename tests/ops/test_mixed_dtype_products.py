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


@pytest.mark.parametrize("other", ["float64", "int64", "complex64", "float16"])
@pytest.mark.parametrize("op", list(CALLS))
def test_mixed_dtype_products_refuse_as_torch(op, other):
    for lib in (torch, cr):
        a, b = lib.ones(2, 2), lib.ones(2, 2, dtype=getattr(lib, other))
        with pytest.raises(RuntimeError):
            CALLS[op](lib, a, b)
        assert CALLS[op](lib, a, lib.ones(2, 2)).dtype == lib.float32


def test_tensordot_mixed_half_refuses_inside_autocast_as_torch():
    # tensordot is on none of autocast's lists: its operands are not cast first, so a
    # float16 and a float32 operand refuse even though the inner product would cast both
    for lib in (torch, cr):
        with lib.autocast("cpu", dtype=lib.float16):
            with pytest.raises(RuntimeError, match="same dtype"):
                lib.tensordot(lib.ones(2, 2).half(), lib.ones(2, 2), 1)
            assert lib.tensordot(lib.ones(2, 2), lib.ones(2, 2), 1).dtype == lib.float16
