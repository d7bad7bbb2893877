"""The backward pass's sparse gradients (``nn.Embedding(sparse=True)``): summing two
gradients of which one is sparse, and accumulating into ``.grad`` when either is sparse.
Split from ``engine.py`` (session 38) to keep it under 500 lines; the dense paths stay there.
"""

from __future__ import annotations

from ..backend import get_array_module, is_writeable
from .tensor import Tensor

__all__ = ["accumulate_sparse", "sum_sparse"]


def sum_sparse(a: Tensor, b: Tensor) -> Tensor:
    """Two gradients of which one or both are sparse (``nn.Embedding(sparse=True)``): the
    entries concatenated (uncoalesced, as PyTorch) when both are, else a dense sum."""
    if a.is_sparse and b.is_sparse:
        return a.add(b, _concat=True)
    return (b + a) if a.is_sparse else (a + b)  # dense + sparse: a dense tensor


def accumulate_sparse(t: Tensor, g: Tensor, create_graph: bool) -> None:
    """``.grad`` accumulation when the new gradient or ``.grad`` is sparse, as PyTorch: a
    first sparse gradient is stored (a copy of its values), sparse + sparse concatenates
    the entries, and a dense ``.grad`` takes a sparse gradient in place."""
    old = t._grad
    if old is None:
        t.grad = g if create_graph else g.detach().clone()
    elif old.is_sparse:
        t.grad = sum_sparse(old, g if create_graph else g.detach())
    elif create_graph:
        t.grad = old + g
    else:
        dense = g.to_dense()._data
        if is_writeable(old._data) and old._data.dtype == dense.dtype:
            get_array_module(old._data).add(old._data, dense, out=old._data)
            old._vc[0] += 1
        else:
            t.grad = Tensor._make(old._data + dense, False, None, 0)
