"""PyTorch's ``_saved_*`` arguments of two kinds of indexing node (``subscript.py``):
``x[idx]``'s ``UnsqueezeBackward0`` (the dim its last None inserts) and the ``*_scatter``
ops that ``IndexPut`` records under their own names (their arguments as given)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.saved_fields import given_dim, tensor_field  # grad_fn._saved_*

__all__ = ["SCATTER_FIELDS", "put_fields", "unsqueeze_dim"]


def unsqueeze_dim(parts: tuple, ndim: int) -> int:
    """``_saved_dim`` of ``x[idx]``'s ``UnsqueezeBackward0``: the output dim its last None
    inserts (ints drop a dim before it, slices and Nones keep one, ``...`` the rest)."""
    last = max(i for i, p in enumerate(parts) if p is None)
    consumed = sum(1 for p in parts if p is not None and p is not Ellipsis)
    dim = 0
    for p in parts[:last]:
        if p is Ellipsis:
            dim += ndim - consumed
        elif not isinstance(p, (int, np.integer)):
            dim += 1
    return dim


def _given_fields(*names: str) -> dict:
    """``{name: the argument as given}`` (negatives as PyTorch's int64 fields show them)."""
    return {k: (lambda n, k=k: given_dim(n, k)) for k in names}


# PyTorch's saved arguments of the ops IndexPut records under their names
SCATTER_FIELDS = {
    "SelectScatterBackward0": _given_fields("dim", "index"),
    "SliceScatterBackward0": _given_fields("dim", "end", "start", "step"),
    "DiagonalScatterBackward0": _given_fields("dim1", "dim2", "offset"),
}


def put_fields(indices: Callable[[Any], Any]) -> dict:
    """``IndexPut``'s fields by the name it records: the ``*_scatter`` ops' arguments and, for
    ``IndexPutBackward0`` (named or by default, None), PyTorch's ``_saved_accumulate`` (an
    overwrite: False) and ``_saved_indices`` (``indices(node)``)."""
    put = {"accumulate": lambda n: False, "indices": tensor_field(indices)}
    return {**SCATTER_FIELDS, None: put, "IndexPutBackward0": put}
