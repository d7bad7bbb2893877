"""``Module``'s forward hooks with PyTorch's registration options (``prepend``,
``with_kwargs``, ``always_call``) and the loop that runs them around ``forward``.

Each store (``_forward_pre_hooks``, ``_forward_hooks``, ``_backward_hooks``,
``_backward_pre_hooks``) is PyTorch's ``OrderedDict`` keyed by the handle's id, so code that
reads it as PyTorch's (``module._forward_pre_hooks.values()``, ``del hooks[k]``) works. A hook
registered with default options is stored as the bare callable (``weight_norm``,
``spectral_norm`` and ``prune`` find their own hooks there by type); one registered with
``with_kwargs`` or ``always_call`` is stored as a :class:`_HookEntry` that records the options.

The stores of the hooks that apply to every module (PyTorch's ``_global_*_hooks``, registered
by :mod:`._global_hooks`) are defined here, where the backward machinery can read them too.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..utils.hooks import RemovableHandle

__all__: list[str] = []

_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_backward_pre_hooks: OrderedDict = OrderedDict()
_global_backward_hooks: OrderedDict = OrderedDict()
_global_buffer_registration_hooks: OrderedDict = OrderedDict()
_global_module_registration_hooks: OrderedDict = OrderedDict()
_global_parameter_registration_hooks: OrderedDict = OrderedDict()
# {handle id: True} for every hook in the four global call stores above (each handle lists it
# as an extra dict): Module.__call__'s fast path tests only this one.
_global_call_hooks: OrderedDict = OrderedDict()


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
    extra: OrderedDict | None = None,
) -> RemovableHandle:
    """Put ``fn`` first (``prepend``) or last in ``hooks`` (and its id in ``extra``); a handle
    removes it again."""
    if not callable(fn):
        raise TypeError(f"hook must be callable, got {type(fn).__name__}")
    entry = _HookEntry(fn, with_kwargs, always_call) if with_kwargs or always_call else fn
    handle = RemovableHandle(hooks, extra_dict=extra)  # ids from one sequence, as PyTorch's
    hooks[handle.id] = entry
    if extra is not None:
        extra[handle.id] = True
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


def run_hooks(module: Any, hooks: OrderedDict, args: tuple, kwargs: dict, state: dict) -> None:
    """Each hook may replace the output ``state["out"]``; ``state["done"]`` collects the hooks
    that ran (both kept current, so that a hook that raises leaves them as they were)."""
    for hook in list(hooks.values()):
        state["done"].add(id(hook))
        if isinstance(hook, _HookEntry) and hook.with_kwargs:
            res = hook.fn(module, args, kwargs, state["out"])
        else:
            res = hook(module, args, state["out"])
        if res is not None:
            state["out"] = res


def run_always_called(
    module: Any, hooks: OrderedDict, args: tuple, kwargs: dict, state: dict, scope: str
) -> None:
    """After a pre-hook, ``forward`` or a hook raised: the ``always_call`` hooks not yet run see
    the output so far (None if ``forward`` did not return). Their results are dropped, an error
    one raises is turned into a warning (``scope``: "global module" or "module", as PyTorch
    words it), and the original error propagates."""
    for hook in list(hooks.values()):
        if not (isinstance(hook, _HookEntry) and hook.always_call) or id(hook) in state["done"]:
            continue
        try:
            if hook.with_kwargs:
                hook.fn(module, args, kwargs, state["out"])
            else:
                hook.fn(module, args, state["out"])
        except Exception as err:
            warnings.warn(
                f"{scope} forward hook with ``always_call=True`` raised an exception that was "
                f"silenced as another error was raised in forward: {err}",
                UserWarning,
                stacklevel=4,
            )
