"""The quantization-aware training qconfigs (``torch.ao.quantization.qconfig``):
``get_default_qat_qconfig`` and ``default_qat_qconfig``. Version 1 (the default) uses the
fused moving-average fake quantizer, version 0 the separate ``FakeQuantize``; x86/fbgemm
halve the activation range (``reduce_range``) and quantize weights per channel."""

from __future__ import annotations

from .fake_quantize import (
    FakeQuantize,
    FusedMovingAvgObsFakeQuantize,
    default_fake_quant,
    default_fused_act_fake_quant,
    default_fused_per_channel_wt_fake_quant,
    default_fused_wt_fake_quant,
    default_per_channel_weight_fake_quant,
    default_weight_fake_quant,
)
from .moving_average_observer import MovingAverageMinMaxObserver
from .qconfig import QConfig

__all__ = ["default_qat_qconfig", "default_qat_qconfig_v2", "get_default_qat_qconfig"]

default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)
default_qat_qconfig_v2 = QConfig(
    activation=default_fused_act_fake_quant, weight=default_fused_wt_fake_quant
)

_BACKENDS = ("fbgemm", "x86", "qnnpack", "onednn")


def get_default_qat_qconfig(backend: str = "x86", version: int = 1) -> QConfig:
    """The QAT qconfig PyTorch recommends for ``backend`` (``version`` 1: fused fake
    quantizers; 0: ``FakeQuantize``)."""
    if backend not in _BACKENDS:
        raise AssertionError(
            f"backend: {backend} not supported. backend must be one of "
            "['fbgemm', 'x86', 'qnnpack', 'onednn']"
        )
    if version not in (0, 1):
        raise AssertionError(
            f"Version number: {version}in get_default_qat_qconfig is not supported. Version "
            "number must be 0 or 1"
        )
    quantizer = FakeQuantize if version == 0 else FusedMovingAvgObsFakeQuantize
    act = {"observer": MovingAverageMinMaxObserver, "quant_min": 0, "quant_max": 255}
    if backend != "onednn":
        act["reduce_range"] = backend in ("x86", "fbgemm")
    activation = quantizer.with_args(**act)
    if backend == "qnnpack":
        weight = default_weight_fake_quant if version == 0 else default_fused_wt_fake_quant
    elif version == 0:
        weight = default_per_channel_weight_fake_quant
    else:
        weight = default_fused_per_channel_wt_fake_quant
    return QConfig(activation=activation, weight=weight)
