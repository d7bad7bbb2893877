"""ops/linalg_more.py, linalg/triangular.py, linalg/chains.py: what the op specs do not cover
(values, gradients, gradcheck and forward mode are in tests/ops/op_specs_linalg_more.py):
warnings, edge cases, error messages, the documented differences from PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


def _both(a):
    return cr.tensor(a), torch.tensor(a)


def _torch_quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


RNG = np.random.default_rng(0)


# ----------------------------------------------------------------------- matrix_exp
def test_linalg_matrix_exp_is_the_top_level_op():
    assert cr.linalg.matrix_exp is cr.matrix_exp


def test_matrix_exp_edge_cases_match_torch():
    one = RNG.standard_normal((4, 1, 1))
    np.testing.assert_allclose(cr.linalg.matrix_exp(cr.tensor(one)).numpy(), np.exp(one))
    zero = np.zeros((2, 3, 3))
    np.testing.assert_array_equal(
        cr.linalg.matrix_exp(cr.tensor(zero)).numpy(), np.eye(3)[None].repeat(2, 0)
    )
    big = RNG.standard_normal((3, 4, 4)) * 6
    c, t = _both(big)
    np.testing.assert_allclose(
        cr.linalg.matrix_exp(c).numpy(), torch.linalg.matrix_exp(t).numpy(), rtol=1e-10
    )
    f32 = RNG.standard_normal((3, 3)).astype(np.float32)
    got = cr.linalg.matrix_exp(cr.tensor(f32))
    assert got.dtype == cr.float32
    np.testing.assert_allclose(got.numpy(), torch.linalg.matrix_exp(torch.tensor(f32)), rtol=1e-5)


# ------------------------------------------------------------------ solve_triangular
@pytest.mark.parametrize("a_dtype,b_dtype", [("float32", "float64"), ("float64", "float32")])
def test_solve_triangular_computes_in_the_dtype_of_a_like_torch(a_dtype, b_dtype):
    a = np.tril(RNG.standard_normal((3, 3))) + 3 * np.eye(3)
    b = RNG.standard_normal((3, 2))
    c_a, c_b = cr.tensor(a.astype(a_dtype)), cr.tensor(b.astype(b_dtype))
    t_a, t_b = torch.tensor(a.astype(a_dtype)), torch.tensor(b.astype(b_dtype))
    got = cr.linalg.solve_triangular(c_a, c_b, upper=False)
    want = torch.linalg.solve_triangular(t_a, t_b, upper=False)
    assert str(got.dtype) == str(want.dtype) == f"torch.{a_dtype}"
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


def test_solve_triangular_needs_upper_and_a_matrix_b():
    a, b = cr.eye(3), cr.ones(3)
    with pytest.raises(TypeError):
        cr.linalg.solve_triangular(a, b.reshape(3, 1))  # upper is required, as in PyTorch
    with pytest.raises(RuntimeError, match="B must have at least 2 dimensions"):
        cr.linalg.solve_triangular(a, b, upper=True)


def test_zero_on_the_diagonal_raises_where_torch_returns_nan():
    """Documented difference: PyTorch's triangular solvers return inf/NaN silently."""
    a = np.triu(RNG.standard_normal((3, 3)))
    a[1, 1] = 0.0
    b = RNG.standard_normal((3, 2))
    assert not np.isfinite(
        _torch_quiet(torch.triangular_solve, torch.tensor(b), torch.tensor(a)).solution.numpy()
    ).all()
    with pytest.raises(cr.linalg.LinAlgError, match="triangular_solve"), pytest.warns(UserWarning):
        cr.triangular_solve(cr.tensor(b), cr.tensor(a))
    with pytest.raises(cr.linalg.LinAlgError, match="solve_triangular"):
        cr.linalg.solve_triangular(cr.tensor(a), cr.tensor(b), upper=True)
    # unitriangular never reads the diagonal: the zero does not matter
    got = cr.linalg.solve_triangular(cr.tensor(a), cr.tensor(b), upper=True, unitriangular=True)
    want = torch.linalg.solve_triangular(
        torch.tensor(a), torch.tensor(b), upper=True, unitriangular=True
    )
    np.testing.assert_allclose(got.numpy(), want.numpy())


# --------------------------------------------------------------------- cholesky_ex
def test_cholesky_ex_reports_failures_like_torch():
    a = np.array([[4.0, 2, 1], [2, 1, 3], [1, 3, 5]])
    batch = np.stack([a, np.eye(3) * 2, -np.eye(3)])
    for upper in (False, True):
        got = cr.linalg.cholesky_ex(cr.tensor(batch), upper=upper)
        want = torch.linalg.cholesky_ex(torch.tensor(batch), upper=upper)
        np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())
        assert got.info.dtype == cr.int32
        np.testing.assert_allclose(got.L.numpy(), want.L.numpy())
    with pytest.raises(cr.linalg.LinAlgError, match="minor of order 2"):
        cr.linalg.cholesky_ex(cr.tensor(a), check_errors=True)


