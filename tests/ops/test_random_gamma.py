"""Reparameterised Gamma / Dirichlet draws (ops/random_gamma.py) against PyTorch's
``_standard_gamma_grad`` / ``_dirichlet_grad`` and against mpmath's exact derivatives."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import scipy.stats as st
import torch

import chainrule as cr
from chainrule.ops.random_gamma import (
    dirichlet_grad,
    dirichlet_grad_kernel,
    sample_dirichlet,
    standard_gamma,
    standard_gamma_grad,
    standard_gamma_grad_kernel,
)

ALPHAS = [1e-3, 0.05, 0.3, 1.0, 2.5, 7.0, 9.0, 30.0, 200.0, 5000.0]
LEVELS = [1e-4, 0.01, 0.2, 0.5, 0.8, 0.99, 0.9999]


def _gamma_grid() -> tuple[np.ndarray, np.ndarray]:
    xs, alphas = [], []
    for a in ALPHAS:
        for q in LEVELS:
            x = st.gamma.ppf(q, a)
            if x > 0:
                xs.append(x)
                alphas.append(a)
    return np.array(xs), np.array(alphas)


def _beta_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, aa, bb = [], [], []
    for a in [0.01, 0.5, 2.0, 10.0, 100.0]:
        for b in [0.05, 1.0, 7.0, 300.0]:
            for q in [0.01, 0.3, 0.7, 0.99]:
                x = st.beta.ppf(q, a, b)
                if 0 < x < 1:
                    xs.append(x)
                    aa.append(a)
                    bb.append(b)
    return np.array(xs), np.array(aa), np.array(bb)


def _exact_gamma(x: float, a: float) -> float:
    mpmath.mp.dps = 40
    x, a = mpmath.mpf(x), mpmath.mpf(a)
    d = mpmath.diff(lambda s: mpmath.gammainc(s, 0, x, regularized=True), a)
    return float(-d / (x ** (a - 1) * mpmath.exp(-x) / mpmath.gamma(a)))


def _exact_beta(x: float, a: float, b: float) -> float:
    mpmath.mp.dps = 40
    x, a, b = mpmath.mpf(x), mpmath.mpf(a), mpmath.mpf(b)
    d = mpmath.diff(lambda s: mpmath.betainc(s, b, 0, x, regularized=True), a)
    pdf = x ** (a - 1) * (1 - x) ** (b - 1) / mpmath.beta(a, b)
    return float(-d / pdf / (1 - x))


def test_gamma_grad_matches_mpmath_and_torch():
    x, a = _gamma_grid()
    ours = standard_gamma_grad_kernel(x, a)
    exact = np.array([_exact_gamma(xi, ai) for xi, ai in zip(x, a)])
    np.testing.assert_allclose(ours, exact, rtol=1e-11)
    # PyTorch's rational/asymptotic approximations are accurate to ~1e-3 relative
    ref = torch._standard_gamma_grad(torch.tensor(a), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=2e-3)
    got = standard_gamma_grad(cr.tensor(a), cr.tensor(x))
    assert got.dtype == cr.float64
    np.testing.assert_array_equal(got.numpy(), ours)


def test_gamma_grad_huge_alpha_uses_saddle_point_like_torch():
    a = np.full(5, 4e6)
    x = a + np.array([-3, -1, 0, 1, 3]) * np.sqrt(a)
    ref = torch._standard_gamma_grad(torch.tensor(a), torch.tensor(x)).numpy()
    np.testing.assert_allclose(standard_gamma_grad_kernel(x, a), ref, rtol=1e-12)


def test_dirichlet_grad_matches_mpmath_and_torch():
    x, a, b = _beta_grid()
    ours = dirichlet_grad_kernel(x, a, a + b)
    exact = np.array([_exact_beta(*v) for v in zip(x, a, b)])
    np.testing.assert_allclose(ours, exact, rtol=1e-10)
    ref = torch._dirichlet_grad(torch.tensor(x), torch.tensor(a), torch.tensor(a + b)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=2e-3)
    got = dirichlet_grad(cr.tensor(x), cr.tensor(a), cr.tensor(a + b))
    np.testing.assert_array_equal(got.numpy(), ours)


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_standard_gamma_draws(dtype):
    cr.manual_seed(3)
    alpha = cr.tensor([0.2, 1.0, 4.0], dtype=dtype).expand(20000, 3)
    x = standard_gamma(alpha)
    assert x.shape == (20000, 3) and x.dtype == dtype
    assert (x.numpy() > 0).all()
    m, v = x.numpy().mean(0), x.numpy().var(0)
    np.testing.assert_allclose(m, [0.2, 1.0, 4.0], rtol=0.05)
    np.testing.assert_allclose(v, [0.2, 1.0, 4.0], rtol=0.08)
    cr.manual_seed(3)
    np.testing.assert_array_equal(standard_gamma(alpha).numpy(), x.numpy())


def test_standard_gamma_tiny_alpha_never_zero():
    cr.manual_seed(0)
    x = standard_gamma(cr.full((1000,), 1e-3, dtype=cr.float32))
    assert (x.numpy() >= np.finfo(np.float32).tiny).all()


def test_standard_gamma_backward_is_implicit_gradient():
    cr.manual_seed(1)
    alpha = cr.tensor([0.3, 2.0, 50.0], dtype=cr.float64, requires_grad=True)
    x = standard_gamma(alpha)
    w = cr.tensor([1.0, -2.0, 0.5], dtype=cr.float64)
    (x * w).sum().backward()
    ref = torch._standard_gamma_grad(
        torch.tensor(alpha.detach().numpy()), torch.tensor(x.detach().numpy())
    )
    np.testing.assert_allclose(alpha.grad.numpy(), w.numpy() * ref.numpy(), rtol=2e-3)


def test_standard_gamma_grad_of_mean_is_one():
    # E[x] = alpha, so the mean of dx/dalpha over many draws estimates 1
    cr.manual_seed(2)
    alpha = cr.tensor([0.1, 1.5, 20.0], dtype=cr.float64, requires_grad=True)
    x = standard_gamma(alpha.expand(40000, 3))
    x.mean(0).sum().backward()
    np.testing.assert_allclose(alpha.grad.numpy(), 1.0, rtol=0.03)


def test_standard_gamma_forward_mode_matches_backward():
    alpha = cr.tensor([0.4, 3.0], dtype=cr.float64)

    def f(a):
        cr.manual_seed(7)
        return standard_gamma(a)

    _, tangent = cr.func.jvp(f, (alpha,), (cr.tensor([1.0, 1.0], dtype=cr.float64),))
    a = alpha.clone().requires_grad_()
    f(a).sum().backward()
    np.testing.assert_allclose(tangent.numpy(), a.grad.numpy(), rtol=1e-12)


def test_standard_gamma_double_backward_raises():
    a = cr.tensor([1.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(standard_gamma(a).sum(), a, create_graph=True)
    with pytest.raises(RuntimeError):
        cr.autograd.grad(g.sum(), a)


def test_standard_gamma_rejects_bad_alpha():
    with pytest.raises(RuntimeError, match="_standard_gamma"):
        standard_gamma(cr.tensor([1.0, -1.0]))
    with pytest.raises(RuntimeError, match="_standard_gamma"):
        standard_gamma(cr.tensor([float("nan")]))
    with pytest.raises(NotImplementedError, match="gamma_cpu"):  # as PyTorch
        standard_gamma(cr.tensor([1, 2]))


def test_sample_dirichlet_draws_and_stats():
    cr.manual_seed(4)
    conc = np.array([0.5, 2.0, 3.5])
    x = sample_dirichlet(cr.tensor(conc).expand(30000, 3)).numpy()
    assert x.shape == (30000, 3)
    np.testing.assert_allclose(x.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(x.mean(0), conc / conc.sum(), atol=5e-3)
    # a 0-d concentration: PyTorch's one share, the float below 1
    assert sample_dirichlet(cr.tensor(1.0)).item() == float(np.nextafter(np.float32(1), 0))


def test_sample_dirichlet_backward_matches_torch_formula():
    cr.manual_seed(5)
    alpha = cr.tensor([[0.5, 2.0, 3.5], [4.0, 1.0, 0.2]], dtype=cr.float64, requires_grad=True)
    x = sample_dirichlet(alpha)
    w = cr.tensor([[1.0, -1.0, 0.3], [0.2, 0.7, -2.0]], dtype=cr.float64)
    (x * w).sum().backward()
    xt, at, wt = (torch.tensor(t.detach().numpy()) for t in (x, alpha, w))
    total = at.sum(-1, True).expand_as(at)
    g = torch._dirichlet_grad(xt, at, total)
    ref = g * (wt - (xt * wt).sum(-1, True))
    np.testing.assert_allclose(alpha.grad.numpy(), ref.numpy(), rtol=2e-3)


def test_sample_dirichlet_grad_of_mean():
    # E[x_i] = a_i / sum(a): the averaged reparameterised gradient estimates its Jacobian
    cr.manual_seed(6)
    conc = np.array([0.7, 2.0, 1.3])
    alpha = cr.tensor(conc, requires_grad=True)
    x = sample_dirichlet(alpha.expand(40000, 3))
    x.mean(0)[0].backward()
    t = conc.sum()
    expected = -conc[0] / t**2 * np.ones(3)
    expected[0] += 1 / t
    np.testing.assert_allclose(alpha.grad.numpy(), expected, atol=4e-3)


def test_sample_dirichlet_forward_mode_matches_backward():
    alpha = cr.tensor([0.6, 1.5, 4.0], dtype=cr.float64)

    def f(a):
        cr.manual_seed(8)
        return sample_dirichlet(a)

    t = cr.tensor([0.3, -1.0, 2.0], dtype=cr.float64)
    _, tangent = cr.func.jvp(f, (alpha,), (t,))
    jac = np.stack(
        [
            cr.autograd.grad(f(a)[i], a)[0].numpy()
            for i in range(3)
            for a in [alpha.clone().requires_grad_()]
        ]
    )
    np.testing.assert_allclose(tangent.numpy(), jac @ t.numpy(), rtol=1e-10)
