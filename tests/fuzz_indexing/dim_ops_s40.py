"""Dim-wise ops of the indexing fuzzer's ``dim`` mode added in session 40: the ``out=`` forms
(``gather``, ``index_select``, ``take``, ``masked_select`` into an empty tensor of the
result's dtype, resized by the op, on a detached ``x``: torch refuses ``out=`` where an input
requires grad), ``take_along_dim`` without a dim (both flattened), and two dim-wise writes
chained on one clone (``scatter_add_`` then ``scatter_reduce_`` with ``amax``/``amin``, not
including self; ``index_add_`` with ``alpha`` then ``index_fill_`` at the same positions).

Each op takes the index (and source) its base op of :data:`BASE_S40` draws, so
:func:`~.case_draw._draw_dim` draws the base op's case and renames it; :func:`dim_op_s40`
runs it (called by :func:`~.case_observe._dim_op`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BASE_S40", "DIM_OPS_S40", "NO_GRAD_S40", "dim_op_s40"]

# op -> the op of case_data.DIM_OPS whose index and value it takes
BASE_S40 = {
    "gather_out": "gather", "index_select_out": "index_select", "take_out": "take",
    "masked_select_out": "masked_select", "take_along_none": "take",
    "scatter_chain": "scatter_add_", "index_add_fill": "index_add_",
}  # fmt: skip
DIM_OPS_S40 = tuple(BASE_S40)
# the out= forms: run on a detached x (no gradient, no tangent to compare)
NO_GRAD_S40 = ("gather_out", "index_select_out", "take_out", "masked_select_out")


def dim_op_s40(lib: Any, case: Any, x: Any, t: Any, d: int, v: Any) -> Any:
    """Run ``case.op`` (one of :data:`DIM_OPS_S40`) on ``x`` (a clone where it writes)."""
    op = case.op
    if op in NO_GRAD_S40:
        src = x.detach()
        out = lib.empty((0,), dtype=src.dtype)
        if op == "gather_out":
            r = lib.gather(src, d, t, out=out)
        elif op == "index_select_out":
            r = lib.index_select(src, d, t, out=out)
        elif op == "take_out":
            r = lib.take(src, t, out=out)
        else:
            r = lib.masked_select(src, t, out=out)
        assert r is out, "out= returns the out tensor"
        return out * 1
    if op == "take_along_none":
        n = x.numel()
        # in range (take_along_dim wraps an out-of-range position in torch 2.13, see
        # case_draw's take_along_dim) and flattened
        pos = t.remainder(n) if n else t
        # of a contiguous x: torch 2.13 flattens with view(-1), which refuses a permuted or
        # sliced x ("view size is not compatible"; seed 4417), chainrule flattens any x (a
        # torch bug: its docs say the input is treated as flattened), not mirrored
        return lib.take_along_dim(x.contiguous(), pos.reshape(-1))
    if op == "scatter_chain":
        y = x.clone().scatter_add_(d, t, v)
        how = "amax" if case.seed % 2 else "amin"
        return y.scatter_reduce_(d, t, v * 0.5 if v.is_floating_point() else v, how,
                                 include_self=False)  # fmt: skip
    # index_add_fill: alpha, then the same positions filled with a number
    y = x.clone().index_add_(d, t, v, alpha=(2 if case.seed % 2 else -1))
    kind = str(y.dtype).rsplit(".", 1)[-1]
    return y.index_fill_(d, t, {"bool": True, "int64": 2}.get(kind, 0.5))
