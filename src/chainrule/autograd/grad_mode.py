"""Switches for recording the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

The state is one module-level flag (read on every op, so it is a plain list lookup).
Each switch works as a context manager and as a decorator, like PyTorch's.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

# _STATE[0]: gradient recording on/off. A list so that hot paths read it without a call.
_STATE = [True]


def is_grad_enabled() -> bool:
    """Whether ops record the graph for backward."""
    return _STATE[0]


class _GradModeSwitch:
    _mode: bool

    def __enter__(self) -> None:
        self._prev = _STATE[0]
        _STATE[0] = self._mode

    def __exit__(self, *exc: Any) -> None:
        _STATE[0] = self._prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = _STATE[0]
            _STATE[0] = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _STATE[0] = prev

        return wrapper


class no_grad(_GradModeSwitch):  # noqa: N801 - PyTorch's name
    """Disable graph recording: ``with cr.no_grad(): ...`` or ``@cr.no_grad()``."""

    _mode = False


class enable_grad(_GradModeSwitch):  # noqa: N801
    """Re-enable graph recording inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_GradModeSwitch):  # noqa: N801
    """Set graph recording to ``mode`` (context manager, decorator or plain call)."""

    def __init__(self, mode: bool):
        self._mode = bool(mode)
        self._prev = _STATE[0]
        _STATE[0] = self._mode

    def __enter__(self) -> None:  # the constructor already switched
        pass
