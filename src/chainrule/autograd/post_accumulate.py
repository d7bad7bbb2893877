"""``Tensor.register_post_accumulate_grad_hook``: call ``hook(tensor)`` on a leaf right after
backward has written its ``.grad`` (PyTorch's hook for optimizer-in-backward and gradient
bucketing).

``Tensor`` has fixed slots, so the hooks are kept here by the tensor's ``id``; a
``weakref.finalize`` drops a tensor's entry when the tensor dies (before its ``id`` can be
reused). :func:`run_post_accumulate_grad_hooks` is called by
:func:`~chainrule.autograd.leaf_grad.accumulate_grad`, the one place a backward writes
``.grad``, so the hooks run for ``backward()``, ``autograd.backward`` and ``backward(inputs=
...)`` alike, and never for ``autograd.grad`` (which writes no ``.grad``), as in PyTorch.

As in PyTorch, a leaf's hooks run once per backward, after its tensor hooks
(``register_hook``) and after all of its gradient has been summed into ``.grad``, in grad
mode only under ``create_graph=True``. And as PyTorch runs a leaf's ``AccumulateGrad`` as
soon as it is ready, a backward writes each leaf's ``.grad`` (then runs its hooks) right
after the last node sending it a gradient has run (:func:`leaf_edge_counts`,
:func:`pop_ready_leaves`), while any such hook is registered: an optimizer step in the hook
then happens during the backward pass, and a hook sees the ``.grad`` of the leaves written
before it. (Without such hooks the engine writes all leaves at the end, which nothing can
tell apart.) The nodes run in chainrule's topological order, which may order independent
branches differently from PyTorch's.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from .hooks import hook_name
from .node import public_view
from .state import current
from .tensor import Tensor
from .tensor_backward import _RemovableHandle

__all__ = [
    "POST_ACCUMULATE_HOOKS",
    "leaf_edge_counts",
    "pop_ready_leaves",
    "register_post_accumulate_grad_hook",
    "run_post_accumulate_grad_hooks",
]

POST_ACCUMULATE_HOOKS: dict[int, list[Callable[[Tensor], None]]] = {}


def register_post_accumulate_grad_hook(self: Tensor, hook: Callable[[Tensor], None]) -> Any:
    """Call ``hook(self)`` after backward has accumulated a gradient into ``self.grad``
    (``Tensor.register_post_accumulate_grad_hook``). ``self`` must be a leaf that requires
    grad; the hook may read and change ``self`` and ``self.grad`` in place and must return
    None. Returns a handle whose ``remove()`` takes the hook off again.

    Raises:
        RuntimeError: ``self`` does not require grad or is not a leaf (as PyTorch).
        TypeError: ``hook`` is not callable (PyTorch would fail only during backward).
    """
    if not self.requires_grad:
        raise RuntimeError(
            "register_post_accumulate_grad_hook(): cannot register a hook on a tensor that "
            "doesn't require gradient"
        )
    if self.grad_fn is not None:
        raise RuntimeError(
            "register_post_accumulate_grad_hook(): post accumulate grad hooks cannot be "
            "registered on non-leaf tensors"
        )
    if not callable(hook):
        raise TypeError(
            "register_post_accumulate_grad_hook(): hook must be callable, got "
            f"{type(hook).__name__}"
        )
    key = id(self)
    hooks = POST_ACCUMULATE_HOOKS.get(key)
    if hooks is None:
        hooks = POST_ACCUMULATE_HOOKS[key] = []
        weakref.finalize(self, POST_ACCUMULATE_HOOKS.pop, key, None)
    hooks.append(hook)
    return _PostAccumulateHandle(hooks, hook, key)


class _PostAccumulateHandle(_RemovableHandle):
    """Removes the hook, and the tensor's entry once its last hook is gone, so that the
    engine goes back to writing leaves at the end (no copies) when no hook is left."""

    def __init__(self, hooks: list, fn: Callable, key: int):
        super().__init__(hooks, fn)
        self._key = key

    def remove(self) -> None:
        super().remove()
        if not self._hooks and POST_ACCUMULATE_HOOKS.get(self._key) is self._hooks:
            del POST_ACCUMULATE_HOOKS[self._key]


def run_post_accumulate_grad_hooks(t: Tensor, create_graph: bool) -> None:
    """Run ``t``'s post-accumulate-grad hooks in registration order, with grad mode on only
    under ``create_graph`` (as PyTorch runs backward hooks)."""
    hooks = POST_ACCUMULATE_HOOKS.get(id(t))
    if not hooks:
        return
    state = current()
    prev, state.grad_enabled = state.grad_enabled, create_graph
    try:
        for h in list(hooks):
            out = h(t)
            if out is not None and not isinstance(out, Tensor):  # PyTorch's TypeError
                raise TypeError(
                    f"expected Variable, but hook returned '{type(out).__name__}' (the post "
                    f"accumulate grad hook {hook_name(h)!r} must return None)"
                )
            if out is not None:
                raise RuntimeError(  # PyTorch's type and first sentence
                    "Tensor post accumulate grad hooks should return None. (The hook "
                    f"{hook_name(h)!r} returned {type(out).__name__}; change the tensor or its "
                    ".grad in place instead.)"
                )
    finally:
        state.grad_enabled = prev


def leaf_edge_counts(order: list) -> dict[int, int]:
    """How many edges of the nodes in ``order`` lead to each leaf (by ``id``)."""
    counts: dict[int, int] = {}
    for node in order:
        for edge in node.next_edges:
            if isinstance(edge, Tensor):
                counts[id(edge)] = counts.get(id(edge), 0) + 1
    return counts


def pop_ready_leaves(node: Any, counts: dict[int, int], leaves: dict) -> list:
    """After ``node`` has run: the ``[leaf, gradient]`` entries of ``leaves`` (the engine's
    pending leaf gradients, by ``id``) that no later node can add to, taken out of
    ``leaves``, in the order of PyTorch's node's inputs (``F.linear``'s ``AddmmBackward0``
    lists bias, input, weight: PyTorch writes a ``Linear``'s bias before its weight)."""
    ready = []
    for edge in _torch_edge_order(node):
        if isinstance(edge, Tensor):
            key = id(edge)
            counts[key] -= 1
            if counts[key] == 0 and key in leaves:
                ready.append(leaves.pop(key))
    return ready


def _torch_edge_order(node: Any) -> list:
    """``node.next_edges`` in the order PyTorch's node lists its inputs (``public_view``;
    the inputs it does not list, after them), so leaves become ready in PyTorch's order."""
    edges = node.next_edges
    if len(edges) < 2 or node._forward_cls is None:
        return list(edges)
    listed = public_view(node)[1]
    if listed is None:
        return list(edges)
    order = [i for i in listed if type(i) is int and i < len(edges)]
    return [edges[i] for i in order] + [e for j, e in enumerate(edges) if j not in order]
