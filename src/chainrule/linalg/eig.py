"""``torch.linalg.eig`` and ``torch.linalg.eigvals``: the eigen-decomposition of general
(non-Hermitian) real or complex square matrices, through LAPACK's ``geev`` (NumPy's
``linalg.eig``, the routine PyTorch calls).

As in PyTorch the results are always complex (``complex128`` for float64 and complex128
input, ``complex64`` for float32 and complex64), even where every eigenvalue is real;
eigenvectors have unit 2-norm (LAPACK's normalisation). chainrule has no complex autograd
rule for ``eig``, so -- a deliberate, documented limitation -- these functions are not
differentiable: called on a tensor that requires grad (with grad mode on) or that carries a
forward-mode tangent they raise ``NotImplementedError`` instead of returning a result that
silently carries no gradient. For Hermitian matrices ``linalg.eigh`` / ``linalg.eigvalsh``
are differentiable.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autograd import grad_mode
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.linalg_out import with_out
from ._common import check_square

__all__ = ["eig", "eigvals"]


class EigResult(NamedTuple):
    """``torch.linalg.eig``'s result."""

    eigenvalues: Tensor
    eigenvectors: Tensor


def _decompose(A: Tensor, op: str, vectors: bool) -> tuple:
    a = check_square(A, op, complex_ok=True)
    if (grad_mode.is_grad_enabled() and a.requires_grad) or a._fw_tangent is not None:
        raise NotImplementedError(
            f"{op}: gradients of the complex eigen-decomposition are not supported "
            "(chainrule has no complex autograd rule for eig); call it on A.detach() or under "
            "cr.no_grad(), or use linalg.eigh for symmetric matrices"
        )
    data = a._data
    xp = get_array_module(data)
    if not xp.isfinite(data).all():
        raise RuntimeError(f"{op}: input tensor should not contain infs or NaNs.")
    ctype = np.complex64 if data.dtype in (np.float32, np.complex64) else np.complex128
    try:
        if vectors:
            w, v = xp.linalg.eig(data)
        else:
            w, v = xp.linalg.eigvals(data), None
    except np.linalg.LinAlgError as err:  # geev's QR iteration failed to converge
        raise RuntimeError(f"{op}: the algorithm failed to converge ({err})") from None
    w = Tensor._make(xp.ascontiguousarray(w.astype(ctype)), False, None, 0)
    if v is not None:
        v = Tensor._make(xp.ascontiguousarray(v.astype(ctype)), False, None, 0)
    return w, v


@with_out("linalg.eig", "castable")
def eig(A: Tensor) -> EigResult:
    """``(eigenvalues, eigenvectors)`` of each square matrix in ``A`` (..., n, n): complex
    ``L`` (..., n) and ``V`` (..., n, n) with ``A V = V diag(L)``, columns of unit norm.
    Not differentiable in chainrule (see the module docstring)."""
    w, v = _decompose(A, "linalg.eig", True)
    return EigResult(w, v)


@with_out("linalg.eigvals", "castable")
def eigvals(A: Tensor) -> Tensor:
    """The complex eigenvalues (..., n) of each square matrix in ``A`` (..., n, n), in
    LAPACK's order. Not differentiable in chainrule (see the module docstring)."""
    return _decompose(A, "linalg.eigvals", False)[0]
