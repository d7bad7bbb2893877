"""Session 47 (c): PyTorch's words and results for singular linalg inputs (``lu_factor``,
``cholesky_inverse``, ``cholesky_solve``, ``tensorinv``, ``tensorsolve``), the shapes in
vmap's broadcast refusal of an in-place op at nested levels, and ``vmap(grad(f))`` through
an op without a derivative. Every case runs torch live."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.func as tf

import chainrule as cr
import chainrule.func as cf


def _raised(fn):
    """The exception ``fn()`` raises (None if it returns)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scatter's reduce= deprecation, not under test
            fn()
    except Exception as err:  # noqa: BLE001 - the exception is what is compared
        return err
    return None


def _same_error(cr_fn, torch_fn):
    """chainrule raises an exception of torch's type family (RuntimeError or
    NotImplementedError), with torch's text."""
    want, got = _raised(torch_fn), _raised(cr_fn)
    assert want is not None and got is not None, (want, got)
    base = NotImplementedError if isinstance(want, NotImplementedError) else RuntimeError
    assert isinstance(got, base), type(got)
    assert str(got) == str(want)
    return got, want


# ----------------------------------------------------------------- singular matrices
def _singular_batch(m, n: int = 2):
    a = np.tile(np.eye(n), (7, 1, 1))
    a[5, -2:, -2:] = [[1.0, 2.0], [2.0, 4.0]]
    return m.tensor(a)


LU_CASES = {
    "batched": lambda m: _singular_batch(m),
    "batched 3x3": lambda m: _singular_batch(m, 3),
    "one matrix": lambda m: _singular_batch(m)[5],
    "zeros": lambda m: m.zeros(2, 2, dtype=m.float64),
    "zeros batch": lambda m: m.zeros(2, 3, 3, dtype=m.float64),
}


@pytest.mark.parametrize("case", list(LU_CASES))
@pytest.mark.parametrize("op", ["lu_factor", "lu_factor_ex"])
def test_lu_factor_singular_text(case, op):
    make = LU_CASES[case]
    kw = {"check_errors": True} if op == "lu_factor_ex" else {}
    _same_error(
        lambda: getattr(cr.linalg, op)(make(cr), **kw),
        lambda: getattr(torch.linalg, op)(make(torch), **kw),
    )


def test_lu_factor_out_keeps_the_text():
    def run(m):
        a = _singular_batch(m)
        return m.linalg.lu_factor(a, out=(m.empty_like(a), m.empty(7, 2, dtype=m.int32)))

    _same_error(lambda: run(cr), lambda: run(torch))


def test_lu_factor_ex_without_check_reports_info():
    got, want = (
        cr.linalg.lu_factor_ex(_singular_batch(cr)),
        torch.linalg.lu_factor_ex(_singular_batch(torch)),
    )
    np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())


@pytest.mark.xfail(
    strict=True,
    reason="torch's lu_factor raises a plain RuntimeError, not LinAlgError; chainrule's is a "
    "LinAlgError (a RuntimeError subclass) that tests/test_linalg_more.py relies on",
)
def test_lu_factor_singular_error_class():
    got, want = _same_error(
        lambda: cr.linalg.lu_factor(_singular_batch(cr)),
        lambda: torch.linalg.lu_factor(_singular_batch(torch)),
    )
    assert isinstance(got, cr.linalg.LinAlgError) == isinstance(want, torch.linalg.LinAlgError)


def test_linalg_error_class_hierarchy():
    assert issubclass(torch.linalg.LinAlgError, RuntimeError)
    assert issubclass(cr.linalg.LinAlgError, RuntimeError)
    err = _raised(lambda: cr.cholesky_inverse(cr.zeros(2, 2)))
    assert isinstance(err, cr.linalg.LinAlgError)
    assert isinstance(
        _raised(lambda: torch.cholesky_inverse(torch.zeros(2, 2))), torch.linalg.LinAlgError
    )


