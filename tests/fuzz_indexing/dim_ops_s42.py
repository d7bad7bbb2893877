"""Dim-wise ops of the indexing fuzzer's ``dim`` mode added in session 42: the out-of-place
functional forms of the in-place index writes, as ``torch.*`` functions and as methods
(``torch.scatter_add``, ``torch.scatter_reduce`` with ``include_self``, ``torch.index_add``
with a negative ``alpha``, ``Tensor.index_copy``, ``torch.index_fill``, ``torch.masked_fill``,
``torch.put`` with and without ``accumulate``): ``x`` itself must stay unchanged, the
result must be a fresh tensor, and the gradients flow to both ``x`` and the source.

Each op takes the index (and source) its base op of :data:`BASE_S42` draws, so
:func:`~.case_draw._draw_dim` draws the base op's case and renames it; :func:`dim_op_s42`
runs it (called by :func:`~.case_observe._dim_op`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BASE_S42", "DIM_OPS_S42", "dim_op_s42"]

# op -> the op whose index and value it takes (case_data.DIM_OPS)
BASE_S42 = {
    "scatter_add_fn": "scatter_add_", "scatter_reduce_fn": "scatter_reduce_",
    "index_add_fn": "index_add_", "index_copy_fn": "index_copy_", "index_fill_fn": "index_fill_",
    "masked_fill_fn": "masked_fill_", "put_fn": "put_", "put_acc_fn": "put_acc_",
}  # fmt: skip
DIM_OPS_S42 = tuple(BASE_S42)


def dim_op_s42(lib: Any, case: Any, x: Any, t: Any, d: int, v: Any) -> Any:
    """Run ``case.op`` (one of :data:`DIM_OPS_S42`) out of place on ``x`` (no clone: a
    write into ``x`` would show in the gradients and in the forward-mode run)."""
    op, method = case.op, bool(case.seed % 2)
    if op == "scatter_add_fn":
        r = x.scatter_add(d, t, v) if method else lib.scatter_add(x, d, t, v)
    elif op == "scatter_reduce_fn":
        # not "prod" (torch 2.13's forward-mode scatter_reduce prod fails; see case_observe)
        how = ("sum", "mean", "amax", "amin")[case.seed // 2 % 4]
        keep = case.seed // 8 % 2 == 0
        r = lib.scatter_reduce(x, d, t, v, how, include_self=keep)
    elif op == "index_add_fn":
        r = x.index_add(d, t, v, alpha=-1.5 if x.is_floating_point() else 2)
        if not method:
            r = lib.index_add(x, d, t, v)
    elif op == "index_copy_fn":
        r = x.index_copy(d, t, v) if method else lib.index_copy(x, d, t, v)
    elif op == "index_fill_fn":
        r = x.index_fill(d, t, v) if method else lib.index_fill(x, d, t, v)
    elif op == "masked_fill_fn":
        r = x.masked_fill(t, v) if method else lib.masked_fill(x, t, v)
    else:
        acc = op == "put_acc_fn"
        r = x.put(t, v, accumulate=acc) if method else lib.put(x, t, v, accumulate=acc)
    return r
