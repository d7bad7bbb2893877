"""``copy_`` into sparse tensors, as PyTorch's (``s.copy_(t)``).

A COO tensor takes the source's entries (indices, values cast to its dtype, coalesced flag)
after resizing to the source's size by ``sparse_resize_``'s rules (a tensor with entries
may only grow). A compressed tensor (CSR/CSC/BSR/BSC) takes them from a source of its own
layout with as many specified elements; other sources raise PyTorch's errors. The copied
values stay in the graph of the source's (``CopyBackwards``), as in PyTorch.
"""

from __future__ import annotations

from typing import Any

from . import sparse_functions as fn
from .sparse_compressed import SparseCompressedTensor, layout_name
from .sparse_csr import SparseCsrTensor
from .sparse_inplace import move_into
from .sparse_resize import resized
from .sparse_tensor import SparseTensor, make_sparse

__all__ = ["sparse_copy_"]


def sparse_copy_(self: SparseTensor, src: Any, non_blocking: bool = False) -> SparseTensor:
    """Copy ``src``'s entries into the sparse tensor ``self`` (see the module docstring)."""
    if type(self) is SparseTensor:
        if type(src) is not SparseTensor:
            raise RuntimeError(
                "copy_() between dense and sparse Tensors is not implemented! Found self type "
                f"= {self.type()} and src type = {src.type()}"
            )
        resized(self, src.shape, src.sparse_dim(), src.dense_dim())  # its errors only
        values = fn.named(src._sp_values.to(self.dtype), "torch::autograd::CopyBackwards")
        return move_into(self, make_sparse(values, src._sp_pattern))
    if type(src) is not type(self) or src.layout != self.layout:
        raise RuntimeError(
            "torch.copy_: copy of sparse compressed tensors having different layouts is not "
            f"supported. self layout is {layout_name(self)} and src layout is "
            f"{layout_name(src)}"
        )
    if src._nnz() != self._nnz() or getattr(src, "_sc_block", None) != getattr(
        self, "_sc_block", None
    ):
        raise RuntimeError(
            "torch.copy_: only sparse compressed tensors with the same number of specified "
            "elements are supported."
        )
    if src.shape != self.shape:
        raise RuntimeError(
            f"torch.copy_: expected shapes of self and src to match along dimension 0 and 1, "
            f"got {tuple(self.shape)} and {tuple(src.shape)}"
        )
    values = fn.named(src._sp_values.to(self.dtype), "torch::autograd::CopyBackwards")
    if isinstance(src, SparseCompressedTensor):
        return move_into(self, src._with_values(values))
    return move_into(self, src._like_values(values))


for _cls in (SparseTensor, SparseCsrTensor, SparseCompressedTensor):
    _cls.copy_ = sparse_copy_
