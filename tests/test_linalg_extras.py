"""linalg/extras.py, linalg/eig.py and linalg/ldl.py against PyTorch: values, dtypes, the
``info`` of the ``_ex`` forms, ``cond`` for every order, ``eig``/``eigvals`` (complex results,
no derivative), the LDL^T factorization bit for bit (LD and pivots) and its solve, and bad
inputs. Gradients (gradcheck, gradgradcheck, jvp, vs PyTorch) of the differentiable functions
run from tests/ops/op_specs_linalg_extras.py."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)


def _both(fn, *arrays):
    return fn(cr, *[cr.tensor(a) for a in arrays]), fn(torch, *[torch.tensor(a) for a in arrays])


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_and_dtypes_match_torch(dtype):
    r = lambda *s: RNG.standard_normal(s).astype(dtype)  # noqa: E731
    cases = [
        (lambda L, x, y: L.linalg.vecdot(x, y, dim=0), r(3, 4), r(3, 1)),
        (lambda L, x: L.linalg.vander(x), r(2, 3)),
        (lambda L, x: L.linalg.tensorinv(x), r(2, 3, 6)),
        (lambda L, a, b: L.linalg.tensorsolve(a, b), r(2, 3, 6), r(2, 3)),
        (lambda L, a: L.linalg.inv_ex(a).inverse, r(2, 3, 3)),
        (lambda L, a, b: L.linalg.solve_ex(a, b).result, r(2, 3, 3), r(3, 2)),
        (lambda L, a: L.linalg.cond(a), r(2, 4, 3)),
        (lambda L, a, t: L.linalg.householder_product(a, t), r(5, 3), r(3)),
    ]
    tol = 1e-10 if dtype == np.float64 else 1e-4
    for fn, *arrays in cases:
        got, want = _both(fn, *arrays)
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_allclose(_np(got), _np(want), rtol=tol, atol=tol)


def test_vander_integer_and_zero():
    got, want = _both(lambda L, x: L.linalg.vander(x, N=4), np.array([0, 2, -3]))
    assert got.dtype == cr.int64
    np.testing.assert_array_equal(_np(got), _np(want))
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    cr.linalg.vander(x, N=3).sum().backward()  # d/dx (1 + x + x^2) = 1 + 2x, exact at 0
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 5.0])


SINGULAR = np.array([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 2.0]]])


def test_ex_forms_report_singular_matrices():
    for name, call in (
        ("inv_ex", lambda L, a: L.linalg.inv_ex(a)),
        ("solve_ex", lambda L, a: L.linalg.solve_ex(a, L.ones(2, 2, dtype=a.dtype))),
    ):
        got, want = _both(call, SINGULAR)
        np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())
        assert got.info.dtype == cr.int32
        # the invertible matrix is solved; the singular one is NaN (PyTorch: LAPACK's inf)
        np.testing.assert_allclose(_np(got[0])[1], _np(want[0])[1])
        assert np.isnan(_np(got[0])[0]).all(), name


def test_ex_forms_give_gradients_to_invertible_matrices_only():
    a = cr.tensor(SINGULAR, requires_grad=True)
    cr.linalg.inv_ex(a).inverse[1].sum().backward()
    assert np.all(a.grad.numpy()[0] == 0) and np.all(np.isfinite(a.grad.numpy()))
    t = torch.tensor(SINGULAR[1], requires_grad=True)
    torch.linalg.inv(t).sum().backward()
    np.testing.assert_allclose(a.grad.numpy()[1], t.grad.numpy())


def test_ex_info_shapes_follow_a():
    a = RNG.standard_normal((2, 3, 3))
    for b in (RNG.standard_normal(3), RNG.standard_normal((4, 2, 3, 1))):
        got, want = _both(lambda L, a, b: L.linalg.solve_ex(a, b), a, b)
        assert tuple(got.info.shape) == tuple(want.info.shape)
        np.testing.assert_allclose(_np(got.result), _np(want.result), rtol=1e-10)


@pytest.mark.parametrize("op", ["inv_ex", "solve_ex"])
def test_check_errors_raises_linalg_error(op):
    a = cr.tensor(SINGULAR)
    call = (
        (lambda: cr.linalg.inv_ex(a, check_errors=True))
        if op == "inv_ex"
        else (lambda: cr.linalg.solve_ex(a, cr.ones(2, 1, dtype=a.dtype), check_errors=True))
    )
    with pytest.raises(cr.linalg.LinAlgError, match=f"linalg.{op}.*singular"):
        call()


ORDS = [None, 2, -2, "fro", "nuc", math.inf, -math.inf, 1, -1]


@pytest.mark.parametrize("p", ORDS, ids=str)
def test_cond_values_match_torch(p):
    cases = (
        RNG.standard_normal((2, 4, 4)),
        SINGULAR,
        np.zeros((0, 3, 3)),
        np.zeros((2, 2)),
        np.diag([1.0, 0.0]),
    )
    for a in cases:
        got, want = _both(lambda L, a: L.linalg.cond(a, p), a)
        g, w = _np(got).copy(), _np(want).copy()
        # an exactly singular matrix through the SVD: sigma_min is rounding noise (~1e-17),
        # so the condition number is only "huge" (~1e16; -2: "tiny", ~1e-17), its value
        # depending on the LAPACK build
        huge = np.isfinite(w) & (np.abs(w) > 1e15)
        tiny = (w != 0) & (np.abs(w) < 1e-15)
        assert (np.abs(g[huge]) > 1e15).all() and (np.abs(g[tiny]) < 1e-15).all(), (g, w)
        g[huge | tiny] = w[huge | tiny] = 1.0
        np.testing.assert_allclose(g, w, rtol=1e-9)
        assert tuple(got.shape) == tuple(want.shape)


def test_cond_gradient_matches_its_definition_for_norm_orders():
    """PyTorch 2.13's own backward fails for these orders (in-place fill of a saved
    tensor); chainrule's is the derivative of ``|A|_p |A^-1|_p``."""
    a = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
    for p in ("fro", 1, -1, math.inf, -math.inf):
        x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        cr.linalg.cond(x, p).backward()
        (
            torch.linalg.matrix_norm(t, p) * torch.linalg.matrix_norm(torch.linalg.inv(t), p)
        ).backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9)


