"""NaN/Inf anomaly detection: find the op that produced the first non-finite value.

Inside ``with cr.autograd.detect_anomaly():`` every op's forward output and every
backward gradient is checked; the error names the op and the line of *your* code that
called it in the forward pass. Off by default; when off the only cost is one attribute
read per op. The switch is per thread (like grad mode): turning it on in one thread does
not slow down or change another.
"""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import get_array_module
from ..dtypes import is_floating
from .state import current

__all__ = [
    "check_forward_outputs",
    "detect_anomaly",
    "is_anomaly_enabled",
    "set_detect_anomaly",
    "user_frame",
]


_NO_TRACE_ONLY = (
    "{api}: check_nan=False (anomaly mode recording forward traces without the NaN/Inf checks) "
    "is not supported: chainrule's anomaly mode is one switch for both; use check_nan=True, "
    "or leave anomaly detection off"
)


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) turning anomaly detection on in the calling thread."""

    def __init__(self, check_nan: bool = True):
        if not check_nan:
            raise NotImplementedError(_NO_TRACE_ONLY.format(api="detect_anomaly"))
        self.check_nan = check_nan

    def __enter__(self) -> "detect_anomaly":
        state = current()
        self._prev = state.anomaly
        state.anomaly = self.check_nan
        # NumPy's own divide/invalid warnings would fire (or, under -W error, raise) before
        # the op's output is checked; silence them so the error names the op and the line.
        self._errstate = np.errstate(all="ignore")
        self._errstate.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        current().anomaly = self._prev
        self._errstate.__exit__(*exc)

    def __call__(self, fn: Callable) -> Callable:
        check_nan = self.check_nan

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(check_nan):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Set anomaly detection to ``mode`` for the calling thread: at once when called, and
    back to the previous setting when used as a context manager exits (as PyTorch)."""

    def __init__(self, mode: bool, check_nan: bool = True):
        if mode and not check_nan:
            raise NotImplementedError(_NO_TRACE_ONLY.format(api="set_detect_anomaly"))
        state = current()
        self._prev = state.anomaly
        state.anomaly = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        current().anomaly = self._prev


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on in the calling thread."""
    return current().anomaly


def check_forward_outputs(cls: type, outs: tuple) -> None:
    """Raise if any float output of ``cls``'s forward holds NaN or Inf, naming the op and
    the line of the caller's code (called by ``Function.apply`` only in anomaly mode)."""
    for o in outs:
        if is_floating(o.dtype) and not get_array_module(o).isfinite(o).all():  # bf16 too
            frame = user_frame(traceback.extract_stack()[:-3])
            raise RuntimeError(
                f"anomaly detected: {cls.__name__} returned NaN or Inf in its forward output "
                f"(shape {tuple(o.shape)}), called at {frame}"
            )


_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_frame(stack: list) -> str:
    """The innermost stack frame outside chainrule's own source, formatted for an error."""
    for fr in reversed(stack):
        if not os.path.abspath(fr.filename).startswith(_PKG_DIR):
            return f'File "{fr.filename}", line {fr.lineno}, in {fr.name}: {fr.line}'
    fr = stack[-1] if stack else None
    return f'File "{fr.filename}", line {fr.lineno}' if fr else "<unknown>"
