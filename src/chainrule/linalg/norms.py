"""Vector and matrix norms, pseudo-inverse and rank (least squares: ``least_squares.py``).

The Euclidean vector norm is one fused op whose gradient ``x / ||x||`` is defined as 0 at
``x = 0`` (the subgradient PyTorch returns), so ``vector_norm`` of a zero vector never gives
NaN. Other norms are composed from differentiable primitives; the pseudo-inverse is
composed from the SVD.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.saved_fields import given  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops._result_layout import reduced_layout  # PyTorch's layouts
from ..ops._util import NAMED_ERRORS, as_tensor, dim_range_error, lead_with, norm_dim
from ..ops.complex_norms import complex_dtype_arg, complex_norm
from ..ops.linalg_out import with_out
from ..ops.parser_type_errors import aten_number, linalg_norm_ord_error
from ..ops.vector_norms import Norm1, NormInf, NormNegInf, NormZero, PNorm, vector_norm_fields
from ._common import check_float, check_square, tensor_arg
from ._overload_checks import UNSET, refuse_tolerance_forms
from ._vmap_per_sample import per_sample_under_vmap
from .decompositions import svdvals
from .least_squares import LstsqResult as LstsqResult  # lstsq (least_squares.py), re-exported
from .least_squares import lstsq
from .pseudo_inverse import cutoff, finite_for_svd, pinv

__all__ = ["lstsq", "matrix_norm", "matrix_rank", "norm", "pinv", "vector_norm"]


class EuclideanNorm(Function):
    """sqrt(sum x^2) over ``dims`` (keepdim), gradient 0 where the norm is 0."""

    raw = True
    node_name = "LinalgVectorNormBackward0"  # PyTorch's name for the node
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)
    # grad_fn._saved_* as PyTorch's; the result is a reference to the output (no copy)
    saved_fields = {**vector_norm_fields(lambda n: n.args[1]), "result": 1}

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        xp = get_array_module(x)
        if x.dtype.char in "eE":  # float16, bfloat16: in float32, rounded once (PyTorch)
            xw = x.astype(np.float32)
            n = xp.sqrt((xw * xw).sum(axis=dims, keepdims=True)).astype(x.dtype)
        else:
            n = xp.sqrt((x * x).sum(axis=dims, keepdims=True))
        if not x.flags.c_contiguous:  # NumPy's is in x's order; PyTorch's row-major
            n = reduced_layout(n)
        ctx.args = (dims, keepdim)
        out = n if keepdim else n.squeeze(axis=dims) if dims is not None else n.reshape(())
        ctx.save_for_backward(x, out)  # the output itself (PyTorch's _saved_result): no copy
        return out

    @staticmethod
    def backward(ctx, grad):
        x = ctx.saved_tensors[0]
        dims, keepdim = ctx.args
        if x.dtype.char in "eE" and not ctx.create_graph:  # halves: float32, rounded once
            xp = get_array_module(x._data)
            xw = x._data.astype(np.float32)
            n = xp.sqrt((xw * xw).sum(axis=dims, keepdims=True))
            g = grad._data.astype(np.float32).reshape(n.shape)
            gx = xp.where(n == 0, 0, g / xp.where(n == 0, 1, n)) * xw
            return Tensor._make(gx.astype(x.dtype), False, None, 0), None, None
        n = EuclideanNorm.apply(x, dims, True)  # recomputed: differentiable for double backward
        if not keepdim:
            grad = grad.reshape(n.shape)
        zero = n.detach() == 0
        if ctx.create_graph:
            # PyTorch's norm_backward op for op, grad * (x / n).masked_fill_(n == 0, 0): the
            # second derivative at a zero norm is its NaN (the masked 0 divided by n = 0 in
            # the division's backward), not 0
            return grad * (x / n).masked_fill(zero, 0.0), None, None
        return (grad / n.masked_fill(zero, 1.0)).masked_fill(zero, 0.0) * x, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        dims, keepdim = ctx.args
        xp = get_array_module(x)
        low = x.dtype if x.dtype.char in "eE" else None  # halves: float32, rounded once
        if low is not None:
            x, t = x.astype(np.float32), t.astype(np.float32)
        n = xp.sqrt((x * x).sum(axis=dims, keepdims=keepdim))
        dot = (x * t).sum(axis=dims, keepdims=keepdim)
        # 0 where the norm is 0 only: a NaN norm keeps its NaN tangent (torch's norm_jvp)
        out = xp.where(n == 0, 0, dot / xp.where(n == 0, 1, n))
        return out if low is None else xp.asarray(out, low)


@with_out("linalg.vector_norm")
def vector_norm(
    x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when None).

    ``ord``: 2 (default), any real p, ``inf`` (max |x|), ``-inf`` (min |x|), 0 (count of
    non-zeros).
    """
    if type(ord) is not int and type(ord) is not float:  # PyTorch's parser: a Number
        ord = aten_number("linalg_vector_norm", "vector_norm", "ord", 2, ord)
        if isinstance(ord, complex):
            raise RuntimeError(
                "linalg.vector_norm: Expected a non-complex scalar as the order of norm."
            )
    t = as_tensor(x)
    if t.dtype.kind not in "fV":  # complex (a real norm of it), or an error naming the dtype
        t = tensor_arg(t, "linalg.vector_norm", complex_ok=True)
        return _complex_vector_norm(t, ord, dim, keepdim, dtype)
    if dtype is not None:
        t = _real_dtype_arg(t, dtype, "linalg.vector_norm")
    dims = norm_dim(dim, t.ndim, "linalg.vector_norm")
    if t.ndim == 0 or dims == ():
        dims = None  # an empty dim list means every dim, as in PyTorch
    shown, ord = ord, float(ord)  # (grad_fn._saved_ord as given)
    empty = t.numel() == 0 if dims is None else any(t.shape[d] == 0 for d in dims)
    if empty and (ord < 0 or ord == math.inf):
        raise RuntimeError(
            f"linalg.vector_norm cannot compute the {ord:g} norm on an empty "
            "tensor because the operation does not have an identity"
        )
    if ord == 2.0:
        out = EuclideanNorm.apply(t, dims, bool(keepdim))
        return given(out, dim=dim, ord=shown)  # grad_fn._saved_dim / _ord as given
    red = dims if dims is not None else tuple(range(t.ndim))
    if ord in (math.inf, -math.inf, 1.0):  # one node, as PyTorch's (not abs, then amax / sum)
        cls = Norm1 if ord == 1.0 else NormInf if ord > 0 else NormNegInf
        return given(cls.apply(t, red, bool(keepdim)), dim=dim, ord=shown)
    a = t.abs()
    if ord == 0.0:  # in the graph with a zero gradient and tangent, as PyTorch's count
        return NormZero.apply(a if t.is_complex() else t, red, bool(keepdim))
    # fused: PyTorch's gradient (0, not NaN) at zero entries / zero norms, for p < 0 too
    out = PNorm.apply(t, ord, dims, bool(keepdim))
    return given(out, dim=dim, ord=shown)  # grad_fn._saved_dim / _ord as given


