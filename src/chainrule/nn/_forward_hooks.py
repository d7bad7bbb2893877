"""``Module``'s forward hooks with PyTorch's registration options (``prepend``,
``with_kwargs``, ``always_call``) and the loop that runs them around ``forward``.

Each store (``_forward_pre_hooks``, ``_forward_hooks``, ``_backward_hooks``,
``_backward_pre_hooks``) is PyTorch's ``OrderedDict`` keyed by the handle's id, so code that
reads it as PyTorch's (``module._forward_pre_hooks.values()``, ``del hooks[k]``) works. A hook
registered with default options is stored as the bare callable (``weight_norm``,
``spectral_norm`` and ``prune`` find their own hooks there by type); one registered with
``with_kwargs`` or ``always_call`` is stored as a :class:`_HookEntry` that records the options.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..utils.hooks import RemovableHandle

__all__: list[str] = []


class _HookEntry:
    """A forward (pre-)hook with its options; calling it calls the hook itself."""

    __slots__ = ("fn", "with_kwargs", "always_call")

    def __init__(self, fn: Callable, with_kwargs: bool, always_call: bool) -> None:
        self.fn, self.with_kwargs, self.always_call = fn, with_kwargs, always_call

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


def register(
    hooks: OrderedDict,
    fn: Callable,
    prepend: bool,
    with_kwargs: bool = False,
    always_call: bool = False,
) -> RemovableHandle:
    """Put ``fn`` first (``prepend``) or last in ``hooks``; a handle removes it again."""
    if not callable(fn):
        raise TypeError(f"hook must be callable, got {type(fn).__name__}")
    entry = _HookEntry(fn, with_kwargs, always_call) if with_kwargs or always_call else fn
    handle = RemovableHandle(hooks)  # ids from one sequence for every module, as PyTorch's
    hooks[handle.id] = entry
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def run_pre_hooks(module: Any, hooks: OrderedDict, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Each hook may replace the positional arguments (or, ``with_kwargs``, both)."""
    for hook in list(hooks.values()):
        if isinstance(hook, _HookEntry) and hook.with_kwargs:
            res = hook.fn(module, args, kwargs)
            if res is None:
                continue
            if not (isinstance(res, tuple) and len(res) == 2):
                raise RuntimeError(
                    "forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                    f"but got {res}."
                )
            args, kwargs = res
        else:
            res = hook(module, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
    return args, kwargs


def run_hooks(
    module: Any, hooks: OrderedDict, args: tuple, kwargs: dict, out: Any, done: set
) -> Any:
    """Each hook may replace the output; ``done`` collects the hooks that ran."""
    for hook in list(hooks.values()):
        done.add(id(hook))
        if isinstance(hook, _HookEntry) and hook.with_kwargs:
            res = hook.fn(module, args, kwargs, out)
        else:
            res = hook(module, args, out)
        if res is not None:
            out = res
    return out


def run_always_called(
    module: Any, hooks: OrderedDict, args: tuple, kwargs: dict, done: set
) -> None:
    """After ``forward`` (or a hook) raised: the ``always_call`` hooks not yet run see output
    None; their results are dropped and the original error propagates."""
    for hook in list(hooks.values()):
        if isinstance(hook, _HookEntry) and hook.always_call and id(hook) not in done:
            if hook.with_kwargs:
                hook.fn(module, args, kwargs, None)
            else:
                hook.fn(module, args, None)
