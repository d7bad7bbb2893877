"""Wave 2 reductions, order statistics, scans, counting and random fills, against PyTorch.

The differentiable values are checked through tests/ops/op_specs.py; this file checks what
that table cannot: indices and named-tuple fields, integer and NaN inputs, ties, dtypes,
the integer ops (``bincount``, ``argwhere``, ``unique_consecutive``), argument errors, and
the in-place random fills (moments over many draws with a fixed seed).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

NAN = float("nan")
REDUCTIONS = (
    "nansum nanmean median nanmedian kthvalue mode quantile nanquantile msort cummax cummin "
    "logcumsumexp aminmax argwhere bincount unique_consecutive cov corrcoef"
).split()
FILLS = ("bernoulli_", "exponential_", "cauchy_", "log_normal_", "geometric_", "random_")


def both(a, **kw):
    """The same array as a chainrule and a torch tensor."""
    a = np.asarray(a)
    return cr.tensor(a, **kw), torch.tensor(a, **kw)


def same(c, t, exact=True):
    """chainrule result ``c`` equals torch result ``t``: shape, dtype and values."""
    c_np, t_np = np.asarray(c.detach().numpy()), t.detach().numpy()
    assert c_np.shape == t_np.shape, (c_np.shape, t_np.shape)
    assert c_np.dtype == t_np.dtype, (c_np.dtype, t_np.dtype)
    if exact:
        np.testing.assert_array_equal(c_np, t_np)
    else:
        np.testing.assert_allclose(c_np, t_np, rtol=1e-6, atol=1e-12, equal_nan=True)


# ----------------------------------------------------------------------------- binding


@pytest.mark.parametrize("name", REDUCTIONS)
def test_function_and_method_exist_like_torch(name):
    assert callable(getattr(cr, name))
    assert hasattr(cr.Tensor, name) == hasattr(torch.Tensor, name)
    assert hasattr(cr.Tensor, name + "_") == hasattr(torch.Tensor, name + "_")


@pytest.mark.parametrize("name", FILLS)
def test_fills_are_tensor_methods_only(name):
    assert hasattr(cr.Tensor, name)
    assert not hasattr(cr, name)


# ------------------------------------------------------------------- nansum / nanmean


def test_nansum_nanmean_values_dtypes_and_all_nan_slices():
    a = np.array([[1.0, NAN, 2.0], [NAN, NAN, NAN], [0.5, -1.0, NAN]])
    c, t = both(a)
    for dim, keep in ((None, False), (0, False), (1, True), ((0, 1), False)):
        same(cr.nansum(c, dim, keep), torch.nansum(t, dim, keep), exact=False)
        same(cr.nanmean(c, dim, keep), torch.nanmean(t, dim, keep), exact=False)
    same(c.nansum(dtype=cr.float32), t.nansum(dtype=torch.float32), exact=False)
    same(c.nanmean(1, dtype=cr.float32), t.nanmean(1, dtype=torch.float32), exact=False)
    assert np.isnan(c.nanmean(1).numpy()[1])  # an all-NaN row has no mean


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_nansum_of_integers_sums_in_int64_and_nanmean_refuses(dtype):
    c, t = both(np.array([[1, 0, 3], [2, 2, 0]]).astype(dtype))
    same(c.nansum(), t.nansum())
    same(c.nansum(1), t.nansum(1))
    for kw in ({}, {"dtype": "float32"}):  # dtype= does not make an integer input valid
        with pytest.raises(RuntimeError, match="nanmean"):
            c.nanmean(**{k: getattr(cr, v) for k, v in kw.items()})
        with pytest.raises(RuntimeError):
            t.nanmean(**{k: getattr(torch, v) for k, v in kw.items()})


def test_nansum_nanmean_gradient_is_zero_at_nan():
    a = np.array([[1.0, NAN, 2.0], [NAN, 3.0, 4.0]])
    for op in ("nansum", "nanmean"):
        c, t = both(a, requires_grad=True)
        getattr(c, op)(1).sum().backward()
        getattr(t, op)(1).sum().backward()
        same(c.grad, t.grad, exact=False)
        assert c.grad.numpy()[0, 1] == 0.0


# ------------------------------------------------------------ median / kthvalue / mode

TIES = np.array([[1.0, 3, 3, 2, 3], [5, 5, 1, 1, 2], [4, 4, 4, 4, 4]])


@pytest.mark.parametrize("op", ["median", "nanmedian"])
def test_median_with_dim_returns_named_values_indices(op):
    rng = np.random.default_rng(0)
    c, t = both(rng.permutation(24).reshape(2, 3, 4).astype(np.float64))  # distinct
    for dim, keep in ((0, False), (1, True), (-1, False)):
        r, tr = getattr(c, op)(dim, keep), getattr(t, op)(dim, keep)
        assert r._fields == ("values", "indices")
        same(r.values, tr.values)
        same(r.indices, tr.indices)
    whole = getattr(c, op)()
    same(whole, getattr(t, op)())


def test_median_and_kthvalue_on_ties_pick_an_element_with_torchs_value():
    c, t = both(TIES)
    for r, tr in ((c.median(1), t.median(1)), (c.kthvalue(2, 1), t.kthvalue(2, 1))):
        same(r.values, tr.values)
        picked = np.take_along_axis(TIES, r.indices.numpy()[:, None], 1)[:, 0]
        np.testing.assert_array_equal(picked, r.values.numpy())
    same(c.median(), t.median())


def test_whole_median_gradient_is_shared_among_ties_like_torch():
    a = np.array([[2.0, 1.0, 2.0], [3.0, 2.0, 0.0]])
    c, t = both(a, requires_grad=True)
    c.median().backward()
    t.median().backward()
    same(c.grad, t.grad)
    for op in ("median", "nanmedian"):
        c, t = both(np.array([1.0, NAN, 0.0, NAN, 1.0]), requires_grad=True)
        getattr(c, op)().backward()
        getattr(t, op)().backward()
        same(c.grad, t.grad)


def test_median_nan_handling_matches_torch():
    a = np.array([[1.0, 2.0, NAN, 0.0], [NAN, 3.0, 1.0, NAN], [NAN, NAN, NAN, NAN]])
    c, t = both(a)
    for op in ("median", "nanmedian"):
        r, tr = getattr(c, op)(1), getattr(t, op)(1)
        same(r.values, tr.values, exact=False)
        # Which NaN of an all-NaN row PyTorch reports is an artifact of its selection
        # algorithm (std::nth_element); chainrule reports the first one.
        same(r.indices[:2], tr.indices[:2])
        assert np.isnan(a[2, int(r.indices[2])])
        same(getattr(c, op)(), getattr(t, op)(), exact=False)
    same(c.kthvalue(4, 1).values, t.kthvalue(4, 1).values, exact=False)
    same(c.kthvalue(4, 1).indices, t.kthvalue(4, 1).indices)


@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_order_statistics_keep_dtype(dtype):
    rng = np.random.default_rng(1)
    c, t = both(rng.permutation(12).reshape(3, 4).astype(dtype))
    same(c.median(), t.median())
    same(c.median(0).values, t.median(0).values)
    same(c.kthvalue(3, 1).values, t.kthvalue(3, 1).values)
    same(c.kthvalue(3, 1).indices, t.kthvalue(3, 1).indices)
    same(c.mode(0).values, t.mode(0).values)
    same(c.msort(), t.msort())
    for op in ("cummax", "cummin"):
        r, tr = getattr(c, op)(1), getattr(t, op)(1)
        same(r.values, tr.values)
        same(r.indices, tr.indices)


def test_mode_picks_smallest_most_frequent_at_last_occurrence():
    c, t = both(TIES)
    for dim in (0, 1):
        r, tr = c.mode(dim), t.mode(dim)
        assert r._fields == ("values", "indices")
        same(r.values, tr.values)
        same(r.indices, tr.indices)
    c, t = both(TIES, requires_grad=True)
    c.mode(1).values.sum().backward()
    t.mode(1).values.sum().backward()
    same(c.grad, t.grad)


def test_mode_counts_each_nan_as_its_own_value():
    for row in ([1.0, NAN, NAN, 2.0], [NAN, 1.0, 1.0, NAN, NAN], [1.0, NAN, 2.0], [NAN, NAN]):
        c, t = both(np.array([row, row[::-1]]))
        r, tr = c.mode(1), t.mode(1)
        same(r.values, tr.values, exact=False)
        same(r.indices, tr.indices)


def test_zero_d_and_empty_inputs():
    c, t = both(np.array(3.0))
    for name, args in (("median", (0,)), ("kthvalue", (1,)), ("mode", ()), ("cummax", (0,))):
        r, tr = getattr(c, name)(*args), getattr(t, name)(*args)
        same(r[0], tr[0])
        same(r[1], tr[1])
    c, t = both(np.zeros((0, 4)))
    same(c.median(), t.median(), exact=False)
    same(c.median(1).values, t.median(1).values)
    same(c.kthvalue(1, 1).indices, t.kthvalue(1, 1).indices)
    with pytest.raises(IndexError, match="median"):
        c.median(0)
    with pytest.raises(IndexError, match="mode"):
        c.mode(0)


def test_order_statistic_argument_errors():
    c = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match="kthvalue"):
        c.kthvalue(3, 1)
    with pytest.raises(RuntimeError, match="kthvalue"):
        c.kthvalue(0)
    with pytest.raises(TypeError, match="kthvalue"):
        c.kthvalue(1.5)
    with pytest.raises(IndexError, match=r"^Dimension out of range \(expected to be in range"):
        c.median(2)  # PyTorch's words (CONTRIBUTING.md's "Error messages")
    with pytest.raises(TypeError, match="median"):
        cr.median(c, keepdim=True)


# ------------------------------------------------------------------------- quantile


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("op", ["quantile", "nanquantile"])
def test_quantile_matches_torch_with_ties_and_nan(op, interpolation):
    rng = np.random.default_rng(2)
    a = rng.integers(0, 4, (3, 7)).astype(np.float64)
    a[1, 2] = NAN
    c, t = both(a)
    qs = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 5 / 6, 1.0])
    qc, qt = both(qs)
    for dim, keep in ((None, False), (None, True), (0, False), (1, True), (-1, False)):
        kw = dict(dim=dim, keepdim=keep, interpolation=interpolation)
        same(getattr(c, op)(qc, **kw), getattr(t, op)(qt, **kw), exact=False)
        same(getattr(c, op)(0.4, **kw), getattr(t, op)(0.4, **kw), exact=False)
        same(getattr(c, op)(qc[2], **kw), getattr(t, op)(qt[2], **kw), exact=False)


def test_quantile_float32_and_gradient_weights():
    a = np.array([[0.3, -1.2, 2.0, 0.7], [1.5, 0.1, -0.4, 0.9]], dtype=np.float32)
    c, t = both(a, requires_grad=True)
    q = np.array([0.2, 0.65], np.float32)
    r, tr = c.quantile(cr.tensor(q), 1), t.quantile(torch.tensor(q), 1)
    same(r, tr, exact=False)
    r.sum().backward()
    tr.sum().backward()
    same(c.grad, t.grad, exact=False)


def test_quantile_errors_name_the_op():
    c = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    cases = [
        (lambda: c.quantile(1.5), RuntimeError, "range"),
        (lambda: c.quantile(cr.tensor([0.5, -0.1])), RuntimeError, "range"),
        (lambda: c.quantile(cr.tensor([0.5], dtype=cr.float64)), RuntimeError, "dtype"),
        (lambda: c.quantile(cr.tensor([[0.5]])), RuntimeError, "1D"),
        (lambda: c.quantile(0.5, interpolation="cubic"), RuntimeError, "interpolation"),
        (lambda: cr.tensor([1, 2]).quantile(0.5), RuntimeError, "float"),
        (lambda: cr.zeros(0).quantile(0.5), RuntimeError, "non-empty"),
        (lambda: c.quantile([0.5]), TypeError, "q"),
        (lambda: c.nanquantile(2.0), RuntimeError, "nanquantile"),
    ]
    for call, err, words in cases:
        with pytest.raises(err, match=words) as info:
            call()
        assert "quantile" in str(info.value)


# ----------------------------------------------------------------- running extremes


def test_cummax_cummin_ties_and_nan_like_torch():
    a = np.array([[1.0, NAN, 3.0, NAN, 2.0], [3.0, 1.0, 3.0, 0.0, 1.0], [2.0, 2.0, 2.0, 1.0, 2.0]])
    c, t = both(a)
    for op in ("cummax", "cummin"):
        for dim in (0, 1):
            r, tr = getattr(c, op)(dim), getattr(t, op)(dim)
            assert r._fields == ("values", "indices")
            same(r.values, tr.values, exact=False)
            same(r.indices, tr.indices)


def test_cummax_gradient_goes_to_the_source_element_on_ties():
    a = np.array([[1.0, 3.0, 3.0, 2.0, 4.0]])
    c, t = both(a, requires_grad=True)
    g = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    c.cummax(1).values.backward(cr.tensor(g))
    t.cummax(1).values.backward(torch.tensor(g))
    same(c.grad, t.grad)


def test_logcumsumexp_is_stable_forward_and_backward():
    a = np.array([[1000.0, 1000.0, -1000.0, 999.0], [-800.0, -900.0, -700.0, -1000.0]])
    c, t = both(a, requires_grad=True)
    r, tr = c.logcumsumexp(1), t.logcumsumexp(1)
    same(r, tr, exact=False)
    g = np.array([[1.0, -2.0, 0.5, 0.0], [0.3, 0.0, -1.0, 2.0]])
    r.backward(cr.tensor(g))
    tr.backward(torch.tensor(g))
    assert np.isfinite(c.grad.numpy()).all()
    same(c.grad, t.grad, exact=False)
    # Forward mode: dy_j = sum_{i <= j} t_i exp(x_i - y_j), every exponent <= 0. (PyTorch's
    # own forward-mode rule loses the second row here: it returns ~1e-31 for 0.3.)
    _, dy = cr.func.jvp(lambda v: v.logcumsumexp(1), (cr.tensor(a),), (cr.tensor(g),))
    y = np.logaddexp.accumulate(a, axis=1)
    want = np.stack(
        [
            [(g[r, : j + 1] * np.exp(a[r, : j + 1] - y[r, j])).sum() for j in range(4)]
            for r in range(2)
        ]
    )
    np.testing.assert_allclose(dy.numpy(), want, rtol=1e-12)
    c32, t32 = both(a.astype(np.float32))
    same(c32.logcumsumexp(0), t32.logcumsumexp(0), exact=False)
    with pytest.raises(NotImplementedError, match="logcumsumexp"):
        cr.tensor([1, 2]).logcumsumexp(0)


# ------------------------------------------------------------------ counting ops


def test_aminmax_fields_shapes_and_errors():
    c, t = both(TIES)
    for kw in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"keepdim": True}):
        r, tr = c.aminmax(**kw), torch.aminmax(t, **kw)
        assert r._fields == ("min", "max")
        same(r.min, tr.min)
        same(r.max, tr.max)
    for kw in ({}, {"dim": 1}):  # tied extremes share the gradient, as in PyTorch
        c, t = both(np.array([[1.0, 3, 3, 0], [2, 2, 1, 1]]), requires_grad=True)
        r, tr = c.aminmax(**kw), t.aminmax(**kw)
        (r.min * 2 + r.max * 3).sum().backward()
        (tr.min * 2 + tr.max * 3).sum().backward()
        same(c.grad, t.grad)
    same(cr.zeros(0, 3).aminmax(dim=1).max, torch.zeros(0, 3).aminmax(dim=1).max)
    with pytest.raises(RuntimeError, match="aminmax"):
        cr.zeros(0, 3).aminmax()
    with pytest.raises(RuntimeError, match="aminmax"):
        cr.zeros(0, 3).aminmax(dim=0)


@pytest.mark.parametrize(
    "a",
    [
        np.array([[0, 1.5], [2, 0]]),
        np.array(5.0),
        np.array(0.0),
        np.zeros((2, 0, 3)),
        np.array([True, False, True]),
    ],
)
def test_argwhere(a):
    c, t = both(a)
    same(cr.argwhere(c), torch.argwhere(t))
    same(c.argwhere(), t.argwhere())


def test_bincount_counts_weights_and_minlength():
    x = np.array([0, 1, 1, 3, 1])
    c, t = both(x)
    same(c.bincount(), t.bincount())
    same(cr.bincount(c, minlength=7), torch.bincount(t, minlength=7))
    for w in (np.array([0.5, 1, 2, 3, 4], np.float32), np.arange(5.0), np.arange(5)):
        (cw, tw) = both(w)
        same(cr.bincount(c, cw), torch.bincount(t, tw), exact=False)
    same(
        cr.bincount(cr.tensor(np.array([], np.int64))),
        torch.bincount(torch.tensor([], dtype=torch.int64)),
    )
    same(
        cr.bincount(cr.tensor(np.array([2, 0], np.uint8))),
        torch.bincount(torch.tensor([2, 0], dtype=torch.uint8)),
    )


def test_bincount_errors():
    cases = [
        (lambda lib: lib.bincount(lib.tensor([0, -1])), RuntimeError),
        (lambda lib: lib.bincount(lib.tensor([[0, 1]])), RuntimeError),
        (lambda lib: lib.bincount(lib.tensor([0.0, 1.0])), NotImplementedError),
        (lambda lib: lib.bincount(lib.tensor([True])), NotImplementedError),
        (lambda lib: lib.bincount(lib.tensor([0, 1]), minlength=-1), RuntimeError),
        (lambda lib: lib.bincount(lib.tensor([0, 1]), lib.tensor([1.0, 2.0, 3.0])), RuntimeError),
    ]
    for call, err in cases:
        with pytest.raises(err):
            call(torch)
        with pytest.raises(err, match="bincount"):
            call(cr)


def test_unique_consecutive_like_torch():
    x = np.array([[1, 1, 2], [2, 3, 1], [1, 1, 1]])
    c, t = both(x)
    same(cr.unique_consecutive(c), torch.unique_consecutive(t))
    for inv in (False, True):
        for cnt in (False, True):
            r = c.unique_consecutive(return_inverse=inv, return_counts=cnt)
            tr = t.unique_consecutive(return_inverse=inv, return_counts=cnt)
            r, tr = (r, tr) if isinstance(tr, tuple) else ((r,), (tr,))
            assert len(r) == len(tr)
            for a, b in zip(r, tr):
                same(a, b)
    ce, te = both(np.zeros(0))
    for a, b in zip(
        cr.unique_consecutive(ce, return_inverse=True, return_counts=True),
        torch.unique_consecutive(te, return_inverse=True, return_counts=True),
    ):
        same(a, b)
    for a, b in zip(
        cr.unique_consecutive(c, return_inverse=True, return_counts=True, dim=0),
        torch.unique_consecutive(t, return_inverse=True, return_counts=True, dim=0),
    ):
        same(a, b)


# ------------------------------------------------------------------ cov / corrcoef


def test_cov_and_corrcoef_like_torch():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 6))
    c, t = both(a)
    fw, afw = both(np.array([1, 2, 0, 3, 1, 1]))
    aw, aaw = both(np.array([0.5, 1.0, 2.0, 1.0, 0.3, 0.0]))
    for kw_c, kw_t in (
        ({}, {}),
        ({"correction": 0}, {"correction": 0}),
        ({"correction": 2, "fweights": fw}, {"correction": 2, "fweights": afw}),
        ({"aweights": aw}, {"aweights": aaw}),
        ({"fweights": fw, "aweights": aw}, {"fweights": afw, "aweights": aaw}),
    ):
        same(cr.cov(c, **kw_c), torch.cov(t, **kw_t), exact=False)
    same(c.corrcoef(), t.corrcoef(), exact=False)
    ci, ti = both(np.array([[1, 2, 4], [0, 1, 0]]))
    same(ci.cov(), ti.cov(), exact=False)
    same(ci.corrcoef(), ti.corrcoef(), exact=False)
    c1, t1 = both(np.array([1.0, 2.0, 4.0]))
    same(c1.cov(), t1.cov(), exact=False)
    same(c1.corrcoef(), t1.corrcoef(), exact=False)


def test_cov_errors_and_dof_warning():
    c = cr.ones(2, 3)
    with pytest.raises(RuntimeError, match="fweights"):
        cr.cov(c, fweights=cr.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="fweights"):
        cr.cov(c, fweights=cr.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="aweights"):
        cr.cov(c, aweights=cr.tensor([1.0, -2.0, 3.0]))
    with pytest.raises(RuntimeError, match="cov"):
        cr.cov(cr.ones(2, 2, 2))
    with pytest.raises(TypeError, match="correction"):
        cr.cov(c, correction=0.5)
    with pytest.raises(NotImplementedError, match="cov.*complex"):
        cr.cov(cr.tensor(np.ones((2, 3)) * 1j))
    w64 = cr.cov(cr.ones(3, dtype=cr.float32), aweights=cr.ones(3, dtype=cr.float64))
    assert (
        w64.dtype
        == torch.cov(torch.ones(3), aweights=torch.ones(3, dtype=torch.float64)).numpy().dtype
    )
    with pytest.warns(UserWarning, match="degrees of freedom"):
        r = cr.cov(cr.ones(2, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same(r, torch.cov(torch.ones(2, 1)), exact=False)


# --------------------------------------------------------------------- random fills

N = 200_000


def _fill(name, *args, dtype=cr.float64, seed=0, **kw):
    g = cr.Generator().manual_seed(seed)
    x = cr.zeros(N, dtype=dtype)
    out = getattr(x, name)(*args, generator=g, **kw)
    assert out is x
    return x.numpy()


def test_fill_moments():
    b = _fill("bernoulli_", 0.3)
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.005
    e = _fill("exponential_", 2.0)
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 0.005 and abs(e.var() - 0.25) < 0.01
    cauchy = _fill("cauchy_", 1.5, 2.0)  # no mean: check the median and quartiles
    q1, med, q3 = np.quantile(cauchy, [0.25, 0.5, 0.75])
    assert abs(med - 1.5) < 0.03 and abs((q3 - q1) / 2 - 2.0) < 0.05
    ln = _fill("log_normal_", 0.5, 0.4)
    assert ln.min() > 0 and abs(np.log(ln).mean() - 0.5) < 0.005
    assert abs(np.log(ln).std() - 0.4) < 0.005
    geo = _fill("geometric_", 0.25)
    assert geo.min() >= 1 and np.all(geo == np.round(geo)) and abs(geo.mean() - 4.0) < 0.05
    r = _fill("random_", 3, 8)
    assert set(np.unique(r)) == {3, 4, 5, 6, 7} and abs(r.mean() - 5.0) < 0.02
    r = _fill("random_", 10)
    assert r.min() == 0 and r.max() == 9
    r = _fill("random_", to=4)
    assert set(np.unique(r)) == {0, 1, 2, 3}
    r = _fill("random_", **{"from": -2, "to": 1})
    assert set(np.unique(r)) == {-2, -1, 0}
    r = _fill("random_", 5, None, dtype=cr.int32)
    assert r.min() >= 5 and r.max() > 2**30
    r = _fill("random_", dtype=cr.float32)
    assert r.min() >= 0 and r.max() <= 2**24 and r.dtype == np.float32 and r.max() > 2**23


def test_bernoulli_tensor_p_and_integer_fills():
    p = cr.tensor([0.0, 1.0, 0.5])
    x = cr.zeros(N, 3).bernoulli_(p, generator=cr.Generator().manual_seed(1)).numpy()
    np.testing.assert_array_equal(x[:, 0], 0)
    np.testing.assert_array_equal(x[:, 1], 1)
    assert abs(x[:, 2].mean() - 0.5) < 0.01
    assert cr.zeros(5, dtype=cr.int64).bernoulli_(0.5).dtype == np.int64
    assert cr.zeros(5, dtype=cr.bool).bernoulli_(0.5).dtype == np.bool_
    g = cr.zeros(1000, dtype=cr.int64).geometric_(0.5)
    assert g.dtype == np.int64 and g.numpy().min() >= 1
    r = cr.zeros(1000, dtype=cr.int64).random_(-5, 3).numpy()
    assert r.min() == -5 and r.max() == 2
    u8 = cr.zeros(1000, dtype=cr.uint8).random_().numpy()
    assert u8.max() > 200


def test_fills_are_reproducible_and_bump_the_version():
    a, b = _fill("exponential_", seed=7), _fill("exponential_", seed=7)
    np.testing.assert_array_equal(a, b)
    x = cr.zeros(3)
    v = x._version
    x.cauchy_()
    assert x._version == v + 1


@pytest.mark.parametrize(
    "name,args,dtype",
    [
        ("bernoulli_", (1.5,), "float32"),
        ("bernoulli_", (-0.1,), "float32"),
        ("bernoulli_", ("tensor_p_out_of_range",), "float32"),
        ("exponential_", (0.0,), "float32"),
        ("exponential_", (-1.0,), "float32"),
        ("exponential_", (), "int64"),
        ("cauchy_", (0.0, 0.0), "float32"),
        ("cauchy_", (), "int64"),
        ("log_normal_", (1.0, 0.0), "float32"),
        ("log_normal_", (1.0, -1.0), "float32"),
        ("log_normal_", (), "int64"),
        ("geometric_", (0.0,), "float32"),
        ("geometric_", (1.0,), "float32"),
        ("geometric_", (float("nan"),), "float32"),
        ("random_", (5, 3), "float32"),
        ("random_", (0,), "float32"),
        ("random_", (300,), "uint8"),
        ("random_", (70000,), "float16"),
    ],
)
def test_fill_argument_errors_like_torch(name, args, dtype):
    def call(lib):
        x = lib.zeros(3, dtype=getattr(lib, dtype))
        real = [lib.tensor([0.1, 2.0, 0.3]) if a == "tensor_p_out_of_range" else a for a in args]
        return getattr(x, name)(*real)

    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match=name):
        call(cr)


def test_fills_refuse_a_tensor_that_requires_grad():
    x = cr.zeros(3, requires_grad=True)
    for name in FILLS:
        args = (0.5,) if name == "geometric_" else ()
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            getattr(x, name)(*args)  # (PyTorch's text, which names no op)
    with cr.no_grad():
        x.exponential_()
    assert (x.detach().numpy() > 0).all()


# --------------------------------------------------------------------------- vmap


@pytest.mark.parametrize(
    "fn",
    [
        lambda r: r.median(),
        lambda r: r.nanmedian(),
        lambda r: r.median(0).values,
        lambda r: r.kthvalue(2).indices,
        lambda r: r.mode(0).values,
        lambda r: r.cummax(0).values,
        lambda r: r.cummin(0).indices,
        lambda r: r.logcumsumexp(0),
        lambda r: r.nansum(),
        lambda r: r.nanmean(),
        lambda r: r.aminmax().max,
        lambda r: r.quantile(0.3),
        lambda r: r.nanquantile(cr.tensor([0.2, 0.9], dtype=cr.float64), 0, keepdim=True),
        lambda r: r.quantile(0.5, 0, interpolation="nearest"),
    ],
)
def test_vmap_matches_a_loop_over_samples(fn):
    x = cr.tensor(np.random.default_rng(4).integers(0, 4, (3, 6)).astype(np.float64))
    got = cr.func.vmap(fn)(x)
    want = cr.stack([fn(x[i]) for i in range(3)])
    same(got, torch.from_numpy(want.numpy()))
