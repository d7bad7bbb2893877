"""``cr.return_types``: the named result tuples of PyTorch's multi-output functions.

``x.max(dim)`` returns ``return_types.max(values, indices)``, ``cr.linalg.slogdet`` returns
``return_types.linalg_slogdet(sign, logabsdet)``, and so on: one type per function, named
after it and with its fields in PyTorch's order, as ``torch.return_types`` has them. Each is
a tuple (unpacking and indexing work) with named fields, prints as PyTorch prints it
(``torch.return_types.max(\\nvalues=...,\\nindices=...)``, as ``cr.Size`` prints
``torch.Size``), and pickles by name.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

__all__ = [
    "aminmax",
    "cummax",
    "cummin",
    "frexp",
    "geqrf",
    "histogram",
    "histogramdd",
    "kthvalue",
    "linalg_cholesky_ex",
    "linalg_eig",
    "linalg_eigh",
    "linalg_inv_ex",
    "linalg_ldl_factor",
    "linalg_ldl_factor_ex",
    "linalg_lstsq",
    "linalg_lu",
    "linalg_lu_factor",
    "linalg_lu_factor_ex",
    "linalg_qr",
    "linalg_slogdet",
    "linalg_solve_ex",
    "linalg_svd",
    "lu_unpack",
    "max",
    "median",
    "min",
    "mode",
    "nanmedian",
    "qr",
    "slogdet",
    "sort",
    "svd",
    "topk",
    "triangular_solve",
]


def _repr(self: Any) -> str:
    body = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
    return f"torch.return_types.{type(self).__name__}(\n{body})"


def _structseq(name: str, *fields: str) -> type:
    """A named tuple type called ``name`` with ``fields``, living in this module."""
    cls = namedtuple(name, fields)  # noqa: PYI024 - a namedtuple made from data
    cls.__module__ = __name__
    cls.__qualname__ = name
    cls.__repr__ = _repr  # type: ignore[method-assign]
    cls.__doc__ = f"The result of ``{name}``: ({', '.join(fields)})."
    return cls


aminmax = _structseq("aminmax", "min", "max")
cummax = _structseq("cummax", "values", "indices")
cummin = _structseq("cummin", "values", "indices")
frexp = _structseq("frexp", "mantissa", "exponent")
geqrf = _structseq("geqrf", "a", "tau")
histogram = _structseq("histogram", "hist", "bin_edges")
histogramdd = _structseq("histogramdd", "hist", "bin_edges")
kthvalue = _structseq("kthvalue", "values", "indices")
linalg_cholesky_ex = _structseq("linalg_cholesky_ex", "L", "info")
linalg_eig = _structseq("linalg_eig", "eigenvalues", "eigenvectors")
linalg_eigh = _structseq("linalg_eigh", "eigenvalues", "eigenvectors")
linalg_inv_ex = _structseq("linalg_inv_ex", "inverse", "info")
linalg_ldl_factor = _structseq("linalg_ldl_factor", "LD", "pivots")
linalg_ldl_factor_ex = _structseq("linalg_ldl_factor_ex", "LD", "pivots", "info")
linalg_lstsq = _structseq("linalg_lstsq", "solution", "residuals", "rank", "singular_values")
linalg_lu = _structseq("linalg_lu", "P", "L", "U")
linalg_lu_factor = _structseq("linalg_lu_factor", "LU", "pivots")
linalg_lu_factor_ex = _structseq("linalg_lu_factor_ex", "LU", "pivots", "info")
linalg_qr = _structseq("linalg_qr", "Q", "R")
linalg_slogdet = _structseq("linalg_slogdet", "sign", "logabsdet")
linalg_solve_ex = _structseq("linalg_solve_ex", "result", "info")
linalg_svd = _structseq("linalg_svd", "U", "S", "Vh")
lu_unpack = _structseq("lu_unpack", "P", "L", "U")
max = _structseq("max", "values", "indices")  # noqa: A001 - PyTorch's name
median = _structseq("median", "values", "indices")
min = _structseq("min", "values", "indices")  # noqa: A001 - PyTorch's name
mode = _structseq("mode", "values", "indices")
nanmedian = _structseq("nanmedian", "values", "indices")
qr = _structseq("qr", "Q", "R")
slogdet = _structseq("slogdet", "sign", "logabsdet")
sort = _structseq("sort", "values", "indices")
svd = _structseq("svd", "U", "S", "V")
topk = _structseq("topk", "values", "indices")
triangular_solve = _structseq("triangular_solve", "solution", "cloned_coefficient")
