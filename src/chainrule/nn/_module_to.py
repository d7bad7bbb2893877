"""The arguments of ``nn.Module.to``, read the way PyTorch reads them.

PyTorch's ``Module.to`` has three forms: ``to(device=None, dtype=None, non_blocking=False)``,
``to(dtype, non_blocking=False)`` and ``to(tensor, non_blocking=False)``, each also taking the
keyword ``memory_format``. Scripts pass ``non_blocking`` positionally (``model.to(device,
dtype, True)``) and ``memory_format=torch.channels_last`` (milesial's U-Net), so an argument is
placed by its form, never guessed from its type alone, and an argument that fits no form is an
error rather than silently dropped.
"""

from __future__ import annotations

from typing import Any

from ..autograd.tensor import Tensor
from ..backend import Device
from ..ops.memory_format import memory_format

__all__ = ["parse_module_to"]

_KEYWORDS = ("device", "dtype", "non_blocking", "memory_format", "tensor")


def _check_memory_format(fmt: Any) -> Any:
    """``memory_format``: None or a ``cr.memory_format`` (``channels_last``, ...)."""
    if fmt is None or isinstance(fmt, memory_format):
        return fmt
    raise TypeError(
        f"Module.to(): memory_format must be a chainrule.memory_format (e.g. "
        f"cr.channels_last), got {type(fmt).__name__}"
    )


def _flags(op_args: list[Any], given: tuple) -> None:
    """The trailing positional flags: ``non_blocking`` (ignored: copies are synchronous),
    then PyTorch's refused ``copy``."""
    if len(op_args) > 2:
        raise TypeError(
            f"Module.to() takes from 0 to 4 positional arguments but {len(given)} were given"
        )
    if len(op_args) == 2:
        raise RuntimeError(".to() does not accept copy argument")
    for flag in op_args:
        if not isinstance(flag, bool):
            raise TypeError(
                f"Module.to(): non_blocking must be a bool, got {type(flag).__name__} "
                f"(arguments {given!r}); the forms are to(device, dtype, non_blocking), "
                "to(dtype, non_blocking) and to(tensor, non_blocking)"
            )


def _is_device(value: Any) -> bool:
    return value is None or isinstance(value, (Device, str))


def parse_module_to(args: tuple, kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    """``(device, dtype, memory_format)`` of ``Module.to(*args, **kwargs)`` (each may be
    None).

    Raises:
        RuntimeError: ``copy`` given (PyTorch's ``Module.to`` refuses it).
        TypeError: an unknown keyword, too many positional arguments, an argument given both
            by position and by keyword, or a non-bool where ``non_blocking`` goes.
        TypeError: a ``memory_format`` that is not a ``cr.memory_format``.
    """
    if "copy" in kwargs:
        raise RuntimeError(".to() does not accept copy argument")
    unknown = sorted(set(kwargs) - set(_KEYWORDS))
    if unknown:
        raise TypeError(
            f"Module.to(): unexpected keyword argument(s) {unknown}; it takes "
            f"{', '.join(_KEYWORDS)}"
        )
    fmt = _check_memory_format(kwargs.get("memory_format"))
    rest = list(args)
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    source = kwargs.get("tensor")
    if source is None and rest and isinstance(rest[0], Tensor):
        source = rest.pop(0)
    if source is not None:
        positional = len(rest) < len(args)
        if "device" in kwargs or "dtype" in kwargs or (rest and not positional):
            raise TypeError(
                "Module.to(): to(tensor, non_blocking) takes the dtype and device of the "
                "tensor; device/dtype cannot be given with it"
            )
        _flags(rest, args)
        return source.device, source.dtype, fmt
    if rest and not isinstance(rest[0], bool) and _is_device(rest[0]):
        if "device" in kwargs:
            raise TypeError("Module.to() got multiple values for argument 'device'")
        device = rest.pop(0)
        if rest and not isinstance(rest[0], bool):
            if "dtype" in kwargs:
                raise TypeError("Module.to() got multiple values for argument 'dtype'")
            dtype = rest.pop(0)
    elif rest and not isinstance(rest[0], bool):
        if "dtype" in kwargs or "device" in kwargs:
            raise TypeError(
                "Module.to(): to(dtype, non_blocking) takes no device/dtype keyword; "
                "write to(device, dtype) or to(device=..., dtype=...)"
            )
        dtype = rest.pop(0)
    _flags(rest, args)
    return device, dtype, fmt
