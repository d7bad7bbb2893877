"""The singular value decomposition and its derivative, real and complex: ``svd``, ``svdvals``.

    A = U diag(S) V^H,   P = U^H dA V,   F_ij = 1 / (s_j^2 - s_i^2) (0 on the diagonal)
    dS = Re diag(P)
    U^H dU = F * (P S + S P^H) + i Im diag(P) / S      (V^H dV: F * (S P + P^H S), 0 diagonal)

Written in PyTorch's convention (the gradient of a real loss with respect to ``z = x + iy``
is ``dL/dx + i dL/dy``), with ``J_U = U^H gU`` and ``J_V = V^H gV`` (``gV = gVh^H``):

    gA = U [diag(gS) + (F * (J_U - J_U^H)) S + S (F * (J_V - J_V^H)) + i Im diag(J_U) / S] V^H
         + (I - U U^H) gU S^-1 V^H + U S^-1 gV^H (I - V V^H)

For real matrices the imaginary diagonal term vanishes and ``^H`` is the transpose (Townsend
2016). Complex singular vectors are defined up to a common phase ``e^{i phi}`` per pair: a
loss that depends on it (``Im diag(J_U + J_V) != 0``) has no gradient. As PyTorch, the
backward raises only where some ``|Im diag(J_U + J_V)|`` exceeds the absolute tolerance
5e-3 (or is NaN), whatever the dtype or scale (an unused U or Vh counts as ``J = 0``); below
it the rule above is returned as it stands, U's share ``i Im diag(J_U) / S`` included, except
when Vh is unused, where PyTorch leaves that share out (all measured against PyTorch 2.13).
Forward mode splits each pair's phase evenly instead: ``i Im diag(P) / (2S)`` to U^H dU and
its negative to V^H dV, as PyTorch's.
Repeated singular values make ``F`` infinite (non-finite gradients, as in PyTorch) unless
only ``S`` is used.

``full_matrices=True`` on a non-square matrix returns the square U (m, m) and Vh (n, n);
their columns / rows beyond ``k = min(m, n)`` span a null space and are not unique, so, as
in PyTorch, their gradient is ignored: the rule is the reduced one applied to the first
``k`` columns of ``gU`` and rows of ``gVh``.
"""

from __future__ import annotations

import numpy as np

from .. import return_types
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.saved_fields import given, given_value  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import errstate, get_array_module
from ..ops._result_layout import column_major  # LAPACK's layout, PyTorch's
from ..ops._tensor_args import torch_type_name
from ..ops.linalg_out import with_out
from ..ops.structural import diag_embed, diagonal
from ._common import LinAlgError, check_float, mH

__all__ = ["SVD", "SVDVals", "check_phase_invariant", "svd", "svdvals"]

_SVD_GAUGE = (
    "svd_backward: The singular vectors in the complex case are specified up to "
    "multiplication by e^{i phi}. The specified loss function depends on this phase term, "
    "making it ill-defined."
)


# PyTorch 2.13's gauge tolerance for the SVD, measured by bisection: absolute, the same for
# complex64 and complex128 and for any scale of A or of the gradient, inclusive (|x| <= tol)
_SVD_GAUGE_TOL = 5e-3


def check_phase_invariant(phase: np.ndarray, tol: float, message: str) -> None:
    """Raise ``message`` where a complex loss moves with the singular / eigenvector phases:
    every entry of ``phase`` (the imaginary diagonal the loss's gradient puts on them) must
    satisfy ``|phase| <= tol``; a NaN fails the test and raises, as in PyTorch."""
    xp = get_array_module(phase)
    if not bool(xp.all(xp.abs(phase) <= tol)):
        raise RuntimeError(message)


