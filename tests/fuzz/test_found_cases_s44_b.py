"""Session 44's fuzzer findings, analysed (part b): the seed-994 eigh double backward (a
float32 tanh saturating in the generator, not eigh), ``vector_norm``'s second derivative at
zero entries (PyTorch's norm_backward mirrored op for op: NaN there) and the second
derivative of ``cumprod`` at +-inf next to a zero (mirrored in session 45)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from . import programs
from .programs import Program, Step, run

__all__: list[str] = []

_INF, _NAN = float("inf"), float("nan")

_SEED_994_STEPS = (
    Step("pad_neg", (5, 5, 0, 0, 1), 2.0),
    Step("promote", (0, 0, 0, 0, 0), -1.5),
    Step("cast", (0, 0, 0, 0, 0), 0.25),
    Step("lerp", (0, 2, 0, 0, 9), 0.5),
    Step("eigh", (5, 0, 0, 0, 0), -1.5),
)
_SEED_994_LEAVES = (((3,), False, False, "float32"), ((1, 3), True, False, "float32"))
_DRAWN = programs._leaf  # the harness's own leaf, before any test patches it


def _leaves_in_float64(monkeypatch, delta=None):
    """The program's float32 leaves as float64 of the same values (``delta`` added to the
    one that requires grad), so float64 shows what float32 only rounds."""

    def leaf(lib, spec, rng):
        t = _DRAWN(lib, spec, rng).detach().to(lib.float64)
        if spec[1] and delta is not None:
            t = t + lib.tensor(delta, dtype=lib.float64).reshape(tuple(t.shape))
        return t.requires_grad_(spec[1])

    monkeypatch.setattr(programs, "_leaf", leaf)


def test_seed_994_second_derivative_in_float64(monkeypatch):
    # seed 994 (test_found_cases_s44.py): float32 gave torch 0 and chainrule -0.051 for the
    # second-order gradient; both were rounding of a saturated tanh (1 - y^2 of a float32
    # y = tanh(9.47): 0 or 1.2e-7 for a true 2.4e-8). In float64 (the same leaf values)
    # both libraries give the finite difference of the first derivative, -0.0102
    prog = Program(_SEED_994_LEAVES, _SEED_994_STEPS, seed=36436, double=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _leaves_in_float64(monkeypatch)
        seen = [run(lib, prog).grads[1].ravel() for lib in (torch, cr)]
        h, fd = 1e-5, []
        for i in range(3):
            s = []
            for sign in (1.0, -1.0):
                e = np.zeros(3)
                e[i] = sign * h
                _leaves_in_float64(monkeypatch, e)
                first = run(cr, Program(prog.leaves, prog.steps, prog.seed, False)).grads[1]
                s.append(float((first**2).sum()))
            fd.append((s[0] - s[1]) / (2 * h))
    np.testing.assert_allclose(seen[1], seen[0], rtol=1e-7)
    np.testing.assert_allclose(seen[1], fd, rtol=1e-4, atol=1e-9)
    assert abs(seen[1][1] + 0.0102) < 1e-4  # not the float32 values (0, -0.051)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_eigh_double_backward_agrees_with_torch(k):
    # eigh's own double backward (distinct eigenvalues, as the fuzzer's _square): torch's in
    # float64, and gradgradcheck's finite differences
    rng = np.random.default_rng(k)
    a = rng.standard_normal((k, k))
    a = a + a.T + np.diag(np.arange(k) * 1.5 + k)
    cw, cv = np.cos(np.arange(k)), np.sin(np.arange(k * k)).reshape(k, k)
    seen = []
    for lib in (torch, cr):
        x = lib.tensor(a, requires_grad=True)
        w, v = lib.linalg.eigh(x)
        loss = (w * lib.tensor(cw)).sum() + (v * v * lib.tensor(cv)).sum()
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), x)
        seen.append((g.detach().numpy(), h.numpy()))
    np.testing.assert_allclose(seen[1][0], seen[0][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(seen[1][1], seen[0][1], rtol=1e-8, atol=1e-10)

    def f(t):
        w, v = cr.linalg.eigh((t + t.mT) / 2)
        return w, v * v

    assert cr.autograd.gradgradcheck(f, (cr.tensor(a, requires_grad=True),))


_ORDS = [0.5, 0.3, -0.5, -1.0, -2.0, 1.2, 1.5, 2.5, 3.0]


@pytest.mark.parametrize("p", _ORDS)
@pytest.mark.parametrize(
    ("xs", "dim"),
    [([0.0, 1.0, -2.0], None), ([0.0, 0.0, 0.0], None), ([[0.0, 1.0], [0.0, 0.0]], 1),
     ([[0.0, 1.0], [0.0, 0.0]], None), ([[0.5, -1.0, 0.0], [2.0, 0.0, 3.0]], 0),
     ([1.0, -2.0, 3.0], None), ([[_INF, 0.0, 1.0], [_NAN, 2.0, 0.0]], 1)],
)  # fmt: skip
def test_vector_norm_second_derivative_at_zero_entries(p, xs, dim):
    # PyTorch's norm_backward differentiated: sgn(x) |x|^(p-1) masked to 0 at x = 0 (p < 1)
    # or unmasked (1 < p < 2), x |x|^(p-2) (p > 2): the derivative of |x|^(p-1) (or p-2)
    # at 0 is inf, times a masked 0 or sgn(0): NaN at every zero entry; and for p > 1 a zero
    # norm's masked g / 0^(p-1): NaN in its whole slice. Chainrule's masked with where()
    # (0 there); now PyTorch's formula op for op
    seen = []
    for lib in (torch, cr):
        x = lib.tensor(xs, dtype=lib.float64, requires_grad=True)
        y = lib.linalg.vector_norm(x, ord=p, dim=dim)
        w = lib.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape)))
        (g,) = lib.autograd.grad((y * w).sum(), x, create_graph=True)
        v = lib.tensor(np.sin(np.arange(x.numel()) + 1.0).reshape(tuple(x.shape)))
        (h,) = lib.autograd.grad((g * v).sum(), x)
        seen.append((g.detach().numpy(), h.numpy()))
    np.testing.assert_allclose(seen[1][0], seen[0][0], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(seen[1][1], seen[0][1], rtol=1e-10, atol=1e-12, equal_nan=True)
    if 0.0 in np.asarray(xs) and p != 3.0:
        assert np.isnan(seen[1][1][np.asarray(xs) == 0]).all()


@pytest.mark.parametrize("p", [0.5, -1.0, 1.5, 2.5, 3.0])
def test_dist_second_derivative_at_zero_differences(p):
    # dist shares PNorm's backward (torch: norm_backward of a - b): NaN where a = b
    seen = []
    for lib in (torch, cr):
        a = lib.tensor([0.0, 1.0, 2.0], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([0.0, -1.0, 0.5], dtype=lib.float64, requires_grad=True)
        ga, gb = lib.autograd.grad(lib.dist(a, b, p), (a, b), create_graph=True)
        h = lib.autograd.grad((ga * lib.tensor([1.0, 2.0, 3.0])).sum(), (a, b))
        seen.append([t.detach().numpy() for t in (ga, gb, *h)])
    for mine, theirs in zip(seen[1], seen[0]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("p", _ORDS)
def test_vector_norm_second_derivative_away_from_zero(p):
    # the formula itself (no zeros): finite differences
    x = cr.tensor([[0.7, -1.3, 2.1], [-0.4, 0.9, 1.6]], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda t: cr.linalg.vector_norm(t, ord=p, dim=1), (x,))


def test_cumprod_second_derivative_at_inf_next_to_a_zero():
    # was a known difference (chainrule NaN from 0 * inf): PyTorch's cumprod_backward (its
    # O(n^2) loop when differentiated, its O(n) masks otherwise) and prod's zero-safe
    # backward are now mirrored op for op (ops/product_gradients.py, session 45)
    seen = []
    for lib in (torch, cr):
        x = lib.tensor([0.0, -_INF, 2.0], dtype=lib.float64, requires_grad=True)
        y = x.cumprod(0)
        (g,) = lib.autograd.grad((y * lib.tensor([1.0, 0.5, -1.0])).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor([0.3, 1.0, 2.0])).sum(), x)
        seen.append(h.numpy())
    np.testing.assert_allclose(seen[1], seen[0], equal_nan=True)
