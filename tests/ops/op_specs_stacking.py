"""Op specs for ops/stacking.py and ops/numpy_style.py (appended to the central table in
tests/ops/op_specs.py)."""

from __future__ import annotations

import numpy as np
import torch

from .op_specs import OpSpec, _fit, bad_call, lib


def _torch_vander(x, N=None, increasing=False):  # noqa: N803 - PyTorch's parameter name
    """torch.vander's own formula (columns 1, x, x^2, ... as a cumprod of x repeated) with
    differentiable ops: PyTorch 2.13's vander backward raises ("modified by an inplace
    operation"), so its gradients come from this; tests/ops/test_stacking.py compares
    cr.vander's values with torch.vander itself."""
    values = torch.vander(x.detach(), N, increasing)  # PyTorch's errors and values
    n = x.shape[0] if N is None else N
    cols = [torch.ones(x.shape[0], 1, dtype=x.dtype)]
    if n > 1:
        cols.append(torch.cumprod(x.unsqueeze(1).expand(x.shape[0], n - 1), 1))
    out = torch.cat(cols, 1)[:, :n]
    out = out if increasing else out.flip(1)
    assert torch.equal(out.detach(), values)
    return out


# Outputs with no elements (an empty split piece, combinations of fewer than r elements) are
# tested in tests/ops/test_stacking.py: test_ops.py's non-contiguous upstream gradients need at
# least one element.

_XS = np.array([0.0, 0.5, 1.75, 3.0])  # sample points for the trapezoid rule (4 samples)

