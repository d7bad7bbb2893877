"""``cr.return_types``: the named result tuples of PyTorch's multi-output functions.

``x.max(dim)`` returns ``return_types.max(values, indices)``, ``cr.linalg.slogdet`` returns
``return_types.linalg_slogdet(sign, logabsdet)``, and so on: one type per function, named
after it and with its fields in PyTorch's order, as ``torch.return_types`` has them. Each is
a tuple (unpacking and indexing work) with named fields, prints as PyTorch prints it
(``torch.return_types.max(\\nvalues=...,\\nindices=...)``, as ``cr.Size`` prints
``torch.Size``), and pickles by name.
"""

from __future__ import annotations

from typing import Any, NamedTuple

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


class aminmax(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``aminmax``: (min, max)."""

    min: Any
    max: Any


class cummax(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``cummax``: (values, indices)."""

    values: Any
    indices: Any


class cummin(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``cummin``: (values, indices)."""

    values: Any
    indices: Any


class frexp(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``frexp``: (mantissa, exponent)."""

    mantissa: Any
    exponent: Any


class geqrf(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``geqrf``: (a, tau)."""

    a: Any
    tau: Any


class histogram(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``histogram``: (hist, bin_edges)."""

    hist: Any
    bin_edges: Any


class histogramdd(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``histogramdd``: (hist, bin_edges)."""

    hist: Any
    bin_edges: Any


class kthvalue(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``kthvalue``: (values, indices)."""

    values: Any
    indices: Any


class linalg_cholesky_ex(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_cholesky_ex``: (L, info)."""

    L: Any
    info: Any


class linalg_eig(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_eig``: (eigenvalues, eigenvectors)."""

    eigenvalues: Any
    eigenvectors: Any


class linalg_eigh(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_eigh``: (eigenvalues, eigenvectors)."""

    eigenvalues: Any
    eigenvectors: Any


class linalg_inv_ex(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_inv_ex``: (inverse, info)."""

    inverse: Any
    info: Any


class linalg_ldl_factor(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_ldl_factor``: (LD, pivots)."""

    LD: Any
    pivots: Any


class linalg_ldl_factor_ex(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_ldl_factor_ex``: (LD, pivots, info)."""

    LD: Any
    pivots: Any
    info: Any


class linalg_lstsq(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_lstsq``: (solution, residuals, rank, singular_values)."""

    solution: Any
    residuals: Any
    rank: Any
    singular_values: Any


class linalg_lu(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_lu``: (P, L, U)."""

    P: Any
    L: Any
    U: Any


class linalg_lu_factor(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_lu_factor``: (LU, pivots)."""

    LU: Any
    pivots: Any


class linalg_lu_factor_ex(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_lu_factor_ex``: (LU, pivots, info)."""

    LU: Any
    pivots: Any
    info: Any


class linalg_qr(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_qr``: (Q, R)."""

    Q: Any
    R: Any


class linalg_slogdet(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_slogdet``: (sign, logabsdet)."""

    sign: Any
    logabsdet: Any


class linalg_solve_ex(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_solve_ex``: (result, info)."""

    result: Any
    info: Any


class linalg_svd(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``linalg_svd``: (U, S, Vh)."""

    U: Any
    S: Any
    Vh: Any


class lu_unpack(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``lu_unpack``: (P, L, U)."""

    P: Any
    L: Any
    U: Any


class max(NamedTuple):  # noqa: N801, A001 - PyTorch's name
    """The result of ``max``: (values, indices)."""

    values: Any
    indices: Any


class median(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``median``: (values, indices)."""

    values: Any
    indices: Any


class min(NamedTuple):  # noqa: N801, A001 - PyTorch's name
    """The result of ``min``: (values, indices)."""

    values: Any
    indices: Any


class mode(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``mode``: (values, indices)."""

    values: Any
    indices: Any


class nanmedian(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``nanmedian``: (values, indices)."""

    values: Any
    indices: Any


class qr(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``qr``: (Q, R)."""

    Q: Any
    R: Any


class slogdet(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``slogdet``: (sign, logabsdet)."""

    sign: Any
    logabsdet: Any


class sort(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``sort``: (values, indices)."""

    values: Any
    indices: Any


class svd(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``svd``: (U, S, V)."""

    U: Any
    S: Any
    V: Any


class topk(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``topk``: (values, indices)."""

    values: Any
    indices: Any


class triangular_solve(NamedTuple):  # noqa: N801 - PyTorch's name
    """The result of ``triangular_solve``: (solution, cloned_coefficient)."""

    solution: Any
    cloned_coefficient: Any


for _name in __all__:  # each prints as PyTorch prints its own
    globals()[_name].__repr__ = _repr