def _factor(m, n: int, k: int, batched: bool = True):
    """Identity factors with a zero at diagonal element ``k`` (0-based) of matrix 5."""
    a = np.tile(np.eye(n), (7, 1, 1))
    a[5, k, k] = 0.0
    a[5, -1, 0] = 1.0  # a below-diagonal entry: the lower triangle is read
    return m.tensor(a if batched else a[5])


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize(
    ("n", "k", "batched"), [(2, 0, True), (2, 0, False), (3, 1, True), (3, 2, False)]
)
def test_cholesky_inverse_singular_text(n, k, batched, upper):
    _same_error(
        lambda: cr.cholesky_inverse(_factor(cr, n, k, batched), upper),
        lambda: torch.cholesky_inverse(_factor(torch, n, k, batched), upper),
    )


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize(
    ("n", "k", "batched"), [(2, 0, True), (2, 0, False), (3, 1, True), (3, 2, False)]
)
def test_cholesky_solve_singular_returns_torchs_inf_nan(n, k, batched, upper):
    b = np.arange(1.0, 2 * n + 1).reshape(n, 2)
    got = cr.cholesky_solve(cr.tensor(b), _factor(cr, n, k, batched), upper)
    want = torch.cholesky_solve(torch.tensor(b), _factor(torch, n, k, batched), upper)
    np.testing.assert_array_equal(got.numpy(), want.numpy())  # NaN == NaN, inf signs too


def test_cholesky_solve_singular_float32_and_zero_factor():
    for m in (cr, torch):
        m.manual_seed(0)
    got = cr.cholesky_solve(cr.ones(2, 1), cr.zeros(2, 2))
    want = torch.cholesky_solve(torch.ones(2, 1), torch.zeros(2, 2))
    assert got.dtype == cr.float32
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize(("shape", "ind"), [((4, 2, 2), 1), ((2, 2, 4), 2), ((2, 2), 1)])
def test_tensorinv_singular_text(shape, ind):
    _same_error(
        lambda: cr.linalg.tensorinv(cr.zeros(*shape), ind=ind),
        lambda: torch.linalg.tensorinv(torch.zeros(*shape), ind=ind),
    )


def test_tensorsolve_singular_text():
    _same_error(
        lambda: cr.linalg.tensorsolve(cr.zeros(2, 2), cr.ones(2)),
        lambda: torch.linalg.tensorsolve(torch.zeros(2, 2), torch.ones(2)),
    )


# ---------------------------------------------------- vmap: in-place into a less-batched self
def _nested(m, f, where: str):
    """``f(q, x)`` under vmaps, ``q`` (the in-place target) and ``x`` batched where named."""
    vmap, ones = (cf.vmap if m is cr else tf.vmap), m.ones
    cases = {
        "L1": lambda: vmap(lambda x: f(ones(4), x))(ones(3, 4)),
        "q-outer x-inner": lambda: vmap(lambda q: vmap(lambda x: f(q, x))(ones(3, 4)))(ones(2, 4)),
        "q-none x-inner": lambda: vmap(lambda y: vmap(lambda x: f(ones(4), x))(ones(3, 4)))(
            ones(2, 4)
        ),
        "q-none x-outer": lambda: vmap(lambda x: vmap(lambda y: f(ones(4), x))(ones(3, 4)))(
            ones(2, 4)
        ),
        "q-inner x-outer": lambda: vmap(lambda x: vmap(lambda q: f(q, x))(ones(3, 4)))(ones(2, 4)),
        "q-none x-both": lambda: vmap(lambda x: vmap(lambda x2: f(ones(4), x2))(x))(ones(2, 3, 4)),
        "equal sizes": lambda: vmap(lambda q: vmap(lambda x: f(q, x))(ones(2, 4)))(ones(2, 4)),
        "L3 q-mid x-inner": lambda: vmap(
            lambda a: vmap(lambda q: vmap(lambda x: f(q, x))(ones(3, 4)))(ones(5, 4))
        )(ones(2, 4)),
        "L3 q-outer,mid x-inner": lambda: vmap(
            lambda q: vmap(lambda q2: vmap(lambda x: f(q2, x))(ones(3, 4)))(q)
        )(ones(2, 5, 4)),
        "L3 q-mid x-outer,inner": lambda: vmap(
            lambda x: vmap(lambda q: vmap(lambda x2: f(q, x2))(x.expand(3, 4)))(ones(5, 4))
        )(ones(2, 4)),
    }
    return cases[where]


