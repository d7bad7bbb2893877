"""``cr.linalg``: PyTorch's ``torch.linalg`` on NumPy/LAPACK, differentiable where PyTorch is.

Inverses and systems (``inv``, ``solve``, ``solve_triangular``, ``det``, ``slogdet``,
``matrix_power``, ``matrix_exp``), decompositions (``cholesky``, ``cholesky_ex``, ``lu``,
``lu_factor``, ``lu_factor_ex`` with ``lu_solve``, ``qr``, ``eigh``, ``eigvalsh``, ``svd``,
``svdvals``), norms (``vector_norm``, ``matrix_norm``, ``norm``), ``pinv``, ``lstsq``,
``matrix_rank``, ``cross``, ``multi_dot``, ``matmul`` (re-exported from ``cr``); in
``extras.py`` ``vecdot``, ``vander``, ``tensorinv``, ``tensorsolve``, ``inv_ex``,
``solve_ex``, ``cond``, ``householder_product``; ``eig``/``eigvals`` (complex results,
differentiable: ``eig.py``, rules in ``eig_grad.py``) and
``ldl_factor``/``ldl_factor_ex``/``ldl_solve`` (``ldl.py``, Hermitian kernels in
``ldl_complex.py``).
Singular or non-positive-definite input raises :class:`LinAlgError` (a ``RuntimeError``).

Complex matrices are taken everywhere, ``ldl_*`` included (complex symmetric with
``hermitian=False``, Hermitian with ``hermitian=True``); their gradients follow PyTorch's
conjugate convention (``svd.py`` and ``pseudo_inverse.py`` hold the SVD and ``pinv`` rules).
"""

from __future__ import annotations

from .._package_dir import package_dir as _package_dir
from ..ops.linalg import matmul
from ..ops.linalg_aliases import matrix_exp
from ._common import LinAlgError
from .chains import multi_dot
from .cross_product import cross
from .decompositions import cholesky, eigh, eigvalsh, qr, svd, svdvals
from .eig import eig, eigvals
from .extras import (
    cond,
    diagonal,
    householder_product,
    inv_ex,
    solve_ex,
    tensorinv,
    tensorsolve,
    vander,
    vecdot,
)
from .keyword_names import tol_positional as _tol_positional
from .keyword_names import torch_keywords as _torch_keywords
from .ldl import ldl_factor, ldl_factor_ex, ldl_solve
from .lu import lu, lu_factor, lu_factor_ex, lu_solve
from .norms import lstsq, matrix_norm, matrix_rank, norm, pinv, vector_norm
from .solve import det, inv, matrix_power, slogdet, solve
from .triangular import cholesky_ex, solve_triangular

__all__ = [
    "LinAlgError",
    "cholesky",
    "cholesky_ex",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "householder_product",
    "inv",
    "inv_ex",
    "ldl_factor",
    "ldl_factor_ex",
    "ldl_solve",
    "lstsq",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "matmul",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "vector_norm",
]

# PyTorch's keyword names (its parser's, not its documentation's ``A``): keyword_names.py
_INPUT = {"input": "A"}
cholesky = _torch_keywords(cholesky, _INPUT)
cholesky_ex = _torch_keywords(cholesky_ex, _INPUT)
cond = _torch_keywords(cond, _INPUT)
eig = _torch_keywords(eig, _INPUT)
eigh = _torch_keywords(eigh, _INPUT)
eigvals = _torch_keywords(eigvals, _INPUT)
eigvalsh = _torch_keywords(eigvalsh, _INPUT)
householder_product = _torch_keywords(householder_product, _INPUT)
ldl_factor = _torch_keywords(ldl_factor, _INPUT)
ldl_factor_ex = _torch_keywords(ldl_factor_ex, _INPUT)
lstsq = _torch_keywords(lstsq, {"input": "A", "b": "B"})
matrix_norm = _torch_keywords(matrix_norm, {**_INPUT, "dim": "dim", "keepdim": "keepdim"})
matrix_power = _torch_keywords(matrix_power, _INPUT)
matrix_rank = _tol_positional(_torch_keywords(matrix_rank, _INPUT))
pinv = _torch_keywords(pinv, _INPUT)
solve_triangular = _torch_keywords(solve_triangular, _INPUT)
tensorinv = _torch_keywords(tensorinv, _INPUT)
tensorsolve = _torch_keywords(tensorsolve, {"input": "A", "other": "B"})
vector_norm = _torch_keywords(vector_norm, {"input": "x", "dim": "dim", "keepdim": "keepdim"})
cross = _torch_keywords(cross, {"input": "input", "other": "other"})
norm = _torch_keywords(norm, {"input": "input", "dim": "dim", "keepdim": "keepdim"})
vecdot = _torch_keywords(vecdot, {"dim": "dim"})
del _INPUT

# dir(): the public names, not the submodules importing binds (see _package_dir)
__dir__ = _package_dir(globals())
