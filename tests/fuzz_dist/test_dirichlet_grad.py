"""The Beta/Dirichlet reparameterised gradient (``torch._dirichlet_grad``) for extreme
concentrations, found by the Dirichlet fuzz case of ``test_found_cases.py``: a concentration
of 1e6 next to small ones made chainrule's power series run into its iteration cap (~7 s, and
values off by 2x); the continued fraction and the Edgeworth branch of ops/random_gamma.py
against mpmath, against each other, and against PyTorch where its approximation holds."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import scipy.stats as st
import torch

import chainrule as cr
from chainrule.ops.random_gamma import _beta_edgeworth, _beta_exact, dirichlet_grad_kernel


def _exact(x: float, a: float, b: float) -> float:
    """``-(dI_x(a, b)/da) / (pdf (1 - x))`` by mpmath (40 digits)."""
    with mpmath.workdps(40):
        x, a, b = (mpmath.mpf(float(v)) for v in (x, a, b))
        if x <= a / (a + b):
            d = mpmath.diff(lambda s: mpmath.betainc(s, b, 0, x, regularized=True), a)
        else:  # I_x(a, b) = 1 - I_(1-x)(b, a): mpmath's series fails near 1 for a huge a
            d = -mpmath.diff(lambda s: mpmath.betainc(b, s, 0, 1 - x, regularized=True), a)
        log_pdf = (
            (a - 1) * mpmath.log(x) + (b - 1) * mpmath.log1p(-x) - mpmath.log(mpmath.beta(a, b))
        )
        return float(-d / mpmath.exp(log_pdf) / (1 - x))


# (x, alpha, total - alpha): the fuzz case's slow elements (x near 1 with alpha = 1e6 below
# the mean; a small alpha next to 1e6 above it) and the extremes of 1e-3 .. 1e6
EXTREME = [
    (0.9999831914901733, 1e6, 15.5625),
    (6.317384759313427e-06, 4.580978870391846, 1000010.9815211296),
    (5.120014533898304e-06, 1e-3, 1e6),
    (1.0876273252479495e-06, 0.05, 1e6),
    (0.9999999999757405, 1e6, 1e-3),
    (0.00038950818507176103, 300.0, 1e6),
    (0.9992414284099744, 300.0, 0.5),
    (0.0169499, 1e-3, 300.0),
]


@pytest.mark.parametrize("x,a,b", EXTREME)
def test_dirichlet_grad_extremes_match_mpmath(x, a, b):
    got = dirichlet_grad_kernel(np.array([x]), np.array([a]), np.array([a + b]))[0]
    assert got == pytest.approx(_exact(x, a, b), rel=1e-9)


def test_dirichlet_grad_grid_matches_mpmath_and_torch_where_torch_is_accurate():
    xs, aa, bb = [], [], []
    for a in (1e-3, 0.5, 10.0, 1e4, 1e6):
        for b in (0.05, 2.0, 300.0, 1e6):
            for level in (1e-4, 0.3, 0.5, 0.9):
                if min(a, b) >= 1e4:  # beyond mpmath's betainc (the Edgeworth test's range)
                    continue
                x = float(st.beta.ppf(level, a, b))
                if 0 < x < 1:
                    xs.append(x), aa.append(a), bb.append(b)
    x, a, b = np.array(xs), np.array(aa), np.array(bb)
    ours = dirichlet_grad_kernel(x, a, a + b)
    exact = np.array([_exact(*v) for v in zip(xs, aa, bb)])
    np.testing.assert_allclose(ours, exact, rtol=1e-9)
    ref = torch._dirichlet_grad(torch.tensor(x), torch.tensor(a), torch.tensor(a + b)).numpy()
    # torch's approximation is off (even in sign) for a tiny alpha next to a huge rest
    close = np.abs(ref - exact) <= 2e-3 * np.abs(exact)
    assert close.mean() > 0.8
    np.testing.assert_allclose(ours[close], ref[close], rtol=2e-3)


def test_dirichlet_grad_edgeworth_branch_matches_the_fraction():
    xs, aa, bb = [], [], []
    for a in (2e6, 1e8):
        for b in (2e6, 1e7, 1e9):
            n = a + b
            sd = np.sqrt(a * b / (n + 1)) / n
            for z in (-7.9, -3.0, -0.5, 0.0, 1.0, 4.0, 7.9):
                xs.append(a / n + z * sd), aa.append(a), bb.append(b)
    x, a, b = np.array(xs), np.array(aa), np.array(bb)
    fraction = _beta_exact(x, a, b)
    np.testing.assert_allclose(_beta_edgeworth(x, a, b), fraction, rtol=5e-8)
    # the kernel takes the Edgeworth branch there (and so matches it exactly)
    np.testing.assert_array_equal(dirichlet_grad_kernel(x, a, a + b), _beta_edgeworth(x, a, b))
    ref = torch._dirichlet_grad(torch.tensor(x), torch.tensor(a), torch.tensor(a + b)).numpy()
    np.testing.assert_allclose(fraction, ref, rtol=1e-2)


def test_dirichlet_rsample_with_a_huge_concentration():
    """(Timed by hand, not here: ~7 s before the continued fraction, ~0.05 s in the kernel
    after; tests assert values only.)"""
    alpha = np.array([[4.58, 1.86, 1e6, 3.18, 5.96]] * 3, dtype=np.float32)
    torch.manual_seed(0)
    ta = torch.tensor(alpha, requires_grad=True)
    tx = torch.distributions.Dirichlet(ta).rsample()
    (tx * torch.arange(5.0)).sum().backward()
    ca = cr.tensor(alpha, requires_grad=True)
    cx = cr.distributions.Dirichlet(ca).rsample()
    (cx * cr.arange(5.0)).sum().backward()
    g = ca.grad.numpy()
    assert np.isfinite(g).all() and g.shape == alpha.shape
    # the same draw through torch's kernel agrees where its approximation holds
    x = cx.detach().numpy().astype(np.float64)
    total = np.broadcast_to(alpha.sum(-1, keepdims=True), alpha.shape).astype(np.float64)
    ours = dirichlet_grad_kernel(x, alpha.astype(np.float64), total)
    exact = np.array([_exact(*v) for v in zip(x.ravel(), alpha.ravel(), (total - alpha).ravel())])
    np.testing.assert_allclose(ours.ravel(), exact, rtol=1e-8)
