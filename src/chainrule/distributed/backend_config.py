"""Which backend serves which device in a process group, and how many groups exist.

PyTorch describes a process group's backends per device type: ``init_process_group("gloo")``
means Gloo for CPU and CUDA tensors (``"cpu:gloo,cuda:gloo"``), ``"cpu:gloo,cuda:nccl"``
names each device's backend, and ``backend=None`` picks each device's default (here only the
CPU's: ``"cpu:gloo"``). :class:`BackendConfig` parses such a string the way PyTorch does, so
that ``get_backend_config`` answers the same strings; chainrule itself moves CPU tensors only.
"""

from __future__ import annotations

import warnings
from typing import Any, NewType

from .backend_names import Backend
from .group import ProcessGroup, _State, group_of

__all__ = ["BackendConfig", "GroupName", "get_backend_config", "get_pg_count"]

GroupName = NewType("GroupName", str)
"""A process group's name (a ``str``; PyTorch's type alias for annotations)."""

# The device types PyTorch lets each named backend serve (``Backend.backend_capability`` of
# torch); a name given alone expands to these.
_CAPABILITY = {
    "gloo": ["cpu", "cuda"],
    "nccl": ["cuda"],
    "xccl": ["xpu"],
    "ucc": ["cpu", "cuda"],
    "mpi": ["cpu", "cuda"],
    "fake": ["cpu", "cuda", "hpu", "xpu"],
}
_UNKNOWN_DEVICES = ["cpu", "cuda", "xpu"]  # what PyTorch assumes for a backend it does not know

_FORMAT = (
    "The custom backend string argument is invalid: {text}. A custom backend string must be "
    "in the format '<device_type1>:<backend1>,<device_type2>:<backend2>...', e.g. "
    "'cpu:gloo,cuda:nccl'"
)


class BackendConfig:
    """The backend of each device type, parsed from a backend string (``BackendConfig``).

    ``"gloo"`` (any case) expands to the device types Gloo serves (``cpu:gloo,cuda:gloo``),
    ``"undefined"`` to each device's default (chainrule has the CPU only: ``cpu:gloo``), and
    ``"cpu:gloo,cuda:nccl"`` is taken as written. ``str()`` gives the ``device:backend``
    list.

    Raises:
        ValueError: a ``device:backend`` string with an entry that has no ``:`` or names a
            device type twice.
    """

    def __init__(self, backend: Backend | str):
        text = str(backend).lower()
        self.device_backend_map: dict[str, str] = {}
        if text == Backend.UNDEFINED:
            self.device_backend_map = dict(Backend.default_device_backend_map)
        elif ":" not in text:
            devices = _CAPABILITY.get(text)
            if devices is None:
                warnings.warn(
                    f"Device capability of {text} unknown, assuming `cpu` and `cuda`. You can "
                    "specify it in `device:backend` format in `init_process_group` call.",
                    UserWarning,
                    stacklevel=2,
                )
                devices = _UNKNOWN_DEVICES
            self.device_backend_map = dict.fromkeys(devices, text)
        else:
            for entry in text.split(","):
                if ":" not in entry:
                    raise ValueError(
                        f"Invalid device:backend pairing: {entry}. " + _FORMAT.format(text=text)
                    )
                device, name = entry.split(":", 1)
                if device in self.device_backend_map:
                    raise ValueError(
                        f"Duplicate device type {device} in backend string: {name}. "
                        + _FORMAT.format(text=text)
                    )
                self.device_backend_map[device] = name

    def __repr__(self) -> str:
        return ",".join(f"{device}:{name}" for device, name in self.device_backend_map.items())

    def get_device_backend_map(self) -> dict[str, str]:
        """The ``{device type: backend name}`` dict (the config's own, as PyTorch's)."""
        return self.device_backend_map


def get_backend_config(group: ProcessGroup | None = None) -> str:
    """The ``device:backend`` list of ``group`` (default: the world), e.g. ``"cpu:gloo"``
    after ``init_process_group(backend=None)`` and ``"cpu:gloo,cuda:gloo"`` after
    ``init_process_group("gloo")``; a subgroup made without a backend has the world's.

    Raises:
        ValueError: the default group is not initialised.
        TypeError: ``group`` is not a process group, or was destroyed.
    """
    g = group_of(group)
    if g is not _State.world and g not in _State.groups:
        raise TypeError(f"get_backend_config: {g} was destroyed (destroy_process_group)")
    spec: Any = g.backend_spec if g.backend_spec is not None else _State.backend_spec
    return str(BackendConfig(spec))


def get_pg_count() -> int:
    """How many process groups this process created since ``init_process_group``: the
    default group, each ``new_group`` (on non-members too) and each subgroup of
    ``new_subgroups``/``split_group``; destroying a subgroup does not lower it, destroying
    the default group resets it to 0, as PyTorch counts."""
    return _State.pg_count
