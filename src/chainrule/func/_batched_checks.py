"""PyTorch's batching rules' own argument checks, for ops that check their arguments before
``Function.apply`` (where :mod:`._dispatch` would batch them).

Under ``torch.func.vmap`` such an op's batching rule moves the batch dim to the front,
wraps each logical dim against the sample's rank (``maybe_wrap_dim``: an IndexError naming
the logical dim) and calls the op on the physical tensor with the physical dims (dim + 1;
an outer level batching that tensor too adds its own), so the op's own checks then speak
of the physical tensor: its rank and dims one more per level. The op's plain checks
(logical) would give other errors and words; these functions raise PyTorch's, and return
when the op may run as usual.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from ..ops._util import dim_range_error, torch_words
from ._batched import BatchedTensor

__all__ = ["rot90_batched_checks"]


def rot90_batched_checks(x: Any, dims: Sequence[Any]) -> None:
    """``rot90(x, k, dims)`` of a batched ``x``: PyTorch's ``rot90_batch_rule`` checks,
    its words (``vmap(lambda h: torch.rot90(h, 2, (0, 1)))`` of 1-d samples is an
    IndexError for dim 1, not the plain op's "expected total dims >= 2")."""
    try:
        given = [operator.index(d) for d in dims]
    except TypeError:
        return  # (not ints: the plain op's parser refuses them)
    n = max(x.ndim, 1)  # a 0-d sample names its one dim as 0 or -1
    depth, v = 0, x  # the levels batching x: each level's rule adds its batch dim in front
    while type(v) is BatchedTensor:
        depth, v = depth + 1, v._value
    physical = []
    for d in given:
        if not -n <= d < n:
            raise dim_range_error(d, n)
        physical.append(d % n + depth)
    if len(physical) != 2:
        raise torch_words(
            RuntimeError(f"expected total rotation dims == 2, but got dims = {len(physical)}")
        )
    if x.ndim + depth < 2:
        raise torch_words(
            RuntimeError(f"expected total dims >= 2, but got total dims = {x.ndim + depth}")
        )
    if physical[0] == physical[1]:
        raise torch_words(
            RuntimeError(
                "expected rotation dims to be different, but got dim0 = "
                f"{physical[0]} and dim1 = {physical[1]}"
            )
        )
