"""Inverses, linear systems and determinants, with their derivatives.

    Y = A^-1          dY = -Y dA Y                 grad_A = -Y^T G Y^T
    X = A^-1 B        dX = A^-1 (dB - dA X)        grad_B = A^-T G, grad_A = -grad_B X^T
    d = det A         dd = d tr(A^-1 dA)           grad_A = g d A^-T
    (s, l) = slogdet  dl = tr(A^-1 dA)             grad_A = g_l A^-T
    complex slogdet   dl = Re t, ds = i s Im t     grad_A = conj(w) A^-H  (t = tr(A^-1 dA),
                                                   w = g_l + i Im(conj(g_s) s))

Backward rules are written with differentiable ops, so second derivatives work. ``inv``,
``solve``, ``det`` and ``matrix_power`` take complex matrices too (as does ``cross``, in
``cross_product.py`` since session 40 and re-exported here): they are holomorphic, so these
rules (listed in ``ops/complex_support.py``) become PyTorch's conjugate convention in the
engine; complex ``slogdet`` (not holomorphic: log|det| is real) has its own rule,
:class:`ComplexSlogDet`, written in PyTorch's convention.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from ..autograd.function import Function
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.saved_fields import tensor_field  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module, host
from ..ops._result_layout import column_major  # LAPACK's layout, PyTorch's
from ..ops._tensor_args import torch_type_name
from ..ops.binary import where
from ..ops.linalg_out import with_out
from ..ops.number_arguments import is_parser_int
from ..ops.parser_type_errors import tensor_argument_error
from ..qtypes import scalar_type_name
from ._common import (
    SINGULAR_INVERSE,
    SINGULAR_SOLVE,
    batch_failure,
    batch_shape,
    check_square,
    mT,
    tensor_arg,
)

# ``cross`` (and its node ``Cross``) moved to ``cross_product.py``: re-exported here, where
# ``ops/complex_support.py`` and older imports looked for them
from .cross_product import Cross, cross  # noqa: F401

__all__ = ["cross", "det", "inv", "matrix_power", "slogdet", "solve"]


class Inv(Function):
    raw = True
    node_name = "LinalgInvExBackward0"  # PyTorch's name for the node
    saved_fields = {"inverse": 0}  # grad_fn._saved_* as PyTorch's (the saved inverse)

    @staticmethod
    def forward(ctx, a):
        try:
            y = column_major(get_array_module(a).linalg.inv(a))
        except np.linalg.LinAlgError:
            info = _getrf_info(a)
            raise batch_failure("linalg.inv", info, a.shape[:-2], SINGULAR_INVERSE) from None
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        yt = mT(y)
        return -(yt @ grad @ yt)

    @staticmethod
    def jvp(ctx, t):
        y = ctx.out
        return -(y @ t @ y)


@with_out("linalg.inv")
@autocast_float32_op
def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix in ``A`` (..., n, n).

    Raises:
        LinAlgError: a matrix is singular. RuntimeError: not square.
    """
    if not isinstance(A, Tensor):
        raise tensor_argument_error("linalg_inv", "A", 1, A)
    return Inv.apply(check_square(A, "linalg.inv", complex_ok=True))


def _getrf_info(a: Any) -> Any:
    """LAPACK ``getrf``'s ``info`` per matrix of the raw batch ``a`` (PyTorch's error names it)."""
    from .lu import lu_factor_ex  # noqa: PLC0415 - lu imports triangular, which imports solve

    return lu_factor_ex(Tensor._make(host(a), False, None, 0)).info._data


def _saved_lu(node: Any, part: int, transposed: bool) -> Tensor | None:
    """``_saved_LU`` (part 0) / ``_saved_pivots`` (part 1) of a node that saved ``A`` first:
    PyTorch's LU factorization of ``A`` (``det`` / ``slogdet`` of a real ``A`` factor
    ``A^T``, its column-major view), computed on access (chainrule's rules do not read it)."""
    from .lu import lu_factor_ex  # noqa: PLC0415 - lu imports triangular, which imports solve

    a = node.saved_tensor(0)
    if a is None:
        return None
    a = a.detach()
    return lu_factor_ex(mT(a) if transposed and not a.is_complex() else a)[part]


