"""Matrix decompositions and their derivatives: Cholesky, QR, symmetric eigen, SVD.

Backward rules follow the standard matrix-calculus results (Murray 2016 for Cholesky;
Walter & Lehmann 2018 for QR; Giles 2008 / Townsend 2016 for eigh and SVD), written with
differentiable ops so that they can be differentiated again. Where the derivative does not
exist (repeated eigen/singular values) the result is not finite, as in PyTorch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.joining import cat
from ..ops.structural import diag_embed, diagonal
from ._common import check_float, check_square, mT, raise_singular, sym
from .solve import inv, solve

__all__ = ["cholesky", "eigh", "eigvalsh", "qr", "svd", "svdvals"]


def _phi(x: Tensor) -> Tensor:
    """Lower triangle with the diagonal halved (Murray's Phi)."""
    return x.tril(-1) + diag_embed(diagonal(x, 0, -2, -1) * 0.5)


def _phi_np(x):
    xp = get_array_module(x)
    out = xp.tril(x, -1)
    return out + xp.eye(x.shape[-1], dtype=x.dtype) * (0.5 * x)


class Cholesky(Function):
    raw = True

    @staticmethod
    def forward(ctx, a):
        try:
            low = get_array_module(a).linalg.cholesky(a)
        except np.linalg.LinAlgError as e:
            raise_singular("linalg.cholesky", e, "not positive-definite")
        ctx.save_for_backward(low)
        return low

    @staticmethod
    def backward(ctx, grad):
        (low,) = ctx.saved_tensors
        li = inv(low)
        return sym(mT(li) @ _phi(mT(low) @ grad.tril()) @ li)

    @staticmethod
    def jvp(ctx, t):
        low = ctx.out
        xp = get_array_module(low)
        li = xp.linalg.inv(low)
        return low @ _phi_np(li @ t @ xp.swapaxes(li, -1, -2))


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L with A = L L^T for symmetric positive-definite ``A`` (``upper=True``: L^T). Only the
    lower triangle is read; the gradient is symmetric, as in PyTorch.

    Raises:
        LinAlgError: ``A`` is not positive-definite.
    """
    low = Cholesky.apply(check_square(A, "linalg.cholesky"))
    return mT(low) if upper else low


def _copyltu(m: Tensor) -> Tensor:
    low = m.tril(-1)
    return low + mT(low) + diag_embed(diagonal(m, 0, -2, -1))


_QR_R_ONLY = (
    "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
    "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr."
)
_QR_COMPLETE_TALL = (
    "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
)


def _qr_square_backward(q: Tensor, r: Tensor, gq: Tensor, gr: Tensor) -> Tensor:
    """The gradient of A = QR for A with at least as many rows as columns (R square)."""
    m = r @ mT(gr) - mT(gq) @ q
    b = gq + q @ _copyltu(m)
    return mT(solve(r, mT(b)))


class QR(Function):
    """A = QR. ``mode='r'`` computes Q as well (it is dropped by :func:`qr`) but, as PyTorch,
    has no derivative. For a wide A (m < n) write A = [A1 | A2], R = [R1 | R2] with A1 square:
    Q R1 = A1 is the square QR and R2 = Q^T A2, so gA2 = Q gR2 and gA1 is the square rule
    with gQ + A2 gR2^T in place of gQ (PyTorch's rule; ``complete`` and ``reduced`` coincide
    there). ``complete`` with m > n has no derivative (Q's extra columns are not unique)."""

    raw = True

    @staticmethod
    def _check(mode: str, m: int, n: int) -> None:
        if mode == "r":
            raise RuntimeError(_QR_R_ONLY)
        if mode == "complete" and m > n:
            raise RuntimeError(_QR_COMPLETE_TALL)

    @staticmethod
    def forward(ctx, a, mode):
        q, r = get_array_module(a).linalg.qr(a, mode="reduced" if mode == "r" else mode)
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
        ga1 = _qr_square_backward(q, r1, gq + q @ r2 @ mT(gr2), gr1)  # A2 = Q R2
        return cat([ga1, q @ gr2], -1), None

    @staticmethod
    def _square_jvp(q, r, t):
        xp = get_array_module(q)
        rinv = xp.linalg.inv(r)
        c = xp.swapaxes(q, -1, -2) @ t @ rinv
        low = xp.tril(c, -1)
        omega = low - xp.swapaxes(low, -1, -2)
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
        dr2 = xp.swapaxes(q, -1, -2) @ (t[..., m:] - dq @ r[..., m:])
        return dq, xp.concatenate([dr1, dr2], axis=-1)


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """A = QR with orthonormal columns in Q and upper-triangular R (``mode``: ``reduced``,
    ``complete`` or ``r``, whose Q is empty as in PyTorch)."""
    a = check_float(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of "
            "'reduced' (default), 'r', or 'complete'"
        )
    if mode == "r":  # Q is computed (and dropped) but has no derivative, as in PyTorch
        _, r = QR.apply(a, "r")
        return QRResult(Tensor._new(np.zeros(0, dtype=a.dtype)), r)
    q, r = QR.apply(a, mode)
    return QRResult(q, r)


def _eig_f(w):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it."""
    xp = get_array_module(w)
    diff = w[..., None, :] - w[..., :, None]
    eye = xp.eye(w.shape[-1], dtype=bool)
    with np.errstate(divide="ignore"):
        return xp.where(eye, 0.0, 1.0 / xp.where(eye, 1.0, diff)).astype(w.dtype)


class Eigh(Function):
    raw = True

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = get_array_module(a).linalg.eigh(a, UPLO=uplo)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved_tensors
        inner = diag_embed(gw)
        if gv is not None:
            eye = Tensor._new(np.eye(w.shape[-1], dtype=bool))
            diff = w.unsqueeze(-2) - w.unsqueeze(-1)
            f = (1.0 / diff.masked_fill(eye, 1.0)).masked_fill(eye, 0.0)
            inner = inner + f * (mT(v) @ gv)
        return sym(v @ inner @ mT(v)), None

    @staticmethod
    def jvp(ctx, t, _):
        w, v = ctx.out
        xp = get_array_module(w)
        vt = xp.swapaxes(v, -1, -2)
        m = vt @ (0.5 * (t + xp.swapaxes(t, -1, -2))) @ v  # the symmetric part, as backward
        dw = xp.diagonal(m, 0, -2, -1).copy()
        dv = v @ (_eig_f(w) * m)
        return dw, dv


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:  # noqa: N803 - PyTorch's name
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric ``A``, reading only
    the ``UPLO`` triangle. As in PyTorch, the gradient is that of a function of symmetric
    matrices (the symmetric part of ``V (diag(gw) + F * V^T gV) V^T``), not masked to the
    triangle read."""
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    w, v = Eigh.apply(check_square(A, "linalg.eigh"), UPLO)
    return EighResult(w, v)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """Eigenvalues (ascending) of symmetric ``A``."""
    return eigh(A, UPLO).eigenvalues


class SVD(Function):
    raw = True

    @staticmethod
    def forward(ctx, a):
        u, s, vh = get_array_module(a).linalg.svd(a, full_matrices=False)
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved_tensors
        # An unused U or Vh arrives as constant zeros (the engine fills the gradients of
        # unused outputs): read it as absent, as PyTorch's undefined gradient, so that
        # svdvals' rule is U diag(gS) Vh alone -- cheaper, and finite at repeated singular
        # values, where the (UᵀgU - gUᵀU) / (s_j² - s_i²) term would be 0/0
        gu, gvh = _absent_if_zero(gu), _absent_if_zero(gvh)
        inner = diag_embed(gs) if gs is not None else None
        if gu is None and gvh is None:
            return u @ inner @ vh
        s2 = s * s
        e = s2.unsqueeze(-2) - s2.unsqueeze(-1)
        eye = Tensor._new(np.eye(s.shape[-1], dtype=bool))
        e = e.masked_fill(eye, 1.0)
        v = mT(vh)
        sd = diag_embed(s)
        term = inner if inner is not None else 0.0
        extra = 0.0
        sinv = diag_embed(1.0 / s)
        if gu is not None:
            uhgu = mT(u) @ gu
            term = term + ((uhgu - mT(uhgu)) / e) @ sd
            if u.shape[-2] > u.shape[-1]:
                extra = extra + (gu - u @ uhgu) @ sinv @ vh
        if gvh is not None:
            gv = mT(gvh)
            vhgv = vh @ gv
            term = term + sd @ ((vhgv - mT(vhgv)) / e)
            if v.shape[-2] > v.shape[-1]:
                extra = extra + u @ sinv @ mT(gv - v @ vhgv)
        return u @ term @ vh + extra

    @staticmethod
    def jvp(ctx, t):
        raise NotImplementedError(
            "linalg.svd: forward-mode AD (jvp) of the singular vectors is "
            "not implemented; use reverse mode, or svdvals for the "
            "singular values"
        )


def _absent_if_zero(g: Tensor | None) -> Tensor | None:
    """None for a constant all-zero gradient (not one carrying a graph: double backward)."""
    if g is None or g.requires_grad or g._data.any():
        return g
    return None


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None) -> SVDResult:
    """A = U diag(S) Vh with singular values S in descending order.

    Raises:
        NotImplementedError: ``full_matrices=True`` on a non-square matrix when gradients
            are needed (the extra columns of U or V have no derivative), or ``driver`` given.
    """
    if driver is not None:
        raise NotImplementedError(
            "linalg.svd: driver= selects a cuSOLVER routine; it is not "
            "supported on chainrule's CPU backend"
        )
    a = check_float(A, "linalg.svd")
    if full_matrices and a.shape[-1] != a.shape[-2]:
        if a.requires_grad:
            raise NotImplementedError(
                "linalg.svd: full_matrices=True on a non-square matrix is "
                "not differentiable; pass full_matrices=False"
            )
        u, s, vh = np.linalg.svd(a._data, full_matrices=True)
        return SVDResult(Tensor._new(u), Tensor._new(s), Tensor._new(vh))
    u, s, vh = SVD.apply(a)
    return SVDResult(u, s, vh)


class SVDVals(Function):
    """Singular values alone (no U, Vh): for a constant ``A`` and for forward mode, whose
    rule needs the primal ``A``. An ``A`` that wants a gradient goes through :class:`SVD`."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        s = get_array_module(a).linalg.svd(a, compute_uv=False)
        ctx.save_for_backward(a)
        return s

    @staticmethod
    def backward(ctx, gs):
        (a,) = ctx.saved_tensors
        u, _, vh = SVD.apply(a)  # differentiable in A, so double backward is exact
        return u @ diag_embed(gs) @ vh

    @staticmethod
    def jvp(ctx, t):
        a = ctx.primals[0]
        xp = get_array_module(a)
        u, _, vh = xp.linalg.svd(a, full_matrices=False)
        return xp.diagonal(xp.swapaxes(u, -1, -2) @ t @ xp.swapaxes(vh, -1, -2), 0, -2, -1)


def svdvals(A: Tensor, *, driver: str | None = None) -> Tensor:
    """The singular values of ``A`` in descending order.

    When ``A`` wants a gradient this is PyTorch's path: one SVD with U and Vh, whose node
    keeps U, S, Vh (not ``A``, which may then be modified in place) and whose rule,
    U diag(gS) Vh, is differentiated again through that same node (exact double backward).
    """
    if driver is not None:
        raise NotImplementedError("linalg.svdvals: driver= is not supported on the CPU backend")
    a = check_float(A, "linalg.svdvals")
    if a.requires_grad and is_grad_enabled() and a._fw_tangent is None:
        return SVD.apply(a)[1]
    return SVDVals.apply(a)
