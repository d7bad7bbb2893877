"""The sum of two sparse tensors' entries as PyTorch's ``+`` forms it when one of them is
uncoalesced (a merge of the two entry lists in stored order), for ``SparseTensor.add``."""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_device
from .joining import cat
from .sparse_pattern import SparsePattern

__all__ = ["merged_entries"]


def merged_entries(
    va: Tensor, vb: Tensor, a: SparsePattern, b: SparsePattern
) -> tuple[Tensor, SparsePattern]:
    """PyTorch's sum of two sparse tensors of which one is uncoalesced: one pass over both
    entry lists in their stored order, an entry of each at one position added, otherwise the
    smaller (row-major) taken first; so ``s + s`` keeps ``s``'s entries, values doubled.
    Returns the values and their (uncoalesced) pattern."""
    xp = get_array_module(a.indices)
    ka, kb = (np.asarray(to_device(p.keys(), "cpu")).tolist() for p in (a, b))
    na, nb = len(ka), len(kb)
    first, second, i, j = [], [], 0, 0
    while i < na and j < nb:
        if ka[i] == kb[j]:
            first.append(i), second.append(na + j)
            i, j = i + 1, j + 1
        elif ka[i] < kb[j]:
            first.append(i), second.append(na + nb)
            i += 1
        else:
            first.append(na + j), second.append(na + nb)
            j += 1
    first += list(range(i, na)) + list(range(na + j, na + nb))
    second += [na + nb] * (len(first) - len(second))
    dt = _dt.promote_types(va._data.dtype, vb._data.dtype)  # int + float: float, as torch
    zero = Tensor._make(xp.zeros((1,) + tuple(va.shape[1:]), dt), False, None, 0)
    pool = cat([va.to(dt), vb.to(dt), zero])
    pick = [
        Tensor._make(xp.asarray(np.asarray(k, np.int64)), False, None, 0) for k in (first, second)
    ]
    values = pool[pick[0]] + pool[pick[1]]
    idx = xp.concatenate([a.indices, b.indices], axis=1)[:, xp.asarray(np.asarray(first, np.int64))]
    idx = xp.ascontiguousarray(idx)
    return values, SparsePattern(idx, a.shape, False)