def test_householder_product_without_reflectors_is_identity_columns():
    got, want = _both(
        lambda L, a, t: L.linalg.householder_product(a, t), np.ones((4, 2)), np.ones(0)
    )
    np.testing.assert_array_equal(_np(got), _np(want))


def test_householder_product_rebuilds_q_of_geqrf():
    a = RNG.standard_normal((5, 3))
    qr, tau = torch.geqrf(torch.tensor(a))
    q = cr.linalg.householder_product(cr.tensor(qr.numpy()), cr.tensor(tau.numpy()))
    np.testing.assert_allclose(q.numpy(), torch.linalg.qr(torch.tensor(a)).Q.numpy(), atol=1e-12)


# ------------------------------------------------------------------ eig / eigvals


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_eig_matches_torch(dtype):
    a = RNG.standard_normal((2, 4, 4)).astype(dtype)  # complex eigenvalues among them
    a[1] = a[1] + a[1].T  # and a symmetric matrix: real ones
    got, want = _both(lambda L, a: L.linalg.eig(a), a)
    assert str(got.eigenvalues.dtype) == str(want.eigenvalues.dtype)
    assert str(got.eigenvectors.dtype) == str(want.eigenvectors.dtype)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    w, v = got.eigenvalues.numpy(), got.eigenvectors.numpy()
    np.testing.assert_allclose(
        np.sort_complex(w), np.sort_complex(want.eigenvalues.numpy()), atol=tol
    )
    np.testing.assert_allclose(a.astype(w.dtype) @ v, v * w[..., None, :], atol=10 * tol)
    np.testing.assert_allclose(np.linalg.norm(v, axis=-2), 1.0, atol=tol)
    vals = cr.linalg.eigvals(cr.tensor(a)).numpy()
    np.testing.assert_allclose(np.sort_complex(vals), np.sort_complex(w), atol=tol)


def test_eig_records_a_gradient_only_with_grad_mode():  # gradients: linalg/test_eig_grads.py
    a = cr.tensor(RNG.standard_normal((3, 3)), requires_grad=True)
    for fn in (cr.linalg.eig, cr.linalg.eigvals):
        assert fn(a)[0].requires_grad
        with cr.no_grad():
            assert not fn(a)[0].requires_grad
            assert fn(a)[0].dtype == np.complex128
        assert fn(a.detach())[0].dtype == np.complex128


