"""The backward pass: order the graph, call each rule, send gradients on, accumulate leaves.

:func:`run_backward` is the whole engine. It orders the nodes reachable from the outputs
(:func:`~chainrule.autograd.graph.topological_order`: a node runs after every consumer of
its outputs, so gradients arriving over several paths are summed first, exactly "upstream
x local, summed over paths"), then for each node in turn takes the summed gradients of its
outputs, calls its backward rule, and sends one gradient to each input. Broadcasting is
undone here, centrally: a gradient whose shape differs from its input's is summed back to
that shape (:func:`sum_to_shape`), so no op rule ever deals with broadcasting. Gradients
reaching a leaf are written into ``.grad`` by :func:`accumulate_grad` (``leaf_grad.py``), the
one place that does so (``Tensor.backward(inputs=...)`` uses it too). The steps around the
rules (a node's output hooks and captures, ``autograd.grad``'s targets, pruning and results)
are in ``engine_steps.py``.

Grad mode is per thread: while a backward runs, the calling thread records ops only with
``create_graph=True``; other threads are not affected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._layout_carry import carry_elementwise_marks
from .._layout_marks import LAYOUT_MARKS
from ..backend import get_array_module
from ..threads import elementwise
from . import rules as _rules
from .accumulate_grad import HOOKED, summed_version
from .engine_sparse import sum_sparse as _sum_sparse
from .engine_steps import collect_grads as _collect
from .engine_steps import grad_targets as _targets
from .engine_steps import prepare_outputs as _prepare_outputs
from .engine_steps import wanted_inputs as _wanted_inputs
from .function import Node
from .graph import topological_order
from .hooks import run_node_posthooks, run_node_prehooks, run_tensor_hooks
from .ieee import quiet_off, quiet_on
from .leaf_grad import OwnedArrays, accumulate_grad, ready_owned
from .multi_grad_hook import MULTI_GRAD_HOOKS, begin_pass, end_pass
from .post_accumulate import (
    POST_ACCUMULATE_HOOKS,
    leaf_edge_counts,
    pop_ready_leaves,
)
from .rules import _as_grad_tuple as as_grad_tuple
from .rules import call_rule
from .state import LOCAL
from .tensor import Tensor

__all__ = ["run_backward", "accumulate_grad", "sum_to_shape"]

# the weak references behind MULTI_GRAD_HOOKS (the WeakSet's own set): its truth is the
# engine's test, without WeakSet.__len__'s Python call (75 -> 34 ns per backward; a dead
# reference not yet removed only starts a pass no hook joins)
_MULTI_HOOK_REFS = MULTI_GRAD_HOOKS.data


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
    allow_unused: bool = False,
) -> list | None:
    """Backpropagate ``root_grads`` from ``roots``.

    With ``inputs`` None, gradients accumulate into the ``.grad`` of leaf tensors (and of
    non-leaves that called ``retain_grad``). Otherwise the gradients with respect to
    ``inputs`` are returned (``autograd.grad``) and no ``.grad`` is touched. The pass
    computes IEEE results (inf, nan) without NumPy's warnings, as PyTorch (``ieee.py``).
    """
    token = quiet_on()  # ieee.quiet_fp's setting, entered inline: 1.1 -> 0.2 us (session 38)
    try:
        return _backward(roots, root_grads, retain_graph, create_graph, inputs, allow_unused)
    finally:
        quiet_off(token)


def _order(nodes: list) -> list[Node]:
    """:func:`~chainrule.autograd.graph.topological_order` of the roots' nodes (None for a
    leaf root). A single root whose graph is a chain (each node has at most one edge to
    another node: ``f(x).sum()``, a layer's views around its product) has one order, the
    chain's, found without counting dependencies (one op: 1.4 -> 0.3 us, session 38; longer
    chains session 41). A node with two node edges (a diamond, two outputs of one node)
    takes the graph walk."""
    if len(nodes) == 1:
        node = nodes[0]
        if node is not None:
            order = [node]
            while True:
                nxt = None
                for e in node.next_edges:
                    if type(e) is tuple:
                        if nxt is not None:
                            return topological_order(nodes)
                        nxt = e[0]
                if nxt is None:
                    return order
                order.append(nxt)
                node = nxt
    return topological_order(nodes)


def _backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None,
    allow_unused: bool,
) -> list | None:
    for t in roots if inputs is None else (*roots, *inputs):  # (no tuple built: -0.1 us)
        if t._view is not None and t._view.version != t._vc[0]:
            t._refresh_view()  # a view whose base changed in place: replay it first
    # the roots' nodes, read once each through the getter, not the slot: the loop above can
    # leave a root stale (backward under no_grad: refresh_view re-takes only a forward-mode
    # tangent), and the getter then re-takes its history
    # as PyTorch's (tests/autograd/test_profiled_backward_session39.py)
    nodes = [roots[0].grad_fn] if len(roots) == 1 else [r.grad_fn for r in roots]
    order = _order(nodes)  # 1. order the graph
    targets = None if inputs is None else _targets(inputs)
    state = LOCAL.state
    differentiable = create_graph or state.forward_ad > 0
    # the caller's arrays: never stolen; this backward's own set (OwnedArrays: what its
    # leaves took is recorded on it, not in a global a nested or concurrent backward shares)
    owned = OwnedArrays()  # (add, not the iterable constructor: -0.07 us)
    if len(root_grads) == 1:
        owned.add(id(root_grads[0]._data))
    else:
        owned.update([id(g._data) for g in root_grads])
    owned.roots = root_grads  # (a view of one becomes .grad as it is, as PyTorch's)
    pending = _Pending(differentiable, owned)
    node = nodes[0]
    if len(nodes) == 1 and node is not None:  # one root: its node's buffer, inlined (-0.2 us)
        buf = pending.nodes[node] = [None] * (
            len(node._out_meta) if node._out_meta is not None else 1
        )
        buf[roots[0]._output_nr] = root_grads[0]
    else:
        for r, node, g in zip(roots, nodes, root_grads):
            pending.add((node, r._output_nr) if node is not None else r, g)
    anomaly = state.anomaly
    # with post-accumulate-grad hooks, write each leaf as soon as its last edge has run
    ready = leaf_edge_counts(order) if targets is None and POST_ACCUMULATE_HOOKS else None
    prev_mode, state.grad_enabled = state.grad_enabled, create_graph
    state.backward_passes.append("backward" if targets is None else "grad")
    tracked = begin_pass(order, targets, roots) if _MULTI_HOOK_REFS else None
    # autograd.grad / backward(inputs=): run only the nodes on a path to an input, and ask
    # each for the gradients of its inputs on such a path only (PyTorch's pruning)
    wanted = _wanted_inputs(order, targets) if targets is not None else None
    pop = pending.nodes.pop  # (bound once: the loop runs once per node)
    # call_rule's common case, inlined below while call_rule is the plain one (the profiler
    # and FlopCounterMode replace this module's call_rule and _write_leaf while they record)
    plain = not (create_graph or anomaly) and call_rule is _rules.call_rule
    try:
        for node in order:
            grads = pop(node, None)  # 2. its output gradients, summed over paths
            if grads is None:
                if wanted is not None and node not in wanted:
                    continue
            elif wanted is not None and node not in wanted:
                # nothing wanted below: hooks and captures, no rule
                _prepare_outputs(node, grads, targets, pending, create_graph)
                continue
            elif (
                targets is not None
                or node._tensor_hooks
                or node._retain
                or node._out_meta is not None
            ):
                grads = _prepare_outputs(node, grads, targets, pending, create_graph)
            if grads is not None:
                if node._pre_hooks:
                    grads = run_node_prehooks(node, grads)
                cls = node._forward_cls
                if wanted is not None and wanted[node] is not None:
                    # some inputs lead to no target: not computed
                    input_grads = _call_pruned(
                        node, wanted[node], grads, create_graph, anomaly, differentiable
                    )
                elif plain and not node._complex and not cls._user:  # 3. call the rule
                    # call_rule's plain case without its call (-0.1 us per node)
                    node._create_graph = differentiable
                    input_grads = cls.backward(node, *grads)
                    if type(input_grads) is not tuple or len(input_grads) != len(node.next_edges):
                        input_grads = as_grad_tuple(input_grads, len(node.next_edges), node)
                else:
                    input_grads = call_rule(node, grads, create_graph, anomaly, differentiable)
                if node._post_hooks:
                    input_grads = run_node_posthooks(node, input_grads, grads)
                send_to_inputs(node, input_grads, pending)  # 4. send a gradient to each input
            if ready is not None:  # taken unless still held (ready_owned), as PyTorch's
                now = pop_ready_leaves(node, ready, pending.leaves)
                for i, (leaf, g) in enumerate(now):
                    _write_leaf(leaf, g, create_graph, ready_owned(g, now, i, pending, owned))
            if not retain_graph and (node._saved or node._saved_values):
                # release what the node saved; a node that saved nothing stays usable, so a
                # second backward through it works, as in PyTorch (x[2:5].sum())
                node._saved = None
                node._saved_values = None
                node._freed = True
                if node.out is not None and not node._forward_cls._user:
                    node.primals, node.out = (), None  # forward mode's, also released
        if targets is None:  # 5. accumulate into the leaves' .grad
            hooked = HOOKED or _write_leaf is not _PLAIN_WRITE_LEAF  # (read once)
            for leaf, g in pending.leaves.values():
                if leaf._hooks or hooked:
                    _write_leaf(leaf, g, create_graph, owned)
                else:  # no hook to run: accumulate_grad directly (-0.1 us per leaf)
                    accumulate_grad(leaf, g, create_graph, owned)
            return None
        return _collect(inputs, targets, pending, create_graph, allow_unused)
    finally:
        state.grad_enabled = prev_mode
        state.backward_passes.pop()
        if tracked is not None:  # register_multi_grad_hook: this pass is over
            end_pass(tracked)


def _call_pruned(
    node: Node, needs: tuple, grads: list, create_graph: bool, anomaly: bool, differentiable: bool
) -> tuple:
    """:func:`call_rule` with ``node.needs_input_grad`` narrowed to ``needs`` (the inputs on
    a path to a target of ``autograd.grad``) while the rule runs."""
    own, node.needs_input_grad = node.needs_input_grad, needs
    try:
        return call_rule(node, grads, create_graph, anomaly, differentiable)
    finally:
        node.needs_input_grad = own


class _Pending:
    """Gradients on their way: per node output and per leaf, summed as paths arrive."""

    __slots__ = ("differentiable", "nodes", "leaves", "captured", "owned")

    def __init__(self, differentiable: bool, owned: set):
        self.differentiable = differentiable  # sum with recorded ops (create_graph / jvp)
        self.nodes: dict = {}  # node -> [gradient per output]
        self.leaves: dict = {}  # id(leaf) -> [leaf, gradient]
        self.captured: dict = {}  # (node, output_nr) -> gradient, for autograd.grad
        self.owned = owned  # run_backward's: the caller's arrays (never summed in place)

    def add(self, edge: Any, g: Tensor) -> None:
        """Add ``g`` to what an edge ((node, output_nr) or a leaf Tensor) has received."""
        if type(edge) is tuple:
            node, nr = edge
            buf = self.nodes.get(node)
            if buf is None:
                n_out = len(node._out_meta) if node._out_meta is not None else 1
                buf = self.nodes[node] = [None] * n_out
            old = buf[nr]
            buf[nr] = g if old is None else self.sum(old, g)
        else:
            slot = self.leaves.get(id(edge))
            if slot is None:
                self.leaves[id(edge)] = [edge, g]
            else:
                old = slot[1]
                slot[1] = self.sum(old, g)
                if not self.differentiable and id(old._data) not in self.owned:
                    summed_version(old, g, slot[1])  # PyTorch's in-place sum's version

    def sum(self, a: Tensor, b: Tensor) -> Tensor:
        if (type(a) is not Tensor or type(b) is not Tensor) and (a.is_sparse or b.is_sparse):
            return _sum_sparse(a, b)
        if self.differentiable:
            return a + b
        out = elementwise(np.add, a._data, b._data)
        if isinstance(out, np.generic):  # NumPy gives a scalar for two 0-d arrays
            out = np.asarray(out)
        elif LAYOUT_MARKS:  # the recorded a + b's marks (a convolution's result's gradients)
            carry_elementwise_marks(out, a._data, b._data)
        return Tensor._make(out, False, None, 0)


def send_to_inputs(node: Node, input_grads: tuple, pending: _Pending) -> None:
    """Give each input that wants one its gradient, summed to its shape and cast to its
    dtype (undoing broadcasting and type promotion centrally)."""
    nodes = pending.nodes
    leaves = pending.leaves
    for i, (edge, g, meta) in enumerate(zip(node.next_edges, input_grads, node.input_meta)):
        if edge is None or g is None:
            continue
        if type(g) is not Tensor:  # (a plain Tensor, the common case, skips both tests)
            if not isinstance(g, Tensor):
                if not hasattr(g, "shape"):
                    raise RuntimeError(
                        f"{node.name()} returned {type(g).__name__} as the gradient "
                        f"for input {i}; expected a Tensor or None"
                    )
                g = Tensor._make(g, False, None, 0)
            elif g.is_sparse and type(edge) is tuple:
                g = g.to_dense()  # a sparse gradient (nn.Embedding(sparse=True)) of a non-leaf
        shape, dtype = meta
        d = g._data
        if d.shape != shape:
            g = sum_to_shape(g, shape, pending.differentiable, node, i)
        if d.dtype != dtype:
            if d.dtype.kind == "c" and dtype.kind != "c":
                g = g.real  # a real input's gradient is the real part (PyTorch)
            g = g.to(dtype)
        if type(edge) is tuple:
            if edge[0]._out_meta is None and edge[0] not in nodes:
                nodes[edge[0]] = [g]  # the first gradient of a one-output node, inlined (~0.1 us)
                continue
        elif id(edge) not in leaves:
            leaves[id(edge)] = [edge, g]  # a leaf's first gradient, inlined (session 43)
            continue
        pending.add(edge, g)


def _write_leaf(leaf: Tensor, g: Tensor, create_graph: bool, owned: set | None) -> None:
    """A leaf's tensor hooks, its ``AccumulateGrad`` pre hooks, then its ``.grad`` (and
    post-accumulate-grad hooks), then the ``AccumulateGrad`` post hooks, as PyTorch."""
    if leaf._hooks:
        g = run_tensor_hooks(leaf._hooks, g)
    node = HOOKED.get(id(leaf)) if HOOKED else None
    if node is not None:
        g = node.run_prehooks(g)
        if g is None:  # a pre hook returned (None,): nothing accumulated, as PyTorch
            return
    accumulate_grad(leaf, g, create_graph, owned)
    if node is not None:
        node.run_posthooks(g)


_PLAIN_WRITE_LEAF = _write_leaf  # (the profiler's wrapper, while it records, is not)


def _invalid_gradient(got: tuple, shape: tuple, node: Node | None, index: int) -> RuntimeError:
    """PyTorch's ``validate_outputs`` error. Its index counts the node's tensor inputs; here
    those that took a gradient (the same where every tensor before it did)."""
    if node is not None:
        index = sum(1 for m in node.input_meta[:index] if m is not None)
    return RuntimeError(
        f"Function {node.name() if node is not None else 'backward'} returned an invalid "
        f"gradient at index {index} - got {list(got)} but expected shape compatible with "
        f"{list(shape)}"
    )


def sum_to_shape(
    g: Tensor, shape: tuple, differentiable: bool, node: Node | None = None, index: int = 0
) -> Tensor:
    """Sum ``g`` over the axes broadcasting added or stretched, giving ``shape``.

    ``differentiable`` records the sum as ops (for ``create_graph`` and forward mode);
    otherwise it is one array reduction. A gradient that is a ``cr.func.vmap`` batched tensor
    (a Tensor subclass: backward inside vmap) also goes through the ops, whose batching
    rules know its batch dimension.
    """
    gs = g._data.shape
    lead = len(gs) - len(shape)
    if lead < 0 or any(s != 1 and s != t for s, t in zip(shape, gs[lead:])):
        raise _invalid_gradient(gs, shape, node, index)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gs[i + lead] != 1
    )
    if differentiable or type(g) is not Tensor:
        return (g.sum(dim=axes, keepdim=True) if axes else g).reshape(shape)
    d = g._data
    if axes and (d.dtype == np.float16 or d.dtype.kind == "V"):
        # float16/bfloat16: accumulated in float32 and rounded once, as PyTorch's sums (NumPy
        # would accumulate 4 000 bfloat16 products in bfloat16: 1024 where the sum is 5472)
        d = d.sum(axis=axes, keepdims=True, dtype=np.float32).astype(d.dtype)
    elif axes:
        d = d.sum(axis=axes, keepdims=True)
    if axes and not d.flags.c_contiguous:  # PyTorch's sum is row-major (NumPy's keeps order)
        d = get_array_module(d).ascontiguousarray(d)  # (meta: no memory; CuPy's own)
    return Tensor._make(d.reshape(shape), False, None, 0)
