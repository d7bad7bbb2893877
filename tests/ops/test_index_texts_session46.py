"""Session 46: gather / scatter / scatter_add / index_select raise PyTorch's exception type
and first line word for word (run live against torch 2.13); an empty index of any shape
leaves the input unchanged (scatter_reduce too, with gradients); ``ones``, ``zeros``,
``empty``, ``rand``, ``randn`` and ``full`` without their size raise PyTorch's TypeError."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


def _i(lib, data):
    return lib.tensor(data, dtype=lib.int64)


def _z(lib, *shape, dtype=None):
    return lib.zeros(*shape, dtype=dtype or lib.int64)


# name -> call(lib): each raises in torch (or returns, for the empty-index cases)
CASES = {
    # gather: out of bounds on several dims, negative, shapes, dim, dtype, 0-d
    "gather_oob_dim0": lambda t: t.zeros(4, 3).gather(0, _i(t, [[9, 0, 0]])),
    "gather_oob_dim1": lambda t: t.zeros(4, 3).gather(1, _i(t, [[0, 5]])),
    "gather_oob_dim2": lambda t: t.zeros(2, 3, 4).gather(2, t.full((2, 3, 1), 4)),
    "gather_first_bad": lambda t: t.zeros(4, 2).gather(0, _i(t, [[0, 7], [8, 0]])),
    "gather_negative": lambda t: t.zeros(4, 3).gather(1, _i(t, [[0, -1]])),
    "gather_negative_dim0": lambda t: t.zeros(4, 3).gather(0, _i(t, [[-5]])),
    "gather_larger_than_self": lambda t: t.zeros(4, 3).gather(0, _z(t, 2, 5)),
    "gather_rank": lambda t: t.zeros(4, 3).gather(0, _z(t, 2)),
    "gather_dim_range": lambda t: t.zeros(4, 3).gather(2, _z(t, 2, 2)),
    "gather_float_index": lambda t: t.zeros(4, 3).gather(0, _z(t, 2, 2, dtype=t.float32)),
    "gather_int16_index": lambda t: t.zeros(4, 3).gather(0, _z(t, 2, 2, dtype=t.int16)),
    "gather_0d_input": lambda t: t.tensor(1.0).gather(0, _i(t, 3)),
    "gather_0d_negative": lambda t: t.tensor(1.0).gather(0, _i(t, -1)),
    "gather_0d_index": lambda t: t.zeros(3).gather(0, _i(t, 7)),
    "gather_empty_dim": lambda t: t.zeros(0, 3).gather(0, _i(t, [[0]])),
    "gather_empty_index": lambda t: t.zeros(4, 3).gather(0, _z(t, 0, 7, 7)),
    # scatter with a tensor src
    "scatter_oob": lambda t: t.zeros(4, 5).scatter(0, _i(t, [[9]]), t.ones(2, 5)),
    "scatter_oob_dim1": lambda t: t.zeros(4, 5).scatter(1, _i(t, [[1, 7]]), t.ones(2, 5)),
    "scatter_first_bad": lambda t: t.zeros(2, 4).scatter(1, _i(t, [[0, 7], [8, 0]]), t.ones(2, 2)),
    "scatter_negative": lambda t: t.zeros(4, 5).scatter(1, _i(t, [[-1]]), t.ones(2, 5)),
    "scatter_larger_than_src": lambda t: t.zeros(4, 5).scatter(0, _z(t, 3, 5), t.ones(2, 5)),
    "scatter_larger_than_self": lambda t: t.zeros(4, 5).scatter(0, _z(t, 3, 6), t.ones(4, 6)),
    "scatter_src_fewer_dims": lambda t: t.zeros(4, 5).scatter(0, _z(t, 1, 1), t.ones(5)),
    "scatter_src_more_dims": lambda t: t.zeros(4, 5).scatter(0, _z(t, 1, 1), t.ones(2, 2, 2)),
    "scatter_src_0d": lambda t: t.zeros(4, 5).scatter(0, _z(t, 1, 1), t.tensor(1.0)),
    "scatter_src_dim1": lambda t: t.zeros(4, 5).scatter(1, _z(t, 1, 1), t.ones(5)),
    "scatter_rank": lambda t: t.zeros(4, 5).scatter(0, _z(t, 3), t.ones(4, 5)),
    "scatter_dim_range": lambda t: t.zeros(4, 5).scatter(-3, _z(t, 1, 1), t.ones(4, 5)),
    "scatter_float_index": lambda t: t.zeros(4, 5).scatter(
        0, _z(t, 1, 1, dtype=t.float32), t.ones(4, 5)
    ),
    "scatter_src_dtype": lambda t: t.zeros(4, 5).scatter(
        0, _z(t, 1, 1), t.ones(4, 5, dtype=t.float64)
    ),
    "scatter_0d_input": lambda t: t.tensor(1.0).scatter(0, _i(t, 2), t.tensor(3.0)),
    "scatter_0d_negative": lambda t: t.tensor(1.0).scatter(0, _i(t, [-1]), t.tensor([3.0])),
    "scatter_0d_index": lambda t: t.zeros(3).scatter(0, _i(t, 5), t.tensor([3.0])),
    "scatter_inplace_oob": lambda t: t.zeros(4, 5).scatter_(0, _i(t, [[4]]), t.ones(2, 5)),
    "scatter_empty_index": lambda t: t.zeros(4, 5).scatter(0, _z(t, 0, 7), t.ones(2, 5)),
    # scatter with a value, and the legacy reduce=
    "scatter_value_oob": lambda t: t.zeros(4, 5).scatter(1, _i(t, [[7]]), 1.0),
    "scatter_value_larger": lambda t: t.zeros(4, 3).scatter(0, _i(t, [[1, 1, 1, 1]]), 2.0),
    "scatter_value_rank": lambda t: t.zeros(4, 3).scatter(0, _i(t, [1]), 2.0),
    "scatter_value_empty": lambda t: t.zeros(4, 5).scatter(0, _z(t, 0, 7, 7), 1.0),
    "scatter_reduce_arg": lambda t: t.zeros(4, 3).scatter(0, _i(t, [[1]]), 2.0, reduce="mul"),
    "scatter_reduce_oob": lambda t: t.zeros(4, 3).scatter(0, _i(t, [[1, 9]]), 2.0, reduce="add"),
    "scatter_reduce_larger": lambda t: t.zeros(4, 3).scatter(
        0, _i(t, [[1, 1, 1, 1]]), 2.0, reduce="multiply"
    ),
    # scatter_add
    "scatter_add_oob": lambda t: t.zeros(4, 5).scatter_add(0, _i(t, [[4]]), t.ones(2, 5)),
    "scatter_add_negative": lambda t: t.zeros(4, 5).scatter_add(0, _i(t, [[-1]]), t.ones(2, 5)),
    "scatter_add_larger_src": lambda t: t.zeros(4, 5).scatter_add(1, _z(t, 2, 6), t.ones(2, 5)),
    "scatter_add_larger_self": lambda t: t.zeros(4, 5).scatter_add(1, _z(t, 5, 1), t.ones(5, 5)),
    "scatter_add_rank": lambda t: t.zeros(4, 5).scatter_add(1, _z(t, 5), t.ones(5, 5)),
    "scatter_add_dim_range": lambda t: t.zeros(4, 5).scatter_add(2, _z(t, 1, 1), t.ones(5, 5)),
    "scatter_add_int16_index": lambda t: t.zeros(4, 5).scatter_add(
        1, _z(t, 1, 1, dtype=t.int16), t.ones(5, 5)
    ),
    "scatter_add_src_fewer_dims": lambda t: t.zeros(4, 5).scatter_add(1, _z(t, 1, 1), t.ones(5)),
    "scatter_add_0d": lambda t: t.tensor(1.0).scatter_add(0, _i(t, [1]), t.tensor([3.0])),
    "scatter_add_inplace_oob": lambda t: t.zeros(4, 5).scatter_add_(0, _i(t, [[4]]), t.ones(2, 5)),
    "scatter_add_empty_index": lambda t: t.zeros(4, 5).scatter_add(0, _z(t, 0, 7), t.ones(2)),
    # index_select: three texts by rank, dim and emptiness
    "index_select_dim0": lambda t: t.zeros(4, 5).index_select(0, _i(t, [1, 4])),
    "index_select_dim1": lambda t: t.zeros(4, 5).index_select(1, _i(t, [0, 7, -1])),
    "index_select_dim1_3d": lambda t: t.zeros(2, 3, 5).index_select(1, _i(t, [3])),
    "index_select_dim2_3d": lambda t: t.zeros(2, 3, 5).index_select(2, _i(t, [5])),
    "index_select_negative_dim": lambda t: t.zeros(2, 3, 5).index_select(-2, _i(t, [7])),
    "index_select_negative": lambda t: t.zeros(4, 5).index_select(1, _i(t, [-1])),
    "index_select_negative_dim0": lambda t: t.zeros(4, 5).index_select(0, _i(t, [-1])),
    "index_select_1d": lambda t: t.zeros(5).index_select(0, _i(t, [5])),
    "index_select_0d_index": lambda t: t.zeros(3).index_select(0, _i(t, 3)),
    "index_select_0d_input": lambda t: t.tensor(1.0).index_select(0, _i(t, [1])),
    "index_select_0d_two": lambda t: t.tensor(1.0).index_select(0, _i(t, [0, 0])),
    "index_select_strided": lambda t: t.zeros(5, 4).t().index_select(1, _i(t, [7])),
    "index_select_empty_axis": lambda t: t.zeros(0, 4).index_select(0, _i(t, [0])),
    "index_select_empty_input": lambda t: t.zeros(4, 0).index_select(0, _i(t, [9])),
    "index_select_empty_input_ok": lambda t: t.zeros(4, 0).index_select(0, _i(t, [3])),
    "index_select_empty_1d": lambda t: t.zeros(0).index_select(0, _i(t, [0])),
    "index_select_2d_index": lambda t: t.zeros(4, 5).index_select(1, _i(t, [[1]])),
    "index_select_float_index": lambda t: t.zeros(4, 5).index_select(1, _z(t, 1, dtype=t.float32)),
    "index_select_dim_range": lambda t: t.zeros(4, 5).index_select(2, _i(t, [1])),
    # factories without their size
    "ones_dtype": lambda t: t.ones(dtype=t.float32),
    "ones_bare": lambda t: t.ones(),
    "ones_out": lambda t: t.ones(out=t.zeros(2)),
    "zeros_dtype": lambda t: t.zeros(dtype=t.float32),
    "zeros_bare": lambda t: t.zeros(),
    "empty_dtype": lambda t: t.empty(dtype=t.float32),
    "empty_memory_format": lambda t: t.empty(memory_format=t.contiguous_format),
    "rand_dtype": lambda t: t.rand(dtype=t.float32),
    "rand_bare": lambda t: t.rand(),
    "randn_requires_grad": lambda t: t.randn(requires_grad=True),
    "randn_bare": lambda t: t.randn(),
    "full_no_size": lambda t: t.full(fill_value=2.0),
    "full_bare": lambda t: t.full(),
    "full_no_fill": lambda t: t.full((2,)),
    "full_size_keyword": lambda t: t.full(size=(2,)),
    "ones_empty_size": lambda t: t.ones(()),
    "full_keywords": lambda t: t.full(size=(2,), fill_value=1.0),
}


def _outcome(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scatter's reduce= deprecation (both libraries)
        try:
            return call(), None
        except Exception as err:  # noqa: BLE001 - compared below
            return None, err


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_type_and_first_line_as_torch(name):
    t_out, t_err = _outcome(lambda: CASES[name](torch))
    c_out, c_err = _outcome(lambda: CASES[name](cr))
    if t_err is None:
        assert c_err is None, c_err
        np.testing.assert_array_equal(c_out.numpy(), t_out.numpy())
        return
    assert isinstance(c_err, type(t_err)), (c_err, t_err)
    if name.endswith("_bare") and name.startswith("ran"):  # the overload listing, all of it
        assert str(c_err) == str(t_err)
    assert str(c_err).split("\n")[0] == str(t_err).split("\n")[0]


_EMPTY_INDEX_CASES = [
    *(
        ("scatter_reduce", reduce, include_self)
        for reduce in ("sum", "mean", "amax", "amin", "prod")
        for include_self in (True, False)
    ),
    ("scatter", None, True),
    ("scatter_add", None, True),
]


@pytest.mark.parametrize(("op", "reduce", "include_self"), _EMPTY_INDEX_CASES)
def test_empty_index_of_any_shape_leaves_input_with_gradient(op, reduce, include_self):
    """The value is ``x``; ``x``'s gradient passes (amax, amin and prod: PyTorch's backward
    refuses the index's shape, in the same words)."""
    got = []
    for lib in (torch, cr):
        x = lib.tensor(np.arange(20.0).reshape(4, 5), requires_grad=True)
        src = lib.ones(2, 5, dtype=lib.float64)
        index = lib.zeros(0, 7, dtype=lib.int64)
        if op == "scatter_reduce":
            out = x.scatter_reduce(0, index, src, reduce, include_self=include_self)
        else:
            out = getattr(x, op)(0, index, src)
        grad = lib.arange(20.0, dtype=lib.float64).reshape(4, 5) + 1
        err = _outcome(lambda out=out, grad=grad: out.backward(grad))[1]
        got.append((out.grad_fn.name(), out.detach().numpy(), err, x.grad))
    (t_name, t_out, t_err, t_grad), (c_name, c_out, c_err, c_grad) = got
    assert c_name == t_name
    np.testing.assert_array_equal(c_out, t_out)
    if t_err is not None:
        assert c_err is not None and issubclass(type(c_err), type(t_err))
        assert str(c_err).split("\n")[0] == str(t_err).split("\n")[0]
    else:
        assert c_err is None, c_err
        np.testing.assert_array_equal(c_grad.numpy(), t_grad.numpy())


@pytest.mark.parametrize("op", ["scatter_reduce", "scatter", "scatter_add"])
def test_empty_index_src_gradient_refused_as_torch(op):
    """PyTorch's backward gives src a gradient of the index's shape and refuses it."""
    errs = []
    for lib in (torch, cr):
        x = lib.zeros(4, 5, requires_grad=True)
        src = lib.ones(2, 5, requires_grad=True)
        index = lib.zeros(0, 7, dtype=lib.int64)
        args = (0, index, src, "sum") if op == "scatter_reduce" else (0, index, src)
        out = getattr(x, op)(*args)
        errs.append(_outcome(lambda out=out: out.sum().backward())[1])
    assert errs[0] is not None
    assert isinstance(errs[1], type(errs[0])), errs
    assert str(errs[1]).split("\n")[0] == str(errs[0]).split("\n")[0]
