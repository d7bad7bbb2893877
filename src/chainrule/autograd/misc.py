"""Small parts of ``torch.autograd``: ``is_tensor_like``, the multithreaded-backward switch
(``set_multithreading_enabled`` / ``is_multithreading_enabled``) and the view-replay switch
(``_force_original_view_tracking`` / ``is_view_replay_enabled``).

Both switches are per thread, as in PyTorch, and each is honoured in the only sense it has
for chainrule's engine; what that is, is said on each.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from .tensor import Tensor

__all__ = [
    "DecoratorContextManager",
    "_force_original_view_tracking",
    "is_multithreading_enabled",
    "is_tensor_like",
    "is_view_replay_enabled",
    "set_multithreading_enabled",
]


def is_tensor_like(inp: Any) -> bool:
    """Whether ``inp`` is a Tensor or Tensor-like (``torch.autograd.is_tensor_like``).

    True for a chainrule Tensor (and subclasses such as ``Parameter``, and the class
    ``Tensor`` itself, as ``torch.Tensor`` is in PyTorch) and for any object with a
    ``__torch_function__`` attribute, PyTorch's mark of a Tensor-like type.
    """
    if isinstance(inp, Tensor) or (isinstance(inp, type) and issubclass(inp, Tensor)):
        return True
    return hasattr(inp, "__torch_function__")


class DecoratorContextManager:
    """A switch usable as a decorator: each call of the decorated function (each step of a
    decorated generator) runs inside a fresh switch made by :meth:`clone`, as PyTorch's
    ``_DecoratorContextManager``."""

    def clone(self) -> Any:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __enter__(self) -> None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __exit__(self, *exc: Any) -> None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __call__(self, fn: Callable) -> Callable:
        make = self.clone
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                with make():
                    gen = fn(*args, **kwargs)
                to_send = None
                while True:
                    try:
                        with make():
                            value = gen.send(to_send)
                    except StopIteration as stop:
                        return stop.value
                    to_send = yield value

            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with make():
                return fn(*args, **kwargs)

        return wrapper


class _Flags(threading.local):
    """The calling thread's switches; a new thread starts with PyTorch's defaults."""

    def __init__(self) -> None:
        self.multithreading = True
        self.view_replay = False


_FLAGS = _Flags()


def is_multithreading_enabled() -> bool:
    """Whether multithreaded backward is enabled in the calling thread (default True).

    chainrule's backward always runs on the calling thread (one device, one worker), which
    is what PyTorch does with the switch off; the switch is kept and reported so that code
    that sets and reads it runs unchanged.
    """
    return _FLAGS.multithreading


class set_multithreading_enabled(DecoratorContextManager):  # noqa: N801 - PyTorch's name
    """Enable or disable multithreaded backward (``torch.autograd.set_multithreading_enabled``).

    Switches at construction (so a plain call works as a function), restores the previous
    value when a ``with`` block ends; as a decorator each call of the function runs under
    the switch. Per thread, as in PyTorch. chainrule's backward is single-threaded either
    way (it runs on the calling thread, PyTorch's ``mode=False`` behaviour): the flag is
    stored and reported by :func:`is_multithreading_enabled` only.
    """

    def __init__(self, mode: bool) -> None:
        self.prev = _FLAGS.multithreading
        _FLAGS.multithreading = bool(mode)
        self.mode = mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _FLAGS.multithreading = self.prev

    def clone(self) -> set_multithreading_enabled:
        """A fresh switch with the same mode (used for each decorated call)."""
        return self.__class__(self.mode)


def is_view_replay_enabled() -> bool:
    """Whether view replay is forced in the calling thread (default False)."""
    return _FLAGS.view_replay


class _force_original_view_tracking(DecoratorContextManager):  # noqa: N801 - PyTorch's name
    """Force view replay on or off (``torch.autograd._force_original_view_tracking``).

    When a view's base is changed in place, autograd re-derives the view's history either by
    replaying the chain of view ops on the updated base or with one ``as_strided``; with
    ``mode=True`` PyTorch always replays. chainrule re-derives every view with one rule
    (the flat positions of the view in its base, :mod:`.view_replay`), which gives the same
    values and gradients as either of PyTorch's ways; the two differ only in the names of
    the graph's nodes. The flag is stored per thread and reported by
    :func:`is_view_replay_enabled`.

    Switches at construction, and again on entering a ``with`` block, restoring the previous
    value on exit; as a decorator it undoes the constructor's switch and switches only while
    the decorated function runs (all as PyTorch).
    """

    def __init__(self, mode: bool) -> None:
        self.prev = _FLAGS.view_replay
        self.mode = mode
        _FLAGS.view_replay = bool(mode)

    def __call__(self, orig_func: Any) -> Any:
        _FLAGS.view_replay = self.prev
        return super().__call__(orig_func)

    def __enter__(self) -> None:
        _FLAGS.view_replay = bool(self.mode)

    def __exit__(self, *exc: Any) -> None:
        _FLAGS.view_replay = self.prev

    def clone(self) -> _force_original_view_tracking:
        """A fresh switch with the same mode (used for each decorated call)."""
        return self.__class__(self.mode)
