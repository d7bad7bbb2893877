"""Dim-wise ops of the indexing fuzzer's ``dim`` mode added in session 44: the index reads and
writes of a rearranged view of ``x`` (``roll``, ``flip``, ``rot90``, ``movedim``): ``gather``
from ``x`` rolled along the dim, ``take_along_dim`` of ``x`` flipped, ``index_select`` of
``x`` flipped along every dim, ``scatter_add`` into ``x`` rolled backwards and
``index_add`` into ``x`` turned twice by ``rot90``; the gradients flow back through the
rearrangement to ``x`` (and to the source).

Each op takes the index (and source) its base op of :data:`BASE_S44` draws, so
:func:`~.case_draw._draw_dim` draws the base op's case and renames it; :func:`dim_op_s44`
runs it (called by :func:`~.case_observe._dim_op`). The rearrangements keep ``x``'s shape,
so the base op's index stays valid.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BASE_S44", "DIM_OPS_S44", "dim_op_s44"]

# op -> the op whose index and value it takes (case_data.DIM_OPS)
BASE_S44 = {
    "gather_rolled": "gather", "take_along_flipped": "take_along_dim",
    "index_select_flipped": "index_select", "scatter_add_rolled": "scatter_add_",
    "index_add_turned": "index_add_",
}  # fmt: skip
DIM_OPS_S44 = tuple(BASE_S44)


def _turned(lib: Any, x: Any) -> Any:
    """``x`` turned by 180 degrees in its first two dims (its shape kept), else flipped."""
    if x.dim() >= 2:
        return lib.rot90(x, 2, (0, 1))
    return x.flip(0) if x.dim() else x


def dim_op_s44(lib: Any, case: Any, x: Any, t: Any, d: int, v: Any) -> Any:
    """Run ``case.op`` (one of :data:`DIM_OPS_S44`) on a rearranged view of ``x`` (no clone:
    a write into ``x`` would show in the gradients and in the forward-mode run)."""
    op = case.op
    shift = 1 + case.seed % 3
    if x.dim() == 0:  # roll / flip of a 0-d tensor: the tensor itself
        y = x
    elif op in ("gather_rolled", "scatter_add_rolled"):
        y = x.roll(shift if op == "gather_rolled" else -shift, d)
    elif op == "take_along_flipped":
        y = x.flip(d)
    elif op == "index_select_flipped":
        y = x.flip(tuple(range(x.dim())))
    else:
        y = _turned(lib, x)
    if op == "gather_rolled":
        return lib.gather(y, d, t)
    if op == "take_along_flipped":
        return lib.take_along_dim(y, t, dim=d)
    if op == "index_select_flipped":
        return y.index_select(d, t)
    if op == "scatter_add_rolled":
        return y.scatter_add(d, t, v)
    return y.index_add(d, t, v, alpha=2)
