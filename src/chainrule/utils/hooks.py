"""``cr.utils.hooks``: PyTorch's ``torch.utils.hooks`` helpers for code that keeps its own
hook registries (as ``Module`` does).

:class:`RemovableHandle` is what every ``register_*_hook`` of a ``Module`` returns: it takes
the next id of one process-wide sequence, and ``remove()`` deletes that id from the hook
dict (and from any ``extra_dict``), as PyTorch's. The dicts are held weakly, so a handle
never keeps a registry alive (PyTorch's rule: pass an ``OrderedDict``; a plain ``dict``
cannot be weakly referenced).
"""

from __future__ import annotations

import itertools
import warnings
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["RemovableHandle", "unserializable_hook", "warn_if_has_hooks"]


class RemovableHandle:
    """A handle that removes a hook from its dict (PyTorch's ``RemovableHandle``).

    Args:
        hooks_dict: the (weakly referenceable, e.g. ``OrderedDict``) dict the hook is stored
            in under ``handle.id``.
        extra_dict: another dict, or a list of dicts, keyed the same way (options stored
            beside the hook), cleaned up by ``remove()`` too.
    """

    id: int
    next_id: int = 0
    _ids = itertools.count()

    def __init__(self, hooks_dict: Any, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = next(RemovableHandle._ids)
        RemovableHandle.next_id = self.id + 1
        extras = [] if extra_dict is None else extra_dict
        extras = extras if isinstance(extras, list) else [extras]
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras)

    def remove(self) -> None:
        """Take the hook (and its extra entries) out of the dicts still alive."""
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def unserializable_hook(f: Callable) -> Callable:
    """Mark ``f`` as a hook that is not meant to be saved with the tensor it is registered on
    (:func:`warn_if_has_hooks` then stays quiet about it)."""
    f.__torch_unserializable__ = True
    return f


def warn_if_has_hooks(tensor: Any) -> None:
    """Warn once per backward hook on ``tensor`` that it will not be serialized, unless the
    hook is marked with :func:`unserializable_hook` (PyTorch's check before pickling)."""
    node = tensor.grad_fn
    if node is None:
        hooks = tensor._hooks or []
    else:
        hooks = (node._tensor_hooks or {}).get(tensor._output_nr, [])
    for hook in hooks:
        if not hasattr(hook, "__torch_unserializable__"):
            warnings.warn(
                f"backward hook {hook!r} on tensor will not be serialized.  If this is "
                "expected, you can decorate the function with "
                "@torch.utils.hooks.unserializable_hook to suppress this warning",
                stacklevel=2,
            )
