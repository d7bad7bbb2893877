"""``torch.sparse.sum`` and ``Tensor.sum`` of a sparse COO tensor: the sum over all dims
(a dense 0-d tensor) or over some (a coalesced sparse tensor of the dims left, or a dense
tensor when every sparse dim goes), differentiable in the values. A reduction, split out of
:mod:`.sparse_products` (which re-exports :func:`sum` and binds ``Tensor.sum``).
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..backend import get_array_module
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
    """``s.sum(dim, keepdim, dtype=)`` of a sparse tensor: :func:`sum`; ``keepdim=True``
    (session 47) puts the summed dims back with size 1 as torch does (:func:`_keep_dims`);
    on meta, PyTorch's dense 0-d result."""
    if dim is not None:
        refuse_sparse_meta("sum.dim_IntList", self)
    elif is_sparse_meta(self):  # PyTorch's s.sum() runs on meta: a dense 0-d result
        out = self._sp_values.sum(dtype=dtype)
        return out.reshape((1,) * self.ndim) if keepdim else out
    out = sum(self, dim, dtype)
    return _keep_dims(self, out, dim) if keepdim else out


def _keep_dims(self: SparseTensor, out: Tensor, dim: Any) -> Tensor:
    """torch's ``sum(dim, keepdim=True)`` of a COO tensor from the sum without: each summed
    dim unsqueezed back, in increasing order (a sparse dim where it lands among the sparse
    dims, so a summed dense dim of a hybrid tensor comes back sparse), the result flagged
    uncoalesced; a dense result (every sparse dim summed) reshaped. The node is torch's
    ``SumBackward1``; the gradient reaches the values (torch's backward fails: no sparse
    ``expand``, a missing kernel)."""
    dims = norm_dim(dim, self.ndim, "sum")
    dims = range(self.ndim) if dims is None else sorted(dims)
    if not isinstance(out, SparseTensor):
        for d in dims:
            out = out.unsqueeze(d)
        return out
    indices, shape = out._sp_pattern.indices, list(out._sp_pattern.shape)
    xp = get_array_module(indices)
    values = out._sp_values
    for d in dims:
        if d <= len(shape):  # a new sparse dim of size 1 (every entry at 0)
            zeros = xp.zeros((1, indices.shape[1]), dtype=indices.dtype)
            indices = xp.concatenate([indices[:d], zeros, indices[d:]], axis=0)
            shape.insert(d, 1)
        else:  # among the dense dims: the values' axis (a row per entry)
            values = values.unsqueeze(d - len(shape) + 1)
    pattern = SparsePattern(indices, tuple(shape), False)
    return make_sparse(named(values, "SumBackward1"), pattern)