def _lu_fields(transposed: bool) -> dict:
    """PyTorch's saved ``A`` (saved value 0) and its ``LU`` and ``pivots``."""
    return {
        "A": 0,
        "LU": tensor_field(lambda n: _saved_lu(n, 0, transposed)),
        "pivots": tensor_field(lambda n: _saved_lu(n, 1, transposed)),
    }


class Solve(Function):
    """X with A X = B for a batch of matrices B (..., n, k)."""

    raw = True
    node_name = "LinalgSolveExBackward0"  # PyTorch's name for the node
    # grad_fn._saved_* as PyTorch's (saved_fields.py)
    saved_fields = {**_lu_fields(False), "left": lambda n: n.left, "result": 1}

    @staticmethod
    def forward(ctx, a, b, left=True, vectors=False):
        ctx.left = left
        if vectors and b.ndim < a.ndim - 1:  # one vector for a batch of A: broadcast inside
            b = get_array_module(b).broadcast_to(b, a.shape[:-1])  # (the engine sums its grad)
        x = raw_solve(a, b, left)
        if vectors and x.ndim > 1:  # a batch of vectors B (``solve``'s, not the backward's):
            x = column_major(x)  # PyTorch's X has them as the columns of one matrix, (1, k)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        rest = (None,) * (len(ctx.needs_input_grad) - 2)  # (left, when given)
        if ctx.left:
            gb = Solve.apply(mT(a), grad)
            if ctx.needs_input_grad[0] and x.ndim == a.ndim - 1:  # vectors: an outer product
                return (-(gb.unsqueeze(-1) @ x.unsqueeze(-2)), gb, *rest)
            ga = -(gb @ mT(x)) if ctx.needs_input_grad[0] else None
            return (ga, gb, *rest)
        gb = Solve.apply(mT(a), grad, False)  # X A = B: gB A^T = G
        ga = -(mT(x) @ gb) if ctx.needs_input_grad[0] else None
        return (ga, gb, *rest)

    @staticmethod
    def jvp(ctx, ta, tb, *_):
        a, x, left = ctx.primals[0], ctx.out, ctx.left
        rhs = 0
        if tb is not None:
            rhs = rhs + tb
        if ta is not None:  # (a batch of vectors X: dA X as columns)
            tx = (ta @ x[..., None])[..., 0] if x.ndim < ta.ndim else ta @ x if left else x @ ta
            rhs = rhs - tx
        if isinstance(rhs, int):
            return None
        out = raw_solve(a._data if isinstance(a, Tensor) else a, rhs, left)
        if x.ndim == a.ndim - 1 and out.ndim > 1:  # vectors: as the columns, as the forward's
            out = column_major(out)
        return out


def raw_solve(a: Any, b: Any, left: bool) -> Any:
    """``A^-1 B`` (``left``) or ``B A^-1`` on raw arrays (batches of matrices or vectors)."""
    xp = get_array_module(a)
    if b.ndim == a.ndim - 1:  # vectors: solved as columns
        return raw_solve(a, b[..., None], left)[..., 0]
    try:
        if left:
            return column_major(xp.linalg.solve(a, b))
        return xp.swapaxes(  # (X^T, column-major: X row-major, as PyTorch's)
            column_major(xp.linalg.solve(xp.swapaxes(a, -1, -2), xp.swapaxes(b, -1, -2))), -1, -2
        )
    except np.linalg.LinAlgError:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        info = _getrf_info(xp.broadcast_to(a, batch + a.shape[-2:]))
        raise batch_failure("torch.linalg.solve", info, batch, SINGULAR_SOLVE) from None


