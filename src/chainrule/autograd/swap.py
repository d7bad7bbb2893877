"""``cr.utils.swap_tensors`` (``torch.utils.swap_tensors``) and ``Tensor.module_load``.

``swap_tensors(t1, t2)`` exchanges everything two tensor objects hold while each keeps its
identity: the class (a ``Parameter`` stays one only if its partner was), the ``__dict__``, and
the slots (data, gradient, requires_grad, graph node, version counter, hooks, view state). The
registries that chainrule keys by a tensor's ``id`` (post-accumulate-grad hooks, the leaf's
``AccumulateGrad`` node and its hooks) move with the content too, as PyTorch's live on the
swapped ``TensorImpl``. ``nn.Module`` uses it under
``cr.__future__.set_swap_module_params_on_conversion(True)``.

As in PyTorch, a tensor with a weak reference (other than chainrule's own bookkeeping ones)
or two classes with different slots refuse. PyTorch also refuses a tensor whose C++ use count
shows other holders (views, a live graph); chainrule has no such count and does not check it.
"""

from __future__ import annotations

import copyreg
import weakref
from typing import Any

from .accumulate_grad import _NODES, HOOKED
from .post_accumulate import POST_ACCUMULATE_HOOKS
from .tensor import Tensor

__all__ = ["module_load", "swap_tensors"]

_REGISTRIES = (POST_ACCUMULATE_HOOKS, HOOKED, _NODES)


def _user_weakrefs(t: Any) -> list:
    """``t``'s weak references except the finalizers chainrule's registries put on it."""
    own = set()
    for f in list(weakref.finalize._registry):  # noqa: SLF001 - finalizers of t, to tell apart
        info = f.peek()
        if info is not None and info[0] is t:
            func = info[1]
            if any(func == r.pop for r in _REGISTRIES):
                own.add(id(f))
    node = _NODES.get(id(t))
    refs = weakref.getweakrefs(t)
    return [
        r
        for r in refs
        if id(getattr(r, "__callback__", None)) not in own
        and not (node is not None and r is node._leaf)
    ]


def swap_tensors(t1: Tensor, t2: Tensor) -> None:
    """Swap the contents of the tensor objects ``t1`` and ``t2``: afterwards ``t1`` has what
    ``t2`` had (class, attributes, data, autograd state) and the reverse, each object keeping
    its identity (references to it, e.g. an optimizer's, see the new content).

    Raises:
        RuntimeError: a tensor has a weak reference, or the classes' slots differ (PyTorch's
            messages).
    """
    if _user_weakrefs(t1):
        raise RuntimeError("Cannot swap t1 because it has weakref associated with it")
    if _user_weakrefs(t2):
        raise RuntimeError("Cannot swap t2 because it has weakref associated with it")
    for t in (t1, t2):  # torch fails reading a non-tensor's use count (its slots match)
        if not isinstance(t, Tensor):
            raise AttributeError(f"'{type(t).__name__}' object has no attribute '_use_count'")
    t1_slots = set(copyreg._slotnames(t1.__class__))  # noqa: SLF001 - as torch reads them
    t2_slots = set(copyreg._slotnames(t2.__class__))  # noqa: SLF001
    if t1_slots != t2_slots:
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")

    def swap_attr(name: str) -> None:
        tmp = getattr(t1, name)
        setattr(t1, name, getattr(t2, name))
        setattr(t2, name, tmp)

    swap_attr("__class__")
    swap_attr("__dict__")
    for slot in t1_slots:  # Tensor's slots (its TensorImpl part) and a subclass's own
        if hasattr(t1, slot) and hasattr(t2, slot):
            swap_attr(slot)
        elif hasattr(t1, slot):
            setattr(t2, slot, getattr(t1, slot))
            delattr(t1, slot)
        elif hasattr(t2, slot):
            setattr(t1, slot, getattr(t2, slot))
            delattr(t2, slot)
    _swap_registries(t1, t2)


def _swap_registries(t1: Tensor, t2: Tensor) -> None:
    """Move the id-keyed hook registries and AccumulateGrad nodes with the contents."""
    k1, k2 = id(t1), id(t2)
    for registry in _REGISTRIES:
        v1, v2 = registry.pop(k1, None), registry.pop(k2, None)
        for key, t, v in ((k1, t1, v2), (k2, t2, v1)):
            if v is None:
                continue
            registry[key] = v
            weakref.finalize(t, registry.pop, key, None)
            if registry is not POST_ACCUMULATE_HOOKS and v._leaf() is not t:
                v._leaf = weakref.ref(t)


def module_load(self: Tensor, other: Tensor, assign: bool = False) -> Tensor:
    """How ``load_state_dict`` turns the checkpoint's ``other`` into the tensor it swaps into
    ``self`` under ``cr.__future__.set_swap_module_params_on_conversion(True)``
    (``Tensor.module_load``): ``other.detach()`` with ``assign``, else
    ``self.copy_(other).detach()``. An override must return a new object."""
    if assign:
        return other.detach()
    return self.copy_(other).detach()
