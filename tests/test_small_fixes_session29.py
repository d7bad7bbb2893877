"""Session 29 fixes, each checked against PyTorch 2.13 (and, for ``gelsy``, LAPACK via SciPy):
geqrf's op spec and missing derivative, out-of-range indices of take_along_dim / gather /
scatter, slogdet of matrices holding NaN, lstsq's drivers on rank-deficient input, uint8
bilinear / bicubic interpolation and CrossMapLRN2d's gradient."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

NAN = float("nan")


def _raises_like_torch(cr_call, torch_call, op: str):
    """Both raise; chainrule's error is an instance of PyTorch's class and names ``op`` or
    has PyTorch's words (``scatter_reduce``'s since session 46)."""
    with pytest.raises(Exception) as t_err:
        torch_call()
    with pytest.raises(Exception) as c_err:
        cr_call()
    assert isinstance(c_err.value, type(t_err.value)), (c_err.value, t_err.value)
    assert op in str(c_err.value) or str(c_err.value) == str(t_err.value)


# ------------------------------------------------------------------------------ 1. geqrf
def test_geqrf_is_in_the_op_spec_table_forward_only():
    from tests.ops.op_specs import SPECS

    (spec,) = [s for s in SPECS if s.name == "geqrf"]
    assert spec.checks == frozenset({"fwd"})


@pytest.mark.parametrize("which", [0, 1])
def test_geqrf_backward_raises_as_torch(which):
    a = np.random.default_rng(0).standard_normal((4, 3))
    t = torch.tensor(a, requires_grad=True)
    c = cr.tensor(a, requires_grad=True)
    touts, couts = torch.geqrf(t), cr.geqrf(c)
    assert [o.requires_grad for o in couts] == [o.requires_grad for o in touts] == [True, True]
    with pytest.raises(NotImplementedError) as t_err:
        touts[which].sum().backward()
    with pytest.raises(NotImplementedError) as c_err:
        couts[which].sum().backward()
    assert str(c_err.value) == str(t_err.value)


# ------------------------------------------------------------------ 2. out-of-range indices
_X = np.arange(12.0).reshape(3, 4)


@pytest.mark.parametrize("bad", [4, 100, -5, -9])
def test_take_along_dim_out_of_range_raises_naming_the_op(bad):
    """PyTorch 2.13 reads ``index % size`` here without a word; chainrule raises."""
    idx = np.array([[bad], [0], [1]])
    with pytest.raises(IndexError, match=r"take_along_dim: index -?\d+ is out of bounds"):
        cr.take_along_dim(cr.tensor(_X), cr.tensor(idx), dim=1)
    with pytest.raises(RuntimeError, match="take_along_dim"):  # both classes
        cr.tensor(_X).take_along_dim(cr.tensor(idx), dim=1)


def test_take_along_dim_in_range_negative_indices_match_torch():
    idx = np.array([[-1, -4], [0, -2], [3, 1]])
    got = cr.take_along_dim(cr.tensor(_X), cr.tensor(idx), dim=1)
    want = torch.take_along_dim(torch.tensor(_X), torch.tensor(idx), dim=1)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("bad", [12, -1])
def test_take_along_dim_without_dim_out_of_range_like_torch(bad):
    _raises_like_torch(
        lambda: cr.take_along_dim(cr.tensor(_X), cr.tensor([bad])),
        lambda: torch.take_along_dim(torch.tensor(_X), torch.tensor([bad])),
        "take_along_dim",
    )


def test_take_along_dim_empty_dim_raises_clearly():
    with pytest.raises(IndexError, match="dimension 1 with size 0 .the dimension is empty"):
        cr.take_along_dim(cr.zeros(3, 0), cr.tensor([[0], [0], [0]]), dim=1)


@pytest.mark.parametrize("bad", [4, -1])
@pytest.mark.parametrize("op", ["gather", "scatter", "scatter_add", "scatter_reduce"])
def test_gather_scatter_out_of_range_raise_like_torch(op, bad):
    idx = [[bad], [0], [1]]

    def call(lib):
        x, i = lib.tensor(_X), lib.tensor(idx)
        if op == "gather":
            return lambda: lib.gather(x, 1, i)
        if op == "scatter":
            return lambda: lib.scatter(x, 1, i, 1.0)
        if op == "scatter_add":
            return lambda: lib.scatter_add(x, 1, i, x)
        return lambda: x.scatter_reduce(1, i, x, "sum")

    _raises_like_torch(call(cr), call(torch), op)


def test_index_select_out_of_range_raises_like_torch():
    for bad in (3, -1):
        _raises_like_torch(
            lambda b=bad: cr.zeros(3).index_select(0, cr.tensor([b])),
            lambda b=bad: torch.zeros(3).index_select(0, torch.tensor([b])),
            "index_select",
        )


# ------------------------------------------------------------------------- 3. slogdet, NaN
_NAN_MATRICES = [
    [[NAN, 1.0], [2.0, 3.0]],
    [[1.0, 2.0], [3.0, NAN]],
    [[NAN, NAN], [NAN, NAN]],
    [[1.0, 2.0, 3.0], [4.0, NAN, 6.0], [7.0, 8.0, 10.0]],
    [[0.0, 1.0], [0.0, NAN]],  # a zero pivot too: NumPy alone says -inf
    [[NAN, 0.0], [0.0, 0.0]],
    [[float("inf"), NAN], [2.0, 3.0]],
    [[NAN]],
]


@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128"])
@pytest.mark.parametrize("m", _NAN_MATRICES)
def test_slogdet_of_a_matrix_holding_nan_matches_torch(m, dtype):
    a = np.array(m, dtype=dtype)
    want = torch.linalg.slogdet(torch.tensor(a))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's "invalid value" warning stays inside
        got = cr.linalg.slogdet(cr.tensor(a))
    for g, w in zip(got, want):
        assert str(g.dtype) == str(w.dtype)
        np.testing.assert_array_equal(g.numpy(), w.numpy())  # NaN == NaN, 0.0 == -0.0
    np.testing.assert_array_equal(cr.logdet(cr.tensor(a)).numpy(), torch.logdet(torch.tensor(a)))


def test_slogdet_nan_in_a_batch_and_its_gradient_match_torch():
    a = np.array([[[0.0, 1.0], [0.0, NAN]], [[1.0, 2.0], [3.0, 4.0]], [[2.0, 0.5], [1.0, NAN]]])
    t = torch.tensor(a, requires_grad=True)
    c = cr.tensor(a, requires_grad=True)
    want, got = torch.linalg.slogdet(t), cr.linalg.slogdet(c)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-12)
    want.logabsdet.sum().backward()
    got.logabsdet.sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    assert np.isnan(c.grad.numpy()[[0, 2]]).all() and np.isfinite(c.grad.numpy()[1]).all()


# ----------------------------------------------------------------------------- 4. lstsq
def _graded(m=6, n=4, s=(2.0, 0.9, 1e-4, 1e-8), seed=0):
    """A (m, n) matrix with the given singular values (well apart, so every rank decision
    is clear of rounding) and a right-hand side."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, m)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    k = min(m, n)
    return u[:, :k] @ np.diag(s[:k]) @ v[:, :k].T, rng.standard_normal((m, 2))


