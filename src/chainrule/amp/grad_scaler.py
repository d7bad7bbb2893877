"""``cr.amp.GradScaler``: loss scaling with PyTorch's exact update rule.

Low-precision gradients underflow; multiplying the loss by a large scale ``S`` keeps them
representable. ``unscale_`` divides the gradients by ``S`` again (in place) and notes
whether any is inf/NaN; ``step`` skips the optimizer step when one is; ``update`` halves
``S`` after a skipped step (``backoff_factor``) and doubles it after ``growth_interval``
clean steps (``growth_factor``). The scale is kept in float32, as PyTorch keeps it, so the
sequence of scales matches PyTorch's bit for bit.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import cuda
from ..autograd import no_grad
from ..autograd.tensor import Tensor
from ..ops import isfinite

__all__ = ["GradScaler"]

_READY, _UNSCALED, _STEPPED = 0, 1, 2


class GradScaler:
    """Scale the loss, unscale gradients, skip non-finite steps (``torch.amp.GradScaler``).

    Args:
        device: ``'cuda'`` (PyTorch's default; disabled with a warning when there is no GPU,
            as in PyTorch) or ``'cpu'``.
        init_scale: the first scale factor.
        growth_factor: multiplies the scale after ``growth_interval`` finite steps (> 1).
        backoff_factor: multiplies the scale after a non-finite step (in (0, 1)).
        growth_interval: finite steps in a row before the scale grows.
        enabled: False makes every method a pass-through (``step`` just steps).
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        if device not in ("cpu", "cuda"):
            raise ValueError(f"GradScaler: device must be 'cpu' or 'cuda', got {device!r}")
        if enabled and device == "cuda" and not cuda.is_available():
            warnings.warn(
                "GradScaler is enabled with device 'cuda', but CUDA is not available. Disabling.",
                UserWarning,
                stacklevel=2,
            )
            enabled = False
        self._device = device
        self._enabled = bool(enabled)
        if self._enabled:
            if not growth_factor > 1.0:
                raise ValueError(f"GradScaler: growth_factor must be > 1.0, got {growth_factor}")
            if not 0.0 < backoff_factor < 1.0:
                raise ValueError(
                    f"GradScaler: backoff_factor must be in (0, 1), got {backoff_factor}"
                )
            if int(growth_interval) <= 0:
                raise ValueError(f"GradScaler: growth_interval must be > 0, got {growth_interval}")
        self._init_scale = float(init_scale)
        self._scale: np.float32 | None = None
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._init_growth_tracker = 0
        self._growth_tracker: int | None = None
        self._per_optimizer: dict[int, dict] = {}

    # ----------------------------------------------------------------- scaling
    def _lazy_init(self) -> None:
        if self._scale is None:
            self._scale = np.float32(self._init_scale)
            self._growth_tracker = self._init_growth_tracker

    def _state(self, optimizer: Any) -> dict:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found_inf": None})

    def scale(self, outputs: Any) -> Any:
        """Multiply a tensor (or nested lists/tuples of tensors) by the current scale."""
        if not self._enabled:
            return outputs
        self._lazy_init()
        return self._scale_nested(outputs)

    def _scale_nested(self, outputs: Any) -> Any:
        if isinstance(outputs, Tensor):
            return outputs * float(self._scale)
        if isinstance(outputs, (list, tuple)):
            scaled = [self._scale_nested(o) for o in outputs]
            return type(outputs)(scaled)
        if isinstance(outputs, Iterable) and not isinstance(outputs, (str, bytes)):
            return map(self._scale_nested, outputs)
        raise ValueError(
            f"GradScaler.scale: outputs must be a Tensor or an iterable of "
            f"Tensors, got {type(outputs).__name__}"
        )

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place and record inf/NaN.

        Raises:
            RuntimeError: if called twice before ``update()``, or after ``step()``.
        """
        if not self._enabled:
            return
        self._check_scale_initialized("unscale_")
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = float(np.float32(1.0 / np.float64(self._scale)))
        found_inf = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.dtype == np.float16:
                        raise ValueError(
                            "GradScaler.unscale_: attempting to unscale float16 "
                            "gradients; keep the parameters in float32"
                        )
                    if not bool(isfinite(p.grad).all()):
                        found_inf = True
                    p.grad.mul_(inv_scale)
        state["found_inf"] = found_inf
        state["stage"] = _UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (if not done yet) and step, unless a gradient is inf/NaN.

        Returns:
            What ``optimizer.step`` returned, or None when the step was skipped.

        Raises:
            RuntimeError: for a ``closure`` argument, or a second ``step`` before ``update``.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_initialized("step")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Back off after an inf/NaN, grow after ``growth_interval`` clean steps, or set.

        Raises:
            AssertionError: with no ``unscale_``/``step`` since the last update (as PyTorch).
        """
        if not self._enabled:
            return
        self._check_scale_initialized("update")
        if new_scale is not None:
            value = new_scale.item() if isinstance(new_scale, Tensor) else new_scale
            if not isinstance(value, (int, float)):
                raise TypeError(
                    "GradScaler.update: new_scale should be a float or a 1-element "
                    f"tensor, got {type(new_scale).__name__}"
                )
            self._scale = np.float32(value)
        else:
            found = [
                s["found_inf"] for s in self._per_optimizer.values() if s["found_inf"] is not None
            ]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update().")
            self._update_scale(any(found))
        self._per_optimizer = {}

    def _update_scale(self, found_inf: bool) -> None:
        if found_inf:
            self._scale = np.float32(self._scale * np.float32(self._backoff_factor))
            self._growth_tracker = 0
            return
        successful = self._growth_tracker + 1
        if successful == self._growth_interval:
            grown = np.float32(self._scale * np.float32(self._growth_factor))
            if np.isfinite(grown):
                self._scale = grown
            successful = 0
        self._growth_tracker = successful

    def _check_scale_initialized(self, where: str) -> None:
        if self._scale is None:
            raise AssertionError(
                f"GradScaler.{where}: no scale yet; call scaler.scale(loss) "
                "before this (the scale is created on first use, as PyTorch)"
            )

    # ----------------------------------------------------------------- accessors
    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale)

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def is_enabled(self) -> bool:
        return self._enabled

    def _get_growth_tracker(self) -> int:
        if self._growth_tracker is None:
            return self._init_growth_tracker
        return self._growth_tracker

    def state_dict(self) -> dict:
        """PyTorch's layout: scale, factors, interval and ``_growth_tracker`` ({} if disabled)."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._get_growth_tracker(),
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore from :meth:`state_dict` (a PyTorch GradScaler's state dict loads too).

        Raises:
            RuntimeError: for an empty dict (saved from a disabled scaler).
        """
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved "
                "from a disabled instance of GradScaler."
            )
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = np.float32(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker = self._init_growth_tracker
