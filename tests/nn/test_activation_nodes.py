"""Activations recorded as one node each, and second derivatives of masks, against torch.

``leaky_relu``, ``elu``/``selu``/``celu``, ``logsigmoid``, ``mish``, ``hardshrink``,
``softshrink`` and ``threshold`` are single ops (``ops/activation_primitives.py``): their
``grad_fn`` names, values, first and second derivatives (at the kinks too) and tangents are
PyTorch's. Under ``create_graph`` a mask rule's gradient stays tied to what the op saved
(``autograd/zero_link.py``), so differentiating a ReLU network's input gradient again gives
zeros as in PyTorch, not "not used in the graph".
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfwd

import chainrule as cr
import chainrule.autograd.forward_ad as cfwd

POINTS = np.array([-3.0, -1.5, -0.5, -0.2, 0.0, 0.3, 0.5, 0.7, 2.0, 25.0, -40.0])

ACTIVATIONS = {
    "leaky_relu": lambda m, x: m.nn.functional.leaky_relu(x, 0.1),
    "leaky_relu_default": lambda m, x: m.nn.functional.leaky_relu(x),
    "elu": lambda m, x: m.nn.functional.elu(x, 1.3),
    "selu": lambda m, x: m.nn.functional.selu(x),
    "celu": lambda m, x: m.nn.functional.celu(x, 0.7),
    "logsigmoid": lambda m, x: m.nn.functional.logsigmoid(x),
    "mish": lambda m, x: m.nn.functional.mish(x),
    "hardshrink": lambda m, x: m.nn.functional.hardshrink(x),
    "softshrink": lambda m, x: m.nn.functional.softshrink(x, 0.5),
    "threshold": lambda m, x: m.nn.functional.threshold(x, 0.3, 20.0),
    "relu": lambda m, x: m.relu(x),
    "relu6": lambda m, x: m.nn.functional.relu6(x),
    "hardtanh": lambda m, x: m.nn.functional.hardtanh(x, -0.5, 0.5),
    "clamp": lambda m, x: m.clamp(x, -0.5, 0.7),
}


# PyTorch's celu passes input_scale = 1 / alpha to its kernel as a float32 number: its
# derivatives are off by ~1e-6 relative (chainrule's are exact in float64).
RTOL = {"celu": 2e-6}


def _pair(a=POINTS):
    return cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_values_names_and_two_derivatives_match_torch(name):
    f = ACTIVATIONS[name]
    cx, tx = _pair()
    cy, ty = f(cr, cx), f(torch, tx)
    rtol = RTOL.get(name, 1e-14)
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=0)
    assert cy.grad_fn.name() == type(ty.grad_fn).__name__
    (cg,) = cr.autograd.grad(cy.sum(), cx, create_graph=True)
    (tg,) = torch.autograd.grad(ty.sum(), tx, create_graph=True)
    np.testing.assert_allclose(cg.detach().numpy(), tg.detach().numpy(), rtol=rtol, atol=1e-16)
    assert cg.requires_grad == tg.requires_grad
    if not tg.requires_grad:  # torch's rule records nothing here (clamp): neither does ours
        return
    (cgg,) = cr.autograd.grad((cg * cg).sum(), cx)
    (tgg,) = torch.autograd.grad((tg * tg).sum(), tx)
    np.testing.assert_allclose(cgg.numpy(), tgg.numpy(), rtol=max(rtol, 1e-13), atol=1e-16)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_tangent_matches_torch(name):
    f = ACTIVATIONS[name]
    t = np.linspace(-1.0, 1.0, POINTS.size)
    with cfwd.dual_level():
        out = f(cr, cfwd.make_dual(cr.tensor(POINTS), cr.tensor(t)))
        ct = cfwd.unpack_dual(out).tangent
    with tfwd.dual_level():
        out = f(torch, tfwd.make_dual(torch.tensor(POINTS), torch.tensor(t)))
        tt = tfwd.unpack_dual(out).tangent
    np.testing.assert_allclose(ct.numpy(), tt.numpy(), rtol=RTOL.get(name, 1e-14), atol=1e-16)


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "selu", "celu", "mish", "threshold"])
def test_inplace_forms_match_torch(name):
    inplace = {
        "leaky_relu": lambda m, x: m.nn.functional.leaky_relu(x, 0.2, inplace=True),
        "elu": lambda m, x: m.nn.functional.elu(x, 0.9, inplace=True),
        "selu": lambda m, x: m.nn.functional.selu(x, inplace=True),
        "celu": lambda m, x: m.nn.functional.celu(x, 1.7, inplace=True),
        "mish": lambda m, x: m.nn.functional.mish(x, inplace=True),
        "threshold": lambda m, x: m.nn.functional.threshold(x, 0.1, -2.0, inplace=True),
    }[name]
    cx, tx = _pair()
    cy, ty = inplace(cr, cx * 1.0), inplace(torch, tx * 1.0)
    rtol = RTOL.get(name, 1e-14)
    np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=rtol)
    (cy * cy).sum().backward()
    (ty * ty).sum().backward()
    # PyTorch's in-place elu derives from its result (y + alpha: 0 at x = -40 by cancellation;
    # chainrule's from the input, alpha * exp(x) ~ 4e-18): absolute agreement down there
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=1e-16)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logsigmoid_and_mish_stay_finite_at_extremes(dtype):
    a = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], dtype=dtype)
    for f in (ACTIVATIONS["logsigmoid"], ACTIVATIONS["mish"]):
        cx, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        cy, ty = f(cr, cx), f(torch, tx)
        tiny = float(np.finfo(dtype).tiny)  # subnormal results may differ in their last bits
        np.testing.assert_allclose(cy.detach().numpy(), ty.detach().numpy(), rtol=1e-6, atol=tiny)
        cy.sum().backward()
        ty.sum().backward()
        assert np.isfinite(cx.grad.numpy()).all()
        np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("act", ["ReLU", "LeakyReLU", "ReLU6", "Hardtanh", "Hardshrink"])
def test_input_hessian_of_piecewise_linear_network_is_zeros(act):
    """Double backprop through a ReLU-style MLP w.r.t. its input: zeros, as torch."""
    rng = np.random.RandomState(0)
    w1, b1, w2 = rng.randn(5, 3), rng.randn(5), rng.randn(1, 5)
    x = rng.rand(4, 3)
    results = []
    for m in (cr, torch):
        net = m.nn.Sequential(m.nn.Linear(3, 5), getattr(m.nn, act)(), m.nn.Linear(5, 1)).double()
        with m.no_grad():
            net[0].weight.copy_(m.tensor(w1))
            net[0].bias.copy_(m.tensor(b1))
            net[2].weight.copy_(m.tensor(w2))
        xt = m.tensor(x, requires_grad=True)
        (g,) = m.autograd.grad(net(xt).sum(), xt, create_graph=True)
        (gg,) = m.autograd.grad((g**2).sum(), xt)  # no allow_unused: it is used
        results.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-13)
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_tie_keeps_gradients_of_the_value_itself():
    """The tied gradient still carries the upstream gradient's own dependence (hardswish's
    second derivative goes through hardsigmoid's clamp and the product)."""
    second = []
    for m, x in zip((cr, torch), _pair()):
        (g,) = m.autograd.grad(m.nn.functional.hardswish(x).sum(), x, create_graph=True)
        second.append(m.autograd.grad(g.sum(), x)[0].numpy())
    np.testing.assert_allclose(second[0], second[1], rtol=1e-14)


