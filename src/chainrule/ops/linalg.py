"""Linear algebra: matmul (1-d, 2-d, batched with broadcasting), tensordot and friends
(einsum lives in ``einsum.py``).

matmul's gradients are matmuls too: dA = G Bᵀ, dB = Aᵀ G, so they run at BLAS speed and
can be differentiated again. Batch broadcasting is undone by the engine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.lower_precision import AUTOCAST, without_autocast
from ..autograd.saved_fields import product_fields  # grad_fn._saved_* helpers
from ..autograd.tensor import Tensor
from ._first_order import autocast_products, grad_view
from ._tensor_args import not_tensor
from ._util import DtypeError, ShapeError
from .binding import tensor_method
from .expand_errors import torch_text
from .linalg_out import with_out
from .matmul_arrays import ROW_MAJOR as _ROW_MAJOR
from .matmul_arrays import column_major as _column_major
from .matmul_arrays import first_order_grads as _first_order_grads
from .matmul_arrays import fold_grads as _fold_grads
from .matmul_arrays import fold_layout as _fold_layout
from .matmul_arrays import fold_recorded as _fold_recorded
from .matmul_arrays import plain_operands as _plain
from .matmul_arrays import product as _product
from .matmul_autocast import autocast_matmul_grads
from .shape import Permute, reshape, transpose, unsqueeze
from .sparse_product_checks import mv_rank_error
from .sparse_products import sparse_bmm, sparse_matmul, sparse_mm
from .sparse_tensor import SPARSE_TYPES

__all__ = [
    "bmm",
    "dot",
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
    def saved_fields(node):  # grad_fn._saved_* as PyTorch's product nodes (saved_fields.py)
        name = node.name()
        if name == "MmBackward0":
            return product_fields(("self", "mat2"), (0, 1))
        return {"self": 0, {"BmmBackward0": "mat2", "MvBackward0": "vec"}.get(name, "tensor"): 1}

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
        # PyTorch's mm (a vector unsqueezed to one row) computes a column-major operand's
        # gradient column-major (_column_major); only a stride test on the common path
        if b.ndim == 2 and a.ndim <= 2 and (needs[0] or needs[1]):
            n = b.itemsize
            if b.strides[0] == n or (a.ndim == 2 and a.strides[0] == n):
                ctx.cols = (
                    needs[0] and a.ndim == 2 and _column_major(a),
                    needs[1] and _column_major(b),
                )
        elif (a.ndim > 2) is not (b.ndim > 2) and (needs[0] or needs[1]):
            fold = _fold_layout(a, b, needs)  # a batch times a matrix: PyTorch's one mm
            if fold is not None:
                ctx.fold = fold
        return _product(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors  # a is None unless dB is wanted, b unless dA is
        needs = ctx.needs_input_grad
        a_vec, b_vec = ctx.vecs
        if AUTOCAST[0] and not b_vec and (not a_vec or grad.ndim == 1):  # PyTorch's mm/bmm
            cast = autocast_products(grad, a, b)  # cast inside an autocast block
            if cast[0] is not grad and not a_vec:
                return autocast_matmul_grads(MatMul.apply, ctx, *cast)
            grad, a, b = cast
        if a_vec and b_vec:  # dot product: the gradient is a 0-d scale of the other vector
            return (grad * b if needs[0] else None), (grad * a if needs[1] else None)
        if not a_vec and not b_vec:  # the common case, without re-validating shapes
            if needs[1] and grad.ndim > 2 and grad._data.dtype.char == "e":
                return _half_shared_weight_grads(ctx, a, b, grad)
            g = grad_view(ctx, grad)  # first order, plain (_first_order.py); float16 too
            cols = ctx.__dict__.get("cols", _ROW_MAJOR)
            fold = ctx.__dict__.get("fold")  # a batch times a matrix: PyTorch's one mm
            if fold is not None and not _plain(grad, a, b):
                fold = None
            if g is not None:
                if fold is not None:
                    return _fold_grads(g, a, b, needs, fold)
                out = _first_order_grads(g, a, b, needs, cols)
                if out is not None:
                    return out
            if fold is not None:  # the same products recorded (bit for bit the fast path's)
                return _fold_recorded(MatMul.apply, grad, a, b, needs, fold)
            ga = gb = None
            if needs[0]:  # a column-major operand's gradient column-major, as PyTorch's mm
                ga = _mT(MatMul.apply(b, _mT(grad))) if cols[0] else MatMul.apply(grad, _mT(b))
            if needs[1]:
                gb = _mT(MatMul.apply(_mT(grad), a)) if cols[1] else MatMul.apply(_mT(a), grad)
            return ga, gb
        fold = ctx.__dict__.get("fold")  # a vector times a batch: PyTorch's one mv
        if fold is not None and _plain(grad, a, b):
            g = grad_view(ctx, grad)
            if g is not None:
                return _fold_grads(g, a, b, needs, fold)
            return _fold_recorded(MatMul.apply, grad, a, b, needs, fold)
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
            if ctx.__dict__.get("cols", _ROW_MAJOR)[1]:  # (PyTorch's mm of a column-major b)
                gb = transpose(_matmul(transpose(g, -1, -2), a2), -1, -2)
            else:
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


def _half_shared_weight_grads(ctx: Any, a: Tensor, b: Tensor, grad: Tensor) -> tuple:
    """MatMul's gradients for float16 batched ``a @ b`` (dB wanted): where ``b`` is one
    matrix shared by the batch, dB = Aᵀ G is one product over the flattened batch (summed in
    float32, rounded once, as PyTorch), not a batch of rounded products the engine sums in
    float16."""
    needs = ctx.needs_input_grad
    ga = MatMul.apply(grad, _mT(b)) if needs[0] else None
    if len(ctx.input_meta[1][0]) != 2:  # b batched too: a product per batch entry
        return ga, MatMul.apply(_mT(a), grad)
    n = math.prod(a.shape[:-1])  # explicit rows: -1 is ambiguous for an empty last dim
    a2, g2 = reshape(a, (n, a.shape[-1])), reshape(grad, (n, grad.shape[-1]))
    return ga, MatMul.apply(transpose(a2, 0, 1), g2)


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


def _check_bool_matmul(sa: tuple, sb: tuple) -> None:
    """PyTorch has no bool kernel for a product, but it only reaches for one when there is
    something to sum: a product with an empty result or an empty inner dimension is all
    False without a kernel (``(1, 0) @ (0, 1)`` is ``[[False]]``). Two 1-d operands always
    go to ``dot``, which refuses bool even when empty."""
    if len(sa) == 1 and len(sb) == 1:
        kernel = "dot"
    else:
        try:
            batch = np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            return  # MatMul reports the batch dimensions that do not broadcast
        rows = sa[-2:-1] if len(sa) >= 2 else ()
        cols = sb[-1:] if len(sb) >= 2 else ()
        if sa[-1] == 0 or math.prod(batch + rows + cols) == 0:
            return
        # the kernel PyTorch names: a batched operand folds into one matrix when the other
        # is 1-d/2-d (so a vector against a batch is a matrix-vector product)
        if len(sb) == 2:
            kernel = "addmm_impl_cpu_"
        elif len(sb) == 1 or len(sa) == 1:
            kernel = "addmv_impl_cpu"
        else:
            kernel = "bmm"
    raise DtypeError(
        f"matmul: \"{kernel}\" not implemented for 'Bool' (as PyTorch); convert the operands "
        "with .long() or .float() first"
    )


@tensor_method
@with_out("matmul")
def matmul(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's names
    """Matrix product with NumPy/PyTorch semantics (1-d vectors, batched broadcasting)."""
    a, b = input, other
    if type(a) in SPARSE_TYPES or type(b) in SPARSE_TYPES:  # a sparse operand
        return sparse_matmul(a, b)
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):  # PyTorch's TypeError
        bad = ("input", 1, a) if not isinstance(a, Tensor) else ("other", 2, b)
        raise not_tensor("matmul", *bad)
    if AUTOCAST[0]:  # autocast casts both operands before the dtype check
        a, b = AUTOCAST[1](MatMul, (a, b))
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:  # before the dtypes, as PyTorch
        raise torch_text(
            ShapeError(
                f"both arguments to matmul need to be at least 1D, but they are {len(sa)}D "
                f"and {len(sb)}D"
            )
        )
    if a._data.dtype != b._data.dtype:  # PyTorch promotes nothing in a product: it refuses
        raise DtypeError(
            f"matmul: expected both operands to have the same dtype, got {a.dtype} and "
            f"{b.dtype}; convert one with .to({a.dtype}) (or .to({b.dtype}))"
        )
    ka = sa[-1]
    kb = sb[0] if b.ndim == 1 else sb[-2]
    if ka != kb:
        raise ShapeError(
            f"matmul: shapes {sa} and {sb} are not aligned: the last dimension of the first "
            f"({ka}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} dimension of "
            f"the second ({kb})"
        )
    if a._data.dtype.kind == "b":
        _check_bool_matmul(sa, sb)
    try:
        return MatMul.apply(a, b)
    except ValueError as err:
        raise ShapeError(
            f"matmul: batch dimensions of shapes {sa} and {sb} cannot be broadcast together"
        ) from err


def _need_tensors(op: str, names: tuple[str, str], a: Any, b: Any) -> None:
    """PyTorch's TypeError for a non-tensor operand of a product (a number, a list), before
    any attribute of it is read."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):  # the per-call cost: two isinstance
        return
    for pos, (name, v) in enumerate(zip(names, (a, b))):
        if not isinstance(v, Tensor):  # (positions count from after self for a method)
            raise not_tensor(op, name, pos + 1, v)


