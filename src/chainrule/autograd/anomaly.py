"""NaN/Inf anomaly detection: find the op that produced the first non-finite value.

Inside ``with cr.autograd.detect_anomaly():`` every op's forward output and every
backward gradient is checked; the error names the op and the line of *your* code that
called it in the forward pass. Off by default; when off the only cost is one list read
per op.
"""
from __future__ import annotations

from typing import Any

from .state import ANOMALY


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) turning anomaly detection on."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self) -> "detect_anomaly":
        import numpy as np

        self._prev = ANOMALY[0]
        ANOMALY[0] = self.check_nan
        # NumPy's own divide/invalid warnings would fire (or, under -W error, raise) before
        # the op's output is checked; silence them so the error names the op and the line.
        self._errstate = np.errstate(all="ignore")
        self._errstate.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        ANOMALY[0] = self._prev
        self._errstate.__exit__(*exc)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


def set_detect_anomaly(mode: bool) -> None:
    ANOMALY[0] = bool(mode)


def is_anomaly_enabled() -> bool:
    return ANOMALY[0]
