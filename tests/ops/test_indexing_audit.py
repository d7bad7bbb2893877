"""Indexing audited against PyTorch: ``x[idx]`` and ``x[idx] = v`` with every kind of index
(ints, 0-d tensors, slices, None, ..., bool scalars and masks, index lists and tensors, lists
read as tuples), the dim-wise index ops (index dtypes, 0-d and empty cases), ``narrow``, and
a sample of cases that already agreed. Each case compares the value, dtype, shape, the error
type, the gradients of every input and whether a write through the result reaches the base.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5))
X2 = RNG.standard_normal((3, 4))
M34 = np.array([[True, False, True, True]] * 3)


def _idx(lib, idx):
    """A neutral index (NumPy arrays for index tensors) in ``lib``'s terms."""
    if isinstance(idx, tuple):
        return tuple(_idx(lib, i) for i in idx)
    if isinstance(idx, list):
        return [_idx(lib, i) for i in idx]
    if isinstance(idx, np.ndarray):
        return lib.tensor(idx)
    return idx


def _run(lib, fn, arrays, grad=True):
    """``fn(lib, *tensors)``: (outputs, gradients of the float inputs, error)."""
    leaves = [lib.tensor(a) for a in arrays]
    if grad:
        for t in leaves:
            if t.dtype in (lib.float32, lib.float64):
                t.requires_grad_(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(lib, *leaves)
    except Exception as err:  # noqa: BLE001 - the error is what is compared
        return None, None, err
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    grads = None
    if grad and any(t.requires_grad for t in leaves):
        total = None
        for k, o in enumerate(outs):
            if o.requires_grad:
                w = np.random.default_rng(k).standard_normal(tuple(o.shape))
                term = (o * lib.tensor(w, dtype=o.dtype)).sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward()
            grads = [None if t.grad is None else t.grad.numpy() for t in leaves]
    return outs, grads, None


def assert_like_torch(fn, *arrays, grad=True):
    """``fn`` gives the same outputs (value, dtype, shape), gradients or error type in both."""
    c_out, c_grads, c_err = _run(cr, fn, arrays, grad)
    t_out, t_grads, t_err = _run(torch, fn, arrays, grad)
    if t_err is not None:
        assert c_err is not None, f"torch raised {t_err!r}, chainrule did not"
        assert isinstance(c_err, type(t_err)), f"torch {t_err!r}, chainrule {c_err!r}"
        return
    assert c_err is None, f"chainrule raised {c_err!r}"
    assert len(c_out) == len(t_out)
    for c, t in zip(c_out, t_out):
        assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        assert tuple(c.shape) == tuple(t.shape)
        np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=0)
    if t_grads is not None or c_grads is not None:
        for k, (c, t) in enumerate(zip(c_grads, t_grads)):
            if t is None or c is None:
                assert (t is None or not t.any()) and (c is None or not c.any()), k
            else:
                np.testing.assert_allclose(c, t, rtol=1e-10, atol=1e-12, err_msg=f"grad {k}")


def assert_view_like_torch(fn, array):
    """Filling ``fn``'s result changes the base exactly as in PyTorch (view or copy)."""
    bases = []
    for lib in (cr, torch):
        base = lib.tensor(array)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(lib, base)
        out.fill_(7.0)
        bases.append(base.numpy())
    np.testing.assert_array_equal(bases[0], bases[1])


