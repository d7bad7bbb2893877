"""Small PyTorch behaviours found in session 22, each against torch.

- ``flatten`` with nothing to merge (``start_dim == end_dim``, or a 1-d tensor) returns the
  tensor itself, not a view.
- Tensors take user attributes (``t.name = ...``), kept by ``copy``/``deepcopy``/pickle.
"""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize(
    ("shape", "start", "end"), [((3, 4), 1, 1), ((3, 4), 0, 0), ((5,), 0, -1), ((2, 3, 4), -1, -1)]
)
def test_flatten_without_merge_returns_self(shape, start, end):
    for m in (cr, torch):
        x = m.ones(*shape, requires_grad=True)
        assert x.flatten(start, end) is x
    y = cr.ones(3, 4, requires_grad=True).flatten(0, 1)
    assert y.shape == (12,) and y.grad_fn.name() == "ViewBackward0"


def test_flatten_of_a_scalar_is_a_new_1d_tensor():
    for m in (cr, torch):
        x = m.tensor(2.0)
        y = x.flatten()
        assert y is not x and tuple(y.shape) == (1,)


def test_tensors_take_user_attributes():
    for m in (cr, torch):
        x = m.ones(2, requires_grad=True)
        x.tag = "input"
        x._no_weight_decay = True
        assert x.__dict__ == {"tag": "input", "_no_weight_decay": True}
        for y in (copy.copy(x), copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
            assert y.tag == "input" and y._no_weight_decay is True
        assert not hasattr(x.detach(), "tag") and not hasattr(x * 2, "tag")
        with pytest.raises(AttributeError):
            _ = x.missing_attribute
