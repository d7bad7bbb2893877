"""Sparse tensors on the meta device, as PyTorch 2.13 answers them.

PyTorch's ``SparseMeta``/``SparseCsrMeta`` backends have kernels for almost nothing: a sparse
tensor moved to meta (``s.to("meta")``) comes back with no entries (nnz 0, coalesced, the
same size and dense rows), ``coalesce`` of an uncoalesced one, ``to_dense``, the softmaxes,
the products, ``sparse.sum`` and the pointwise ops raise its dispatcher's "Could not run
'aten::<op>' with arguments from the 'SparseMeta' backend", and a dense meta tensor's
``to_sparse*`` raises "aten::_to_sparse: attempted to run this operator with Meta tensors,
but there was no fake impl or Meta kernel registered". chainrule's sparse code would
otherwise reach a value-dependent NumPy step (``flatnonzero``, ``bincount``) and refuse in
its own words; these helpers give PyTorch's, one type test before the op's work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import ACTIVE, MetaArray
from .sparse_functions import named
from .sparse_pattern import SparsePattern

__all__ = [
    "backend_error",
    "empty_on_meta",
    "is_sparse_meta",
    "refuse_dense_meta",
    "refuse_sparse_meta",
]

_COMPRESSED_NAMES = ("sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc")


def is_sparse_meta(t: Any) -> bool:
    """Whether ``t`` is a sparse tensor (any layout) whose values are on the meta device."""
    if not ACTIVE:  # no meta array was ever made: one list test
        return False
    values = getattr(t, "_sp_values", None)
    return values is not None and type(values._data) is MetaArray


def backend_error(op: str, t: Any) -> NotImplementedError:
    """PyTorch's dispatcher error for ``aten::op`` on a sparse meta tensor ``t``."""
    layout = str(getattr(t, "layout", ""))
    backend = "SparseCsrMeta" if layout.endswith(_COMPRESSED_NAMES) else "SparseMeta"
    return NotImplementedError(
        f"Could not run 'aten::{op}' with arguments from the '{backend}' backend. This could "
        "be because the operator doesn't exist for this backend, or was omitted during the "
        "selective/custom build process (if using custom build). If you are a Facebook "
        "employee using PyTorch on mobile, please visit https://fburl.com/ptmfixes for "
        "possible resolutions. \n(chainrule: a sparse meta tensor has no entries to compute "
        "with; PyTorch has no sparse meta kernel for this op either)"
    )


def refuse_sparse_meta(op: str, *tensors: Any) -> None:
    """Raise :func:`backend_error` for ``aten::op`` if any of ``tensors`` is sparse on meta."""
    for t in tensors:
        if is_sparse_meta(t):
            raise backend_error(op, t)


def refuse_dense_meta(op: str, t: Any) -> None:
    """PyTorch's error for a dense meta tensor given to a conversion with no meta kernel
    (``aten::_to_sparse``, ``aten::_to_sparse_csr``, ...)."""
    if type(getattr(t, "_data", None)) is MetaArray:
        raise NotImplementedError(
            f"aten::{op}: attempted to run this operator with Meta tensors, but there was no "
            "fake impl or Meta kernel registered. You may have run into this message while "
            "using an operator with PT2 compilation APIs (torch.compile/torch.export); in "
            "order to use this operator with those APIs you'll need to add a fake impl. Please "
            "see the following for next steps:  "
            "https://pytorch.org/tutorials/advanced/custom_ops_landing_page.html"
        )


def empty_on_meta(values: Tensor, pattern: SparsePattern) -> tuple[Tensor, SparsePattern]:
    """What moving a sparse COO tensor onto meta keeps (PyTorch's ``to("meta")``): no
    entries, coalesced, the same size and dense rows. ``values`` are the moved values: their
    first zero rows are kept, so the result stays in their graph (as PyTorch's
    ``ToCopyBackward0``)."""
    xp = get_array_module(values._data)
    indices = xp.zeros((pattern.indices.shape[0], 0), np.int64)
    return named(values.narrow(0, 0, 0), "ToCopyBackward0"), SparsePattern(
        indices, pattern.shape, True
    )
