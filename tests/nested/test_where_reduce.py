"""``where`` and the reductions of all elements (``max``, ``min``, ``amax``, ``amin``) on
jagged nested tensors, compared with torch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from ._helpers import arrays, assert_same, pair, raises_like


def _pair(requires_grad: bool = False) -> tuple:
    return pair(arrays(np.random.default_rng(11), (4,)), "jagged", requires_grad)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, n: lib.where(n > 0, n, n * 2),
        lambda lib, n: lib.where(n > 0, 1.0, n),
        lambda lib, n: lib.where(n > 0, n, lib.zeros(4, dtype=lib.float64)),
    ],
)
def test_where_on_jagged_tensors_as_torch(make):
    c, t = _pair()
    assert_same(make(cr, c), make(torch, t))


def test_where_backward_as_torch():
    c, t = _pair(True)
    cr.where(c > 0, c, c * 3).values().sum().backward()
    torch.where(t > 0, t, t * 3).values().sum().backward()
    assert_same(c.grad, t.grad)


def test_where_with_a_dense_condition_is_torchs_error():
    c, t = _pair()
    c_msg, t_msg = raises_like(
        lambda: cr.where(cr.ones(4, dtype=cr.bool), c, 0.0),
        lambda: torch.where(torch.ones(4, dtype=torch.bool), t, 0.0),
    )
    assert c_msg == t_msg


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_reductions_of_all_elements_as_torch(name):
    c, t = _pair()
    assert_same(getattr(c, name)(), getattr(t, name)())


def test_reduction_over_several_dims_is_not_provided():
    c, _ = _pair()
    with pytest.raises(NotImplementedError, match="several dims"):
        c.amax((1, 2))


def test_where_as_a_method_and_with_keywords():
    c, t = _pair()
    assert_same(c.where(c > 0, 0.5), t.where(t > 0, 0.5))
    assert_same(cr.where(c > 0, other=c * 10, input=c), torch.where(t > 0, t, t * 10))
