"""A dtype mismatch between input and weight is a RuntimeError, as PyTorch raises it (chainrule's
DtypeError is also a TypeError)."""

from __future__ import annotations

import pytest

import chainrule as cr


def test_dtype_mismatch_in_linear_and_conv_is_a_runtime_error_as_in_torch() -> None:
    with pytest.raises(RuntimeError, match="dtype"):
        cr.nn.functional.linear(cr.ones(2, 3), cr.ones(4, 3, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="dtype"):
        cr.nn.functional.conv2d(cr.ones(1, 1, 3, 3), cr.ones(1, 1, 2, 2, dtype=cr.float64))
