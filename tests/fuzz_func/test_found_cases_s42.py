"""Session 42 of the ``torch.func`` fuzzer (seeds 3632-; the body steps of
:mod:`.bodies_s42` are new): one program per new step under ``vjp`` of ``jvp`` of ``vmap``
(float64 and float32, steered as :func:`.bodies.steer` steers drawn bodies), and under
``hessian`` and two nested ``vmap`` layers, on a square running value (the square-only
steps); ``linalg.det`` under vjp of jvp, where torch 2.13 is wrong and chainrule gives the
finite differences' value."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from .bodies import steer
from .bodies_s42 import S42_STEPS
from .programs import Program, check, observe

__all__: list[str] = []

_LAYERS = (("vjp", False), ("jvp", False), ("vmap", (None, 0), 0, None, "error", 2))


@pytest.mark.parametrize("name", S42_STEPS)
@pytest.mark.parametrize("a", [0, 1, 2, 3])
def test_s42_step_under_vjp_jvp_vmap(name, a):
    body = steer((("sin", 0), (name, a)), _LAYERS)
    for dtype in ("float64", "float32"):
        prog = Program(
            s=(2, 2), body=body, layers=_LAYERS, dtype=dtype, out="tensor", aux=False, seed=5 + a
        )
        assert check(prog) == []


@pytest.mark.parametrize("name", S42_STEPS)
def test_s42_step_under_hessian_and_nested_vmap(name):
    hess = Program(
        s=(2, 2), body=(("tanh", 0), (name, 1)), layers=(("hessian", 0),), dtype="float64",
        out="tensor", aux=False, seed=2,
    )  # fmt: skip
    assert check(hess) == []
    nested = (("vmap", (None, 0), 0, None, "error", 2), ("vmap", (-1, None), 0, None, "error", 1))
    prog = Program(
        s=(2, 2), body=((name, 3),), layers=nested, dtype="float64", out="tensor", aux=False,
        seed=0,
    )  # fmt: skip
    assert check(prog) == []


def test_vjp_of_jvp_of_det_is_the_finite_differences():
    # found (seed 3632 smoke): torch 2.13's vjp(jvp(det)) is neither its own double backward
    # nor finite differences (-0.064 for -0.081 at the first entry); chainrule's agrees with
    # both (steered around: bodies.steer swaps det_sq for its formula under such layers)
    x0 = np.random.default_rng(0).standard_normal((2, 2))
    t0 = np.random.default_rng(1).standard_normal((2, 2))

    def det(m):
        return np.linalg.det(np.eye(2) * 2 + m * 0.25)

    def directional(m, e=1e-5):
        return (det(m + e * t0) - det(m - e * t0)) / (2 * e)

    numeric = np.zeros_like(x0)
    for idx in np.ndindex(x0.shape):
        d = np.zeros_like(x0)
        d[idx] = 1e-4
        numeric[idx] = (directional(x0 + d) - directional(x0 - d)) / 2e-4

    def f(h):
        return cr.linalg.det(cr.eye(2, dtype=h.dtype) * 2.0 + h * 0.25)

    def g(h):
        return cr.func.jvp(f, (h,), (cr.tensor(t0),))[1]

    out, pull = cr.func.vjp(g, cr.tensor(x0))
    np.testing.assert_allclose(pull(cr.ones_like(out))[0].numpy(), numeric, atol=1e-6)
    x = torch.tensor(x0, requires_grad=True)
    (gd,) = torch.autograd.grad(torch.linalg.det(torch.eye(2) * 2 + x * 0.25), x, create_graph=True)
    (hv,) = torch.autograd.grad((gd * torch.tensor(t0)).sum(), x)
    np.testing.assert_allclose(hv.numpy(), numeric, atol=1e-6)  # torch's double backward


def test_pdist_keep_is_steered_to_its_formula_at_order_four():
    # found (seed 3632): torch 2.13's grad of jacfwd of hessian of pairwise_distance fails
    # inside torch (an in-place RuntimeError, "output 0 of MaskedFill"); chainrule runs it.
    # Steered: pdist_keep by its formula there, which agrees with pdist_keep where torch runs
    layers = (("grad", 0, False), ("jacfwd", 0, False), ("hessian", 0))
    body = steer((("pdist_keep", 1),), layers)
    assert body == (("pdist_keep_c", 1),)
    prog = Program(s=(2,), body=body, layers=layers, dtype="float64", out="tensor", aux=False)
    assert check(prog) == []
    for a in range(4):
        plain = observe(Program((2, 3), (("pdist_keep", a),), (("grad", 0, False),)), cr)
        formula = observe(Program((2, 3), (("pdist_keep_c", a),), (("grad", 0, False),)), cr)
        for x, y in zip(plain[1], formula[1]):
            np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-12)
