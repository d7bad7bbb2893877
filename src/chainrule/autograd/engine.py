"""The backward pass: iterative topological order, accumulation over paths, sum-to-shape.

``run_backward`` walks the graph from the outputs without recursion (a chain of 100 000
ops is fine), counting for every node how many consumers feed it a gradient. A node runs
once all of them have (Kahn's algorithm), so gradients arriving over several paths are
summed first, exactly "upstream x local, summed over paths". Broadcasting is undone here,
centrally: a gradient whose shape differs from its input's is summed back to that shape,
so no op rule ever deals with broadcasting.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..threads import elementwise
from . import grad_mode
from .function import Function, Node, user_frame
from .state import ANOMALY, FORWARD_AD
from .tensor import Tensor

_GRAD = grad_mode._STATE


_SUM_TO: list = []


def _sum_to():
    """ops.shape.sum_to, imported once (ops import autograd, so not at module level)."""
    if not _SUM_TO:
        from ..ops.shape import sum_to

        _SUM_TO.append(sum_to)
    return _SUM_TO[0]


def _check_finite(node: Node, grads) -> None:
    from ..backend import get_array_module

    for i, g in enumerate(grads):
        if g is None:
            continue
        d = g.data
        if d.dtype.kind == "f" and not get_array_module(d).isfinite(d).all():
            where = user_frame(node._trace) if node._trace else "<unknown>"
            raise RuntimeError(
                f"anomaly detected: {node.name()} returned NaN or Inf in its gradient for input "
                f"{i} (shape {tuple(d.shape)}). The forward op was called at {where}"
            )


class _DoubleBackwardError(Function):
    """Stand-in node for the outputs of a backward rule that cannot be differentiated."""

    raw = True

    @staticmethod
    def forward(ctx, g, *upstream, name):
        ctx.op_name = name
        return g

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            f"{ctx.op_name}: double backward (create_graph=True through this op's backward) "
            "is not supported; its backward is only differentiable once"
        )


def _grads_to_tuple(res, n: int, node: Node):
    if not isinstance(res, tuple):
        res = (res,)
    if len(res) < n:
        raise RuntimeError(
            f"{node.name()}: backward returned {len(res)} gradients but forward had {n} inputs"
        )
    return res


def count_dependencies(root_nodes: Sequence) -> dict:
    """Discover the graph reachable from ``root_nodes`` (iteratively, no recursion) and count,
    for every node, how many consumers will send it a gradient. A node may run once all of
    them have: that is the engine's topological order (Kahn's algorithm)."""
    deps: dict = {}
    stack = []
    for node in root_nodes:
        if node is not None and node not in deps:
            deps[node] = 0
            stack.append(node)
    while stack:
        node = stack.pop()
        for e in node.next_edges:
            if type(e) is tuple:
                nxt = e[0]
                if nxt in deps:
                    deps[nxt] += 1
                else:
                    deps[nxt] = 1
                    stack.append(nxt)
    return deps


def run_backward(
    roots: Sequence,
    root_grads: Sequence,
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence | None = None,
    allow_unused: bool = False,
):
    """Backpropagate ``root_grads`` from ``roots``.

    With ``inputs`` None, gradients accumulate into the ``.grad`` of leaf tensors (and of
    non-leaves that called ``retain_grad``). Otherwise the gradients with respect to
    ``inputs`` are returned (``autograd.grad``) and no ``.grad`` is touched.
    """
    sum_to = _sum_to()

    deps = count_dependencies([r.grad_fn for r in roots])

    capture = None
    if inputs is not None:
        capture = {}
        for i, t in enumerate(inputs):
            if not t.requires_grad:
                raise RuntimeError(
                    f"autograd.grad: input {i} (shape {t.shape}) does not require grad; "
                    "call .requires_grad_() on it before building the graph"
                )
            key = (t.grad_fn, t._output_nr) if t.grad_fn is not None else id(t)
            capture.setdefault(key, []).append(i)

    buffers: dict = {}  # node -> list of gradient per output
    store: dict = {}  # (node, output_nr) -> gradient captured for autograd.grad
    leaves: dict = {}  # id(leaf) -> [leaf, grad]

    def add(target, nr, g):
        if type(target) is tuple:
            node, nr = target
            buf = buffers.get(node)
            if buf is None:
                n_out = len(node._out_meta) if node._out_meta is not None else 1
                buf = buffers[node] = [None] * n_out
            old = buf[nr]
            buf[nr] = g if old is None else _accumulate(old, g, create_graph)
        else:
            slot = leaves.get(id(target))
            if slot is None:
                leaves[id(target)] = [target, g]
            else:
                slot[1] = _accumulate(slot[1], g, create_graph)

    for r, g in zip(roots, root_grads):
        add((r.grad_fn, r._output_nr) if r.grad_fn is not None else r, 0, g)

    ready = [n for n in deps if deps[n] == 0]
    prev_mode = _GRAD[0]
    _GRAD[0] = create_graph
    try:
        while ready:
            node = ready.pop()
            gouts = buffers.pop(node, None)
            if gouts is not None and (capture is not None or node._tensor_hooks or node._retain
                                      or node._out_meta is not None):
                gouts = _prepare_outputs(node, gouts, capture, store, create_graph)
            if gouts is not None:
                if ANOMALY[0]:
                    _check_finite(node, gouts)
                if create_graph and not node.fn.differentiable_backward:
                    _GRAD[0] = False
                    res = node.fn.backward(node, *gouts)
                    _GRAD[0] = True
                    res = _grads_to_tuple(res, len(node.next_edges), node)
                    ups = [g for g in gouts if g.requires_grad]
                    # The gradients depend on the op's saved inputs too: connect them, so
                    # differentiating again reaches the error node instead of a silent 0.
                    ups += [t for t in node.saved_tensors
                            if isinstance(t, Tensor) and t.requires_grad]
                    res = tuple(
                        None if g is None else _DoubleBackwardError.apply(
                            _to_tensor(g), *ups, name=node.name())
                        for g in res
                    )
                elif ANOMALY[0]:
                    # Ops run inside a backward rule are checked as that rule's result
                    # (named after the node), not one by one as forward ops.
                    ANOMALY[0] = False
                    try:
                        res = node.fn.backward(node, *gouts)
                    finally:
                        ANOMALY[0] = True
                    res = _grads_to_tuple(res, len(node.next_edges), node)
                else:
                    res = node.fn.backward(node, *gouts)
                    if type(res) is not tuple or len(res) < len(node.next_edges):
                        res = _grads_to_tuple(res, len(node.next_edges), node)
                if ANOMALY[0]:
                    _check_finite(node, [_to_tensor(g) for g in res[: len(node.next_edges)]])
                for edge, g, meta in zip(node.next_edges, res, node.input_meta):
                    if edge is None or g is None:
                        continue
                    if not isinstance(g, Tensor):
                        g = Tensor._make(g, False, None, 0)
                    shape, dtype = meta
                    d = g.data
                    if d.shape != shape:
                        g = sum_to(g, shape)
                    if d.dtype != dtype:
                        g = g.to(dtype)
                    if type(edge) is tuple:  # a node: buffer per output (inlined add())
                        nxt, nr = edge
                        buf = buffers.get(nxt)
                        if buf is None:
                            if nxt._out_meta is None:
                                buffers[nxt] = [g]
                                continue
                            buf = buffers[nxt] = [None] * len(nxt._out_meta)
                        old = buf[nr]
                        buf[nr] = g if old is None else _accumulate(old, g, create_graph)
                    else:
                        add(edge, 0, g)
            if not retain_graph:
                node._saved = None
                node._saved_entries = None
                node._freed = True
            for e in node.next_edges:
                if type(e) is tuple:
                    nxt = e[0]
                    deps[nxt] -= 1
                    if deps[nxt] == 0:
                        ready.append(nxt)

        results = None
        if capture is not None:
            results = [None] * len(inputs)
            for key, idxs in capture.items():
                if type(key) is int:
                    slot = leaves.get(key)
                    g = slot[1] if slot is not None else None
                    if slot is not None and slot[0]._hooks:
                        g = _run_hooks(slot[0]._hooks, g)
                else:
                    g = store.get(key)
                for i in idxs:
                    results[i] = g
        else:
            given = {id(g.data) for g in root_grads}
            for leaf, g in leaves.values():
                if leaf._hooks:
                    g = _run_hooks(leaf._hooks, g)
                _accumulate_into_leaf(leaf, g, create_graph, given)
    finally:
        _GRAD[0] = prev_mode

    if results is not None:
        for i, g in enumerate(results):
            if g is None and not allow_unused:
                raise RuntimeError(
                    f"autograd.grad: input {i} was not used in the graph of the outputs; pass "
                    "allow_unused=True to get None for it"
                )
        if not create_graph:
            results = [None if g is None else _detached(g) for g in results]
    return results



def _prepare_outputs(node: Node, gouts: list, capture, store: dict, create_graph: bool):
    """Run tensor hooks / retain_grad / capture for a node's outputs; fill missing grads."""
    if node._tensor_hooks:
        for nr, hooks in node._tensor_hooks.items():
            if gouts[nr] is not None:
                gouts[nr] = _run_hooks(hooks, gouts[nr])
    if node._retain:
        for nr, ref in node._retain.items():
            t = ref()
            g = gouts[nr]
            if t is not None and g is not None:
                g = g if create_graph else g.detach()
                t.grad = g if t.grad is None else _accumulate(t.grad, g, create_graph)
    if capture is not None:
        for nr, g in enumerate(gouts):
            if (node, nr) in capture and g is not None:
                store[(node, nr)] = g
    if all(g is None for g in gouts):
        return None
    if node._out_meta is not None:
        from ..backend import get_array_module

        for nr, g in enumerate(gouts):
            if g is None:
                shape, dtype = node._out_meta[nr]
                ref = next(x for x in gouts if x is not None).data
                gouts[nr] = Tensor._make(get_array_module(ref).zeros(shape, dtype), False, None, 0)
    return gouts


def _detached(g):
    """Cut ``g`` from the graph but keep a forward-mode tangent (for jacfwd(jacrev(f)))."""
    d = g.detach()
    d._fw_tangent = g._fw_tangent
    return d


def _run_hooks(hooks, g):
    for h in hooks:
        out = h(g)
        if out is not None:
            g = out
    return g


def _to_tensor(g):
    if g is None or isinstance(g, Tensor):
        return g
    return Tensor._make(g, False, None, 0)


def _accumulate(old, g, create_graph: bool):
    if create_graph or FORWARD_AD[0]:
        return old + g
    return Tensor._make(elementwise(np.add, old.data, g.data), False, None, 0)


def _accumulate_into_leaf(leaf, g, create_graph: bool, given: set) -> None:
    if create_graph:
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    arr = g.data
    if leaf.grad is None:
        # Steal the array when this backward made it and nothing else holds it;
        # otherwise copy so that later in-place updates of .grad cannot alias.
        if id(arr) in given or arr.base is not None or not arr.flags.owndata:
            arr = arr.copy()
        given.add(id(arr))
        leaf.grad = Tensor._make(arr, False, None, 0)
    else:
        leaf.grad = Tensor._make(leaf.grad.data + arr, False, None, 0)