def test_cholesky_ex_gradient_flows_through_the_matrices_that_succeed():
    good = RNG.standard_normal((3, 3))
    good = good @ good.T + 3 * np.eye(3)
    x = cr.tensor(np.stack([good, -np.eye(3)]), requires_grad=True)
    cr.linalg.cholesky_ex(x).L.sum().backward()
    t = torch.tensor(good, requires_grad=True)
    torch.linalg.cholesky(t).sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[0], t.grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy()[1], 0.0)


# ------------------------------------------------------- cholesky_solve / inverse
def test_cholesky_solve_gradient_is_zero_in_the_unread_triangle():
    """Documented difference: PyTorch's gradient for L is dense (it differentiates L L^T with
    all of L); chainrule's is that of the triangle the solve reads. They agree there."""
    low = np.tril(RNG.standard_normal((3, 3))) + 3 * np.eye(3)
    b = RNG.standard_normal((3, 2))
    cl, tl = cr.tensor(low, requires_grad=True), torch.tensor(low, requires_grad=True)
    cr.cholesky_solve(cr.tensor(b), cl).sum().backward()
    torch.cholesky_solve(torch.tensor(b), tl).sum().backward()
    np.testing.assert_allclose(cl.grad.numpy(), np.tril(tl.grad.numpy()))
    assert np.any(np.triu(tl.grad.numpy(), 1) != 0)
    np.testing.assert_array_equal(np.triu(cl.grad.numpy(), 1), 0.0)


def test_cholesky_solve_reads_only_the_triangle_and_checks_dtypes():
    low = np.tril(RNG.standard_normal((3, 3))) + 3 * np.eye(3)
    junk = low + np.triu(RNG.standard_normal((3, 3)), 1)
    b = RNG.standard_normal((3, 2))
    np.testing.assert_allclose(
        cr.cholesky_solve(cr.tensor(b), cr.tensor(junk)).numpy(),
        torch.cholesky_solve(torch.tensor(b), torch.tensor(junk)).numpy(),
    )
    np.testing.assert_allclose(
        cr.cholesky_inverse(cr.tensor(junk)).numpy(),
        torch.cholesky_inverse(torch.tensor(junk)).numpy(),
    )
    with pytest.raises(
        RuntimeError, match="cholesky_solve: Expected b and A to have the same dtype"
    ):
        cr.cholesky_solve(cr.tensor(b, dtype=cr.float32), cr.tensor(low))
    with pytest.raises(RuntimeError, match="cholesky_solve: b should have at least 2"):
        cr.cholesky_solve(cr.tensor(b[:, 0]), cr.tensor(low))
    with pytest.raises(RuntimeError, match="cholesky_inverse"):
        cr.cholesky_inverse(cr.tensor(low[:2]))


def test_out_argument_is_written():
    low = np.tril(RNG.standard_normal((3, 3))) + 3 * np.eye(3)
    out = cr.empty(3, 3, dtype=cr.float64)
    res = cr.cholesky_inverse(cr.tensor(low), out=out)
    assert res is out
    np.testing.assert_allclose(out.numpy(), torch.cholesky_inverse(torch.tensor(low)).numpy())


# --------------------------------------------------------------- triangular_solve
def test_triangular_solve_warns_and_returns_a_named_tuple_with_a_copy():
    a = np.triu(RNG.standard_normal((3, 3))) + 3 * np.eye(3)
    b = RNG.standard_normal((2, 3, 2))
    ca = cr.tensor(a)
    with pytest.warns(UserWarning, match="linalg.solve_triangular"):
        res = cr.triangular_solve(cr.tensor(b), ca)
    want = _torch_quiet(torch.triangular_solve, torch.tensor(b), torch.tensor(a))
    assert res._fields == ("solution", "cloned_coefficient")
    np.testing.assert_allclose(res.solution.numpy(), want.solution.numpy())
    assert tuple(res.cloned_coefficient.shape) == tuple(want.cloned_coefficient.shape) == (2, 3, 3)
    res.cloned_coefficient[0, 0, 0] = 100.0
    assert ca.numpy()[0, 0] == a[0, 0]  # a copy, not a view
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="at least 2 dimensions"):
        cr.triangular_solve(cr.ones(3, dtype=cr.float64), ca)