def _both_lstsq(a, b, **kw):
    return (
        cr.linalg.lstsq(cr.tensor(a), cr.tensor(b), **kw),
        torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), **kw),
    )


def _same_result(got, want, rtol=1e-7):
    for name in ("solution", "residuals", "rank", "singular_values"):
        g, w = getattr(got, name), getattr(want, name)
        assert tuple(g.shape) == tuple(w.shape), name
        assert str(g.dtype) == str(w.dtype), name
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=rtol, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("rcond", [None, 1e-6, 1e-3, 0.5, 1.0, 2.0, -1.0, 0.0])
@pytest.mark.parametrize("driver", ["gelsd", "gelss"])
@pytest.mark.parametrize("shape", [(6, 4), (4, 6)])
def test_lstsq_svd_drivers_rank_deficient_match_torch(driver, rcond, shape):
    """gelsd reads rcond <= 0 or >= 1 as eps / 2, gelss rcond < 0 as eps and 0 as 'above
    the smallest normal number'; both count s > rcond * s_max."""
    a, b = _graded(*shape)
    got, want = _both_lstsq(a, b, rcond=rcond, driver=driver)
    _same_result(got, want, rtol=1e-6)


@pytest.mark.parametrize(
    "s3,rcond,ranks",
    [(1.2e-16, -1.0, (3, 2)), (2.3e-16, -1.0, (3, 3)), (1e-300, 0.0, (2, 3))],
)
def test_lstsq_svd_driver_thresholds_on_exact_singular_values(s3, rcond, ranks):
    a = np.zeros((5, 3))
    a[0, 0], a[1, 1], a[2, 2] = 1.0, 0.5, s3
    b = np.random.default_rng(1).standard_normal((5, 2))
    for driver, rank in zip(("gelsd", "gelss"), ranks):
        got, want = _both_lstsq(a, b, rcond=rcond, driver=driver)
        assert int(got.rank) == int(want.rank) == rank, driver
        _same_result(got, want)


