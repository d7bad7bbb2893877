"""Checks for numeric command-line values: a clear message instead of a huge allocation,
a NaN run or a NumPy traceback. Each raises ``ValueError`` naming the flag."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_int", "check_real"]


def check_int(flag: str, value: Any, low: int, high: int | None = None) -> None:
    """``value`` must be an int in ``[low, high]``."""
    ok = (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )
    if not ok:
        valid = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{flag} must be an integer {valid}, got {value!r}")


def check_real(
    flag: str, value: Any, low: float, high: float | None = None, low_open: bool = False
) -> None:
    """``value`` must be a finite number above ``low`` (strictly if ``low_open``) and at
    most ``high``."""
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > low if low_open else value >= low)
        and (high is None or value <= high)
    )
    if not ok:
        bound = f"> {low}" if low_open else f">= {low}"
        valid = bound if high is None else f"{bound} and <= {high}"
        raise ValueError(f"{flag} must be a finite number {valid}, got {value!r}")
