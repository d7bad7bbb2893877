"""Matrix decompositions and their derivatives: Cholesky, QR, Hermitian eigen (SVD: svd.py).

Backward rules follow the standard matrix-calculus results (Murray 2016 for Cholesky;
Walter & Lehmann 2018 for QR; Giles 2008 / Townsend 2016 for eigh and SVD), written with
differentiable ops so that they can be differentiated again. Where the derivative does not
exist (repeated eigen/singular values) the result is not finite, as in PyTorch.

Real and complex matrices share each rule, written with conjugate transposes ``^H`` (the
transpose for real ones) in PyTorch's convention (``complex_grad = True``: the gradient of a
real loss with respect to ``z = x + iy`` is ``dL/dx + i dL/dy``):

    Cholesky  A = L L^H         gA = herm(L^-H Phi(M) L^-1) + L^-H i Im diag(M) L^-1 / 2,
                                M = L^H tril(gL)
    QR        A = Q R           gA = (gQ + Q copyltu(M)) R^-H,  M = R gR^H - gQ^H Q
    eigh      A = V diag(w) V^H gA = herm(V (diag(gw) + F * V^H gV) V^H)

``Phi`` keeps the lower triangle with a halved diagonal. The anti-Hermitian second term of
the Cholesky rule is PyTorch's: orthogonal to every Hermitian ``dA``, it changes no
derivative along Hermitian matrices, but it makes the gradient PyTorch's entry by entry.
``copyltu(M)`` is the Hermitian matrix with M's strict lower triangle and ``Re diag(M)``
(LAPACK's R has a real diagonal, which fixes Q's phases); ``F_ij = 1 / (w_j - w_i)``.
Complex eigenvectors are defined up to a phase each: a loss that depends on it
(``Im diag(V^H gV) != 0``) has no gradient. As PyTorch, eigh's backward raises only where
some ``|Im diag(V^H gV)|`` exceeds the absolute tolerance 1e-2 (or is NaN), for complex64
and complex128 alike; below it the rule above is returned, ``herm`` removing the phase term
``V i Im diag(V^H gV) V^H`` (anti-Hermitian), except when the eigenvalues are unused, where
PyTorch adds that term back (both measured against PyTorch 2.13).
"""

from __future__ import annotations

import numpy as np

from .. import return_types
from ..autograd.function import Function
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.saved_fields import given, given_value  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import errstate, get_array_module, host
from ..ops._result_layout import column_major  # LAPACK's layout, PyTorch's
from ..ops._tensor_args import called_as, first_not_tensor, torch_type_name
from ..ops.joining import cat
from ..ops.linalg_out import with_out
from ..ops.structural import diag_embed, diagonal
from ._common import (
    NOT_POSITIVE_DEFINITE,
    batch_failure,
    check_float,
    check_square,
    herm,
    mH,
)
from .solve import inv, lapack_layout, solve
from .svd import check_phase_invariant, svd, svdvals

__all__ = ["cholesky", "eigh", "eigvalsh", "qr", "svd", "svdvals"]


def _not_str(op: str, arg: str, value: object) -> TypeError:
    """PyTorch's parser error for ``linalg_<op>``'s string argument given something else."""
    where = "" if arg in called_as((op,))[2] else " (position 2)"
    return TypeError(
        f"linalg_{op}(): argument '{arg}'{where} must be str, not {torch_type_name(value)}"
    )


def _phi(x: Tensor) -> Tensor:
    """Lower triangle with the diagonal halved (Murray's Phi)."""
    return x.tril(-1) + diag_embed(diagonal(x, 0, -2, -1) * 0.5)


def _phi_np(x):
    xp = get_array_module(x)
    out = xp.tril(x, -1)
    return out + xp.eye(x.shape[-1], dtype=x.dtype) * (0.5 * x)


def _potrf_info(a):
    """Per matrix of the batch ``a`` (``(..., n, n)``, lower triangle read), LAPACK potrf's
    ``info``: the 1-based order of the first pivot that is not positive (zero, negative or
    NaN), 0 where every pivot is.

    NumPy's cholesky does not raise for a matrix with inf/NaN entries (its factor comes out
    non-finite), while LAPACK, and so PyTorch, rejects the first NaN pivot. This replays the
    unblocked recurrence ``l_jj = sqrt(a_jj - l_j . conj(l_j))``, ``l_ij = (a_ij - l_i .
    conj(l_j)) / l_jj`` vectorised over the batch; it is only run for non-finite input or a failed
    factorization.
    """
    xp = get_array_module(a)
    n = a.shape[-1]
    low = xp.zeros_like(a)
    info = xp.zeros(a.shape[:-2], dtype=xp.int32)
    with errstate(xp, all="ignore"):
        for j in range(n):
            row = low[..., j, :j]
            pivot = (a[..., j, j] - (row * row.conj()).sum(-1)).real
            info = xp.where((info == 0) & ~(pivot > 0), j + 1, info)
            root = xp.sqrt(pivot)
            below = a[..., j + 1 :, j] - (low[..., j + 1 :, :j] @ row.conj()[..., None])[..., 0]
            low[..., j, j] = root
            low[..., j + 1 :, j] = below / root[..., None]
    return info


