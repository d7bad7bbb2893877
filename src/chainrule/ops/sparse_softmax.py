"""``cr.sparse.softmax`` / ``cr.sparse.log_softmax``: softmax over the *stored* elements.

Along ``dim``, the elements of a sparse tensor that share their other indices form a group;
unstored positions count as -inf (they stay unstored, so they get probability zero), as in
PyTorch. With the group's largest value m subtracted (a constant: softmax does not change
under a shift), ``softmax = e / Σ_group e`` with ``e = exp(v - m)`` and ``log_softmax =
(v - m) - log Σ_group e``. The group sums are :class:`~.sparse_functions.CoalesceValues`
on the pattern with ``dim`` removed, spread back by ``ExpandDuplicates``, so the result is
differentiable (to any order) in the values. The input is coalesced first (duplicates sum).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._util import norm_dim
from .checked_arguments import kernel_dtype_error
from .sparse_functions import CoalesceValues, ExpandDuplicates, named
from .sparse_meta import refuse_sparse_meta
from .sparse_nodense import dispatcher_error
from .sparse_pattern import CoalescePlan, SparsePattern
from .sparse_tensor import SparseTensor, make_sparse

__all__ = ["log_softmax", "softmax"]


def _group_max(values: Any, plan: CoalescePlan) -> Any:
    """The largest value of each group (array), spread back to the group's entries."""
    xp = get_array_module(values)
    if xp is np:
        peaks = np.maximum.reduceat(values[plan.order], plan.starts)
    else:  # CuPy has no reduceat: sort by (group, value); each group's last is its max
        order = xp.lexsort(xp.stack([values, plan.inverse]))
        last = xp.ones(values.shape[0], dtype=bool)
        last[:-1] = plan.inverse[order][1:] != plan.inverse[order][:-1]
        peaks = values[order[last]]
    peaks = xp.where(xp.isfinite(peaks), peaks, 0)  # an all -inf group: no shift
    return peaks[plan.inverse]


def _softmax(op: str, input: Any, dim: Any, dtype: Any, log: bool) -> SparseTensor:  # noqa: A002
    if not isinstance(input, SparseTensor):
        raise RuntimeError(
            f"sparse.{op}: expected a sparse COO tensor (layout=chainrule.sparse_coo), got "
            f"{type(input).__name__}; use chainrule.nn.functional.{op} for dense tensors"
        )
    if dim is None or not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"sparse.{op}: dim must be an int, got {dim!r}")
    if type(input) is not SparseTensor:  # a compressed layout: PyTorch's dispatcher
        raise dispatcher_error(f"_sparse_{op}", "SparseCsrCPU")
    refuse_sparse_meta(f"_sparse_{op}", input)
    s = input.coalesce()
    values = s._sp_values if dtype is None else s._sp_values.to(dtype)
    if values.dtype.kind != "f":
        raise kernel_dtype_error(
            op,
            values.dtype,
            f"sparse.{op}: not implemented for {values.dtype} values, expected a floating-point "
            "tensor; pass dtype= or convert with .float()",
        )
    pattern = s._sp_pattern
    (d,) = norm_dim(dim, len(pattern.shape), f"sparse.{op}")
    keep = [k for k in range(len(pattern.shape)) if k != d]
    groups = SparsePattern(pattern.indices[keep], tuple(pattern.shape[k] for k in keep), False)
    plan = groups.coalesce_plan()
    shift = Tensor._make(_group_max(values._data, plan), False, None, 0)
    z = values - shift
    e = z.exp()
    total = ExpandDuplicates.apply(CoalesceValues.apply(e, plan), plan)
    out = z - total.log() if log else e / total
    name = "SparseLogSoftmaxBackward0" if log else "SparseSoftmaxBackward0"
    return make_sparse(named(out, name), pattern)


def softmax(input: Any, dim: int, dtype: Any = None) -> SparseTensor:  # noqa: A002
    """``torch.sparse.softmax``: softmax along ``dim`` over the stored elements (a sparse
    result on the coalesced pattern)."""
    return _softmax("softmax", input, dim, dtype, log=False)


def log_softmax(input: Any, dim: int, dtype: Any = None) -> SparseTensor:  # noqa: A002
    """``torch.sparse.log_softmax``: log of :func:`softmax`, computed stably."""
    return _softmax("log_softmax", input, dim, dtype, log=True)
