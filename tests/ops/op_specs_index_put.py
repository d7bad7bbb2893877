"""Op specs for ``index_put`` (ops/indexing.py): ``torch.index_put`` / ``Tensor.index_put`` and,
through a non-leaf copy, the recorded in-place ``Tensor.index_put_``; appended to the central
table in tests/ops/op_specs.py.

Overwrite specs use indices without repeats (which element wins for a repeated index is not
specified by PyTorch); accumulate specs repeat indices so that the summing is exercised.
tests/ops/test_index_put.py covers the in-place form's recording, views, errors and masks.
"""

from __future__ import annotations

import numpy as np

from .op_specs import OpSpec, bad_call, const, lib

__all__ = ["SPECS"]

_ROWS = np.array([2, 0])  # distinct rows of a (3, 4)
_ROWS_REP = np.array([0, 2, 0, 1, 2, 2])  # repeated rows
_R2 = np.array([0, 2, 2, 1, 0])  # (row, col) pairs with (2, 3) repeated
_C2 = np.array([1, 3, 3, 0, 1])
_MASK = np.array(
    [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
)
_ROW_MASK = np.array([True, False, True])


def _put(*index, accumulate=False, method=False, inplace=False):
    """``index_put(x, index, v)`` as a function, a method or an in-place write into a
    non-leaf copy of ``x`` (the recorded ``index_put_``)."""

    def call(x, v):
        idx = tuple(const(x, i) for i in index)
        if inplace:
            return (x * 1).index_put_(idx, v, accumulate=accumulate)
        if method:
            return x.index_put(idx, v, accumulate=accumulate)
        return lib(x).index_put(x, idx, v, accumulate=accumulate)

    return call


X = (3, 4)

SPECS: list = [
    OpSpec(
        "index_put",
        _put(_ROWS),
        ((X, (2, 4)), (X, (4,)), (X, ()), (X, (2, 1))),
        bad=(
            bad_call("float_index", lambda x, v: lib(x).index_put(x, (x[0],), v)),
            bad_call("oob", lambda x, v: lib(x).index_put(x, (const(x, [0, 3]),), v)),
        ),
    ),
    OpSpec("index_put_method", _put(_ROWS, method=True), ((X, (2, 4)),)),
    OpSpec("index_put_inplace", _put(_ROWS, inplace=True), ((X, (2, 4)), (X, (4,)))),
    OpSpec(
        "index_put_acc",
        _put(_ROWS_REP, accumulate=True),
        ((X, (6, 4)), (X, (4,)), (X, (6, 1)), (X, ())),
    ),
    OpSpec("index_put_acc_inplace", _put(_ROWS_REP, accumulate=True, inplace=True), ((X, (4,)),)),
    OpSpec("index_put_two", _put(_ROWS, np.array([1, 3])), ((X, (2,)), (X, ()))),
    OpSpec("index_put_two_acc", _put(_R2, _C2, accumulate=True), ((X, (5,)), (X, ()))),
    OpSpec("index_put_mask", _put(_MASK), ((X, (6,)), (X, ()))),
    OpSpec("index_put_mask_acc", _put(_MASK, accumulate=True), ((X, (6,)),)),
    OpSpec("index_put_row_mask_acc", _put(_ROW_MASK, accumulate=True), ((X, (4,)), (X, (2, 4)))),
    OpSpec(
        "index_put_batched_acc",  # a 2-D index tensor on a 3-D input
        _put(np.array([[0, 1], [1, 1]]), accumulate=True),
        (((2, 3, 2), (2, 2, 3, 2)), ((2, 3, 2), (2,))),
    ),
]