# ------------------------------------------------------------------------- x[idx]
GET = {
    # fixed: a 0-d integer tensor selects as an int does (a view, not a copy)
    "t0d": np.array(1),
    "t0d_neg": np.array(-1),
    "slice_t0d": (slice(None), np.array(2)),
    "t0d_slice_arr": (np.array(1), slice(None), np.array([0, 2])),
    # fixed: a bool scalar beside ints / index arrays is a new dim of size 1 in place
    "int_slice_True": (0, slice(None), True),
    "int_ell_True": (0, Ellipsis, True),
    "int_True_list": (0, True, [0, 2]),
    "True_int_list": (True, 0, [0, 2]),
    "list_int_True": ([0, 2], 0, True),
    "int_slice_t0d_bool": (0, slice(None), np.array(True)),
    "arr2d_True_int": (np.array([[0, 1], [1, 0]]), True, -1),
    # fixed: a k-dim mask beside an int stands for k dims
    "mask2d_int": (M34, 0),
    "mask2d_t0d": (M34, np.array(-1)),
    "mask2d_slice": (M34, slice(1, 3)),
    # fixed: a list holding sequences, tensors, slices, None or ... is a tuple (as PyTorch)
    "list_of_lists": [[0, 1], [2, 0]],
    "list_of_0d_tensors": [np.array(0), np.array(2)],
    "list_of_tensors": [np.array([0, 1]), np.array([1, 2])],
    "list_int_slice": [0, slice(1, 3)],
    "list_int_None": [0, None],
    "list_int_list": [0, [1, 2]],
    # fixed: errors as PyTorch's
    "neg_step": (slice(None), slice(None, None, -1)),
    "zero_step": slice(None, None, 0),
    "float_tensor": np.array([0.0, 1.0]),
    "int16_tensor": np.array([0, 1], np.int16),
    # already agreeing
    "int": 1,
    "neg_int": -2,
    "oob_int": 3,
    "oob_neg_int": -4,
    "slices": (slice(1, 3), slice(None, None, 2), slice(-10, 10)),
    "empty_slice": (slice(5, 1),),
    "None_ell": (None, Ellipsis, None),
    "True": True,
    "False": False,
    "int_list": [0, 2, 0],
    "int32_tensor": np.array([0, 2], np.int32),
    "adv_sep_by_slice": ([0, 1], slice(None), [1, 2]),
    "int_sep_by_slice": (1, slice(None), [0, 1, 2]),
    "adv_bcast": ([[0], [1]], slice(None), [0, 2, 4]),
    "mask_full": X > 0,
    "mask_partial": np.array([True, False, True]),
    "mask_wrong": np.array([True, False]),
    "uint8_mask": np.array([1, 0, 1], np.uint8),
    "empty_list": [],
    "empty_long": np.array([], np.int64),
    "oob_list": [3],
    "too_many": (0, 0, 0, 0),
}


@pytest.mark.parametrize("idx", GET.values(), ids=GET.keys())
def test_getitem_like_torch(idx):
    assert_like_torch(lambda lib, x: x[_idx(lib, idx)], X)


VIEWS = ["t0d", "t0d_neg", "slice_t0d", "int_slice_True", "int_ell_True", "int", "slices"]
VIEWS += ["None_ell", "True", "int_list", "mask_full", "t0d_slice_arr"]


@pytest.mark.parametrize("name", VIEWS)
def test_getitem_view_or_copy_like_torch(name):
    assert_view_like_torch(lambda lib, x: x[_idx(lib, GET[name])], X)


@pytest.mark.parametrize(
    "shape, idx",
    [((0, 3), 0), ((0, 3), slice(None)), ((3, 0), (slice(None), 0)), ((3, 0), [0]), ((), ())],
    ids=["empty_int", "empty_slice", "empty_dim_int", "empty_list", "scalar_empty_tuple"],
)
def test_getitem_on_empty_and_0d_like_torch(shape, idx):
    assert_like_torch(lambda lib, x: x[_idx(lib, idx)], np.zeros(shape))


def test_list_read_as_tuple_warns_as_torch():
    x = cr.tensor(X)
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        out = x[[[0, 1], [2, 0]]]
    assert tuple(out.shape) == (2, 5)
    # a list of plain ints (or of bools) is one index array: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tuple(x[[0, 1]].shape) == (2, 4, 5)


def test_negative_step_error_message():
    with pytest.raises(ValueError, match="step must be greater than zero"):
        cr.tensor(X)[::-1]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        cr.tensor(X)[0, ::-2] = 1.0


# ---------------------------------------------------------------------- x[idx] = v
def _set(idx, grad_x=True):
    def fn(lib, x0, v):
        x = x0 * 1.0 if grad_x else x0.detach().clone()
        x[_idx(lib, idx)] = v
        return x

    return fn


