"""The optimizer hook API of ``torch.optim.Optimizer``: step pre/post hooks (per optimizer and
global), and ``state_dict`` / ``load_state_dict`` pre/post hooks.

Every ``step`` of every optimizer class (chainrule's and a user's own ``Optimizer``
subclass) is wrapped once per class, when the class is created
(``Optimizer.__init_subclass__``), by :func:`hooked_step`. The wrapper keeps the method's
name, docstring and signature (``functools.wraps``) and, with no hook registered anywhere,
costs four checks of empty dicts before calling the step itself. With hooks, the order is
PyTorch's::

    global pre hooks -> the optimizer's pre hooks -> step -> the optimizer's post hooks
    -> global post hooks

A pre hook is called ``hook(optimizer, args, kwargs)``, where ``args`` is the tuple of the
step's positional arguments including the optimizer itself (``(optimizer, closure)``) and
``kwargs`` its keyword arguments; it returns None or a new ``(args, kwargs)`` pair that the
step (and the hooks after it) then receive. Anything else raises PyTorch's RuntimeError. A
post hook is called the same way and its return value is ignored.

One deliberate difference: a subclass whose ``step`` calls ``super().step()`` runs the hooks
once per call (the inner, nested step runs without them). PyTorch fires them a second time
in that case when the parent class's ``step`` has been wrapped by an earlier instance of the
parent class, and once otherwise.
"""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict
from collections.abc import Callable, Mapping
from itertools import chain
from types import MappingProxyType
from typing import Any

from ..nn._forward_hooks import register as register_hook  # Module's hooks' registration
from ..utils.hooks import RemovableHandle

__all__ = [
    "GlobalOptimizerPostHook",
    "GlobalOptimizerPreHook",
    "OptimizerHooksMixin",
    "hooked_step",
    "register_optimizer_step_post_hook",
    "register_optimizer_step_pre_hook",
]

# PyTorch's type aliases of the hook signatures (the optimizer is the first argument).
GlobalOptimizerPreHook = Callable[
    [Any, tuple[Any, ...], dict[str, Any]], tuple[tuple[Any, ...], dict[str, Any]] | None
]
GlobalOptimizerPostHook = Callable[[Any, tuple[Any, ...], dict[str, Any]], None]

# The global step hooks, run for every optimizer (PyTorch's names in torch.optim.optimizer).
_global_optimizer_pre_hooks: OrderedDict[int, GlobalOptimizerPreHook] = OrderedDict()
_global_optimizer_post_hooks: OrderedDict[int, GlobalOptimizerPostHook] = OrderedDict()

# The per-optimizer hook dicts (instance attributes), PyTorch's names.
_HOOK_DICTS = (
    "_optimizer_step_pre_hooks",
    "_optimizer_step_post_hooks",
    "_optimizer_state_dict_pre_hooks",
    "_optimizer_state_dict_post_hooks",
    "_optimizer_load_state_dict_pre_hooks",
    "_optimizer_load_state_dict_post_hooks",
)

# The ids of the optimizers whose hooked step body is running, so that a nested
# ``super().step()`` does not run the hooks a second time.
_running_steps: set[int] = set()


def register_optimizer_step_pre_hook(hook: GlobalOptimizerPreHook) -> RemovableHandle:
    """Register a step pre hook common to all optimizers, run before each ``step``.

    Args:
        hook: ``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``.

    Returns:
        A handle whose ``remove()`` unregisters the hook.
    """
    return register_hook(_global_optimizer_pre_hooks, hook, False)


def register_optimizer_step_post_hook(hook: GlobalOptimizerPostHook) -> RemovableHandle:
    """Register a step post hook common to all optimizers, run after each ``step``.

    Args:
        hook: ``hook(optimizer, args, kwargs) -> None``.

    Returns:
        A handle whose ``remove()`` unregisters the hook.
    """
    return register_hook(_global_optimizer_post_hooks, hook, False)


def _step_with_hooks(func: Callable, self: Any, args: tuple, kwargs: dict) -> Any:
    """Run ``func`` (a class's own ``step``) between the pre and post hooks, in PyTorch's
    order; a pre hook may replace the arguments."""
    if id(self) in _running_steps:  # a nested super().step(): the outer call runs the hooks
        return func(self, *args, **kwargs)
    args = (self, *args)
    for pre_hook in chain(
        _global_optimizer_pre_hooks.values(), self._optimizer_step_pre_hooks.values()
    ):
        result = pre_hook(self, args, kwargs)
        if result is not None:
            if isinstance(result, tuple) and len(result) == 2:
                args, kwargs = result
            else:
                raise RuntimeError(
                    f"{func} must return None or a tuple of (new_args, new_kwargs), "
                    f"but got {result}."
                )
    _running_steps.add(id(self))
    try:
        out = func(*args, **kwargs)
    finally:
        _running_steps.discard(id(self))
    for post_hook in chain(
        self._optimizer_step_post_hooks.values(), _global_optimizer_post_hooks.values()
    ):
        post_hook(self, args, kwargs)
    return out