def _lapack_svd(a, full: bool | None):
    """``xp.linalg.svd(a)`` (``full`` None: the singular values only) for finite ``a``. As
    PyTorch: a matrix holding NaN raises ``LinAlgError``, one holding inf (and no NaN) gets
    NaN factors -- instead of LAPACK's answer, whose gesdd never returns on inf (the process
    hangs). The finiteness test is one pass, small next to the SVD itself."""
    xp = get_array_module(a)
    if bool(xp.isfinite(a).all()):
        return (
            xp.linalg.svd(a, compute_uv=False)
            if full is None
            else xp.linalg.svd(a, full_matrices=full)
        )
    if bool(xp.isnan(a).any()):
        raise LinAlgError(
            "linalg.svd: The algorithm failed to converge because the input matrix contained "
            "non-finite values."
        )
    m, n = a.shape[-2:]
    k, batch = min(m, n), a.shape[:-2]
    real = a.real.dtype if a.dtype.kind == "c" else a.dtype
    s = xp.full(batch + (k,), xp.nan, real)
    if full is None:
        return s
    u_cols, v_rows = (m, n) if full else (k, k)
    return (
        xp.full(batch + (m, u_cols), xp.nan, a.dtype),
        s,
        xp.full(batch + (v_rows, n), xp.nan, a.dtype),
    )


