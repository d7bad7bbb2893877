"""A negative size for a new tensor is PyTorch's RuntimeError with its message (it was a
ValueError here, and ``Tensor.new_zeros(-1)`` NumPy's raw "negative dimensions are not
allowed"); the error is still a ValueError too, for code written against the old one."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr

CASES = {
    "zeros": lambda t: t.zeros(-1),
    "ones": lambda t: t.ones(2, -3),
    "empty": lambda t: t.empty(-1),
    "randn": lambda t: t.randn(-2),
    "rand": lambda t: t.rand(-2),
    "randperm": lambda t: t.randperm(-1),
    "randint": lambda t: t.randint(0, 5, (-1,)),
    "full": lambda t: t.full((-1,), 2.0),
    "new_zeros": lambda t: t.ones(2).new_zeros(-1),
    "new_ones": lambda t: t.ones(2).new_ones((3, -1)),
    "new_empty": lambda t: t.ones(2).new_empty(-4),
    "new_full": lambda t: t.ones(2).new_full((-1,), 1.0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_negative_size_is_runtime_error_as_torch(case):
    with pytest.raises(RuntimeError, match="negative") as want:
        CASES[case](torch)
    with pytest.raises(RuntimeError) as got:  # torch's first line (zeros has its own)
        CASES[case](cr)
    assert str(got.value).split("\n")[0] == str(want.value).split("\n")[0]
    with pytest.raises(ValueError):  # still a ValueError, as before
        CASES[case](cr)


def test_randperm_of_a_float_is_a_type_error_as_torch():
    with pytest.raises(TypeError):
        torch.randperm(2.5)
    with pytest.raises(TypeError, match="randperm"):
        cr.randperm(2.5)
