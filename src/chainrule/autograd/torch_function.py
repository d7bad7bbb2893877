"""PyTorch's ``__torch_function__`` protocol for Tensor subclasses: the dispatch core.

A subclass of ``Tensor`` that keeps the protocol on gets two things, as in PyTorch:

- Without its own ``__torch_function__``, ops on it return its class, not a plain Tensor
  (:func:`default_torch_function`, which is ``Tensor.__torch_function__``: run the op with
  subclass dispatch off, then give each Tensor result the subclass with ``as_subclass``).
- With its own ``__torch_function__`` classmethod, every public function and method called
  with one of its instances is routed to it first (``func`` is the public object called:
  ``cr.add``, ``cr.Tensor.add`` for ``t + 1`` as in torch, ``F.linear``).

``nn.Parameter`` and chainrule's own subclasses switch the protocol off with
:func:`disabled_torch_function_impl` (``torch._C._disabled_torch_function_impl``), so their
results are plain Tensors, as PyTorch's are.

Cost: nothing until a subclass that keeps the protocol is defined. Only then
:mod:`chainrule.overrides` wraps the public API (see ``install`` there); each wrapped call
looks at its arguments' types once. This module is the lower half: the types, the switch
that turns dispatch off inside a handler, the dispatch itself and the wrapper factory.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

__all__ = [
    "DisableTorchFunction",
    "DisableTorchFunctionSubclass",
    "MODES_ENTERED",
    "default_torch_function",
    "disabled_torch_function_impl",
    "dispatch",
    "dispatching",
    "dispatching_operator",
    "is_disabled",
    "is_dispatching_type",
    "mode_stack",
    "overloaded_arguments",
    "overrides_new",
    "register_dispatching_type",
]


def disabled_torch_function_impl(func: Callable, types: Any, args: Any = (), kwargs: Any = None):
    """``torch._C._disabled_torch_function_impl``: assigned as a class's
    ``__torch_function__``, it turns the protocol off for that class (results are plain
    Tensors). Called directly, it runs ``func`` with dispatch off."""
    with DisableTorchFunctionSubclass():
        return func(*args, **(kwargs or {}))


_STATE = threading.local()  # per thread, as PyTorch's switch: .depth > 0 means "off"


def is_disabled() -> bool:
    """Whether this thread is inside a :class:`DisableTorchFunctionSubclass` block."""
    return getattr(_STATE, "depth", 0) > 0


class DisableTorchFunctionSubclass:
    """``torch._C.DisableTorchFunctionSubclass``: inside the block, calls run the plain
    implementation whatever the argument types (what a handler uses to call the real op);
    active modes still see the calls, as in PyTorch."""

    _attr = "depth"

    def __enter__(self) -> DisableTorchFunctionSubclass:
        setattr(_STATE, self._attr, getattr(_STATE, self._attr, 0) + 1)
        return self

    def __exit__(self, *exc: Any) -> None:
        setattr(_STATE, self._attr, getattr(_STATE, self._attr) - 1)


class DisableTorchFunction(DisableTorchFunctionSubclass):
    """``torch._C.DisableTorchFunction``: as :class:`DisableTorchFunctionSubclass`, and the
    active ``TorchFunctionMode``s are skipped too."""

    _attr = "all_depth"

    def __enter__(self) -> DisableTorchFunction:
        _STATE.depth = getattr(_STATE, "depth", 0) + 1
        super().__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        _STATE.depth -= 1


# TorchFunctionModes entered on any thread: wrappers look at this thread's stack only then.
MODES_ENTERED = [0]


def mode_stack() -> list:
    """This thread's active modes, innermost last (``chainrule.overrides`` pushes them)."""
    stack = getattr(_STATE, "modes", None)
    if stack is None:
        stack = _STATE.modes = []
    return stack


# Types whose instances are routed to their __torch_function__ (filled by Tensor's
# __init_subclass__ through chainrule.overrides); plain Tensor is never in it.
_DISPATCHING: set[type] = set()


def is_dispatching_type(cls: type) -> bool:
    """Whether ``cls`` (a Tensor subclass) keeps the protocol on: its
    ``__torch_function__`` is not the disabled implementation."""
    return getattr(cls, "__torch_function__", None) is not disabled_torch_function_impl


def register_dispatching_type(cls: type) -> None:
    """Route ``cls``'s instances to its ``__torch_function__`` from now on."""
    _DISPATCHING.add(cls)


def overloaded_arguments(args: tuple, kwargs: dict | None) -> list[type]:
    """The dispatching types among the arguments (one level into lists and tuples, as
    ``cr.cat([a, b])`` needs), subclasses before their bases, otherwise left to right."""
    found: list[type] = []
    for a in (*args, *(kwargs.values() if kwargs else ())):
        items = a if type(a) in (list, tuple) else (a,)
        for b in items:
            t = type(b)
            if t in _DISPATCHING and t not in found:
                at = next((i for i, f in enumerate(found) if issubclass(t, f)), len(found))
                found.insert(at, t)
    return found


