"""Linear algebra: matmul (1-d, 2-d, batched with broadcasting), einsum and friends.

matmul's gradients are matmuls too: dA = G Bᵀ, dB = Aᵀ G, so they run at BLAS speed and
can be differentiated again. Batch broadcasting is undone by the engine.
"""
from __future__ import annotations

import string
from typing import Any

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._util import as_tensor, promote
from .shape import Permute, broadcast_to, reshape, transpose, unsqueeze


class MatMul(Function):
    raw = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        if a_vec and b_vec:  # dot product: the gradient is a 0-d scale of the other vector
            return (grad * b if needs[0] else None), (grad * a if needs[1] else None)
        if not a_vec and not b_vec:  # the common case, without re-validating shapes
            return (MatMul.apply(grad, _mT(b)) if needs[0] else None,
                    MatMul.apply(_mT(a), grad) if needs[1] else None)
        a2 = unsqueeze(a, 0) if a_vec else a
        b2 = unsqueeze(b, -1) if b_vec else b
        g = grad
        if a_vec:
            g = unsqueeze(g, -2)
        if b_vec:
            g = unsqueeze(g, -1)
        ga = gb = None
        if needs[0]:
            ga = matmul(g, transpose(b2, -1, -2))
            if a_vec:
                ga = reshape(ga, ga.shape[:-2] + ga.shape[-1:])
        if needs[1]:
            gb = matmul(transpose(a2, -1, -2), g)
            if b_vec:
                gb = reshape(gb, gb.shape[:-1])
        return ga, gb

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.primals
        out = None if ta is None else ta @ b
        if tb is not None:
            out = a @ tb if out is None else out + a @ tb
        return out


def _mT(x: Tensor) -> Tensor:
    """Swap the last two dims (a view; BLAS reads it as a transposed operand)."""
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return Permute.apply(x, tuple(axes))


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics (1-d vectors, batched broadcasting)."""
    a, b = promote("matmul", as_tensor(a), as_tensor(b))
    sa, sb = a.shape, b.shape
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes {sa} "
                         f"and {sb}; use * for scalars")
    ka = sa[-1]
    kb = sb[0] if b.ndim == 1 else sb[-2]
    if ka != kb:
        raise ValueError(
            f"matmul: shapes {sa} and {sb} are not aligned: the last dimension of the first "
            f"({ka}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} dimension of "
            f"the second ({kb})"
        )
    try:
        return MatMul.apply(a, b)
    except ValueError as err:
        raise ValueError(f"matmul: batch dimensions of shapes {sa} and {sb} cannot be "
                         "broadcast together") from err


def mm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expects two 2-d tensors, got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: expects two 3-d tensors with equal batch size, got shapes "
                         f"{a.shape} and {b.shape}")
    return matmul(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"dot: expects two 1-d tensors of equal length, got shapes {a.shape} "
                         f"and {b.shape}")
    return matmul(a, b)


def mv(a: Tensor, v: Tensor) -> Tensor:
    if a.ndim != 2 or v.ndim != 1:
        raise ValueError(f"mv: expects a matrix and a vector, got shapes {a.shape}, {v.shape}")
    return matmul(a, v)


def outer(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: expects two 1-d tensors, got shapes {a.shape} and {b.shape}")
    return unsqueeze(a, 1) * unsqueeze(b, 0)


def _parse_einsum(equation: str, shapes: list) -> tuple:
    """Expand '...' into explicit letters; return (input subscripts, output subscripts)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: equation {equation!r} has {len(ins)} operands but "
                         f"{len(shapes)} tensors were given")
    used = set(c for c in eq if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    ell_nd = 0
    for sub, shp in zip(ins, shapes):
        if "..." in sub:
            ell_nd = max(ell_nd, len(shp) - (len(sub) - 3))
    ell = "".join(free[:ell_nd])
    new_ins = []
    for sub, shp in zip(ins, shapes):
        if "..." in sub:
            n = len(shp) - (len(sub) - 3)
            sub = sub.replace("...", ell[ell_nd - n:] if n else "")
        if len(sub) != len(shp):
            raise ValueError(f"einsum: operand subscripts {sub!r} do not match a tensor of "
                             f"shape {tuple(shp)}")
        new_ins.append(sub)
    if arrow:
        out = rhs.replace("...", ell)
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
        ctx.save_for_backward(*arrays)
        xp = get_array_module(*arrays)
        return xp.einsum(",".join(ins) + "->" + out, *arrays, optimize=len(arrays) > 2)

    @staticmethod
    def backward(ctx, grad):
        ops = ctx.saved_tensors
        grads = []
        for i, sub in enumerate(ctx.ins):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            if len(set(sub)) != len(sub):
                raise NotImplementedError(
                    f"einsum backward: repeated subscripts within one operand ({sub!r}) are "
                    "not supported; take the diagonal explicitly first"
                )
            others = [ctx.outs] + [s for j, s in enumerate(ctx.ins) if j != i]
            avail = set("".join(others))
            target = "".join(c for c in sub if c in avail)
            g = einsum(",".join(others) + "->" + target,
                       grad, *[o for j, o in enumerate(ops) if j != i])
            if target != sub:  # letters summed only inside this operand: broadcast back
                shape = [ops[i].shape[sub.index(c)] if c in avail else 1 for c in sub]
                g = broadcast_to(reshape(g, tuple(shape)), ops[i].shape)
            grads.append(g)
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


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``; supports '...'."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ts = [as_tensor(o) for o in operands]
    if len(ts) > 1:
        from .. import dtypes

        target = ts[0].dtype
        for t_ in ts[1:]:
            target = dtypes.promote_types(target, t_.dtype)
        ts = [t_ if t_.dtype == target else t_.to(target) for t_ in ts]
    ins, out = _parse_einsum(equation, [t_.shape for t_ in ts])
    dims = {}
    for sub, t_ in zip(ins, ts):
        for c, n in zip(sub, t_.shape):
            if dims.setdefault(c, n) != n and n != 1 and dims[c] != 1:
                raise ValueError(f"einsum: subscript {c!r} has size {dims[c]} in one operand "
                                 f"and {n} in another (shapes {[t_.shape for t_ in ts]})")
    return Einsum.apply(*ts, ins=tuple(ins), out=out)
