"""``register_multi_grad_hook``: one hook over the gradients of several tensors.

Each tensor gets an ordinary tensor hook (``Tensor.register_hook``, so it sees the gradient
where any tensor hook would, after the hooks registered before it) that reports to one
:class:`_MultiGradHook`. What the hook does depends on the backward pass it is part of, so
the engine tells this module which pass is running (:func:`begin_pass` / :func:`end_pass`,
only while some multi-grad hook is alive: :data:`MULTI_GRAD_HOOKS` is the one check it makes
otherwise). Per pass and per hook:

* ``mode="all"``: the tensors whose gradient this pass computes are worked out first (for
  ``backward()``, every tensor behind the roots; with ``inputs`` or ``autograd.grad``, only
  those on a path to an input, as PyTorch computes no other); once each has reported, ``fn``
  gets the list of gradients, None for the other tensors. A pass that computes none of them
  does not call ``fn``.
* ``mode="any"``: ``fn`` gets the first gradient computed for any of the tensors.

chainrule's engine runs every node behind the roots even under ``autograd.grad``, so tensor
hooks may fire for tensors PyTorch leaves alone; this hook ignores those, to pass what
PyTorch passes. (PyTorch refuses ``mode="all"`` over a leaf tensor during ``autograd.grad``,
"currently not supported"; chainrule applies the rule above: the leaf counts when it is
among the inputs.)
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from .tensor import Tensor

__all__ = ["MULTI_GRAD_HOOKS", "begin_pass", "end_pass", "register_multi_grad_hook"]

MULTI_GRAD_HOOKS: weakref.WeakSet = weakref.WeakSet()  # the live hooks (the engine's check)
_LOCAL = threading.local()  # .passes: this thread's running backward passes, innermost last


class _Pass:
    """One running backward pass as the hooks need to know it."""

    def __init__(self, order: list, targets: dict | None, roots: Sequence[Tensor]):
        self.order = order
        self.targets = targets  # None for backward(); else the engine's map of inputs
        self.roots = roots
        self.hooks: dict = {}  # _MultiGradHook -> its state in this pass
        self._reach: tuple | None = None

    def computes(self, spec: Any) -> bool:
        """Whether this pass computes the gradient of the tensor ``spec`` stands for:
        ``(node, output_nr)`` for an op output, a weak reference for a leaf."""
        if self._reach is None:
            self._reach = self._reachable()
        nodes, leaves = self._reach
        if spec is None:  # mode="any": a tensor that does not require grad
            return False
        if type(spec) is tuple:
            return spec[0] in nodes or (self.targets is not None and spec in self.targets)
        leaf = spec()
        return leaf is not None and id(leaf) in leaves

    def _reachable(self) -> tuple[set, set]:
        """The nodes whose output gradients this pass computes, and the ids of the leaves
        that get a gradient (with ``inputs``: the nodes on a path to one, and the inputs)."""
        targets = self.targets
        if targets is None:
            leaves = {id(r) for r in self.roots if r.grad_fn is None}
            for node in self.order:
                for e in node.next_edges:
                    if e is not None and type(e) is not tuple:
                        leaves.add(id(e))
            return set(self.order), leaves
        needed: set = set()
        for node in reversed(self.order):  # producers first: a node after all it feeds
            for e in node.next_edges:
                if e is None:
                    continue
                if type(e) is tuple:  # an op output: an input itself, or on a path to one
                    hit = e in targets or e[0] in needed
                else:  # a leaf: an input itself
                    hit = id(e) in targets
                if hit:
                    needed.add(node)
                    break
        return needed, {k for k in targets if type(k) is int}


def begin_pass(order: list, targets: dict | None, roots: Sequence[Tensor]) -> _Pass:
    """Called by the engine as a backward pass starts (while any hook is alive)."""
    p = _Pass(order, targets, roots)
    stack = getattr(_LOCAL, "passes", None)
    if stack is None:
        stack = _LOCAL.passes = []
    stack.append(p)
    return p


def end_pass(p: _Pass) -> None:
    """Called by the engine as the pass ``p`` ends (normally or by an exception)."""
    stack = _LOCAL.passes
    if stack and stack[-1] is p:
        stack.pop()
    elif p in stack:
        stack.remove(p)


class _MultiGradHook:
    """The shared state behind one ``register_multi_grad_hook`` call."""

    __slots__ = ("fn", "mode", "specs", "__weakref__")

    def __init__(self, fn: Callable, mode: str, specs: list):
        self.fn, self.mode, self.specs = fn, mode, specs

    def tensor_hook(self, i: int) -> Callable:
        """The hook registered on tensor ``i``: reports its gradient, changes nothing."""

        def report(grad: Tensor) -> None:
            self.got(i, grad)

        report.__qualname__ = f"register_multi_grad_hook.<{getattr(self.fn, '__name__', 'fn')}>"
        return report

    def got(self, i: int, grad: Tensor) -> None:
        stack = getattr(_LOCAL, "passes", None)
        if not stack:  # a pass that began before this hook was registered: not its business
            return
        p = stack[-1]
        state = p.hooks.get(self)
        if state is None:
            state = p.hooks[self] = self._start(p)
        if i not in state[1]:  # not one of the gradients this pass computes (see module doc)
            return
        if self.mode == "any":
            state[1].clear()  # fire once per pass
            self.fn(grad)
            return
        state[0][i] = grad
        state[1].discard(i)
        if not state[1]:
            self.fn(state[0])

    def _start(self, p: _Pass) -> list:
        """This hook's state in pass ``p``: the gradients so far, and the indices of the
        tensors still to report."""
        waiting = {i for i, spec in enumerate(self.specs) if p.computes(spec)}
        return [[None] * len(self.specs), waiting]


class _MultiHandle:
    """What ``register_multi_grad_hook`` returns: ``remove()`` takes the hook off every
    tensor; usable as a context manager (removed on exit), as PyTorch's handle."""

    def __init__(self, handles: list, hook: _MultiGradHook):
        self.handles = handles
        self._hook = hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        MULTI_GRAD_HOOKS.discard(self._hook)

    def __enter__(self) -> _MultiHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def register_multi_grad_hook(
    tensors: Sequence[Tensor], fn: Callable, *, mode: str = "all"
) -> _MultiHandle:
    """Register ``fn`` over the gradients of ``tensors`` (PyTorch's
    ``torch.autograd.graph.register_multi_grad_hook``).

    With ``mode="all"``, ``fn(grads)`` runs once per backward pass, after the gradient of
    every tensor that pass computes is known; ``grads`` is a list with one entry per tensor,
    None for a tensor the pass does not reach (or, with ``inputs`` / ``autograd.grad``, does
    not need). With ``mode="any"``, ``fn(grad)`` runs with the first of those gradients
    computed in the pass. ``fn``'s return value is ignored; it should not change its
    arguments.

    Returns:
        A handle whose ``remove()`` unregisters the hook.

    Raises:
        ValueError: ``mode`` is not ``"all"`` or ``"any"`` (as PyTorch).
        AssertionError: under ``mode="all"``, a tensor does not require grad (as PyTorch;
            ``mode="any"`` skips such a tensor, which never gets a gradient).
        TypeError: an entry of ``tensors`` is not a Tensor.
    """
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = tuple(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(
                f"register_multi_grad_hook(): expected a sequence of Tensors, got an entry "
                f"of type {type(t).__name__}"
            )
        if mode == "all" and not t.requires_grad:
            raise AssertionError(
                "register_multi_grad_hook(mode='all'): every tensor must require grad "
                f"(Expected gradient function to be set); got one of shape {tuple(t.shape)} "
                "that does not"
            )
    specs: list = [None] * len(tensors)  # per tensor: (node, output_nr), a weakref, or None
    hook = _MultiGradHook(fn, mode, specs)
    handles = []
    for i, t in enumerate(tensors):
        if t.requires_grad:
            handles.append(t.register_hook(hook.tensor_hook(i)))
            specs[i] = weakref.ref(t) if t.grad_fn is None else (t.grad_fn, t._output_nr)
    MULTI_GRAD_HOOKS.add(hook)
    return _MultiHandle(handles, hook)
