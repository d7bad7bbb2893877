"""The lectures' worked autodiff examples, with their numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr


def _vars(*vals):
    return [cr.tensor(float(v), dtype=cr.float64, requires_grad=True) for v in vals]


def test_sum_times_minus():
    x1, x2, x3, x4 = _vars(5, 4, 3, 2)
    f = (x1 + x2) * x3 - x4
    assert f.item() == 25.0
    f.backward()
    assert [x.grad.item() for x in (x1, x2, x3, x4)] == [3.0, 3.0, 9.0, -1.0]


def test_add_mul_circuit():
    x, y, z = _vars(-2, 5, -4)
    f = (x + y) * z
    assert f.item() == -12.0
    f.backward()
    assert [t.grad.item() for t in (x, y, z)] == [-4.0, -4.0, 3.0]


def test_exp_of_affine():
    w, x, b = _vars(2, 3, -4)
    y = (w * x + b).exp()
    y.backward()
    e2 = math.exp(2)
    assert y.item() == pytest.approx(e2)
    assert w.grad.item() == pytest.approx(3 * e2) and round(w.grad.item(), 2) == 22.17
    assert x.grad.item() == pytest.approx(2 * e2) and round(x.grad.item(), 2) == 14.78
    assert b.grad.item() == pytest.approx(e2) and round(b.grad.item(), 2) == 7.39


def test_gradients_summed_over_two_paths():
    x1, x2 = _vars(2, 5)
    f = x1 * x2 + x2.sin()
    f.backward()
    assert x1.grad.item() == pytest.approx(5.0)
    assert x2.grad.item() == pytest.approx(2.0 + math.cos(5.0))  # x1 + cos x2: two paths


def test_squared_norm_of_matrix_vector_product():
    rng = np.random.default_rng(0)
    Wn, xn = rng.standard_normal((3, 4)), rng.standard_normal(4)
    W = cr.tensor(Wn, requires_grad=True)
    x = cr.tensor(xn, requires_grad=True)
    f = ((W @ x) ** 2).sum()
    f.backward()
    np.testing.assert_allclose(W.grad.numpy(), 2 * np.outer(Wn @ xn, xn), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 2 * Wn.T @ Wn @ xn, rtol=1e-12)


def test_norm_gradient():
    x = cr.tensor(np.array([1.0, 2.0, 2.0]), requires_grad=True)
    n = x.norm()
    assert n.item() == pytest.approx(3.0)
    n.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1 / 3, 2 / 3, 2 / 3], rtol=1e-12)


def test_logistic_regression_loss_gradient():
    xn = np.array([0.5, -1.0, 2.0])
    wn = np.array([0.3, 0.1, -0.2])
    w = cr.tensor(wn, requires_grad=True)
    loss = -(w @ cr.tensor(xn)).sigmoid().log()
    loss.backward()
    s = 1 / (1 + np.exp(-wn @ xn))
    np.testing.assert_allclose(w.grad.numpy(), -(1 - s) * xn, rtol=1e-12)


def test_second_order_through_create_graph():
    x = cr.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    phi = (x**2).sum()
    (g,) = cr.autograd.grad(phi, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [2.0, 4.0, 6.0])
    psi = g[0].exp() - g[2].exp()
    psi.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 * math.exp(2), 0.0, -2 * math.exp(6)], rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), [14.7781, 0.0, -806.8576], atol=1e-4)