SET = {
    # fixed: an int and an index array separated by a slice keep PyTorch's dim order
    "int_slice_list": ((1, slice(None), [0, 2]), (4, 2)),
    "t0d_slice_t1d": ((np.array(1), slice(None), np.array([0, 2])), (4, 2)),
    "int_slice_True": ((0, slice(None), True), (4, 1, 5)),
    "True_int_list": ((True, 0, [0, 2]), (2, 5)),
    "mask2d_int": ((M34, 0), (9,)),
    "list_of_lists": ([[0, 1], [2, 0]], (2, 5)),
    # fixed: a value with extra leading dims of size 1 gets its gradient (was an error)
    "int_lead1": (0, (1, 1, 5)),
    "slice_int_lead1": ((slice(None), 1), (1, 1, 5)),
    "list_lead1": ([0, 0], (1, 1, 5)),
    "mask_lead1": (M34, (1, 1, 5)),
    "scalar_lead1": ((0, 0, 0), (1,)),
    # fixed: a value broadcasting to more than the region is refused (RuntimeError)
    "None_too_big": (None, (2, 1, 1, 5)),
    "True_too_big": (True, (2, 1, 1, 5)),
    "nested_too_big": ([[0, 1], [1, 0]], (2, 1, 1, 5)),
    # already agreeing
    "int": (0, (4, 5)),
    "int_bcast": (-1, (5,)),
    "slice_step": (slice(None, None, 2), (5,)),
    "ellipsis_int": ((Ellipsis, 1), (3, 4)),
    "dup_list": ([0, 0], (5,)),
    "pairs_dup": (([0, 0], [1, 1]), (5,)),
    "adv_sep": (([0, 1], slice(None), [1, 2]), (2, 4)),
    "mask_full": (X > 0, ()),
    "mask_vals": (X > 0, (int((X > 0).sum()),)),
    "mask_wrong_count": (X > 0, (3,)),
    "mask_partial": (np.array([True, False, True]), (4, 5)),
    "t0d_bool": (np.array(True), (5,)),
    "empty_list": ([], (5,)),
    "oob": (np.array([5]), (5,)),
    "wrong_shape": (0, (2, 5)),
}


@pytest.mark.parametrize("grad_x", [True, False], ids=["x_grad", "x_plain"])
@pytest.mark.parametrize("idx, vshape", SET.values(), ids=SET.keys())
def test_setitem_like_torch(idx, vshape, grad_x):
    assert_like_torch(_set(idx, grad_x), X, RNG.standard_normal(vshape))


def test_setitem_through_a_staged_index_writes_the_base():
    for lib in (cr, torch):
        x = lib.zeros(3, 4, 5)
        x[1, :, lib.tensor([0, 2])] = lib.ones(4, 2)
        assert x.sum().item() == 8 and x[1, :, 0].sum().item() == 4


SET_DTYPE = {  # PyTorch's index_put_ refuses a value of another dtype; a basic write casts
    "list_f32_vec": ([0, 2], np.float32, (5,)),
    "list_f32_0d": ([0, 2], np.float32, ()),
    "list_i64_0d": ([0, 2], np.int64, ()),
    "mask_f32_vec": (M34, np.float32, (5,)),
    "mask_f32_0d": (M34, np.float32, ()),  # masked_fill_: converts
    "mask_f32_1elem": (M34, np.float32, (1,)),
    "t0d_bool_f32": (np.array(True), np.float32, ()),
    "slice_list_f32": ((slice(None), [0, 1]), np.float32, (5,)),
    "int_f32": (0, np.float32, (5,)),
    "slice_i64": (slice(0, 2), np.int64, (5,)),
    "t0d_int_f32": (np.array(1), np.float32, (5,)),
}


@pytest.mark.parametrize("idx, dtype, vshape", SET_DTYPE.values(), ids=SET_DTYPE.keys())
def test_setitem_value_dtype_like_torch(idx, dtype, vshape):
    assert_like_torch(_set(idx, False), X, np.ones(vshape, dtype), grad=False)


@pytest.mark.parametrize("value", [None, "a"], ids=["None", "str"])
@pytest.mark.parametrize("dtype", [cr.float64, cr.int64, cr.bool])
def test_setitem_refuses_none_and_str(value, dtype):
    with pytest.raises(TypeError, match="can't assign"):
        cr.zeros(3, dtype=dtype)[0] = value


def test_setitem_uint8_mask_with_one_element_value_refused():
    x = cr.zeros(3)
    with pytest.raises(RuntimeError, match="boolean masks"):
        x[cr.tensor([1, 0, 1], dtype=cr.uint8)] = cr.tensor([2.0])


