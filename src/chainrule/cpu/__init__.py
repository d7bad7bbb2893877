"""``cr.cpu``: PyTorch's ``torch.cpu`` device module, for code written against any device.

Device-generic code calls ``getattr(torch, device_type).synchronize()`` or
``torch.cpu.current_stream()``; on the CPU these have nothing to wait for. chainrule's ops
run synchronously on NumPy, so :func:`synchronize` returns at once, the CPU has one
:class:`Stream` (plus any the user creates, made current by :func:`stream`), and an
:class:`Event` is complete as soon as it is recorded, as in PyTorch.

Unlike PyTorch, which ignores the ``device`` argument of these functions, a device that is
not the CPU (``'cuda:0'``) raises ``ValueError`` rather than being silently treated as the
CPU. Not provided: ``get_capabilities`` (PyTorch reports cpuinfo's instruction-set flags,
which chainrule has no source for).
"""

from __future__ import annotations

import importlib
from typing import Any

from ..backend import Device

__all__ = [
    "Event",
    "Stream",
    "StreamContext",
    "amp",
    "current_device",
    "current_stream",
    "device_count",
    "is_available",
    "is_initialized",
    "set_device",
    "stream",
    "synchronize",
]


def _check_device(where: str, device: Any) -> None:
    """Accept None, an int, or a string/``cr.device`` naming the CPU."""
    if device is None or (isinstance(device, int) and not isinstance(device, bool)):
        return
    if isinstance(device, (str, Device)):
        parsed = Device(device) if isinstance(device, str) else device
        if parsed.type == "cpu":
            return
    raise ValueError(f"cr.cpu.{where}: expected the CPU device (None, 'cpu' or 0), got {device!r}")


def is_available() -> bool:
    """True: the CPU is always there."""
    return True


def is_initialized() -> bool:
    """True: the CPU needs no initialization."""
    return True


def device_count() -> int:
    """1: PyTorch counts the CPU as one device."""
    return 1


def current_device() -> str:
    """``'cpu'``."""
    return "cpu"


def set_device(device: Any) -> None:
    """Select the CPU (the only CPU device, so nothing changes).

    Raises:
        ValueError: ``device`` is not the CPU.
    """
    _check_device("set_device", device)


def synchronize(device: Any = None) -> None:
    """Wait for the CPU's work: chainrule's ops are synchronous, so this returns at once.

    Raises:
        ValueError: ``device`` is not the CPU.
    """
    _check_device("synchronize", device)


class Event:
    """A CPU event: complete as soon as it is recorded (CPU work is synchronous)."""

    def record(self, stream: Stream | None = None) -> None:
        """Record the event on ``stream`` (the current one by default)."""

    def query(self) -> bool:
        """True: everything before the event has run."""
        return True

    def synchronize(self) -> None:
        """Return at once: the event is complete."""

    def wait(self, stream: Stream | None = None) -> None:
        """Return at once: later work on ``stream`` already follows the event."""


class Stream:
    """A CPU stream. The CPU runs one thing after another, so a stream only marks which one
    code believes is current; waits return at once.

    Args:
        priority: accepted for PyTorch's signature; CPU streams have no priorities.
    """

    def __init__(self, priority: int = -1) -> None:
        self.priority = priority

    def wait_stream(self, stream: Stream) -> None:
        """Return at once: ``stream``'s work has already run."""

    def wait_event(self, event: Event) -> None:
        """Return at once: the event is complete."""

    def record_event(self, event: Event | None = None) -> None:
        """Record ``event`` (returns None, as PyTorch's CPU stream does)."""


_DEFAULT_STREAM = Stream()
_CURRENT = [_DEFAULT_STREAM]


def current_stream(device: Any = None) -> Stream:
    """The current CPU stream (the default one unless inside :func:`stream`).

    Raises:
        ValueError: ``device`` is not the CPU.
    """
    _check_device("current_stream", device)
    return _CURRENT[-1]


class StreamContext:
    """Make ``stream`` current for the ``with`` block (None changes nothing)."""

    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream
        self.prev_stream = _DEFAULT_STREAM

    def __enter__(self) -> None:
        self.prev_stream = _CURRENT[-1]
        if self.stream is not None:
            _CURRENT.append(self.stream)

    def __exit__(self, *exc: Any) -> None:
        if self.stream is not None:
            _CURRENT.pop()


def stream(stream: Stream | None) -> StreamContext:
    """``with cr.cpu.stream(s):`` makes ``s`` the current CPU stream inside the block."""
    return StreamContext(stream)


def __getattr__(name: str) -> Any:
    # cr.cpu.amp loads the autocast machinery, which synchronize() and friends do not need
    if name == "amp":
        return importlib.import_module(".amp", __name__)
    raise AttributeError(f"module 'chainrule.cpu' has no attribute {name!r}")
