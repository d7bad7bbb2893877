"""cr.nested constructors, structure queries, repr and their errors, against torch live."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

import chainrule as cr

from ._helpers import arrays, assert_same, norm_repr, pair, raises_like


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.mark.parametrize("layout", ["strided", "jagged"])
def test_nested_tensor_structure(rng, layout):
    arrs = arrays(rng, (4,))
    c, t = pair(arrs, layout)
    assert c.is_nested and isinstance(c, cr.Tensor)
    assert repr(c.layout) == repr(t.layout)
    assert c.dim() == t.dim() == c.ndim
    assert str(c.dtype) == str(t.dtype)
    assert c.size(0) == t.size(0) and c.size(-1) == t.size(-1) == 4
    assert c.numel() == t.numel()
    assert_same(c, t)
    assert norm_repr(repr(c)) == norm_repr(repr(t))
    assert c.is_leaf and not c.requires_grad


def test_strided_irregular_size_and_shape_errors(rng):
    c, t = pair([np.ones((2, 3)), np.ones((3, 3))], "strided")
    assert (
        raises_like(lambda: c.size(1), lambda: t.size(1))[0]
        == "Given dimension 1 is irregular and does not have a size."
    )
    raises_like(lambda: c.shape, lambda: t.shape)
    raises_like(lambda: len(c), lambda: len(t))
    raises_like(lambda: c.stride(), lambda: t.stride())


def test_jagged_sizes_and_ragged_symbol(rng):
    c, t = pair(arrays(rng, (2, 3)), "jagged")
    assert norm_repr(str(c.shape)) == norm_repr(str(t.shape))
    assert repr(c.size(1)).startswith("j") and c.size(1) == c.size(1)
    assert c.size(2) == 2 and len(c) == len(t)
    other, _ = pair(arrays(rng, (2, 3)), "jagged")
    assert other.size(1) != c.size(1)  # a new offsets tensor: a new ragged size
    np.testing.assert_array_equal(c.offsets().numpy(), t.offsets().numpy())
    np.testing.assert_allclose(c.values().numpy(), t.values().numpy())
    assert c.lengths() is None and t.lengths() is None
    assert c.values().shape == t.values().shape


def test_jagged_ragged_dim_chosen_as_torch():
    parts = [np.ones((2, 3)), np.ones((2, 4))]
    c, t = pair(parts, "jagged")
    assert c._ragged_idx == t._ragged_idx == 2
    assert norm_repr(repr(c)) == norm_repr(repr(t))
    c, t = pair([np.ones((2, 3)), np.ones((2, 3))], "jagged")
    assert c._ragged_idx == t._ragged_idx == 1


def test_dtype_follows_first_and_dtype_arg():
    a, b = np.ones((2, 2), dtype=np.int32), np.ones((3, 2))
    c = cr.nested.nested_tensor([cr.tensor(a), cr.tensor(b)])
    t = torch.nested.nested_tensor([torch.tensor(a), torch.tensor(b)])
    assert str(c.dtype) == str(t.dtype) == "torch.int32"
    c = cr.nested.nested_tensor([cr.tensor(b), cr.tensor(a)], dtype=cr.float32)
    assert c.dtype == cr.float32 and all(x.dtype == cr.float32 for x in c.unbind())
    c = cr.nested.nested_tensor([[1.0, 2.0], [3.0]])
    t = torch.nested.nested_tensor([[1.0, 2.0], [3.0]])
    assert_same(c, t)


@pytest.mark.parametrize(
    "build",
    [
        lambda m, L: m.nested.nested_tensor([m.ones(2, 3), m.ones(4)], layout=L),
        lambda m, L: m.nested.nested_tensor([m.ones(2, 3)], layout=m.sparse_coo),
        lambda m, L: m.nested.nested_tensor(
            [m.ones(2, 2, dtype=m.int64)], layout=L, requires_grad=True
        ),
    ],
)
@pytest.mark.parametrize("layout", ["strided", "jagged"])
def test_constructor_errors(build, layout):
    c_msg, t_msg = raises_like(
        lambda: build(cr, getattr(cr, layout)), lambda: build(torch, getattr(torch, layout))
    )
    assert c_msg == t_msg


def test_tuple_input_jagged_only():
    c = cr.nested.nested_tensor((cr.ones(2, 3), cr.ones(4, 3)), layout=cr.jagged)
    t = torch.nested.nested_tensor((torch.ones(2, 3), torch.ones(4, 3)), layout=torch.jagged)
    assert_same(c, t)
    msgs = raises_like(
        lambda: cr.nested.nested_tensor((cr.ones(2, 3),)),
        lambda: torch.nested.nested_tensor((torch.ones(2, 3),)),
    )
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize(
    "build",
    [
        lambda m: m.nested.nested_tensor([], layout=m.jagged),
        lambda m: m.nested.nested_tensor([m.tensor(1.0), m.tensor(2.0)], layout=m.jagged),
        lambda m: m.nested.nested_tensor([m.ones(2, 3, 4), m.ones(3, 4, 4)], layout=m.jagged),
    ],
)
def test_jagged_constructor_errors(build):
    c_msg, t_msg = raises_like(lambda: build(cr), lambda: build(torch))
    assert c_msg == t_msg


def test_requires_grad_leaf_and_repr(rng):
    arrs = arrays(rng, (3,))
    for layout in ("strided", "jagged"):
        c, t = pair(arrs, layout, requires_grad=True)
        assert c.requires_grad and c.is_leaf and c.grad_fn is None and c.grad is None
        assert norm_repr(repr(c)) == norm_repr(repr(t))
        cs, ts = c.sin(), t.sin()
        assert not cs.is_leaf and cs.requires_grad
        assert norm_repr(repr(cs)) == norm_repr(repr(ts))


def test_nested_tensor_copies_inputs():
    base = cr.ones(2, 3, requires_grad=True)
    c = cr.nested.nested_tensor([base, base * 2])
    assert not c.requires_grad and c.is_leaf
    with cr.no_grad():
        base.add_(1)
    assert float(c.unbind()[0].sum()) == 6.0


def test_as_nested_tensor_keeps_graph(rng):
    arrs = arrays(rng, (3,))
    for layout in ("strided", "jagged"):
        cl = [cr.tensor(a, requires_grad=True) for a in arrs]
        tl = [torch.tensor(a, requires_grad=True) for a in arrs]
        c = cr.nested.as_nested_tensor(cl, layout=getattr(cr, layout))
        t = torch.nested.as_nested_tensor(tl, layout=getattr(torch, layout))
        assert_same(c, t)
        assert c.requires_grad and not c.is_leaf
        (c.to_padded_tensor(0.0) ** 2).sum().backward()
        (t.to_padded_tensor(0.0) ** 2).sum().backward()
        for x, y in zip(cl, tl):
            np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy())


@pytest.mark.parametrize("layout", ["strided", "jagged"])
def test_as_nested_tensor_from_dense(rng, layout):
    x = rng.standard_normal((3, 4, 2))
    c = cr.nested.as_nested_tensor(cr.tensor(x), layout=getattr(cr, layout))
    t = torch.nested.as_nested_tensor(torch.tensor(x), layout=getattr(torch, layout))
    assert_same(c, t)
    assert norm_repr(repr(c)) == norm_repr(repr(t))


def test_as_nested_tensor_errors():
    cj = cr.nested.nested_tensor([cr.ones(2, 3)], layout=cr.jagged)
    tj = torch.nested.nested_tensor([torch.ones(2, 3)], layout=torch.jagged)
    msgs = raises_like(
        lambda: cr.nested.as_nested_tensor(cj), lambda: torch.nested.as_nested_tensor(tj)
    )
    assert msgs[0] == msgs[1]
    msgs = raises_like(
        lambda: cr.nested.as_nested_tensor(3), lambda: torch.nested.as_nested_tensor(3)
    )
    assert msgs[0] == msgs[1]
    assert cr.nested.as_nested_tensor(cj, layout=cr.jagged) is cj


def test_from_jagged(rng):
    v = rng.standard_normal((7, 3))
    c = cr.nested.nested_tensor_from_jagged(cr.tensor(v), cr.tensor([0, 2, 7]))
    t = torch.nested.nested_tensor_from_jagged(torch.tensor(v), torch.tensor([0, 2, 7]))
    assert_same(c, t)
    assert norm_repr(repr(c)) == norm_repr(repr(t))
    c = cr.nested.nested_tensor_from_jagged(cr.tensor(v), None, cr.tensor([3, 4]))
    t = torch.nested.nested_tensor_from_jagged(torch.tensor(v), None, torch.tensor([3, 4]))
    assert_same(c, t)
    c = cr.nested.nested_tensor_from_jagged(cr.tensor(v), cr.tensor([0, 2, 5]), cr.tensor([1, 2]))
    t = torch.nested.nested_tensor_from_jagged(
        torch.tensor(v), torch.tensor([0, 2, 5]), torch.tensor([1, 2])
    )
    assert_same(c, t)
    assert norm_repr(repr(c)) == norm_repr(repr(t))
    raises_like(lambda: c.to_padded_tensor(0.0), lambda: t.to_padded_tensor(0.0))
    c = cr.nested.nested_tensor_from_jagged(
        cr.tensor(v.T.copy()), cr.tensor([0, 2, 7]), jagged_dim=2
    )
    t = torch.nested.nested_tensor_from_jagged(
        torch.tensor(v.T.copy()), torch.tensor([0, 2, 7]), jagged_dim=2
    )
    assert_same(c, t)
    assert norm_repr(str(c.shape)) == norm_repr(str(t.shape))


@pytest.mark.parametrize(
    "args",
    [
        lambda m: (m.ones(5, 3), None, None),
        lambda m: (m.ones(5, 3), m.tensor([0, 2, 5]), None, 0),
        lambda m: (m.ones(5, 3), m.tensor([[0, 2, 5]])),
    ],
)
def test_from_jagged_errors(args):
    msgs = raises_like(
        lambda: cr.nested.nested_tensor_from_jagged(*args(cr)),
        lambda: torch.nested.nested_tensor_from_jagged(*args(torch)),
    )
    assert msgs[0] == msgs[1]


def test_narrow(rng):
    x = rng.standard_normal((3, 6))
    start, length = np.array([0, 2, 1]), np.array([3, 4, 5])
    c = cr.nested.narrow(cr.tensor(x), 1, cr.tensor(start), cr.tensor(length), layout=cr.jagged)
    t = torch.nested.narrow(
        torch.tensor(x), 1, torch.tensor(start), torch.tensor(length), layout=torch.jagged
    )
    assert_same(c, t)
    assert norm_repr(repr(c)) == norm_repr(repr(t))
    np.testing.assert_array_equal(c.lengths().numpy(), t.lengths().numpy())
    c = cr.nested.narrow(cr.tensor(x), 1, 1, 2, layout=cr.jagged)
    t = torch.nested.narrow(torch.tensor(x), 1, 1, 2, layout=torch.jagged)
    assert_same(c, t)
    c = cr.nested.narrow(cr.tensor(x), 0, 1, 2)
    t = torch.nested.narrow(torch.tensor(x), 0, 1, 2)
    assert_same(c, t)
    for m in (cr, torch):
        assert m is cr or True
    msgs = raises_like(
        lambda: cr.nested.narrow(cr.tensor(x), 1, 1, 2),
        lambda: torch.nested.narrow(torch.tensor(x), 1, 1, 2),
    )
    assert msgs[0] == msgs[1]
    msgs = raises_like(
        lambda: cr.nested.narrow(cr.tensor(x), 2, 1, 2, layout=cr.jagged),
        lambda: torch.nested.narrow(torch.tensor(x), 2, 1, 2, layout=torch.jagged),
    )
    assert msgs[0] == msgs[1]


def test_masked_select(rng):
    x = rng.standard_normal((3, 5))
    mask = rng.random((3, 5)) > 0.4
    c = cr.nested.masked_select(cr.tensor(x), cr.tensor(mask))
    t = torch.nested.masked_select(torch.tensor(x), torch.tensor(mask))
    assert_same(c, t)
    assert norm_repr(repr(c)) == norm_repr(repr(t))
    c = cr.nested.masked_select(cr.tensor(x), cr.tensor(mask[0]))
    t = torch.nested.masked_select(torch.tensor(x), torch.tensor(mask[0]))
    assert_same(c, t)
    cj, tj = pair([x], "jagged")
    msgs = raises_like(
        lambda: cr.nested.masked_select(cj, cr.tensor(mask)),
        lambda: torch.nested.masked_select(tj, torch.tensor(mask)),
    )
    assert msgs[0] == msgs[1]


def test_jagged_layout_object():
    assert repr(cr.jagged) == repr(torch.jagged) == "torch.jagged"
    assert isinstance(cr.jagged, type(cr.strided))
    assert pickle.loads(pickle.dumps(cr.jagged)) is cr.jagged
    assert cr.nested.jagged is cr.jagged
