"""Dim-wise ops of the indexing fuzzer's ``dim`` mode added in session 41: ``index_put_``
with ``accumulate=True`` along a dim (through ``movedim`` views of a clone) and the
out-of-place ``Tensor.index_put``, the deprecated ``scatter_(..., reduce=)`` of a source
tensor and of a Python number (``add``/``multiply``), ``put_`` of what ``take`` read at the
same positions (a read and a write of one clone chained), and ``masked_fill_`` /
``index_fill_`` with a 0-d tensor value that requires grad (made from ``x``, so its
gradient flows back to ``x`` too).

Each op takes the index (and source) its base op of :data:`BASE_S41` draws, so
:func:`~.case_draw._draw_dim` draws the base op's case and renames it; :func:`dim_op_s41`
runs it (called by :func:`~.case_observe._dim_op`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BASE_S41", "DIM_OPS_S41", "dim_op_s41"]

# op -> the op whose index and value it takes (case_data.DIM_OPS or dim_ops_s38's)
BASE_S41 = {
    "index_put_acc": "index_add_", "index_put_oop": "index_copy_",
    "scatter_src_reduce": "scatter_add_", "scatter_val_reduce": "scatter_val_",
    "take_put": "put_acc_", "masked_fill_t": "masked_fill_", "index_fill_t": "index_fill_",
}  # fmt: skip
DIM_OPS_S41 = tuple(BASE_S41)


def _fill_value(lib: Any, x: Any) -> Any:
    """A 0-d tensor of ``x``'s dtype made from ``x`` (its gradient flows back to ``x``)."""
    if x.is_floating_point():
        return x.sum() * 0.25 + 0.5
    return x.reshape(-1)[:1].sum().to(x.dtype) if x.numel() else lib.zeros((), dtype=x.dtype)


def dim_op_s41(lib: Any, case: Any, x: Any, t: Any, d: int, v: Any) -> Any:
    """Run ``case.op`` (one of :data:`DIM_OPS_S41`) on a clone of ``x``."""
    op = case.op
    if op == "index_put_acc":
        if x.dim() == 0:
            return x.clone().index_put_((t,), v, accumulate=True)
        y = x.clone()
        # along dim d: a view of the clone with d first, written in place (into the clone)
        y.movedim(d, 0).index_put_((t,), v.movedim(d, 0), accumulate=True)
        return y
    if op == "index_put_oop":
        if x.dim() == 0:
            return x.index_put((t,), v, accumulate=bool(case.seed % 2))
        r = x.movedim(d, 0).index_put((t,), v.movedim(d, 0), accumulate=bool(case.seed % 2))
        return r.movedim(0, d)
    if op in ("scatter_src_reduce", "scatter_val_reduce"):
        # detached: torch 2.13 has no derivative of scatter_ with reduce= ("derivative for
        # aten::scatter_ is not implemented"), chainrule has one (more, not mirrored)
        how = "add" if case.seed % 2 else "multiply"
        src = v.detach() if hasattr(v, "detach") else v
        return x.detach().clone().scatter_(d, t, src, reduce=how)
    if op == "take_put":
        y = x.clone()
        got = lib.take(y, t)
        scaled = got * 2 if got.dtype != lib.bool else ~got
        return y.put_(t, scaled, accumulate=bool(case.seed % 2))
    if op == "masked_fill_t":
        return x.clone().masked_fill_(t, _fill_value(lib, x))
    return x.clone().index_fill_(d, t, _fill_value(lib, x))
