"""What to profile and when: ``ProfilerActivity``, ``ProfilerAction`` and ``schedule``.

``schedule(wait=, warmup=, active=, repeat=, skip_first=, skip_first_wait=)`` maps a step
number to an action, as PyTorch's: after ``skip_first`` steps, cycles of ``wait`` idle
steps, ``warmup`` steps and ``active`` recorded steps (the last one ``RECORD_AND_SAVE``,
when ``on_trace_ready`` runs), ``repeat`` times (0: for ever).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from enum import Enum

__all__ = ["ProfilerAction", "ProfilerActivity", "schedule", "supported_activities"]


class ProfilerActivity(Enum):
    """The kinds of activity PyTorch can profile. chainrule profiles ``CPU`` (its NumPy
    back end); asking for a device activity warns that it is disabled, as PyTorch does on a
    machine without that device."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(Enum):
    """What the profiler does at a step (a schedule's answer)."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4


def supported_activities() -> set[ProfilerActivity]:
    """The activities chainrule's profiler records: the CPU."""
    return {ProfilerActivity.CPU}


def schedule(
    *,
    wait: int,
    warmup: int,
    active: int,
    repeat: int = 0,
    skip_first: int = 0,
    skip_first_wait: int = 0,
) -> Callable[[int], ProfilerAction]:
    """A schedule function for ``profile(schedule=...)``: ``step -> ProfilerAction``.

    ``skip_first_wait=1`` drops the ``wait`` of the first cycle after ``skip_first``.
    Raises AssertionError (PyTorch's type) for negative counts or ``active < 1``, and warns
    that ``warmup=0`` can skew the results, as PyTorch does.
    """
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), "
            f"warmup={warmup} (need >= 0), active={active} (need > 0), repeat={repeat} "
            f"(need >= 0), skip_first={skip_first} (need >= 0)."
        )
    if warmup == 0:
        warnings.warn(
            "Profiler won't be using warmup, this can skew profiler results", stacklevel=2
        )
    cycle = wait + warmup + active
    shift = wait if skip_first_wait else 0

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        pos = step - skip_first + shift  # with skip_first_wait the first cycle starts warm
        if repeat > 0 and pos // cycle >= repeat:
            return ProfilerAction.NONE
        mod = pos % cycle
        if mod < wait:
            return ProfilerAction.NONE
        if mod < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn
