"""Op specs for ``ops/chunk_cat.py`` (``torch._chunk_cat``, FSDP2's gradient flattening),
appended to the central table in tests/ops/op_specs.py.

PyTorch registers no derivative for ``_chunk_cat``: the result of inputs that require grad is
in the graph, but its backward raises "derivative for aten::_chunk_cat is not implemented"
(and forward AD raises too), so the specs take the forward check only, as ``geqrf``'s do
(op_specs_linalg_lowrank.py); the refusal itself is compared with PyTorch's in
tests/compat/test_gaps_session45_a.py and tests/ops/test_chunk_cat_specs_session46_small.py.
The table's systematic bad inputs (int64 inputs, a rank too many or too few, an empty first
input, a last input that does not match) and the ``bad`` cases below (an out-of-range dim,
``num_chunks`` of 0, dtypes that differ, sizes before ``dim`` that differ, an empty list)
are compared with PyTorch's errors by tests/ops/test_bad_inputs.py.
"""

from __future__ import annotations

from .op_specs_core import OpSpec, bad_call, lib

__all__ = ["SPECS"]

FWD = frozenset({"fwd"})


def _chunk_cat(dim: int, num_chunks: int):
    """``_chunk_cat`` of the spec's inputs (a list of tensors) along ``dim``."""
    return lambda *xs: lib(xs[0])._chunk_cat(list(xs), dim, num_chunks)


SPECS: list = [
    OpSpec(  # padded chunks (5 along dim 1 into 2), tensors differing after dim
        "_chunk_cat_pad",
        _chunk_cat(1, 2),
        (((3, 5), (3, 4)), ((2, 5, 2), (2, 3)), ((3, 4, 2), (3, 1))),
        checks=FWD,
        bad=(
            bad_call("dim_out_of_range", lambda a, b: lib(a)._chunk_cat([a, b], 2, 2)),
            bad_call("zero_chunks", lambda a, b: lib(a)._chunk_cat([a, b], 1, 0)),
            bad_call("dtypes_differ", lambda a, b: lib(a)._chunk_cat([a, b.float()], 1, 2)),
            bad_call("leading_differ", lambda a, b: lib(a)._chunk_cat([a, b[:1]], 1, 2)),
            bad_call("empty_list", lambda a, b: lib(a)._chunk_cat([], 0, 2)),
        ),
    ),
    OpSpec(  # dim 0 (one row per chunk), a negative dim, more chunks than elements
        "_chunk_cat_dim0",
        _chunk_cat(0, 3),
        (((6,), (4, 2)), ((2, 3), (7,))),
        checks=FWD,
    ),
    OpSpec("_chunk_cat_neg_dim", _chunk_cat(-1, 4), (((2, 3), (2, 8)),), checks=FWD),
    OpSpec("_chunk_cat_one", _chunk_cat(1, 3), (((2, 4, 3),),), checks=FWD),
]