# ------------------------------------------------------------------------- addr
def test_addr_integer_rules_match_torch():
    m, u, v = np.ones((3, 2), np.int64), np.arange(3), np.arange(2)
    got = cr.addr(cr.tensor(m), cr.tensor(u), cr.tensor(v), beta=2, alpha=3)
    want = torch.addr(torch.tensor(m), torch.tensor(u), torch.tensor(v), beta=2, alpha=3)
    assert got.dtype == cr.int64
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(RuntimeError, match="addr: For integral input tensors, argument beta"):
        cr.addr(cr.tensor(m), cr.tensor(u), cr.tensor(v), beta=2.5)
    with pytest.raises(RuntimeError, match="addr: Expected 1-D argument vec1"):
        cr.addr(cr.tensor(m), cr.tensor(u).reshape(3, 1), cr.tensor(v))


def test_addr_beta_zero_ignores_nan_and_in_place_form():
    m = np.full((3, 2), np.nan)
    u, v = RNG.standard_normal(3), RNG.standard_normal(2)
    got = cr.addr(cr.tensor(m), cr.tensor(u), cr.tensor(v), beta=0)
    np.testing.assert_allclose(got.numpy(), np.outer(u, v))
    x = cr.zeros(3, 2, dtype=cr.float64)
    assert x.addr_(cr.tensor(u), cr.tensor(v), alpha=2) is x
    np.testing.assert_allclose(x.numpy(), 2 * np.outer(u, v))


# ------------------------------------------------------------------------ cross
def test_cross_default_dim_is_the_first_dim_of_size_3_and_warns():
    a, b = RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))
    with pytest.warns(UserWarning, match="without specifying the dim"):
        got = cr.cross(cr.tensor(a), cr.tensor(b))
    want = _torch_quiet(torch.cross, torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(got.numpy(), want.numpy())
    np.testing.assert_allclose(got.numpy(), np.cross(a, b, axis=0))  # not linalg.cross's -1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.cross(cr.tensor(a), cr.tensor(b), dim=1)  # an explicit dim does not warn
    # the warning is PyTorch's warn-once: issued above already, not again
    with pytest.raises(RuntimeError, match="cross: no dimension of size 3"):
        cr.cross(cr.ones(2, 4), cr.ones(2, 4))


# ------------------------------------------------------------- adjoint, mH, H
@pytest.mark.parametrize("name", ["mH", "H", "adjoint"])
def test_conjugate_transposes_follow_torch_for_every_rank(name):
    for shape in [(), (3,), (2, 3), (2, 3, 4)]:
        c, t = _both(RNG.standard_normal(shape))

        def get(x):
            out = getattr(x, name)
            return out() if name == "adjoint" else out

        with warnings.catch_warnings(record=True) as t_warn:
            warnings.simplefilter("always")
            try:
                want, t_err = get(t), None
            except RuntimeError as err:
                want, t_err = None, err
        if t_err is not None:
            with pytest.raises(RuntimeError) as info:
                get(c)
            assert str(info.value) == str(t_err).split(" (Triggered")[0]
            continue
        if t_warn:
            with pytest.warns(UserWarning, match="deprecated on 0-D tensors"):
                got = get(c)
            assert got is c
        else:
            got = get(c)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_mH_is_a_differentiable_view():
    x = cr.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    y = x.mH
    (y * cr.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(6.0).reshape(3, 2).T)


# --------------------------------------------------------- chain_matmul, multi_dot
def test_chain_matmul_warns_and_checks_like_torch():
    a = RNG.standard_normal((3, 3))
    with pytest.warns(UserWarning, match="multi_dot"):
        one = cr.chain_matmul(cr.tensor(a))
    np.testing.assert_array_equal(one.numpy(), a)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="Expected one or more"):
        cr.chain_matmul()
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="chain_matmul"):
        cr.chain_matmul(cr.tensor(a), cr.ones(3, dtype=cr.float64))
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="cannot be multiplied"):
        cr.chain_matmul(cr.tensor(a), cr.ones(2, 3, dtype=cr.float64))


def test_multi_dot_errors():
    a = cr.ones(3, 3)
    with pytest.raises(RuntimeError, match="at least 2 tensors"):
        cr.linalg.multi_dot([a])
    with pytest.raises(RuntimeError, match="last tensor must be 1D or 2D"):
        cr.linalg.multi_dot([a, cr.ones(2, 3, 3)])
    with pytest.raises(RuntimeError, match="same dtype"):
        cr.linalg.multi_dot([a, cr.ones(3, 3, dtype=cr.float64)])
    v = RNG.standard_normal(3)
    assert cr.linalg.multi_dot([cr.tensor(v), cr.tensor(v)]).shape == ()


# ------------------------------------------------------------ deprecated norms
def test_deprecated_norms_warn_and_match_torch():
    x = RNG.standard_normal((2, 3, 4))
    c, t = _both(x)
    with pytest.warns(UserWarning, match="vector_norm"):
        got = cr.frobenius_norm(c, ())
    np.testing.assert_allclose(got.numpy(), _torch_quiet(torch.frobenius_norm, t, ()).numpy())
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="at most 2 dimensions"):
        cr.frobenius_norm(c, (0, 1, 2))
    with pytest.warns(UserWarning, match="matrix_norm"):
        got = cr.nuclear_norm(c[0], True)  # the (input, keepdim) overload
    assert got.shape == (1, 1)
    np.testing.assert_allclose(got.numpy(), _torch_quiet(torch.nuclear_norm, t[0], True).numpy())


