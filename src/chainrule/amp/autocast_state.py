"""Autocast's per-thread state and PyTorch's low-level functions that read and set it.

Each thread has, per device (``'cpu'``, ``'cuda'``), whether autocast is on, its dtype and
the number of backward passes running when it was turned on; plus a nesting count and the
cast-cache flag. A new thread starts with PyTorch's defaults (off, bfloat16 on the CPU,
float16 on CUDA, nesting 0, cache on), as in PyTorch. :class:`~.autocast_mode.autocast`
sets and restores this state; ``set_autocast_enabled('cpu', True)`` turns the same casting
on without a block, as ``torch.set_autocast_enabled`` does.

``lower_precision.AUTOCAST[0]`` counts the threads whose CPU autocast is on, so that an
op outside autocast pays one integer test: every change of the CPU ``enabled`` flag goes
through :func:`assign`, which keeps that count.

chainrule has no cast cache (a cast is recomputed, see ``tensor_conversions``): the cache
functions keep PyTorch's flag and answers; ``clear_autocast_cache`` has nothing to clear.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.lower_precision import AUTOCAST
from ..autograd.state import current
from ..dtype_objects import dtype, public_dtype

__all__ = [
    "autocast_decrement_nesting",
    "autocast_increment_nesting",
    "clear_autocast_cache",
    "get_autocast_cpu_dtype",
    "get_autocast_dtype",
    "get_autocast_gpu_dtype",
    "is_autocast_available",
    "is_autocast_cache_enabled",
    "is_autocast_cpu_enabled",
    "is_autocast_enabled",
    "set_autocast_cache_enabled",
    "set_autocast_cpu_dtype",
    "set_autocast_cpu_enabled",
    "set_autocast_dtype",
    "set_autocast_enabled",
    "set_autocast_gpu_dtype",
]

DEVICES = ("cpu", "cuda")
_LOCAL = threading.local()
_COUNT_LOCK = threading.Lock()


def state() -> dict[str, list]:
    """This thread's autocast state per device, ``[enabled, dtype, backward depth]`` (the
    depth is how many backward passes were running when autocast was turned on, so that
    only a block entered inside a backward casts its ops). The CPU dtype is None until
    asked for (ml_dtypes is slow to import)."""
    st = getattr(_LOCAL, "state", None)
    if st is None:
        st = _LOCAL.state = {"cpu": [False, None, 0], "cuda": [False, dtypes.float16, 0]}
        _LOCAL.nesting, _LOCAL.cache = 0, True
    return st


def assign(device: str, enabled: bool, dtype: Any, depth: int) -> None:
    """Set this thread's state for ``device``, keeping ``AUTOCAST[0]`` (the number of
    threads with CPU autocast on) true."""
    entry = state()[device]
    if device == "cpu" and bool(entry[0]) != bool(enabled):
        with _COUNT_LOCK:
            AUTOCAST[0] += 1 if enabled else -1
    entry[:] = enabled, dtype, depth


def check_device(where: str, device_type: Any) -> str:
    """``device_type`` if autocast knows it; PyTorch's errors otherwise."""
    if not isinstance(device_type, str):
        raise ValueError(
            f"{where}: expected `device_type` of type `str`, got: `{type(device_type).__name__}`"
        )
    if device_type not in DEVICES:
        raise RuntimeError(
            f"{where}: unsupported autocast device_type {device_type!r}; valid: {list(DEVICES)}"
        )
    return device_type


def _check_bool(where: str, name: str, value: Any, position: int) -> bool:
    if not isinstance(value, bool):
        raise TypeError(
            f"{where}(): argument '{name}' (position {position}) must be bool, "
            f"not {type(value).__name__}"
        )
    return value


def _check_dtype(where: str, dtype: Any) -> np.dtype:
    if isinstance(dtype, str) or dtype is None:
        raise TypeError(
            f"{where}(): argument 'dtype' (position 2) must be a dtype (cr.bfloat16, "
            f"cr.float16, ...), not {type(dtype).__name__}"
        )
    return dtypes.as_dtype(dtype)


def refuse_unsupported_cpu(where: str, dtype: Any) -> None:
    """CPU autocast casts to bfloat16 or float16 (PyTorch's lists, see ``autocast_mode``);
    turning it on with another dtype raises (PyTorch would cast to it: float64 matmuls)."""
    if not (dtypes.is_bfloat16(dtype) or dtype == dtypes.float16):
        raise NotImplementedError(
            f"{where}: CPU autocast with dtype {dtype} would take effect; chainrule runs "
            "ops in reduced precision only under CPU bfloat16 or float16 autocast. Use "
            "set_autocast_dtype('cpu', cr.bfloat16) first, or cast the model explicitly"
        )