def test_lstsq_complex_and_batched_svd_drivers_match_torch():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 5, 2)) + 1j * rng.standard_normal((3, 5, 2))
    a = np.concatenate([a, a[..., :1] * (1 + 2j)], axis=-1)  # rank 2 of 3 columns
    b = rng.standard_normal((3, 5, 2)) + 1j * rng.standard_normal((3, 5, 2))
    for driver in ("gelsd", "gelss"):
        for rcond in (None, 0.3):
            got, want = _both_lstsq(a, b, rcond=rcond, driver=driver)
            _same_result(got, want, rtol=1e-6)


def _scipy_gelsy(a, b, rcond):
    linalg = pytest.importorskip("scipy.linalg")
    x, _, rank, _ = linalg.lstsq(a, b, cond=rcond, lapack_driver="gelsy")
    return x, rank


@pytest.mark.parametrize("rcond", [None, 1e-6, 1e-3, 0.5, 0.99, 2.0])
@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5)])
def test_lstsq_gelsy_rank_deficient_matches_lapack(shape, rcond):
    """gelsy's rank comes from QR with column pivoting and LAPACK's incremental condition
    estimator, its solution from the complete orthogonal factorization, not from the SVD.
    (PyTorch 2.13 passes LAPACK uninitialised pivot flags, so on rank-deficient input its
    own result varies from call to call: LAPACK's documented behaviour is the reference.)"""
    a, b = _graded(*shape, s=(2.0, 1.0, 1e-2, 1e-5, 1e-9))
    a[:, 1] *= 0.01  # column norms out of order: pivoting matters
    m, n = shape
    cond = rcond if rcond is not None else np.finfo(np.float64).eps * max(m, n)
    want_x, want_rank = _scipy_gelsy(a, b, cond)
    got = cr.linalg.lstsq(cr.tensor(a), cr.tensor(b), rcond=rcond, driver="gelsy")
    assert int(got.rank) == want_rank
    np.testing.assert_allclose(got.solution.numpy(), want_x, rtol=1e-6, atol=1e-9)
    assert got.residuals.shape == (0,) and got.singular_values.shape == (0,)


