"""Autograd of ``linalg.eig`` / ``linalg.eigvals`` against PyTorch (float64 and complex128,
batched): reverse mode, forward mode (``func.jvp``), double backward, gradcheck on tiny
sizes, the real gradient of a real input, float32/complex64 dtypes, PyTorch's error for a
loss that depends on the eigenvectors' phases, repeated eigenvalues and empty matrices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

from ._complex_cases import to_numpy

RNG = [np.random.default_rng(23)]


@pytest.fixture(autouse=True)
def _fresh_rng():
    """Each test draws the same matrices whichever tests ran before it in its worker (a
    matrix's eigenvector phases decide whether the phase term's gradient matches torch's
    convention, so the draw must not depend on the order xdist runs the tests in)."""
    RNG[0] = np.random.default_rng(23)


def _matrix(kind: str, *shape: int) -> np.ndarray:
    """A random real (complex eigenvalues among them) or complex matrix batch."""
    a = RNG[0].standard_normal(shape)
    return a + 1j * RNG[0].standard_normal(shape) if kind == "complex" else a


def _eig_loss(lib, x, weights: np.ndarray, phase: float = 0.0):
    """A real loss of the eigenvalues and of |V|, plus ``phase`` times a phase-dependent
    term (below PyTorch's bound, which keeps it and drops the phase part)."""
    w, v = lib.linalg.eig(x)
    loss = (w * lib.tensor(weights)).real.sum() + v.abs().pow(3).sum()
    return loss + phase * v.real.sum() if phase else loss


def _grads(fn, a: np.ndarray, create_graph: bool = False):
    c, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (gc,) = cr.autograd.grad(fn(cr, c), c, create_graph=create_graph)
    (gt,) = torch.autograd.grad(fn(torch, t), t, create_graph=create_graph)
    return c, t, gc, gt


@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("phase", [0.0, 0.004])
def test_eig_backward_matches_torch(kind, phase):
    a = _matrix(kind, 2, 4, 4)
    weights = _matrix("complex", 4)
    _, _, gc, gt = _grads(lambda lib, x: _eig_loss(lib, x, weights, phase), a)
    assert str(gc.dtype) == str(gt.dtype)  # real input: real grad
    np.testing.assert_allclose(to_numpy(gc), to_numpy(gt), rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("kind", ["real", "complex"])
def test_eigvals_and_eig_values_only_backward_match_torch(kind):
    a = _matrix(kind, 3, 3, 3)
    _, _, gc, gt = _grads(lambda lib, x: lib.linalg.eigvals(x).abs().sum(), a)
    np.testing.assert_allclose(to_numpy(gc), to_numpy(gt), rtol=1e-10, atol=1e-11)
    _, _, gc, gt = _grads(lambda lib, x: lib.linalg.eig(x)[0].pow(2).imag.sum(), a)
    np.testing.assert_allclose(to_numpy(gc), to_numpy(gt), rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("kind", ["real", "complex"])
def test_eig_and_eigvals_jvp_match_torch(kind):
    a, t = _matrix(kind, 2, 4, 4), _matrix(kind, 2, 4, 4)
    _, got = cr.func.jvp(lambda x: tuple(cr.linalg.eig(x)), (cr.tensor(a),), (cr.tensor(t),))
    _, want = torch.func.jvp(
        lambda x: tuple(torch.linalg.eig(x)), (torch.tensor(a),), (torch.tensor(t),)
    )
    for g, w in zip(got, want):
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_allclose(to_numpy(g), to_numpy(w), rtol=1e-10, atol=1e-11)
    _, got = cr.func.jvp(cr.linalg.eigvals, (cr.tensor(a),), (cr.tensor(t),))
    _, want = torch.func.jvp(torch.linalg.eigvals, (torch.tensor(a),), (torch.tensor(t),))
    np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("kind", ["real", "complex"])
def test_eig_double_backward_matches_torch(kind):
    a = _matrix(kind, 3, 3)

    def loss(lib, x):
        w, v = lib.linalg.eig(x)
        return (w * w).real.sum() + v.abs().sum() + lib.linalg.eigvals(x).pow(3).real.sum()

    c, t, gc, gt = _grads(loss, a, create_graph=True)
    (ggc,) = cr.autograd.grad(gc.abs().pow(2).sum(), c)
    (ggt,) = torch.autograd.grad(gt.abs().pow(2).sum(), t)
    np.testing.assert_allclose(to_numpy(ggc), to_numpy(ggt), rtol=1e-9, atol=1e-10)


def test_eig_gradcheck_tiny():
    def fn(x):
        w, v = cr.linalg.eig(x)
        return w, v.abs()

    real, cplx = _matrix("real", 3, 3), _matrix("complex", 2, 2, 2)
    assert cr.autograd.gradcheck(fn, (cr.tensor(real, requires_grad=True),), check_forward_ad=True)
    assert cr.autograd.gradcheck(fn, (cr.tensor(cplx, requires_grad=True),))
    assert cr.autograd.gradcheck(cr.linalg.eigvals, (cr.tensor(cplx, requires_grad=True),))
    assert cr.autograd.gradgradcheck(fn, (cr.tensor(cplx[0], requires_grad=True),))


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_eig_single_precision_gradients_keep_the_input_dtype(dtype):
    a = _matrix("complex" if dtype == np.complex64 else "real", 4, 4).astype(dtype)
    _, _, gc, gt = _grads(lambda lib, x: lib.linalg.eig(x)[1].abs().sum(), a)
    assert str(gc.dtype) == str(gt.dtype)
    np.testing.assert_allclose(to_numpy(gc), to_numpy(gt), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("kind", ["real", "complex"])
def test_phase_dependent_loss_raises_like_torch(kind):
    a = _matrix(kind, 4, 4)
    if kind == "real":  # a real matrix with complex eigenvalues: complex eigenvectors
        a = np.array([[0.0, -2.0, 0.3], [1.0, 0.5, 0.0], [0.2, 0.0, 1.0]])
    for lib in (torch, cr):
        x = lib.tensor(a, requires_grad=True)
        _, v = lib.linalg.eig(x)
        with pytest.raises(RuntimeError, match=r"specified up to multiplication by e\^\{i phi\}"):
            (v.abs().sum() + 0.5 * v.real.sum()).backward()
        _, v = lib.linalg.eig(x)
        with pytest.raises(RuntimeError, match="specified up to multiplication"):
            (v * float("nan")).abs().sum().backward()  # a NaN gradient counts as dependent


def test_repeated_eigenvalues_like_torch():
    for fn in (
        lambda lib, x: lib.linalg.eigvals(x).real.sum(),
        lambda lib, x: lib.linalg.eig(x)[0].real.sum(),
        lambda lib, x: lib.linalg.eig(x)[1].abs().sum(),
    ):
        _, _, gc, gt = _grads(fn, np.eye(3))
        np.testing.assert_array_equal(np.isnan(to_numpy(gc)), np.isnan(to_numpy(gt)))
        finite = ~np.isnan(to_numpy(gt))
        np.testing.assert_allclose(to_numpy(gc)[finite], to_numpy(gt)[finite], atol=1e-12)


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (1, 1)])
def test_eig_gradients_of_empty_and_scalar_matrices(shape):
    def loss(lib, x):
        w, v = lib.linalg.eig(x)
        return w.abs().sum() + v.abs().sum()

    _, _, gc, gt = _grads(loss, np.full(shape, 2.0))
    assert tuple(gc.shape) == tuple(gt.shape)
    np.testing.assert_allclose(to_numpy(gc), to_numpy(gt))


def test_eig_grad_mode_out_and_bad_input_under_grad():
    a = _matrix("real", 3, 3)
    x = cr.tensor(a, requires_grad=True)
    assert cr.linalg.eig(x)[1].requires_grad and cr.linalg.eigvals(x).requires_grad
    with cr.no_grad():
        assert not cr.linalg.eig(x)[0].requires_grad
    out = (cr.empty(3, dtype=cr.complex128), cr.empty(3, 3, dtype=cr.complex128))
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic"):
        cr.linalg.eig(x, out=out)
    bad = a.copy()
    bad[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="should not contain infs or NaNs"):
        cr.linalg.eigvals(cr.tensor(bad, requires_grad=True))
