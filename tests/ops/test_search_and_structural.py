"""Index/count ops vs PyTorch (searchsorted, bucketize, histc, unique, tril/triu_indices,
multinomial statistics) and the clear errors of the structural ops. Their differentiable
siblings (diagonal, diag_embed, narrow, rot90, repeat_interleave, unfold, meshgrid, cdist,
F.unfold/F.fold) are in the op-spec table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

RNG = np.random.default_rng(0)


def _same(a, b):
    assert a.dtype == np.dtype(str(b.dtype).replace("torch.", "")), (a.dtype, b.dtype)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("right", [False, True])
@pytest.mark.parametrize("out_int32", [False, True])
def test_searchsorted_and_bucketize(right, out_int32):
    seq = np.array([1.0, 2.0, 2.0, 5.0, 9.0])
    vals = np.array([[0.0, 2.0, 3.0], [9.0, 10.0, 5.0]])
    _same(
        cr.searchsorted(cr.tensor(seq), cr.tensor(vals), right=right, out_int32=out_int32),
        torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right, out_int32=out_int32),
    )
    _same(
        cr.bucketize(cr.tensor(vals), cr.tensor(seq), right=right, out_int32=out_int32),
        torch.bucketize(torch.tensor(vals), torch.tensor(seq), right=right, out_int32=out_int32),
    )
    batched = np.sort(RNG.standard_normal((3, 6)), axis=-1)
    q = RNG.standard_normal((3, 4))
    _same(
        cr.searchsorted(cr.tensor(batched), cr.tensor(q), side="right" if right else "left"),
        torch.searchsorted(
            torch.tensor(batched), torch.tensor(q), side="right" if right else "left"
        ),
    )


def test_searchsorted_sorter_scalar_and_errors():
    seq = np.array([5.0, 1.0, 3.0])
    sorter = np.argsort(seq)
    _same(
        cr.searchsorted(cr.tensor(seq), cr.tensor([2.0, 4.0]), sorter=cr.tensor(sorter)),
        torch.searchsorted(
            torch.tensor(seq), torch.tensor([2.0, 4.0]), sorter=torch.tensor(sorter)
        ),
    )
    assert cr.searchsorted(cr.tensor([1.0, 2.0]), 1.5).shape == ()
    with pytest.raises(RuntimeError, match="opposites"):
        cr.searchsorted(cr.tensor([1.0]), cr.tensor([1.0]), right=True, side="left")
    with pytest.raises(RuntimeError, match="leading dims"):
        cr.searchsorted(cr.tensor(np.zeros((2, 3))), cr.tensor(np.zeros((3, 1))))


@pytest.mark.parametrize("kw", [dict(bins=5), dict(bins=4, min=-1, max=1), dict(bins=3)])
def test_histc(kw):
    x = RNG.standard_normal(50)
    a = cr.histc(cr.tensor(x), **kw)
    b = torch.histc(torch.tensor(x), **kw)
    _same(a, b)
    with pytest.raises(RuntimeError, match="max must be larger"):
        cr.histc(cr.tensor(x), 3, min=2, max=1)
    with pytest.raises(NotImplementedError, match="not implemented"):  # as torch's
        cr.histc(cr.tensor([1, 2]))


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_unique(dim):
    x = np.array([[1, 3, 1], [2, 3, 1], [1, 3, 1]])
    a = cr.unique(cr.tensor(x), return_inverse=True, return_counts=True, dim=dim)
    b = torch.unique(torch.tensor(x), return_inverse=True, return_counts=True, dim=dim)
    for u, v in zip(a, b):
        _same(u, v)
    _same(cr.tensor(x).unique(), torch.tensor(x).unique())


@pytest.mark.parametrize("row,col,offset", [(3, 4, 0), (4, 3, -1), (3, 3, 2), (0, 2, 0)])
def test_tri_indices(row, col, offset):
    _same(cr.tril_indices(row, col, offset), torch.tril_indices(row, col, offset))
    _same(cr.triu_indices(row, col, offset), torch.triu_indices(row, col, offset))
    with pytest.raises(RuntimeError, match="non-negative"):
        cr.tril_indices(-1, 2)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "float16", "complex64"])
def test_tril_triu_keep_the_dtype(dtype):
    """A causal mask tril(ones(n, n, dtype=bool)) stays bool (it was promoted to int64)."""
    data = RNG.standard_normal((2, 3, 4)) > -0.5
    for name, diagonal in (("tril", 0), ("triu", 1), ("tril", -1)):
        mine = getattr(cr, name)(cr.tensor(data).to(getattr(cr, dtype)), diagonal)
        theirs = getattr(torch, name)(torch.tensor(data).to(getattr(torch, dtype)), diagonal)
        _same(mine, theirs)
    mask = cr.ones(3, 3, dtype=cr.bool)
    mask.tril_()
    _same(mask, torch.ones(3, 3, dtype=torch.bool).tril_())


def test_multinomial_with_replacement_matches_the_distribution():
    p = np.array([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 1.0, 1.0]])
    s = cr.multinomial(
        cr.tensor(p), 20000, replacement=True, generator=cr.Generator().manual_seed(0)
    )
    assert s.shape == (2, 20000) and s.dtype == np.int64
    freq0 = np.bincount(s.numpy()[0], minlength=4) / 20000
    np.testing.assert_allclose(freq0, p[0] / p[0].sum(), atol=0.015)
    assert (s.numpy()[0] != 1).all()  # zero weight is never drawn
    freq1 = np.bincount(s.numpy()[1], minlength=4) / 20000
    np.testing.assert_allclose(freq1, 0.25, atol=0.015)


def test_multinomial_without_replacement():
    w = cr.tensor([1.0, 0.0, 5.0, 2.0, 2.0])
    s = cr.multinomial(w, 4, generator=cr.Generator().manual_seed(1))
    assert sorted(s.tolist()) == [0, 2, 3, 4]  # distinct, never the zero weight
    assert cr.multinomial(w, 5).tolist()[-1] == 1  # zero weight only once the rest are used
    firsts = (
        np.bincount(
            [
                cr.multinomial(w, 1, generator=cr.Generator().manual_seed(i)).item()
                for i in range(3000)
            ],
            minlength=5,
        )
        / 3000
    )
    np.testing.assert_allclose(firsts, np.array([1, 0, 5, 2, 2]) / 10, atol=0.03)
    a = cr.multinomial(w, 3, generator=cr.Generator().manual_seed(7))
    b = cr.multinomial(w, 3, generator=cr.Generator().manual_seed(7))
    assert a.tolist() == b.tolist()


@pytest.mark.parametrize(
    "bad,args,match",
    [
        ([1.0, -1.0], (1,), "element < 0"),
        ([1.0, float("nan")], (1,), "inf, nan"),
        ([0.0, 0.0], (1,), "sum of probabilities"),
        ([1.0, 0.0, 1.0], (4,), "without replacement"),
        ([1.0, 2.0], (0,), "n_sample <= 0"),
        ([[[1.0]]], (1,), "1 or 2 dim"),
    ],
)
def test_multinomial_errors_like_torch(bad, args, match):
    with pytest.raises(RuntimeError, match=match):
        cr.multinomial(cr.tensor(bad), *args)
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(bad), *args)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.diagonal(0, 1, 1),
        lambda m: m.narrow(1, 2, 5),
        lambda m: m.narrow(0, 9, 1),
        lambda m: m.rot90(1, (0, 0)),
        lambda m: m.unfold(1, 9, 1),
        lambda m: m.unfold(1, 2, 0),
        lambda m: m.repeat_interleave(m.new_tensor([1, 2]).long(), 0),
        lambda m: m.repeat_interleave(-1),
    ],
)
def test_structural_errors_match_torch(call):
    x = np.zeros((3, 4))
    with pytest.raises((RuntimeError, IndexError)):
        call(torch.tensor(x))
    with pytest.raises((RuntimeError, IndexError)):
        call(cr.tensor(x))


def test_diagonal_is_a_writable_view_sharing_versions():
    x = cr.zeros(3, 3)
    d = x.diagonal()
    d.data[...] = 7.0
    assert x.numpy().trace() == 21.0
    d.add_(1.0)
    assert x._version == d._version == 1


def test_cdist_gradient_is_zero_at_coincident_points():
    a = cr.tensor([[0.0, 0.0], [1.0, 2.0]], requires_grad=True)
    b = cr.tensor([[0.0, 0.0]], requires_grad=True)
    ta = torch.tensor([[0.0, 0.0], [1.0, 2.0]], requires_grad=True)
    tb = torch.tensor([[0.0, 0.0]], requires_grad=True)
    cr.cdist(a, b).sum().backward()
    torch.cdist(ta, tb).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy())
    assert np.isfinite(a.grad.numpy()).all()
    with pytest.raises(RuntimeError, match="same number of columns"):
        cr.cdist(cr.zeros(2, 3), cr.zeros(2, 4))


def test_fold_unfold_round_trip_counts_overlaps_and_errors():
    x = np.ones((1, 1, 4, 4))
    cols = F.unfold(cr.tensor(x), 2, stride=1)
    back = F.fold(cols, (4, 4), 2, stride=1)
    ref = torch.nn.functional.fold(torch.nn.functional.unfold(torch.tensor(x), 2), (4, 4), 2)
    np.testing.assert_array_equal(back.numpy(), ref.numpy())
    with pytest.raises(RuntimeError, match="sliding blocks"):
        F.fold(cr.zeros(1, 4, 5), (4, 4), 2)
    with pytest.raises(RuntimeError, match="divisible"):
        F.fold(cr.zeros(1, 5, 9), (4, 4), 2)
    with pytest.raises(RuntimeError, match="must be at least one"):  # PyTorch's text
        F.unfold(cr.zeros(1, 1, 2, 2), 3)
