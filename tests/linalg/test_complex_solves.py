"""Complex triangular, Cholesky and LU solves against PyTorch: values, gradients for both
operands (complex128, batches, broadcasting), gradcheck on tiny sizes, and PyTorch's answer
to mixed real/complex operands (promotion for ``solve_triangular``, an error elsewhere)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(7)


def _crandn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def _quiet(fn, *args, **kw):
    """A PyTorch call whose deprecation warning is not under test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def _compare(fn_cr, fn_torch, arrays, *, mask=None, rtol=1e-9):
    """Same value and same gradients (a real loss Re(sum(W * out)) with complex W) for every
    array; ``mask[i]`` (an array) restricts input ``i``'s gradient comparison to a triangle."""
    c_in = [cr.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    c_out, t_out = fn_cr(*c_in), fn_torch(*t_in)
    assert str(c_out.dtype) == str(t_out.dtype)
    np.testing.assert_allclose(
        c_out.detach().numpy(), t_out.detach().resolve_conj().numpy(), rtol=rtol, atol=1e-12
    )
    w = _crandn(*c_out.shape)
    (c_out * cr.tensor(w)).real.sum().backward()
    (t_out * torch.tensor(w)).real.sum().backward()
    for i, (c, t) in enumerate(zip(c_in, t_in)):
        want = t.grad.resolve_conj().numpy()
        if mask is not None and mask[i] is not None:
            want = np.where(mask[i], want, 0)
        np.testing.assert_allclose(c.grad.numpy(), want, rtol=1e-8, atol=1e-10)


def _tri(shape, upper):
    a = _crandn(*shape) + 3 * np.eye(shape[-1])
    return np.triu(a) if upper else np.tril(a)


# ------------------------------------------------------------------ solve_triangular
@pytest.mark.parametrize(
    "a_shape,b_shape,upper,left,unit",
    [
        ((3, 3), (3, 2), True, True, False),
        ((2, 1, 3, 3), (4, 3, 2), False, True, False),  # batches broadcast
        ((2, 3, 3), (2, 4, 3), True, False, False),
        ((3, 3), (2, 2, 3), False, False, True),
    ],
)
def test_solve_triangular_complex_matches_torch(a_shape, b_shape, upper, left, unit):
    a, b = _crandn(*a_shape) + 3 * np.eye(a_shape[-1]), _crandn(*b_shape)

    def run(lib):
        return lambda x, y: lib.linalg.solve_triangular(
            x, y, upper=upper, left=left, unitriangular=unit
        )

    _compare(run(cr), run(torch), [a, b])


def test_solve_triangular_complex64_forward():
    a = _tri((3, 3), False).astype(np.complex64)
    b = _crandn(3, 2).astype(np.complex64)
    got = cr.linalg.solve_triangular(cr.tensor(a), cr.tensor(b), upper=False)
    want = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=False)
    assert got.dtype == cr.complex64
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


def test_solve_triangular_mixed_dtypes_compute_in_the_dtype_of_a_like_torch():
    a, b = _tri((3, 3), True), _crandn(3, 2)
    # complex A, real B: B is promoted. PyTorch's backward then fails on an internal check;
    # chainrule gives the real B the real part of the gradient a complex B (same values) gets
    ca, cb = cr.tensor(a), cr.tensor(b.real.copy(), requires_grad=True)
    got = cr.linalg.solve_triangular(ca, cb, upper=True)
    assert got.dtype == cr.complex128
    tb = torch.tensor(b.real + 0j, requires_grad=True)
    want = torch.linalg.solve_triangular(torch.tensor(a), tb, upper=True)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    w = _crandn(3, 2)
    (got * cr.tensor(w)).real.sum().backward()
    (want * torch.tensor(w)).real.sum().backward()
    assert cb.grad.dtype == cr.float64
    np.testing.assert_allclose(cb.grad.numpy(), tb.grad.numpy().real, rtol=1e-10)
    with pytest.raises(RuntimeError, match="isFloatingType"):  # PyTorch's side of it
        tr = torch.tensor(b.real.copy(), requires_grad=True)
        torch.linalg.solve_triangular(torch.tensor(a), tr, upper=True).real.sum().backward()
    # complex64 A, complex128 B: the result is complex64, as in PyTorch
    got = cr.linalg.solve_triangular(cr.tensor(a.astype(np.complex64)), cr.tensor(b), upper=True)
    assert got.dtype == cr.complex64
    # real A, complex B: PyTorch warns and drops B's imaginary part; chainrule warns the same
    want = _quiet(torch.linalg.solve_triangular, torch.tensor(a.real), torch.tensor(b), upper=True)
    with pytest.warns(UserWarning, match="solve_triangular: .*discards the imaginary part"):
        got = cr.linalg.solve_triangular(cr.tensor(a.real), cr.tensor(b), upper=True)
    assert got.dtype == cr.float64 and want.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


