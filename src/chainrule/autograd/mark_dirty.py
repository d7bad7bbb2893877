"""``ctx.mark_dirty``: a user Function that modified some inputs in place and returns them.

As in PyTorch, each dirty input must be returned as an output; the output *is* that input
(the same Python object), its version counter is bumped, and, when the call is recorded,
its history moves onto the Function's node (a view's base is rebased as for any in-place op,
see :mod:`.view_replay`). A leaf that requires grad cannot be modified in place.
"""

from __future__ import annotations

from .node import Node
from .tensor import Tensor

__all__ = ["adopt_dirty"]


def adopt_dirty(ctx: Node, raw_outs: tuple, results: list, record: bool) -> None:
    """Replace each output of ``ctx``'s forward that is a dirty input by that input, after
    PyTorch's checks (not returned: RuntimeError; a leaf requiring grad: RuntimeError)."""
    from .view_replay import check_view_write, move_retained_grad, record_view_write

    for d in ctx._dirty:
        if not isinstance(d, Tensor):
            raise TypeError(f"mark_dirty can only accept tensors, but got {type(d).__name__}")
        i = next((k for k, o in enumerate(raw_outs) if o is d), None)
        if i is None:
            raise RuntimeError(
                "Some elements marked as dirty during the forward method were not returned as "
                "output. The inputs that are modified inplace must all be outputs of the "
                "Function."
            )
        taken = (d._grad_fn, d._output_nr)  # the history the node took (before a re-take)
        if record and d.requires_grad and d.grad_fn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad has been used in an in-place operation."
            )
        new = results[i]
        base = check_view_write(d, "mark_dirty") if record and d._view is not None else None
        d._vc[0] += 1
        if record and new.grad_fn is not None:
            old_node, old_nr = d._grad_fn, d._output_nr  # (the slot: d is stale now)
            d.grad_fn, d._output_nr, d._rg = new.grad_fn, new._output_nr, new.requires_grad
            move_retained_grad(d, old_node, old_nr)
            if base is not None:
                record_view_write(d, base, new, old_edge=taken)
        results[i] = d
