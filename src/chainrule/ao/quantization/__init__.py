"""``cr.ao.quantization`` (also ``cr.quantization``): PyTorch's eager-mode quantization API:
``quantize_dynamic``, ``fuse_modules``, observers and qconfigs."""

from __future__ import annotations

from .fuse_modules import (
    fuse_conv_bn,
    fuse_conv_bn_relu,
    fuse_known_modules,
    fuse_linear_bn,
    fuse_modules,
    get_fuser_method,
)
from .observer import (
    MinMaxObserver,
    ObserverBase,
    PerChannelMinMaxObserver,
    PlaceholderObserver,
    UniformQuantizationObserverBase,
)
from .qconfig import (
    QConfig,
    QConfigDynamic,
    default_dynamic_qconfig,
    default_weight_observer,
    float16_dynamic_qconfig,
    float_qparams_weight_only_qconfig,
    per_channel_dynamic_qconfig,
)
from .quantize import (
    get_default_dynamic_quant_module_mappings,
    propagate_qconfig_,
    quantize_dynamic,
)

__all__ = [
    "MinMaxObserver",
    "ObserverBase",
    "PerChannelMinMaxObserver",
    "PlaceholderObserver",
    "QConfig",
    "QConfigDynamic",
    "UniformQuantizationObserverBase",
    "default_dynamic_qconfig",
    "default_weight_observer",
    "float16_dynamic_qconfig",
    "float_qparams_weight_only_qconfig",
    "fuse_conv_bn",
    "fuse_conv_bn_relu",
    "fuse_known_modules",
    "fuse_linear_bn",
    "fuse_modules",
    "get_fuser_method",
    "get_default_dynamic_quant_module_mappings",
    "per_channel_dynamic_qconfig",
    "propagate_qconfig_",
    "quantize_dynamic",
]
