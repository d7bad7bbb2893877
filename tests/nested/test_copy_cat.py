"""Copying, pickling and ``cat`` of nested tensors, compared with torch's."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

import chainrule as cr

from ._helpers import arrays, assert_same, pair, raises_like


def _arrs(seed: int = 0, batch: int = 3) -> list:
    return arrays(np.random.default_rng(seed), (3,), batch)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_jagged_deepcopy_is_an_independent_leaf(requires_grad):
    c, t = pair(_arrs(), "jagged", requires_grad)
    cc, tc = copy.deepcopy(c), copy.deepcopy(t)
    assert_same(cc, tc)
    assert cc.requires_grad == tc.requires_grad and cc.is_leaf == tc.is_leaf
    assert cc.values() is not c.values()
    with cr.no_grad():
        cc.values().mul_(0)  # the copy owns its data
    assert_same(c, t)


def test_strided_deepcopy_keeps_structure_and_grad():
    # torch's strided deepcopy fails (no new_empty kernel); chainrule copies like jagged
    c, t = pair(_arrs(1), "strided", True)
    (c * 2).to_padded_tensor(0.0).sum().backward()
    cc = copy.deepcopy(c)
    assert_same(cc, t)
    assert cc.requires_grad and cc.is_leaf
    assert_same(cc.grad, torch.nested.nested_tensor([2 * torch.ones_like(x) for x in t.unbind()]))


def test_deepcopy_of_a_graph_output_is_refused():
    c, _ = pair(_arrs(), "jagged", True)
    with pytest.raises(RuntimeError, match="deepcopy"):
        copy.deepcopy(c * 2)


@pytest.mark.parametrize("layout", ["jagged", "strided"])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_pickle_round_trip(layout, requires_grad):
    c, t = pair(_arrs(2), layout, requires_grad)
    back_c = pickle.loads(pickle.dumps(c))
    back_t = pickle.loads(pickle.dumps(t))
    assert_same(back_c, back_t)
    assert back_c.requires_grad == back_t.requires_grad
    assert back_c.dtype == cr.float64


@pytest.mark.parametrize("layout", ["jagged", "strided"])
def test_copy_copy_has_the_same_components(layout):
    c, t = pair(_arrs(3), layout)
    assert_same(copy.copy(c), copy.copy(t))


def test_jagged_pickle_keeps_a_view_with_holes():
    values = torch.arange(12.0).reshape(6, 2)
    offsets, lengths = torch.tensor([0, 2, 5]), torch.tensor([1, 2])
    t = torch.nested.nested_tensor_from_jagged(values, offsets, lengths)
    c = cr.nested.nested_tensor_from_jagged(
        cr.tensor(values.numpy()), cr.tensor(offsets.numpy()), cr.tensor(lengths.numpy())
    )
    back = pickle.loads(pickle.dumps(c))
    assert back.lengths().tolist() == [1, 2]
    assert_same(back.unbind(), pickle.loads(pickle.dumps(t)).unbind())


@pytest.mark.parametrize("dim", [-1, 2])
def test_cat_along_a_regular_dim(dim):
    arrs = _arrs(4)
    for layout in ("jagged", "strided"):
        a_c, a_t = pair(arrs, layout)
        b_c, b_t = pair([x * 2 for x in arrs], layout)
        assert_same(cr.cat([a_c, b_c], dim), torch.cat([a_t, b_t], dim))


def test_strided_cat_along_dim_0_joins_the_batches_and_promotes():
    a_c, a_t = pair(_arrs(5, 2), "strided")
    b_c = cr.nested.nested_tensor([cr.ones(1, 3, dtype=cr.float32)])
    b_t = torch.nested.nested_tensor([torch.ones(1, 3, dtype=torch.float32)])
    out_c, out_t = cr.cat([a_c, b_c], 0), torch.cat([a_t, b_t], 0)
    assert_same(out_c, out_t)
    assert str(out_c.dtype) == str(out_t.dtype)


def test_jagged_cat_backward_reaches_both_inputs():
    a_c, a_t = pair(_arrs(6), "jagged", True)
    out_c, out_t = cr.cat([a_c, a_c * 3], -1), torch.cat([a_t, a_t * 3], -1)
    assert_same(out_c, out_t)
    (out_c.values() * out_c.values()).sum().backward()
    (out_t.values() * out_t.values()).sum().backward()
    assert_same(a_c.grad, a_t.grad)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, a: lib.cat([a, a], 0),  # jagged: not along the batch dim
        lambda lib, a: lib.cat([a, a], 1),  # jagged: not along the ragged dim
        lambda lib, a: lib.cat([a, a.transpose(1, 2)], -1),  # other sizes
    ],
)
def test_cat_errors_as_torch(make):
    arrs = _arrs(7)
    c, t = pair(arrs, "jagged")
    raises_like(lambda: make(cr, c), lambda: make(torch, t))


def test_strided_cat_with_a_dense_tensor_is_refused_as_torch():
    c, t = pair(_arrs(8), "strided")
    c_msg, t_msg = raises_like(
        lambda: cr.cat([c, cr.ones(1, 2, 3)], 0), lambda: torch.cat([t, torch.ones(1, 2, 3)], 0)
    )
    assert c_msg == t_msg


def test_offsets_given_by_the_user_stay_plain_tensors(tmp_path):
    # the ragged size is not stored on the offsets tensor: saving it still loads in torch
    offsets = cr.tensor([0, 2, 5])
    a = cr.nested.nested_tensor_from_jagged(cr.ones(5, 2), offsets)
    b = cr.nested.nested_tensor_from_jagged(cr.zeros(5, 2), offsets)
    assert a.size(1) == b.size(1)  # one offsets tensor, one ragged size
    assert not offsets.__dict__
    cr.save(offsets, tmp_path / "offsets.pt")
    assert torch.load(tmp_path / "offsets.pt").tolist() == [0, 2, 5]
