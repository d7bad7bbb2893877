"""Array backends: NumPy on the CPU, CuPy on an NVIDIA GPU.

Every op gets its array module through :func:`get_array_module`, so the same code runs on
either backend (Chainer's ``xp`` idiom). Nothing here chooses a backend from the environment:
a tensor lives where its data lives.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

try:  # CuPy is optional: ``pip install chainrule[gpu]``
    import cupy as _cupy  # type: ignore
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None

Array = Any  # numpy.ndarray or cupy.ndarray


class DeviceError(ValueError, RuntimeError):
    """A device string or index chainrule cannot use. PyTorch raises ``RuntimeError``
    (``torch.device("tpu")``); chainrule has raised ``ValueError``: this is both, so code
    written for either keeps catching it."""


_DEVICE_RE = re.compile(r"^(cpu|cuda)(?::(0|[1-9][0-9]*))?$")


def cupy_available() -> bool:
    """Whether CuPy imported and sees at least one GPU."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover
        return False


def get_array_module(*arrays: Any):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    return np


class Device:
    """Where a tensor's data lives: ``Device('cpu')`` or ``Device('cuda:0')``."""

    __slots__ = ("type", "index")

    def __init__(self, spec: "str | Device" = "cpu", index: int | None = None):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if isinstance(spec, int) and not isinstance(spec, bool):
            if spec < 0:
                raise DeviceError(f"device: device index must not be negative, got {spec}")
            spec, index = "cuda", spec
        if not isinstance(spec, str):
            raise TypeError(
                f"device: expected a string such as 'cpu' or 'cuda:0', got {type(spec).__name__}"
            )
        m = _DEVICE_RE.match(spec)
        if m is None:
            raise DeviceError(
                f"device: invalid device string {spec!r}; expected 'cpu', "
                "'cuda' or 'cuda:N' with N a non-negative integer"
            )
        if index is not None and (m.group(2) is not None or int(index) < 0):
            raise DeviceError(f"device: invalid index {index!r} for device string {spec!r}")
        kind, idx = m.group(1), m.group(2)
        self.type = kind
        # as PyTorch: a bare 'cuda' names the current device and keeps index None, so
        # device('cuda') != device('cuda:0') and its repr shows no index
        self.index = int(idx) if idx else index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __enter__(self) -> "Device":
        """``with cr.device('cpu'):``, PyTorch's device context (factory functions given no
        device use this one inside). chainrule's factories always default to the CPU (see
        ``cr.set_default_device``), so the CPU is accepted and any other device raises rather
        than being silently ignored."""
        if self.type != "cpu":
            raise NotImplementedError(
                f"with cr.device({str(self)!r}): chainrule cannot make {self} the default "
                "device of factory functions; pass device= to them or move tensors with .to()"
            )
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None


CPU = Device("cpu")


def device_of(array: Any) -> Device:
    """The :class:`Device` an array lives on."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return Device("cuda", array.device.id)
    return CPU


def to_device(array: Any, device: "str | Device") -> Any:
    """Move an array to ``device`` (a no-op when it is already there)."""
    device = Device(device)
    if device.type == "cpu":
        if _cupy is not None and isinstance(array, _cupy.ndarray):
            return _cupy.asnumpy(array)
        return array
    if _cupy is None:
        raise RuntimeError(
            "device 'cuda' needs CuPy: install it with `pip install chainrule[gpu]` "
            "(or the cupy wheel matching your CUDA version)"
        )
    with _cupy.cuda.Device(device.index):
        return _cupy.asarray(array)
