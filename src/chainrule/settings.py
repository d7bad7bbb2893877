"""Process- and thread-level settings PyTorch exposes at its top level (default device,
matmul precision, anomaly mode, warnings, inter-op threads, denormals), and the root
tensor queries (``typename``, ``is_storage``, ``is_floating_point``, ``is_signed``,
``is_nonzero``, ``is_same_size``,
``strided``) whose code lives in ``ops/tensor_queries.py``, and the type objects and
promotion queries (``Size``, ``dtype``, ``promote_types``, ``can_cast``, ``result_type``)
of ``dtype_rules.py``.

Each setting is checked against PyTorch 2.13: the same names, arguments, defaults and
errors. Where NumPy cannot do what a setting asks (flushing denormals, TF32 matmuls), the
function says so in its result or documents that the value is kept and reported only.
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any

from .autograd.anomaly import is_anomaly_enabled
from .autograd.state import current
from .backend import CPU, DEFAULT_DEVICE, Device
from .dtype_rules import (
    Size,
    can_cast,
    dtype,
    get_default_dtype,
    promote_types,
    result_type,
    set_default_dtype,
)
from .ops.layout import is_floating_point
from .ops.tensor_queries import (
    is_nonzero,
    is_same_size,
    is_signed,
    is_storage,
    layout,
    strided,
    typename,
)

__all__ = [
    "Size",
    "can_cast",
    "dtype",
    "get_default_dtype",
    "set_default_dtype",
    "get_default_device",
    "get_float32_matmul_precision",
    "get_num_interop_threads",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_floating_point",
    "is_nonzero",
    "is_same_size",
    "is_signed",
    "is_storage",
    "is_warn_always_enabled",
    "layout",
    "promote_types",
    "result_type",
    "set_anomaly_enabled",
    "set_default_device",
    "set_float32_matmul_precision",
    "set_flush_denormal",
    "set_num_interop_threads",
    "set_warn_always",
    "strided",
    "typename",
]

_lock = threading.Lock()


def _check_bool(what: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise RuntimeError(f"{what} expects a bool, but got {type(value).__name__}")


# ------------------------------------------------------------------------ default device


def get_default_device() -> Device:
    """The device new tensors are made on (``torch.get_default_device``): the CPU unless
    :func:`set_default_device` or a ``with cr.device(...)`` block chose another."""
    return DEFAULT_DEVICE[0] or CPU


def set_default_device(device: Any) -> None:
    """Set the device factory functions use when given none (``torch.set_default_device``).

    ``'cpu'``, ``'meta'`` (shape-only tensors: ``set_default_device('meta')`` then builds
    modules without memory) or ``None`` (back to the CPU). Making CUDA the default for
    every constructor is not implemented and raises instead of being silently ignored:
    put a tensor on the GPU with ``device='cuda'`` or ``.to('cuda')``.

    Raises:
        NotImplementedError: a device other than the CPU or meta.
        ValueError / TypeError: not a device (from :class:`chainrule.device`).
    """
    if device is None:
        DEFAULT_DEVICE[0] = None
        return
    dev = Device(device)
    if dev.type not in ("cpu", "meta"):
        raise NotImplementedError(
            f"set_default_device: chainrule cannot make {dev} the default device (only "
            "'cpu', 'meta' or None); pass device= to the constructor or move tensors with .to()"
        )
    DEFAULT_DEVICE[0] = None if dev.type == "cpu" else dev


# ---------------------------------------------------------------- float32 matmul precision

_PRECISIONS = ("highest", "high", "medium")
_precision = "highest"


def get_float32_matmul_precision() -> str:
    """The float32 matmul precision last set (``'highest'`` by default); see
    :func:`set_float32_matmul_precision`."""
    return _precision


def set_float32_matmul_precision(precision: str) -> None:
    """Set the internal precision of float32 matrix products
    (``torch.set_float32_matmul_precision``): ``'highest'``, ``'high'`` or ``'medium'``.

    PyTorch may then use TF32 or bfloat16 arithmetic on hardware that has it. chainrule's
    matmuls (NumPy's BLAS; CuPy's with its own defaults) compute float32 products in
    float32 in every mode, i.e. at 'highest': the value is kept and returned by
    :func:`get_float32_matmul_precision` so that code written for PyTorch runs, but results
    do not change. An unknown string warns and changes nothing, as in PyTorch.

    Raises:
        RuntimeError: ``precision`` is not a string.
    """
    global _precision
    if not isinstance(precision, str):
        raise RuntimeError(
            f"set_float32_matmul_precision expects a str, but got {type(precision).__name__}"
        )
    if precision not in _PRECISIONS:
        warnings.warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
            "set_float32_matmul_precision call has no effect.",
            UserWarning,
            stacklevel=2,
        )
        return
    _precision = precision


# --------------------------------------------------------------------------- anomaly mode


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off for the calling thread
    (``torch.set_anomaly_enabled``), the switch ``cr.autograd.detect_anomaly`` flips.

    chainrule's anomaly mode is per thread (PyTorch's is process-wide) and always checks
    for NaN/Inf: it has no mode that only records forward tracebacks, so
    ``check_nan=False`` with ``enabled=True`` raises instead of being ignored.

    Raises:
        TypeError: ``enabled`` or ``check_nan`` is not a bool (as PyTorch).
        NotImplementedError: ``enabled=True, check_nan=False``.
    """
    for name, position, value in (("enabled", 1, enabled), ("check_nan", 2, check_nan)):
        if not isinstance(value, bool):
            raise TypeError(
                f"set_anomaly_enabled(): argument '{name}' (position {position}) must be "
                f"bool, not {type(value).__name__}"
            )
    if enabled and not check_nan:
        raise NotImplementedError(
            "set_anomaly_enabled: check_nan=False is not supported: chainrule's anomaly mode "
            "always checks forward outputs and gradients for NaN/Inf"
        )
    current().anomaly = enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks for NaN in the calling thread: the same as
    :func:`is_anomaly_enabled`, since chainrule's anomaly mode always does."""
    return current().anomaly


