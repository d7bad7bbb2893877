"""``cr.linalg``: PyTorch's ``torch.linalg`` on NumPy/LAPACK, differentiable where PyTorch is.

Inverses and systems (``inv``, ``solve``, ``det``, ``slogdet``, ``matrix_power``), decompositions
(``cholesky``, ``qr``, ``eigh``, ``eigvalsh``, ``svd``, ``svdvals``), norms (``vector_norm``,
``matrix_norm``, ``norm``), ``pinv``, ``lstsq``, ``matrix_rank``, ``cross``, and the matrix
products re-exported from ``cr`` (``matmul``, ``vecdot``-style helpers live on Tensor).
Singular or non-positive-definite input raises :class:`LinAlgError` (a ``RuntimeError``).
"""

from __future__ import annotations

from ..ops.linalg import matmul
from ..ops.structural import diagonal
from ._common import LinAlgError
from .decompositions import cholesky, eigh, eigvalsh, qr, svd, svdvals
from .norms import lstsq, matrix_norm, matrix_rank, norm, pinv, vector_norm
from .solve import cross, det, inv, matrix_power, slogdet, solve

__all__ = [
    "LinAlgError",
    "cholesky",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vector_norm",
]
