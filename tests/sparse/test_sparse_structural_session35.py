"""Structural ops of sparse COO tensors against PyTorch 2.13 (ops/sparse_structural.py,
ops/sparse_resize.py): index_select, select and ``s[i]``/``s[..., i]``/``s[None]``,
unsqueeze, permute, cat, stack, any, norm, ``//``, sparse_resize_(_and_clear_), hybrid
``s * s`` and hybrid ``sparse_mask``, and PyTorch's errors for reshape/flatten/expand and
``sparse + dense``.

Each result is compared entry by entry with torch's: indices and values in torch's order,
the coalesced flag, sparse/dense dims, dtype. Gradients go through the values in chainrule
(PyTorch has no backward for some of these: index_select needs ``index_add_`` on a sparse
tensor, norm ``masked_fill_``); they are checked with gradcheck in float64.
"""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

warnings.filterwarnings("ignore", message="Sparse invariant checks")

INDICES = [[0, 1, 1, 2, 1], [2, 0, 2, 1, 0]]
VALUES = [1.0, 2.0, 3.0, 4.0, 5.0]


def _both(kind: str, dtype=None):
    """The same sparse tensor in torch and chainrule: 'coalesced', 'uncoalesced' (a duplicate
    entry), 'hybrid' (2 sparse + 1 dense dim) or '3d' (3 sparse dims)."""
    out = []
    for lib in (torch, cr):
        if kind == "hybrid":
            dense = lib.arange(24.0).reshape(3, 4, 2) * (lib.arange(12).reshape(3, 4, 1) % 3 == 0)
            s = dense.to_sparse(2)
        elif kind == "3d":
            dense = lib.arange(60.0).reshape(3, 4, 5) * (lib.arange(60).reshape(3, 4, 5) % 4 == 1)
            s = dense.to_sparse()
        else:
            s = lib.sparse_coo_tensor(lib.tensor(INDICES), lib.tensor(VALUES), (3, 3))
            s = s.coalesce() if kind == "coalesced" else s
        out.append(s if dtype is None else s.to(getattr(lib, dtype)))
    return out


def _same(t, c):
    """Entry-by-entry equality of a torch and a chainrule result (sparse or dense)."""
    if t.layout == torch.sparse_coo:
        assert c.layout == cr.sparse_coo
        assert tuple(c.shape) == tuple(t.shape)
        assert (c.sparse_dim(), c.dense_dim()) == (t.sparse_dim(), t.dense_dim())
        assert c.is_coalesced() == t.is_coalesced()
        assert c._indices().tolist() == t._indices().tolist()
        assert tuple(c._values().shape) == tuple(t._values().shape)
        got = np.asarray(c._values().tolist()).reshape(tuple(t._values().shape))
        np.testing.assert_allclose(got, t._values().numpy())
        assert str(c.dtype) == str(t.dtype)
    else:
        assert c.layout == cr.strided
        assert tuple(c.shape) == tuple(t.shape)
        np.testing.assert_allclose(np.asarray(c.tolist()), t.numpy(), rtol=1e-6)
        assert str(c.dtype) == str(t.dtype)


KINDS = ["coalesced", "uncoalesced", "hybrid", "3d"]