def test_tie_only_under_create_graph():
    cx = cr.tensor(POINTS, requires_grad=True)
    (g,) = cr.autograd.grad(cr.nn.functional.leaky_relu(cx).sum(), cx)
    assert not g.requires_grad and g.grad_fn is None


@pytest.mark.parametrize("channels", [1, 3])
def test_prelu_is_one_node_with_torchs_derivatives(channels):
    """prelu is ``PreluKernelBackward0`` (was a where over a product); its input Hessian is
    zeros, and the cross terms with the weight, the weight's gradient and the tangent are
    torch's (away from the kink at 0)."""
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((2, 3, 4))
    x[np.abs(x) < 0.05] = 0.3
    w = rng.uniform(0.05, 0.5, channels)
    results = []
    for m in (torch, cr):
        xt = m.tensor(x, requires_grad=True)
        wt = m.tensor(w, requires_grad=True)
        y = m.nn.functional.prelu(xt, wt)
        assert (y.grad_fn.name() if m is cr else type(y.grad_fn).__name__) == (
            "PreluKernelBackward0"
        )
        gx, gw = m.autograd.grad((y**2).sum(), [xt, wt], create_graph=True)
        hx, hw = m.autograd.grad(gx.sum() + gw.sum(), [xt, wt])
        g1 = m.autograd.grad(m.nn.functional.prelu(xt, wt).sum(), xt, create_graph=True)[0]
        zx, zw = m.autograd.grad(g1.sum(), [xt, wt])
        results.append([a.detach().numpy() for a in (y, gx, gw, hx, hw, zx, zw)])
    for c, t in zip(results[1], results[0]):
        np.testing.assert_allclose(c, t, rtol=1e-12, atol=1e-12)
    assert not results[1][5].any()  # d²y/dx² = 0: zeros, not "not used in the graph"
    tangents = []
    for m, fwd in ((torch, tfwd), (cr, cfwd)):
        with fwd.dual_level():
            xd = fwd.make_dual(m.tensor(x), m.tensor(np.ones_like(x)))
            wd = fwd.make_dual(m.tensor(w), m.tensor(np.full_like(w, 2.0)))
            tangents.append(fwd.unpack_dual(m.nn.functional.prelu(xd, wd)).tangent.numpy())
    np.testing.assert_allclose(tangents[1], tangents[0], rtol=1e-12)
