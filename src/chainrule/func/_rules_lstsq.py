"""``torch.linalg.lstsq`` under ``cr.func.vmap``: PyTorch's batching rule, run on the physical
tensors (one call for the whole batch, not one per sample).

PyTorch's rule (``linalg_lstsq_batch_rule``) checks the logical ranks (input at least 2-d,
other at least 1-d), pads each *batched* argument to the larger logical rank with size-1
dims after its batch dim (so a per-sample vector right-hand side becomes a ``(1, m)``
matrix, and an input of fewer dims than other is accepted), gives an unbatched argument
the batch dim by expanding it, and calls ``linalg.lstsq`` on those: its checks and words
then speak of the physical tensors (a batch mismatch names the physical dim), and its
driver's rank rule sees the whole batch (``gelsd``'s residuals are returned when every
matrix of the batch has full rank). An argument batched at an outer level only is
unbatched at this one; the call on the physical tensors then dispatches the outer level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd.tensor import Tensor
from ._batched import BatchedTensor, Level, physical, wrap
from ._per_sample import innermost_level, per_sample
from ._random import lift_draw

__all__ = ["lstsq_batched"]


def _padded(x: Any, level: Level, rank: int) -> Tensor:
    """The physical value of ``x`` at ``level`` (batch dim first), a batched one with size-1
    dims after its batch dim up to logical rank ``rank``; an unbatched one expanded."""
    if type(x) is BatchedTensor and x._level is level:
        v = x._value
        if x.ndim < rank:
            v = v.reshape((v.shape[0],) + (1,) * (rank - x.ndim) + tuple(v.shape[1:]))
        return v
    return physical(x, level)


def _batched_result(t: Tensor, level: Level) -> Tensor:
    # an empty result (PyTorch's ``(0,)`` for what the driver does not compute) has no
    # batch dim: every sample's is the same empty tensor
    if t.ndim == 1 and t.shape[0] == 0:
        return t
    return wrap(t, level)


def lstsq_batched(fn: Callable, A: Any, B: Any, rcond: Any, driver: Any) -> Any:
    """``fn(A, B, rcond, driver=driver)`` (``linalg.lstsq``) by PyTorch's batching rule for
    the innermost vmap level batching ``A`` or ``B``; NotImplemented when neither is."""
    A, B = lift_draw(A), lift_draw(B)
    level = innermost_level((A, B), {})
    if level is None:
        return NotImplemented
    if not (isinstance(A, Tensor) and isinstance(B, Tensor)):
        return per_sample(fn, A, B, rcond, driver=driver)  # (the op refuses a non-tensor)
    if A.ndim < 2:  # PyTorch's rule's checks, its words
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if B.ndim < 1:
        raise RuntimeError("torch.linalg.lstsq: other must have at least 1 dimension.")
    rank = max(A.ndim, B.ndim)
    res = fn(_padded(A, level, rank), _padded(B, level, rank), rcond, driver=driver)
    return type(res)(*(_batched_result(t, level) for t in res))
