"""``fork``/``wait`` and the :class:`Future` they pass, run eagerly.

With the JIT off PyTorch's ``torch.jit.fork(fn, *args)`` calls ``fn`` at once (an error in
``fn`` propagates from ``fork``) and returns a completed ``torch.futures.Future``;
``torch.jit.wait`` returns its value. chainrule does the same. :class:`Future` follows
``torch.futures.Future``: it can also be created empty and completed later, from another
thread, with ``set_result``/``set_exception``; ``wait`` blocks until then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ._script import warn_deprecated

__all__ = ["Future", "fork", "result_of", "run_now", "wait"]


class Future:
    """The result of an asynchronous call: ``torch.futures.Future`` (``torch.jit.Future``).

    Args:
        devices: CUDA devices whose streams the value's tensors use (PyTorch); chainrule's
            futures hold host values only, so only None is accepted.

    Raises:
        NotImplementedError: ``devices`` is given.
    """

    def __init__(self, *, devices: list | None = None) -> None:
        if devices:
            raise NotImplementedError(
                f"cr.jit.Future: devices={devices!r} (CUDA stream synchronisation) is not "
                "supported; create the Future without devices"
            )
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Future], Any]] = []

    def done(self) -> bool:
        """Whether a result or an exception has been set."""
        return self._done.is_set()

    def wait(self) -> Any:
        """Block until the future completes; return its value or raise its exception."""
        self._done.wait()
        return self.value()

    def value(self) -> Any:
        """The value of a completed future (its exception, if one was set, is raised).

        Raises:
            RuntimeError: the future has not completed yet.
        """
        if not self._done.is_set():
            raise RuntimeError("Future.value(): the future has not completed yet; call wait()")
        if self._error is not None:
            raise self._error
        return self._value

    def _complete(self, value: Any, error: BaseException | None) -> None:
        with self._lock:
            if self._done.is_set():
                raise RuntimeError(
                    "Attempting to mark a completed Future as complete again. Note that a "
                    "Future can only be marked completed once."
                )
            self._value, self._error = value, error
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def set_result(self, result: Any) -> None:
        """Complete the future with ``result`` and run its callbacks.

        Raises:
            RuntimeError: the future is already complete.
        """
        self._complete(result, None)

    def set_exception(self, result: BaseException) -> None:
        """Complete the future with an exception, which ``wait``/``value`` will raise."""
        if not isinstance(result, BaseException):
            raise TypeError(f"{result!r} is of type {type(result)}, not an Exception.")
        self._complete(None, result)

    def add_done_callback(self, callback: Callable[[Future], Any]) -> None:
        """Call ``callback(self)`` once the future completes (at once if it has)."""
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        callback(self)

    def then(self, callback: Callable[[Future], Any]) -> Future:
        """A new future completed with ``callback(self)`` once this one completes; an error in
        ``callback`` becomes the new future's ``RuntimeError``."""
        child = Future()

        def run(fut: Future) -> None:
            try:
                result = callback(fut)
            except Exception as e:  # noqa: BLE001 - handed to the child future, as PyTorch does
                child.set_exception(
                    RuntimeError(
                        "Got the following error when running the callback: "
                        f"{type(e).__name__}: {e}"
                    )
                )
                return
            child.set_result(result)

        self.add_done_callback(run)
        return child


def run_now(func: Callable, *args: Any, **kwargs: Any) -> Future:
    """Call ``func(*args, **kwargs)`` now and return a completed :class:`Future` holding the
    result (an exception propagates): ``fork`` with the JIT off, as PyTorch runs it.

    Raises:
        TypeError: ``func`` is not callable.
    """
    if not callable(func):
        raise TypeError(f"fork(): object of type '{type(func).__name__}' is not callable")
    future = Future()
    future.set_result(func(*args, **kwargs))
    return future


def result_of(future: Future) -> Any:
    """The result of ``future``, waiting for it to complete.

    Raises:
        TypeError: ``future`` is not a :class:`Future`.
    """
    if not isinstance(future, Future):
        raise TypeError(f"wait(): expected a cr.jit.Future, got {type(future).__name__}")
    return future.wait()


def fork(func: Callable, *args: Any, **kwargs: Any) -> Future:
    """``torch.jit.fork`` (deprecated, as PyTorch's): :func:`run_now`."""
    warn_deprecated("fork")
    return run_now(func, *args, **kwargs)


def wait(future: Future) -> Any:
    """``torch.jit.wait`` (deprecated, as PyTorch's): :func:`result_of`."""
    warn_deprecated("wait")
    return result_of(future)