WHERE = [
    "L1",
    "q-outer x-inner",
    "q-none x-inner",
    "q-none x-outer",
    "q-inner x-outer",
    "q-none x-both",
    "equal sizes",
    "L3 q-mid x-inner",
    "L3 q-outer,mid x-inner",
    "L3 q-mid x-outer,inner",
]


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("op", ["add_", "mul_", "atan2_", "copy_", "copysign_"])
def test_vmap_inplace_refusal_text(op, where):
    def f(q, x):
        return getattr(q, op)(x)

    _same_error(_nested(cr, f, where), _nested(torch, f, where))


# ------------------------------------------------- vmap(grad(f)) through a no-derivative op
def _no_derivative_fns(m):
    idx = m.tensor([0, 1])
    return {
        "scatter add": lambda x: x.scatter(0, idx, m.ones(2), reduce="add").sum(),
        "scatter multiply src": lambda x: m.ones(3).scatter(0, idx, x[:2], reduce="multiply").sum(),
        "floor_divide": lambda x: m.floor_divide(x, 2.0).sum(),
        "heaviside": lambda x: m.heaviside(x, m.ones(3)).sum(),
        "div floor": lambda x: m.div(x, 2.0, rounding_mode="floor").sum(),
        "sign": lambda x: x.sign().sum(),
    }


TRANSFORMS = {
    "grad": lambda fn, m: fn.grad,
    "vmap(grad)": lambda fn, m: lambda f: fn.vmap(fn.grad(f)),
    "vmap(jacrev)": lambda fn, m: lambda f: fn.vmap(fn.jacrev(f)),
    "grad(vmap)": lambda fn, m: lambda f: fn.grad(lambda x: fn.vmap(f)(x).sum()),
}


def _transformed(m, name: str, how: str):
    fn = cf if m is cr else tf
    f = _no_derivative_fns(m)[name]
    x = m.ones(3) if how == "grad" else m.ones(2, 3)
    return lambda: TRANSFORMS[how](fn, m)(f)(x)


@pytest.mark.parametrize("how", list(TRANSFORMS))
@pytest.mark.parametrize(
    "name", ["scatter add", "scatter multiply src", "floor_divide", "heaviside"]
)
def test_no_derivative_raises_under_vmap(name, how):
    _same_error(_transformed(cr, name, how), _transformed(torch, name, how))


@pytest.mark.parametrize("how", list(TRANSFORMS))
@pytest.mark.parametrize("name", ["div floor", "sign"])
def test_zero_derivative_under_vmap(name, how):
    got, want = _transformed(cr, name, how)(), _transformed(torch, name, how)()
    np.testing.assert_array_equal(got.numpy(), want.numpy())


_NO_FORWARD = {
    "scatter_add": lambda m, x: x.scatter(0, m.tensor([0, 1]), m.ones(2), reduce="add"),
    "scatter_multiply": lambda m, x: x.scatter(0, m.tensor([0, 1]), 2.0, reduce="multiply"),
    "floor_divide": lambda m, x: m.floor_divide(x, 2.0),
    "heaviside": lambda m, x: m.heaviside(x, m.ones(3)),
}


@pytest.mark.parametrize("transform", ["jacfwd", "vmap_jvp"])
@pytest.mark.parametrize("op", sorted(_NO_FORWARD))
def test_forward_transforms_through_no_derivative_ops_raise(op, transform):
    """jacfwd (a vmapped jvp) through an op torch gives no forward formula: torch's
    NotImplementedError, not a tangent passed through the result computed without the graph
    (session 47: chainrule returned a wrong tangent)."""

    def run(m, fn):
        f = lambda x: _NO_FORWARD[op](m, x).sum()  # noqa: E731
        if transform == "jacfwd":
            return fn.jacfwd(f)(m.ones(3))
        return fn.vmap(lambda t: fn.jvp(f, (m.ones(3),), (t,))[1])(m.eye(3))

    _same_error(lambda: run(cr, cf), lambda: run(torch, tf))