# -------------------------------------------------------------------------- warn always

_warn_always = False


def set_warn_always(b: bool, /) -> None:
    """Ask for warnings that would be shown only once to be shown every time
    (``torch.set_warn_always``).

    PyTorch's flag concerns its C++ ``TORCH_WARN_ONCE`` warnings. chainrule's warnings are
    ordinary Python warnings, shown once or always as Python's warning filters say
    (``warnings.simplefilter("always")``), and none of them is limited to once per process
    by chainrule, so the flag is kept and reported by :func:`is_warn_always_enabled` only.

    Raises:
        RuntimeError: ``b`` is not a bool (as PyTorch).
    """
    global _warn_always
    _check_bool("set_warn_always", b)
    _warn_always = b


def is_warn_always_enabled() -> bool:
    """The flag :func:`set_warn_always` last set (False by default)."""
    return _warn_always


# ---------------------------------------------------------------------- inter-op threads


def _default_interop_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


_interop_threads: int | None = None  # None: not set yet (the default, the usable cores)


def get_num_interop_threads() -> int:
    """The number of inter-op threads (``torch.get_num_interop_threads``): the usable CPU
    cores unless :func:`set_num_interop_threads` was called."""
    return _default_interop_threads() if _interop_threads is None else _interop_threads


def set_num_interop_threads(nthreads: int, /) -> None:
    """Set the number of inter-op threads, once per process (``torch.set_num_interop_threads``).

    PyTorch uses its inter-op pool to run independent ops concurrently in TorchScript
    (``torch.jit.fork``); eager code never does. chainrule has no such pool (its intra-op
    threads are :func:`chainrule.set_num_threads`), so the value is kept and reported by
    :func:`get_num_interop_threads`, with PyTorch's checks.

    Raises:
        RuntimeError: not a positive int, or the number was already set (as PyTorch).
    """
    global _interop_threads
    n = nthreads
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"set_num_interop_threads expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    with _lock:
        if _interop_threads is not None:
            raise RuntimeError(
                "Error: cannot set number of interop threads after parallel work has "
                "started or set_num_interop_threads called"
            )
        _interop_threads = n


# --------------------------------------------------------------------------------- denormals


def set_flush_denormal(mode: bool, /) -> bool:
    """Flush denormal floats to zero (``torch.set_flush_denormal``); returns whether that is
    supported. NumPy offers no portable way to set the CPU's flush-to-zero mode, so chainrule
    changes nothing and returns False, what PyTorch returns on a CPU without the feature.

    Raises:
        RuntimeError: ``mode`` is not a bool (as PyTorch).
    """
    _check_bool("flush_denormal", mode)
    return False
