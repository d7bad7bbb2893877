"""Linear algebra: matmul (1-d, 2-d, batched with broadcasting), einsum and friends.

matmul's gradients are matmuls too: dA = G Bᵀ, dB = Aᵀ G, so they run at BLAS speed and
can be differentiated again. Batch broadcasting is undone by the engine.
"""

from __future__ import annotations

import math
import string
from typing import Any

from .._kernels import pool_gemm
from .._kernels.blas import batched_matmul
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..autograd.tensor_conversions import (
    AUTOCAST,
    autocast_float32,
    autocast_lower_precision,
    without_autocast,
)
from ..backend import get_array_module
from ._einsum_sublist import sublist_to_equation
from ._util import DtypeError, ShapeError, as_tensor
from .binding import tensor_method
from .linalg_out import with_out
from .shape import Permute, broadcast_to, reshape, transpose, unsqueeze
from .sparse_products import sparse_matmul, sparse_mm
from .sparse_tensor import SparseTensor

__all__ = [
    "bmm",
    "dot",
    "einsum",
    "kron",
    "matmul",
    "mm",
    "mv",
    "outer",
    "tensordot",
    "trace",
]


class MatMul(Function):
    saved_input_names = ("self", "mat2")  # grad_fn._saved_self / _saved_mat2, as PyTorch's mm

    @staticmethod
    def node_name(ctx):  # PyTorch's product node: DotBackward0, MvBackward0, Mm/Bmm
        a_vec, b_vec = getattr(ctx, "vecs", (False, False))
        if a_vec and b_vec:
            return "DotBackward0"
        if b_vec:
            return "MvBackward0"
        a, b = (m[0] if m is not None else () for m in ctx.input_meta)
        return "BmmBackward0" if len(a) > 2 and len(b) > 2 else "MmBackward0"

    raw = True

    @staticmethod
    def forward(ctx, a, b):
        # dA reads only B and dB only A: keep only what the wanted gradients read (as
        # PyTorch), so a constant operand's partner (an input times fixed weights) is not kept
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        ctx.vecs = (a.ndim == 1, b.ndim == 1)
        if a.ndim > 2:  # stacks of small matrices: the batch over threads, 1 BLAS thread each
            out = batched_matmul(a, b)
            if out is not None:
                return out
        elif a.ndim == 2 and b.ndim == 2:  # on the compiled pool where it applies
            out = pool_gemm.matmul_2d(a, b)
            if out is not None:
                return out
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors  # a is None unless dB is wanted, b unless dA is
        needs = ctx.needs_input_grad
        a_vec, b_vec = ctx.vecs
        if a_vec and b_vec:  # dot product: the gradient is a 0-d scale of the other vector
            return (grad * b if needs[0] else None), (grad * a if needs[1] else None)
        if not a_vec and not b_vec:  # the common case, without re-validating shapes
            return (
                MatMul.apply(grad, _mT(b)) if needs[0] else None,
                MatMul.apply(_mT(a), grad) if needs[1] else None,
            )
        g = grad
        if a_vec:
            g = unsqueeze(g, -2)
        if b_vec:
            g = unsqueeze(g, -1)
        ga = gb = None
        if needs[0]:
            b2 = unsqueeze(b, -1) if b_vec else b
            ga = _matmul(g, transpose(b2, -1, -2))
            if a_vec:
                ga = reshape(ga, ga.shape[:-2] + ga.shape[-1:])
        if needs[1]:
            a2 = unsqueeze(a, 0) if a_vec else a
            gb = _matmul(transpose(a2, -1, -2), g)
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


def _check_out_dtype(op: str, out_dtype: Any) -> None:
    """``out_dtype=`` of ``mm``/``bmm``/``addmm``/``baddbmm``: a product accumulated and
    returned in another dtype (half inputs, float32 result). PyTorch 2.13 has that kernel for
    CUDA only; on the CPU every ``out_dtype`` raises NotImplementedError, and so does
    chainrule (``None``, the default, computes in the inputs' dtype)."""
    if out_dtype is not None:
        raise NotImplementedError(
            f"{op}: out_dtype={out_dtype} is not supported (PyTorch has no CPU kernel for "
            f"{op} with out_dtype either); compute in the inputs' dtype and cast the result "
            "with .to(dtype)"
        )


