"""Hooks that apply to every ``Module`` (PyTorch's ``torch.nn.modules.module.register_module_*``)
and the hooked path of ``Module.__call__`` that runs them with the module's own.

A global hook is stored as a module's own hook is (see :mod:`._forward_hooks`, which holds the
process-wide stores under PyTorch's ``_global_*_hooks`` names). A call consults the global
forward pre, forward, full backward pre and full backward hooks before the module's own: a
global hook runs first and the module's hooks see what it returned, as PyTorch orders them.
Every global call hook's id is also kept in ``_global_call_hooks``, the one dict that
``Module.__call__``'s fast path tests: with none registered, a call costs one truth test more.

The three registration stores are consulted when a parameter, buffer or submodule is
assigned (``__setattr__``, ``register_parameter``, ``register_buffer``, ``add_module``): each
hook is called ``hook(module, name, value)`` before the value is stored, and a result that is
not None replaces the value (PyTorch stores it unchecked).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..utils.hooks import RemovableHandle
from . import _forward_hooks as _fh
from ._backward_hooks import _wrap_inputs, _wrap_outputs
from ._forward_hooks import (
    _global_backward_hooks,
    _global_backward_pre_hooks,
    _global_buffer_registration_hooks,
    _global_call_hooks,
    _global_forward_hooks,
    _global_forward_pre_hooks,
    _global_module_registration_hooks,
    _global_parameter_registration_hooks,
)

__all__ = [
    "register_module_backward_hook",
    "register_module_buffer_registration_hook",
    "register_module_forward_hook",
    "register_module_forward_pre_hook",
    "register_module_full_backward_hook",
    "register_module_full_backward_pre_hook",
    "register_module_module_registration_hook",
    "register_module_parameter_registration_hook",
]

_LEGACY = (
    "register_module_backward_hook: PyTorch's deprecated non-full backward hook receives the "
    "gradients of the last autograd node of each module's forward, which depend on how each "
    "framework records the graph, so chainrule cannot reproduce them. Use "
    "register_module_full_backward_hook(hook) (or register_module_full_backward_pre_hook(hook) "
    "if you only need grad_output)"
)


def _register_call_hook(
    store: OrderedDict, hook: Callable, with_kwargs: bool = False, always_call: bool = False
) -> RemovableHandle:
    return _fh.register(store, hook, False, with_kwargs, always_call, extra=_global_call_hooks)


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """Run ``hook(module, args)`` before every module's ``forward``, before the module's own
    forward pre-hooks. A result that is not None replaces ``args`` (a non-tuple is wrapped in
    a 1-tuple).

    Returns:
        RemovableHandle: ``handle.remove()`` unregisters the hook.
    """
    return _register_call_hook(_global_forward_pre_hooks, hook)


def register_module_forward_hook(
    hook: Callable, *, with_kwargs: bool = False, always_call: bool = False
) -> RemovableHandle:
    """Run ``hook(module, args, output)`` after every module's ``forward``, before the
    module's own forward hooks; a result that is not None replaces the output.

    Args:
        hook: the callable.
        with_kwargs: call ``hook(module, args, kwargs, output)`` instead.
        always_call: also call it (with output None) when ``forward`` or a hook raises; the
            error still propagates.

    Returns:
        RemovableHandle: ``handle.remove()`` unregisters the hook.
    """
    return _register_call_hook(_global_forward_hooks, hook, with_kwargs, always_call)


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    """Run ``hook(module, grad_output)`` when the gradients of any module's outputs are
    computed, before the module's own backward pre-hooks; a tuple result replaces
    ``grad_output``.

    Returns:
        RemovableHandle: ``handle.remove()`` unregisters the hook.
    """
    return _register_call_hook(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """Run ``hook(module, grad_input, grad_output)`` when the gradients of any module's inputs
    are computed, before the module's own full backward hooks; a tuple result replaces
    ``grad_input``.

    Returns:
        RemovableHandle: ``handle.remove()`` unregisters the hook.
    """
    return _register_call_hook(_global_backward_hooks, hook)


def register_module_backward_hook(hook: Callable) -> RemovableHandle:
    """PyTorch's deprecated global non-full backward hook: not available (see the error).

    Raises:
        NotImplementedError: always, naming ``register_module_full_backward_hook``.
    """
    raise NotImplementedError(_LEGACY)


def register_module_buffer_registration_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, name, buffer)`` whenever any module registers or assigns a buffer
    (``buffer`` may be None); a result that is not None is stored instead.

    Returns:
        RemovableHandle: ``handle.remove()`` unregisters the hook.
    """
    return _fh.register(_global_buffer_registration_hooks, hook, False)


def register_module_module_registration_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, name, submodule)`` whenever any module registers or assigns a
    submodule (``submodule`` may be None); a result that is not None is stored instead.

    Returns:
        RemovableHandle: ``handle.remove()`` unregisters the hook.
    """
    return _fh.register(_global_module_registration_hooks, hook, False)


def register_module_parameter_registration_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, name, param)`` whenever any module registers or assigns a
    parameter that is not None; a result that is not None is stored instead.

    Returns:
        RemovableHandle: ``handle.remove()`` unregisters the hook.
    """
    return _fh.register(_global_parameter_registration_hooks, hook, False)


def registered(hooks: OrderedDict, module: Any, name: str, value: Any) -> Any:
    """``value`` after each registration hook in ``hooks`` has seen (and maybe replaced) it."""
    for hook in list(hooks.values()):
        res = hook(module, name, value)
        if res is not None:
            value = res
    return value


def call_hooked(module: Any, args: tuple, kwargs: dict) -> Any:
    """``module(*args, **kwargs)`` when it or the process has hooks: pre-hooks, ``forward``,
    forward hooks (global ones first), and the backward hooks' identity nodes around it. When
    any step raises, the ``always_call`` forward hooks not yet run are called before the error
    propagates."""
    d = module.__dict__
    state: dict = {"done": set(), "out": None}
    try:
        if _global_forward_pre_hooks:
            args, kwargs = _fh.run_pre_hooks(module, _global_forward_pre_hooks, args, kwargs)
        if d["_forward_pre_hooks"]:
            args, kwargs = _fh.run_pre_hooks(module, d["_forward_pre_hooks"], args, kwargs)
        grads = None
        if (
            d["_backward_hooks"]
            or d.get("_backward_pre_hooks")
            or _global_backward_hooks
            or _global_backward_pre_hooks
        ):
            grads = {"grad_output": None}
            args = _wrap_inputs(module, args, grads)
        state["out"] = module.forward(*args, **kwargs)
        if _global_forward_hooks:
            _fh.run_hooks(module, _global_forward_hooks, args, kwargs, state)
        if d["_forward_hooks"]:
            _fh.run_hooks(module, d["_forward_hooks"], args, kwargs, state)
    except Exception:
        _fh.run_always_called(module, _global_forward_hooks, args, kwargs, state, "global module")
        _fh.run_always_called(module, d["_forward_hooks"], args, kwargs, state, "module")
        raise
    if grads is not None:
        return _wrap_outputs(module, state["out"], grads)
    return state["out"]
