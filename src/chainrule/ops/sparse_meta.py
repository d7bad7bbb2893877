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

The ops whose meta kernels allocate a new COO result (``to``, ``clone``, ``t``/``transpose``
and ``+`` of COO tensors) answer one with no entries (:func:`empty_on_meta`), as
``to("meta")`` and ``to(dtype)`` of the compressed layouts do
(:func:`empty_compressed_on_meta`); the compressed layouts' ``clone`` and ``t`` keep their
index arrays, as PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import ACTIVE, MetaArray
from .sparse_functions import named
from .sparse_nodense import dispatcher_error
from .sparse_pattern import SparsePattern

__all__ = [
    "backend_error",
    "empty_compressed_on_meta",
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
    return dispatcher_error(
        op,
        backend,
        "chainrule: a sparse meta tensor has no entries to compute with; PyTorch has no sparse "
        "meta kernel for this op either",
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


def empty_on_meta(
    values: Tensor, pattern: SparsePattern, node: str = "ToCopyBackward0"
) -> tuple[Tensor, SparsePattern]:
    """What PyTorch's meta kernels of a COO tensor keep when they allocate a new result
    (``to("meta")``, ``to(dtype)``, ``clone``, ``t``/``transpose``, ``+``): no entries,
    coalesced, ``pattern``'s size and ``values``' dense rows. ``values`` are the result's
    values (on meta): their first zero rows are kept, so the result stays in their graph
    under PyTorch's ``node``."""
    xp = get_array_module(values._data)
    indices = xp.zeros((pattern.indices.shape[0], 0), np.int64)
    return named(values.narrow(0, 0, 0), node), SparsePattern(indices, pattern.shape, True)


def empty_compressed_on_meta(t: Any, values: Tensor, make: Any) -> Any:
    """A CSC/BSR/BSC tensor ``t`` converted on meta (``to("meta")``, ``to(dtype)``): no
    blocks, ``t``'s size, blocksize and index dtype (PyTorch's meta ``_to_copy``), the
    index arrays on meta. ``values``: the empty result's flat values (nnz 0, on meta);
    ``make``: ``sparse_compressed.make_compressed``."""
    xp = get_array_module(values._data)
    compressed = xp.zeros(t._sc_compressed.shape, t._sc_compressed.dtype)
    plain = xp.zeros(t._sc_plain.shape[:-1] + (0,), t._sc_plain.dtype)
    indices = xp.zeros((t._sp_pattern.indices.shape[0], 0), np.int64)
    pattern = SparsePattern(indices, t._sp_pattern.shape, True)
    return make(t._sc_layout, compressed, plain, values, pattern, t._sc_block)