@tensor_method
@with_out("matmul")
def matmul(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's names
    """Matrix product with NumPy/PyTorch semantics (1-d vectors, batched broadcasting)."""
    a, b = input, other
    if type(a) is SparseTensor or type(b) is SparseTensor:  # a sparse COO operand
        return sparse_matmul(a, b)
    a, b = as_tensor(a), as_tensor(b)
    if AUTOCAST[0]:  # autocast casts both operands before the dtype check
        a, b = AUTOCAST[1](MatMul, (a, b))
    if a._data.dtype != b._data.dtype:  # PyTorch promotes nothing in a product: it refuses
        raise DtypeError(
            f"matmul: expected both operands to have the same dtype, got {a.dtype} and "
            f"{b.dtype}; convert one with .to({a.dtype}) (or .to({b.dtype}))"
        )
    sa, sb = a._data.shape, b._data.shape
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"matmul: both arguments need at least 1 dimension, got shapes {sa} "
            f"and {sb}; use * for scalars"
        )
    ka = sa[-1]
    kb = sb[0] if b.ndim == 1 else sb[-2]
    if ka != kb:
        raise ShapeError(
            f"matmul: shapes {sa} and {sb} are not aligned: the last dimension of the first "
            f"({ka}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} dimension of "
            f"the second ({kb})"
        )
    try:
        return MatMul.apply(a, b)
    except ValueError as err:
        raise ShapeError(
            f"matmul: batch dimensions of shapes {sa} and {sb} cannot be broadcast together"
        ) from err


# matmul without its out= wrapper: what the products below (and MatMul's backward) call
_matmul = matmul.__wrapped__


@tensor_method
@with_out("mm")
def mm(input: Tensor, mat2: Tensor, out_dtype: Any = None) -> Tensor:  # noqa: A002
    """The product of two matrices (``out_dtype``: see :func:`_check_out_dtype`)."""
    a, b = input, mat2
    _check_out_dtype("mm", out_dtype)
    if type(a) is SparseTensor or type(b) is SparseTensor:  # torch: IndexError for 1-d
        return sparse_mm(a, b, "mm")
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(
            f"mm: expects two 2-d tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}"
        )
    return _matmul(a, b)