class Cholesky(Function):
    raw = True
    complex_grad = True
    # PyTorch's node: LinalgCholeskyExBackward0 for linalg.cholesky, CholeskyBackward0 for
    # the deprecated torch.cholesky (``legacy``), with their saved names
    node_name = staticmethod(
        lambda n: "CholeskyBackward0" if n.legacy else "LinalgCholeskyExBackward0"
    )

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_* as PyTorch's: the output (L, or U = L^H)
        upper = lambda n: given_value(n, "upper", False)  # noqa: E731
        return {"result": 0, "upper": upper} if node.legacy else {"L": 0, "upper": upper}

    @staticmethod
    def forward(ctx, a, legacy=False, upper=False):
        """``upper``: the output is ``U = L^H`` (a view of the factor for real ``a``, with
        PyTorch's strides), saved itself as PyTorch's node saves it; the rules read ``L``
        back from it."""
        ctx.legacy, ctx.upper = legacy, upper
        xp = get_array_module(a)
        try:
            low = xp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            low = None
        if low is None or not bool(xp.isfinite(low).all()):
            infos = _potrf_info(host(a))  # (NumPy lets a NaN pivot through; LAPACK does not)
            if infos.any():  # PyTorch's words: the failed matrix and its leading minor
                op = "cholesky" if legacy else "linalg.cholesky"
                raise batch_failure(op, infos, a.shape[:-2], NOT_POSITIVE_DEFINITE)
        if upper:
            low = xp.conj(low.swapaxes(-1, -2)) if low.dtype.kind == "c" else low.swapaxes(-1, -2)
        else:  # (U = L^H is column-major already)
            low = column_major(low)
        ctx.save_for_backward(low)  # the output itself (U when upper)
        return low

    @staticmethod
    def backward(ctx, grad):
        (low,) = ctx.saved_tensors
        if ctx.upper:  # U = L^H: the rule is written for L and its gradient
            low, grad = mH(low), mH(grad)
        li = inv(low)
        m = mH(low) @ grad.tril()
        ga = herm(mH(li) @ _phi(m) @ li)
        if m._data.dtype.kind == "c":  # PyTorch's anti-Hermitian extra (see the docstring)
            ga = ga + mH(li) @ diag_embed(diagonal(m, 0, -2, -1).imag * 0.5j) @ li
        return ga, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        low = ctx.out
        xp = get_array_module(low)
        if ctx.upper:
            low = xp.conj(xp.swapaxes(low, -1, -2))
        li = xp.linalg.inv(low)
        tan = low @ _phi_np(li @ t @ xp.conj(xp.swapaxes(li, -1, -2)))
        return xp.conj(xp.swapaxes(tan, -1, -2)) if ctx.upper else tan


@with_out("linalg.cholesky")
@autocast_float32_op
def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L with A = L L^H for Hermitian (real: symmetric) positive-definite ``A``
    (``upper=True``: L^H). Only the lower triangle is read; the gradient is PyTorch's:
    symmetric for real ``A``, Hermitian plus PyTorch's anti-Hermitian term for complex ``A``
    (see the module docstring).

    Raises:
        LinAlgError: ``A`` is not positive-definite.
    """
    return _cholesky(A, upper, False)


def _cholesky(A: Tensor, upper: bool, legacy: bool) -> Tensor:
    if not isinstance(A, Tensor):  # PyTorch's argument parser: a TypeError, no conversion
        raise first_not_tensor("cholesky" if legacy else "linalg_cholesky", (("input", A),))
    a = check_square(A, "linalg.cholesky", complex_ok=True)
    out = Cholesky.apply(a, legacy, bool(upper))  # one node, U = L^H included (PyTorch's)
    return given(out, upper=bool(upper))  # grad_fn._saved_upper


def legacy_cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """:func:`cholesky` under the deprecated ``torch.cholesky``'s node name."""
    return _cholesky(A, upper, True)


def _copyltu(m: Tensor) -> Tensor:
    """The Hermitian matrix with ``m``'s strict lower triangle and ``Re diag(m)``."""
    low = m.tril(-1)
    d = diagonal(m, 0, -2, -1)
    return low + mH(low) + diag_embed(d.real if d._data.dtype.kind == "c" else d)


