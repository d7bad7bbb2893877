"""ops/stacking.py and ops/numpy_style.py against PyTorch: the cases the op-spec table
(tests/ops/op_specs_stacking.py) does not reach -- non-differentiable results, integer and
bool dtypes, empty and 0-d inputs, argument forms, PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr


def _pair(a):
    """The same array as a chainrule and a PyTorch tensor."""
    a = np.asarray(a)
    return cr.tensor(a), torch.tensor(a)


def _same(c, t):
    """Same structure, shapes, dtypes and values."""
    if isinstance(t, (tuple, list)):
        assert isinstance(c, tuple) and len(c) == len(t)
        for ci, ti in zip(c, t):
            _same(ci, ti)
        return
    cn, tn = c.detach().numpy(), t.detach().numpy()
    assert cn.shape == tn.shape and cn.dtype == tn.dtype, (cn.shape, cn.dtype, tn.shape, tn.dtype)
    np.testing.assert_allclose(cn, tn, rtol=1e-6, atol=1e-12)


def _both_raise(fn, exc):
    """``fn(lib)`` raises an instance of ``exc`` in both libraries."""
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc):
        fn(cr)


RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3))


# ---------------------------------------------------------------- atleast_*
@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 1, 3), (1, 2, 1, 2)])
def test_atleast_shapes_and_forms(name, shape):
    c, t = _pair(RNG.standard_normal(shape))
    cf, tf = getattr(cr, name), getattr(torch, name)
    _same(cf(c), tf(t))
    _same(cf(c, c), tf(t, t))
    _same(cf([c]), tf([t]))
    _same(cf((c, c)), tf((t, t)))
    assert cf() == () and tuple(tf()) == ()
    if c.ndim >= int(name[-2]):  # already enough dims: the tensor itself
        assert cf(c) is c


def test_atleast_views_share_memory_and_reject_numbers():
    s = cr.tensor(2.0)
    v = cr.atleast_2d(s)
    v[0, 0] = 5.0
    assert s.item() == 5.0
    _both_raise(lambda lib: lib.atleast_1d(1.0), TypeError)
    _both_raise(lambda lib: lib.atleast_3d([lib.zeros(1), 2.0]), TypeError)


# ---------------------------------------------------------------- joining
@pytest.mark.parametrize("name", ["hstack", "vstack", "row_stack", "dstack", "column_stack"])
@pytest.mark.parametrize(
    "shapes", [[(3,), (3,)], [(), ()], [(2, 3), (2, 3)], [(2, 3, 2), (2, 3, 2)], [(0,), (0,)]]
)
def test_stack_family_matches_torch(name, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    c = getattr(cr, name)([cr.tensor(a) for a in arrays])
    t = getattr(torch, name)([torch.tensor(a) for a in arrays])
    _same(c, t)


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack"])
def test_stack_family_promotes_dtypes_and_checks_arguments(name):
    ints = np.arange(3)
    c = getattr(cr, name)([cr.tensor(ints), cr.tensor(ints * 0.5).float()])
    t = getattr(torch, name)([torch.tensor(ints), torch.tensor(ints * 0.5).float()])
    _same(c, t)
    _both_raise(lambda lib: getattr(lib, name)([]), RuntimeError)
    _both_raise(lambda lib: getattr(lib, name)(lib.zeros(3)), TypeError)
    _both_raise(lambda lib: getattr(lib, name)([lib.zeros(3), 1.0]), TypeError)
    with pytest.raises(RuntimeError, match=name):  # shapes that cat cannot join
        getattr(cr, name)([cr.zeros(2, 3), cr.zeros(3, 4, 5)])


def test_concat_is_cat_with_its_own_name():
    a, b = cr.zeros(2, 3), cr.ones(2, 1)
    _same(cr.concat([a, b], dim=1), torch.concat([torch.zeros(2, 3), torch.ones(2, 1)], dim=1))
    _same(cr.concat((a, b), axis=-1), cr.cat((a, b), -1))  # NumPy's keyword, as cat
    with pytest.raises(IndexError, match=r"^Dimension out of range \(expected to be in range"):
        cr.concat([a, b], 2)  # PyTorch's words (CONTRIBUTING.md's "Error messages")


# ------------------------------------------------------------- broadcasting
_SHAPE = st.lists(st.integers(0, 3), max_size=4).map(tuple)


@settings(max_examples=60, deadline=None)
@given(st.lists(_SHAPE, max_size=4))
def test_broadcast_shapes_matches_torch(shapes):
    try:
        want = tuple(torch.broadcast_shapes(*shapes))
    except RuntimeError:
        with pytest.raises(RuntimeError, match="broadcast_shapes"):
            cr.broadcast_shapes(*shapes)
        return
    assert cr.broadcast_shapes(*shapes) == want
    tensors = [cr.zeros(s) for s in shapes]
    out = cr.broadcast_tensors(*tensors)
    assert all(tuple(o.shape) == want for o in out)


def test_broadcast_shapes_arguments():
    assert cr.broadcast_shapes(2, (3, 1)) == tuple(torch.broadcast_shapes(2, (3, 1))) == (3, 2)
    assert cr.broadcast_shapes() == ()
    _both_raise(lambda lib: lib.broadcast_shapes((-1,)), ValueError)
    with pytest.raises(TypeError, match="broadcast_shapes"):
        cr.broadcast_shapes((2.5,))


def test_broadcast_tensors_are_views_with_torch_errors():
    v = cr.zeros(3)
    out = cr.broadcast_tensors(v, cr.zeros(2, 1))
    assert tuple(out[0].shape) == (2, 3)
    assert np.shares_memory(out[0].numpy(), v.numpy())
    assert cr.broadcast_tensors() == ()
    _both_raise(lambda lib: lib.broadcast_tensors(lib.zeros(3), lib.zeros(3, 2)), RuntimeError)


# ---------------------------------------------------------------- block_diag
@pytest.mark.parametrize(
    "shapes", [[], [()], [(2, 3), (0, 2), (3,)], [(0, 0)], [(1, 0), (2, 2)], [(4,), (2, 1)]]
)
def test_block_diag_matches_torch(shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    _same(
        cr.block_diag(*[cr.tensor(a) for a in arrays]),
        torch.block_diag(*[torch.tensor(a) for a in arrays]),
    )


def test_block_diag_dtypes_and_errors():
    _same(
        cr.block_diag(cr.tensor([1, 2]), cr.tensor([[True]])),
        torch.block_diag(torch.tensor([1, 2]), torch.tensor([[True]])),
    )
    _same(
        cr.block_diag(cr.tensor([1, 2]), cr.ones(1, 1)),
        torch.block_diag(torch.tensor([1, 2]), torch.ones(1, 1)),
    )
    _both_raise(lambda lib: lib.block_diag(lib.zeros(2, 2, 2)), RuntimeError)
    _both_raise(lambda lib: lib.block_diag(lib.zeros(2), [1.0]), TypeError)


# ---------------------------------------------------------------- splitting
@pytest.mark.parametrize("name", ["hsplit", "vsplit", "dsplit"])
@pytest.mark.parametrize("shape", [(4,), (4, 6), (2, 4, 6), (6, 2, 4, 1), (0, 2, 0)])
@pytest.mark.parametrize("arg", [1, 2, 3, [1, 3], [3, 1], [-1], [0, 10], []])
def test_directional_splits_match_torch(name, shape, arg):
    c, t = _pair(RNG.standard_normal(shape))
    try:
        want = getattr(torch, name)(t, arg)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=name):
            getattr(cr, name)(c, arg)
        return
    _same(getattr(cr, name)(c, arg), tuple(want))
    _same(getattr(c, name)(arg), tuple(want))


def test_directional_split_argument_errors():
    _both_raise(lambda lib: lib.hsplit(lib.tensor(1.0), 1), RuntimeError)
    _both_raise(lambda lib: lib.hsplit(lib.zeros(2, 3), 1.5), TypeError)
    _both_raise(lambda lib: lib.hsplit(lib.zeros(2, 3), lib.tensor([1])), TypeError)
    _both_raise(lambda lib: lib.hsplit(lib.zeros(2, 4), -2), RuntimeError)


def test_split_pieces_are_views():
    x = cr.zeros(2, 4)
    for pieces in (cr.hsplit(x, 2), x.split_with_sizes([1, 3], 1), x.unsafe_chunk(2, 1)):
        assert all(np.shares_memory(p.numpy(), x.numpy()) for p in pieces)


@pytest.mark.parametrize("name", ["split_with_sizes", "unsafe_split_with_sizes"])
def test_split_with_sizes_matches_torch(name):
    c, t = _pair(X)
    _same(getattr(cr, name)(c, [0, 3, 0], 1), tuple(getattr(torch, name)(t, [0, 3, 0], 1)))
    _same(getattr(c, name)([2], dim=-2), tuple(getattr(t, name)([2], dim=-2)))
    _both_raise(lambda lib: getattr(lib, name)(lib.zeros(2, 3), [1, 1], 1), RuntimeError)
    _both_raise(lambda lib: getattr(lib, name)(lib.zeros(2, 3), [4, -1], 1), RuntimeError)
    _both_raise(lambda lib: getattr(lib, name)(lib.zeros(2, 3), [1, 2], 5), IndexError)
    _both_raise(lambda lib: getattr(lib, name)(lib.zeros(2, 3), 3, 1), TypeError)
    _both_raise(lambda lib: getattr(lib, name)(lib.tensor(1.0), [1]), RuntimeError)


@pytest.mark.parametrize(
    "shape,size,dim", [((4, 6), 4, 1), ((5,), 2, 0), ((0, 2), 0, 0), ((0, 2), 3, 0), ((3,), 9, 0)]
)
def test_unsafe_split_matches_torch(shape, size, dim):
    c, t = _pair(RNG.standard_normal(shape))
    _same(cr.unsafe_split(c, size, dim), tuple(torch.unsafe_split(t, size, dim)))
    _same(c.unsafe_split(split_size=size, dim=dim), tuple(t.unsafe_split(split_size=size, dim=dim)))


@pytest.mark.parametrize("shape,chunks,dim", [((4, 6), 4, 1), ((5,), 2, 0), ((0, 2), 3, 0)])
def test_unsafe_chunk_matches_torch(shape, chunks, dim):
    c, t = _pair(RNG.standard_normal(shape))
    _same(cr.unsafe_chunk(c, chunks, dim), tuple(torch.unsafe_chunk(t, chunks, dim)))


def test_unsafe_split_errors():
    _both_raise(lambda lib: lib.unsafe_split(lib.zeros(3), 0), RuntimeError)
    _both_raise(lambda lib: lib.unsafe_split(lib.zeros(3), [1, 2]), TypeError)
    _both_raise(lambda lib: lib.unsafe_split(lib.tensor(1.0), 1), RuntimeError)
    _both_raise(lambda lib: lib.unsafe_chunk(lib.zeros(3), 0), RuntimeError)


def test_unsafe_pieces_may_be_modified_in_place_as_in_torch():
    """PyTorch's unsafe pieces are not tracked views: modifying one in place is allowed (and
    writes into the input's memory); split's pieces refuse."""
    grads = []
    for lib in (cr, torch):
        leaf = lib.tensor(X, requires_grad=True)
        x = leaf * 1.0
        a, b = lib.unsafe_split(x, 2, 1)
        a.mul_(3.0)
        assert float(x.detach()[0, 0]) == pytest.approx(3 * X[0, 0])  # shared memory
        (a.sum() + (b * b).sum()).backward()
        grads.append(np.array(leaf.grad.detach().numpy()))
    np.testing.assert_allclose(grads[0], grads[1])
    with pytest.raises(RuntimeError, match="modified inplace"):  # torch's words
        cr.split(cr.zeros(2, 4, requires_grad=True) * 1.0, 2, 1)[0].mul_(3.0)


def test_empty_split_pieces_get_zero_gradients_like_torch():
    grads = []
    for lib in (cr, torch):
        leaf = lib.tensor(X, requires_grad=True)
        pieces = lib.hsplit(leaf, [0, 2, 2])
        sum(p.sum() * (k + 1) for k, p in enumerate(pieces)).backward()
        grads.append(np.array(leaf.grad.detach().numpy()))
    np.testing.assert_array_equal(grads[0], grads[1])