def test_lstsq_gelsy_zero_leading_column_and_rank_one_match_lapack():
    a = np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]])
    b = np.ones((3, 1))
    for rcond in (None, 0.5, 2.0):
        cond = rcond if rcond is not None else 3 * np.finfo(np.float64).eps
        want_x, want_rank = _scipy_gelsy(a, b, cond)
        got = cr.linalg.lstsq(cr.tensor(a), cr.tensor(b), rcond=rcond)  # gelsy by default
        assert int(got.rank) == want_rank == 1
        np.testing.assert_allclose(got.solution.numpy(), want_x, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape,rank", [((5, 3), 2), ((3, 5), 2), ((4, 4), 1), ((5, 3), 3)])
def test_lstsq_gelsy_matches_torch_where_torch_is_deterministic(shape, rank):
    """Exactly rank-deficient input, default rcond: pivoted or not, the neglected block is
    rounding noise, so the rank and the (minimum-norm) solution are PyTorch's."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((shape[0], rank)) @ rng.standard_normal((rank, shape[1]))
    b = rng.standard_normal((shape[0], 2))
    got, want = _both_lstsq(a, b, driver="gelsy")
    _same_result(got, want, rtol=1e-8)


@pytest.mark.parametrize("driver,rcond", [("gelsy", 0.5), ("gelsy", None), ("gelsd", 0.5)])
def test_lstsq_gradient_is_torchs_pinv_gradient(driver, rcond):
    """PyTorch differentiates the solution as pinv(A) @ B whatever the driver and rcond."""
    a, b = _graded(5, 3, s=(2.0, 1.0, 1e-2))
    g = np.random.default_rng(4).standard_normal((3, 2))
    grads = []
    for lib in (cr, torch):
        at, bt = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        x = lib.linalg.lstsq(at, bt, rcond=rcond, driver=driver).solution
        x.backward(lib.tensor(g))
        grads.append((at.grad.numpy(), bt.grad.numpy()))
    for got, want in zip(*grads):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


def test_lstsq_residuals_value_and_gradient_match_torch():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    grads = []
    for lib in (cr, torch):
        at, bt = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        r = lib.linalg.lstsq(at, bt, driver="gelsd")
        (r.residuals.sum() + r.solution.sum()).backward()
        grads.append((r.residuals.detach().numpy(), at.grad.numpy(), bt.grad.numpy()))
    for got, want in zip(*grads):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ 5. uint8 interpolation
_SIZES = [
    dict(size=(11, 5)),
    dict(size=(31, 12)),
    dict(size=(3, 40)),
    dict(size=(17, 8)),  # the height kept: one pass only
    dict(scale_factor=1.7),
    dict(scale_factor=0.45),
    dict(scale_factor=(1.04, 0.6)),  # height 17 -> 17 with a scale of 1 / 1.04: kept as is
]


@pytest.mark.parametrize("kw", _SIZES, ids=lambda kw: str(sorted(kw.items())))
@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_interpolate_uint8_matches_torch_exactly(mode, align_corners, antialias, kw):
    rng = np.random.default_rng(6)
    x = rng.integers(0, 256, (2, 3, 17, 19)).astype(np.uint8)
    x[0, 0, ::2, ::2] = 0  # a checkerboard corner: bicubic overshoots, then clamps
    x[0, 0, 1::2, 1::2] = 255
    args = dict(mode=mode, align_corners=align_corners, antialias=antialias, **kw)
    want = torch.nn.functional.interpolate(torch.tensor(x), **args)
    got = cr.nn.functional.interpolate(cr.tensor(x), **args)
    assert got.dtype == np.uint8 and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_interpolate_uint8_other_modes_and_dtypes_still_refused():
    with pytest.raises((NotImplementedError, RuntimeError)):
        cr.nn.functional.interpolate(
            cr.zeros(1, 1, 5, dtype=cr.uint8), scale_factor=2, mode="linear"
        )
    with pytest.raises((NotImplementedError, RuntimeError)):
        cr.nn.functional.interpolate(
            cr.zeros(1, 1, 4, 4, dtype=cr.int64), scale_factor=2, mode="bilinear"
        )


# ------------------------------------------------------------------------ 6. CrossMapLRN2d
@pytest.mark.parametrize("channels", [1, 3, 4, 7, 10])
@pytest.mark.parametrize("size", [2, 3, 4, 5])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cross_map_lrn2d_forward_and_gradient_match_torch(size, channels, dtype):
    rng = np.random.default_rng(size * 100 + channels)
    a = rng.standard_normal((2, channels, 3, 4)).astype(dtype)
    g = rng.standard_normal(a.shape).astype(dtype)
    out = []
    for lib in (cr, torch):
        x = lib.tensor(a, requires_grad=True)
        y = lib.nn.CrossMapLRN2d(size, alpha=0.3, beta=0.6, k=1.7)(x)
        y.backward(lib.tensor(g))
        out.append((y.detach().numpy(), x.grad.numpy()))
    tol = 1e-12 if dtype == "float64" else 1e-5
    for got, want in zip(*out):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_cross_map_lrn2d_size_one_and_double_backward_fail_as_torch():
    a = np.random.default_rng(7).standard_normal((1, 4, 2, 2))
    for lib in (cr, torch):
        x = lib.tensor(a, requires_grad=True)
        y = lib.nn.CrossMapLRN2d(1)(x)
        with pytest.raises(RuntimeError, match="exceeds dimension size"):
            y.sum().backward()
        with pytest.raises(RuntimeError):  # no second derivative in either
            (gx,) = lib.autograd.grad(lib.nn.CrossMapLRN2d(3)(x).sum(), x, create_graph=True)
            gx.sum().backward()


def test_lstsq_gelsy_without_scipy_falls_back_to_an_svd(monkeypatch):
    """Without SciPy (gelsy's LAPACK route) the default driver still solves: full-rank
    problems give PyTorch's solution and rank, a rank-deficient one the minimum-norm
    solution of the SVD-truncated problem."""
    import sys

    monkeypatch.setitem(sys.modules, "scipy.linalg", None)  # import fails
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((2, 6, 4)), rng.standard_normal((2, 6, 3))
    got = cr.linalg.lstsq(cr.tensor(a), cr.tensor(b))
    want = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(got.solution.numpy(), want.solution.numpy(), rtol=1e-10)
    assert got.rank.tolist() == want.rank.tolist() == [4, 4]
    low = a[0] @ np.diag([1.0, 1.0, 0.0, 0.0]) @ rng.standard_normal((4, 4))  # rank 2
    got = cr.linalg.lstsq(cr.tensor(low), cr.tensor(b[0]))
    assert int(got.rank) == 2
    np.testing.assert_allclose(got.solution.numpy(), np.linalg.pinv(low) @ b[0], atol=1e-10)