# --------------------------------------------------------------------- narrow
@pytest.mark.parametrize(
    "dim, start, length",
    [(0, 3, 1), (0, 3, 0), (0, -1, 1), (0, -3, 3), (1, 2, 2), (1, 4, 1), (0, -4, 1), (1, 0, 5)],
)
@pytest.mark.parametrize("op", ["narrow", "narrow_copy"])
def test_narrow_like_torch(op, dim, start, length):
    # torch's narrow_copy backward is wrong for a negative start (a zero gradient, or an
    # error): its gradients are compared for narrow only
    grad = op == "narrow"
    assert_like_torch(lambda lib, x: getattr(lib, op)(x, dim, start, length), X2, grad=grad)


# ---------------------------------------------------------- dim-wise index ops
DIMWISE = {
    "gather": lambda lib, x, i: lib.gather(x, 1, i.reshape(1, -1)),
    "scatter": lambda lib, x, i: lib.scatter(x, 1, i.reshape(1, -1), 1.5),
    "scatter_add": lambda lib, x, i: lib.scatter_add(x, 1, i.reshape(1, -1), x[:1, :2] * 1),
    "scatter_reduce": lambda lib, x, i: lib.scatter_reduce(
        x, 1, i.reshape(1, -1), x[:1, :2] * 1, "sum"
    ),
    "index_select": lambda lib, x, i: lib.index_select(x, 1, i),
    "index_add": lambda lib, x, i: lib.index_add(x, 1, i, x[:, :2] * 1, alpha=2),
    "index_copy": lambda lib, x, i: lib.index_copy(x, 1, i, x[:, 2:] * 1),
    "index_fill": lambda lib, x, i: lib.index_fill(x, 1, i, -1.0),
    "index_reduce": lambda lib, x, i: lib.index_reduce(x, 1, i, x[:, :2] * 1, "amax"),
    "take": lambda lib, x, i: lib.take(x, i),
    "put": lambda lib, x, i: x.put(i, x[0, :2] * 1),
    "take_along_dim": lambda lib, x, i: lib.take_along_dim(x, i.reshape(1, -1), 1),
    "take_along_dim_flat": lambda lib, x, i: lib.take_along_dim(x, i),
}


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.uint8])
@pytest.mark.parametrize("op", DIMWISE.keys())
def test_index_dtypes_like_torch(op, dtype):
    """Which index dtypes each op takes (uint8 is never a mask here) and its error type."""
    assert_like_torch(lambda lib, x, i: DIMWISE[op](lib, x, i), X2, np.array([0, 2], dtype))


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, x, i: lib.gather(x, 0, i),
        lambda lib, x, i: lib.scatter(x, 0, i, 2.5),
        lambda lib, x, i: lib.scatter_add(x, 0, i, x),
    ],
    ids=["gather", "scatter", "scatter_add"],
)
def test_0d_index_into_a_matrix_refused_as_torch(fn):
    assert_like_torch(fn, X2, np.array(0))


@pytest.mark.parametrize(
    "shape, dim, idx, src_shape",
    [
        ((0, 4), 1, [-1], (0, 1)),  # nothing copied: no bounds check, as PyTorch
        ((0, 4), 0, [0, 2], (2, 4)),  # copies into an empty dim: out of bounds
        ((), 0, [0, 1], ()),  # a scalar source needs one index
        ((), 0, [], ()),
        ((), 0, [0], ()),
        ((4,), 0, [1], ()),
    ],
)
def test_index_copy_edge_cases_like_torch(shape, dim, idx, src_shape):
    # values and errors only: torch's backward of an empty index_copy with a negative index
    # fails inside torch
    assert_like_torch(
        lambda lib, x, i, s: lib.index_copy(x, dim, i, s),
        np.zeros(shape),
        np.array(idx, np.int64),
        np.ones(src_shape),
        grad=False,
    )


