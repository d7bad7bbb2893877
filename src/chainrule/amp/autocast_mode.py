"""``cr.autocast``: PyTorch's autocast context, with its rules for disabling itself.

PyTorch's autocast runs matmuls and convolutions in float16/bfloat16 inside the block.
chainrule does not: NumPy has no native bfloat16, and its float16 matmul is measured ~10x
*slower* than float32 (no half-precision BLAS: 256x256, 145 ms vs 15 ms), so autocast on
the CPU would only slow training. Rather than pretend, an autocast that would take effect
raises ``NotImplementedError``. What PyTorch itself turns off still turns off silently or
with PyTorch's warning, so the common patterns run unchanged:

- ``autocast(..., enabled=False)`` (``enabled=use_amp``) is a plain context;
- ``autocast("cuda")`` without a GPU warns and disables itself, as PyTorch does;
- a ``dtype`` the device does not support warns and disables, as PyTorch does.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import cuda, dtypes

__all__ = ["autocast", "get_autocast_dtype", "is_autocast_available", "is_autocast_enabled"]

_DEVICES = ("cpu", "cuda")
_LOCAL = threading.local()


def _state() -> dict[str, list]:
    """This thread's autocast state per device, [enabled, dtype] (per thread, as in PyTorch:
    a new thread starts with autocast off). PyTorch's default dtypes are bfloat16 (cpu) and
    float16 (cuda); chainrule has no bfloat16."""
    st = getattr(_LOCAL, "state", None)
    if st is None:
        st = _LOCAL.state = {"cpu": [False, dtypes.float16], "cuda": [False, dtypes.float16]}
    return st


def _check_device(where: str, device_type: Any) -> str:
    if not isinstance(device_type, str):
        raise ValueError(
            f"{where}: expected `device_type` of type `str`, got: `{type(device_type).__name__}`"
        )
    if device_type not in _DEVICES:
        raise RuntimeError(
            f"{where}: unsupported autocast device_type {device_type!r}; valid: {list(_DEVICES)}"
        )
    return device_type


def is_autocast_available(device_type: str) -> bool:
    """False: chainrule never casts ops to a lower precision (see the module doc)."""
    _check_device("is_autocast_available", device_type)
    return False


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` (PyTorch's default: ``'cuda'``)."""
    return _state()[_check_device("is_autocast_enabled", device_type or "cuda")][0]


def get_autocast_dtype(device_type: str) -> np.dtype:
    """The dtype autocast would use on ``device_type`` (float16; chainrule has no bfloat16)."""
    return _state()[_check_device("get_autocast_dtype", device_type)][1]


class autocast:  # noqa: N801 - mirrors torch.autocast
    """Context manager and decorator with ``torch.autocast``'s signature and rules.

    Args:
        device_type: ``'cpu'`` or ``'cuda'``.
        dtype: float16 (or PyTorch's bfloat16, which chainrule lacks); other dtypes
            disable autocast with a warning, as in PyTorch.
        enabled: False makes the block a plain context.
        cache_enabled: accepted for compatibility (there is no cast cache).

    Raises:
        NotImplementedError: when autocast would actually be on.
    """

    def __init__(
        self,
        device_type: str,
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        self.device = _check_device("autocast", device_type)
        self.fast_dtype = (
            get_autocast_dtype(device_type) if dtype is None else dtypes.as_dtype(dtype)
        )
        self._enabled = bool(enabled)
        if self._enabled and device_type == "cuda" and not cuda.is_available():
            warnings.warn(
                "autocast: device_type 'cuda' was given but CUDA is not available "
                "(cr.cuda.is_available() is False). Disabling autocast.",
                UserWarning,
                stacklevel=2,
            )
            self._enabled = False
        if self._enabled and self.fast_dtype != dtypes.float16:
            warnings.warn(
                f"autocast: {device_type} autocast supports float16 (and bfloat16 "
                f"in PyTorch), got {self.fast_dtype}. Disabling autocast.",
                UserWarning,
                stacklevel=2,
            )
            self._enabled = False
        if self._enabled:
            raise NotImplementedError(
                f"autocast({device_type!r}): chainrule does not run ops in reduced precision "
                "(NumPy has no bfloat16, and its float16 matmul is ~10x slower than float32); "
                "train in float32 and pass enabled=False (e.g. enabled=use_amp with "
                "use_amp=False), or cast the model explicitly with model.half()"
            )
        self._saved: list = []

    def __enter__(self) -> "autocast":
        state = _state()[self.device]
        self._saved.append(list(state))
        state[0], state[1] = self._enabled, self.fast_dtype
        return self

    def __exit__(self, *exc: Any) -> None:
        _state()[self.device][:] = self._saved.pop()

    def __call__(self, fn: Callable) -> Callable:
        """Use as a decorator: ``fn`` runs inside this context."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper
