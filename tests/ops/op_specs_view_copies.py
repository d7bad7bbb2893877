"""Op specs for PyTorch's view copies (ops/view_copies.py: ``t_copy``, ``split_copy``, ...);
appended to the central table in tests/ops/op_specs.py.

Each copy has its view op's values and gradient, so the table checks them like any op
(forward/backward vs PyTorch on contiguous and non-contiguous inputs, gradcheck, forward mode
vs reverse mode, double backward). The complex ones go real -> complex -> real
(``view_as_complex`` of a (..., 2) input, then ``view_as_real``) because the table's checks
take float outputs (PyTorch's ``view_as_complex_copy`` has no derivative: its side is
``view_as_complex(a).clone()``); ``values_copy`` compares with PyTorch's ``values().clone()``, since
PyTorch 2.13 has no sparse-COO kernel for ``values_copy`` on CPU. ``detach_copy`` has no
gradient (its result requires grad, under a node whose backward raises, in both libraries;
tests/autograd/test_graph_names_session34.py checks that): forward only, of a detached input.
tests/ops/test_view_copies.py checks what the table does not: fresh memory, contiguity,
``out=``, the pieces' container types and errors.
"""

from __future__ import annotations

import torch

from .op_specs import ALL, OpSpec, bad_call, lib
from .op_specs_sparse import _V, _coo

__all__ = ["SPECS"]


def _copy(name: str, call, shapes=(((3, 4),),), checks=ALL, bad=(), fn_name=None) -> OpSpec:
    """A spec named ``name`` for ``lib.<fn_name or name>``, called as ``call(fn, a)``."""
    op = fn_name or name
    return OpSpec(
        name,
        lambda *xs: call(getattr(lib(xs[0]), op), *xs),
        shapes,
        checks=checks,
        bad=bad,
    )


def _vr(z):
    return lib(z).view_as_real(z)


def _vc(a):
    return lib(a).view_as_complex(a.contiguous())


SPECS: list = [
    _copy("alias_copy", lambda f, a: f(a), shapes=(((3, 4),), ((),))),
    _copy(
        "as_strided_copy",  # overlapping windows: elements read twice get both gradients
        lambda f, a: f(a.contiguous(), (3, 2), (1, 1), 1),
        shapes=(((6,),),),
    ),
    OpSpec(  # no gradient: the result requires grad but its backward raises
        "detach_copy",
        lambda a: lib(a).detach_copy(a.detach()),
        (((3, 4),),),
        checks=frozenset({"fwd"}),
        torch_fn=lambda a: torch.detach_copy(a.detach()),
    ),
    _copy(
        "diagonal_copy",
        lambda f, a: f(a, 1, 0, 2),
        shapes=(((3, 2, 4),),),
        bad=(bad_call("same_dims", lambda a: lib(a).diagonal_copy(a, 0, 1, 1)),),
    ),
    _copy(
        "expand_copy",
        lambda f, a: f(a, (2, 3, 4)),
        shapes=(((3, 1),),),
        bad=(bad_call("bad_size", lambda a: lib(a).expand_copy(a, (3, 5))),),
    ),
    _copy(
        "narrow_copy",
        lambda f, a: f(a, 1, -3, 2),
        bad=(bad_call("out_of_range", lambda a: lib(a).narrow_copy(a, 1, 3, 2)),),
    ),
    _copy("narrow_copy_method", lambda f, a: a.narrow_copy(0, 1, 2), fn_name="narrow_copy"),
    _copy(
        "permute_copy",
        lambda f, a: f(a, (2, 0, 1)),
        shapes=(((2, 3, 4),),),
        bad=(bad_call("duplicate_dims", lambda a: lib(a).permute_copy(a, (0, 0, 1))),),
    ),
    _copy(
        "select_copy",
        lambda f, a: f(a, 1, -1),
        bad=(bad_call("index_out_of_range", lambda a: lib(a).select_copy(a, 0, 3)),),
    ),
    _copy(
        "slice_copy",
        lambda f, a: f(a, 1, 1, None, 2),
        bad=(bad_call("zero_step", lambda a: lib(a).slice_copy(a, 0, 0, 2, 0)),),
    ),
    _copy("slice_copy_defaults", lambda f, a: f(a), fn_name="slice_copy"),
    _copy("split_copy", lambda f, a: f(a, 2, 1), shapes=(((2, 5),),)),
    _copy(
        "split_with_sizes_copy",
        lambda f, a: f(a, [1, 3, 1], 1),
        shapes=(((2, 5),),),
        bad=(bad_call("bad_sizes", lambda a: lib(a).split_with_sizes_copy(a, [1, 1], 1)),),
    ),
    _copy("squeeze_copy", lambda f, a: f(a), shapes=(((1, 3, 1),),)),
    _copy(
        "squeeze_copy_dims",
        lambda f, a: f(a, (0, 2)),
        shapes=(((1, 3, 1),),),
        fn_name="squeeze_copy",
    ),
    _copy("t_copy", lambda f, a: f(a), shapes=(((2, 3),), ((3,),))),
    _copy(
        "transpose_copy",
        lambda f, a: f(a, 0, 2),
        shapes=(((2, 3, 4),),),
        bad=(bad_call("dim_out_of_range", lambda a: lib(a).transpose_copy(a, 0, 3)),),
    ),
    _copy("unbind_copy", lambda f, a: f(a, 1), shapes=(((2, 3),),)),
    _copy(
        "unfold_copy",  # overlapping windows
        lambda f, a: f(a, 1, 3, 2),
        shapes=(((2, 7, 2),),),
        bad=(bad_call("window_too_big", lambda a: lib(a).unfold_copy(a, 1, 9, 1)),),
    ),
    _copy("unsqueeze_copy", lambda f, a: f(a, -1)),
    _copy(
        "view_copy",
        lambda f, a: f(a, (2, -1)),
        bad=(bad_call("bad_shape", lambda a: lib(a).view_copy(a, (5,))),),
    ),
    _copy(
        "view_copy_transposed",  # strides that cannot express the shape: copied as reshape
        lambda f, a: f(a.transpose(0, -1), (-1,)),
        fn_name="view_copy",
    ),
    OpSpec(  # PyTorch's view_as_complex_copy has no derivative (complex output): its view's
        "view_as_complex_copy",
        lambda a: _vr(lib(a).view_as_complex_copy(a.contiguous())),
        (((3, 2),),),
        torch_fn=lambda a: _vr(_vc(a).clone()),
    ),
    _copy("view_as_real_copy", lambda f, a: f(_vc(a) * 2.0), shapes=(((3, 2),),)),
    OpSpec(
        "values_copy",
        lambda v: lib(v).values_copy(_coo(v).coalesce()),
        ((_V,),),
        torch_fn=lambda v: _coo(v).coalesce().values().clone(),
    ),
]