class SVD(Function):
    """SVD of real or complex matrices (the rule of the module docstring); ``full`` returns
    the square U and Vh, whose columns / rows beyond ``min(m, n)`` get no gradient."""

    raw = True
    node_name = "LinalgSvdBackward0"  # PyTorch's name for the node
    complex_grad = True  # the rule is written in PyTorch's conjugate convention
    saved_fields = {  # grad_fn._saved_* as PyTorch's: the saved factors by its names
        "S": 1,
        "S_sym_argsize_minus_1": lambda n: n.k,
        "U": 0,
        "Vh": 2,
        "full_matrices": lambda n: given_value(n, "full_matrices", n.full),
    }

    @staticmethod
    def forward(ctx, a, full):
        u, s, vh = _lapack_svd(a, full)
        u, vh = column_major(u), column_major(vh)
        ctx.full, ctx.k = bool(full), s.shape[-1]
        ctx.save_for_backward(u, s, vh)
        # an unused U, S or Vh reaches backward as None, PyTorch's undefined gradient, not
        # as zeros: the rule differs (see _reduced_backward)
        ctx.set_materialize_grads(False)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved_tensors
        k = s.shape[-1]
        if u.shape[-1] > k:  # full U of a tall A: its extra columns have no gradient
            u = u[..., :k]
            gu = gu[..., :k] if gu is not None else None
        if vh.shape[-2] > k:  # full Vh of a wide A: likewise its extra rows
            vh = vh[..., :k, :]
            gvh = gvh[..., :k, :] if gvh is not None else None
        return SVD._reduced_backward(u, s, vh, gu, gs, gvh), None

    @staticmethod
    def _reduced_backward(u, s, vh, gu, gs, gvh):
        # An unused U or Vh (None) drops its terms, as PyTorch's undefined gradient: svdvals'
        # rule is U diag(gS) Vh alone -- cheaper, and finite at repeated singular values,
        # where the (UᵀgU - gUᵀU) / (s_j² - s_i²) term would be 0/0. A zero gradient that
        # was given (a loss using 0 * U) keeps them, non-finite there, as in PyTorch
        inner = diag_embed(_as(gs, u)) if gs is not None else None
        if gu is None and gvh is None:
            return u @ inner @ vh
        cplx = u._data.dtype.kind == "c"
        s2 = s * s
        e = s2.unsqueeze(-2) - s2.unsqueeze(-1)
        eye = Tensor._new(get_array_module(s._data).eye(s.shape[-1], dtype=bool))
        e = e.masked_fill(eye, 1.0)
        v = mH(vh)
        sd = diag_embed(_as(s, u))
        term = inner if inner is not None else 0.0
        extra = 0.0
        sinv = diag_embed(_as(1.0 / s, u))
        phase = 0.0
        if gu is not None:
            uhgu = mH(u) @ gu
            term = term + ((uhgu - mH(uhgu)) / e) @ sd
            if cplx:
                phase = diagonal(uhgu, 0, -2, -1).imag
            if u.shape[-2] > u.shape[-1]:
                extra = extra + (gu - u @ uhgu) @ sinv @ vh
        if gvh is not None:
            gv = mH(gvh)
            vhgv = vh @ gv
            term = term + sd @ ((vhgv - mH(vhgv)) / e)
            if cplx:
                check = phase + diagonal(vhgv, 0, -2, -1).imag
                check_phase_invariant(check._data, _SVD_GAUGE_TOL, _SVD_GAUGE)
            if v.shape[-2] > v.shape[-1]:
                extra = extra + u @ sinv @ mH(gv - v @ vhgv)
        elif cplx:
            check_phase_invariant(phase._data, _SVD_GAUGE_TOL, _SVD_GAUGE)
        if cplx and gu is not None and gvh is not None:
            # U's share of the fixed phase; PyTorch drops it when Vh is unused (measured)
            term = term + diag_embed(phase / s) * 1j
        return u @ term @ vh + extra

    @staticmethod
    def jvp(ctx, t, _):
        # P = U^H dA V over the first k columns; the module docstring's differentials, with
        # the phase of each pair split evenly, i Im diag(P) / (2S) to U and minus it to V
        # (PyTorch's forward-mode gauge, measured); U's / Vh's extra columns / rows of a
        # full_matrices SVD get a zero tangent, as in PyTorch
        u, s, vh = ctx.out
        xp = get_array_module(t)
        k = s.shape[-1]
        uk, vk = u[..., :k], xp.conj(xp.swapaxes(vh[..., :k, :], -1, -2))
        uh, th = xp.conj(xp.swapaxes(uk, -1, -2)), xp.conj(xp.swapaxes(t, -1, -2))
        p = uh @ t @ vk
        ph = xp.conj(xp.swapaxes(p, -1, -2))
        sr = s[..., None, :]  # S on the right: columns scaled
        sl = s[..., :, None]  # S on the left: rows scaled
        f = _inverse_gaps(s)
        du_inner = f * (p * sr + sl * ph)
        dv_inner = f * (sl * p + ph * sr)
        eye = xp.eye(k, dtype=bool)
        with errstate(xp, divide="ignore", invalid="ignore"):
            if p.dtype.kind == "c":
                half = 1j * xp.diagonal(p, 0, -2, -1).imag / (2 * s)
                du_inner = du_inner + xp.where(eye, half[..., None, :], 0)
                dv_inner = dv_inner - xp.where(eye, half[..., None, :], 0)
            du = uk @ du_inner
            dv = vk @ dv_inner
            if uk.shape[-2] > k:  # tall: (I - U U^H) dA V S^-1
                du = du + (t @ vk - uk @ p) / sr
            if vk.shape[-2] > k:  # wide: (I - V V^H) dA^H U S^-1
                dv = dv + (th @ uk - vk @ ph) / sr
        dvh = xp.conj(xp.swapaxes(dv, -1, -2))
        if u.shape[-1] > k:
            du = xp.concatenate([du, xp.zeros_like(u[..., k:])], axis=-1)
        if vh.shape[-2] > k:
            dvh = xp.concatenate([dvh, xp.zeros_like(vh[..., k:, :])], axis=-2)
        return du, _real_diag(p), dvh


def _inverse_gaps(s):
    """F[..., i, j] = 1 / (s_j^2 - s_i^2) off the diagonal, 0 on it (inf where repeated)."""
    xp = get_array_module(s)
    s2 = s * s
    gap = s2[..., None, :] - s2[..., :, None]
    eye = xp.eye(s.shape[-1], dtype=bool)
    with errstate(xp, divide="ignore"):
        return xp.where(eye, 0.0, 1.0 / xp.where(eye, 1.0, gap)).astype(s.dtype)