def _real_dtype_arg(t: Tensor, dtype: Any, op: str) -> Tensor:
    """``t`` (real floating) cast to a norm's ``dtype=`` argument: a real floating dtype no
    narrower than ``t``'s (PyTorch; float16 and bfloat16 do not convert into each other)."""
    try:
        target = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: dtype must be a dtype, got {dtype!r}") from None
    if target.kind == "c":
        raise RuntimeError(f"{op}: dtype should be real for real inputs, but got {dtype}")
    if target.kind not in "fV":  # V: bfloat16
        raise RuntimeError(f"{op}: dtype should be floating point or complex, but got {dtype}")
    if target != t.dtype and target.itemsize <= t.dtype.itemsize:
        raise RuntimeError(
            f"{op}: the dtype of the input ({t.dtype}) should be convertible without narrowing "
            f"to the specified dtype ({dtype})"
        )
    return t.to(target)


def _complex_vector_norm(z: Tensor, ord: Any, dim: Any, keepdim: bool, dtype: Any) -> Tensor:
    """``vector_norm`` of a complex ``z``: real, as in PyTorch (``ops/complex_norms.py``)."""
    if dtype is not None:
        z = complex_dtype_arg(z, dtype, "linalg.vector_norm")
    dims = norm_dim(dim, z.ndim, "linalg.vector_norm")
    if z.ndim == 0 or dims == ():
        dims = None

    def real_norm(r: Tensor, p: float, axes: Any, kd: bool) -> Tensor:
        return vector_norm(r, p, axes, kd)

    return complex_norm(z, float(ord), dims, bool(keepdim), real_norm)


