"""Einstein summation: ``einsum('bij,bjk->bik', a, b)``, with '...' and the sublist form.

One op for every equation: the forward is ``np.einsum``, contracting three operands or more
in the order ``cr.backends.opt_einsum`` gives (opt_einsum's path when installed and enabled,
else left to right, as PyTorch); the gradient of operand i is again an einsum, of the
output's gradient with the other operands onto operand i's subscripts, so it runs at BLAS
speed and is differentiable again. Subscripts summed inside one operand only are broadcast
back, and an operand whose subscripts repeat (a diagonal, ``'ii->i'``) gets its gradient on
that diagonal.
"""

from __future__ import annotations

import string
from functools import reduce
from typing import Any

import numpy as np

from .._kernels.half_gemm import to_half, to_single
from .._layout import relaid_tensor
from ..autograd import grad as autograd_grad
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad
from ..autograd.lower_precision import AUTOCAST, autocast_lower_precision, outside_autocast
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..backends.opt_einsum import contraction_path
from ..dtypes import promote_types
from ._einsum_sublist import sublist_to_equation
from ._result_layout import with_strides
from ._tensor_args import torch_type_name
from ._util import DtypeError, ShapeError, as_tensor
from .einsum_layout import pair_grad_strides, pair_layout, path_layout
from .matmul_autocast import autocast_product_operands
from .shape import broadcast_to, reshape

__all__ = ["einsum"]


