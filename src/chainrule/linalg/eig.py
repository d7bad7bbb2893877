"""``torch.linalg.eig`` and ``torch.linalg.eigvals``: the eigen-decomposition of general
(non-Hermitian) real or complex square matrices, through LAPACK's ``geev`` (NumPy's
``linalg.eig``, the routine PyTorch calls).

As in PyTorch the results are always complex (``complex128`` for float64 and complex128
input, ``complex64`` for float32 and complex64), even where every eigenvalue is real;
eigenvectors have unit 2-norm (LAPACK's normalisation). Both functions are differentiable in
reverse and forward mode, and their backward can be differentiated again (the rules and
their derivation: ``eig_grad.py``); a real input gets a real gradient (the real part, as
PyTorch gives). As in PyTorch, the eigenvectors are defined up to a phase each: a loss that
depends on those phases raises in backward, and repeated eigenvalues give non-finite
gradients through the eigenvectors (the eigenvalues' alone stay finite). ``eigvals``
computes the eigenvectors too when a gradient or a tangent is wanted (its derivative needs
them), and only the eigenvalues otherwise.
"""

from __future__ import annotations

from .. import return_types
from ..autograd import grad_mode
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.linalg_out import with_out
from ._common import check_square
from ._vmap_per_sample import per_sample_under_vmap
from .eig_grad import Eig, eig_arrays

__all__ = ["eig", "eigvals"]


EigResult = return_types.linalg_eig  # torch.return_types.linalg_eig


def _decompose(A: Tensor, op: str, vectors: bool) -> tuple:
    a = check_square(A, op, complex_ok=True)
    data = a._data
    if not get_array_module(data).isfinite(data).all():
        raise RuntimeError(f"{op}: input tensor should not contain infs or NaNs.")
    if (grad_mode.is_grad_enabled() and a.requires_grad) or a._fw_tangent is not None:
        w, v = Eig.apply(a, op)
        return w, v
    w, v = eig_arrays(data, op, vectors)
    w = Tensor._make(w, False, None, 0)
    if v is not None:
        v = Tensor._make(v, False, None, 0)
    return w, v


@with_out("linalg.eig", "castable")
@autocast_float32_op
@per_sample_under_vmap
def eig(A: Tensor) -> EigResult:
    """``(eigenvalues, eigenvectors)`` of each square matrix in ``A`` (..., n, n): complex
    ``L`` (..., n) and ``V`` (..., n, n) with ``A V = V diag(L)``, columns of unit norm.
    Differentiable; a loss through ``V`` must not depend on each column's phase (see the
    module docstring)."""
    w, v = _decompose(A, "linalg.eig", True)
    return EigResult(w, v)


@with_out("linalg.eigvals", "castable")
@autocast_float32_op
@per_sample_under_vmap
def eigvals(A: Tensor) -> Tensor:
    """The complex eigenvalues (..., n) of each square matrix in ``A`` (..., n, n), in
    LAPACK's order. Differentiable (gradient ``V^-H diag(gL) V^H``, see ``eig_grad.py``)."""
    return _decompose(A, "linalg.eigvals", False)[0]