def _real_diag(p):
    """Re diag(p) over the last two axes, a fresh array."""
    d = get_array_module(p).diagonal(p, 0, -2, -1)
    return (d.real if d.dtype.kind == "c" else d).copy()


def _as(x: Tensor, like: Tensor) -> Tensor:
    """``x`` (real singular values) in ``like``'s dtype, for products with complex U, V."""
    return x if x.dtype == like.dtype else x.to(like.dtype)


SVDResult = return_types.linalg_svd  # torch.return_types.linalg_svd


@with_out("linalg.svd")
@autocast_float32_op
def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None) -> SVDResult:
    """A = U diag(S) Vh with singular values S in descending order (real or complex ``A``;
    S is real).

    ``full_matrices=True`` on a non-square matrix gives the square U and Vh; as in PyTorch,
    the gradient of their columns / rows beyond ``min(m, n)`` is ignored.

    Raises:
        NotImplementedError: ``driver`` given.
    """
    if driver is not None:
        raise NotImplementedError(
            "linalg.svd: driver= selects a cuSOLVER routine; it is not "
            "supported on chainrule's CPU backend"
        )
    if type(full_matrices) is not bool:  # PyTorch's parser: a Python bool only
        raise TypeError(
            "linalg_svd(): argument 'full_matrices' must be bool, not "
            f"{torch_type_name(full_matrices)}"
        )
    a = check_float(A, "linalg.svd", complex_ok=True)
    u, s, vh = SVD.apply(a, bool(full_matrices) and a.shape[-1] != a.shape[-2])
    given(u, full_matrices=bool(full_matrices))  # grad_fn._saved_full_matrices as given
    return SVDResult(u, s, vh)


class SVDVals(Function):
    """Singular values alone (no U, Vh): for a constant ``A`` and for forward mode, whose
    rule needs the primal ``A``. An ``A`` that wants a gradient goes through :class:`SVD`.
    ``dS = Re diag(U^H dA V)``, so its rule ``U diag(gS) V^H`` holds for complex ``A`` too."""

    raw = True
    node_name = "LinalgSvdBackward0"  # PyTorch's name for the node
    complex_grad = True

    @staticmethod
    def forward(ctx, a):
        s = _lapack_svd(a, None)
        ctx.save_for_backward(a)
        return s

    @staticmethod
    def backward(ctx, gs):
        (a,) = ctx.saved_tensors
        u, _, vh = SVD.apply(a, False)  # differentiable in A, so double backward is exact
        return u @ diag_embed(_as(gs, u)) @ vh

    @staticmethod
    def jvp(ctx, t):
        a = ctx.primals[0]
        xp = get_array_module(a)
        u, _, vh = xp.linalg.svd(a, full_matrices=False)
        uh = xp.conj(xp.swapaxes(u, -1, -2))
        ds = xp.diagonal(uh @ t @ xp.conj(xp.swapaxes(vh, -1, -2)), 0, -2, -1)
        return ds.real if ds.dtype.kind == "c" else ds


@with_out("linalg.svdvals")
@autocast_float32_op
def svdvals(A: Tensor, *, driver: str | None = None) -> Tensor:
    """The singular values of ``A`` (real or complex) in descending order.

    When ``A`` wants a gradient this is PyTorch's path: one SVD with U and Vh, whose node
    keeps U, S, Vh (not ``A``, which may then be modified in place) and whose rule,
    U diag(gS) Vh, is differentiated again through that same node (exact double backward).
    """
    if driver is not None:
        raise NotImplementedError("linalg.svdvals: driver= is not supported on the CPU backend")
    a = check_float(A, "linalg.svdvals", complex_ok=True)
    if a.requires_grad and is_grad_enabled() and a._fw_tangent is None:
        return SVD.apply(a, False)[1]
    return SVDVals.apply(a)
