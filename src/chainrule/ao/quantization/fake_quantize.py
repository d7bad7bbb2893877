"""Fake quantizers (``torch.ao.quantization.fake_quantize``): modules that, during
quantization-aware training, observe the values passing through them (an observer child,
``activation_post_process``) and round them to the quantized grid its qparams give, in
float, so that the loss sees quantization while gradients pass straight through
(:mod:`chainrule.ops.fake_quantize`). ``convert`` later reads their qparams as it reads an
observer's.

``FakeQuantize`` runs its observer then ``fake_quantize_per_{tensor,channel}_affine``
with the observer's ``calculate_qparams``; ``FusedMovingAvgObsFakeQuantize`` (what
``get_default_qat_qconfig`` gives) does both in one op whose qparams are torch's C++
choice (:mod:`.fused_fake_quant`). Each has ``fake_quant_enabled``/``observer_enabled``
buffers that ``enable_/disable_fake_quant`` and ``enable_/disable_observer`` (usable with
``model.apply``) switch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import nn
from ...autograd.tensor import Tensor
from ...creation import tensor as _tensor
from ...ops.fake_quantize import fake_quantize_per_channel_affine, fake_quantize_per_tensor_affine
from ...qtypes import (
    per_channel_affine,
    per_channel_affine_float_qparams,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
    qint8,
    quint8,
)
from .fused_fake_quant import fused_moving_avg_obs_fake_quant
from .moving_average_observer import (
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
)
from .observer import _PartialObserver, _ResizingLoad

__all__ = [
    "FakeQuantize",
    "FakeQuantizeBase",
    "FusedMovingAvgObsFakeQuantize",
    "default_fake_quant",
    "default_fused_act_fake_quant",
    "default_fused_per_channel_wt_fake_quant",
    "default_fused_wt_fake_quant",
    "default_per_channel_weight_fake_quant",
    "default_weight_fake_quant",
    "disable_fake_quant",
    "disable_observer",
    "enable_fake_quant",
    "enable_observer",
]

_PER_CHANNEL = (per_channel_affine, per_channel_symmetric, per_channel_affine_float_qparams)
_SYMMETRIC = (per_tensor_symmetric, per_channel_symmetric)


def _flag(value: int, dtype: Any) -> Tensor:
    return _tensor(np.array([value], dtype))


class FakeQuantizeBase(nn.Module):
    """The switches every fake quantizer has: ``fake_quant_enabled`` and
    ``observer_enabled`` (uint8 buffers of shape (1,))."""

    _public_module = "fake_quantize"

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("fake_quant_enabled", _flag(1, np.uint8))
        self.register_buffer("observer_enabled", _flag(1, np.uint8))

    def enable_fake_quant(self, enabled: bool = True) -> None:
        self.fake_quant_enabled._data[0] = 1 if enabled else 0

    def disable_fake_quant(self) -> None:
        self.enable_fake_quant(False)

    def enable_observer(self, enabled: bool = True) -> None:
        self.observer_enabled._data[0] = 1 if enabled else 0

    def disable_observer(self) -> None:
        self.enable_observer(False)

    @classmethod
    def with_args(cls, **kwargs: Any) -> Any:
        """A factory of this fake quantizer with ``kwargs`` (torch's ``functools.partial``)."""
        return _PartialObserver(cls, kwargs)

    def _on(self, name: str) -> bool:
        return bool(int(getattr(self, name)._data[0]))


class FakeQuantize(_ResizingLoad, FakeQuantizeBase):
    """An observer then ``fake_quantize_per_{tensor,channel}_affine`` with its qparams,
    kept in the ``scale`` (float32) and ``zero_point`` (int32) buffers."""

    _resized = ("scale", "zero_point")

    def __init__(
        self,
        observer: Any = MovingAverageMinMaxObserver,
        quant_min: int | None = None,
        quant_max: int | None = None,
        is_dynamic: bool = False,
        **observer_kwargs: Any,
    ) -> None:
        super().__init__()
        if quant_min is not None and quant_max is not None:
            if quant_min > quant_max:
                raise AssertionError("quant_min must be less than or equal to quant_max")
            dtype = observer_kwargs.get("dtype", quint8)
            bounds = {qint8: (-128, 127), quint8: (0, 255)}.get(dtype)
            if bounds is not None and not (bounds[0] <= quant_min and quant_max <= bounds[1]):
                raise AssertionError("quant_min out of bound")
            observer_kwargs.update({"quant_min": quant_min, "quant_max": quant_max})
        observer_kwargs["is_dynamic"] = is_dynamic
        self.activation_post_process = observer(**observer_kwargs)
        obs = self.activation_post_process
        self.quant_min, self.quant_max = obs.quant_min, obs.quant_max
        self.is_dynamic = obs.is_dynamic
        if obs.qscheme is per_channel_affine_float_qparams:
            raise NotImplementedError("FakeQuantize: per_channel_affine_float_qparams")
        self.register_buffer("scale", _tensor(np.array([1.0], np.float32)))
        self.register_buffer("zero_point", _tensor(np.array([0], np.int32)))
        self.dtype = obs.dtype
        self.qscheme = obs.qscheme
        self.ch_axis = getattr(obs, "ch_axis", -1)
        self.is_per_channel = self.qscheme in _PER_CHANNEL
        self.is_symmetric_quant = self.qscheme in _SYMMETRIC

    def calculate_qparams(self) -> tuple[Tensor, Tensor]:
        return self.activation_post_process.calculate_qparams()

    def forward(self, X: Tensor) -> Tensor:  # noqa: N803 - torch's name
        if self._on("observer_enabled"):
            self.activation_post_process(X.detach())
            scale, zero_point = self.calculate_qparams()
            self.scale._data = np.asarray(scale._data, np.float32).copy()
            self.zero_point._data = np.asarray(zero_point._data).astype(np.int32)
        if self._on("fake_quant_enabled"):
            obs = self.activation_post_process
            if self.is_per_channel:
                X = fake_quantize_per_channel_affine(
                    X, self.scale, self.zero_point, self.ch_axis, obs.quant_min, obs.quant_max
                )
            else:
                X = fake_quantize_per_tensor_affine(
                    X, self.scale, self.zero_point, obs.quant_min, obs.quant_max
                )
        return X

    def extra_repr(self) -> str:
        obs = self.activation_post_process
        return (
            f"fake_quant_enabled={self.fake_quant_enabled}, "
            f"observer_enabled={self.observer_enabled}, quant_min={obs.quant_min}, "
            f"quant_max={obs.quant_max}, dtype={self.dtype}, qscheme={self.qscheme}, "
            f"ch_axis={self.ch_axis}, scale={self.scale}, zero_point={self.zero_point}"
        )


class FusedMovingAvgObsFakeQuantize(FakeQuantize):
    """``FakeQuantize`` over a moving-average observer done by one fused op
    (:func:`.fused_fake_quant.fused_moving_avg_obs_fake_quant`); its switches are int64."""

    def __init__(
        self,
        observer: Any = MovingAverageMinMaxObserver,
        quant_min: int = 0,
        quant_max: int = 255,
        **observer_kwargs: Any,
    ) -> None:
        super().__init__(observer, quant_min, quant_max, **observer_kwargs)
        if not isinstance(
            self.activation_post_process,
            (MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver),
        ):
            raise AssertionError(
                "Fused observer+fake_quant module only works with MovingAverageMinMaxObserver"
            )
        self.register_buffer("fake_quant_enabled", _flag(1, np.int64))
        self.register_buffer("observer_enabled", _flag(1, np.int64))
        self.is_symmetric_quant = self.activation_post_process.qscheme in _SYMMETRIC

    def extra_repr(self) -> str:
        obs = self.activation_post_process
        return (
            f"fake_quant_enabled={self.fake_quant_enabled}, "
            f"observer_enabled={self.observer_enabled}, scale={self.scale}, "
            f"zero_point={self.zero_point}, dtype={self.dtype}, quant_min={obs.quant_min}, "
            f"quant_max={obs.quant_max}, qscheme={self.qscheme}, "
            f"reduce_range={obs.reduce_range}"
        )

    def forward(self, X: Tensor) -> Tensor:  # noqa: N803 - torch's name
        obs = self.activation_post_process
        return fused_moving_avg_obs_fake_quant(
            X, self.observer_enabled, self.fake_quant_enabled, obs.min_val, obs.max_val,
            self.scale, self.zero_point, obs.averaging_constant, obs.quant_min, obs.quant_max,
            self.ch_axis, self.is_per_channel, self.is_symmetric_quant,
        )  # fmt: skip


default_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=quint8,
    qscheme=per_tensor_affine, reduce_range=True,
)  # fmt: skip
default_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=qint8,
    qscheme=per_tensor_symmetric, reduce_range=False,
)  # fmt: skip
default_per_channel_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127, dtype=qint8,
    qscheme=per_channel_symmetric, reduce_range=False, ch_axis=0,
)  # fmt: skip
default_fused_act_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=quint8,
)  # fmt: skip
default_fused_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=qint8,
    qscheme=per_tensor_symmetric,
)  # fmt: skip
default_fused_per_channel_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127, dtype=qint8,
    qscheme=per_channel_symmetric,
)  # fmt: skip


def _switch(module: nn.Module, method: str) -> None:
    if isinstance(module, FakeQuantizeBase):
        getattr(module, method)()


def enable_fake_quant(mod: nn.Module) -> None:
    """Turn fake quantization on in ``mod`` if it is a fake quantizer (``model.apply``)."""
    _switch(mod, "enable_fake_quant")


def disable_fake_quant(mod: nn.Module) -> None:
    """Turn fake quantization off in ``mod`` if it is a fake quantizer (``model.apply``)."""
    _switch(mod, "disable_fake_quant")


def enable_observer(mod: nn.Module) -> None:
    """Let ``mod``'s observer update its range, if it is a fake quantizer."""
    _switch(mod, "enable_observer")


def disable_observer(mod: nn.Module) -> None:
    """Freeze ``mod``'s observed range (and so its qparams), if it is a fake quantizer."""
    _switch(mod, "disable_observer")
