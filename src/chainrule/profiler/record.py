"""``record_function``: a named range in the profile (PyTorch's ``torch.profiler.record_function``).

Used as a context manager (``with record_function("## forward ##"):``) or as a decorator
(``@record_function("step")``), it records one event spanning the block or the call, holding
the ops run inside it. It records only in the thread whose profiler is running (PyTorch
keeps these ranges per thread); with no profiler running it does nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .hooks import active_session

__all__ = ["record_function"]


class record_function:  # noqa: N801 - PyTorch's name
    """A user range named ``name`` (``args``: an optional string PyTorch attaches to the
    range; kept on ``self.args`` and in the Chrome trace)."""

    def __init__(self, name: str, args: str | None = None):
        if not isinstance(name, str):
            raise TypeError(f"record_function(): name must be a str, got {type(name).__name__}")
        if args is not None and not isinstance(args, str):
            raise TypeError(
                f"record_function(): args must be a str or None, got {type(args).__name__}"
            )
        self.name = name
        self.args = args
        self.run_callbacks_on_exit = True
        self.record = None  # the open event while a profiler records it
        self._session = None

    def __enter__(self) -> record_function:
        s = active_session()
        if s is not None:
            self._session = s
            self.record = s.open(self.name, [], user=True)
            if self.args is not None:
                self.record.args = self.args
        return self

    def __exit__(self, *exc: Any) -> None:
        s, ev = self._session, self.record
        self._session = self.record = None
        if s is not None and ev is not None:
            s.close(ev)

    def __call__(self, fn: Callable) -> Callable:
        name, args = self.name, self.args

        @functools.wraps(fn)
        def wrapper(*a: Any, **k: Any) -> Any:
            with record_function(name, args):
                return fn(*a, **k)

        return wrapper