# ------------------------------------------------- sample of cases that already agree
AGREE = {
    "index_select_neg_dim": (lambda L, x, i: L.index_select(x, -1, i), [X2, np.array([3, 0, 3])]),
    "index_select_oob": (lambda L, x, i: L.index_select(x, 0, i), [X2, np.array([3])]),
    "index_add_dup_alpha": (
        lambda L, x, i, s: x.index_add(0, i, s, alpha=-1.5),
        [X2, np.array([2, 2]), RNG.standard_normal((2, 4))],
    ),
    "index_copy_neg_dim": (
        lambda L, x, i, s: x.index_copy(-1, i, s),
        [X2, np.array([3, 1]), RNG.standard_normal((3, 2))],
    ),
    "index_fill_neg_index": (lambda L, x, i: x.index_fill(1, i, 2.0), [X2, np.array([-1])]),
    "index_fill_tensor_value": (
        lambda L, x, i, v: x.index_fill(0, i, v),
        [X2, np.array([0, 2]), np.array(3.0)],
    ),
    "gather_neg_oob": (lambda L, x, i: L.gather(x, 1, i), [X2, np.array([[-1]])]),
    "gather": (lambda L, x, i: L.gather(x, 1, i), [X2, np.array([[0, 3], [1, 1], [2, 0]])]),
    "scatter_dup": (
        lambda L, x, i, s: L.scatter_add(x, 0, i, s),
        [X2, np.array([[0, 0, 2, 2], [0, 1, 2, 2]]), RNG.standard_normal((2, 4))],
    ),
    "take_neg": (lambda L, x, i: L.take(x, i), [X2, np.array([[0, -1], [5, -12]])]),
    "take_oob": (lambda L, x, i: L.take(x, i), [X2, np.array([12])]),
    "put_acc_dup": (
        lambda L, x, i, s: x.put(i, s, accumulate=True),
        [X2, np.array([1, 1, -1]), np.array([1.0, 2.0, 3.0])],
    ),
    "index_put_acc_dup": (
        lambda L, x, v, i, j: L.index_put(x, (i, j), v, accumulate=True),
        [X2, np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]), np.array([1, 1, 2])],
    ),
    "index_put_mask_row": (
        lambda L, x, v, m: x.index_put((m,), v),
        [X2, np.ones(4), np.array([True, False, True])],
    ),
    "masked_select_bcast": (
        lambda L, x, m: L.masked_select(x, m),
        [X2, np.array([True, False, True, False])],
    ),
    "masked_fill_tensor": (lambda L, x, m, v: x.masked_fill(m, v), [X2, X2 > 0, np.array(-2.0)]),
    "masked_scatter": (
        lambda L, x, m, s: x.masked_scatter(m, s),
        [X2, X2 > 0, RNG.standard_normal(12)],
    ),
    "select_neg": (lambda L, x: L.select(x, -1, -2), [X2]),
    "select_oob": (lambda L, x: L.select(x, 0, 3), [X2]),
    "unbind": (lambda L, x: L.unbind(x, -1), [X2]),
    "nonzero": (lambda L, x: L.nonzero(x), [X2 > 0]),
    "nonzero_tuple": (lambda L, x: L.nonzero(x, as_tuple=True), [X2 > 0]),
    "nonzero_0d": (lambda L, x: L.nonzero(x, as_tuple=True), [np.array(2.0)]),
}


@pytest.mark.parametrize("fn, arrays", AGREE.values(), ids=AGREE.keys())
def test_dimwise_ops_like_torch(fn, arrays):
    assert_like_torch(fn, *arrays)


SCATTER_INDEX = np.array([[1, 1, 2], [1, 1, 2]])
TIES_X = np.array([[1.0, 2.0, 2.0, 0.5], [0.0, 5.0, 5.0, 1.0]])
TIES_S = np.array([[2.0, 2.0, 1.0], [5.0, 5.0, 0.0]])


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_like_torch(reduce, include_self):
    assert_like_torch(
        lambda L, x, i, s: L.scatter_reduce(x, 1, i, s, reduce, include_self=include_self),
        TIES_X,
        SCATTER_INDEX,
        TIES_S,
    )


def test_0d_index_tensor_modified_after_forward_like_torch():
    """A 0-d integer index is read as an int (torch's SelectBackward0 keeps no tensor), so
    changing the index tensor after forward does not affect or refuse backward."""
    grads = []
    for lib in (cr, torch):
        x = lib.tensor(X2, requires_grad=True)
        i = lib.tensor(1)
        y = x[i] * 2
        i += 1
        y.sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
