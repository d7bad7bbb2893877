"""Where ``cr.load`` puts what it read (split from :mod:`chainrule.io`): ``map_location``
as a rule from a loaded tensor to its device (:func:`device_rule`), the device a storage saved
on a GPU is restored to (its own, as in PyTorch, which refuses CUDA storages without a GPU),
and the move of a loaded nest of containers (:func:`move`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import cuda
from .._memory import root_array
from ..autograd.tensor import Tensor
from ..backend import Device
from .source import LoadError
from .tree import MAX_DEPTH

__all__ = ["device_rule", "move", "tp_name"]


def tp_name(value: Any) -> str:
    """Python's name for ``value``'s type in its messages (a C type's with its module)."""
    kind = type(value)
    heap = kind.__flags__ & (1 << 9) or kind.__module__ == "builtins"
    return kind.__name__ if heap else f"{kind.__module__}.{kind.__name__}"


def _as_device(where: Any, what: str) -> Device:
    """A device named by ``map_location`` (a ``cr.device`` or a string such as ``"cuda:0"``);
    anything else is refused here, before ``Tensor.to`` could read a string as a dtype."""
    if isinstance(where, Device):
        return where
    if not isinstance(where, str):
        # PyTorch calls a map_location of no other kind: Python's words first
        first = f"'{tp_name(where)}' object is not callable\n" if what == "map_location" else ""
        raise TypeError(
            f"{first}cr.load: {what} must be a device string, a cr.device, a dict from location "
            "strings to devices, or a function (storage, location) -> storage; got "
            f"{type(where).__name__}"
        )
    return Device(where)  # an unknown device string raises RuntimeError, as in PyTorch


def _saved_device(location: str, where: str) -> Device:
    """The device a storage saved at ``location`` (in the file ``where``) is restored to when
    no ``map_location`` says otherwise: its own, as in PyTorch, which refuses CUDA storages
    without a GPU. A location chainrule cannot place data on (``"meta"``, ``"mps"``, or
    one no device string spells) raises a LoadError naming the file."""
    try:
        device = Device(location)
        if device.type not in ("cpu", "cuda"):
            raise ValueError(f"chainrule places tensors on 'cpu' and 'cuda' only, not {location!r}")
    except (ValueError, TypeError, RuntimeError, NotImplementedError) as exc:
        raise LoadError(
            f"cr.load: {where} holds a storage saved at the location {location[:64]!r}, which "
            f"chainrule cannot restore it to ({exc}); load it with map_location='cpu'"
        ) from None
    if device.type == "cuda" and not cuda.is_available():
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but cr.cuda.is_available() "
            "is False. If you are running on a CPU-only machine, please use cr.load with "
            f"map_location=cr.device('cpu') to map your storages to the CPU. (file {where})"
        )
    return device


def device_rule(
    map_location: Any, locations: dict[int, str], where: list[str]
) -> Callable[[Tensor], Any]:
    """``map_location`` as a function from a loaded tensor to its device. ``locations`` says
    where each storage was saved (``id(root array) -> "cuda:0"``; absent: ``"cpu"``), and
    ``where[0]`` names the file in errors about them. None keeps each tensor at its saved
    location. A dict maps location strings
    (``{"cuda:0": "cpu"}``; a location it does not name stays where it was saved). A
    function is called as PyTorch calls it, once per storage, as ``f(storage, location)``,
    and the tensors of that storage move to the device of the storage it returns
    (``lambda storage, loc: storage`` keeps them in host memory, as in PyTorch)."""

    def location(t: Tensor) -> str:
        return locations.get(id(root_array(t._data)), "cpu")

    if map_location is None:
        return lambda t: _saved_device(location(t), where[0])
    if isinstance(map_location, dict):
        table = {k: _as_device(v, f"map_location[{k!r}]") for k, v in map_location.items()}
        return lambda t: table.get(location(t)) or _saved_device(location(t), where[0])
    if callable(map_location) and not isinstance(map_location, type):
        chosen: dict[int, Any] = {}

        def by_storage(t: Tensor) -> Any:
            root = root_array(t._data)
            if id(root) not in chosen:
                out = map_location(t.untyped_storage(), location(t))
                if out is None:  # PyTorch: None keeps the storage where it was saved
                    chosen[id(root)] = _saved_device(location(t), where[0])
                elif not hasattr(out, "device"):
                    raise TypeError(
                        f"cr.load: map_location returned {type(out).__name__}; a function "
                        "given as map_location must return a storage or None, e.g. "
                        "lambda storage, loc: storage"
                    )
                else:  # the storage given (host memory) or a moved one, as in PyTorch
                    chosen[id(root)] = out.device
            return chosen[id(root)]

        return by_storage
    device = _as_device(map_location, "map_location")
    return lambda t: device


def move(obj: Any, device_of: Callable[[Tensor], Any], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise LoadError(
            f"cr.load: map_location: the loaded object is nested more than {MAX_DEPTH} levels deep"
        )
    if isinstance(obj, Tensor):
        return obj.to(device_of(obj))
    if isinstance(obj, dict):
        for k in list(obj):
            obj[k] = move(obj[k], device_of, depth + 1)
        return obj
    if isinstance(obj, list):
        obj[:] = [move(v, device_of, depth + 1) for v in obj]
        return obj
    if isinstance(obj, tuple):
        items = [move(v, device_of, depth + 1) for v in obj]
        if all(a is b for a, b in zip(items, obj)):
            return obj  # nothing moved: keeps a cr.Size or any other tuple type as it is
        if hasattr(type(obj), "_fields"):  # a namedtuple (weights_only=False)
            return type(obj)._make(items)
        return tuple(items) if type(obj) is tuple else type(obj)(items)
    return obj
