"""Ops PyTorch keeps in the graph although their derivative is zero or missing, against torch.

``sign``/``sgn`` and ``div(..., rounding_mode=...)`` are recorded with zero gradients, so a
loss built only from them still backpropagates (zeros) instead of raising "does not require
grad". ``floor_divide``, ``heaviside``, ``histogram``, weighted ``bincount`` and ``unique`` are
recorded under a node whose backward raises PyTorch's error, so differentiating through one
stops instead of quietly treating it as a constant. Boolean tensors print as PyTorch's
(padded to ``False``'s width only when a ``False`` is shown).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfwd

import chainrule as cr
import chainrule.autograd.forward_ad as cfwd

X = np.array([1.5, -2.25, 0.0, 0.7, -0.3])
O = np.array([0.4, 0.5, 0.6, -0.7, 0.8])


def _pair(a, requires_grad=True):
    return (
        cr.tensor(a, requires_grad=requires_grad),
        torch.tensor(a, requires_grad=requires_grad),
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda m, x, o: x.sign(),
        lambda m, x, o: m.sgn(x),
        lambda m, x, o: m.div(x, o, rounding_mode="floor"),
        lambda m, x, o: m.div(x, o, rounding_mode="trunc"),
        lambda m, x, o: m.div(x, 0.3, rounding_mode="floor"),
    ],
    ids=["sign", "sgn", "div_floor", "div_trunc", "div_floor_scalar"],
)
def test_zero_derivative_ops_are_recorded(make):
    (cx, tx), (co, to) = _pair(X), _pair(O)
    cy, ty = make(cr, cx, co), make(torch, tx, to)
    np.testing.assert_array_equal(cy.detach().numpy(), ty.detach().numpy())
    assert cy.requires_grad and ty.requires_grad
    assert cy.grad_fn.name() == type(ty.grad_fn).__name__
    (cy * cx).sum().backward()
    (ty * tx).sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy())
    if to.grad is not None:  # the divisor: a zero gradient, not None
        np.testing.assert_array_equal(co.grad.numpy(), to.grad.numpy())
    cy2 = make(cr, cx, co)
    cy2.sum().backward()  # only the zero-derivative op: zeros, not an error
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy())


def test_sign_forward_mode_tangent_is_zero():
    with cfwd.dual_level():
        d = cfwd.make_dual(cr.tensor(X), cr.ones(5, dtype=cr.float64))
        t = cfwd.unpack_dual(d.sign()).tangent
    with tfwd.dual_level():
        d = tfwd.make_dual(torch.tensor(X), torch.ones(5, dtype=torch.float64))
        tt = tfwd.unpack_dual(d.sign()).tangent
    np.testing.assert_array_equal(t.numpy(), tt.numpy())


def test_sign_of_integer_bool_and_nan_as_torch():
    for a in (np.array([3, -2, 0]), np.array([True, False]), np.array([np.nan, -0.0, 2.0])):
        np.testing.assert_array_equal(cr.tensor(a).sign().numpy(), torch.tensor(a).sign().numpy())
    x = cr.tensor(X, requires_grad=True).clone()
    x.sign_()
    assert x.requires_grad and x.grad_fn.name() == "SignBackward0"


RAISING = {
    "floor_divide": lambda m, x, o: m.floor_divide(x, o),
    "floordiv_operator": lambda m, x, o: x // 0.3,
    "heaviside": lambda m, x, o: m.heaviside(x, m.tensor(0.5, dtype=m.float64)),
    "heaviside_values": lambda m, x, o: m.heaviside(o.detach(), x),
    "histogram": lambda m, x, o: m.histogram(x, 3)[0],
    "bincount": lambda m, x, o: m.bincount(m.tensor([0, 1, 1, 3, 0]), weights=x),
    "unique": lambda m, x, o: m.unique(x),
}


@pytest.mark.parametrize("name", sorted(RAISING))
def test_missing_derivative_raises_as_torch(name):
    make = RAISING[name]
    (cx, tx), (co, to) = _pair(X), _pair(O)
    cy, ty = make(cr, cx, co), make(torch, tx, to)
    np.testing.assert_array_equal(cy.detach().numpy(), ty.detach().numpy())
    assert cy.requires_grad == ty.requires_grad is True
    assert cy.grad_fn.name() == ty.grad_fn.name()  # torch::autograd::NotImplemented
    assert type(cy.grad_fn).__name__ == type(ty.grad_fn).__name__  # NotImplemented
    with pytest.raises(Exception) as expected:
        ty.sum().backward()
    with pytest.raises(type(expected.value)) as got:
        cy.sum().backward()
    assert str(got.value) == str(expected.value)


def test_missing_derivative_forward_mode_raises_as_torch():
    with tfwd.dual_level():
        d = tfwd.make_dual(torch.tensor(X), torch.ones(5, dtype=torch.float64))
        with pytest.raises(NotImplementedError) as expected:
            torch.floor_divide(d, 0.3)
    with cfwd.dual_level():
        d = cfwd.make_dual(cr.tensor(X), cr.ones(5, dtype=cr.float64))
        with pytest.raises(NotImplementedError) as got:
            cr.floor_divide(d, 0.3)
    assert str(got.value) == str(expected.value)


def test_constants_stay_constants():
    """Without an input requiring grad, under no_grad, or for integer results: no node."""
    cx = cr.tensor(X)
    assert cr.floor_divide(cx, 0.3).grad_fn is None
    with cr.no_grad():
        assert cr.floor_divide(cr.tensor(X, requires_grad=True), 0.3).grad_fn is None
        assert cr.tensor(X, requires_grad=True).sign().grad_fn is None
    xi = cr.tensor([5, 7])
    assert not cr.floor_divide(xi, 2).requires_grad
    assert not cr.bincount(cr.tensor([0, 1])).requires_grad


def test_remainder_still_differentiable():
    """``remainder`` is composed from the rounded quotient: its gradient stays PyTorch's."""
    (cx, tx), (co, to) = _pair(X), _pair(O)
    cr.remainder(cx, co).sum().backward()
    torch.remainder(tx, to).sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(co.grad.numpy(), to.grad.numpy())


@pytest.mark.parametrize(
    "a",
    [[True], [True, False], [[True], [True]], [False], True, [[True, True], [False, True]]],
    ids=str,
)
def test_bool_tensors_print_as_torch(a):
    assert repr(cr.tensor(a)) == repr(torch.tensor(a))
    assert str(cr.tensor(a)) == str(torch.tensor(a))