@pytest.mark.parametrize(
    "array",
    [
        np.ones((2, 3)),
        np.ones(3),
        np.array([[np.nan, 1.0], [0.0, 1.0]]),
        np.ones((2, 2), dtype=np.int64),
    ],
    ids=["not_square", "vector", "nan", "int"],
)
def test_eig_bad_inputs_raise_like_torch(array):
    with pytest.raises(Exception) as want:
        torch.linalg.eig(torch.tensor(array))
    with pytest.raises(want.type, match="linalg.eig"):
        cr.linalg.eig(cr.tensor(array))


# ------------------------------------------------------------------------ LDL


def _sym_cases():
    out = [RNG.standard_normal((n, n)) for n in (1, 2, 3, 5, 8, 12)]
    out.append(np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]]))  # 2x2 pivots
    out.append(np.array([[1e-3, 2.0, 0.5], [2.0, 1e-3, 1.0], [0.5, 1.0, 3.0]]))
    out.append(np.round(3 * RNG.standard_normal((6, 6))))
    return [a + a.T for a in out]


@pytest.mark.parametrize("k", range(9))
def test_ldl_factor_matches_torch_exactly(k):
    a = _sym_cases()[k]
    got, want = _both(lambda L, a: L.linalg.ldl_factor_ex(a), a)
    np.testing.assert_array_equal(got.pivots.numpy(), want.pivots.numpy())
    assert got.pivots.dtype == cr.int32 and got.info.dtype == cr.int32
    np.testing.assert_allclose(got.LD.numpy(), want.LD.numpy(), rtol=1e-12, atol=1e-13)
    assert int(got.info) == int(want.info) == 0
    b = RNG.standard_normal((a.shape[0], 2))
    x = cr.linalg.ldl_solve(got.LD, got.pivots, cr.tensor(b)).numpy()
    np.testing.assert_allclose(a @ x, b, atol=1e-9)
    xt = torch.linalg.ldl_solve(want.LD, want.pivots, torch.tensor(b)).numpy()
    np.testing.assert_allclose(x, xt, rtol=1e-9, atol=1e-11)


def test_ldl_batched_float32_and_broadcast_solve():
    a = RNG.standard_normal((3, 4, 4)).astype(np.float32)
    a = a + a.swapaxes(-1, -2)
    got, want = _both(lambda L, a: L.linalg.ldl_factor(a, hermitian=True), a)
    assert got.LD.dtype == cr.float32
    np.testing.assert_array_equal(got.pivots.numpy(), want.pivots.numpy())
    np.testing.assert_allclose(got.LD.numpy(), want.LD.numpy(), rtol=1e-5, atol=1e-5)
    b = RNG.standard_normal((3, 4, 3)).astype(np.float32)
    x = cr.linalg.ldl_solve(got.LD, got.pivots, cr.tensor(b))
    xt = torch.linalg.ldl_solve(want.LD, want.pivots, torch.tensor(b))
    assert x.dtype == cr.float32
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-4, atol=1e-4)
    # batch dims broadcast (PyTorch 2.13 crashes on this call, so NumPy is the reference)
    b = RNG.standard_normal((2, 1, 4, 3)).astype(np.float32)
    x = cr.linalg.ldl_solve(got.LD, got.pivots, cr.tensor(b))
    assert tuple(x.shape) == (2, 3, 4, 3)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-3, atol=1e-3)


def test_ldl_singular_info_and_errors():
    zero = np.zeros((2, 3, 3))
    zero[1] = np.eye(3)
    got, want = _both(lambda L, a: L.linalg.ldl_factor_ex(a), zero)
    np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())
    np.testing.assert_array_equal(got.pivots.numpy(), want.pivots.numpy())
    np.testing.assert_array_equal(got.LD.numpy(), want.LD.numpy())
    with pytest.raises(cr.linalg.LinAlgError, match="ldl_factor_ex.*singular"):
        cr.linalg.ldl_factor_ex(cr.tensor(zero), check_errors=True)
    with pytest.raises(cr.linalg.LinAlgError, match="ldl_factor.*singular"):
        cr.linalg.ldl_factor(cr.tensor(zero))  # PyTorch: an internal assert


def test_ldl_has_no_derivative_like_torch():
    a = cr.tensor(_sym_cases()[3], requires_grad=True)
    ld, piv = cr.linalg.ldl_factor(a)
    assert ld.requires_grad
    with pytest.raises(
        RuntimeError, match="derivative for linalg.ldl_factor_ex is not implemented"
    ):
        ld.sum().backward()
    b = cr.tensor(RNG.standard_normal((5, 1)), requires_grad=True)
    x = cr.linalg.ldl_solve(ld.detach(), piv, b)
    with pytest.raises(RuntimeError, match="derivative for linalg.ldl_solve is not implemented"):
        x.sum().backward()