OPS = {
    "index_select0": lambda L, s: s.index_select(0, L.tensor([2, 0, 2])),
    "index_select1": lambda L, s: L.index_select(s, 1, L.tensor([1, 1, 0])),
    "index_select_last": lambda L, s: s.index_select(-1, L.tensor([1, 0])),
    "index_select_negative": lambda L, s: s.index_select(0, L.tensor([-1, 0])),
    "index_select_empty": lambda L, s: s.index_select(0, L.tensor([], dtype=L.int64)),
    "select0": lambda L, s: s.select(0, 1),
    "select_last": lambda L, s: L.select(s, -1, 0),
    "getitem_int": lambda L, s: s[1],
    "getitem_ellipsis": lambda L, s: s[..., 1],
    "getitem_none": lambda L, s: s[None],
    "getitem_two": lambda L, s: s[2, 1],
    "unsqueeze0": lambda L, s: s.unsqueeze(0),
    "unsqueeze_mid": lambda L, s: L.unsqueeze(s, 1),
    "unsqueeze_last": lambda L, s: s.unsqueeze(-1),
    "permute_swap": lambda L, s: s.permute(1, 0, *range(2, s.dim())),
    "cat0": lambda L, s: L.cat([s, s * 2], 0),
    "cat_last": lambda L, s: L.cat((s, s), -1),
    "concat1": lambda L, s: L.concat([s, s], 1),
    "stack0": lambda L, s: L.stack([s, s * 3]),
    "stack_last": lambda L, s: L.stack([s, s], -1),
    "any": lambda L, s: s.any(),
    "norm": lambda L, s: s.norm(),
    "norm1": lambda L, s: L.norm(s, p=1),
    "norm_inf": lambda L, s: s.norm(float("inf")),
    "norm0": lambda L, s: s.norm(0),
    "norm3": lambda L, s: s.norm(3),
    "norm_all_dims": lambda L, s: s.norm(dim=(0, 1)) if s.dim() == 2 else s.norm(dim=()),
    "floor_divide": lambda L, s: s // 2,
    "floor_divide_float": lambda L, s: L.floor_divide(s, 2.5),
    "mul_sparse": lambda L, s: s * s,
    "sparse_mask": lambda L, s: (L.arange(float(s.numel())).reshape(s.shape) + 1).sparse_mask(s),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(OPS))
def test_matches_torch(name, kind):
    t_s, c_s = _both(kind)
    op = OPS[name]
    _same(op(torch, t_s), op(cr, c_s))


@pytest.mark.parametrize("kind", ["coalesced", "hybrid"])
def test_integer_and_double_values(kind):
    for dtype in ("int64", "float64"):
        t_s, c_s = _both(kind, dtype)
        for name in ("index_select0", "cat0", "stack0", "unsqueeze0", "floor_divide", "any"):
            _same(OPS[name](torch, t_s), OPS[name](cr, c_s))
    t_s, c_s = _both(kind)
    _same(torch.cat([t_s, t_s.double()]), cr.cat([c_s, c_s.double()]))  # promoted


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e), str(e)
    raise AssertionError("no error")


