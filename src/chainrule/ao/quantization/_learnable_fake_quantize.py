"""``_LearnableFakeQuantize`` (``torch.ao.quantization._learnable_fake_quantize``): a fake
quantizer whose ``scale`` and ``zero_point`` are Parameters that training can learn (learned
step size quantization), through :func:`chainrule._fake_quantize_learnable_per_tensor_affine`
/ ``_per_channel_affine``.

Three uint8 switches decide a forward: ``static_enabled`` (the observer sees the input and
its qparams are copied into ``scale`` / ``zero_point``; when off, ``scale`` is clamped to at
least ``eps`` instead), ``fake_quant_enabled`` (the input is fake-quantized, a symmetric
qscheme's zero point first set to 0, with the gradients of scale and zero point times
``1 / sqrt(numel * quant_max)`` when ``use_grad_scaling``) and ``learning_enabled`` (which
also sets the Parameters' ``requires_grad``). ``enable_param_learning``,
``enable_static_estimate`` and ``enable_static_observation`` set all three; as torch's,
``enable_observer`` / ``disable_observer`` switch ``static_enabled`` (``observer_enabled``
stays as it is).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...creation import tensor as _tensor
from ...nn.parameter import Parameter
from ...ops.fake_quantize import (
    _fake_quantize_learnable_per_channel_affine,
    _fake_quantize_learnable_per_tensor_affine,
)
from ...qtypes import per_channel_affine, per_channel_symmetric, qint8, quint8
from .fake_quantize import _SYMMETRIC, FakeQuantizeBase, _flag

__all__ = ["_LearnableFakeQuantize"]

_F32_EPS = float(np.finfo(np.float32).eps)


def _copy_into(param: Tensor, values: Tensor, name: str) -> None:
    """``param.data.copy_(values)``: in place, in ``param``'s dtype, broadcast."""
    src = np.asarray(values._data)
    try:
        param._data[...] = np.broadcast_to(src, param._data.shape)
    except ValueError:
        raise RuntimeError(
            f"_LearnableFakeQuantize: the observer's {name} of shape {list(src.shape)} does not "
            f"fit the {name} Parameter of shape {list(param.shape)} (pass channel_len for a "
            "per-channel observer)"
        ) from None


