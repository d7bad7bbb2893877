"""Eager-mode post-training static quantization (``torch.ao.quantization``): ``prepare``
puts observers after the layers a ``qconfig`` covers, the user runs calibration data
through the model, and ``convert`` swaps each observed layer for its quantized form
(``from_float``, with the observed output scale and zero point); ``quantize`` does all
three.

``prepare`` (on a deep copy unless ``inplace``) propagates ``qconfig`` from each module
to its children (:func:`.quantize.propagate_qconfig_`), then for each leaf module whose
type is in the default mapping (and for fused modules, taken whole) adds an
``activation_post_process`` child built by ``qconfig.activation()`` and a forward hook
(put first) that passes the output through it. A ``FloatFunctional`` gets the observer as
its ``activation_post_process`` instead (its ops call it); a ``DeQuantStub`` gets none.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

from ... import nn
from ...nn.layers.attention import NonDynamicallyQuantizableLinear
from ..nn import intrinsic as nni
from ..nn import qat as nnqat
from ..nn import quantized as nnq
from ..nn.intrinsic import qat as nniqat
from ..nn.intrinsic import quantized as nniq
from .observer import ObserverBase
from .quantize import _DEPRECATION, propagate_qconfig_
from .stubs import DeQuantStub, QuantStub

__all__ = [
    "add_observer_",
    "convert",
    "get_default_qat_module_mappings",
    "get_default_qconfig_propagation_list",
    "get_default_static_quant_module_mappings",
    "prepare",
    "prepare_qat",
    "quantize",
    "quantize_qat",
    "swap_module",
]

# types PyTorch's default static mapping swaps that chainrule has no quantized form of yet
_NOT_YET = (
    nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
    nn.BatchNorm2d, nn.BatchNorm3d, nn.ELU, nn.Embedding, nn.EmbeddingBag,
    nn.GroupNorm, nn.Hardswish, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d,
    nn.LayerNorm, nn.LeakyReLU, nn.PReLU, nni.BNReLU2d, nni.BNReLU3d,
)  # fmt: skip
_FUSED = (nni.ConvReLU1d, nni.ConvReLU2d, nni.ConvReLU3d, nni.LinearReLU, nni.BNReLU2d,
          nni.BNReLU3d, nni.ConvBn2d, nni.ConvBnReLU2d, nni.LinearBn1d)  # fmt: skip
# quantization-aware training modules: observed and swapped whole, as the fused ones
_QAT = (nnqat.Linear, nnqat.Conv1d, nnqat.Conv2d, nnqat.Conv3d, nniqat.LinearReLU,
        nniqat.ConvReLU2d, nniqat.ConvReLU3d, nniqat.ConvBn2d, nniqat.ConvBnReLU2d,
        nniqat.LinearBn1d)  # fmt: skip
_WHOLE = _FUSED + _QAT


def get_default_qat_module_mappings() -> dict[type, type]:
    """Float module type -> quantization-aware training type (what ``prepare_qat``
    swaps in; the ones chainrule implements). As in torch, ``nn.Conv1d`` is not here: it
    stays in float, observed, and ``convert`` quantizes it as after ``prepare``."""
    return {
        nn.Linear: nnqat.Linear,
        NonDynamicallyQuantizableLinear: nnqat.Linear,
        nn.Conv2d: nnqat.Conv2d,
        nn.Conv3d: nnqat.Conv3d,
        nni.ConvBn2d: nniqat.ConvBn2d,
        nni.ConvBnReLU2d: nniqat.ConvBnReLU2d,
        nni.ConvReLU2d: nniqat.ConvReLU2d,
        nni.ConvReLU3d: nniqat.ConvReLU3d,
        nni.LinearReLU: nniqat.LinearReLU,
        nni.LinearBn1d: nniqat.LinearBn1d,
    }


def get_default_static_quant_module_mappings() -> dict[type, type]:
    """Float module type -> statically quantized type (the ones chainrule implements)."""
    return {
        QuantStub: nnq.Quantize,
        DeQuantStub: nnq.DeQuantize,
        nn.Linear: nnq.Linear,
        NonDynamicallyQuantizableLinear: nnq.Linear,
        nn.Conv1d: nnq.Conv1d,
        nn.Conv2d: nnq.Conv2d,
        nn.Conv3d: nnq.Conv3d,
        nn.ReLU6: nnq.ReLU6,
        nn.Dropout: nnq.Dropout,
        nnq.FloatFunctional: nnq.QFunctional,
        nni.LinearReLU: nniq.LinearReLU,
        nni.ConvReLU1d: nniq.ConvReLU1d,
        nni.ConvReLU2d: nniq.ConvReLU2d,
        nni.ConvReLU3d: nniq.ConvReLU3d,
        nnqat.Linear: nnq.Linear,
        nnqat.Conv2d: nnq.Conv2d,
        nnqat.Conv3d: nnq.Conv3d,
        nniqat.LinearReLU: nniq.LinearReLU,
        nniqat.ConvReLU2d: nniq.ConvReLU2d,
        nniqat.ConvReLU3d: nniq.ConvReLU3d,
        nniqat.ConvBn2d: nnq.Conv2d,
        nniqat.ConvBnReLU2d: nniq.ConvReLU2d,
        nniqat.LinearBn1d: nnq.Linear,
    }


def get_default_qconfig_propagation_list() -> set[type]:
    """The module types ``prepare`` observes: the static mapping's keys (and the types
    PyTorch maps that chainrule refuses at ``prepare``)."""
    static = get_default_static_quant_module_mappings()
    qat = get_default_qat_module_mappings()
    return set(static) | set(qat) | set(_NOT_YET) | set(_QAT) | {nn.Sequential}


def _observer_forward_hook(self: nn.Module, input: Any, output: Any) -> Any:  # noqa: A002
    """Pass the module's output through its observer."""
    return self.activation_post_process(output)


