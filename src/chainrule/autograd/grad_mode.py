"""Switches for recording the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``.

The mode lives in the calling thread's :func:`~chainrule.autograd.state.current` state (per thread,
as in PyTorch): a ``no_grad`` block in one thread never changes what another thread records,
and a new thread starts with recording on. Each switch works as a context manager and as a
decorator, like PyTorch's; a decorated function switches the mode only while it runs (in the
thread that calls it), never at decoration time.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

from .inference import is_inference, track_inference_mode
from .state import AutogradState, current, is_grad_enabled

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "is_inference",
]


def is_inference_mode_enabled() -> bool:
    """Whether the calling thread is inside ``inference_mode()``."""
    return current().inference


def _mode(state: AutogradState) -> tuple[bool, bool]:
    """The thread's ``(grad mode, inference mode)`` as ``is_grad_enabled`` reports them."""
    inference = state.inference
    return (state.inference_grad if inference else state.grad_enabled), inference


def _set_mode(state: AutogradState, mode: tuple[bool, bool]) -> None:
    """Switch the thread to ``(grad mode, inference mode)``. Inside inference mode ops record
    nothing (``grad_enabled`` stays False) and the grad mode is only reported; entering or
    leaving inference mode is counted, so inference tensors are marked only while some thread
    is inside it (:func:`~.inference.track_inference_mode`)."""
    grad, inference = mode
    if inference != state.inference:
        track_inference_mode(inference)
        state.inference = inference
    if inference:
        state.inference_grad = grad
        state.grad_enabled = False
    else:
        state.grad_enabled = grad


class _ModeSwitch:
    """Base of the switches: set ``(grad_enabled, inference)`` on enter, restore on exit.

    Subclasses define :meth:`_target`. As a decorator the wrapped call enters a fresh
    switch each time (locals, not ``self``, hold the previous mode), so one decorated
    function may run in several threads at once.
    """

    def _target(self) -> tuple[bool, bool]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self) -> None:
        state = current()
        self._prev = _mode(state)
        _set_mode(state, self._target())

    def __exit__(self, *exc: Any) -> None:
        state = current()
        _set_mode(state, self._prev)

    def __call__(self, fn: Callable) -> Callable:
        target = self._target()
        if inspect.isclass(fn):  # still wrapped (its instances are made in the mode)
            warnings.warn(
                "Decorating classes is deprecated and will be disabled in future versions. "
                "You should only decorate functions or methods.",
                FutureWarning,
                stacklevel=2,
            )
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(fn, target)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            state = current()
            prev = _mode(state)
            _set_mode(state, target)
            try:
                return fn(*args, **kwargs)
            finally:
                _set_mode(state, prev)

        return wrapper


def _wrap_generator(fn: Callable, target: tuple[bool, bool]) -> Callable:
    """Run each step of a generator under the mode, restoring the caller's between steps."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        gen = fn(*args, **kwargs)
        to_send = None
        while True:
            state = current()
            prev = _mode(state)
            _set_mode(state, target)
            try:
                value = gen.send(to_send)
            except StopIteration as stop:
                return stop.value
            finally:
                _set_mode(state, prev)
            to_send = yield value

    return wrapper


class _NoParamSwitch(_ModeSwitch):
    """A switch usable with or without parentheses: ``@no_grad`` and ``@no_grad()``."""

    def __new__(cls, orig_func: Callable | None = None) -> Any:
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamSwitch):  # noqa: N801 - PyTorch's name
    """Disable graph recording: ``with cr.no_grad(): ...``, ``@cr.no_grad()`` or
    ``@cr.no_grad``. Results of ops inside have ``requires_grad=False``."""

    def _target(self) -> tuple[bool, bool]:
        return False, current().inference


class enable_grad(_NoParamSwitch):  # noqa: N801
    """Re-enable graph recording inside a ``no_grad`` block (context manager or decorator)."""

    def _target(self) -> tuple[bool, bool]:
        return True, current().inference


class set_grad_enabled(_ModeSwitch):  # noqa: N801
    """Set graph recording to ``mode``: a plain call ``cr.set_grad_enabled(False)`` switches
    at once (for the calling thread); ``with cr.set_grad_enabled(m):`` switches for the block;
    ``@cr.set_grad_enabled(m)`` switches only while the decorated function runs."""

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): mode must be a bool, got {type(mode).__name__}")
        state = current()
        self._mode = mode
        self._prev = _mode(state)
        _set_mode(state, (mode, state.inference))

    def _target(self) -> tuple[bool, bool]:
        return self._mode, current().inference

    def __enter__(self) -> None:  # the constructor already switched
        pass

    def __call__(self, fn: Callable) -> Callable:
        # Used as a decorator: undo the constructor's switch (as PyTorch does), so that
        # decorating does not change the mode; the wrapper switches on each call.
        state = current()
        _set_mode(state, self._prev)
        return super().__call__(fn)

    def __repr__(self) -> str:  # PyTorch's: what a notebook echoes for the plain call
        return f"{type(self).__module__}.{type(self).__qualname__}(mode={self._mode})"

    def clone(self) -> "set_grad_enabled":
        """A fresh switch with the same mode (PyTorch API)."""
        state = current()
        prev = _mode(state)
        new = set_grad_enabled(self._mode)
        _set_mode(state, prev)
        new._prev = prev
        return new


class inference_mode(_ModeSwitch):  # noqa: N801 - PyTorch's name
    """``torch.inference_mode``: no graph recording, for evaluation and serving.

    ``inference_mode(mode=True)`` turns recording off (like ``no_grad``) and makes
    :func:`is_inference_mode_enabled` true; ``inference_mode(False)`` leaves inference mode
    and turns recording on, as in PyTorch. Works as a context manager and as a decorator
    (``@cr.inference_mode()`` or ``@cr.inference_mode``). Tensors made inside are inference
    tensors (``is_inference()``): see :mod:`chainrule.autograd.inference` for their rules.
    """

    def __new__(cls, mode: Any = True) -> Any:
        if isinstance(mode, bool):
            return super().__new__(cls)
        if callable(mode):  # used bare as @inference_mode
            return cls()(mode)
        raise TypeError(f"inference_mode(): mode must be a bool, got {type(mode).__name__}")

    def __init__(self, mode: bool = True):
        self._mode = mode

    def _target(self) -> tuple[bool, bool]:
        return (False, True) if self._mode else (True, False)

    def clone(self) -> "inference_mode":
        """A fresh switch with the same mode (PyTorch API)."""
        return inference_mode(self._mode)