def is_autocast_available(device_type: str) -> bool:
    """True for ``'cpu'`` (bfloat16 or float16 autocast), False for ``'cuda'`` (no GPU
    autocast)."""
    return check_device("is_autocast_available", device_type) == "cpu"


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on in this thread for ``device_type`` (PyTorch's default:
    ``'cuda'``)."""
    return state()[check_device("is_autocast_enabled", device_type or "cuda")][0]


def get_autocast_dtype(device_type: str) -> dtype:
    """The dtype autocast uses on ``device_type`` in this thread (bfloat16 on the CPU,
    float16 on CUDA, unless a block or :func:`set_autocast_dtype` set another)."""
    entry = state()[check_device("get_autocast_dtype", device_type)]
    if entry[1] is None:
        entry[1] = dtypes.bfloat16_dtype()
    return public_dtype(entry[1])


def set_autocast_enabled(device_type: str | bool, enabled: bool | None = None) -> None:
    """Turn autocast on or off in this thread without a block, as
    ``torch.set_autocast_enabled(device_type, enabled)`` (the one-argument legacy form
    ``set_autocast_enabled(enabled)`` sets CUDA's). Turning CPU autocast on casts ops as
    inside ``autocast('cpu')``; CUDA's flag is recorded (there is no GPU to cast for).

    Raises:
        TypeError: ``enabled`` is not a bool.
        NotImplementedError: CPU autocast turned on with a dtype other than bfloat16 or
            float16.
    """
    if enabled is None:  # the legacy one-argument form: CUDA
        device_type, enabled = (
            "cuda",
            _check_bool("set_autocast_enabled", "enabled", device_type, 1),
        )
    device = check_device("set_autocast_enabled", device_type)
    _check_bool("set_autocast_enabled", "enabled", enabled, 2)
    dtype = get_autocast_dtype(device)
    if enabled and device == "cpu":
        refuse_unsupported_cpu("set_autocast_enabled('cpu', True)", dtype)
    assign(device, enabled, dtype, len(current().backward_passes))


def set_autocast_dtype(device_type: str, dtype: Any) -> None:
    """Set the dtype autocast uses on ``device_type`` in this thread (the default of a
    later ``autocast(device_type)`` block), as ``torch.set_autocast_dtype``.

    Raises:
        TypeError: ``dtype`` is not a dtype.
        NotImplementedError: a CPU dtype other than bfloat16 or float16 while CPU autocast
            is on.
    """
    device = check_device("set_autocast_dtype", device_type)
    new = _check_dtype("set_autocast_dtype", dtype)
    entry = state()[device]
    if entry[0] and device == "cpu":
        refuse_unsupported_cpu(f"set_autocast_dtype('cpu', {new})", new)
    entry[1] = new


def autocast_increment_nesting() -> int:
    """Add one to this thread's autocast nesting count (each ``autocast`` block does) and
    return it."""
    state()
    _LOCAL.nesting += 1
    return _LOCAL.nesting


def autocast_decrement_nesting() -> int:
    """Subtract one from this thread's autocast nesting count and return it (PyTorch does
    not stop at zero)."""
    state()
    _LOCAL.nesting -= 1
    return _LOCAL.nesting


def is_autocast_cache_enabled() -> bool:
    """This thread's cast-cache flag (PyTorch's default True; ``autocast(cache_enabled=)``
    sets it inside a block). chainrule keeps the flag but caches no casts."""
    state()
    return _LOCAL.cache


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Set this thread's cast-cache flag (see :func:`is_autocast_cache_enabled`)."""
    state()
    _LOCAL.cache = _check_bool("set_autocast_cache_enabled", "enabled", enabled, 1)


def clear_autocast_cache() -> None:
    """Clear the cast cache: chainrule caches no casts, so there is nothing to clear."""


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"cr.{old} is deprecated. Please use cr.{new} instead.", DeprecationWarning, stacklevel=3
    )


def is_autocast_cpu_enabled() -> bool:
    """Deprecated: ``is_autocast_enabled('cpu')``."""
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    """Deprecated: ``set_autocast_enabled('cpu', enabled)``."""
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype() -> np.dtype:
    """Deprecated: ``get_autocast_dtype('cpu')``."""
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype: Any) -> None:
    """Deprecated: ``set_autocast_dtype('cpu', dtype)``."""
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype() -> np.dtype:
    """Deprecated: ``get_autocast_dtype('cuda')``."""
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype: Any) -> None:
    """Deprecated: ``set_autocast_dtype('cuda', dtype)``."""
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)