LDL_BAD = {
    "not_square": lambda L: L.linalg.ldl_factor(L.ones(2, 3, dtype=L.float64)),
    "int": lambda L: L.linalg.ldl_factor(L.ones(2, 2, dtype=L.int64)),
    "vector": lambda L: L.linalg.ldl_factor(L.ones(2, dtype=L.float64)),
    "solve_b_rows": lambda L: L.linalg.ldl_solve(
        L.eye(3, dtype=L.float64), L.tensor([1, 2, 3], dtype=L.int32), L.ones(2, 1, dtype=L.float64)
    ),
    "solve_pivot_dtype": lambda L: L.linalg.ldl_solve(
        L.eye(3, dtype=L.float64), L.tensor([1.0, 2.0, 3.0]), L.ones(3, 1, dtype=L.float64)
    ),
    "solve_pivot_shape": lambda L: L.linalg.ldl_solve(
        L.eye(3, dtype=L.float64), L.tensor([1, 2], dtype=L.int32), L.ones(3, 1, dtype=L.float64)
    ),
    "solve_b_dtype": lambda L: L.linalg.ldl_solve(
        L.eye(3, dtype=L.float64), L.tensor([1, 2, 3], dtype=L.int32), L.ones(3, 1)
    ),
}


@pytest.mark.parametrize("case", list(LDL_BAD))
def test_ldl_bad_inputs_raise_like_torch(case):
    with pytest.raises(Exception) as want:
        LDL_BAD[case](torch)
    with pytest.raises(want.type, match="ldl"):
        LDL_BAD[case](cr)


# ------------------------------------------------------------------ bad inputs


BAD = {
    "vecdot_dtypes": lambda L: L.linalg.vecdot(L.ones(3), L.ones(3, dtype=L.float64)),
    "vecdot_int": lambda L: L.linalg.vecdot(L.ones(3, dtype=L.int64), L.ones(3, dtype=L.int64)),
    "vecdot_shapes": lambda L: L.linalg.vecdot(L.ones(2, 3), L.ones(4, 3)),
    "vander_N": lambda L: L.linalg.vander(L.ones(3), N=1),
    "vander_empty": lambda L: L.linalg.vander(L.ones(0)),
    "tensorinv_ind": lambda L: L.linalg.tensorinv(L.ones(2, 2), ind=0),
    "tensorinv_shape": lambda L: L.linalg.tensorinv(L.ones(2, 3, 4)),
    "tensorinv_singular": lambda L: L.linalg.tensorinv(L.ones(2, 2, 4, dtype=L.float64)),
    "tensorsolve_shape": lambda L: L.linalg.tensorsolve(L.ones(6, 2, 3), L.ones(6), dims=(0,)),
    "inv_ex_square": lambda L: L.linalg.inv_ex(L.ones(2, 3)),
    "solve_ex_square": lambda L: L.linalg.solve_ex(L.ones(2, 3), L.ones(2)),
    "cond_ord": lambda L: L.linalg.cond(L.ones(2, 2), "foo"),
    "cond_ord_3": lambda L: L.linalg.cond(L.ones(2, 2), 3),
    "cond_square": lambda L: L.linalg.cond(L.ones(2, 3), 1),
    "hh_wide": lambda L: L.linalg.householder_product(L.ones(2, 3), L.ones(2)),
    "hh_tau_long": lambda L: L.linalg.householder_product(L.ones(3, 2), L.ones(3)),
    "hh_tau_rank": lambda L: L.linalg.householder_product(L.ones(2, 3, 2), L.ones(2)),
    "hh_tau_dtype": lambda L: L.linalg.householder_product(
        L.ones(3, 2, dtype=L.float64), L.ones(1)
    ),
    "hh_tau_0d": lambda L: L.linalg.householder_product(L.ones(3, 2), L.ones(())),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_inputs_raise_like_torch(case):
    with pytest.raises(Exception) as want:
        BAD[case](torch)
    name = case.split("_")[0].replace("hh", "householder_product")
    expected = cr.linalg.LinAlgError if want.type is torch.linalg.LinAlgError else want.type
    if str(want.value).startswith(("Dimension specified as", "inv: ")):  # torch's own words
        name = re.escape(str(want.value).splitlines()[0])  # (CONTRIBUTING: "Error messages")
    with pytest.raises(expected, match=name):
        BAD[case](cr)