@with_out("linalg.solve")
@autocast_float32_op
def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """The solution X of ``A X = B`` (``left=False``: ``X A = B``).

    ``B`` may be a batch of matrices (..., n, k) or, as in PyTorch, a batch of vectors
    (..., n) when its shape is ``A.shape[:-1]`` (or it is 1-d).

    Raises:
        LinAlgError: ``A`` is singular. RuntimeError: shapes do not fit.
    """
    for name, position, v in (("A", 1, A), ("B", 2, B)):
        if not isinstance(v, Tensor):
            raise tensor_argument_error("linalg_solve", name, position, v)
    if A.dtype != B.dtype:
        raise RuntimeError(  # PyTorch promotes nothing here
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{scalar_type_name(A.dtype)} and B of type {scalar_type_name(B.dtype)} instead\n"
            f"linalg.solve: convert one with .to({A.dtype}) (or .to({B.dtype}))"
        )
    a = check_square(A, "linalg.solve", complex_ok=True)
    b = tensor_arg(B, "linalg.solve", complex_ok=True)
    if b.ndim == 0:  # PyTorch's message (a 1-d B is read as a vector)
        raise RuntimeError("linalg.solve: The input tensor B must have at least 2 dimensions.")
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    if not left:
        if vector and a.shape[-1] != 1:  # a vector is a column (n, 1): X A = B cannot hold
            raise RuntimeError(
                f"linalg.solve: Incompatible shapes of A and B for the equation "
                f"XA = B ({a.shape[-2]}x{a.shape[-1]} and {b.shape[-1]}x1)"
            )
        if vector:  # A is 1 x 1
            raise RuntimeError(
                "linalg.solve: Vector broadcasting of the left hand side is not supported for "
                "left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)"
            )
        if b.shape[-1] != a.shape[-2]:
            raise RuntimeError(
                f"linalg.solve: Incompatible shapes of A and B for the equation "
                f"XA = B ({a.shape[-2]}x{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})"
            )
        # B is a matrix here: X A = B in one LinalgSolveExBackward0 node, as PyTorch's
        return _solve_matrices(a, b, left=False)
    shape = (*b.shape, 1) if vector else tuple(b.shape)  # B as (a batch of) matrices
    if shape[-2] != a.shape[-1]:
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation "
            f"AX = B ({a.shape[-2]}x{a.shape[-1]} and {shape[-2]}x"
            f"{shape[-1]})"
        )
    if vector and (b.ndim == 1 or shape[:-2] == tuple(a.shape[:-2])):  # one node taking
        return Solve.apply(a, b, True, True)  # them, laid out as PyTorch's (Solve.forward)
    x = _solve_matrices(a, b.unsqueeze(-1) if vector else b)
    return x.squeeze(-1) if vector else x


def _solve_matrices(a: Tensor, b: Tensor, left: bool = True) -> Tensor:
    """``A X = B`` (``left=False``: ``X A = B``) for a batch of square ``a`` and matrices
    ``b`` of fitting shapes, their batch dims broadcast together."""
    batch = batch_shape("linalg.solve", a, b)
    if tuple(a.shape[:-2]) != batch:
        a = a.expand(*batch, *a.shape[-2:])
    if tuple(b.shape[:-2]) != batch:
        b = b.expand(*batch, *b.shape[-2:])
    return Solve.apply(a, b) if left else Solve.apply(a, b, False)


def _slogdet_values(a: Any) -> tuple[Any, Any]:
    """``(sign, log|det|)`` of a batch of square matrices as PyTorch gives them: its
    ``log|det|`` is the sum of ``log|U_ii|`` over the LU factor, so a NaN anywhere in a matrix
    (which always reaches U's diagonal) makes ``log|det|`` NaN (even where a zero pivot
    makes NumPy answer ``-inf``) and the sign the product of the pivots' signs with
    ``sgn(NaN)``: 0 for a real matrix (NumPy's 1 or -1 counts NaN as positive), NaN for a
    complex one. PyTorch's zero carries the sign of the other factors and its row swaps
    (``-0.0`` at times); this one is ``+0.0``, equal to it under ``==``."""
    xp = get_array_module(a)
    with np.errstate(invalid="ignore"):  # NumPy warns on NaN input; PyTorch does not
        sign, logabs = xp.linalg.slogdet(a)
    sign = xp.asarray(sign, dtype=a.dtype)
    logabs = xp.asarray(logabs, dtype=a.real.dtype)
    has_nan = _nan_matrices(a)
    if has_nan.any():
        nan_sign = complex(np.nan, np.nan) if a.dtype.kind == "c" else 0.0
        sign = xp.where(has_nan, xp.asarray(nan_sign, dtype=a.dtype), sign)
        logabs = xp.where(has_nan, xp.asarray(np.nan, dtype=logabs.dtype), logabs)
    return sign, logabs


def lapack_layout(g: Tensor) -> Tensor:
    """``g`` with each matrix column-major: PyTorch's det/slogdet gradient is its LU solve's
    (LAPACK's) layout, which a leaf's AccumulateGrad then copies (``.grad._version`` 1, as
    there). The product with the transposed inverse (same LU of A as PyTorch's, so the same
    rounding near a singular A) is row-major since ``inv`` is column-major."""
    return g.mT.contiguous().mT


