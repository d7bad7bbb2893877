"""``torch.sparse.sum`` and ``Tensor.sum`` of a sparse COO tensor: the sum over all dims
(a dense 0-d tensor) or over some (a coalesced sparse tensor of the dims left, or a dense
tensor when every sparse dim goes), differentiable in the values. A reduction, split out of
:mod:`.sparse_products` (which re-exports :func:`sum` and binds ``Tensor.sum``).
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ._util import norm_dim
from .sparse_functions import CoalesceValues, named
from .sparse_meta import is_sparse_meta, refuse_sparse_meta
from .sparse_nodense import dispatcher_error
from .sparse_pattern import SparsePattern
from .sparse_tensor import SparseTensor, make_sparse

__all__ = ["sparse_sum_method", "sum"]


def sum(input: Any, dim: Any = None, dtype: Any = None) -> Tensor:  # noqa: A001, A002
    """``torch.sparse.sum``: the sum over ``dim`` (all dims by default) of a sparse COO
    tensor. Summing every dim gives a dense 0-d tensor; summing some gives a coalesced
    sparse tensor of the remaining dims, as PyTorch. Differentiable in the values."""
    if not isinstance(input, SparseTensor):
        raise RuntimeError(
            "sparse.sum: expected a sparse COO tensor (layout=chainrule.sparse_coo), got a "
            "dense tensor; use chainrule.sum"
        )
    if type(input) is not SparseTensor:  # PyTorch's sparse.sum coalesces first: COO only
        if dim is not None:  # (its sum over dims reads the indices first)
            raise dispatcher_error("_indices", "SparseCsrCPU")
        name = "Sparse" + str(input.layout)[len("torch.sparse_") :].capitalize()
        raise RuntimeError(f"coalesce expected sparse coordinate tensor layout but got {name}")
    refuse_sparse_meta("_coalesce", input)
    values = input._sp_values if dtype is None else input._sp_values.to(dtype)
    n = input.sparse_dim()
    dims = norm_dim(dim, input.ndim, "sparse.sum")
    if dims is None:
        return values.sum()
    dense_axes = sorted({d - n + 1 for d in dims if d >= n})  # a hybrid tensor's dense dims
    if dense_axes:
        values = values.sum(dim=dense_axes)
    sparse_dims = {d for d in dims if d < n}
    if len(sparse_dims) == n:  # every sparse dim: a dense tensor of the dense dims left
        return values.sum(dim=0)
    pattern = input._sp_pattern
    keep = [d for d in range(n) if d not in sparse_dims]
    reduced = SparsePattern(pattern.indices[keep], tuple(pattern.shape[d] for d in keep), False)
    plan = reduced.coalesce_plan()
    return make_sparse(
        named(CoalesceValues.apply(values, plan), "SparseSumBackward0"), plan.pattern
    )


def sparse_sum_method(
    self: SparseTensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """``s.sum(dim, keepdim, dtype=)`` of a sparse tensor: :func:`sum` (``keepdim`` refused,
    as chainrule does not keep dims of a sparse sum); on meta, PyTorch's dense 0-d result."""
    if keepdim:
        raise NotImplementedError("Tensor.sum of a sparse tensor: keepdim=True is not supported")
    if dim is not None:
        refuse_sparse_meta("sum.dim_IntList", self)
    elif is_sparse_meta(self):  # PyTorch's s.sum() runs on meta: a dense 0-d result
        return self._sp_values.sum(dtype=dtype)
    return sum(self, dim, dtype)
