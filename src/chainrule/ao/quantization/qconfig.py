"""``QConfig`` and the ready-made configurations the tutorials name: which observer makes
the activation's and the weight's qparams (``torch.ao.quantization.qconfig``)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from ...dtype_objects import float16
from ...qtypes import (
    per_channel_affine_float_qparams,
    per_channel_symmetric,
    per_tensor_symmetric,
    qint8,
    quint8,
)
from .histogram_observer import HistogramObserver
from .observer import MinMaxObserver, PerChannelMinMaxObserver, PlaceholderObserver

__all__ = [
    "QConfig",
    "QConfigDynamic",
    "default_dynamic_qconfig",
    "default_observer",
    "default_per_channel_qconfig",
    "default_per_channel_weight_observer",
    "default_qconfig",
    "default_weight_observer",
    "float16_dynamic_qconfig",
    "float_qparams_weight_only_qconfig",
    "get_default_qconfig",
    "per_channel_dynamic_qconfig",
]


class QConfig(namedtuple("QConfig", ["activation", "weight"])):
    """The observers (classes or ``with_args`` factories) for a module's activation and
    weight. Instances, not factories, are refused as in PyTorch."""

    __slots__ = ()

    def __new__(cls, activation: Any, weight: Any) -> QConfig:
        for obs in (activation, weight):
            if hasattr(obs, "calculate_qparams") and not isinstance(obs, type):
                raise ValueError(
                    "QConfig received observer instance, please pass observer class instead. "
                    "Use MyObserver.with_args(x=1) to override arguments to constructor if needed"
                )
        return super().__new__(cls, activation, weight)


QConfigDynamic = QConfig

default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_weight_observer = MinMaxObserver.with_args(dtype=qint8, qscheme=per_tensor_symmetric)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(
    dtype=qint8, qscheme=per_channel_symmetric
)
default_qconfig = QConfig(activation=default_observer, weight=default_weight_observer)
default_per_channel_qconfig = QConfig(
    activation=default_observer, weight=default_per_channel_weight_observer
)
default_dynamic_quant_observer = PlaceholderObserver.with_args(
    dtype=quint8, quant_min=0, quant_max=255, is_dynamic=True
)
default_dynamic_qconfig = QConfig(
    activation=default_dynamic_quant_observer, weight=default_weight_observer
)
per_channel_dynamic_qconfig = QConfig(
    activation=default_dynamic_quant_observer,
    weight=PerChannelMinMaxObserver.with_args(dtype=qint8, qscheme=per_channel_symmetric),
)
float16_dynamic_qconfig = QConfig(
    activation=PlaceholderObserver.with_args(dtype=float16, is_dynamic=True),
    weight=PlaceholderObserver.with_args(dtype=float16),
)
float_qparams_weight_only_qconfig = QConfig(
    activation=PlaceholderObserver,
    weight=PerChannelMinMaxObserver.with_args(
        dtype=quint8, qscheme=per_channel_affine_float_qparams, ch_axis=0
    ),
)


def get_default_qconfig(backend: str = "x86", version: int = 0) -> QConfig:
    """The post-training static quantization qconfig PyTorch recommends for ``backend``:
    for ``'x86'``/``'fbgemm'`` a ``HistogramObserver`` with ``reduce_range`` for activations
    and per-channel symmetric int8 weights; ``'qnnpack'`` a full-range histogram and
    per-tensor weights; ``'onednn'`` a full-range histogram and per-channel weights."""
    if version != 0:
        raise AssertionError(
            f"Version number: {version} in get_default_qconfig is not supported. Version "
            "number must be 0"
        )
    if backend in ("x86", "fbgemm"):
        return QConfig(
            activation=HistogramObserver.with_args(reduce_range=True),
            weight=default_per_channel_weight_observer,
        )
    if backend == "qnnpack":
        return QConfig(
            activation=HistogramObserver.with_args(reduce_range=False),
            weight=default_weight_observer,
        )
    if backend == "onednn":
        return QConfig(
            activation=HistogramObserver.with_args(reduce_range=False),
            weight=default_per_channel_weight_observer,
        )
    raise AssertionError(
        f"backend: {backend} not supported. backend must be one of "
        "['fbgemm', 'x86', 'qnnpack', 'onednn']"
    )
