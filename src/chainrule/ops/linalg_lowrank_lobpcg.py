"""``lobpcg``: k extreme eigenpairs of a symmetric positive-definite (generalized) problem
``A x = lambda B x`` by torch's LOBPCG with orthogonal basis selection (``method="ortho"``,
torch's default; Knyazev 2001, Stathopoulos & Wu 2002, Duersch et al. 2018).

The iteration is torch's ``torch/_lobpcg.py`` worker step for step, in NumPy on each matrix
of a batch (``linalg_lowrank_lobpcg_ortho.py``). Starting vectors are drawn from chainrule's
seeded default generator, so results equal torch's eigenvalues (and eigenvectors up to sign)
to the tolerance, not bit for bit.

Derivative (``B`` must be None, as in torch): for A's symmetric part and an eigenpair
``(d_i, u_i)`` of the k found, ``du_i = sum_j u_j (u_j^T dA u_i) / (d_i - d_j)`` over *all*
eigenvectors; the part inside ``span(U)`` is eigh's formula ``U (F * U^T dA U)``, the part
outside is ``-P (A - d_i)^+ P dA u_i`` with ``P = I - U U^T``, computed without the other
eigenvectors as ``P M_i^-1 P dA u_i``, ``M_i = A - U D U^T - d_i P + U U^T`` (equal to
``A - d_i`` on the complement and to I on ``span(U)``). Backward writes this with
differentiable ops (solve, matmul), so it can be differentiated again; forward mode uses
the same rule. torch computes the same gradient by a polynomial Sylvester solve.

Not supported (``NotImplementedError``): ``method="basic"`` (torch runs it for any method
name other than "ortho") and ``tracker``. ``iK`` is accepted and, exactly as in torch's
"ortho" method, not used (torch applies the preconditioner only in its "basic" method).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..linalg._common import mT, sym
from ..linalg.solve import solve
from ..ops.structural import diag_embed
from ._util import DtypeError, as_tensor
from .linalg_lowrank_lobpcg_ortho import run_ortho

__all__ = ["lobpcg"]

_FEPS = {np.dtype(np.float32): 1.2e-07, np.dtype(np.float64): 2.23e-16}


def _outside_solve(a: Any, d: Any, u: Any, rhs: Any) -> Any:
    """Column i: ``P M_i^-1 P rhs_i`` (NumPy; see the module docstring)."""
    m = a.shape[-1]
    eye = np.eye(m, dtype=a.dtype)
    uut = u @ np.swapaxes(u, -1, -2)
    proj = eye - uut
    base = a - (u * d[..., None, :]) @ np.swapaxes(u, -1, -2) + uut
    mats = base[..., None, :, :] - d[..., :, None, None] * proj[..., None, :, :]
    cols = np.swapaxes(proj @ rhs, -1, -2)[..., None]  # (..., k, m, 1)
    y = np.linalg.solve(mats, cols)[..., 0]
    return proj @ np.swapaxes(y, -1, -2)


class LOBPCGFn(Function):
    """The k eigenpairs; derivative as in the module docstring (B = None only)."""

    raw = True

    @staticmethod
    def forward(ctx, a, b, x, k, n, iparams, fparams, bparams):
        e, v = run_ortho(a, b, x, k, n, iparams, fparams, bparams)
        ctx.save_for_backward(a, e, v)
        ctx.has_b = b is not None
        return e, v

    @staticmethod
    def backward(ctx, ge, gv):
        if ctx.has_b:
            raise ValueError("lobpcg.backward does not support backward with B != I yet.")
        a, d, u = ctx.saved_tensors
        ut = mT(u)
        inner = diag_embed(ge) if ge is not None else u.new_zeros(u.shape[:-2] + (d.shape[-1],) * 2)
        outside = None
        if gv is not None:
            k, m = d.shape[-1], a.shape[-1]
            eye = Tensor._new(np.eye(k, dtype=bool))
            diff = d.unsqueeze(-2) - d.unsqueeze(-1)
            f = (1.0 / diff.masked_fill(eye, 1.0)).masked_fill(eye, 0.0)
            inner = inner + f * (ut @ gv)  # inside span(U): eigh's rule
            uut = u @ ut
            proj = Tensor._new(np.eye(m, dtype=a._data.dtype)) - uut
            base = a - (u * d.unsqueeze(-2)) @ ut + uut
            mats = base.unsqueeze(-3) - d.unsqueeze(-1).unsqueeze(-1) * proj.unsqueeze(-3)
            cols = mT(proj @ gv).unsqueeze(-1)  # (..., k, m, 1): P gv_i
            outside = proj @ mT(solve(mats, cols).squeeze(-1)) @ ut
        grad = u @ inner @ ut
        if outside is not None:
            grad = grad - outside
        return sym(grad), None, None, None, None, None, None, None

    @staticmethod
    def jvp(ctx, ta, tb, tx, *_):
        if ctx.has_b:
            raise ValueError("lobpcg: forward-mode AD does not support B != I.")
        a = ctx.primals[0]
        d, u = ctx.out
        ut = np.swapaxes(u, -1, -2)
        t = 0.5 * (ta + np.swapaxes(ta, -1, -2))
        inner = ut @ t @ u
        de = np.diagonal(inner, 0, -2, -1).copy()
        diff = d[..., None, :] - d[..., :, None]
        k = d.shape[-1]
        eye = np.eye(k, dtype=bool)
        with np.errstate(divide="ignore"):
            f = np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, diff)).astype(d.dtype)
        du = u @ (f * inner) - _outside_solve(a, d, u, t @ u)
        return de, du


def _check(a: Tensor, b: Tensor | None, x: Tensor | None) -> None:
    for name, t in (("A", a), ("B", b), ("X", x)):
        if t is not None and t.dtype != a.dtype:
            raise RuntimeError(
                f"lobpcg: expected {name} to have A's dtype {a.dtype}, but got {t.dtype}"
            )
    if a.dtype not in _FEPS:
        raise DtypeError(
            f"lobpcg: A must be a float32 or float64 tensor (torch's lobpcg supports only "
            f"these), got {a.dtype}"
        )
    if a.ndim < 2 or a.shape[-2] != a.shape[-1]:
        raise AssertionError(f"lobpcg: A must be square, got shape {tuple(a.shape)}")
    if b is not None and tuple(a.shape) != tuple(b.shape):
        raise AssertionError(
            f"lobpcg: A and B must have same shape, got {tuple(a.shape)} vs {tuple(b.shape)}"
        )


def lobpcg(
    A: Tensor,  # noqa: N803 - torch's names
    k: int | None = None,
    B: Tensor | None = None,  # noqa: N803
    X: Tensor | None = None,  # noqa: N803
    n: int | None = None,
    iK: Tensor | None = None,  # noqa: N803
    niter: int | None = None,
    tol: float | None = None,
    largest: bool | None = None,
    method: str | None = None,
    tracker: None = None,
    ortho_iparams: dict[str, int] | None = None,
    ortho_fparams: dict[str, float] | None = None,
    ortho_bparams: dict[str, bool] | None = None,
) -> tuple[Tensor, Tensor]:
    """``(E, X)``: the ``k`` largest (``largest=False``: smallest) eigenvalues (``(*, k)``) and
    eigenvectors (``(*, m, k)``) of the symmetric positive-definite problem ``A x = l B x``
    (``B`` None: the identity), by LOBPCG with orthogonal basis selection (torch's "ortho").

    ``k`` defaults to X's column count or 1; ``n`` (the block size, >= k) to k, or X's
    column count when ``X`` (initial vectors, ``(*, m, n)``) is given, else X is drawn from
    the default generator. ``niter`` caps the iterations (default 1000; -1: until
    converged), ``tol`` is the relative residual (default ``sqrt(eps)``); ``ortho_*params``
    override the iteration's parameters as in torch. Requires ``m >= 3 n``. When ``A`` (or
    ``B``) requires grad, its symmetric part is used, so the gradient is symmetric; only
    ``B=None`` is differentiable, as in torch.

    Raises:
        NotImplementedError: ``method`` other than "ortho" (torch's "basic"), or a
            ``tracker``.
    """
    if method is not None and method != "ortho":
        raise NotImplementedError(
            f"lobpcg: method={method!r} (torch runs its 'basic' LOBPCG for it) is not "
            "supported by chainrule; use method='ortho' (the default)"
        )
    if tracker is not None:
        raise NotImplementedError(
            "lobpcg: tracker= (a callback given torch's LOBPCG worker object each step) is "
            "not supported by chainrule"
        )
    a = as_tensor(A)
    b = None if B is None else as_tensor(B)
    x = None if X is None else as_tensor(X)
    _check(a, b, x)
    if tol is None:
        tol = _FEPS[a.dtype] ** 0.5
    m = a.shape[-1]
    k = (1 if x is None else x.shape[-1]) if k is None else k
    n = (k if n is None else n) if x is None else x.shape[-1]
    if m < 3 * n:
        raise ValueError(
            f"LOBPCG algorithm is not applicable when the number of A rows (={m})"
            f" is smaller than 3 x the number of requested eigenpairs (={n})"
        )
    iparams = {"m": m, "n": n, "k": k, "niter": 1000 if niter is None else niter}
    fparams: dict[str, float] = {"tol": tol}
    bparams = {"largest": True if largest is None else largest}
    iparams.update(ortho_iparams or {})
    fparams.update(ortho_fparams or {})
    bparams.update(ortho_bparams or {})
    iparams.setdefault("ortho_i_max", 3)
    iparams.setdefault("ortho_j_max", 3)
    for key in ("ortho_tol", "ortho_tol_drop", "ortho_tol_replace"):
        fparams.setdefault(key, tol)
    bparams.setdefault("ortho_use_drop", False)
    if a.requires_grad or (b is not None and b.requires_grad) or a._fw_tangent is not None:
        a = (a + a.mT) / 2  # A's symmetric part, so that the gradient is symmetric (torch)
        b = (b + b.mT) / 2 if b is not None else None
    x_arg = None if x is None else x.detach()
    return LOBPCGFn.apply(a, b, x_arg, k, n, iparams, fparams, bparams)
