"""The bugs the indexing fuzzer found, one minimal case each (all fixed in chainrule; the
torch quirks it steers around are commented where :mod:`.cases` steers), and a few cases
that pin how the fixes read PyTorch's rules (masked_fill_ through index_put_, several
``...``, the layouts).

Each case runs on torch and chainrule through :func:`.cases.check`; a few tests also
state the expected answer directly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

from .cases import Case, check
from .cases_views import ViewCase
from .cases_views import check as check_view

FOUND = {
    # NumPy 2.4's add.at adds wrong values (even reads stray memory for integers) when it
    # broadcasts a value over the trailing dims of a multi-dim index: index_put_(...,
    # accumulate=True) and x[i] += v with repeated positions (subscript.write_index)
    "accumulate_broadcast_over_a_2d_index": Case(
        (4,), "int64", mode="put", index=(("t", (2, 2), (2, -2, 1, 0), "int64"),),
        value=("tensor", (2,), "int64", True), op="acc_",
    ),
    # a ... that stands for no dim between two index arrays leaves them adjacent (their
    # dims stay in place); NumPy moved them to the front
    "empty_ellipsis_between_index_arrays": Case(
        (2, 3, 3), index=(("s", None, None, None), ("t", (1,), (0,), "int64"), ("e",),
                          ("l", (0,))),
    ),
    "empty_ellipsis_between_lists": Case(
        (3, 1, 4), index=(("s", None, None, None), ("l", ((-1,), (0,), (-1,))), ("e",),
                          ("l", (2,))),
    ),
    # several ... in one index: torch's reading (NumPy refuses any second one)
    "two_ellipses": Case((2, 3, 4), index=(("e",), ("i", 0), ("e",))),
    "two_ellipses_too_far": Case((4, 2, 1, 1), index=(("e",), ("i", 0), ("e",), ("i", 0))),
    # a full slice past the last dim (after a second ...): torch skips it, unchecked
    "two_ellipses_full_slice_past_the_end": Case(
        (2, 2, 4, 3), index=(("e",), ("e",), ("s", None, None, None))
    ),
    "two_ellipses_full_slice_past_the_end_set": Case(
        (2, 3), mode="set", index=(("i", 0), ("e",), ("e",), ("s", 0, None, 1)),
        value=("tensor", (3,), "float64", False),
    ),
    # index_put: None is not an index tensor (TypeError, before any other check)
    "index_put_none": Case(
        (), mode="put", index=(("n",),), value=("tensor", (1,), "int64", True), op="noacc_"
    ),
    # index_put takes no extra leading dims of size 1 (x[i] = v does)
    "index_put_extra_leading_dims": Case(
        (3, 2, 2), mode="put", index=(("t", (1,), (1,), "int64"),),
        value=("tensor", (1, 1, 1, 2, 2), "float64", False), op="noacc",
    ),
    # an index into a dim of size 0: its IndexError before the value's shape
    "index_put_into_an_empty_dim": Case(
        (0,), mode="put", index=(("t", (1,), (0,), "int64"),),
        value=("tensor", (1, 2), "float64", False), op="acc_",
    ),
    # all-0-d indices with accumulate: the value expanded to a 0-d target crashed
    "index_put_accumulate_0d_indices": Case(
        (4, 4, 3, 1), mode="put",
        index=(("t", (), (2,), "int64"), ("t", (), (-4,), "int64"), ("t", (), (-3,), "int64"),
               ("t", (), (0,), "int64")),
        value=("tensor", (), "float64", False), op="acc_",
    ),
    # one bool mask and a one-element value is torch's masked_fill_: any shape, converted
    "index_put_mask_and_one_element": Case(
        (4, 1), "bool", mode="put", index=(("m", (4,), (False, False, True, False)),),
        value=("tensor", (1, 1, 1), "bool", True), op="noacc_",
    ),
    "index_put_mask_converts": Case(
        (2, 2), mode="put", index=(("m", (2,), (False, True)),),
        value=("tensor", (), "int64", False), op="noacc",
    ),
    # ... into an integer tensor, with a value that requires grad: refused (out of place)
    "index_put_mask_grad_into_int": Case(
        (1,), "int64", mode="put", index=(("m", (1,), (True,)),),
        value=("tensor", (1,), "float32", True), op="noacc",
    ),
    # x[True] (in a tuple) writes through index_put_, which does not convert the value
    "setitem_python_bool_dtype": Case(
        (), index=(("b", True),), value=("tensor", (1,), "int64", False), mode="set",
    ),
    "setitem_int_and_bool_dtype": Case(
        (2,), "bool", mode="set", index=(("i", 1), ("b", True)),
        value=("tensor", (1,), "int64", True),
    ),
    # a mask beside None (or ints, slices) with a one-element value: masked_fill_, converts
    "setitem_mask_and_none_converts": Case(
        (4,), mode="set", index=(("m", (4,), (False, False, False, True)), ("n",)),
        value=("tensor", (1, 1, 1), "int64", True),
    ),
    # x[False] = v writes and records nothing
    "setitem_bare_false": Case(
        (), mode="set", index=(("b", False),), bare=True, value=("tensor", (0,), "float64", True)
    ),
    # the forward-mode rule of x[i] = v with a value of extra leading dims
    "setitem_tangent_extra_leading_dims": Case(
        (), mode="chain", index=(("n",),), value=("tensor", (1,), "float64", True),
        index2=(("i", 0),), op="set",
    ),
    # error order: an int out of range (or too many items) before a negative step
    "int_out_of_range_before_negative_step": Case(
        (2, 2, 3), mode="chain", index=(("i", 5), ("s", None, -2, -1)), op="zero_"
    ),
    "too_many_indices_before_negative_step": Case(
        (4, 1, 3), index=(("s", -6, 3, -1), ("m", (1, 3), (True, False, False)),
                          ("t", (1,), (-2,), "int64")),
    ),
    "bare_negative_step_on_0d": Case((), index=(("s", -1, 2, -1),), bare=True),
    # writing into a leaf: the basic part's IndexError first, a float index after the refusal
    "leaf_too_many_indices": Case(
        (), mode="set", index=(("t", (1,), (-1,), "int64"),), value=("scalar", 2.0), op="leaf"
    ),
    "leaf_float_index": Case(
        (2, 2, 2), layout=2, mode="set", index=(("t", (1,), (0,), "float32"),),
        value=("scalar", -0.25), op="leaf",
    ),
    # a uint8 mask and one value: masked_fill_'s refusal after the index's own errors, and
    # only when the mask is the one advanced item
    "byte_mask_too_many_dims": Case(
        (2, 1), mode="set", index=(("m", (1, 2), (False, False), "uint8"), ("i", 0)),
        value=("scalar", 2), op="nograd",
    ),
    "byte_mask_wrong_shape": Case(
        (3, 4), mode="set", index=(("m", (4,), (True, True, True, False), "uint8"),),
        value=("scalar", 1),
    ),
    "byte_mask_beside_a_0d_index": Case(
        (4, 2, 4), "int64", mode="chain", value=("scalar", -2),
        index2=(("t", (), (-1,), "int64"), ("m", (2,), (False, False), "uint8")), op="set",
    ),
    "byte_mask_beside_a_numpy_index": Case(
        (1, 2), mode="set", index=(("m", (1,), (True,), "uint8"), ("np", (1,), (1,))),
        value=("tensor", (1,), "float64", True),
    ),
    # the layout of an advanced index's result (a copy): torch's elementwise order
    "layout_index_between_slices": Case(
        (4, 3, 3), index=(("s", None, None, None), ("l", (0, -3, 0)))
    ),
    "layout_permuted_leaf": Case(
        (3, 4), layout=1, index=(("s", None, None, None), ("l", (0, 1)))
    ),
    "layout_none_dims_count": Case(
        (3, 1, 3, 1), layout=1, index=(("s", None, None, None), ("t", (2, 2), (0, 0, 0, 0),
                                        "int64"), ("n",), ("n",)),
    ),
    "layout_int32_index_is_converted": Case(
        (4, 1, 3, 3), index=(("i", -3), ("t", (1,), (0,), "int32"),
                             ("t", (2, 3), (0, 2, -2, -1, 0, 0), "int64", "T")),
    ),
    # (session 31: the strides of size-1 dims are compared too) a bool scalar is staged as
    # an unsqueeze then the mask [b] (NumPy's copy had other strides), also alone: x[True]
    "layout_lone_bool_scalar": Case((3, 1, 3, 1), "float32", layout=1, index=(("b", True),),
                                    bare=True),
    "layout_bool_scalar_then_none": Case((3, 2), layout=2, index=(("b", True), ("n",))),
    "layout_ellipsis_then_bool_scalar": Case((1, 2, 2, 2), "float32", layout=1,
                                             index=(("e",), ("b", True))),
    # cr.tensor of a transposed NumPy array with a size-1 dim keeps NumPy's strides (1, 1)
    "layout_tensor_of_transposed_column": Case((1, 3), layout=1),
    "layout_leaf_written_keeps_size1_stride": Case((4, 1), "int64", layout=1, mode="set",
                                                   value=("scalar", 3), op="leaf"),
    # a None takes its stride from the next dim of x before that dim is selected
    "layout_none_before_int_and_mask": Case(
        (2, 4, 3, 5), layout=1, index=(("s", None, None, None), ("n",), ("i", 0),
                                        ("m", (3,), (True, False, True)))),
    "layout_basic_none_before_int": Case((2, 3, 4), index=(("s", None, None, None), ("n",),
                                                           ("i", 0))),
    # session 32: x[idx] = v through index_put_ with a value of another dtype: PyTorch's
    # IndexErrors for index arrays that do not broadcast (a 0-d False counts 0) and for a
    # mask that does not fit come before its dtype refusal
    "setitem_broadcast_error_before_dtype": Case(
        (2, 1), layout=2, mode="set", seed=58709,
        index=(("i", 0), ("B0", False), ("t", (3,), (-1, -1, 0), "int64"), ("n",)),
        value=("tensor", (2,), "int64", True),
    ),
    "setitem_mask_shape_error_before_dtype": Case(
        (3, 3, 1, 2), "float32", layout=2, mode="set", seed=45628,
        index=(("m", (4,), (False, False, True, True)), ("s", None, None, 7)),
        value=("tensor", (2,), "float64", False),
    ),
    "setitem_too_many_mask_dims_before_dtype": Case(
        (3, 3), "int64", mode="set", seed=4010,
        index=(("m", (3, 3), (False,) * 9), ("m", (2, 2), (False,) * 4), ("n",), ("n",)),
        value=("tensor", (), "float64", False),
    ),
    "setitem_index_into_empty_dim_before_dtype": Case(
        (3, 0, 2, 1), layout=1, mode="set", seed=38178,
        index=(("t", (2,), (-4, -1), "int64"), ("e",), ("t", (2,), (0, 0), "int64"), ("i", 0),
               ("t", (), (0,), "int32")),
        value=("tensor", (2,), "int64", False),
    ),
    # a slice's step error before an index tensor's dtype refusal (torch applies slices
    # first)
    "zero_step_before_float_index": Case(
        (1, 3, 3, 2), mode="chain", op="mul_",
        index2=(("t", (1,), (-1,), "float32"), ("s", -4, -100, 0)),
    ),
    # x[idx] = v: the value's shape before the positions of the index arrays
    "setitem_value_shape_before_index_bounds": Case(
        (1, 2, 3, 1), layout=1, mode="set", seed=54973,
        index=(("t", (2,), (-1, 4), "int32"), ("i", -2)), value=("tensor", (2,), "float64", False),
    ),
    # a 0-d index tensor of any integer dtype (int16, int8, uint16, ...) selects as an int
    # does (a view); chainrule refused all but int32/int64 (seeds 434)
    "zero_d_int16_index_selects": Case((4, 1, 4), index=(("t", (), (0,), "int16"),)),
    "zero_d_int8_index_after_int": Case((2, 3), index=(("i", 0), ("t", (), (1,), "int8"))),
    "zero_d_int16_index_setitem": Case(
        (3, 1, 3, 1), "int64", mode="set", index=(("t", (), (0,), "int16"),),
        value=("tensor", (1,), "int64", True),
    ),
    # index_put_ refuses int16/int8 index tensors (IndexError) before the value's shape;
    # chainrule took any integer dtype (seed 434)
    "index_put_int16_refused": Case(
        (1, 4), "float32", mode="put", seed=46048, op="noacc_",
        index=(("t", (1,), (0,), "int64"), ("t", (1,), (-3,), "int16")),
        value=("tensor", (), "float32", True),
    ),
    "index_put_int8_refused_before_value_shape": Case(
        (2, 4, 2, 4), mode="put", op="noacc_", index=(("t", (1,), (-1,), "int8"),),
        value=("tensor", (2,), "float32", True),
    ),
}  # fmt: skip

# the dim-wise writes on views (:mod:`.cases_views`)
VIEW_FOUND = {
    # index_add_ of a 0-d source into a 0-d tensor takes exactly one index (IndexError)
    "index_add_0d_empty_index": ViewCase(
        (), "int64", op="index_add_", dim=-1, index=((0,), ()), src=((), False), seed=2780
    ),
    "index_add_0d_two_indices": ViewCase(
        (), op="index_add", index=((2,), (0, 0)), src=((), False), seed=3
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(VIEW_FOUND))
def test_view_case_agrees_with_torch(name):
    assert check_view(VIEW_FOUND[name]) == []


@pytest.mark.parametrize("name", list(FOUND))
def test_found_case_agrees_with_torch(name):
    assert check(FOUND[name]) == []


def test_accumulate_broadcast_values():
    x = cr.tensor([4, 2, 0, -3])
    x.index_put_((cr.tensor([[2, 3], [1, 0]]),), cr.tensor([5, 5]), accumulate=True)
    assert x.tolist() == [9, 7, 5, 2]
    y = cr.zeros(4)
    y.index_put_((cr.tensor([[2, 3], [1, 0]]),), cr.tensor([1.0, 2.0]), accumulate=True)
    assert y.tolist() == [2.0, 1.0, 1.0, 2.0]


def test_empty_ellipsis_keeps_adjacent_index_arrays_in_place():
    x = cr.zeros(2, 3, 3)
    assert x[:, [0], ..., [0]].shape == (2, 1)
    y = cr.zeros(2, 3, 4, 3)
    assert y[:, [0], ..., :, [0]].shape == (1, 2, 4)  # apart: to the front, as before


def test_advanced_index_result_is_row_major_like_torch():
    for lib in (cr, torch):
        y = lib.zeros(4, 3, 3)[:, [0, 1, 0]]
        assert y.is_contiguous() and y.stride() == (9, 3, 1)


def test_index_put_one_mask_one_value_is_masked_fill():
    x = cr.zeros(2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.index_put_((cr.tensor([False, True]),), cr.tensor([[[3]]]))
    np.testing.assert_array_equal(x.numpy(), [[0, 0], [3, 3]])
    with pytest.raises(RuntimeError, match="shape mismatch"):
        cr.zeros(2, 2).index_put_((cr.tensor([0]),), cr.ones(1, 1, 2))


def test_full_slice_past_the_last_dim_is_skipped():
    x = cr.arange(6.0).reshape(2, 3)
    assert x[..., ..., :].shape == (2, 3)
    assert x[None, ..., ..., :].shape == (1, 2, 3)
    assert x[..., ..., :, :].shape == (2, 3)  # no dim left free: both slices apply
    for idx in (np.s_[..., ..., 1:], np.s_[..., ..., ::2], np.s_[..., ..., :, None],
                np.s_[0, ..., ..., :, :]):  # fmt: skip
        with pytest.raises(IndexError):
            x[idx]


def test_known_difference_index_fill_of_a_0d_tensor_with_no_position():
    """x.index_fill_(0, empty index, v) on a 0-d x with a value v that requires grad: torch
    2.13's backward raises (its index_select of a scalar wants one position); the fill
    writes nothing, so chainrule's gradients are x's upstream gradient and 0 for v (seed
    4401; :mod:`.case_draw` steers around it)."""
    case = Case((), mode="dim", index=(("t", (0,), (), "int64"),), value=("tensor", (), "float64",
                True), index2=(("i", -1),), op="index_fill_")  # fmt: skip
    assert any("Index to scalar" in d for d in check(case))  # torch's bug, still there
    x = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
    v = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    y = x.clone().index_fill_(0, cr.tensor([], dtype=cr.int64), v)
    (y * 3).backward()
    assert y.detach().item() == 0.5 and x.grad.item() == 3.0 and v.grad.item() == 0.0


def test_known_difference_index_fill_at_a_negative_position_backward():
    """index_fill_ at a negative position with a tensor value that requires grad: torch
    2.13 fills forward but its backward raises (index out of range); chainrule's value
    gets the sum of the upstream gradient at the filled slice (seed 4403; steered around)."""
    case = Case((2, 3), mode="dim", index=(("t", (1,), (-2,), "int64"),), value=("tensor", (),
                "float64", True), index2=(("i", -1),), op="index_fill_")  # fmt: skip
    assert any(d.startswith("backward: torch <") for d in check(case))  # torch's bug
    w = np.arange(6.0).reshape(2, 3)
    grads = []
    for lib, pos in ((cr, -2), (torch, 1)):  # torch's answer at the same column, counted
        x = lib.zeros(2, 3, dtype=lib.float64, requires_grad=True)
        v = lib.tensor(2.0, dtype=lib.float64, requires_grad=True)
        (x.clone().index_fill_(-1, lib.tensor([pos]), v) * lib.tensor(w)).sum().backward()
        grads.append((x.grad.tolist(), v.grad.item()))
    assert grads[0] == grads[1]