def _nan_matrices(a: Any) -> Any:
    """A boolean per matrix of the raw batch ``a``: does it hold a NaN?"""
    return get_array_module(a).isnan(a).any(axis=(-2, -1))


def _inv_nan_aware(a: Tensor) -> Tensor:
    """``inv(a)`` (differentiable), NaN for the matrices that hold a NaN, as PyTorch's
    slogdet gradient is there (``inv`` itself may call such a matrix singular)."""
    bad = _nan_matrices(a._data)
    if not bad.any():
        return inv(a)
    xp = get_array_module(a._data)
    mask = Tensor._make(xp.broadcast_to(bad[..., None, None], a.shape), False, None, 0)
    eye = Tensor._make(xp.eye(a.shape[-1], dtype=a._data.dtype), False, None, 0)
    return where(mask, float("nan"), inv(where(mask, eye, a)))


def _solve_nan_aware(a: Any, t: Any) -> Any:
    """``solve(a, t)`` of raw batches, NaN for the matrices of ``a`` that hold a NaN."""
    bad = _nan_matrices(a)
    if not bad.any():
        return get_array_module(a).linalg.solve(a, t)
    xp = get_array_module(a)
    mask = bad[..., None, None]
    safe = xp.where(mask, xp.eye(a.shape[-1], dtype=a.dtype), a)
    x = xp.linalg.solve(safe, xp.broadcast_to(t, a.shape))
    return xp.where(mask, xp.asarray(np.nan, dtype=x.dtype), x)


class SlogDet(Function):
    raw = True
    node_name = "LinalgSlogdetBackward0"  # PyTorch's name for the node
    saved_fields = {**_lu_fields(True), "sign": 1}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, a):
        sign, logabs = _slogdet_values(a)
        ctx.save_for_backward(a, sign)  # the sign as PyTorch's node keeps it (_saved_sign)
        ctx.mark_non_differentiable(sign)
        return sign, logabs

    @staticmethod
    def backward(ctx, _gsign, glog):
        a = ctx.saved_tensors[0]
        return lapack_layout(mT(_inv_nan_aware(a)) * glog.unsqueeze(-1).unsqueeze(-1))

    @staticmethod
    def jvp(ctx, t):
        (a,) = ctx.primals
        xp = get_array_module(a)
        return None, xp.trace(_solve_nan_aware(a, t), axis1=-2, axis2=-1)


SlogDetResult = return_types.linalg_slogdet  # torch.return_types.linalg_slogdet


class ComplexSlogDet(Function):
    """(sign, log|det A|) of complex matrices: ``sign = det / |det|`` is complex and, unlike
    the real sign, differentiable; ``log|det|`` is real. With ``tau = tr(A^-1 dA)``:
    ``d log|det| = Re tau`` and ``d sign = i sign Im tau``. For a real loss,
    ``dL = Re(w tau)`` with ``w = g_logabs + i Im(conj(g_sign) sign)``, so the gradient in
    PyTorch's convention is ``conj(w) A^-H`` (``complex_grad = True``: no engine conjugation).
    """

    raw = True
    complex_grad = True
    node_name = "LinalgSlogdetBackward0"
    saved_fields = {**_lu_fields(True), "sign": 1}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, a):
        sign, logabs = _slogdet_values(a)
        ctx.save_for_backward(a, sign)
        return sign, logabs

    @staticmethod
    def backward(ctx, gsign, glog):
        a, sign = ctx.saved_tensors
        w = glog
        if gsign is not None:
            turn = (gsign.conj() * sign).imag * 1j
            w = turn if w is None else w + turn
        if w is None:
            return None
        return lapack_layout(w.conj().unsqueeze(-1).unsqueeze(-1) * mT(_inv_nan_aware(a)).conj())

    @staticmethod
    def jvp(ctx, t):
        (a,) = ctx.primals
        xp = get_array_module(a)
        tau = xp.trace(_solve_nan_aware(a, t), axis1=-2, axis2=-1)
        return ctx.out[0] * (1j * tau.imag), tau.real