@with_out("linalg.matrix_norm")
def matrix_norm(
    A: Tensor, ord: Any = "fro", dim: tuple = (-2, -1), keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """Frobenius (``'fro'``), nuclear (``'nuc'``), spectral (2, -2) or induced (1, -1, inf,
    -inf) norm of the matrices in dims ``dim``. Complex input gives real results (the
    SVD-based ones through the complex SVD)."""
    if isinstance(ord, Tensor):  # PyTorch's parser: a 0-d real tensor is a Number
        if ord.ndim:
            raise linalg_norm_ord_error("matrix_norm", A, ord, dim, keepdim)
        ord = ord.item()
    if isinstance(ord, complex):  # PyTorch's words
        raise RuntimeError(
            "linalg.matrix_norm: Expected a non-complex scalar as the order of norm."
        )
    a = check_float(A, "linalg.matrix_norm", complex_ok=True)
    if dtype is not None:
        if a.dtype.kind == "c":
            a = complex_dtype_arg(a, dtype, "linalg.matrix_norm")
        else:
            a = _real_dtype_arg(a, dtype, "linalg.matrix_norm")
    if not isinstance(dim, (tuple, list)):
        raise TypeError(
            f"linalg.matrix_norm: dim must be a tuple of two ints, but got {type(dim).__name__}"
        )
    if len(tuple(dim)) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    for d in dim:  # PyTorch wraps each: an out-of-range dim is its IndexError
        if not -a.ndim <= int(d) < a.ndim:
            raise dim_range_error(int(d), max(a.ndim, 1))
    d0, d1 = (int(d) % a.ndim for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    if ord == "fro":
        return vector_norm(a, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        moved = a.movedim((d0, d1), (-2, -1))
        s = svdvals(moved)
        kd = bool(keepdim)  # PyTorch's: reduce with keepdim, unsqueeze, permute back
        if ord == "nuc" or ord == 2 and s.shape[-1] == 0:  # no singular values: norm 0
            out = s.sum(-1, keepdim=kd)
        else:
            out = s.amax(-1, keepdim=kd) if ord == 2 else s.amin(-1, keepdim=kd)
        if keepdim:
            out = out.unsqueeze(-1).movedim((-2, -1), (d0, d1))
        return out
    if ord in (1, -1, math.inf, -math.inf):
        rows, cols = (d0, d1) if ord in (1, -1) else (d1, d0)
        # PyTorch's: the 1-norms of the columns (rows for inf) as one vector_norm, then
        # their max / min (LinalgVectorNormBackward0, then AmaxBackward0 / AminBackward0)
        summed = vector_norm(a, 1, (rows,), keepdim)
        c = cols if keepdim or cols < rows else cols - 1
        if ord > 0 and summed.shape[c] == 0:  # the max of no non-negative sums: 0
            return summed.sum(c, keepdim=keepdim)
        try:
            return summed.amax(c, keepdim=keepdim) if ord > 0 else summed.amin(c, keepdim=keepdim)
        except NAMED_ERRORS as err:  # an empty dim: the max/min has no identity
            lead_with("linalg.matrix_norm", err)
            raise
    if not isinstance(ord, (str, numbers.Number)):  # PyTorch's parser refuses it first
        raise linalg_norm_ord_error("matrix_norm", A, ord, dim, keepdim)
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


@with_out("linalg.norm")
def norm(
    input: Tensor,  # noqa: A002 - PyTorch's name
    ord: Any = None,
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """``vector_norm`` or ``matrix_norm`` chosen as PyTorch's ``torch.linalg.norm`` does."""
    a = tensor_arg(input, "linalg.norm", complex_ok=True)  # matrix_norm/vector_norm check
    if isinstance(ord, Tensor) and ord.ndim == 0:
        ord = ord.item()  # PyTorch's parser reads a 0-d tensor as a Number
    if ord is not None and not isinstance(ord, (str, numbers.Number)):  # PyTorch's parser
        raise linalg_norm_ord_error("norm", input, ord, dim, keepdim)
    if dim is not None and not isinstance(dim, (int, np.integer)):
        dim = tuple(dim)
    if isinstance(ord, str) or (isinstance(dim, tuple) and len(dim) == 2):
        if dim is None and a.ndim > 2:  # a string ord names a matrix norm: which dims?
            raise RuntimeError(
                f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                f"Got {a.ndim}D."
            )
        if isinstance(dim, (int, np.integer)):  # matrix_norm says it needs two dims
            dim = (int(dim),)
        return matrix_norm(
            a,
            "fro" if ord is None else ord,
            dim if dim is not None else (-2, -1),
            keepdim,
            dtype=dtype,
        )
    if ord is None:  # (2.0: PyTorch's _saved_ord here)
        return vector_norm(a, 2.0, dim, keepdim, dtype=dtype)
    if dim is None:
        if a.ndim == 2:
            return matrix_norm(a, ord, (-2, -1), keepdim, dtype=dtype)
        if a.ndim != 1:
            raise RuntimeError(
                f"linalg.norm: If dim is not specified but ord is, the input "
                f"must be 1D or 2D. Got {a.ndim}D."
            )
    return vector_norm(a, ord, dim, keepdim, dtype=dtype)


@with_out("linalg.matrix_rank", "castable")
@autocast_float32_op
@per_sample_under_vmap
def matrix_rank(
    A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False, tol: Any = None
) -> Tensor:
    """The number of singular values above ``max(atol, rtol * s_max)`` (int64); real or
    complex ``A``. ``hermitian=True``: the absolute eigenvalues of the lower triangle's
    Hermitian matrix stand for the singular values, as in PyTorch."""
    if type(hermitian) is not bool or atol is not None or rtol is not None:
        refuse_tolerance_forms("matrix_rank", A, "tol", UNSET, hermitian, atol, rtol)
    if hermitian:
        a = check_float(A, "linalg.matrix_rank", complex_ok=True)
        a = check_square(a, "linalg.eigh", complex_ok=True)  # PyTorch's eigh path names eigh
    else:
        a = check_float(A, "linalg.matrix_rank", complex_ok=True)
    if tol is not None:
        if atol is not None or rtol is not None:  # PyTorch's two overloads do not mix
            raise TypeError(
                "linalg_matrix_rank() received an invalid combination of arguments: tol "
                "cannot be combined with atol or rtol"
            )
        atol, rtol = tol, 0.0
    xp = get_array_module(a._data)
    if hermitian:
        s = xp.abs(xp.linalg.eigvalsh(a._data, UPLO="L"))
    else:
        if xp.isnan(a._data).any():  # LAPACK fails (inf gives NaN values: rank 0)
            finite_for_svd(a._data, "linalg.matrix_rank")
        s = xp.linalg.svd(a._data, compute_uv=False)
    st = Tensor._new(s)
    return Tensor._new((s > cutoff(st, tuple(a.shape), atol, rtol)).sum(-1).astype(np.int64))
