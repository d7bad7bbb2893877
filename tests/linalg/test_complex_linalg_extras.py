"""Complex inputs to the composed ``cr.linalg`` functions against PyTorch (complex128): values
and gradients of ``cholesky_ex`` (with its failure report), the legacy ``triangular_solve``,
``inv_ex``/``solve_ex``, ``cond``, ``householder_product``, ``tensorinv``/``tensorsolve``
and ``vecdot``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from ._complex_cases import compare_value_and_grads, to_numpy

RNG = np.random.default_rng(5)


def _crandn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def _compare(fn_cr, fn_torch, arrays, *, rtol=1e-8):
    compare_value_and_grads(fn_cr, fn_torch, arrays, _crandn, rtol=rtol)


def _hpd(*shape: int) -> np.ndarray:
    m = _crandn(*shape)
    return m @ np.conj(np.swapaxes(m, -1, -2)) + shape[-1] * np.eye(shape[-1])


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_ex_complex_matches_torch(upper):
    _compare(
        lambda x: cr.linalg.cholesky_ex(x, upper=upper).L,
        lambda x: torch.linalg.cholesky_ex(x, upper=upper).L,
        [_hpd(2, 3, 3)],
    )
    bad = _hpd(3, 3)
    bad[2, 2] = -5.0  # the minor of order 3 fails: a partial factor, as LAPACK's potf2
    batch = np.stack([_hpd(3, 3), bad])
    got = cr.linalg.cholesky_ex(cr.tensor(batch), upper=upper)
    want = torch.linalg.cholesky_ex(torch.tensor(batch), upper=upper)
    np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())
    np.testing.assert_allclose(got.L.numpy(), to_numpy(want.L), rtol=1e-10)


def test_triangular_solve_complex_transposes_without_conjugating_like_torch():
    a, b = np.triu(_crandn(3, 3)) + 3 * np.eye(3), _crandn(2, 3, 2)
    for transpose in (False, True):

        def run(lib, t=transpose):
            def f(x, y):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return lib.triangular_solve(y, x, upper=True, transpose=t).solution

            return f

        _compare(run(cr), run(torch), [a, b])


def test_inv_ex_solve_ex_complex_match_torch():
    a, b = _crandn(2, 3, 3), _crandn(2, 3, 2)
    _compare(lambda x: cr.linalg.inv_ex(x).inverse, lambda x: torch.linalg.inv_ex(x).inverse, [a])
    _compare(
        lambda x, y: cr.linalg.solve_ex(x, y, left=False).result,
        lambda x, y: torch.linalg.solve_ex(x, y, left=False).result,
        [a, _crandn(2, 2, 3)],
    )
    singular = a.copy()
    singular[1, :, 2] = 0
    got = cr.linalg.solve_ex(cr.tensor(singular), cr.tensor(b))
    assert (
        got.info.tolist()
        == torch.linalg.solve_ex(torch.tensor(singular), torch.tensor(b)).info.tolist()
    )
    assert got.info.tolist()[0] == 0 and got.info.tolist()[1] != 0
    assert np.isnan(got.result.numpy()[1]).all()  # documented: NaN for the singular system


@pytest.mark.parametrize("p", [None, -2, "nuc"])
def test_cond_complex_matches_torch(p):
    _compare(lambda x: cr.linalg.cond(x, p), lambda x: torch.linalg.cond(x, p), [_crandn(2, 3, 3)])


@pytest.mark.parametrize("p", ["fro", math.inf, 1])
def test_cond_complex_by_norms_matches_torch_values_and_gradchecks(p):
    """PyTorch's own backward fails here for complex input (an in-place error inside
    linalg.cond), so the gradient is checked numerically."""
    a = _crandn(2, 3, 3)
    np.testing.assert_allclose(
        cr.linalg.cond(cr.tensor(a), p).numpy(), torch.linalg.cond(torch.tensor(a), p).numpy()
    )
    t = torch.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        torch.linalg.cond(t, p).sum().backward()
    x = cr.tensor(a[0] + 2 * np.eye(3), requires_grad=True)
    assert cr.autograd.gradcheck(lambda y: cr.linalg.cond(y, p), (x,))


def test_householder_product_complex_matches_torch():
    a, tau = _crandn(4, 3), _crandn(2)
    _compare(cr.linalg.householder_product, torch.linalg.householder_product, [a, tau])
    geqrf = torch.geqrf(torch.tensor(a))  # Q of a complex QR from its reflectors
    q = cr.linalg.householder_product(cr.tensor(to_numpy(geqrf.a)), cr.tensor(to_numpy(geqrf.tau)))
    np.testing.assert_allclose(q.numpy(), to_numpy(torch.linalg.qr(torch.tensor(a)).Q), rtol=1e-10)


def test_tensorinv_tensorsolve_vecdot_complex_match_torch():
    _compare(
        lambda x: cr.linalg.tensorinv(x, ind=2),
        lambda x: torch.linalg.tensorinv(x, ind=2),
        [_crandn(2, 3, 6)],
    )
    _compare(cr.linalg.tensorsolve, torch.linalg.tensorsolve, [_crandn(2, 3, 6), _crandn(2, 3)])
    _compare(cr.linalg.vecdot, torch.linalg.vecdot, [_crandn(2, 3), _crandn(3)])  # conj(x) y


def test_legacy_top_level_forms_of_complex_decompositions_match_torch():
    a = _crandn(2, 3, 3)
    for lib in (cr, torch):
        assert lib.svd(lib.tensor(a), compute_uv=False).V.dtype == lib.complex128
    _compare(lambda x: cr.svd(x).V.abs(), lambda x: torch.svd(x).V.abs(), [a])  # V = Vh^H
    _compare(
        lambda x: (lambda u, s, v: (u * s.unsqueeze(-2)) @ v.mH)(*cr.svd(x)),
        lambda x: (lambda u, s, v: (u * s.unsqueeze(-2)) @ v.mH)(*torch.svd(x)),
        [a],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's deprecation warning (not chainrule's)
        _compare(
            lambda x: cr.cholesky(x, upper=True),
            lambda x: torch.cholesky(x, upper=True),
            [_hpd(3, 3)],
        )
    _compare(cr.logdet, torch.logdet, [_hpd(2, 3, 3)])
    _compare(cr.pinverse, torch.pinverse, [_crandn(3, 2)])


@pytest.mark.parametrize("driver", [None, "gelsd", "gels"])
def test_lstsq_complex_matches_torch(driver):
    a, b = _crandn(2, 4, 3), _crandn(2, 4)  # a batch of vectors B
    got = cr.linalg.lstsq(cr.tensor(a), cr.tensor(b), driver=driver)
    want = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)  # residuals keep their trailing 1, as torch's
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_allclose(g.numpy(), to_numpy(w), rtol=1e-8, atol=1e-12)
    _compare(
        lambda x, y: cr.linalg.lstsq(x, y).solution,
        lambda x, y: torch.linalg.lstsq(x, y).solution,
        [_crandn(4, 3), _crandn(4, 2)],
    )
    for lib in (cr, torch):
        with pytest.raises(RuntimeError, match=r"\(input.dim\(\) - other.dim\(\)\) <= 1"):
            lib.linalg.lstsq(lib.tensor(a), lib.tensor(b[0, :]))


def test_eig_and_eigvals_take_complex_input_like_torch():
    a = _crandn(3, 3)
    for dtype in (np.complex128, np.complex64):
        got = cr.linalg.eigvals(cr.tensor(a.astype(dtype)))
        want = torch.linalg.eigvals(torch.tensor(a.astype(dtype)))
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_allclose(
            np.sort_complex(got.numpy()), np.sort_complex(want.numpy()), rtol=1e-4
        )
    w, v = cr.linalg.eig(cr.tensor(a))
    np.testing.assert_allclose(a @ v.numpy(), v.numpy() * w.numpy(), atol=1e-12)
    assert cr.linalg.eig(cr.tensor(a, requires_grad=True)).eigenvectors.requires_grad
