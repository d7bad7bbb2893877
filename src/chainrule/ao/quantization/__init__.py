"""``cr.ao.quantization`` (also ``cr.quantization``): PyTorch's eager-mode quantization API:
``quantize_dynamic``, post-training static quantization (``QuantStub``/``DeQuantStub``,
``prepare``, ``convert``, ``quantize``), ``fuse_modules``, observers and qconfigs."""

from __future__ import annotations

from .fuse_modules import (
    fuse_conv_bn,
    fuse_conv_bn_relu,
    fuse_known_modules,
    fuse_linear_bn,
    fuse_modules,
    get_fuser_method,
)
from .histogram_observer import HistogramObserver
from .observer import (
    MinMaxObserver,
    ObserverBase,
    PerChannelMinMaxObserver,
    PlaceholderObserver,
    UniformQuantizationObserverBase,
)
from .prepare_convert import (
    add_observer_,
    convert,
    get_default_qconfig_propagation_list,
    get_default_static_quant_module_mappings,
    prepare,
    prepare_qat,
    quantize,
    swap_module,
)
from .qconfig import (
    QConfig,
    QConfigDynamic,
    default_dynamic_qconfig,
    default_observer,
    default_per_channel_qconfig,
    default_per_channel_weight_observer,
    default_qconfig,
    default_weight_observer,
    float16_dynamic_qconfig,
    float_qparams_weight_only_qconfig,
    get_default_qconfig,
    per_channel_dynamic_qconfig,
)
from .quantize import (
    get_default_dynamic_quant_module_mappings,
    propagate_qconfig_,
    quantize_dynamic,
)
from .stubs import DeQuantStub, QuantStub, QuantWrapper

__all__ = [
    "DeQuantStub",
    "HistogramObserver",
    "MinMaxObserver",
    "ObserverBase",
    "PerChannelMinMaxObserver",
    "PlaceholderObserver",
    "QConfig",
    "QConfigDynamic",
    "QuantStub",
    "QuantWrapper",
    "UniformQuantizationObserverBase",
    "add_observer_",
    "convert",
    "default_dynamic_qconfig",
    "default_observer",
    "default_per_channel_qconfig",
    "default_per_channel_weight_observer",
    "default_qconfig",
    "default_weight_observer",
    "float16_dynamic_qconfig",
    "float_qparams_weight_only_qconfig",
    "fuse_conv_bn",
    "fuse_conv_bn_relu",
    "fuse_known_modules",
    "fuse_linear_bn",
    "fuse_modules",
    "get_default_dynamic_quant_module_mappings",
    "get_default_qconfig",
    "get_default_qconfig_propagation_list",
    "get_default_static_quant_module_mappings",
    "get_fuser_method",
    "per_channel_dynamic_qconfig",
    "prepare",
    "prepare_qat",
    "propagate_qconfig_",
    "quantize",
    "quantize_dynamic",
    "swap_module",
]