def test_matrix_rank_is_removed_as_in_torch():
    with pytest.raises(RuntimeError, match="linalg.matrix_rank"):
        torch.matrix_rank(torch.eye(2))
    with pytest.raises(RuntimeError, match="linalg.matrix_rank"):
        cr.matrix_rank(cr.eye(2))


def test_tensor_methods_exist_where_torch_has_them():
    for name in ["cholesky_solve", "cholesky_inverse", "triangular_solve", "addr", "addr_",
                 "cross", "adjoint", "mH", "H"]:  # fmt: skip
        assert hasattr(torch.Tensor, name) and hasattr(cr.Tensor, name), name
    for name in ["chain_matmul", "nuclear_norm", "frobenius_norm", "matrix_rank"]:
        assert not hasattr(torch.Tensor, name) and not hasattr(cr.Tensor, name), name


# --------------------------------------------------------------------------- LU
def test_lu_factor_ex_reports_a_zero_pivot_and_lu_factor_raises():
    z = np.zeros((3, 3))
    z[0, 0] = 1.0
    got = cr.linalg.lu_factor_ex(cr.tensor(z))
    want = torch.linalg.lu_factor_ex(torch.tensor(z))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    assert got.pivots.dtype == cr.int32 and got.info.dtype == cr.int32
    with pytest.raises(cr.linalg.LinAlgError, match=r"U\[2,2\] is zero"):
        cr.linalg.lu_factor(cr.tensor(z))
    with pytest.raises(cr.linalg.LinAlgError, match="lu_factor_ex"):
        cr.linalg.lu_factor_ex(cr.tensor(z), check_errors=True)
    with pytest.raises(RuntimeError, match="without pivoting"):
        cr.linalg.lu_factor(cr.tensor(z), pivot=False)


def test_deprecated_lu_returns_a_tuple_or_named_infos_and_warns():
    a = RNG.standard_normal((2, 3, 3))
    c, t = _both(a)
    with pytest.warns(UserWarning, match="lu_factor"):
        res = cr.lu(c)
    assert type(res) is tuple and len(res) == 2
    with pytest.warns(UserWarning):
        res = c.lu(get_infos=True)
    want = _torch_quiet(torch.lu, t, get_infos=True)
    assert res._fields == ("LU", "pivots", "info")
    for g, w in zip(res, want):
        np.testing.assert_allclose(g.numpy(), w.numpy())
    b = RNG.standard_normal((2, 3, 1))
    with pytest.warns(UserWarning, match="arguments reversed"):
        x = cr.lu_solve(cr.tensor(b), res.LU, res.pivots)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b))


def test_lu_unpack_flags_and_checks():
    a = RNG.standard_normal((4, 3))
    lu_, piv = cr.linalg.lu_factor(cr.tensor(a))
    t_lu, t_piv = torch.linalg.lu_factor(torch.tensor(a))
    for flags in [(True, True), (False, True), (True, False), (False, False)]:
        got, want = cr.lu_unpack(lu_, piv, *flags), torch.lu_unpack(t_lu, t_piv, *flags)
        assert got._fields == ("P", "L", "U")
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w.numpy())
    p, low, up = cr.lu_unpack(lu_, piv)
    np.testing.assert_allclose((p @ low @ up).numpy(), a)
    with pytest.raises(RuntimeError, match="lu_unpack: LU_pivots is expected to be .* int32"):
        cr.lu_unpack(lu_, piv.long())
    with pytest.raises(RuntimeError, match="lu_unpack: Expected tensor with 2 or more"):
        cr.lu_unpack(lu_[0], piv)
    with pytest.raises(RuntimeError, match="linalg.lu_solve: pivots should be .* int32"):
        cr.linalg.lu_solve(lu_[:3], piv.long(), cr.ones(3, 1, dtype=cr.float64))


def test_lu_factor_of_float32_and_empty_batches_match_torch():
    a = RNG.standard_normal((2, 4, 4)).astype(np.float32)
    got, want = cr.linalg.lu_factor(cr.tensor(a)), torch.linalg.lu_factor(torch.tensor(a))
    assert got.LU.dtype == cr.float32
    np.testing.assert_allclose(got.LU.numpy(), want.LU.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got.pivots.numpy(), want.pivots.numpy())
    empty = cr.linalg.lu_factor(cr.zeros(0, 3, 2, dtype=cr.float64))
    assert empty.LU.shape == (0, 3, 2) and empty.pivots.shape == (0, 2)