# ------------------------------------------------------------------- cholesky_solve
def _chol(*batch: int, n: int = 3) -> np.ndarray:
    m = _crandn(*batch, n, n)
    return np.linalg.cholesky(m @ np.conj(np.swapaxes(m, -1, -2)) + n * np.eye(n))


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("l_batch,b_shape", [((), (3, 2)), ((2, 1), (3, 3, 1))])
def test_cholesky_solve_complex_matches_torch(upper, l_batch, b_shape):
    low = _chol(*l_batch)
    factor = np.conj(np.swapaxes(low, -1, -2)) if upper else low
    tri = np.triu if upper else np.tril
    mask = [None, tri(np.ones((3, 3), bool))]  # PyTorch's gradient of L is dense (documented)
    _compare(
        lambda x, y: cr.cholesky_solve(x, y, upper),
        lambda x, y: torch.cholesky_solve(x, y, upper),
        [_crandn(*b_shape), factor],
        mask=mask,
    )


def test_cholesky_solve_through_linalg_cholesky_and_inverse():
    m = _crandn(3, 3)
    hpd = m @ m.conj().T + 3 * np.eye(3)
    b = _crandn(3, 2)
    _compare(
        lambda a, y: cr.cholesky_solve(y, cr.linalg.cholesky(a)),
        lambda a, y: torch.cholesky_solve(y, torch.linalg.cholesky(a)),
        [hpd, b],
    )
    low = _chol()
    np.testing.assert_allclose(
        cr.cholesky_inverse(cr.tensor(low)).numpy(),
        torch.cholesky_inverse(torch.tensor(low)).numpy(),
        rtol=1e-10,
    )


def test_cholesky_solve_refuses_mixed_real_and_complex_like_torch():
    low, b = _chol(), _crandn(3, 2)
    for bb, ll in [(b.real.copy(), low), (b, low.real.copy())]:
        with pytest.raises(RuntimeError, match="Expected b and A to have the same dtype"):
            torch.cholesky_solve(torch.tensor(bb), torch.tensor(ll))
        with pytest.raises(RuntimeError, match="cholesky_solve: Expected b and A to have the same"):
            cr.cholesky_solve(cr.tensor(bb), cr.tensor(ll))


# ------------------------------------------------------------------------ lu_solve
@pytest.mark.parametrize(
    "a_shape,b_shape,left,adjoint",
    [
        ((3, 3), (3, 2), True, False),
        ((3, 3), (3, 2), True, True),
        ((2, 3, 3), (2, 4, 3), False, False),
        ((2, 1, 3, 3), (3, 3, 2), True, True),  # batches broadcast
        ((3, 3), (2, 3), False, True),
    ],
)
def test_linalg_lu_solve_complex_matches_torch_through_lu_factor(a_shape, b_shape, left, adjoint):
    a, b = _crandn(*a_shape) + 2 * np.eye(a_shape[-1]), _crandn(*b_shape)

    def run(lib):
        def f(x, y):
            lu_, piv = lib.linalg.lu_factor(x)
            return lib.linalg.lu_solve(lu_, piv, y, left=left, adjoint=adjoint)

        return f

    _compare(run(cr), run(torch), [a, b])


@pytest.mark.parametrize("left,adjoint", [(True, False), (False, True)])
def test_linalg_lu_solve_complex_gradient_of_lu_itself(left, adjoint):
    a = _crandn(2, 3, 3)
    lu_t, piv_t = torch.linalg.lu_factor(torch.tensor(a))
    lu_c, piv_c = cr.linalg.lu_factor(cr.tensor(a))
    np.testing.assert_allclose(lu_c.numpy(), lu_t.numpy(), rtol=1e-10)
    np.testing.assert_array_equal(piv_c.numpy(), piv_t.numpy())  # LAPACK's |re| + |im| pivots
    piv = piv_c.numpy()
    _compare(
        lambda x, y: cr.linalg.lu_solve(x, cr.tensor(piv), y, left=left, adjoint=adjoint),
        lambda x, y: torch.linalg.lu_solve(x, torch.tensor(piv), y, left=left, adjoint=adjoint),
        [lu_c.numpy(), _crandn(2, 3, 3)],
    )