def _is_leaf(module: nn.Module) -> bool:
    return not any(True for _ in module.children())


def _insert_observer(module: nn.Module, name: str) -> None:
    if isinstance(module, _NOT_YET):
        raise NotImplementedError(
            f"prepare: {type(module).__name__} (at {name or 'the root'!r}) has a qconfig but "
            "chainrule has no statically quantized form of it yet (Linear, Conv1d/2d/3d, ReLU6, "
            "Dropout, LinearReLU, ConvReLU1d/2d/3d, FloatFunctional and the stubs are "
            "supported); set its "
            "qconfig to None to keep it in float"
        )
    module.activation_post_process = module.qconfig.activation()
    module.register_forward_hook(_observer_forward_hook, prepend=True)


def add_observer_(
    module: nn.Module,
    qconfig_propagation_list: Any = None,
    non_leaf_module_list: Any = None,
    device: Any = None,
    custom_module_class_mapping: Any = None,
    _prefix: str = "",
) -> None:
    """Add an observer (and its forward hook) to every leaf module of ``module`` that has a
    qconfig and whose type is in ``qconfig_propagation_list``; fused modules count as
    leaves; ``FloatFunctional`` gets its ``activation_post_process`` replaced."""
    if non_leaf_module_list or custom_module_class_mapping:
        raise NotImplementedError("add_observer_: non_leaf_module_list / custom modules")
    if qconfig_propagation_list is None:
        qconfig_propagation_list = get_default_qconfig_propagation_list()
    for name, child in module.named_children():
        path = f"{_prefix}.{name}" if _prefix else name
        qconfig = getattr(child, "qconfig", None)
        if type(child) is nn.Dropout:
            continue  # torch's "Dropout special": an exact nn.Dropout child gets no observer
        if type(child) in (nnq.FloatFunctional, nnq.QFunctional):
            if qconfig is not None:
                child.activation_post_process = qconfig.activation()
        elif isinstance(child, _WHOLE):
            if qconfig is not None and type(child) in qconfig_propagation_list:
                _insert_observer(child, path)
        else:
            add_observer_(child, qconfig_propagation_list, _prefix=path)
    if (
        _is_leaf(module)
        and not isinstance(module, (nn.Sequential, DeQuantStub, ObserverBase))
        and type(module) in qconfig_propagation_list
        and getattr(module, "qconfig", None) is not None
    ):
        _insert_observer(module, _prefix)


def prepare(
    model: nn.Module,
    inplace: bool = False,
    allow_list: Any = None,
    observer_non_leaf_module_list: Any = None,
    prepare_custom_config_dict: Any = None,
) -> nn.Module:
    """``model`` (a deep copy unless ``inplace``) with observers for calibration."""
    warnings.warn(_DEPRECATION, DeprecationWarning, stacklevel=2)
    for arg, value in (
        ("observer_non_leaf_module_list", observer_non_leaf_module_list),
        ("prepare_custom_config_dict", prepare_custom_config_dict),
    ):
        if value:
            raise NotImplementedError(f"prepare: {arg}")
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model)
    if not any(getattr(m, "qconfig", None) for m in model.modules()):
        warnings.warn(
            "None of the submodule got qconfig applied. Make sure you passed correct "
            "configuration through `qconfig_dict` or by assigning the `.qconfig` attribute "
            "directly on submodules",
            UserWarning,
            stacklevel=2,
        )
    add_observer_(model, allow_list)
    return model