def _parse_einsum(equation: str, shapes: list) -> tuple:
    """Expand '...' into explicit letters; return (input subscripts, output subscripts)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if not shapes:  # PyTorch's ValueError (a ShapeError is one), its words
        raise ShapeError(
            "einsum(): must specify the equation string and at least one operand, "
            "or at least one operand and its subscripts list"
        )
    if len(ins) != len(shapes):  # PyTorch's words
        fewer = "more" if len(ins) < len(shapes) else "fewer"
        raise ShapeError(f"einsum(): {fewer} operands were provided than specified in the equation")
    used = set(c for c in eq if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    ell_nd = 0
    for sub, shp in zip(ins, shapes):
        if "..." in sub:
            ell_nd = max(ell_nd, len(shp) - (len(sub) - 3))
    ell = "".join(free[:ell_nd])
    new_ins = []
    for i, (sub, shp) in enumerate(zip(ins, shapes)):
        if "..." in sub:
            n = len(shp) - (len(sub) - 3)
            if n < 0:  # PyTorch's words
                raise ShapeError(
                    f"einsum(): the number of subscripts in the equation ({len(sub) - 3}) is "
                    f"more than the number of dimensions ({len(shp)}) for operand {i}"
                )
            sub = sub.replace("...", ell[ell_nd - n :] if n else "")
        if len(sub) != len(shp):  # PyTorch's words
            raise ShapeError(
                f"einsum(): the number of subscripts in the equation ({len(sub)}) does not "
                f"match the number of dimensions ({len(shp)}) for operand {i} and no ellipsis "
                "was given"
            )
        new_ins.append(sub)
    if arrow:
        out = rhs.replace("...", ell)
        seen_in = set("".join(new_ins))
        for i, c in enumerate(out):
            if c not in seen_in:
                raise ShapeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any "
                    f"input operand (equation {equation!r})"
                )
            if c in out[:i]:
                raise ShapeError(
                    f"einsum(): output subscript {c} appears more than once in the output "
                    f"(equation {equation!r})"
                )
    else:
        counts = {}
        for s in new_ins:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return new_ins, out


class Einsum(Function):
    raw = True

    @staticmethod
    def forward(ctx, *arrays, ins, out):
        ctx.ins, ctx.outs = ins, out
        # operand i's gradient reads the other operands and only the shape of operand i:
        # keep an operand only if another one wants a gradient (a lone operand: none)
        needs = ctx.needs_input_grad
        ctx.shapes = tuple(a.shape for a in arrays)
        ctx.twice = len(arrays) == 2 and arrays[0] is arrays[1]  # einsum(eq, a, a)
        ctx.save_for_backward(
            *(
                a if any(n for j, n in enumerate(needs) if j != i) else None
                for i, a in enumerate(arrays)
            )
        )
        xp = get_array_module(*arrays)
        equation = ",".join(ins) + "->" + out
        if arrays[0].dtype.char == "e":  # float16 (all operands): float32 sums, rounded once
            wide = [to_single(a) for a in arrays]  # (as PyTorch's CPU kernels)
            path = contraction_path(equation, wide)
            return to_half(xp.einsum(equation, *wide, optimize=path))
        path = contraction_path(equation, arrays)
        y = xp.einsum(equation, *arrays, optimize=path)
        if len(arrays) == 2:  # PyTorch's strides
            return pair_layout(y, arrays, ins, out)
        return path_layout(y, arrays, ins, out, path) if len(arrays) > 2 else y

    @staticmethod
    def backward(ctx, grad):
        ops = ctx.saved_tensors
        dtypes = None  # inside an autocast block: PyTorch's bmm casts (matmul_autocast.py)
        if AUTOCAST[0] and len(ctx.ins) == 2 and _contracts_across(list(ctx.ins), ctx.outs):
            grad, ops, dtypes = autocast_product_operands(ctx, grad, ops)
        elif AUTOCAST[0] and len(ctx.ins) > 2:
            pairwise = _pairwise_grads(ctx, grad, ops)
            if pairwise is not None:
                return pairwise
        grads = []
        for i, sub in enumerate(ctx.ins):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            uniq = "".join(dict.fromkeys(sub))  # 'iij' -> 'ij': the operand's diagonal
            others = [ctx.outs] + [s for j, s in enumerate(ctx.ins) if j != i]
            avail = set("".join(others))
            target = "".join(c for c in uniq if c in avail)
            g = einsum(
                ",".join(others) + "->" + target, grad, *[o for j, o in enumerate(ops) if j != i]
            )
            if dtypes is not None:  # the rounded product, cast back as PyTorch's engine does
                g = g.to(dtypes[i])
            shp = ctx.shapes[i]
            if target != uniq:  # letters summed only inside this operand: broadcast back
                shape = tuple(shp[sub.index(c)] if c in avail else 1 for c in uniq)
                g = broadcast_to(reshape(g, shape), tuple(shp[sub.index(c)] for c in uniq))
            # a letter of size 1 in some operands and n in others (PyTorch broadcasts it):
            # sum the gradient back onto this operand's 1, or broadcast it onto its n
            full = tuple(shp[sub.index(c)] for c in uniq)
            if tuple(g.shape) != full:
                ones = tuple(k for k, n in enumerate(full) if n == 1 and g.shape[k] != 1)
                g = broadcast_to(g.sum(ones, keepdim=True) if ones else g, full)
            if len(ctx.ins) == 2 and g.dim() > 1:  # PyTorch's layout (its bmm's backward)
                g = _pair_grad_layout(g, ctx, i)
            if uniq != sub:
                g = _onto_diagonal(g, uniq, sub, shp, ctx.ins, ctx.outs)
            grads.append(g)
        if len(grads) == 2:
            return _as_view_grads(grads, ctx.twice, [len(set(sub)) < len(sub) for sub in ctx.ins])
        return tuple(grads)

    @staticmethod
    def jvp(ctx, *tangents):
        xp = get_array_module(ctx.out)
        eq = ",".join(ctx.ins) + "->" + ctx.outs
        out = None
        for i, t in enumerate(tangents):
            if t is None:
                continue
            args = list(ctx.primals)
            args[i] = t
            term = xp.einsum(eq, *args)
            out = term if out is None else out + term
        return out


def _pair_grad_layout(g: Tensor, ctx: Any, i: int) -> Tensor:
    """Operand ``i``'s gradient ``g`` with the strides PyTorch's gives it
    (``einsum_layout.pair_grad_strides``): ``g`` itself where it has them or no rule
    applies; a relaid copy (recorded under ``create_graph``) else."""
    strides = pair_grad_strides(tuple(ctx.ins), ctx.outs, ctx.shapes, i)
    arr = g._data
    if strides is None or type(arr) is not np.ndarray or arr.shape != ctx.shapes[i]:
        return g
    if 0 in arr.strides:  # broadcast onto a size-n dim the others have as 1: kept
        return g
    if arr.strides == tuple(s * arr.itemsize for s in strides):
        return g
    if g.requires_grad:  # a differentiable relayout (dense, the dims by stride)
        return relaid_tensor(g, sorted(range(arr.ndim), key=lambda d: strides[d]))
    return Tensor._make(with_strides(arr, strides), False, None, 0)


def _as_view_grads(grads: list, twice: bool, diagonal: list) -> tuple:
    """The two operands' gradients over NumPy views of their arrays: PyTorch's two-operand
    einsum hands each gradient back through the permute / view nodes of its ``bmm`` (or
    ``mul``), so it reaches the leaf as a view, which the engine's input buffer does not sum
    into in place (the leaf's ``.grad`` version: 0 for ``einsum('ij,ij->', a, a)``, not 1;
    ``accumulate_grad.summed_version``). The same tensor twice (``twice``): PyTorch's second
    operand's chain runs first (its nodes are newer), so the sum takes the second gradient's
    layout (then copied into the leaf's: version 1 where that differs); the first gradient
    is given that layout, which chainrule's engine (first operand first) then follows. The
    gradient of an operand with a repeated label (``diagonal``) stays fresh (PyTorch's
    ``DiagonalBackward0`` writes new zeros), and so do recorded ones (``create_graph``)."""
    if any(g is not None and (type(g._data) is not np.ndarray or g.requires_grad) for g in grads):
        return tuple(grads)
    a, b = (None if g is None else g._data for g in grads)
    if twice and a.shape == b.shape and a.strides != b.strides and 0 not in b.strides:
        laid = np.empty_like(b)  # b's strides (dense: order "K")
        laid[...] = a
        a = laid
    return tuple(
        None if x is None else Tensor._make(x if d else x.view(), False, None, 0)
        for x, d in zip((a, b), diagonal, strict=True)
    )


def _contracts_across(ins: list, out: str) -> bool:
    """Whether some summed subscript (absent from the output) appears in two operands or
    more: PyTorch's einsum then contracts them with ``bmm``, which CPU autocast runs in
    bfloat16; other equations (transposes, traces, outer and elementwise products, sums
    within one operand) stay in float32 under autocast (checked equation by equation
    against torch 2.13, tests/test_bfloat16_autocast_gaps.py)."""
    seen: dict = {}
    for sub in ins:
        for c in set(sub):
            if c not in out:
                seen[c] = seen.get(c, 0) + 1
    return any(n > 1 for n in seen.values())


def _onto_diagonal(g: Tensor, uniq: str, sub: str, shape: tuple, ins: tuple, out: str) -> Tensor:
    """The gradient of an operand whose subscripts repeat (``'ii'``, ``'iij'``), from the
    gradient ``g`` of its diagonal (subscripts ``uniq``): ``g`` on the diagonal, zero off it.
    Each repeat of a letter gets a fresh letter tied to the first by an identity matrix, so
    the result is one einsum (differentiable again under ``create_graph``)."""
    used = set("".join(ins) + out)
    fresh = iter(c for c in string.ascii_letters if c not in used)
    xp = get_array_module(g._data)
    renamed, eyes, letters = [], [], []
    for k, c in enumerate(sub):
        if c in sub[:k]:
            new = next(fresh)
            renamed.append(new)
            letters.append(c + new)
            eyes.append(as_tensor(xp.eye(shape[k], dtype=g._data.dtype)))
        else:
            renamed.append(c)
    return einsum(",".join([uniq, *letters]) + "->" + "".join(renamed), g, *eyes)


def einsum(equation: Any, *operands: Any) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``; supports '...' and the
    sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``."""
    if not isinstance(equation, str):  # the sublist form: operands interleaved with dims
        if operands and not isinstance(equation, Tensor):  # neither form: PyTorch's parser
            raise TypeError(
                "einsum(): argument 'equation' (position 1) must be str, not "
                f"{torch_type_name(equation)}"
            )
        equation, operands = sublist_to_equation((equation, *operands))
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ts = [as_tensor(o) for o in operands]
    ins, out = _parse_einsum(equation, [t_.shape for t_ in ts])
    ts = _promote_products(ins, out, ts)
    if AUTOCAST[0] and len(ts) > 2:  # PyTorch contracts pair by pair, each pair autocast
        _check_operands(ins, ts)  # as a product of its own
        return _pairwise_under_autocast(ins, out, ts)
    if AUTOCAST[0] and _contracts_across(ins, out):  # PyTorch's einsum runs bmm there
        ts = list(autocast_lower_precision(*ts))
    _check_operands(ins, ts)
    if ts and ts[0]._data.dtype.kind == "b":
        ts = _bool_operands(ins, out, ts)
    return Einsum.apply(*ts, ins=tuple(ins), out=out)


def _bool_operands(ins: list, out: str, ts: list) -> list:
    """Bool operands as PyTorch's einsum treats them: a subscript summed within one operand
    is a ``sum`` (bool -> int64: the result is int64, a count); a subscript summed across
    operands is a ``bmm``, which has no bool kernel (NotImplementedError) unless every
    operand it joins was summed to int64 first. Without sums the result stays bool. With
    two or more operands a subscript of size 1 in an operand is no subscript of it (PyTorch
    squeezes it and multiplies: ``'ij,jk->ik'`` with j = 1 stays bool, as ``_promote_products``
    reads such equations)."""
    if len(ts) > 1:
        ins = [
            "".join(c if n != 1 else "_" for c, n in zip(sub, t_.shape)) for sub, t_ in zip(ins, ts)
        ]
        out += "_"
    owners: dict = {}
    for k, sub in enumerate(ins):
        for c in set(sub):
            if c not in out:
                owners.setdefault(c, set()).add(k)
    if not owners:
        return ts
    summed = {k for ks in owners.values() if len(ks) == 1 for k in ks}
    for ks in owners.values():
        if len(ks) > 1 and not ks <= summed:
            raise NotImplementedError("einsum: \"bmm\" not implemented for 'Bool' (as PyTorch)")
    return [t_.long() for t_ in ts]


def _promote_products(ins: list, out: str, ts: list) -> list:
    """Operands of mixed dtypes cast to their promoted dtype when the equation is products
    only: no subscript summed across two operands (``'i,j->ij'``, ``'bi,bj->bij'``, rotary
    embeddings' ``einsum('i,j->ij', t, inv_freq)``; a summed subscript of size 1 in every
    operand but one). PyTorch computes those with ``mul``, which promotes; a contraction
    across operands runs ``bmm``, which refuses mixed dtypes
    (``_check_operands`` raises then). Zero-dim operands keep the refusal (``mul`` would
    give them a lower promotion rank)."""
    if len(ts) < 2 or all(t_.dtype == ts[0].dtype for t_ in ts):
        return ts
    if any(t_.ndim == 0 for t_ in ts):
        return ts
    # a summed subscript of size 1 in all operands but one is summed within that operand
    # (``'hn,hnl->hl'`` with n = 1, ``'ij,ij->i'`` against a (n, 1) operand): still products
    sized = [
        "".join(c if n != 1 else "_" for c, n in zip(sub, t_.shape)) for sub, t_ in zip(ins, ts)
    ]
    if _contracts_across(sized, out + "_"):
        return ts
    dtype = reduce(promote_types, (t_.dtype for t_ in ts))
    return [t_ if t_.dtype == dtype else t_.to(dtype) for t_ in ts]


def _check_operands(ins: list, ts: list) -> None:
    """One dtype for all operands (after ``_promote_products``: PyTorch's contractions
    refuse mixed dtypes), and one size per subscript (or 1, broadcast)."""
    for t_ in ts[1:]:
        if t_.dtype != ts[0].dtype:
            raise DtypeError(
                f"einsum: expected all operands to have the same dtype, got "
                f"{[str(o.dtype) for o in ts]}; convert them with .to(dtype)"
            )
    dims: dict = {}
    for sub, t_ in zip(ins, ts):
        for c, n in zip(sub, t_.shape):
            if dims.setdefault(c, n) != n and n != 1 and dims[c] != 1:
                raise ShapeError(
                    f"einsum: subscript {c!r} has size {dims[c]} in one operand "
                    f"and {n} in another (shapes {[t_.shape for t_ in ts]})"
                )


def _pairwise_grads(ctx: Any, grad: Tensor, ops: tuple) -> tuple | None:
    """The gradients of an einsum of three operands or more, for a backward run inside an
    autocast block that casts ``grad``: PyTorch contracted the operands pair by pair (its
    forward's ``bmm`` calls, :func:`_pairwise_under_autocast`'s path), so its backward
    casts each pair's products and rounds them one pair at a time. The same pairs
    recomputed from the saved operands (zeros for one not kept: no gradient reads its
    values) and differentiated inside the block; None when nothing is cast (float64, a
    block that is off), the plain rule's case.

    Under ``create_graph`` the pairs are recomputed from recorded copies of the saved
    operands (``clone``: the gradient with respect to each is that operand's own, not a path
    through another operand made from it) and differentiated with ``create_graph``, so the
    gradients are recorded functions of the operands and ``grad``, with the same values."""
    if autocast_product_operands(ctx, grad, ())[2] is None:
        return None
    needs = ctx.needs_input_grad
    graph = ctx.create_graph
    leaves = []
    with enable_grad(), outside_autocast():  # (the forward ran outside the block)
        for o, shape, meta, need in zip(ops, ctx.shapes, ctx.input_meta, needs):
            # (an operand not kept is the only one wanting a gradient: its meta is there)
            if o is None:
                leaves.append(grad.new_zeros(shape, dtype=meta[1], requires_grad=need))
            elif graph:  # (a forward-mode pass without create_graph: clone recorded here)
                leaves.append(o.clone() if need else o)
            else:
                o = o.detach()
                leaves.append(o.requires_grad_() if need else o)
        y = _pairwise_under_autocast(list(ctx.ins), ctx.outs, leaves)
    wanted = [t for t, need in zip(leaves, needs) if need]
    grads = iter(autograd_grad(y, wanted, grad, create_graph=graph))
    return tuple(next(grads) if need else None for need in needs)


def _pairwise_under_autocast(ins: list, out: str, ts: list) -> Tensor:
    """Three operands or more under CPU autocast, contracted as PyTorch does: along the path
    ``cr.backends.opt_einsum`` gives, one group (a pair) at a time, each run in bfloat16 when
    it contracts a subscript shared by its operands (PyTorch's bmm), else in the operands'
    promoted dtype. So the result's dtype is that of the last step (``'i,j,j->i'`` is
    float32 along opt_einsum's path, which contracts ``j,j`` first, and bfloat16 left to
    right), as in PyTorch."""
    subs, ops = list(ins), list(ts)
    path = contraction_path(",".join(ins) + "->" + out, tuple(t_._data for t_ in ts))
    for positions in path[1:]:
        step_ins = [subs[k] for k in positions]
        step_ops = [ops[k] for k in positions]
        subs = [s for k, s in enumerate(subs) if k not in positions]
        ops = [o for k, o in enumerate(ops) if k not in positions]
        needed = out + "".join(subs)
        keep = (
            out if not subs else "".join(dict.fromkeys(c for c in "".join(step_ins) if c in needed))
        )
        if _contracts_across(step_ins, keep):
            step_ops = list(autocast_lower_precision(*step_ops))
        else:
            dtype = reduce(promote_types, (o.dtype for o in step_ops))
            step_ops = [o if o.dtype == dtype else o.to(dtype) for o in step_ops]
        subs.append(keep)
        ops.append(Einsum.apply(*step_ops, ins=tuple(step_ins), out=keep))
    return ops[0]