def test_legacy_lu_solve_complex_matches_torch():
    a, b = _crandn(2, 3, 3), _crandn(2, 3, 2)

    def run(lib, warns):
        def f(x, y):
            lu_, piv = lib.linalg.lu_factor(x)
            if warns:
                with pytest.warns(UserWarning, match="lu_solve is deprecated"):
                    return lib.lu_solve(y, lu_, piv)
            return _quiet(lib.lu_solve, y, lu_, piv)

        return f

    _compare(run(cr, True), run(torch, False), [a, b])


def test_lu_solve_refuses_mixed_real_and_complex_like_torch():
    a, b = _crandn(3, 3), _crandn(3, 2)
    for aa, bb in [(a, b.real.copy()), (a.real.copy(), b)]:
        lu_t, piv_t = torch.linalg.lu_factor(torch.tensor(aa))
        lu_c, piv_c = cr.linalg.lu_factor(cr.tensor(aa))
        with pytest.raises(RuntimeError, match="Expected LU and B to have the same dtype"):
            torch.linalg.lu_solve(lu_t, piv_t, torch.tensor(bb))
        with pytest.raises(RuntimeError, match="lu_solve: Expected LU and B to have the same"):
            cr.linalg.lu_solve(lu_c, piv_c, cr.tensor(bb))
        with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="same dtype"):
            cr.lu_solve(cr.tensor(bb), lu_c, piv_c)


def test_lu_solve_complex64_forward():
    a, b = _crandn(3, 3).astype(np.complex64), _crandn(3, 2).astype(np.complex64)
    lu_c, piv_c = cr.linalg.lu_factor(cr.tensor(a))
    got = cr.linalg.lu_solve(lu_c, piv_c, cr.tensor(b), adjoint=True)
    lu_t, piv_t = torch.linalg.lu_factor(torch.tensor(a))
    want = torch.linalg.lu_solve(lu_t, piv_t, torch.tensor(b), adjoint=True)
    assert got.dtype == cr.complex64
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------ gradcheck
def _leaf(x: np.ndarray) -> cr.Tensor:
    return cr.tensor(x, requires_grad=True)


def test_gradcheck_complex_solves():
    gc = cr.autograd.gradcheck
    a, b = _leaf(_crandn(2, 2) + 2 * np.eye(2)), _leaf(_crandn(2, 1))
    assert gc(lambda x, y: cr.linalg.solve_triangular(x, y, upper=True, left=True), (a, b))
    assert gc(lambda x, y: cr.linalg.solve_triangular(x, y.mT, upper=False, left=False), (a, b))
    low = _leaf(_chol(n=2))
    assert gc(lambda y, x: cr.cholesky_solve(y, x), (b, low))
    assert gc(lambda y, x: cr.cholesky_solve(y, x.mH, upper=True), (b, low))

    def lu_path(x, y, left, adjoint):
        lu_, piv = cr.linalg.lu_factor(x)
        return cr.linalg.lu_solve(lu_, piv, y if left else y.mT, left=left, adjoint=adjoint)

    for left, adjoint in [(True, False), (True, True), (False, False), (False, True)]:
        assert gc(lambda x, y, l=left, j=adjoint: lu_path(x, y, l, j), (a, b))


def test_complex_solves_forward_mode_and_double_backward():
    a, b = _leaf(_crandn(2, 2) + 2 * np.eye(2)), _leaf(_crandn(2, 1))
    fns = [
        lambda x, y: cr.linalg.solve_triangular(x, y, upper=True),
        lambda x, y: cr.linalg.lu_solve(*cr.linalg.lu_factor(x), y, adjoint=True),
        lambda x, y: cr.cholesky_solve(y, cr.linalg.cholesky(x @ x.mH + cr.eye(2))),
    ]
    for fn in fns:
        assert cr.autograd.gradcheck(fn, (a, b), check_forward_ad=True)
        assert cr.autograd.gradgradcheck(fn, (a, b))