def swap_module(mod: nn.Module, mapping: dict, custom_module_class_mapping: Any = None) -> Any:
    """``mod``'s quantized form when it has a qconfig and its type is in ``mapping``
    (keeping its hooks other than the observer's), else ``mod``."""
    if custom_module_class_mapping:
        raise NotImplementedError("swap_module: custom_module_class_mapping")
    if getattr(mod, "qconfig", None) is None or type(mod) not in mapping:
        return mod
    new = mapping[type(mod)].from_float(mod)
    for hook in mod._forward_pre_hooks.values():
        new.register_forward_pre_hook(hook)
    for hook in mod._forward_hooks.values():
        if hook is not _observer_forward_hook:
            new.register_forward_hook(hook)
    return new


def _strip_observers(module: nn.Module) -> None:
    """Remove what ``prepare`` added to a module ``convert`` kept in float."""
    for key, hook in list(module._forward_hooks.items()):
        if hook is _observer_forward_hook:
            del module._forward_hooks[key]
            module._modules.pop("activation_post_process", None)


def _convert(module: nn.Module, mapping: dict) -> None:
    for name, child in list(module.named_children()):
        if not isinstance(child, _WHOLE):
            _convert(child, mapping)
        new = swap_module(child, mapping)
        if new is child:
            _strip_observers(child)
        module._modules[name] = new


def convert(
    module: nn.Module,
    mapping: dict | None = None,
    inplace: bool = False,
    remove_qconfig: bool = True,
    is_reference: bool = False,
    convert_custom_config_dict: Any = None,
    use_precomputed_fake_quant: bool = False,
) -> nn.Module:
    """``module`` (a deep copy unless ``inplace``) with each observed layer swapped for its
    quantized form (``mapping``: float type -> quantized type, default
    :func:`get_default_static_quant_module_mappings`)."""
    warnings.warn(_DEPRECATION, DeprecationWarning, stacklevel=2)
    for arg, value in (
        ("is_reference", is_reference),
        ("convert_custom_config_dict", convert_custom_config_dict),
        ("use_precomputed_fake_quant", use_precomputed_fake_quant),
    ):
        if value:
            raise NotImplementedError(f"convert: {arg}")
    if mapping is None:
        mapping = get_default_static_quant_module_mappings()
    if not inplace:
        module = copy.deepcopy(module)
    _convert(module, mapping)
    if remove_qconfig:
        for m in module.modules():
            m.__dict__.pop("qconfig", None)
    return module


def quantize(
    model: nn.Module,
    run_fn: Callable[..., Any],
    run_args: Any,
    mapping: dict | None = None,
    inplace: bool = False,
) -> nn.Module:
    """Post-training static quantization in one call: ``prepare`` a copy of ``model`` in
    evaluation mode, calibrate it with ``run_fn(model, *run_args)``, ``convert`` it."""
    warnings.warn(_DEPRECATION, DeprecationWarning, stacklevel=2)
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    prepare(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, mapping, inplace=True)
    return model


def prepare_qat(model: nn.Module, mapping: dict | None = None, inplace: bool = False) -> Any:
    """Prepare ``model`` (in training mode; a deep copy unless ``inplace``) for
    quantization-aware training: propagate ``qconfig``, swap each covered layer for its QAT
    form (``mapping``: float type -> QAT type, default
    :func:`get_default_qat_module_mappings`), then add the activation fake quantizers
    where ``prepare`` adds observers."""
    if not model.training:
        raise AssertionError("prepare_qat only works on models in training mode")
    if mapping is None:
        mapping = get_default_qat_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model)
    with warnings.catch_warnings():  # one deprecation warning for the whole call
        warnings.simplefilter("ignore", DeprecationWarning)
        convert(model, mapping=mapping, inplace=True, remove_qconfig=False)
        prepare(model, inplace=True)
    warnings.warn(_DEPRECATION, DeprecationWarning, stacklevel=2)
    return model


def quantize_qat(
    model: nn.Module, run_fn: Callable[..., Any], run_args: Any, inplace: bool = False
) -> nn.Module:
    """Quantization-aware training in one call: ``prepare_qat`` a copy of ``model`` in
    training mode, train it with ``run_fn(model, *run_args)``, ``convert`` it."""
    if not inplace:
        model = copy.deepcopy(model)
    model.train()
    prepare_qat(model, inplace=True)
    run_fn(model, *run_args)
    convert(model, inplace=True)
    return model
