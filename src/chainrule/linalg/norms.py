"""Vector and matrix norms, pseudo-inverse, least squares and rank.

The Euclidean vector norm is one fused op whose gradient ``x / ||x||`` is defined as 0 at
``x = 0`` (the subgradient PyTorch returns), so ``vector_norm`` of a zero vector never gives
NaN. Other norms are composed from differentiable primitives; the pseudo-inverse and least
squares are composed from the SVD.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .. import return_types
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.saved_fields import given  # grad_fn._saved_*
from ..autograd.state import LOCAL
from ..autograd.tensor import Tensor
from ..backend import get_array_module, host
from ..meta.results import refuse_meta
from ..ops._result_layout import column_major, reduced_layout  # PyTorch's layouts
from ..ops._tensor_args import first_not_tensor
from ..ops._util import NAMED_ERRORS, as_tensor, dim_range_error, lead_with, norm_dim
from ..ops.complex_norms import complex_dtype_arg, complex_norm
from ..ops.linalg_out import with_out
from ..ops.parser_type_errors import aten_number, linalg_norm_ord_error
from ..ops.vector_norms import Norm1, NormInf, NormNegInf, NormZero, PNorm, vector_norm_fields
from ..qtypes import scalar_type_name
from ._common import check_float, check_square, tensor_arg
from ._lstsq_drivers import gelsy_solve, svd_rank_threshold
from ._overload_checks import UNSET, refuse_tolerance_forms
from .decompositions import svdvals
from .lstsq_node import LstsqSolution
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


LstsqResult = return_types.linalg_lstsq  # torch.return_types.linalg_lstsq


def _svd_solve(svd: tuple, b: np.ndarray, thr: Any) -> tuple[np.ndarray, np.ndarray]:
    """``V diag(1/s) U^H b`` over the singular values above ``thr`` (per matrix: (..., 1)),
    from ``svd = (u, s, vh)`` (reduced, broadcast to b's batch), and the squared norms of
    ``b``'s columns off the span of U (the residuals of a full-rank tall A, taken from b
    itself as LAPACK does, not from A x - b)."""
    u, s, vh = svd
    keep = s > thr
    inv = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    ub = u.conj().mT @ b
    off = b - u @ ub
    return vh.conj().mT @ (inv[..., None] * ub), (off.conj() * off).real.sum(-2)


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")
_LSTSQ_DTYPES = ("float32", "float64", "complex64", "complex128")  # PyTorch's kernels


def _lstsq_batches(sa: tuple, sb: tuple) -> tuple:
    """The broadcast of two batch shapes, or PyTorch's error for them, its words (its
    ``infer_size``: the last dim that differs, counted in the broadcast shape)."""
    try:
        return np.broadcast_shapes(tuple(sa), tuple(sb))
    except ValueError:
        pass
    n = max(len(sa), len(sb))
    for i in range(n - 1, -1, -1):
        x = sa[i - n + len(sa)] if i - n + len(sa) >= 0 else 1
        y = sb[i - n + len(sb)] if i - n + len(sb) >= 0 else 1
        if x != y and x != 1 and y != 1:
            break
    raise RuntimeError(
        f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
        f"dimension {i}"
    )


@autocast_float32_op
def lstsq(
    A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None
) -> LstsqResult:
    """The least-squares solution of ``A X = B`` (minimum norm when rank-deficient).

    As in PyTorch on the CPU: the default driver is ``gelsy``; ``residuals`` (squared
    residual norms) are returned for tall problems by ``gels`` and, when every matrix has
    full rank, by ``gelsd``/``gelss``; ``rank`` by all but ``gels``, ``singular_values`` by
    ``gelsd``/``gelss``; the others are empty tensors. The values are the LAPACK driver's,
    rank and ``rcond`` rules included (linalg/_lstsq_drivers.py); the solution's gradient is
    PyTorch's, that of ``pinv(A) @ B`` whatever the driver and ``rcond``. Real or complex
    ``A``, ``B`` (residuals and singular values are real).
    """
    if not isinstance(A, Tensor) or not isinstance(B, Tensor):  # PyTorch's parser: TypeError
        raise first_not_tensor("linalg_lstsq", (("input", A), ("b", B)))
    if LOCAL.state.vmap:  # inside cr.func.vmap: PyTorch's batching rule, on physical tensors
        from ..func._rules_lstsq import lstsq_batched  # noqa: PLC0415 - func imports linalg

        res = lstsq_batched(lstsq, A, B, rcond, driver)
        if res is not NotImplemented:
            return res  # (a LstsqResult of batched tensors)
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise RuntimeError(
            f"torch.linalg.lstsq: parameter `driver` should be one of {_DRIVERS}, got {driver!r}"
        )
    if isinstance(A, Tensor) and A.ndim < 2:  # PyTorch's checks, their order and words
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if isinstance(A, Tensor) and isinstance(B, Tensor) and A.dtype != B.dtype:
        raise RuntimeError(  # PyTorch promotes nothing here
            "torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
            f"input's dtype {scalar_type_name(A.dtype)} and other's dtype "
            f"{scalar_type_name(B.dtype)}"
        )
    if isinstance(A, Tensor) and A._data.dtype.name not in _LSTSQ_DTYPES:  # PyTorch's words
        raise RuntimeError("This function doesn't handle types other than float and double")
    a = check_float(A, "linalg.lstsq", complex_ok=True)
    b = tensor_arg(B, "linalg.lstsq", complex_ok=True)
    if not 0 <= a.ndim - b.ndim <= 1:
        raise RuntimeError(
            "torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
            "(input.dim() - other.dim()) <= 1"
        )
    # PyTorch reads other as a vector only when it is 1-d or input's shape without its last
    # dim; any other is a batch of matrices (one dim fewer than input: a shorter batch)
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    if (b.shape[-1] if vector else b.shape[-2]) != a.shape[-2]:
        raise RuntimeError(
            f"torch.linalg.lstsq: input.size(-2) should match other.size({-1 if vector else -2})"
        )
    if b.ndim == a.ndim - 1 and not vector:
        # PyTorch first broadcasts input's batch with other's shape less its last dim (the
        # batch other would have as vectors), then reads other as matrices (its batch with
        # a leading 1 here, as the solution node reads one dim fewer as vectors)
        _lstsq_batches(a.shape[:-2], b.shape[:-1])
        b = b.unsqueeze(0)
    b_given = b
    if vector:
        b = b.unsqueeze(-1)
    refuse_meta("linalg_lstsq.out", a, b)  # PyTorch has no meta kernel for it
    finite_for_svd(a._data, "linalg.lstsq")
    xp = get_array_module(a._data)
    real = a._data.real.dtype  # residuals and singular values are real
    m, n = a.shape[-2], a.shape[-1]
    rc = float(rcond) if rcond is not None else float(np.finfo(real).eps) * max(m, n)
    batch = _lstsq_batches(a.shape[:-2], b.shape[:-2])
    ah = host(a._data)
    ab = np.broadcast_to(ah, batch + (m, n))
    bb = np.broadcast_to(host(b._data), batch + tuple(b.shape[-2:]))
    empty = Tensor._new(xp.zeros(0, dtype=real))
    if driver == "gelsy":
        xv, rank_arr = gelsy_solve(ab, bb, rc)
        if ab.shape != ah.shape:  # the rank is A's, over A's own batch
            rank_arr = gelsy_solve(ah, np.ones(ah.shape[:-1] + (1,), ah.dtype), rc)[1]
        rank, svals = Tensor._new(xp.asarray(rank_arr)), empty
    else:  # one SVD of A (its own batch) for the rank, the values and the solution
        u, s, vh = np.linalg.svd(ah, full_matrices=False)
        svd = (
            np.broadcast_to(u, batch + u.shape[-2:]),
            np.broadcast_to(s, batch + s.shape[-1:]),
            np.broadcast_to(vh, batch + vh.shape[-2:]),
        )
        if driver == "gels":  # no rank: the least-squares solution of a full-rank A
            xv, res = _svd_solve(svd, bb, 0.0)
            rank, svals = Tensor._new(xp.zeros(0, dtype=np.int64)), empty
        else:
            smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
            thr = svd_rank_threshold(driver, rc, smax, real)
            rank_arr = (s > thr).sum(-1).astype(np.int64)
            xv, res = _svd_solve(svd, bb, np.broadcast_to(thr, batch + (1,)))
            rank, svals = Tensor._new(xp.asarray(rank_arr)), Tensor._new(xp.asarray(s))
    x = Tensor._make(
        column_major(xp.asarray(xv, np.result_type(a._data, b._data)), max(m, n)), False, None, 0
    )
    dual = a._fw_tangent is not None or b._fw_tangent is not None  # forward mode too
    xs = None
    if dual or is_grad_enabled() and (a.requires_grad or b.requires_grad):
        # PyTorch differentiates the solution as pinv(A) @ B (its default tolerance)
        # whatever the driver and rcond; the values stay the driver's: one node
        xs = LstsqSolution.apply(a, b_given, solution=x._data[..., 0] if vector else x._data)
        x = xs.unsqueeze(-1) if vector else xs
    residuals = empty
    full_rank = driver == "gels" or bool(np.all(host(rank._data) == n))  # gels: no rank
    if driver != "gelsy" and m > n and full_rank:
        residuals = Tensor._new(xp.asarray(res, dtype=real))
        if dual or x.requires_grad or b.requires_grad:  # the gradient of |A x - b|^2
            r = a @ x - b
            sq = ((r.conj() * r).real if r.dtype.kind == "c" else r * r).sum(-2)
            residuals = residuals + (sq - sq.detach())
    if vector:  # the residuals keep their trailing dim of 1, as PyTorch's
        x = x.squeeze(-1) if xs is None else xs
    return LstsqResult(x, residuals, rank, svals)
