"""Complex ``cr.linalg.ldl_factor`` / ``ldl_factor_ex`` / ``ldl_solve`` against PyTorch:
complex symmetric (``hermitian=False``, LAPACK's ``zsytrf``) and Hermitian (``hermitian=True``,
``zhetrf``) matrices in complex128 and complex64, 1x1 and 2x2 pivots, batches, singular D,
``out=``, a solve with the other ``hermitian`` than the factorization's, and no derivative.

The pivots and ``info`` agree exactly; ``LD`` agrees to rounding (MKL's complex arithmetic
rounds the last bit differently from NumPy's)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(116)


@pytest.fixture(autouse=True)
def _fresh_rng():
    """The same draws for each test however the tests are selected or ordered."""
    global RNG
    RNG = np.random.default_rng(116)


TOL = {np.complex128: dict(rtol=1e-12, atol=1e-12), np.complex64: dict(rtol=2e-5, atol=2e-5)}


def _crandn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def _make(a: np.ndarray, hermitian: bool) -> np.ndarray:
    """A complex symmetric (A = A^T) or Hermitian (A = A^H, plus an imaginary diagonal that
    the factorization must ignore) matrix from ``a``."""
    if not hermitian:
        return a + np.swapaxes(a, -1, -2)
    h = a + np.conj(np.swapaxes(a, -1, -2))
    return h + 1j * np.eye(a.shape[-1]) * RNG.standard_normal(a.shape[:-1])[..., None]


def _cases(hermitian: bool) -> list[np.ndarray]:
    out = [_make(_crandn(n, n), hermitian) for n in (1, 2, 3, 5, 8, 12)]
    small = _make(_crandn(7, 7), hermitian)
    small[np.diag_indices(7)] *= 1e-3  # tiny diagonal: 2x2 pivots and row interchanges
    zero = _make(np.round(2 * _crandn(6, 6)), hermitian)
    zero[np.diag_indices(6)] = 0.0  # zero diagonal: 2x2 pivots only
    # Column 0 below the diagonal is (3+3j, 5): LAPACK's size |Re|+|Im| picks row 1 (6 > 5)
    # where |z| would pick row 2 (4.24 < 5); both frameworks pair rows 0, 1 (pivots -2).
    cabs = np.array([[3.5, 0, 0], [3 + 3j, 1, 0], [5, 2, 1]], dtype=complex)
    cabs = cabs + np.tril(cabs, -1).T if not hermitian else cabs + np.conj(np.tril(cabs, -1).T)
    return [*out, small, zero, cabs]


def _both_factor(a: np.ndarray, **kw):
    return cr.linalg.ldl_factor_ex(cr.tensor(a), **kw), torch.linalg.ldl_factor_ex(
        torch.tensor(a), **kw
    )


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("hermitian", [False, True])
def test_ldl_factor_complex_matches_torch(hermitian, dtype):
    saw_2x2 = False
    for a in _cases(hermitian):
        a = a.astype(dtype)
        got, want = _both_factor(a, hermitian=hermitian)
        assert got.LD.dtype == getattr(cr, np.dtype(dtype).name)
        assert got.pivots.dtype == cr.int32 and got.info.dtype == cr.int32
        np.testing.assert_array_equal(got.pivots.numpy(), want.pivots.numpy())
        assert int(got.info) == int(want.info) == 0
        ld = got.LD.numpy()
        np.testing.assert_allclose(ld, want.LD.numpy(), **TOL[dtype])
        assert not np.triu(ld, 1).any()  # the strict upper triangle is zero, as torch's
        if hermitian:  # D's diagonal is stored real, as torch's
            assert not ld.diagonal().imag.any() and not want.LD.numpy().diagonal().imag.any()
        saw_2x2 |= bool((got.pivots.numpy() < 0).any())
    assert saw_2x2
    assert got.pivots.tolist() == [-2, -2, 3]  # the |Re|+|Im| case (the last)


@pytest.mark.parametrize("hermitian", [False, True])
def test_ldl_solve_complex_matches_torch_and_solves(hermitian):
    for a in _cases(hermitian)[2:]:
        n = a.shape[0]
        b = _crandn(n, 2)
        got, want = _both_factor(a, hermitian=hermitian)
        x = cr.linalg.ldl_solve(got.LD, got.pivots, cr.tensor(b), hermitian=hermitian)
        xt = torch.linalg.ldl_solve(want.LD, want.pivots, torch.tensor(b), hermitian=hermitian)
        assert x.dtype == cr.complex128
        np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-9, atol=1e-10)
        exact = a - 1j * np.diag(a.diagonal().imag) if hermitian else a  # the A it factored
        np.testing.assert_allclose(exact @ x.numpy(), b, atol=1e-9)


def test_ldl_hermitian_reads_lower_triangle_and_real_diagonal_only():
    h = _make(_crandn(5, 5), True)
    other = np.tril(h) + 7j * np.eye(5) + np.triu(_crandn(5, 5), 1)
    a, b = (cr.linalg.ldl_factor(cr.tensor(m), hermitian=True) for m in (h, other))
    np.testing.assert_array_equal(a.LD.numpy(), b.LD.numpy())
    np.testing.assert_array_equal(a.pivots.numpy(), b.pivots.numpy())


@pytest.mark.parametrize("factor_hermitian", [False, True])
def test_ldl_solve_with_the_other_hermitian_gives_torchs_answer(factor_hermitian):
    a = _cases(factor_hermitian)[6]  # the tiny-diagonal case: 1x1 and 2x2 blocks
    b = _crandn(7, 3)
    got, want = _both_factor(a, hermitian=factor_hermitian)
    x = cr.linalg.ldl_solve(got.LD, got.pivots, cr.tensor(b), hermitian=not factor_hermitian)
    xt = torch.linalg.ldl_solve(
        want.LD, want.pivots, torch.tensor(b), hermitian=not factor_hermitian
    )
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-8, atol=1e-9)
    # a packed factor with a complex 1x1 block: hermitian=True reads only its real part
    ld = np.tril(_crandn(3, 3))
    for piv in ([1, 3, 3], [-2, -2, 3]):
        args = (ld, np.array(piv, dtype=np.int32), b[:3])
        x = cr.linalg.ldl_solve(*map(cr.tensor, args), hermitian=True)
        xt = torch.linalg.ldl_solve(*map(torch.tensor, args), hermitian=True)
        np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("hermitian", [False, True])
def test_ldl_complex_batched_complex64_and_broadcast_solve(hermitian):
    a = _make(_crandn(2, 3, 4, 4), hermitian).astype(np.complex64)
    a[0, 1][np.diag_indices(4)] *= 1e-3
    got, want = _both_factor(a, hermitian=hermitian)
    np.testing.assert_array_equal(got.pivots.numpy(), want.pivots.numpy())
    np.testing.assert_allclose(got.LD.numpy(), want.LD.numpy(), rtol=1e-4, atol=1e-4)
    assert tuple(got.info.shape) == (2, 3) and not got.info.numpy().any()
    b = _crandn(3, 4, 2).astype(np.complex64)  # broadcast over the leading batch dim
    x = cr.linalg.ldl_solve(got.LD, got.pivots, cr.tensor(b), hermitian=hermitian)
    assert x.dtype == cr.complex64 and tuple(x.shape) == (2, 3, 4, 2)
    exact = a - 1j * np.imag(a) * np.eye(4) if hermitian else a
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(exact, b), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("hermitian", [False, True])
def test_ldl_complex_singular_info_and_errors(hermitian):
    zero = np.zeros((3, 3, 3), dtype=complex)
    zero[1] = np.eye(3)
    zero[2] = np.diag([1j, 2, 3])  # Hermitian: the diagonal's imaginary part is dropped
    got, want = _both_factor(zero, hermitian=hermitian)
    np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())
    assert got.info.tolist() == [1, 0, 1 if hermitian else 0]
    np.testing.assert_array_equal(got.pivots.numpy(), want.pivots.numpy())
    np.testing.assert_array_equal(got.LD.numpy(), want.LD.numpy())
    with pytest.raises(cr.linalg.LinAlgError, match="ldl_factor_ex.*D\\[1, 1\\].*singular"):
        cr.linalg.ldl_factor_ex(cr.tensor(zero), hermitian=hermitian, check_errors=True)
    with pytest.raises(cr.linalg.LinAlgError, match="ldl_factor.*singular"):
        cr.linalg.ldl_factor(cr.tensor(zero), hermitian=hermitian)  # torch: internal assert
    with pytest.raises(RuntimeError):
        torch.linalg.ldl_factor(torch.tensor(zero), hermitian=hermitian)


def test_ldl_complex_out_and_dtype_errors_like_torch():
    a = _make(_crandn(4, 4), True)
    ld, piv = cr.empty(0, dtype=cr.complex128), cr.empty(0, dtype=cr.int32)
    res = cr.linalg.ldl_factor(cr.tensor(a), hermitian=True, out=(ld, piv))
    assert res.LD is ld and tuple(ld.shape) == (4, 4)
    want = torch.linalg.ldl_factor(torch.tensor(a), hermitian=True)
    np.testing.assert_allclose(ld.numpy(), want.LD.numpy(), rtol=1e-12, atol=1e-12)
    x = cr.empty(0, dtype=cr.complex128)
    cr.linalg.ldl_solve(ld, piv, cr.ones(4, 1, dtype=cr.complex128), hermitian=True, out=x)
    np.testing.assert_allclose(a @ x.numpy() - 1j * a.diagonal().imag[:, None] * x.numpy(), 1)
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="dtype"):  # complex64 out for a complex128 LD
            lib.linalg.ldl_factor(
                lib.tensor(a),
                out=(lib.empty(0, dtype=lib.complex64), lib.empty(0, dtype=lib.int32)),
            )
        with pytest.raises(RuntimeError, match="dtype"):  # real B for a complex LD
            lib.linalg.ldl_solve(
                lib.tensor(a),
                lib.tensor([1, 2, 3, 4], dtype=lib.int32),
                lib.ones(4, 1, dtype=lib.float64),
            )


def test_ldl_complex_has_no_derivative_like_torch():
    a = cr.tensor(_make(_crandn(3, 3), True), requires_grad=True)
    ld, piv = cr.linalg.ldl_factor(a, hermitian=True)
    assert ld.requires_grad
    with pytest.raises(RuntimeError, match="derivative for linalg.ldl_factor_ex"):
        ld.abs().sum().backward()
    b = cr.tensor(_crandn(3, 1), requires_grad=True)
    x = cr.linalg.ldl_solve(ld.detach(), piv, b, hermitian=True)
    with pytest.raises(RuntimeError, match="derivative for linalg.ldl_solve"):
        x.abs().sum().backward()
    t = torch.tensor(a.detach().numpy(), requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for .*ldl_factor_ex is not implemented"):
        torch.linalg.ldl_factor(t, hermitian=True).LD.abs().sum().backward()


def test_ldl_real_input_ignores_hermitian_like_torch():
    a = RNG.standard_normal((5, 5))
    a = a + a.T
    a[np.diag_indices(5)] *= 1e-3
    sym, her = (cr.linalg.ldl_factor(cr.tensor(a), hermitian=h) for h in (False, True))
    np.testing.assert_array_equal(sym.LD.numpy(), her.LD.numpy())
    np.testing.assert_array_equal(sym.pivots.numpy(), her.pivots.numpy())
    want = torch.linalg.ldl_factor(torch.tensor(a), hermitian=True)
    np.testing.assert_array_equal(her.pivots.numpy(), want.pivots.numpy())
    np.testing.assert_allclose(her.LD.numpy(), want.LD.numpy(), rtol=1e-12, atol=1e-13)
    x = cr.linalg.ldl_solve(her.LD, her.pivots, cr.tensor(np.ones((5, 1))), hermitian=True)
    assert x.dtype == cr.float64
    np.testing.assert_allclose(a @ x.numpy(), 1, atol=1e-8)