# matmul without its out= wrapper: what the products below (and MatMul's backward) call
_matmul = matmul.__wrapped__


@tensor_method
@with_out("mm")
def mm(input: Tensor, mat2: Tensor, out_dtype: Any = None) -> Tensor:  # noqa: A002
    """The product of two matrices (``out_dtype``: see :func:`_check_out_dtype`)."""
    a, b = input, mat2
    _check_out_dtype("mm", out_dtype)
    _need_tensors("mm", ("input", "mat2"), input, mat2)
    if type(a) in SPARSE_TYPES or type(b) in SPARSE_TYPES:  # torch: IndexError for 1-d
        return sparse_mm(a, b, "mm")
    if a.ndim != 2 or b.ndim != 2:  # PyTorch's words, the first operand checked first
        raise torch_text(ShapeError(f"{'self' if a.ndim != 2 else 'mat2'} must be a matrix"))
    return _matmul(a, b)


@tensor_method
@with_out("bmm")
def bmm(input: Tensor, mat2: Tensor, out_dtype: Any = None) -> Tensor:  # noqa: A002
    """Batched matrix products of two 3-d tensors (the first may be sparse COO)."""
    a, b = input, mat2
    _check_out_dtype("bmm", out_dtype)
    _need_tensors("bmm", ("input", "mat2"), input, mat2)
    if type(a) in SPARSE_TYPES or type(b) in SPARSE_TYPES:
        return sparse_bmm(a, b)
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
    _need_tensors("dot", ("input", "tensor"), input, tensor)
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
    _need_tensors("mv", ("input", "vec"), input, vec)
    if type(a) in SPARSE_TYPES or type(v) in SPARSE_TYPES:  # a sparse matrix (as torch)
        if v.ndim != 1 and type(a) in SPARSE_TYPES:  # torch's words (session 47)
            raise mv_rank_error(a, v)
        if v.ndim != 1:
            raise ShapeError(f"mv: expects a vector, got shape {tuple(v.shape)}")
        return sparse_matmul(a, v, "mv")
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
    _need_tensors("outer", ("input", "vec2"), input, vec2)
    if a.ndim != 1 or b.ndim != 1:  # PyTorch's words, the first operand checked first
        name, v = ("self", a) if a.ndim != 1 else ("vec2", b)
        raise torch_text(ShapeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D"))
    return reshape(a, (-1, 1)) * b  # PyTorch's: one ViewBackward0 (a column), then a product


# tensordot, trace and kron (linalg_contractions.py), re-exported under their old path;
# imported only now, as that module takes _matmul from this one (a real cycle)
from .linalg_contractions import UnsafeView as UnsafeView  # noqa: E402
from .linalg_contractions import kron, tensordot, trace  # noqa: E402