@tensor_method
@with_out("bmm")
def bmm(input: Tensor, mat2: Tensor, out_dtype: Any = None) -> Tensor:  # noqa: A002
    """Batched matrix products of two 3-d tensors."""
    a, b = input, mat2
    _check_out_dtype("bmm", out_dtype)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ShapeError(
            f"bmm: expects two 3-d tensors with equal batch size, got shapes "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    return _matmul(a, b)


@tensor_method
@with_out("dot")
def dot(input: Tensor, tensor: Tensor) -> Tensor:  # noqa: A002
    """The inner product of two 1-d tensors of equal length."""
    a, b = input, tensor
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ShapeError(
            f"dot: expects two 1-d tensors of equal length, got shapes {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )
    return _uncast_matmul(a, b)


def _uncast_matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for ``dot``/``mv``, which PyTorch's CPU autocast does not cast (unlike
    ``matmul``): float32 stays float32 inside the block."""
    return without_autocast(_matmul, a, b)


@tensor_method
@with_out("mv")
def mv(input: Tensor, vec: Tensor) -> Tensor:  # noqa: A002
    """A matrix times a vector."""
    a, v = input, vec
    if a.ndim != 2 or v.ndim != 1:
        raise ShapeError(
            f"mv: expects a matrix and a vector, got shapes {tuple(a.shape)}, {tuple(v.shape)}"
        )
    if a.shape[1] != v.shape[0]:
        raise ShapeError(f"mv: size mismatch: matrix {tuple(a.shape)} and vector {tuple(v.shape)}")
    return _uncast_matmul(a, v)


@tensor_method
@with_out("outer", "castable")
def outer(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002
    """The outer product of two 1-d tensors (composed: a column times a row)."""
    a, b = input, vec2
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(
            f"outer: expects two 1-d tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}"
        )
    return unsqueeze(a, 1) * unsqueeze(b, 0)


def _parse_einsum(equation: str, shapes: list) -> tuple:
    """Expand '...' into explicit letters; return (input subscripts, output subscripts)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ShapeError(
            f"einsum: equation {equation!r} has {len(ins)} operands but "
            f"{len(shapes)} tensors were given"
        )
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
            sub = sub.replace("...", ell[ell_nd - n :] if n else "")
        if len(sub) != len(shp):
            raise ShapeError(
                f"einsum: operand subscripts {sub!r} do not match a tensor of shape {tuple(shp)}"
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
        ctx.save_for_backward(
            *(
                a if any(n for j, n in enumerate(needs) if j != i) else None
                for i, a in enumerate(arrays)
            )
        )
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
            uniq = "".join(dict.fromkeys(sub))  # 'iij' -> 'ij': the operand's diagonal
            others = [ctx.outs] + [s for j, s in enumerate(ctx.ins) if j != i]
            avail = set("".join(others))
            target = "".join(c for c in uniq if c in avail)
            g = einsum(
                ",".join(others) + "->" + target, grad, *[o for j, o in enumerate(ops) if j != i]
            )
            shp = ctx.shapes[i]
            if target != uniq:  # letters summed only inside this operand: broadcast back
                shape = tuple(shp[sub.index(c)] if c in avail else 1 for c in uniq)
                g = broadcast_to(reshape(g, shape), tuple(shp[sub.index(c)] for c in uniq))
            if uniq != sub:
                g = _onto_diagonal(g, uniq, sub, shp, ctx.ins, ctx.outs)
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
        equation, operands = sublist_to_equation((equation, *operands))
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ts = [as_tensor(o) for o in operands]
    ins, out = _parse_einsum(equation, [t_.shape for t_ in ts])
    if AUTOCAST[0] and _contracts_across(ins, out):  # PyTorch's einsum runs bmm there
        ts = list(autocast_lower_precision(*ts))
    for t_ in ts[1:]:  # PyTorch promotes nothing in a product: it refuses
        if t_.dtype != ts[0].dtype:
            raise DtypeError(
                f"einsum: expected all operands to have the same dtype, got "
                f"{[str(o.dtype) for o in ts]}; convert them with .to(dtype)"
            )
    dims = {}
    for sub, t_ in zip(ins, ts):
        for c, n in zip(sub, t_.shape):
            if dims.setdefault(c, n) != n and n != 1 and dims[c] != 1:
                raise ShapeError(
                    f"einsum: subscript {c!r} has size {dims[c]} in one operand "
                    f"and {n} in another (shapes {[t_.shape for t_ in ts]})"
                )
    return Einsum.apply(*ts, ins=tuple(ins), out=out)


# ------------------------------------------------------------- products with an added term
@with_out("tensordot")
def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Sum over the last ``dims`` dims of ``a`` and the first ``dims`` of ``b``, or over the
    dims listed in ``dims = (dims_a, dims_b)``; composed as an einsum."""
    a, b = as_tensor(a), as_tensor(b)
    if isinstance(dims, (int,)) or isinstance(dims, Tensor) and dims.ndim == 0:
        k = int(dims)
        if k < 0 or k > min(a.ndim, b.ndim):
            raise ShapeError(
                f"tensordot: dims={k} must be between 0 and "
                f"{min(a.ndim, b.ndim)} for shapes {tuple(a.shape)} and {tuple(b.shape)}"
            )
        da, db = list(range(a.ndim - k, a.ndim)), list(range(k))
    else:
        try:
            da, db = ([int(i) for i in ([d] if isinstance(d, int) else d)] for d in dims)
        except (TypeError, ValueError):
            raise TypeError(
                f"tensordot: dims must be an int or a pair of dim lists, got {dims!r}"
            ) from None
        if len(da) != len(db):
            raise ShapeError(
                f"tensordot: both dim lists must have the same length, got {da} and {db}"
            )
        da = [d % max(a.ndim, 1) for d in da]
        db = [d % max(b.ndim, 1) for d in db]
    if len(set(da)) != len(da) or len(set(db)) != len(db):
        raise ShapeError(f"tensordot: a dim is listed twice in dims ({da}, {db})")
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ShapeError(
                f"tensordot: contracted dimension {i} of a (size {a.shape[i]}) "
                f"does not match dimension {j} of b (size {b.shape[j]})"
            )
    # One GEMM, as PyTorch and NumPy: a -> (free_a, contracted) as (M, K), b -> (contracted,
    # free_b) as (K, N). A permutation that is not a view makes its reshape copy, and the
    # matmul then keeps that copy (not a view of a or b), as PyTorch's does.
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [j for j in range(b.ndim) if j not in db]
    m = math.prod(a.shape[i] for i in fa)
    k = math.prod(a.shape[i] for i in da)
    n = math.prod(b.shape[j] for j in fb)
    am = _as_shape(_permuted(a, fa + da), (m, k))
    bm = _as_shape(_permuted(b, db + fb), (k, n))
    out_shape = tuple(a.shape[i] for i in fa) + tuple(b.shape[j] for j in fb)
    return _as_shape(_matmul(am, bm), out_shape)


def _permuted(x: Tensor, axes: list) -> Tensor:
    return x if axes == sorted(axes) else Permute.apply(x, tuple(axes))


def _as_shape(x: Tensor, shape: tuple) -> Tensor:
    """``x`` reshaped, without a graph node when it already has that shape."""
    return x if tuple(x.shape) == shape else reshape(x, shape)


@tensor_method
def trace(input: Tensor) -> Tensor:  # noqa: A002
    """Sum of the main diagonal of a 2-d tensor (differentiable; composed). On CPU autocast's
    float32 list: inside the block a bfloat16 input gives float32, as in PyTorch."""
    (x,) = autocast_float32(as_tensor(input))
    if x.ndim != 2:
        raise ShapeError(f"trace: expected a 2-d tensor (matrix), got shape {tuple(x.shape)}")
    n, m = x.shape
    return reshape(x, (n * m,))[:: m + 1][: min(n, m)].sum()


@tensor_method
@with_out("kron", "castable")
def kron(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Kronecker product: out[i*B + k] = a[i] * b[k] in every dim (composed from an outer
    product and a reshape; the lower-rank operand gains leading dims of size 1)."""
    a, b = as_tensor(input), as_tensor(other)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    ia = tuple(s for d in sa for s in (d, 1))
    ib = tuple(s for d in sb for s in (1, d))
    prod = reshape(a, ia) * reshape(b, ib)
    return reshape(prod, tuple(x * y for x, y in zip(sa, sb)))