SPECS: list = [
    # ---------------------------------------------------------------- joining
    OpSpec(
        "hstack",
        lambda a, b: lib(a).hstack([a, b]),
        (((2, 3), (2, 1)), ((3,), ()), ((2, 3, 2), (2, 1, 2))),
    ),
    OpSpec("vstack", lambda a, b: lib(a).vstack([a, b]), (((2, 3), (1, 3)), ((3,), (2, 3)))),
    OpSpec("row_stack", lambda a, b: lib(a).row_stack([a, b]), (((3,), (3,)), ((), ()))),
    OpSpec("dstack", lambda a, b: lib(a).dstack([a, b]), (((2, 3), (2, 3, 2)), ((3,), (3,)))),
    OpSpec(
        "column_stack",
        lambda a, b: lib(a).column_stack([a, b]),
        (((3,), (3, 2)), ((), (1,)), ((2, 2, 2), (2, 1, 2))),
    ),
    OpSpec(
        "concat",
        lambda a, b: lib(a).concat([a, b], dim=-1),
        (((2, 3), (2, 1)),),
        bad=(bad_call("dim_out_of_range", lambda a, b: lib(a).concat([a, b], 2)),),
    ),
    OpSpec(
        "atleast_1d",
        lambda a, b: lib(a).atleast_1d(a, b),
        (((), (3,)), ((2, 3), ())),
    ),
    OpSpec("atleast_2d", lambda a: lib(a).atleast_2d(a), (((),), ((3,),), ((2, 3, 1),))),
    OpSpec(
        "atleast_3d",
        lambda a, b: lib(a).atleast_3d([a, b]),
        (((), (3,)), ((2, 3), (2, 1, 2, 1))),
    ),
    OpSpec(
        "broadcast_tensors",
        lambda a, b: lib(a).broadcast_tensors(a, b),
        (((2, 1, 3), (4, 1)), ((), (2,))),
    ),
    OpSpec(
        "block_diag",
        lambda a, b, c: lib(a).block_diag(a, b, c),
        (((2, 3), (), (4,)), ((1, 2), (2, 1), (1, 1))),
    ),
    # --------------------------------------------------------------- splitting
    OpSpec(
        "hsplit",
        lambda a: a.hsplit(2),
        (((3, 4),), ((4,),), ((2, 4, 3),)),
        bad=(
            bad_call("not_divisible", lambda a: a.hsplit(3)),
            bad_call("zero_sections", lambda a: a.hsplit(0)),
        ),
    ),
    OpSpec(
        "hsplit_indices",
        lambda a: lib(a).hsplit(a, [1, 3]),
        (((3, 4),), ((5,),)),
    ),
    OpSpec(
        "vsplit",
        lambda a: a.vsplit([2]),
        (((3, 4),), ((4, 2, 3),)),
        bad=(bad_call("not_divisible", lambda a: a.vsplit(2)),),
    ),
    OpSpec(
        "dsplit",
        lambda a: lib(a).dsplit(a, 2),
        (((2, 3, 4),), ((1, 2, 2, 3),)),
        bad=(bad_call("indices", lambda a: a.dsplit([3, 1])),),
    ),
    OpSpec(
        "split_with_sizes",
        lambda a: a.split_with_sizes([1, 3], dim=1),
        (((3, 4),), ((2, 4, 2),)),
        bad=(
            bad_call("wrong_sum", lambda a: a.split_with_sizes([1, 1], 1)),
            bad_call("negative_size", lambda a: a.split_with_sizes([5, -1], 1)),
            bad_call("dim_out_of_range", lambda a: a.split_with_sizes([1, 3], 5)),
        ),
    ),
    OpSpec(
        "unsafe_split_with_sizes",
        lambda a: lib(a).unsafe_split_with_sizes(a, [2, 1]),
        (((3, 4),),),
    ),
    OpSpec(
        "unsafe_split",
        lambda a: a.unsafe_split(3, -1),
        (((3, 4),), ((5,),)),
        bad=(bad_call("zero_split_size", lambda a: a.unsafe_split(0, -1)),),
    ),
    OpSpec(
        "unsafe_chunk",
        lambda a: lib(a).unsafe_chunk(a, 3, 1),
        (((3, 4),), ((2, 5, 1),)),
        bad=(bad_call("zero_chunks", lambda a: a.unsafe_chunk(0)),),
    ),
    # -------------------------------------------------- diagonals, combinations
    OpSpec("diagflat", lambda a: a.diagflat(), (((2, 3),), ((),), ((4,),))),
    OpSpec("diagflat_offset", lambda a: lib(a).diagflat(a, -2), (((3,),), ((2, 2),))),
    OpSpec(
        "diagonal_scatter",
        lambda a, s: a.diagonal_scatter(s, 1),
        (((3, 4), (3,)),),
        bad=(
            bad_call("wrong_src", lambda a, s: lib(a).diagonal_scatter(a, s[:2])),
            bad_call("same_dims", lambda a, s: lib(a).diagonal_scatter(a, s, 0, 1, 1)),
        ),
    ),
    OpSpec(
        "diagonal_scatter_dims",
        lambda a, s: lib(a).diagonal_scatter(a, s, -1, 2, 0),
        (((3, 2, 4), (2, 3)),),
    ),
    OpSpec(
        "combinations",
        lambda a: lib(a).combinations(a),
        (((4,),), ((2,),)),
        bad=(bad_call("negative_r", lambda a: lib(a).combinations(a, -1)),),
    ),
    OpSpec(
        "combinations_replacement",
        lambda a: lib(a).combinations(a, 3, with_replacement=True),
        (((3,),),),
    ),
    OpSpec(
        "vander",
        lambda a: lib(a).vander(a),
        (((4,),),),
        torch_fn=_torch_vander,
        bad=(bad_call("negative_N", lambda a: lib(a).vander(a, -1)),),
    ),
    OpSpec(
        "vander_increasing",
        lambda a: lib(a).vander(a * _fit([1.0, 0.0, 1.0], a), N=5, increasing=True),
        (((3,),),),
        torch_fn=lambda a: _torch_vander(a * _fit([1.0, 0.0, 1.0], a), N=5, increasing=True),
    ),
    # ------------------------------------------------------------- moments
    OpSpec("var_mean", lambda a: lib(a).var_mean(a, 1), (((3, 4),), ((2, 3, 2),))),
    OpSpec(
        "var_mean_all",
        lambda a: lib(a).var_mean(a, correction=0, keepdim=True),
        (((3, 4),), ((5,),)),
    ),
    OpSpec(
        "std_mean",
        lambda a: lib(a).std_mean(a, (0, -1), True, True),
        (((3, 4),), ((2, 3, 2),)),
        bad=(bad_call("dim_out_of_range", lambda a: lib(a).std_mean(a, 5)),),
    ),
    OpSpec("std_mean_unbiased", lambda a: lib(a).std_mean(a, False), (((3, 4),),)),
    # -------------------------------------------------------- trapezoid rule
    OpSpec(
        "trapezoid",
        lambda a: lib(a).trapezoid(a),
        (((3, 4),), ((5,),), ((2, 1),)),
        bad=(bad_call("dim_out_of_range", lambda a: lib(a).trapezoid(a, dim=4)),),
    ),
    OpSpec(
        "trapezoid_dx",
        lambda a: lib(a).trapezoid(a, dx=0.75, dim=0),
        (((3, 4),), ((2, 3, 2),)),
    ),
    OpSpec(
        "trapezoid_x",
        lambda a, x: lib(a).trapezoid(a, x),
        (((3, 4), (4,)), ((2, 3, 4), (3, 4)), ((3, 4), (3, 4))),
        bad=(bad_call("x_too_short", lambda a, x: lib(a).trapezoid(a, x[..., :2])),),
    ),
    OpSpec(
        "trapz",
        lambda a: lib(a).trapz(a, _fit(_XS, a), dim=0),
        (((4, 3),),),
    ),
    OpSpec("trapz_dx", lambda a: lib(a).trapz(a, dx=2.0), (((3, 4),),)),
    OpSpec(
        "cumulative_trapezoid",
        lambda a: lib(a).cumulative_trapezoid(a),
        (((3, 4),), ((5,),)),
        bad=(bad_call("dim_out_of_range", lambda a: lib(a).cumulative_trapezoid(a, dim=2)),),
    ),
    OpSpec(
        "cumulative_trapezoid_x",
        lambda a, x: lib(a).cumulative_trapezoid(a, x, dim=-1),
        (((3, 4), (4,)), ((2, 3, 4), (3, 4))),
    ),
    OpSpec(
        "cumulative_trapezoid_dx",
        lambda a: lib(a).cumulative_trapezoid(a, dx=0.5, dim=0),
        (((4, 3),),),
    ),
]