ERRORS = {
    "index_select_out_of_range": lambda L, s: s.index_select(0, L.tensor([5])),
    "index_select_float_index": lambda L, s: s.index_select(0, L.tensor([1.0])),
    "index_select_2d_index": lambda L, s: s.index_select(0, L.tensor([[1]])),
    "select_out_of_range": lambda L, s: s.select(0, 5),
    "unsqueeze_out_of_range": lambda L, s: s.unsqueeze(4),
    "permute_duplicate": lambda L, s: s.permute(0, 0),
    "cat_with_dense": lambda L, s: L.cat([s, s.to_dense()]),
    "cat_sizes": lambda L, s: L.cat([s, s.index_select(1, L.tensor([0]))], 0),
    "stack_sizes": lambda L, s: L.stack([s, s.index_select(1, L.tensor([0]))]),
    "norm_some_dims": lambda L, s: s.norm(dim=1),
    "norm_three_dims": lambda L, s: L.stack([s, s]).norm(dim=(0, 1, 2)),
    "norm_keepdim": lambda L, s: s.norm(dim=(0, 1), keepdim=True),
    "norm_dtype_fro": lambda L, s: s.norm(dtype=L.float64),
    "norm_int": lambda L, s: s.long().norm(),
    "floor_divide_sparse": lambda L, s: s // s,
    "floor_divide_dense": lambda L, s: s // L.ones(3, 3),
    "reshape": lambda L, s: s.reshape(9),
    "flatten": lambda L, s: s.flatten(),
    "expand": lambda L, s: s.unsqueeze(0).expand(2, 3, 3),
    "add_dense": lambda L, s: s + L.ones(3, 3),
    "resize_len": lambda L, s: s.sparse_resize_((3, 3), 2, 1),
    "resize_shrink": lambda L, s: s.clone().sparse_resize_((1, 3), 2, 0),
    "resize_sparse_dims": lambda L, s: s.clone().sparse_resize_((3,), 1, 0),
    "resize_dense_dims": lambda L, s: s.clone().sparse_resize_((3, 3, 2), 2, 1),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    t_s, c_s = _both("coalesced")
    t_type, t_msg = _error(lambda: ERRORS[name](torch, t_s))
    c_type, c_msg = _error(lambda: ERRORS[name](cr, c_s))
    assert c_type is t_type, (c_type, c_msg, t_msg)
    assert c_msg.split("\n")[0][:60] == t_msg.split("\n")[0][:60]


def test_hybrid_permute_refuses_mixing_sparse_and_dense_dims():
    t_s, c_s = _both("hybrid")
    t_type, t_msg = _error(lambda: t_s.permute(0, 2, 1))
    c_type, c_msg = _error(lambda: c_s.permute(0, 2, 1))
    assert c_type is t_type and c_msg == t_msg


@pytest.mark.parametrize(
    "args", [((3, 3), 2, 0), ((5, 4), 2, 0), ((4, 5, 6), 1, 2), ((2,), 1, 0)], ids=str
)
@pytest.mark.parametrize("clear", [False, True])
def test_sparse_resize(args, clear):
    results = []
    for lib, s in zip((torch, cr), _both("coalesced")):
        if args[1] != 2 and not clear:  # changing the number of dims needs an empty tensor
            s = lib.sparse_coo_tensor(lib.zeros(2, 0, dtype=lib.int64), lib.zeros(0), (3, 3))
        before = s._version
        out = s.sparse_resize_and_clear_(*args) if clear else s.sparse_resize_(*args)
        assert out is s and s._version == before + 1
        results.append(out)
    _same(*results)


def test_sparse_resize_grows_a_dense_dim_keeping_the_elements_in_order():
    for lib in (torch, cr):
        h = lib.arange(1.0, 13.0).reshape(2, 2, 3).to_sparse(2)
        h.sparse_resize_((3, 2, 4), 2, 1)
        assert tuple(h.shape) == (3, 2, 4)
        flat = h._values().reshape(-1)[:12]  # torch leaves the added elements uninitialised
        assert flat.tolist() == list(range(1, 13))


@pytest.mark.parametrize(
    "name",
    ["index_select0", "index_select_last", "select0", "getitem_ellipsis", "unsqueeze_mid",
     "permute_swap", "cat0", "cat_last", "stack_last", "norm", "norm1", "mul_sparse"],
)  # fmt: skip
@pytest.mark.parametrize("kind", ["uncoalesced", "hybrid"])
def test_gradients_reach_the_values(name, kind):
    _, c_s = _both(kind, "float64")
    pattern, base = c_s._indices(), c_s._values()

    def f(values):
        s = cr.sparse_coo_tensor(pattern, values, c_s.shape)
        out = OPS[name](cr, s)
        return out.to_dense() if out.layout == cr.sparse_coo else out

    assert cr.autograd.gradcheck(f, (base.clone().requires_grad_(),))


def test_getitem_refuses_slices_and_tensor_indices_clearly():
    _, s = _both("coalesced")
    for key in (slice(0, 2), cr.tensor([0, 1])):
        with pytest.raises(NotImplementedError, match="sparse COO tensor with"):
            s[key]


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    density=st.floats(0.1, 0.9),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_index_select_cat_stack_match_torch_on_random_tensors(shape, density, seed, data):
    g = np.random.default_rng(seed)
    dense = np.where(g.random(shape) < density, g.standard_normal(shape), 0.0)
    ndim = len(shape)
    sparse_dim = data.draw(st.integers(1, ndim))
    t_s = torch.tensor(dense).to_sparse(sparse_dim)
    c_s = cr.tensor(dense).to_sparse(sparse_dim)
    if data.draw(st.booleans()):  # uncoalesced: every entry twice, in reversed order
        t_s, c_s = (
            lib.sparse_coo_tensor(
                lib.cat([x._indices(), x._indices().flip(1)], 1),
                lib.cat([x._values(), x._values().flip(0) * 0.5]),
                x.shape,
            )
            for lib, x in ((torch, t_s), (cr, c_s))
        )
    dim = data.draw(st.integers(-ndim, ndim - 1))
    index = data.draw(st.lists(st.integers(0, shape[dim] - 1), max_size=5))
    _same(
        t_s.index_select(dim, torch.tensor(index, dtype=torch.int64)),
        c_s.index_select(dim, cr.tensor(index, dtype=cr.int64)),
    )
    _same(torch.cat([t_s, t_s], dim), cr.cat([c_s, c_s], dim))
    _same(torch.stack([t_s, t_s], dim), cr.stack([c_s, c_s], dim))
    _same(t_s.unsqueeze(dim), c_s.unsqueeze(dim))
    _same(t_s * t_s.coalesce(), c_s * c_s.coalesce())
