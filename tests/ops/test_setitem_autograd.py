"""``y[idx] = v`` on tensors in a graph is recorded (PyTorch's CopySlices): gradients to the
tensor and the value against torch, double backward, forward mode, and the in-place rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

# PyTorch's message for an in-place op on a leaf that requires grad, word for word
LEAF_MESSAGE = r"^a leaf Variable that requires grad is being used in an in-place operation\.$"

INDICES = [
    (0, ()),
    (slice(1, 3), (2, 4)),
    ((Ellipsis, 1), (3,)),
    ((slice(None), [0, 3]), (3, 2)),
    (np.array([True, False, True]), (2, 4)),
    ((1, slice(None, None, 2)), (2,)),
    (slice(None), (4,)),  # broadcast over the rows
]


@pytest.mark.parametrize("idx,vshape", INDICES)
def test_gradients_match_torch(idx, vshape):
    rng = np.random.default_rng(0)
    x0, v0 = rng.standard_normal((3, 4)), rng.standard_normal(vshape)
    w = rng.standard_normal((3, 4))
    x, v = cr.tensor(x0, requires_grad=True), cr.tensor(v0, requires_grad=True)
    tx, tv = torch.tensor(x0, requires_grad=True), torch.tensor(v0, requires_grad=True)
    tidx = torch.tensor(idx) if isinstance(idx, np.ndarray) else idx
    y = x * 2
    y[idx] = v * 3
    ty = tx * 2
    ty[tidx] = tv * 3
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    (y.sin() * cr.tensor(w)).sum().backward()
    (ty.sin() * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=1e-12, atol=1e-14)


def _assign(x, v):
    y = x * 2.0  # saves nothing that the assignment modifies
    y[1:, ::2] = v.exp()
    return y


def test_gradcheck_gradgradcheck_and_forward_mode():
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    v = cr.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    assert cr.autograd.gradcheck(_assign, [x, v])
    assert cr.autograd.gradgradcheck(_assign, [x, v])
    assert cr.autograd.check_vjp_jvp(_assign, [x.detach(), v.detach()])


def test_value_requiring_grad_makes_the_target_require_grad():
    v = cr.tensor(2.0, requires_grad=True)
    y = cr.zeros(3)
    y[1] = v
    assert y.requires_grad and not y.is_leaf
    (y * cr.tensor([1.0, 5.0, 1.0])).sum().backward()
    assert v.grad.item() == 5.0


def test_in_place_rules():
    leaf = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="^a view of " + LEAF_MESSAGE[1:]):
        leaf[0] = 3.0  # written through leaf[0], a view, as torch (session 40)
    y = cr.ones(3, requires_grad=True) * 1
    z = y.sin()  # saves y
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    with cr.no_grad():
        leaf[0] = 3.0  # allowed, not recorded
    assert leaf.detach().numpy()[0] == 3.0
