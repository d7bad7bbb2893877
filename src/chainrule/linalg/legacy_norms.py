"""PyTorch's deprecated top-level norms ``frobenius_norm`` and ``nuclear_norm`` (exported as
``cr.frobenius_norm`` / ``cr.nuclear_norm`` by ops/linalg_more.py).

    frobenius_norm(x, dim) = linalg.vector_norm(x, 2, dim)     (at most two dims; () all)
    nuclear_norm(x, dim)   = linalg.matrix_norm(x, 'nuc', dim) (default the last two dims)

Both warn (``UserWarning``) as PyTorch does; derivatives are those of ``linalg``'s norms.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd.saved_fields import given, given_dim  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..ops._util import NAMED_ERRORS, as_tensor, dim_range_error, lead_with, norm_dim
from ..ops.keywords import write_out
from ..ops.vector_norms import Norm2
from .norms import matrix_norm, vector_norm

__all__ = ["frobenius_norm", "nuclear_norm"]


def _out(op: str, result: Any, out: Any) -> Any:
    return result if out is None else write_out(op, result, out)


def _deprecated_norm(name: str, replacement: str) -> None:
    warnings.warn(
        f"{name} is deprecated and it is just left for JIT compatibility. It will be removed "
        f"in a future release. Please use `{replacement}` instead",
        UserWarning,
        stacklevel=3,
    )


def frobenius_norm(
    input: Tensor,  # noqa: A002
    dim: Any,
    keepdim: bool = False,
    *,
    out: Any = None,
) -> Tensor:
    """The 2-norm of ``input``'s entries over ``dim`` (at most two dims; ``()`` all of
    them): ``linalg.vector_norm(input, 2, dim, keepdim)``, deprecated in PyTorch."""
    op = "frobenius_norm"
    _deprecated_norm(op, "linalg.vector_norm(A, 2., dim, keepdim)")
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(
            f"{op}: Expected at most 2 dimensions, but got {len(dims)} dimensions instead."
        )
    x = as_tensor(input)
    if x.dtype.kind not in "fc":
        raise RuntimeError(
            f"{op}: input dtype should be either floating point or complex. Got {x.dtype} instead."
        )
    if x.dtype.kind in "fV" and x.ndim:  # PyTorch's at::norm(x, 2, dim): one NormBackward1
        axes = norm_dim(dims, x.ndim, op) if dims else None
        result = given(_FrobeniusNorm.apply(x, axes, bool(keepdim)), dim=dims)
        return _out(op, result, out)
    try:
        result = vector_norm(x, 2, dims if dims else None, keepdim)
    except NAMED_ERRORS as err:
        lead_with(op, err)
        raise
    return _out(op, result, out)


class _FrobeniusNorm(Norm2):
    """``Norm2`` under PyTorch's node for ``at::norm(x, 2, dim, keepdim)``: ``NormBackward1``
    (``_saved_dim`` as given, ``_saved_keepdim``, ``_saved_p`` 2.0, ``_saved_result`` /
    ``_saved_self``)."""

    node_name = "NormBackward1"
    saved_fields = {
        "dim": lambda n: given_dim(n, default=()),
        "keepdim": lambda n: n.keepdim,
        "p": lambda n: 2.0,
        "result": 1,
        "self": 0,
    }


def nuclear_norm(
    input: Tensor,  # noqa: A002
    dim: Any = None,
    keepdim: bool = False,
    *,
    out: Any = None,
) -> Tensor:
    """The sum of the singular values of the matrices in dims ``dim`` (default the last
    two): ``linalg.matrix_norm(input, 'nuc', dim, keepdim)``, deprecated in PyTorch. As
    PyTorch's two overloads, ``nuclear_norm(input, keepdim)`` takes a bool second argument."""
    op = "nuclear_norm"
    _deprecated_norm(op, "linalg.matrix_norm(A, 'nuc', dim, keepdim)")
    if isinstance(dim, (bool, np.bool_)):  # the overload nuclear_norm(input, keepdim)
        dim, keepdim = None, bool(dim)
    dims = (-2, -1) if dim is None else (dim,) if isinstance(dim, (int, np.integer)) else dim
    ndim = as_tensor(input).ndim
    for d in dims if dim is not None else ():
        if not -max(ndim, 1) <= int(d) < max(ndim, 1):
            raise dim_range_error(d, max(ndim, 1))
    try:
        result = matrix_norm(input, "nuc", tuple(dims), keepdim)
    except NAMED_ERRORS as err:
        lead_with(op, err)
        raise
    return _out(op, result, out)