def hooked_step(func: Callable) -> Callable:
    """Wrap an optimizer class's ``step`` so that the step hooks run around it.

    The wrapper is ``functools.wraps(func)`` (same name, docstring, ``__wrapped__``) and
    marked ``hooked = True`` (PyTorch's mark), so a class's step is wrapped once.
    """

    @functools.wraps(func)
    def step(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._opt_called = True  # read by the schedulers' step-order warning (scheduler_base)
        if (
            self._optimizer_step_pre_hooks
            or self._optimizer_step_post_hooks
            or _global_optimizer_pre_hooks
            or _global_optimizer_post_hooks
        ):
            return _step_with_hooks(func, self, args, kwargs)
        return func(self, *args, **kwargs)

    step.hooked = True  # type: ignore[attr-defined]
    return step


def _wrap_class_step(cls: type) -> None:
    """Wrap ``cls.step`` if the class defines (or was given) a step not yet wrapped."""
    own = cls.__dict__.get("step")
    if inspect.isfunction(own) and not getattr(own, "hooked", False):
        cls.step = hooked_step(own)  # type: ignore[attr-defined]


class OptimizerHooksMixin:
    """The hook registries of an ``Optimizer`` and their ``register_*`` methods.

    ``Optimizer.__init__`` calls :meth:`_init_hooks`; ``state_dict`` and ``load_state_dict``
    call the ``_run_*`` helpers. Pickling and ``copy.deepcopy`` leave the hooks out (they are
    often lambdas or closures), as PyTorch does: the copy starts with none.
    """

    OptimizerPreHook = GlobalOptimizerPreHook  # PyTorch's names on the class
    OptimizerPostHook = GlobalOptimizerPostHook

    # empty at class level: a subclass whose __init__ never calls Optimizer.__init__ (nfnets'
    # AGC wrapping another optimizer) steps without hooks, as PyTorch's never-patched step
    _optimizer_step_pre_hooks: Mapping[int, Callable] = MappingProxyType({})
    _optimizer_step_post_hooks: Mapping[int, Callable] = MappingProxyType({})
    _optimizer_state_dict_pre_hooks: OrderedDict[int, Callable]
    _optimizer_state_dict_post_hooks: OrderedDict[int, Callable]
    _optimizer_load_state_dict_pre_hooks: OrderedDict[int, Callable]
    _optimizer_load_state_dict_post_hooks: OrderedDict[int, Callable]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _wrap_class_step(cls)

    def _init_hooks(self) -> None:
        """Create the six empty hook registries; wrap a ``step`` assigned to the class after
        it was created (a class's step is otherwise wrapped when the class is defined)."""
        for name in _HOOK_DICTS:
            setattr(self, name, OrderedDict())
        step = getattr(type(self), "step", None)
        if inspect.isfunction(step) and not getattr(step, "hooked", False):
            type(self).step = hooked_step(step)  # type: ignore[attr-defined]

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in _HOOK_DICTS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        defaults = self.__dict__.get("defaults")
        if isinstance(defaults, dict):
            # PyTorch's Optimizer.__setstate__ (so also load_state_dict): a group added
            # later gets differentiable=False even where the class takes no such option
            defaults.setdefault("differentiable", False)
        for name in _HOOK_DICTS:
            self.__dict__.setdefault(name, OrderedDict())

    # -------------------------------------------------------------- step hooks
    def register_step_pre_hook(self, hook: GlobalOptimizerPreHook) -> RemovableHandle:
        """Register a hook run before this optimizer's ``step`` (after the global ones).

        Args:
            hook: ``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``;
                ``args`` starts with the optimizer itself. A returned pair replaces the
                arguments the step is called with.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        return register_hook(self._optimizer_step_pre_hooks, hook, False)

    def register_step_post_hook(self, hook: GlobalOptimizerPostHook) -> RemovableHandle:
        """Register a hook run after this optimizer's ``step`` (before the global ones).

        Args:
            hook: ``hook(optimizer, args, kwargs) -> None``.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        return register_hook(self._optimizer_step_post_hooks, hook, False)

    # -------------------------------------------------------- state-dict hooks
    def register_state_dict_pre_hook(
        self, hook: Callable[[Any], None], prepend: bool = False
    ) -> RemovableHandle:
        """Register a hook run at the start of ``state_dict()``.

        Args:
            hook: ``hook(optimizer) -> None``, e.g. to bring state up to date first.
            prepend: run it before the hooks already registered (default: after them).

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        return register_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(
        self, hook: Callable[[Any, dict[str, Any]], dict[str, Any] | None], prepend: bool = False
    ) -> RemovableHandle:
        """Register a hook run on the dict ``state_dict()`` is about to return.

        Args:
            hook: ``hook(optimizer, state_dict) -> new state_dict or None``; it may change
                the dict in place, and a returned dict replaces it.
            prepend: run it before the hooks already registered (default: after them).

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        return register_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(
        self, hook: Callable[[Any, dict[str, Any]], dict[str, Any] | None], prepend: bool = False
    ) -> RemovableHandle:
        """Register a hook run on the dict given to ``load_state_dict`` before it is loaded.

        Args:
            hook: ``hook(optimizer, state_dict) -> new state_dict or None``; it receives a
                shallow copy of the caller's dict, and a returned dict is loaded instead.
            prepend: run it before the hooks already registered (default: after them).

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        return register_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(
        self, hook: Callable[[Any], None], prepend: bool = False
    ) -> RemovableHandle:
        """Register a hook run at the end of ``load_state_dict``.

        Args:
            hook: ``hook(optimizer) -> None``.
            prepend: run it before the hooks already registered (default: after them).

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        return register_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ------------------------------------------------------------ hook runners
    def _run_state_dict_pre_hooks(self) -> None:
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)

    def _run_state_dict_post_hooks(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def _run_load_state_dict_pre_hooks(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        state_dict = state_dict.copy()  # hooks may edit it; the caller's dict stays as it was
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def _run_load_state_dict_post_hooks(self) -> None:
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)
