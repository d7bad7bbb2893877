"""``torch.futures``: the :class:`Future` that asynchronous calls return, and helpers that
wait on several; plus the root ``fork``/``wait`` (``torch.fork``/``torch.wait``).

chainrule runs the forked call eagerly (as PyTorch does with the JIT off), so a future from
:func:`fork` is already complete; a :class:`Future` created by the user can be completed
later, from another thread, and :func:`collect_all` / :func:`wait_all` wait for those.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .jit._async import Future, result_of, run_now

__all__ = ["Future", "collect_all", "fork", "wait", "wait_all"]


def _futures(op: str, futures: Any) -> list[Future]:
    if not isinstance(futures, Sequence) or not all(isinstance(f, Future) for f in futures):
        got = type(futures).__name__
        if isinstance(futures, Sequence):
            got = "[" + ", ".join(type(f).__name__ for f in futures) + "]"
        raise TypeError(f"{op}(): expected a sequence of cr.futures.Future, got {got}")
    return list(futures)


def collect_all(futures: Sequence[Future]) -> Future:
    """A :class:`Future` that completes once every one of ``futures`` has completed
    (``torch.futures.collect_all``): with the list of them as its value, or with the first
    exception among them (in list order), as PyTorch's."""
    futures = _futures("collect_all", futures)
    combined = Future()
    remaining = [len(futures)]

    def one_done(_: Future) -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            failed = [f._error for f in futures if f._error is not None]
            if failed:
                combined.set_exception(failed[0])
            else:
                combined.set_result(futures)

    if not futures:
        combined.set_result([])
    for future in futures:
        future.add_done_callback(one_done)
    return combined


def wait_all(futures: Sequence[Future]) -> list[Any]:
    """The values of ``futures``, waiting for each (``torch.futures.wait_all``); the first
    exception among them is raised."""
    return [future.wait() for future in _futures("wait_all", futures)]


def fork(func: Callable, *args: Any, **kwargs: Any) -> Future:
    """``torch.fork``: call ``func(*args, **kwargs)`` now and return a completed
    :class:`Future` holding its result (``torch.jit.fork`` without its deprecation warning)."""
    return run_now(func, *args, **kwargs)


def wait(future: Future) -> Any:
    """``torch.wait``: the result of ``future``, waiting for it to complete."""
    return result_of(future)