@with_out("linalg.slogdet")
def slogdet(A: Tensor) -> SlogDetResult:
    """(sign, log|det A|) of each square matrix: stable where det itself would overflow. A
    complex ``A`` gives a complex sign and a real log|det| (both differentiable)."""
    a = check_square(A, "linalg.slogdet", complex_ok=True)
    fn = ComplexSlogDet if a._data.dtype.kind == "c" else SlogDet
    sign, logabs = fn.apply(a)
    return SlogDetResult(sign, logabs)


class Det(Function):
    raw = True
    node_name = "LinalgDetBackward0"  # PyTorch's name for the node
    saved_fields = {**_lu_fields(True), "result": 1}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, a):
        xp = get_array_module(a)
        d = xp.asarray(xp.linalg.det(a), dtype=a.dtype)
        ctx.save_for_backward(a, d)
        return d

    @staticmethod
    def backward(ctx, grad):
        a, d = ctx.saved_tensors
        if np.all(d._data != 0):
            return lapack_layout(mT(inv(a)) * (grad * d).unsqueeze(-1).unsqueeze(-1))
        # Singular: d det / dA is the transposed adjugate, computed from the SVD
        # A = U S V^T as det(U) det(V) U adj(S) V^T (not differentiable again).
        return Tensor._new(_adjugate_t(a._data) * grad._data[..., None, None])

    @staticmethod
    def jvp(ctx, t):
        a = ctx.primals[0]
        return get_array_module(a).sum(_adjugate_t(a) * t, axis=(-2, -1))


def _adjugate_t(a: Any) -> Any:
    xp = get_array_module(a)
    u, s, vt = xp.linalg.svd(a)
    n = s.shape[-1]
    prods = xp.stack([xp.prod(xp.delete(s, i, axis=-1), axis=-1) for i in range(n)], -1)
    scale = (xp.linalg.det(u) * xp.linalg.det(vt))[..., None, None]
    if a.dtype.kind == "c":  # A = U S V^H: adj(A)^T = det(U) det(V^H) conj(U) adj(S) conj(V^H)
        u, vt = u.conj(), vt.conj()
    return scale * (u * prods[..., None, :]) @ vt


@with_out("linalg.det")
def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix (gradient defined for singular ones too)."""
    if not isinstance(A, Tensor):
        raise tensor_argument_error("linalg_det", "A", 1, A)
    return Det.apply(check_square(A, "linalg.det", complex_ok=True))


@with_out("linalg.matrix_power")
def matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` multiplied by itself ``n`` times (``n < 0``: powers of the inverse; ``n = 0``:
    the identity), by repeated squaring. Integer matrices stay integer for ``n >= 0`` (as in
    PyTorch); a negative power needs the inverse, hence a floating input."""
    if type(n) is not int:  # PyTorch's parser first: an int (a NumPy or 0-d integer tensor)
        if not is_parser_int(n):
            raise TypeError(
                "linalg_matrix_power(): argument 'n' (position 2) must be int, not "
                f"{torch_type_name(n)}"
            )
        n = int(n)
    if (
        isinstance(A, Tensor)
        and A.dtype.kind in "iub"
        and isinstance(n, (int, np.integer))
        and n >= 0
        and A.ndim >= 2
        and A.shape[-1] == A.shape[-2]
    ):
        a = A
    else:
        a = check_square(A, "linalg.matrix_power", complex_ok=True)
    if not isinstance(n, (int, np.integer)):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {type(n).__name__}")
    if n == 0:
        xp = get_array_module(a._data)
        eye_n = xp.eye(a.shape[-1], dtype=a._data.dtype)
        eye = Tensor._new(xp.array(xp.broadcast_to(eye_n, a.shape)))
        if a.requires_grad or a._fw_tangent is not None:
            # PyTorch's identity is in the graph: A gets a zero gradient (and a zero tangent)
            eye = where(Tensor._new(xp.zeros((), dtype=bool)), a, eye)
        return eye
    if n < 0:
        a, n = inv(a), -n
    if n >= 2 and a._data.dtype == np.bool_:  # powers 0 and 1 need no product (PyTorch)
        raise NotImplementedError(
            "linalg.matrix_power: \"addmm_impl_cpu_\" not implemented for 'Bool'"
        )
    result = None
    base = a
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result.clone() if result is A else result  # n == 1: a new tensor, as PyTorch
