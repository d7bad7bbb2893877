"""The engine's steps around the rules: a node's output gradients, and ``autograd.grad``.

:func:`~chainrule.autograd.engine.run_backward` calls these parts of its pass, kept apart
so that the engine's loop reads on one screen:

* :func:`prepare_outputs`: a node's tensor hooks, ``retain_grad`` and ``autograd.grad``
  captures on its outputs, and zeros for the outputs that received no gradient;
* :func:`grad_targets`, :func:`wanted_inputs`: for ``autograd.grad`` /
  ``backward(inputs=)``, where the inputs sit in the graph and which nodes (and which of
  their inputs) lie on a path to one (PyTorch's pruning);
* :func:`collect_grads`: the gradients ``autograd.grad`` returns, one per input.

None of them is replaced while the profiler or ``FlopCounterMode`` records (those replace
``engine.call_rule`` and ``engine._write_leaf``), so they can live outside ``engine.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..backend import get_array_module
from ..meta.array import MetaArray, meta_empty
from .function import Node
from .hooks import run_tensor_hooks
from .leaf_grad import view_of_root
from .node import is_builtin
from .tensor import Tensor

if TYPE_CHECKING:  # (engine.py imports this module: its _Pending only for the hints)
    from .engine import _Pending as Pending

__all__ = ["grad_targets", "wanted_inputs", "prepare_outputs", "collect_grads", "detached_grad"]


def grad_targets(inputs: Sequence[Tensor] | None) -> dict | None:
    """For ``autograd.grad``: map each input's edge to its positions in ``inputs``."""
    if inputs is None:
        return None
    targets: dict = {}
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(
                "One of the differentiated Tensors does not require grad\n"
                f"autograd.grad: input {i} (shape {tuple(t.shape)}) does not require grad; "
                "call .requires_grad_() on it before building the graph"
            )
        key = (t.grad_fn, t._output_nr) if t.grad_fn is not None else id(t)
        targets.setdefault(key, []).append(i)
    return targets


def wanted_inputs(order: list, targets: dict) -> dict:
    """For a pass with targets: ``{node: needs}`` for every node with a path to a target,
    where ``needs`` is the node's ``needs_input_grad`` restricted to the inputs on such a
    path (chainrule's own ops: their rules then skip the other gradients), or None where
    nothing is pruned. ``order`` runs from the outputs to the leaves,
    so walking it backwards meets every input's producer before its consumer."""
    wanted: dict = {}
    for node in reversed(order):
        needs = []
        for edge in node.next_edges:
            if edge is None:
                needs.append(False)
            elif type(edge) is tuple:
                needs.append(edge[0] in wanted or edge in targets)
            else:
                needs.append(id(edge) in targets)
        if any(needs):
            own = node.needs_input_grad
            pruned = tuple(n and w for n, w in zip(own, needs)) + tuple(own[len(needs) :])
            # a user's Function sees needs_input_grad as set in forward, as in PyTorch
            user = node._forward_cls is not None and not is_builtin(node._forward_cls)
            wanted[node] = None if user or pruned == tuple(own) else pruned
    return wanted


def prepare_outputs(
    node: Node, grads: list, targets: dict | None, pending: Pending, create_graph: bool
) -> list | None:
    """Tensor hooks, ``retain_grad`` and ``autograd.grad`` capture for a node's outputs;
    outputs that received no gradient get zeros (multi-output ops)."""
    if node._tensor_hooks:
        for nr, hooks in node._tensor_hooks.items():
            if grads[nr] is not None:
                grads[nr] = run_tensor_hooks(hooks, grads[nr])
    if node._retain:
        for nr, ref in node._retain.items():
            t = ref()
            g = grads[nr]
            if t is not None and g is not None:
                g = g if create_graph else g.detach()
                if t._grad is None and type(g) is Tensor:
                    # a row-major copy, as PyTorch's retain_grad (clone(Contiguous)): never
                    # the memory of the gradient that flows on or of the caller's gradient
                    c = g.contiguous()
                    g = c.clone() if c is g else c
                t.grad = g if t._grad is None else pending.sum(t._grad, g)
    if targets is not None:
        for nr, g in enumerate(grads):
            if g is not None and (node, nr) in targets:
                pending.captured[(node, nr)] = g
    if all(g is None for g in grads):
        return None
    if node._out_meta is not None and node.materialize_grads:  # set_materialize_grads(False)
        ref = next(g for g in grads if g is not None)._data
        for nr, g in enumerate(grads):
            if g is None and nr not in node._passed_outputs:  # a non-Tensor output: None
                shape, dtype = node._out_meta[nr]
                zeros = (  # on ref's device (meta: no data, session 39)
                    meta_empty(shape, dtype)
                    if type(ref) is MetaArray
                    else get_array_module(ref).zeros(shape, dtype)
                )
                grads[nr] = Tensor._make(zeros, False, None, 0)
    return grads


def collect_grads(
    inputs: Sequence[Tensor],
    targets: dict,
    pending: Pending,
    create_graph: bool,
    allow_unused: bool,
) -> list:
    """The gradients ``autograd.grad`` returns, one per input (None if unused and allowed)."""
    results: list = [None] * len(inputs)
    for key, idxs in targets.items():
        if type(key) is int:  # a leaf
            slot = pending.leaves.get(key)
            g = None
            if slot is not None:
                g = run_tensor_hooks(slot[0]._hooks, slot[1]) if slot[0]._hooks else slot[1]
        else:
            g = pending.captured.get(key)
        for i in idxs:
            results[i] = g
    for i, g in enumerate(results):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: input {i} was not used in the graph of the outputs; pass "
                "allow_unused=True to get None for it"
            )
    if not create_graph:  # one detached tensor per gradient: one reaching two inputs is
        detached: dict = {}  # returned as the same tensor, as PyTorch's (and then written
        for i, g in enumerate(results):  # to both leaves' .grad as PyTorch's AccumulateGrad)
            if g is not None:
                d = detached.get(id(g))
                if d is None:
                    d = detached[id(g)] = detached_grad(g)
                    view_of_root(d, g._data, pending.owned.roots)  # the caller's gradient's view?
                results[i] = d
    return results


def detached_grad(g: Tensor) -> Tensor:
    """Cut ``g`` from the graph but keep a forward-mode tangent (for jacfwd(jacrev(f)))."""
    d = g.detach()
    d._fw_tangent = g._fw_tangent
    return d