_QR_R_ONLY = (
    "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
    "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr."
)
_QR_COMPLETE_TALL = (
    "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
)


def _qr_square_backward(q: Tensor, r: Tensor, gq: Tensor, gr: Tensor) -> Tensor:
    """The gradient of A = QR for A with at least as many rows as columns (R square)."""
    m = r @ mH(gr) - mH(gq) @ q
    b = gq + q @ _copyltu(m)
    # B R^-H, column-major as PyTorch's (its triangular solve from the right): a leaf's
    # AccumulateGrad then copies it (``.grad._version`` 1, as there)
    return lapack_layout(mH(solve(r, mH(b))))


class QR(Function):
    """A = QR. ``mode='r'`` computes Q as well (it is dropped by :func:`qr`) but, as PyTorch,
    has no derivative. For a wide A (m < n) write A = [A1 | A2], R = [R1 | R2] with A1 square:
    Q R1 = A1 is the square QR and R2 = Q^T A2, so gA2 = Q gR2 and gA1 is the square rule
    with gQ + A2 gR2^T in place of gQ (PyTorch's rule; ``complete`` and ``reduced`` coincide
    there). ``complete`` with m > n has no derivative (Q's extra columns are not unique)."""

    raw = True
    complex_grad = True
    node_name = "LinalgQrBackward0"  # PyTorch's name for the node
    saved_fields = {"Q": 0, "R": 1, "mode": lambda n: n.mode}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def _check(mode: str, m: int, n: int) -> None:
        if mode == "r":
            raise RuntimeError(_QR_R_ONLY)
        if mode == "complete" and m > n:
            raise RuntimeError(_QR_COMPLETE_TALL)

    @staticmethod
    def forward(ctx, a, mode):
        q, r = get_array_module(a).linalg.qr(a, mode="reduced" if mode == "r" else mode)
        q, r = column_major(q), column_major(r)
        ctx.save_for_backward(q, r)  # only Q and R, as PyTorch: A may be modified later
        ctx.mode = mode
        return q, r

    @staticmethod
    def backward(ctx, gq, gr):
        q, r = ctx.saved_tensors
        m, n = q.shape[-2], r.shape[-1]
        QR._check(ctx.mode, m, n)
        if m >= n:
            return _qr_square_backward(q, r, gq, gr), None
        r1, r2, gr1, gr2 = r[..., :m], r[..., m:], gr[..., :m], gr[..., m:]
        ga1 = _qr_square_backward(q, r1, gq + q @ r2 @ mH(gr2), gr1)  # A2 = Q R2
        return cat([ga1, q @ gr2], -1), None

    @staticmethod
    def _square_jvp(q, r, t):
        # C = Q^H dA R^-1; Omega = Q^H dQ is skew-Hermitian with C's strict lower triangle
        # and, as dR R^-1 has a real diagonal, C's imaginary diagonal
        xp = get_array_module(q)
        rinv = xp.linalg.inv(r)
        c = xp.conj(xp.swapaxes(q, -1, -2)) @ t @ rinv
        low = xp.tril(c, -1)
        omega = low - xp.conj(xp.swapaxes(low, -1, -2))
        if c.dtype.kind == "c":
            omega = omega + 1j * (xp.eye(c.shape[-1]) * c.imag)
        return t @ rinv - q @ (c - omega), (c - omega) @ r

    @staticmethod
    def jvp(ctx, t, _):
        q, r = ctx.out
        m, n = t.shape[-2], t.shape[-1]
        QR._check(ctx.mode, m, n)
        if m >= n:
            return QR._square_jvp(q, r, t)
        dq, dr1 = QR._square_jvp(q, r[..., :m], t[..., :m])
        xp = get_array_module(q)
        dr2 = xp.conj(xp.swapaxes(q, -1, -2)) @ (t[..., m:] - dq @ r[..., m:])
        return dq, xp.concatenate([dr1, dr2], axis=-1)


QRResult = return_types.linalg_qr  # torch.return_types.linalg_qr


@with_out("linalg.qr")
@autocast_float32_op
def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """A = QR with orthonormal columns in Q and upper-triangular R (``mode``: ``reduced``,
    ``complete`` or ``r``, whose Q is empty as in PyTorch); real or complex ``A`` (R's
    diagonal is real, LAPACK's choice)."""
    a = check_float(A, "linalg.qr", complex_ok=True)
    if type(mode) is not str:
        raise _not_str("qr", "mode", mode)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of "
            "'reduced' (default), 'r', or 'complete'"
        )
    if mode == "r":  # Q is computed (and dropped) but has no derivative, as in PyTorch
        _, r = QR.apply(a, "r")
        empty = get_array_module(a._data).zeros(0, dtype=a._data.dtype)
        return QRResult(Tensor._new(empty), r)
    q, r = QR.apply(a, mode)
    return QRResult(q, r)


