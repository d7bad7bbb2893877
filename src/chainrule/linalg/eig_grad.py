"""The derivative of the general (non-Hermitian) eigen-decomposition behind ``linalg.eig`` and
``linalg.eigvals``: the ``Eig`` Function and the LAPACK call it shares with the no-grad path.

For a diagonalisable ``A`` (real or complex) with ``A V = V diag(w)``, distinct eigenvalues
and unit-norm columns in ``V``, differentiate the identity: ``dA V + A dV = dV diag(w) +
V diag(dw)``. With ``C = V^-1 dA V`` and ``X = V^-1 dV`` this reads ``C + diag(w) X =
X diag(w) + diag(dw)``, so

    dw   = diag(C)
    X_ij = C_ij / (w_j - w_i) = (E * C)_ij  for i != j     (E_ij = 1 / (w_j - w_i), E_ii = 0)

and the diagonal of ``X`` is not fixed by the identity: each eigenvector may also grow or
turn (``v_i -> v_i (1 + a_i)``). The unit norm fixes the growth, ``Re(v_i^H dv_i) = 0``;
the phase stays free, and (as PyTorch does, checked by running ``torch.func.jvp``) the
tangent takes a real diagonal ``D``:

    dV = V (E * C + diag(D)),   D = -Re diag(V^H V (E * C))

The reverse rule is the adjoint of that map in PyTorch's convention (the gradient of a real
loss with respect to ``z = x + iy`` is ``dL/dx + i dL/dy``; ``dL = Re tr(g^H dz)``). With
``M = V^H gV``:

    gA = V^-H (diag(gw) + conj(E) * (M - V^H V diag(Re diag(M)))) V^H

A real ``A`` gets the real part (the engine takes it where a complex gradient reaches a real
input, as PyTorch returns it). The term ``V^H V diag(Re diag M)`` is the normalisation's
projection; ``Im diag(M)`` is what the loss gains by turning an eigenvector's phase, which
the decomposition does not define. PyTorch refuses such a loss when ``max |Im diag(M)| >
1e-2`` (an absolute bound, found by running torch 2.13 on losses with a growing phase
dependence, the same for every scale of the loss and for complex64), so ``Eig`` raises there
too and otherwise drops ``Im diag(M)``, as torch's gradient does.

Repeated eigenvalues make ``E`` infinite: a loss through ``V`` then gets non-finite
gradients, as in PyTorch, while a loss through ``w`` alone (``eigvals``, or ``eig`` with
``V`` unused) keeps the finite rule ``V^-H diag(gw) V^H``. The backward is written with
differentiable Tensor ops (``solve``, products, ``conj``), so it can be differentiated again.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import errstate, get_array_module
from ..meta.array import MetaArray, follow
from ..ops._result_layout import column_major  # LAPACK's layout, PyTorch's
from ..ops.complex_ops import conj
from ..ops.structural import diag_embed, diagonal
from ._common import mH
from .solve import solve

__all__ = ["Eig", "PHASE_BOUND", "eig_arrays"]

# PyTorch's bound on max |Im diag(V^H gV)| above which a loss depends on the phases
PHASE_BOUND = 1e-2

_EIG_GAUGE = (
    "linalg_eig_backward: The eigenvectors in the complex case are specified up to "
    "multiplication by e^{i phi}. The specified loss function depends on this quantity, so "
    "it is ill-defined."
)


def eig_arrays(a, op: str, vectors: bool) -> tuple:
    """LAPACK's ``geev`` on the array ``a`` (..., n, n): the eigenvalues and, with
    ``vectors``, the unit-norm eigenvectors (else None), complex as in PyTorch (complex64 for
    float32/complex64 input, complex128 otherwise), the vectors column-major (LAPACK's).

    Raises:
        RuntimeError: the QR iteration did not converge.
    """
    xp = get_array_module(a)
    ctype = np.complex64 if a.dtype in (np.float32, np.complex64) else np.complex128
    try:
        if vectors:
            w, v = xp.linalg.eig(a)
        else:
            w, v = xp.linalg.eigvals(a), None
    except np.linalg.LinAlgError as err:  # geev's QR iteration failed to converge
        raise RuntimeError(f"{op}: the algorithm failed to converge ({err})") from None
    w = follow(xp.ascontiguousarray(w.astype(ctype)), a)  # (meta a: meta results)
    if v is not None:
        v = follow(column_major(v.astype(ctype)), a)
    return w, v


def _e_array(w):
    """E[..., i, j] = 1 / (w_j - w_i) off the diagonal, 0 on it (inf where w_i = w_j)."""
    xp = get_array_module(w)
    eye = xp.eye(w.shape[-1], dtype=bool)
    diff = w[..., None, :] - w[..., :, None]
    with errstate(xp, divide="ignore", invalid="ignore"):
        return xp.where(eye, 0, 1 / xp.where(eye, 1, diff)).astype(w.dtype)


def _e_tensor(w: Tensor) -> Tensor:
    """:func:`_e_array` with Tensor ops (differentiable in ``w``, for double backward)."""
    eye = Tensor._new(follow(get_array_module(w._data).eye(w.shape[-1], dtype=bool), w._data))
    diff = w.unsqueeze(-2) - w.unsqueeze(-1)
    return (1 / diff.masked_fill(eye, 1)).masked_fill(eye, 0)


def _absent_if_zero(g: Tensor | None) -> Tensor | None:
    """None for a constant all-zero gradient (an unused output, which the engine fills with
    zeros), as PyTorch's undefined gradient: then a loss of the eigenvalues alone keeps the
    finite rule at repeated eigenvalues. A zero gradient that carries a graph is kept."""
    if g is None or g.requires_grad or type(g._data) is MetaArray or g._data.any():
        return g
    return None


def _check_phase(v: Tensor, gv: Tensor) -> None:
    """Raise PyTorch's error where the loss moves with an eigenvector's phase."""
    vd, gd = v._data, gv._data
    xp = get_array_module(vd)
    m_diag = xp.einsum("...ij,...ij->...j", xp.conj(vd), gd)  # diag(V^H gV)
    drift = xp.abs(m_diag.imag)
    worst = float(drift.max()) if drift.size else 0.0  # (CuPy's max has no initial=)
    if not worst <= PHASE_BOUND:  # a NaN counts as phase-dependent: torch raises there too
        raise RuntimeError(
            f"{_EIG_GAUGE} (max |Im diag(V^H gV)| = {worst:.3g} > {PHASE_BOUND:g}: use a loss "
            "that no eigenvector's phase changes, e.g. one of V.abs() or of the eigenvalues)"
        )


class Eig(Function):
    """``(w, V)`` of a general square matrix (the rules of the module docstring)."""

    raw = True
    complex_grad = True  # written in PyTorch's conjugate convention
    node_name = "LinalgEigBackward0"  # PyTorch's node name (for eig and for eigvals)
    saved_fields = {"eigenvalues": 0, "eigenvectors": 1}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, a, op):
        w, v = eig_arrays(a, op, True)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved_tensors
        gv = _absent_if_zero(gv)
        vh = mH(v)
        if gw is None:
            inner = None
        else:
            inner = diag_embed(gw if gw.dtype == v.dtype else gw.to(v.dtype))
        if gv is not None:
            _check_phase(v, gv)
            m = vh @ gv
            d = diagonal(m, 0, -2, -1).real.to(v.dtype)
            proj = m - (vh @ v) * d.unsqueeze(-2)  # V^H V diag(d): column j scaled by d_j
            term = conj(_e_tensor(w)) * proj
            inner = term if inner is None else inner + term
        if inner is None:
            return None, None
        return solve(vh, inner @ vh), None

    @staticmethod
    def jvp(ctx, t, _):
        w, v = ctx.out
        xp = get_array_module(v)
        with errstate(xp, divide="ignore", invalid="ignore", over="ignore"):
            c = xp.linalg.solve(v, t.astype(v.dtype) @ v)  # V^-1 dA V
            dw = xp.diagonal(c, 0, -2, -1).copy()
            vx = v @ (_e_array(w) * c)
            d = -xp.einsum("...ij,...ij->...j", xp.conj(v), vx).real  # -Re diag(V^H V X)
            dv = vx + v * d[..., None, :].astype(v.dtype)
        return dw, dv