class _LearnableFakeQuantize(FakeQuantizeBase):
    """A fake quantizer with learnable ``scale`` and ``zero_point`` (float32 Parameters of
    one element, or ``channel_len`` elements for a per-channel observer)."""

    _public_module = "_learnable_fake_quantize"

    def __init__(
        self,
        observer: Any,
        quant_min: int = 0,
        quant_max: int = 255,
        scale: float = 1.0,
        zero_point: float = 0.0,
        channel_len: int = -1,
        use_grad_scaling: bool = False,
        **observer_kwargs: Any,
    ) -> None:
        super().__init__()
        if quant_min >= quant_max:
            raise AssertionError("quant_min must be strictly less than quant_max.")
        self.quant_min = quant_min
        self.quant_max = quant_max
        observer_kwargs["quant_min"] = quant_min
        observer_kwargs["quant_max"] = quant_max
        self.use_grad_scaling = use_grad_scaling
        if channel_len == -1:
            scale_values, zp_values = [scale], [zero_point]
        elif isinstance(channel_len, int) and channel_len > 0:
            scale_values, zp_values = [scale] * channel_len, [zero_point] * channel_len
        else:
            raise AssertionError("Channel size must be a positive integer.")
        self.scale = Parameter(_tensor(scale_values))
        self.zero_point = Parameter(_tensor(zp_values))
        self.activation_post_process = observer(**observer_kwargs)
        obs = self.activation_post_process
        bounds = {qint8: (-128, 127), quint8: (0, 255)}.get(obs.dtype)
        if bounds is not None:
            if bounds[0] > quant_min:
                raise AssertionError("quant_min out of bound")
            if quant_max > bounds[1]:
                raise AssertionError("quant_max out of bound")
        self.dtype = obs.dtype
        self.qscheme = obs.qscheme
        self.ch_axis = getattr(obs, "ch_axis", -1)
        self.register_buffer("static_enabled", _flag(1, np.uint8))
        self.register_buffer("learning_enabled", _flag(0, np.uint8))
        self.bitwidth = int(math.log2(quant_max - quant_min + 1))
        self.register_buffer("eps", _tensor(np.array([_F32_EPS], np.float32)))

    def enable_param_learning(self) -> _LearnableFakeQuantize:
        """Learn the qparams by backpropagation: fake quantization on, the observer off."""
        self.toggle_qparam_learning(True).toggle_fake_quant(True).toggle_observer_update(False)
        return self

    def enable_static_estimate(self) -> _LearnableFakeQuantize:
        """Take the qparams from the observer, not learned; fake quantization on."""
        self.toggle_qparam_learning(False).toggle_fake_quant(True).toggle_observer_update(True)
        return self

    def enable_static_observation(self) -> _LearnableFakeQuantize:
        """Let the observer see the data and set the qparams, returning the input as it
        is (fake quantization off, nothing learned)."""
        self.toggle_qparam_learning(False).toggle_fake_quant(False).toggle_observer_update(True)
        return self

    def toggle_observer_update(self, enabled: bool = True) -> _LearnableFakeQuantize:
        """Switch ``static_enabled``: whether the observer sets the qparams."""
        self.static_enabled._data[0] = int(enabled)
        return self

    def enable_observer(self, enabled: bool = True) -> None:
        """``toggle_observer_update`` (torch's override of the base class's switch)."""
        self.toggle_observer_update(enabled)

    def toggle_qparam_learning(self, enabled: bool = True) -> _LearnableFakeQuantize:
        """Switch ``learning_enabled`` and the Parameters' ``requires_grad``."""
        self.learning_enabled._data[0] = int(enabled)
        self.scale.requires_grad = enabled
        self.zero_point.requires_grad = enabled
        return self

    def toggle_fake_quant(self, enabled: bool = True) -> _LearnableFakeQuantize:
        """Switch ``fake_quant_enabled``."""
        self.fake_quant_enabled._data[0] = int(enabled)
        return self

    def _clamp_scale(self) -> None:
        np.maximum(self.scale._data, self.eps._data[0], out=self.scale._data)

    def observe_quant_params(self) -> None:
        """Print the current scale and zero point."""
        print(f"_LearnableFakeQuantize Scale: {self.scale.detach()}")
        print(f"_LearnableFakeQuantize Zero Point: {self.zero_point.detach()}")

    def calculate_qparams(self) -> tuple[Tensor, Tensor]:
        """``(scale, zero_point)``: the scale clamped (in place) to at least ``eps``, the
        zero point rounded half to even, clamped to the range, as int64."""
        self._clamp_scale()
        scale = self.scale.detach()
        zero_point = self.zero_point.detach().round().clamp(self.quant_min, self.quant_max)
        return scale, zero_point.long()

    def forward(self, X: Tensor) -> Tensor:  # noqa: N803 - torch's name
        if self._on("static_enabled"):
            self.activation_post_process(X.detach())
            scale, zero_point = self.activation_post_process.calculate_qparams()
            _copy_into(self.scale, scale, "scale")
            _copy_into(self.zero_point, zero_point, "zero_point")
        else:
            self._clamp_scale()
        if not self._on("fake_quant_enabled"):
            return X
        if self.qscheme in _SYMMETRIC:
            self.zero_point._data[...] = 0
        grad_factor = 1.0 / (X.numel() * self.quant_max) ** 0.5 if self.use_grad_scaling else 1.0
        if self.qscheme in (per_channel_symmetric, per_channel_affine):
            return _fake_quantize_learnable_per_channel_affine(
                X, self.scale, self.zero_point, self.ch_axis, self.quant_min, self.quant_max,
                grad_factor,
            )  # fmt: skip
        return _fake_quantize_learnable_per_tensor_affine(
            X, self.scale, self.zero_point, self.quant_min, self.quant_max, grad_factor
        )
