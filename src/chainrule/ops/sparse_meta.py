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
index arrays, as PyTorch's. The compressed layouts' value-wise ops (the zero-preserving unary
ops, ``neg``, ``* c``, ``to_dense``, ``+`` of one with as many entries: session 45) compute on
the meta values and keep the index arrays, as PyTorch's kernels of them do; a COO ``add_``
keeps ``self``'s entries, flagged uncoalesced (:func:`coo_add_on_meta`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import ACTIVE, MetaArray
from .sparse_functions import SparseToDense, named
from .sparse_nodense import dispatcher_error
from .sparse_pattern import SparsePattern

__all__ = [
    "backend_error",
    "compressed_add_on_meta",
    "coo_add_on_meta",
    "coo_meta_op",
    "dense_on_meta",
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


# the kernel PyTorch's dispatcher names for an op of a COO tensor on meta (the out-of-place
# form; ``None``: the in-place form is ``op_``), measured on torch 2.13
_COO_META_NAMES = {
    "abs": ("abs.out", "abs.out"),
    "absolute": ("abs.out", "abs.out"),
    "fix": ("trunc", None),
    "arcsin": ("asin", None),
    "arctan": ("atan", None),
    "arcsinh": ("asinh", None),
    "arctanh": ("atanh", None),
    "negative": ("neg", None),
    "deg2rad": ("mul.out", "mul.out"),
    "rad2deg": ("mul.out", "mul.out"),
    "square": ("pow.Tensor_Scalar", "pow_.Scalar"),
    "nan_to_num": ("nan_to_num.out", "nan_to_num.out"),
    "mul": ("mul.Tensor", "mul_.Tensor"),
    "multiply": ("mul.Tensor", "mul_.Tensor"),
    "div": ("div.Tensor", "div_.Tensor"),
    "sub": ("sub.Tensor", "sub_.Tensor"),
}


def coo_meta_op(name: str, inplace: bool = False) -> str:
    """The ``aten`` kernel PyTorch's error names for ``name`` (``inplace``: ``name_``) of a
    COO tensor on meta (``abs`` -> ``abs.out``, ``sin_`` -> ``sin_``, ``arcsin`` ->
    ``asin``)."""
    own, own_inplace = _COO_META_NAMES.get(name, (name, None))
    if not inplace:
        return own
    return own_inplace or own.split(".")[0] + "_"


def compressed_add_on_meta(self: Any, other: Any, alpha: Any) -> Tensor:
    """The values of ``self + alpha * other`` for two compressed tensors of one layout, one
    of them on meta: PyTorch's kernel keeps ``self``'s index arrays when both have as many
    entries, and fails otherwise (reading an unallocated tensor; CSC/BSC: their
    ``crow_indices``)."""
    if tuple(self._sp_values.shape) != tuple(other._sp_values.shape):
        name = str(self.layout).split("_")[-1]
        if name in ("csc", "bsc"):  # its kernel reads crow_indices
            raise RuntimeError(
                "crow_indices expected sparse row compressed tensor layout but got "
                f"Sparse{name.capitalize()}"
            )
        raise RuntimeError(
            "The tensor has a non-zero number of elements, but its data is not allocated yet."
            "\n(chainrule: PyTorch's meta add of two compressed tensors with different numbers "
            "of entries reads one's index data)"
        )
    values = other._sp_values if alpha == 1 else other._sp_values * alpha
    return named(self._sp_values + values, "AddBackward0")


def coo_add_on_meta(self: Any, other: Any, alpha: Any) -> tuple[Tensor, SparsePattern]:
    """The values and pattern of ``self.add_(other, alpha=alpha)`` for COO tensors on meta,
    as PyTorch's kernel leaves them: ``other``'s entries (times ``alpha``) if ``self`` has
    none, ``self``'s if ``other`` has none, else ``self``'s entries flagged uncoalesced."""
    values = other._sp_values if alpha == 1 else other._sp_values * alpha
    if self._nnz() == 0:
        p = other._sp_pattern
        return named(values + self._sp_values.sum() * 0, "AddBackward0"), p
    p = self._sp_pattern
    if other._nnz() == 0:
        return named(self._sp_values + values.sum() * 0, "AddBackward0"), p
    both = self._sp_values + values.sum() * 0
    return named(both, "AddBackward0"), SparsePattern(p.indices, p.shape, False)


def dense_on_meta(t: Any, dtype: Any = None) -> Tensor:
    """``t.to_dense()`` of a sparse tensor on meta: a COO tensor's raise (PyTorch's); a
    compressed one's is a dense meta tensor of its size under ``ToDenseBackward0``."""
    if not hasattr(t, "_csr_index_dtype"):
        raise backend_error("_to_dense", t)
    p = t._sp_pattern  # (its entries, on meta: nothing to order)
    out = SparseToDense.apply(t._sp_values, SparsePattern(p.indices, p.shape, True))
    return out if dtype is None else out.to(dtype)


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
