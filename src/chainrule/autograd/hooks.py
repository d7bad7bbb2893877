"""Running backward hooks and checking what they return (PyTorch's rules and errors).

Three kinds of hook change gradients during backward:

* a tensor hook, ``t.register_hook(fn)``: ``fn(grad) -> Tensor | None``;
* a node pre-hook, ``t.grad_fn.register_prehook(fn)``: ``fn(grad_outputs) -> tuple | None``;
* a node hook, ``t.grad_fn.register_hook(fn)``: ``fn(grad_inputs, grad_outputs) -> tuple |
  None``, run after the node's backward rule.

A returned gradient must keep the shape and dtype of the one it replaces. Nothing sums or
casts it back, which would hide the bug; the error names the hook (its ``__qualname__``),
the node, and both shapes.
"""

from __future__ import annotations

from typing import Any

from .tensor import Tensor

__all__ = ["hook_name", "run_node_posthooks", "run_node_prehooks", "run_tensor_hooks"]


def hook_name(hook: Any) -> str:
    """How an error names a hook: its ``__qualname__`` (``Model.forward.<locals>.clip``)."""
    return getattr(hook, "__qualname__", None) or getattr(hook, "__name__", None) or repr(hook)


def run_tensor_hooks(hooks: list, g: Tensor) -> Tensor:
    """Apply a tensor's hooks in order; each may return a replacement gradient."""
    for h in hooks:
        out = h(g)
        if out is not None:
            if (
                not isinstance(out, Tensor)
                or out._data.shape != g._data.shape
                or out._data.dtype != g._data.dtype
            ):
                _refuse(f"hook {hook_name(h)!r}", g, out, "")
            g = out
    return g


def run_node_prehooks(node: Any, grads: list) -> list:
    """Apply ``node``'s pre-hooks to its output gradients (before its backward rule)."""
    for h in node._pre_hooks:
        out = h(tuple(grads))
        if out is not None:
            grads = _checked(h, node, tuple(grads), out, "output")
    return list(grads)


def run_node_posthooks(node: Any, input_grads: tuple, grads: list) -> tuple:
    """Apply ``node``'s hooks to the gradients its rule returned for its inputs. A hook sees
    (and returns) one gradient per input PyTorch's node lists, in its order, as
    ``next_functions`` shows them (``x.pow(2)``'s node lists ``x`` only, not the exponent)."""
    n = len(node.next_edges)
    full = list(input_grads[:n]) + [None] * (n - len(input_grads[:n]))
    slots = _public_slots(node, n)
    gin = tuple(full[i] if i < n else None for i in slots)
    for h in node._post_hooks:
        out = h(gin, tuple(grads))
        if out is not None:
            gin = _checked(h, node, gin, out, "input")
    for i, g in zip(slots, gin, strict=True):
        if i < n:
            full[i] = g
    return tuple(full)


def _public_slots(node: Any, n: int) -> list[int]:
    """The positions of ``node``'s inputs that PyTorch's node lists, in its order (the
    inputs ``next_functions`` shows)."""
    from .node import public_view

    slots = public_view(node)[1]
    if slots is not None:
        return list(slots)
    edges, meta = node.next_edges, node.input_meta
    return [i for i in range(n) if edges[i] is not None or (i < len(meta) and meta[i] is not None)]


def _checked(h: Any, node: Any, old: tuple, new: Any, what: str) -> tuple:
    who = f"hook {hook_name(h)!r} on {node.name()}"
    if not isinstance(new, (tuple, list)):
        raise TypeError(
            f"{who} returned {type(new).__name__}; it must return a tuple of "
            f"{len(old)} gradients (Tensor or None) or None"
        )
    if len(new) != len(old):
        raise RuntimeError(
            f"{who} has returned an incorrect number of values (got "
            f"{len(new)}, but expected {len(old)}: one per {what})"
        )
    for i, (g, out) in enumerate(zip(old, new)):
        if out is None or g is None:
            continue
        if (
            not isinstance(out, Tensor)
            or out._data.shape != g._data.shape
            or out._data.dtype != g._data.dtype
        ):
            _refuse(who, g, out, f" for {what} {i}")
    return tuple(new)


def _refuse(who: str, g: Tensor, out: Any, where: str) -> None:
    if not isinstance(out, Tensor):
        raise TypeError(
            f"{who} returned {type(out).__name__}{where}; a gradient must be a Tensor or None"
        )
    if out._data.shape != g._data.shape:
        raise RuntimeError(
            f"{who} has changed the size of value{where}: it returned a "
            f"gradient of shape {tuple(out._data.shape)} for one of shape "
            f"{tuple(g._data.shape)}; a hook must keep the shape"
        )
    raise RuntimeError(
        f"{who} has changed the type of value{where}: it returned a "
        f"{out.dtype} gradient for a {g.dtype} one; a hook must keep the dtype"
    )