def _has_overload(args: tuple, kwargs: dict) -> bool:
    types = _DISPATCHING
    for a in args:
        t = type(a)
        if t in types or ((t is list or t is tuple) and any(type(b) in types for b in a)):
            return True
    return bool(kwargs) and _has_overload(tuple(kwargs.values()), {})


def dispatch(func: Callable, types: list[type], args: tuple, kwargs: dict) -> Any:
    """Call each overloading type's ``__torch_function__`` in order until one does not
    return ``NotImplemented`` (PyTorch's ``handle_torch_function``).

    Raises:
        TypeError: every handler returned ``NotImplemented``.
    """
    all_types = tuple(types)
    for t in types:
        result = t.__torch_function__(func, all_types, args, kwargs)
        if result is not NotImplemented:
            return result
    name = getattr(func, "__name__", repr(func))
    raise TypeError(
        f"no implementation found for '{name}' on types that implement __torch_function__: "
        f"{list(types)}"
    )


def dispatching(fn: Callable) -> Callable:
    """``fn`` behind the protocol: a call with an instance of a dispatching subclass, or
    under a ``TorchFunctionMode``, goes to its ``__torch_function__`` (with ``func`` = the
    wrapper, the object users call); every other call runs ``fn`` directly."""

    @functools.wraps(fn)
    def with_torch_function(*args: Any, **kwargs: Any) -> Any:
        if not (kwargs or MODES_ENTERED[0]):  # the common call, checked inline: positional
            for a in args:  # arguments, none a list, a tuple or of a dispatching type
                t = type(a)  # (session 37: the wrapper's cost 0.23 -> 0.15 us)
                if t in _DISPATCHING or t is list or t is tuple:
                    break
            else:
                return fn(*args)
        if MODES_ENTERED[0] or _has_overload(args, kwargs):
            return _route(with_torch_function, fn, args, kwargs)
        return fn(*args, **kwargs)

    with_torch_function.__torch_function_wrapped__ = fn  # type: ignore[attr-defined]
    return with_torch_function


def dispatching_operator(routed: Callable, plain: Callable) -> Callable:
    """A binary operator (``x + y``) behind the protocol: ``routed`` (the operator around the
    public method's :func:`dispatching` wrapper, so that a handler sees ``func is
    Tensor.add``) when an operand is of a dispatching type, a list or a tuple, or a mode is
    on; otherwise ``plain``, the operator as it was before the install, which skips the
    method's own wrappers (session 37: once a dispatching subclass exists, ``x + y`` on plain
    tensors cost 0.84 us more than without one; now 0.02 us, under load)."""

    @functools.wraps(routed)
    def operator(self: Any, other: Any) -> Any:
        t = type(other)
        if (
            MODES_ENTERED[0]
            or type(self) in _DISPATCHING
            or t in _DISPATCHING
            or t is list
            or t is tuple
        ):
            return routed(self, other)
        return plain(self, other)

    return operator


def _route(func: Callable, fn: Callable, args: tuple, kwargs: dict) -> Any:
    """The innermost active mode first (popped while it runs, so that its own calls reach
    the modes below it and the subclasses), then the subclasses' handlers, then ``fn``."""
    modes = mode_stack()
    if modes and not getattr(_STATE, "all_depth", 0):
        mode = modes.pop()
        try:
            result = mode.__torch_function__(
                func, tuple(overloaded_arguments(args, kwargs)), args, kwargs
            )
        finally:
            modes.append(mode)
        if result is not NotImplemented:
            return result
    if not is_disabled():
        types = overloaded_arguments(args, kwargs)
        if types:
            return dispatch(func, types, args, kwargs)
    return fn(*args, **kwargs)


@functools.cache
def overrides_new(cls: type) -> bool:
    """Whether a Tensor subclass (or a base of it below Tensor) defines ``__new__``."""
    tensor = _tensor_class()
    below = (k for k in cls.__mro__ if k is not tensor and issubclass(k, tensor))
    return any("__new__" in vars(k) for k in below)


def _convert(ret: Any, cls: type) -> Any:
    """Give Tensor results the subclass ``cls`` (in tuples, lists and named tuples too)."""
    if isinstance(ret, _tensor_class()) and not isinstance(ret, cls):
        return ret.as_subclass(cls)
    if isinstance(ret, (tuple, list)):
        items = [_convert(r, cls) for r in ret]
        if hasattr(ret, "_fields"):  # a named tuple (max(dim) -> values, indices)
            return type(ret)(*items)
        return type(ret)(items)
    return ret


def _tensor_class() -> type:
    from .tensor import Tensor  # in here: tensor.py imports this module for its default

    return Tensor


def default_torch_function(
    cls: type, func: Callable, types: Any, args: Any = (), kwargs: Any = None
) -> Any:
    """``Tensor.__torch_function__``: run ``func`` with dispatch off and return its Tensor
    results as ``cls``; ``NotImplemented`` when another type in ``types`` is not a base of
    ``cls`` (that type's handler then runs)."""
    if not all(issubclass(cls, t) for t in types):
        return NotImplemented
    with DisableTorchFunctionSubclass():
        ret = func(*args, **(kwargs or {}))
    return _convert(ret, cls)
