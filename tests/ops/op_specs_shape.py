"""Op specs: shape and view ops, concatenation and splitting, structural ops (diagonal, rot90,
repeat_interleave, unfold, meshgrid, cdist, F.unfold/F.fold).

Part of the central op-spec table; tests/ops/op_specs.py assembles it, and
tests/ops/op_specs_core.py holds :class:`OpSpec` and the helpers used here. A pure move out
of the former single-file op_specs.py (session 35): no case changed.
"""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr

from .op_specs_core import (
    NO_JVP,
    OpSpec,
    _unary,
    bad_call,
    const,
    lib,
    nnf,
)

__all__ = ["SPECS"]

SPECS: list = [
    # ------------------------------------------------------------------- shape
    _unary(
        "reshape",
        lambda a: a.reshape(4, -1),
        shapes=(((2, 3, 2),),),
        bad=(bad_call("bad_size", lambda a: a.reshape(5, -1)),),
    ),
    _unary("view", lambda a: a.view(6, 2), shapes=(((2, 3, 2),),)),
    _unary(
        "flatten",
        lambda a: a.flatten(1),
        shapes=(((2, 3, 2),),),
        bad=(bad_call("start_after_end", lambda a: a.flatten(2, 1)),),
    ),
    _unary("squeeze", lambda a: a.squeeze(), shapes=(((2, 1, 3, 1),),)),
    _unary(
        "squeeze_dim",
        lambda a: a.squeeze(1),
        shapes=(((2, 1, 3, 1),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.squeeze(4)),),
    ),
    _unary(
        "unsqueeze",
        lambda a: a.unsqueeze(-1),
        shapes=(((2, 3),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.unsqueeze(4)),),
    ),
    _unary(
        "transpose",
        lambda a: a.transpose(0, 2),
        shapes=(((2, 3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: a.transpose(0, 3)),),
    ),
    _unary("permute", lambda a: a.permute(2, 0, 1), shapes=(((2, 3, 4),),)),
    _unary("T", lambda a: a.T, shapes=(((2, 3),),)),
    _unary("mT", lambda a: a.mT, shapes=(((2, 3, 4),),)),
    _unary("t", lambda a: a.t(), shapes=(((2, 3),),)),
    _unary("clone"),
    _unary("clone_method", lambda a: a.clone()),
    _unary(
        "expand",
        lambda a: a.expand(2, 3, 4),
        shapes=(((3, 1),),),
        bad=(bad_call("bad_size", lambda a: a.expand(2, 4, 4)),),
    ),
    _unary("expand_neg1", lambda a: a.expand(2, -1, 4), shapes=(((3, 1),),)),
    _unary("broadcast_to", lambda a: lib(a).broadcast_to(a, (2, 3, 4)), shapes=(((1, 4),),)),
    _unary(
        "repeat",
        lambda a: a.repeat(2, 1, 3),
        shapes=(((2, 3),),),
        bad=(bad_call("too_few_repeats", lambda a: a.repeat(2)),),
    ),
    _unary("tile", lambda a: a.tile((2,)), shapes=(((2, 3),),)),
    _unary("flip", lambda a: a.flip(0, 1), shapes=(((2, 3),),)),
    _unary("roll", lambda a: a.roll(1, 1), shapes=(((2, 3),),)),
    _unary("roll_flat", lambda a: a.roll(2), shapes=(((2, 3),),)),
    _unary(
        "roll_multi",
        lambda a: a.roll((1, -1), (0, 1)),
        shapes=(((2, 3),),),
        bad=(bad_call("shifts_dims_mismatch", lambda a: a.roll((1, 2), (0,))),),
    ),
    OpSpec(
        "cat",
        lambda a, b: lib(a).cat([a, b], 1),
        (((2, 3), (2, 2)),),
        bad=(bad_call("dim_out_of_range", lambda a, b: lib(a).cat([a, b], 2)),),
    ),
    OpSpec("cat0", lambda a, b, c: lib(a).cat([a, b, c]), (((1, 3), (2, 3), (3, 3)),)),
    OpSpec("stack", lambda a, b: lib(a).stack([a, b], 1), (((2, 3), (2, 3)),)),
    _unary("split", lambda a: a.split(2, 1), shapes=(((2, 5),),)),
    _unary(
        "split_sections",
        lambda a: a.split([1, 3, 1], 1),
        shapes=(((2, 5),),),
        bad=(
            bad_call("bad_sections", lambda a: a.split([1, 1], 1)),
            bad_call("negative_section", lambda a: a.split([-1, 5, 1], 1)),
        ),
    ),
    _unary("chunk", lambda a: a.chunk(3, 0), shapes=(((5, 2),),)),
    _unary("unbind", lambda a: a.unbind(1), shapes=(((2, 3),),)),
    # chainrule also has pad at the top level; PyTorch only in nn.functional
    _unary(
        "pad",
        lambda a: cr.pad(a, (1, 2)),
        shapes=(((2, 3),),),
        torch_fn=lambda a: torch.nn.functional.pad(a, (1, 2)),
    ),
    _unary(
        "pad2d",
        lambda a: cr.pad(a, (1, 0, 2, 1), value=0.5),
        shapes=(((2, 3, 2),),),
        torch_fn=lambda a: torch.nn.functional.pad(a, (1, 0, 2, 1), value=0.5),
    ),
    _unary(
        "pad_crop",
        lambda a: cr.pad(a, (-1, 1)),
        shapes=(((2, 3),),),
        torch_fn=lambda a: torch.nn.functional.pad(a, (-1, 1)),
    ),
    # ------------------------------------------------------------ structural
    _unary(
        "diagonal",
        lambda a: lib(a).diagonal(a, 1, 0, 2),
        shapes=(((3, 4, 5),),),
        bad=(bad_call("same_dims", lambda a: lib(a).diagonal(a, 0, 1, 1)),),
    ),
    _unary("diagonal_neg", lambda a: a.diagonal(-1), shapes=(((4, 3),),)),
    _unary("diag_1d", lambda a: lib(a).diag(a, 1), shapes=(((3,),),)),
    _unary("diag_2d", lambda a: lib(a).diag(a, -1), shapes=(((3, 4),),)),
    _unary("diag_embed", lambda a: lib(a).diag_embed(a, 1, 0, 2), shapes=(((2, 3),),)),
    _unary(
        "narrow",
        lambda a: a.narrow(1, -3, 2),
        shapes=(((3, 4),),),
        bad=(bad_call("out_of_range", lambda a: a.narrow(1, 3, 2)),),
    ),
    _unary("rot90", lambda a: lib(a).rot90(a, 1, (0, 1)), shapes=(((3, 4),),)),
    _unary("rot90_k3", lambda a: a.rot90(3, (2, 0)), shapes=(((2, 3, 4),),)),
    _unary("rot90_k2", lambda a: a.rot90(-2, (0, 1)), shapes=(((2, 3),),)),
    _unary("repeat_interleave", lambda a: a.repeat_interleave(2, 1), shapes=(((3, 4),),)),
    _unary(
        "repeat_interleave_t",
        lambda a: lib(a).repeat_interleave(a, const(a, [1, 0, 3]), 0),
        shapes=(((3, 2),),),
    ),
    _unary(
        "repeat_interleave_flat",
        lambda a: lib(a).repeat_interleave(a, 2),
        shapes=(((2, 3),), ((),)),
    ),
    _unary("tensor_unfold", lambda a: a.unfold(1, 3, 2), shapes=(((2, 7, 2),),)),
    _unary("tensor_unfold_overlap", lambda a: a.unfold(0, 3, 1), shapes=(((5,),),)),
    OpSpec(
        "meshgrid_ij",
        lambda a, b: lib(a).stack(lib(a).meshgrid(a, b, indexing="ij")),
        (((3,), (4,)),),
    ),
    OpSpec(
        "meshgrid_xy",
        lambda a, b, c: lib(a).stack(lib(a).meshgrid(a, b, c, indexing="xy")),
        (((2,), (3,), (4,)),),
    ),
    OpSpec("cartesian_prod", lambda a, b: lib(a).cartesian_prod(a, b), (((3,), (2,)),)),
    # cdist: no forward mode, as PyTorch 2.13 (tests/func/test_func_followups_session44.py)
    OpSpec(
        "cdist",
        lambda a, b: lib(a).cdist(a, b),
        (((3, 4), (5, 4)), ((2, 3, 2), (2, 4, 2))),
        checks=NO_JVP,
    ),
    OpSpec(
        "cdist_p1", lambda a, b: lib(a).cdist(a, b, 1.0), (((3, 4), (2, 4)),), "distinct", NO_JVP
    ),
    OpSpec(
        "cdist_p3", lambda a, b: lib(a).cdist(a, b, 3.0), (((3, 4), (2, 4)),), "distinct", NO_JVP
    ),
    OpSpec(
        "cdist_inf",
        lambda a, b: lib(a).cdist(a, b, float("inf")),
        (((3, 4), (2, 4)),),
        "distinct",
        NO_JVP,
    ),
    _unary(
        "F_unfold",
        lambda a: nnf(a).unfold(a, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
        shapes=(((2, 2, 5, 6),),),
    ),
    _unary(
        "F_fold",
        lambda a: nnf(a).fold(a, (4, 5), 2, padding=1, stride=2),
        shapes=(((2, 12, 9),), ((8, 9),)),
    ),
    _unary("tensor_split", lambda a: lib(a).tensor_split(a, [1, -1], 1), shapes=(((3, 4),),)),
    _unary(
        "tensor_split_sections",
        lambda a: a.tensor_split(3, 1),
        shapes=(((3, 5),),),
        bad=(bad_call("zero_sections", lambda a: a.tensor_split(0)),),
    ),
    _unary("fliplr", lambda a: lib(a).fliplr(a), shapes=(((3, 4),),)),
    _unary("flipud", lambda a: a.flipud(), shapes=(((3, 4),),)),
    _unary("moveaxis", lambda a: lib(a).moveaxis(a, (0, 1), (2, 0)), shapes=(((2, 3, 4),),)),
    _unary("swapdims", lambda a: a.swapdims(0, -1), shapes=(((2, 3, 4),),)),
    _unary("ravel", lambda a: lib(a).ravel(a)),
    _unary("reshape_as", lambda a: a.reshape_as(const(a, np.zeros((4, 3)))), shapes=(((3, 4),),)),
    _unary(
        "sum_to_size",
        lambda a: a.sum_to_size(1, 4),
        shapes=(((3, 4),),),
        bad=(bad_call("not_expandable", lambda a: a.sum_to_size(3, 5)),),
    ),
]
