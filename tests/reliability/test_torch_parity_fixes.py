"""Differences from PyTorch found earlier, each checked against PyTorch 2.13 itself: the index
returned among tied values by median / nanmedian (torch's) and kthvalue / mode (torch's is
implementation-defined; chainrule's documented rule), scatter_reduce's
gradients with ties and zeros, linalg.qr's derivative for wide inputs and its refusals,
in-place comparisons on a tensor in the graph, and pdist / cdist with p = inf and ties
(a deliberate, documented difference)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as fwad

import chainrule as cr

RNG = np.random.default_rng(20261201)

# ------------------------------------------------------------- order statistics with ties

_SIZES = [1, 2, 3, 5, 8, 16, 17, 33, 100, 257]
_DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8]


def _tied(dtype, shape, nan: bool = False) -> np.ndarray:
    a = RNG.integers(0, 3, shape).astype(dtype)
    if nan:
        a[RNG.random(shape) < 0.2] = np.nan
    return a


def _valid_occurrence(a: np.ndarray, values: np.ndarray, indices: np.ndarray) -> None:
    """Each index names an element of its slice (dim 1) equal to the returned value."""
    picked = np.take_along_axis(a, indices[:, None], axis=1)[:, 0]
    same = (picked == values) | (np.isnan(picked) & np.isnan(values))
    assert same.all(), (picked, values)


@pytest.mark.parametrize("dtype", _DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", _SIZES)
def test_medians_pick_torchs_index_among_ties_and_kthvalue_its_value(dtype, n):
    a = _tied(dtype, (4, n))
    t, c = torch.from_numpy(a), cr.tensor(a)
    cases = [
        ("median", lambda x: x.median(1)),
        ("nanmedian", lambda x: x.nanmedian(1)),
        ("median dim 0", lambda x: x.T.median(0)),
    ]
    for name, f in cases:
        if name.startswith("nanmedian") and dtype not in (np.float64, np.float32, np.float16):
            continue  # nanmedian is for floating types in PyTorch
        (tv, ti), (cv, ci) = f(t), f(c)
        np.testing.assert_array_equal(cv.numpy(), tv.numpy(), err_msg=name)
        np.testing.assert_array_equal(ci.numpy(), ti.numpy(), err_msg=name)
    # kthvalue: torch's quickselect picks an implementation-defined tied element; the value
    # is torch's and the index is the stable order's k-th (documented in kthvalue)
    for k in sorted({1, (n + 1) // 2, n}):
        (tv, _), (cv, ci) = t.kthvalue(k, 1), c.kthvalue(k, 1)
        np.testing.assert_array_equal(cv.numpy(), tv.numpy(), err_msg=f"k={k}")
        stable = np.argsort(a, axis=1, kind="stable")[:, k - 1]
        np.testing.assert_array_equal(ci.numpy(), stable)


@pytest.mark.parametrize("n", [2, 7, 16, 17, 40, 129])
def test_kthvalue_and_medians_with_nan_and_ties(n):
    a = _tied(np.float64, (3, n), nan=True)
    t, c = torch.from_numpy(a), cr.tensor(a)
    for k in range(1, n + 1, max(1, n // 6)):
        (tv, _), (cv, ci) = t.kthvalue(k, 1), c.kthvalue(k, 1)
        np.testing.assert_array_equal(cv.numpy(), tv.numpy(), err_msg=f"k={k}")
        _valid_occurrence(a, cv.numpy(), ci.numpy())
    for name in ("median", "nanmedian"):
        (tv, ti), (cv, ci) = getattr(t, name)(1), getattr(c, name)(1)
        np.testing.assert_array_equal(ci.numpy(), ti.numpy(), err_msg=name)
        np.testing.assert_array_equal(cv.numpy(), tv.numpy())


def test_kthvalue_gradient_goes_to_the_returned_element():
    a = np.array([[2.0, 1.0, 2.0, 2.0, 0.0, 2.0, 1.0, 2.0]])
    c = cr.tensor(a, requires_grad=True)
    values, indices = c.kthvalue(6, 1)
    values.sum().backward()
    expected = np.zeros_like(a)
    expected[0, indices.item()] = 1.0
    np.testing.assert_array_equal(c.grad.numpy(), expected)


@pytest.mark.parametrize("dtype", _DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1, 2, 5, 9, 16, 17, 64, 300])
def test_mode_value_is_torchs_and_the_index_its_last_occurrence(n, dtype):
    a = _tied(dtype, (6, n))
    (tv, ti), (cv, ci) = torch.from_numpy(a).mode(1), cr.tensor(a).mode(1)
    np.testing.assert_array_equal(cv.numpy(), tv.numpy())
    last = np.array([np.flatnonzero(row == v)[-1] for row, v in zip(a, cv.numpy())])
    np.testing.assert_array_equal(ci.numpy(), last)
    if n <= 16:  # PyTorch's CPU kernel returns the last occurrence for short slices too
        np.testing.assert_array_equal(ci.numpy(), ti.numpy())


@pytest.mark.parametrize("n", [4, 16, 40])
def test_mode_with_nan_is_the_true_mode_at_its_last_occurrence(n):
    """Deliberate difference (documented in ``mode``): PyTorch sorts with ``<``, which NaN
    breaks, and can return a value that is not the mode; chainrule returns the smallest most
    frequent non-NaN value at its last occurrence (NaN only for an all-NaN slice)."""
    a = _tied(np.float64, (6, n), nan=True)
    a[0] = np.nan
    values, indices = cr.tensor(a).mode(1)
    assert np.isnan(values[0].item()) and indices[0].item() == 0
    for row, v, i in zip(a[1:], values.numpy()[1:], indices.numpy()[1:]):
        numbers, counts = np.unique(row[~np.isnan(row)], return_counts=True)
        assert v == numbers[np.argmax(counts)]
        assert i == np.flatnonzero(row == v)[-1]
    example = np.array([1.0, np.nan, 0.0, 1.0])
    assert tuple(torch.from_numpy(example).mode()) == (0.0, 2)  # PyTorch's broken answer
    assert tuple(v.item() for v in cr.tensor(example).mode()) == (1.0, 3)


# ------------------------------------------------------------------------ scatter_reduce


def _scatter_both(reduce, include_self, x, src, idx, g):
    results = []
    for lib in (torch, cr):
        tx, ts = lib.tensor(x, requires_grad=True), lib.tensor(src, requires_grad=True)
        out = tx.scatter_reduce(1, lib.tensor(idx), ts, reduce, include_self=include_self)
        out.backward(lib.tensor(g))
        results.append((out.detach().numpy(), tx.grad.numpy(), ts.grad.numpy()))
    return results


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["amax", "amin", "prod", "mean", "sum"])
def test_scatter_reduce_gradients_with_ties_and_zeros_match_torch(reduce, include_self):
    for trial in range(25):
        x = RNG.integers(-2, 3, (3, 4)).astype(np.float64)  # small integers: many ties, zeros
        src = RNG.integers(-2, 3, (3, 6)).astype(np.float64)
        idx = RNG.integers(0, 4, (3, 6))
        g = RNG.standard_normal((3, 4))
        (tv, tgx, tgs), (cv, cgx, cgs) = _scatter_both(reduce, include_self, x, src, idx, g)
        np.testing.assert_allclose(cv, tv, rtol=1e-12, err_msg=f"trial {trial}")
        np.testing.assert_allclose(cgx, tgx, rtol=1e-12, atol=1e-12, err_msg=f"trial {trial}")
        np.testing.assert_allclose(cgs, tgs, rtol=1e-12, atol=1e-12, err_msg=f"trial {trial}")


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_amax_shares_the_gradient_evenly_among_ties(include_self):
    """Self and two sources all equal the maximum at position 0: PyTorch gives each of the
    tied contributions 1/3 of the gradient (self included in the count even when
    include_self=False, where self then gets nothing at a written position)."""
    x, src, idx = np.array([[5.0, 1.0]]), np.array([[5.0, 5.0, 2.0]]), np.array([[0, 0, 1]])
    g = np.array([[3.0, 1.0]])
    (tv, tgx, tgs), (cv, cgx, cgs) = _scatter_both("amax", include_self, x, src, idx, g)
    np.testing.assert_array_equal(cgx, tgx)
    np.testing.assert_array_equal(cgs, tgs)
    assert cgs[0, 0] == cgs[0, 1] == 1.0


def test_scatter_reduce_amax_forward_mode_with_ties_matches_torch():
    x, src, idx = np.array([[5.0, 1.0]]), np.array([[5.0, 5.0, 2.0]]), np.array([[0, 0, 1]])
    tx, ts = RNG.standard_normal((1, 2)), RNG.standard_normal((1, 3))
    with fwad.dual_level():
        out = fwad.make_dual(torch.tensor(x), torch.tensor(tx)).scatter_reduce(
            1, torch.tensor(idx), fwad.make_dual(torch.tensor(src), torch.tensor(ts)), "amax"
        )
        expected = fwad.unpack_dual(out).tangent.numpy()
    _, tangent = cr.func.jvp(
        lambda a, s: a.scatter_reduce(1, cr.tensor(idx), s, "amax"),
        (cr.tensor(x), cr.tensor(src)),
        (cr.tensor(tx), cr.tensor(ts)),
    )
    np.testing.assert_allclose(tangent.numpy(), expected, rtol=1e-12)


# ------------------------------------------------------------------------------ linalg.qr


@pytest.mark.parametrize("mode", ["reduced", "complete"])
@pytest.mark.parametrize("shape", [(2, 4), (3, 5), (2, 3, 5), (1, 3)])
def test_qr_backward_of_a_wide_matrix_matches_torch(shape, mode):
    a = RNG.standard_normal(shape)
    gq, gr = RNG.standard_normal(shape[:-1] + (shape[-2],)), RNG.standard_normal(shape)
    grads = []
    for lib in (torch, cr):
        x = lib.tensor(a, requires_grad=True)
        q, r = lib.linalg.qr(x, mode=mode)
        ((q * lib.tensor(gq)).sum() + (r * lib.tensor(gr)).sum()).backward()
        grads.append(x.grad.numpy())
        np.testing.assert_allclose(q.detach().numpy() @ r.detach().numpy(), a, atol=1e-12)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 4), (3, 5)])
def test_qr_wide_gradcheck_gradgradcheck_and_forward_mode(shape):
    a = cr.tensor(RNG.standard_normal(shape), requires_grad=True)

    def f(x):
        return tuple(cr.linalg.qr(x))

    assert cr.autograd.gradcheck(f, (a,))
    assert cr.autograd.gradgradcheck(f, (a,))
    assert cr.autograd.check_vjp_jvp(f, (a,))
    t = RNG.standard_normal(shape)
    with fwad.dual_level():
        tq, tr = torch.linalg.qr(fwad.make_dual(torch.tensor(a.detach().numpy()), torch.tensor(t)))
        expected = [fwad.unpack_dual(v).tangent.numpy() for v in (tq, tr)]
    _, tangents = cr.func.jvp(f, (a.detach(),), (cr.tensor(t),))
    for got, want in zip(tangents, expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "shape,mode,message",
    [
        ((3, 3), "r", "depends on Q, which is not computed when mode='r'"),
        ((2, 4), "r", "depends on Q, which is not computed when mode='r'"),
        ((4, 2), "r", "depends on Q, which is not computed when mode='r'"),
        ((4, 2), "complete", "not differentiable when mode='complete' and nrows > ncols"),
    ],
)
def test_qr_without_a_derivative_raises_like_torch(shape, mode, message):
    a = RNG.standard_normal(shape)
    for lib in (torch, cr):
        x = lib.tensor(a, requires_grad=True)
        q, r = lib.linalg.qr(x, mode=mode)  # the forward works
        assert r.requires_grad
        with pytest.raises(RuntimeError, match=message.replace("(", r"\(")):
            r.sum().backward()
    with pytest.raises(RuntimeError, match="not differentiable|not computed"):
        cr.func.jvp(lambda x: cr.linalg.qr(x, mode=mode).R, (cr.tensor(a),), (cr.tensor(a),))


# ------------------------------------------------- in-place comparisons in the graph

_COMPARISONS = ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "less_", "greater_equal_"]


@pytest.mark.parametrize("name", _COMPARISONS)
@pytest.mark.parametrize("other_kind", ["tensor", "scalar", "grad tensor"])
def test_inplace_comparison_on_a_tensor_in_the_graph_matches_torch(name, other_kind):
    a_np, o_np = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])
    seen = []
    for lib in (torch, cr):
        a = lib.tensor(a_np, requires_grad=True)
        other = {
            "tensor": lib.tensor(o_np),
            "scalar": 2.0,
            "grad tensor": lib.tensor(o_np, requires_grad=True),
        }[other_kind]
        b = a * 1
        r = getattr(b, name)(other)
        assert r is b
        (b * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        grad_other = other.grad.numpy() if other_kind == "grad tensor" else None
        seen.append(
            (b.requires_grad, b.is_leaf, b.dtype == a.dtype, b.detach().numpy().tolist())
            + (a.grad.numpy().tolist(), None if grad_other is None else grad_other.tolist())
        )
    assert seen[1] == seen[0]
    assert seen[1][0] is True and seen[1][4] == [0.0, 0.0, 0.0]


def test_inplace_comparison_bumps_the_version_of_a_saved_tensor_like_torch():
    for lib in (torch, cr):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 1
        y = b * b  # saves b
        b.lt_(1.5)
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            y.sum().backward()


def test_inplace_comparison_on_a_leaf_or_under_no_grad():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        a.eq_(1.0)
    with cr.no_grad():
        b = (a * 1).ge_(2.0)
    assert not b.requires_grad and b.tolist() == [0.0, 1.0]
    i = cr.tensor([1, 2, 3])
    assert i.gt_(1).tolist() == [0, 1, 1] and i.dtype == cr.int64


# ------------------------------------------------------- pdist / cdist, p = inf, ties


def test_pdist_and_cdist_inf_split_the_gradient_among_tied_maxima():
    """Deliberate difference (documented in ``F.pdist`` and ``cdist``): chainrule gives the
    tied largest differences equal shares of the gradient, a subgradient as
    ``torch.linalg.vector_norm(p=inf)`` gives; PyTorch's pdist/cdist give each the full
    gradient. With no tie the two agree."""
    tied = np.array([[0.0, 0.0, 0.2], [1.0, -1.0, 0.0]])
    inf = float("inf")
    for fn in (
        lambda lib, x: lib.nn.functional.pdist(x, inf),
        lambda lib, x: lib.cdist(x[:1], x[1:], p=inf),
    ):
        c, t = cr.tensor(tied, requires_grad=True), torch.tensor(tied, requires_grad=True)
        fn(cr, c).sum().backward()
        fn(torch, t).sum().backward()
        np.testing.assert_array_equal(c.grad.numpy(), [[-0.5, 0.5, 0.0], [0.5, -0.5, 0.0]])
        np.testing.assert_array_equal(t.grad.numpy(), [[-1.0, 1.0, 0.0], [1.0, -1.0, 0.0]])
        v = cr.tensor(tied, requires_grad=True)
        cr.linalg.vector_norm(v[0] - v[1], inf).backward()
        np.testing.assert_array_equal(v.grad.numpy(), c.grad.numpy())
        untied = RNG.standard_normal((3, 4))
        c, t = cr.tensor(untied, requires_grad=True), torch.tensor(untied, requires_grad=True)
        fn(cr, c).sum().backward()
        fn(torch, t).sum().backward()
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_inplace_comparison_into_a_view_or_from_a_grad_operand_matches_torch():
    seen = []
    for lib in (torch, cr):
        o = lib.tensor([1.0, 0.0], requires_grad=True)
        b = lib.tensor([1.0, 2.0])
        b.eq_(o)  # b does not require grad, the operand does: b joins the graph
        (b * 2).sum().backward()
        a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        base = a * 1
        base[1:].gt_(2.5)  # through a view: the base keeps its graph, zero where written
        (base * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        seen.append((b.requires_grad, o.grad.tolist(), base.tolist(), a.grad.tolist()))
    assert seen[1] == seen[0]
    assert seen[1][3] == [1.0, 0.0, 0.0]
