"""The graph-linking steps of ``Function.apply`` around an op's ``forward``: the input edges
and metadata recorded before it runs (:func:`link_inputs`), the complex-autograd check
(:func:`check_complex`) and the version sharing of outputs that are views of the first
input (:func:`share_view_versions`). Split from ``function.py`` (session 37) to keep it
under 500 lines; every op runs these, so they stay lean.
"""

from __future__ import annotations

from .node import Node
from .saved import memory_root
from .tensor import Tensor
from .view_base import outside_graph, record_view

__all__ = ["check_complex", "link_inputs", "share_view_versions"]


def share_view_versions(ctx: Node, args: tuple, outs: tuple, results: list, grad_on: bool) -> None:
    """An output that shares the first input's memory (``is_view`` ops, basic indexing,
    ``split``...) is a view of it: it shares the version counter (modifying either is seen
    by every saved copy) and remembers its base (``Tensor._view``), so that in-place changes
    on either side are replayed into the graph (:mod:`.view_replay`)."""
    base = args[0] if args and isinstance(args[0], Tensor) else None
    if base is None:
        return
    root = memory_root(base._data)
    multi = ctx.name() if len(outs) > 1 else None
    for o, r in zip(outs, results):
        if memory_root(o) is root and r is not base and r._vc is not base._vc:
            r._vc = base._vc
            record_view(r, base, grad_on, multi)


_ONE_NEEDED = (True,)  # needs_input_grad of a recorded one-input op


def link_inputs(ctx: Node, args: tuple) -> None:
    """Before forward: record the graph edges, input metadata and ``needs_input_grad``."""
    if len(args) == 1:  # one input, which requires grad (``record``): no lists (-0.16 us)
        a = args[0]
        d = a._data
        dt = d.dtype
        if dt.kind == "c":
            check_complex(ctx, ctx._forward_cls)
        gf = a._grad_fn
        ctx.next_edges = ((gf, a._output_nr) if gf is not None else a if a._rg else None,)
        ctx.input_meta = ((d.shape, dt),)
        ctx.needs_input_grad = _ONE_NEEDED
        return
    edges = []
    meta = []
    needs = []
    for a in args:
        if isinstance(a, Tensor) and (a._rg or (a._view is not None and outside_graph(a))):
            gf = a._grad_fn
            if gf is not None:
                edges.append((gf, a._output_nr))
            else:  # a leaf; a view without grad_fn (outside_graph) requires grad, no edge
                edges.append(a if a._rg else None)
            d = a._data
            dt = d.dtype
            meta.append((d.shape, dt))
            needs.append(True)
            if dt.kind == "c":
                check_complex(ctx, ctx._forward_cls)
        else:
            edges.append(None)
            meta.append(None)
            needs.append(False)
    ctx.next_edges = tuple(edges)
    ctx.input_meta = tuple(meta)
    ctx.needs_input_grad = tuple(needs)


def check_complex(ctx: Node, cls: type) -> bool:
    """A complex tensor meets ``cls`` in a recorded op: allowed only where the op states a
    complex rule (``complex_grad``); the node remembers it, so that the engine applies the
    conjugate convention to a ``"holomorphic"`` rule. Returns True (the value is recorded)."""
    if not cls.complex_grad:
        name = cls.__name__
        raise NotImplementedError(
            f"{name}: autograd through complex tensors is not supported for this op (its "
            "derivative is written for real numbers and would be wrong for complex ones). "
            "Detach the complex input, or compute with real and imaginary parts "
            "(cr.view_as_real)"
        )
    ctx._complex = True
    return True