def _eig_f(w):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it."""
    xp = get_array_module(w)
    diff = w[..., None, :] - w[..., :, None]
    eye = xp.eye(w.shape[-1], dtype=bool)
    with errstate(xp, divide="ignore"):
        return xp.where(eye, 0.0, 1.0 / xp.where(eye, 1.0, diff)).astype(w.dtype)


_EIGH_GAUGE = (
    "linalg_eigh_backward: The eigenvectors in the complex case are specified up to "
    "multiplication by e^{i phi}. The specified loss function depends on this quantity, so "
    "it is ill-defined."
)
# PyTorch 2.13's gauge tolerance for eigh, measured by bisection: absolute, inclusive, the
# same for complex64 and complex128 and for any scale of A or of the gradient
_EIGH_GAUGE_TOL = 1e-2


class Eigh(Function):
    raw = True
    node_name = "LinalgEighBackward0"  # PyTorch's name for the node
    saved_fields = {"eigenvalues": 0, "eigenvectors": 1}  # grad_fn._saved_* as PyTorch's
    complex_grad = True

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = get_array_module(a).linalg.eigh(a, UPLO=uplo)
        v = column_major(v)
        ctx.save_for_backward(w, v)
        # unused outputs reach backward as None (PyTorch's undefined gradients): eigvalsh's
        # rule V diag(gw) V^H is then finite at repeated eigenvalues, where F is infinite
        ctx.set_materialize_grads(False)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved_tensors
        inner = diag_embed(gw) if gw is not None else v.new_zeros(v.shape)
        phase = None
        if gv is not None:
            eye = Tensor._new(get_array_module(w._data).eye(w.shape[-1], dtype=bool))
            diff = w.unsqueeze(-2) - w.unsqueeze(-1)
            f = (1.0 / diff.masked_fill(eye, 1.0)).masked_fill(eye, 0.0)
            vhgv = mH(v) @ gv
            if vhgv._data.dtype.kind == "c":
                phase = diagonal(vhgv, 0, -2, -1).imag
                check_phase_invariant(phase._data, _EIGH_GAUGE_TOL, _EIGH_GAUGE)
            inner = inner + f * vhgv
        if inner.dtype != v.dtype:  # complex V, real gw alone
            inner = inner.to(v.dtype)
        ga = herm(v @ inner @ mH(v))
        if phase is not None and gw is None:
            # PyTorch's gradient when the eigenvalues are unused (measured): the tolerated
            # phase term V i Im diag(V^H gV) V^H is kept, so it is not Hermitian
            ga = ga + (v * (phase * 1j).unsqueeze(-2)) @ mH(v)
        return ga, None

    @staticmethod
    def jvp(ctx, t, _):
        w, v = ctx.out
        xp = get_array_module(w)
        vh = xp.conj(xp.swapaxes(v, -1, -2))
        th = xp.conj(xp.swapaxes(t, -1, -2))
        m = vh @ (0.5 * (t + th)) @ v  # the Hermitian part, as backward
        dw = xp.diagonal(m, 0, -2, -1).real.copy()
        dv = v @ (_eig_f(w) * m)
        return dw, dv


EighResult = return_types.linalg_eigh  # torch.return_types.linalg_eigh


@with_out("linalg.eigh")
@autocast_float32_op
def eigh(A: Tensor, UPLO: str = "L") -> EighResult:  # noqa: N803 - PyTorch's name
    """Eigenvalues (ascending, real) and orthonormal eigenvectors of Hermitian (real:
    symmetric) ``A``, reading only the ``UPLO`` triangle. As in PyTorch, the gradient is that
    of a function of Hermitian matrices (the Hermitian part of
    ``V (diag(gw) + F * V^H gV) V^H``), not masked to the triangle read; a complex loss that
    depends on the eigenvectors' phases raises in backward."""
    if type(UPLO) is not str:
        raise _not_str("eigh", "UPLO", UPLO)
    if UPLO not in ("L", "U", "l", "u"):  # PyTorch reads the letter in either case
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    w, v = Eigh.apply(check_square(A, "linalg.eigh", complex_ok=True), UPLO.upper())
    return EighResult(w, v)


@with_out("linalg.eigvalsh")
@autocast_float32_op
def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """Eigenvalues (ascending, real) of Hermitian (real: symmetric) ``A``."""
    return eigh(A, UPLO).eigenvalues
