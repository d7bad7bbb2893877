"""``quantize_dynamic``: swap a model's layers for dynamically quantized ones
(``torch.ao.quantization.quantize_dynamic``).

Which layers: ``qconfig_spec`` names them by type or by submodule name (a name covers the
submodule's children too; a type covers a matching module and its children, as PyTorch's
qconfig propagation), each with the :class:`~.qconfig.QConfig` that says how to quantize its
weight. A layer is swapped when its type is in ``mapping`` (default: ``nn.Linear`` ->
``cr.ao.nn.quantized.dynamic.Linear``, and ``nn.LSTM`` / ``nn.GRU``). Layer types PyTorch can
swap and chainrule cannot yet (the recurrent cells, embeddings) raise NotImplementedError
naming the type when the model has one, rather than being left in float silently.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

from ... import nn
from ...nn.layers.attention import NonDynamicallyQuantizableLinear
from ...qtypes import qint8, quint8
from ..nn.quantized import dynamic as nnqd
from .qconfig import (
    default_dynamic_qconfig,
    float16_dynamic_qconfig,
    float_qparams_weight_only_qconfig,
)

__all__ = [
    "get_default_dynamic_quant_module_mappings",
    "propagate_qconfig_",
    "quantize_dynamic",
]

_DEPRECATION = (
    "torch.ao.quantization is deprecated and will be removed in 2.10. \n"
    "For migrations of users: \n"
    "1. Eager mode quantization (torch.ao.quantization.quantize, "
    "torch.ao.quantization.quantize_dynamic), please migrate to use torchao eager mode "
    "quantize_ API instead \n"
    "2. FX graph mode quantization (torch.ao.quantization.quantize_fx.prepare_fx,"
    "torch.ao.quantization.quantize_fx.convert_fx, please migrate to use torchao pt2e "
    "quantization API instead (prepare_pt2e, convert_pt2e) \n"
    "3. pt2e quantization has been migrated to torchao "
    "(https://github.com/pytorch/ao/tree/main/torchao/quantization/pt2e) \n"
    "see https://github.com/pytorch/ao/issues/2259 for more details"
)

_FLOAT16 = np.dtype(np.float16)
_RECURRENT = (nn.LSTM, nn.GRU, nn.LSTMCell, nn.RNNCell, nn.GRUCell)
# types PyTorch's default dynamic mapping swaps and chainrule does not implement yet
_NOT_YET = (nn.LSTMCell, nn.RNNCell, nn.GRUCell, nn.Embedding, nn.EmbeddingBag)


def get_default_dynamic_quant_module_mappings() -> dict[type, type]:
    """Float module type -> dynamically quantized type (the ones chainrule implements)."""
    return {
        nn.Linear: nnqd.Linear,
        NonDynamicallyQuantizableLinear: nnqd.Linear,
        nn.LSTM: nnqd.LSTM,
        nn.GRU: nnqd.GRU,
    }


def _default_spec(dtype: Any) -> dict[Any, Any]:
    if dtype is qint8:
        return dict.fromkeys((nn.Linear, *_RECURRENT), default_dynamic_qconfig)
    if dtype == _FLOAT16:
        return dict.fromkeys((nn.Linear, *_RECURRENT), float16_dynamic_qconfig)
    if dtype is quint8:
        return dict.fromkeys((nn.EmbeddingBag, nn.Embedding), float_qparams_weight_only_qconfig)
    raise ValueError(
        f"Don't know how to quantize with default settings for {dtype}. Provide full qconfig please"
    )


def _spec_from_set(keys: set, dtype: Any) -> dict[Any, Any]:
    if dtype is qint8:
        qconfig = default_dynamic_qconfig
    elif dtype == _FLOAT16:
        qconfig = float16_dynamic_qconfig
    elif dtype is quint8:
        qconfig = float_qparams_weight_only_qconfig
    else:
        raise RuntimeError(f"Unknown dtype specified for quantize_dynamic: {dtype}")
    return dict.fromkeys(keys, qconfig)


def propagate_qconfig_(module: nn.Module, qconfig_dict: dict | None = None) -> None:
    """Set ``.qconfig`` on ``module`` and every submodule from ``qconfig_dict`` (keys: types
    or dotted submodule names), each inheriting its parent's when not named."""

    def visit(mod: nn.Module, prefix: str, parent: Any) -> None:
        qconfig = qconfig_dict.get(type(mod), parent)
        qconfig = qconfig_dict.get(prefix, qconfig)
        qconfig = getattr(mod, "qconfig", None) or qconfig
        mod.qconfig = qconfig
        for name, child in mod.named_children():
            visit(child, f"{prefix}.{name}" if prefix else name, qconfig)

    qconfig_dict = qconfig_dict or {}
    visit(module, "", None)


def _convert(module: nn.Module, mapping: dict[type, type]) -> None:
    """Swap every child whose type is in ``mapping`` and that has a qconfig; recurse into
    the others; remove the ``qconfig`` attributes propagation set."""
    for name, child in list(module.named_children()):
        qconfig = getattr(child, "qconfig", None)
        if qconfig is not None and type(child) in mapping:
            module._modules[name] = mapping[type(child)].from_float(child)
            continue
        if qconfig is not None and isinstance(child, _NOT_YET) and type(child) not in mapping:
            raise NotImplementedError(
                f"quantize_dynamic: {type(child).__name__} (at {name!r}) is not supported by "
                "chainrule yet (nn.Linear, nn.LSTM and nn.GRU are); leave it out of qconfig_spec "
                "to keep it in float"
            )
        _convert(child, mapping)
        child.__dict__.pop("qconfig", None)


def quantize_dynamic(
    model: nn.Module,
    qconfig_spec: Any = None,
    dtype: Any = qint8,
    mapping: dict | None = None,
    inplace: bool = False,
) -> nn.Module:
    """The model with its weights quantized to int8 and its activations quantized on the
    fly (PyTorch's dynamic quantization), in evaluation mode.

    Args:
        model: the float model.
        qconfig_spec: which submodules to quantize: a set of types or names (quantized with
            ``dtype``'s default qconfig), a dict from types or names to a ``QConfig``, or
            None for the default (``nn.Linear`` and the recurrent layers for qint8).
        dtype: ``cr.qint8`` (``float16`` and ``quint8`` are PyTorch's other choices; their
            layers are not implemented and raise NotImplementedError).
        mapping: float type -> quantized type (default
            :func:`get_default_dynamic_quant_module_mappings`).
        inplace: swap in ``model`` itself rather than in a deep copy.
    """
    warnings.warn(_DEPRECATION, DeprecationWarning, stacklevel=2)
    if qconfig_spec is None:
        qconfig_spec = _default_spec(dtype)
    elif isinstance(qconfig_spec, set):
        qconfig_spec = _spec_from_set(qconfig_spec, dtype)
    if dtype is not qint8 and any(
        isinstance(m, tuple(k for k in qconfig_spec if isinstance(k, type)))
        for m in model.modules()
    ):
        raise NotImplementedError(
            f"quantize_dynamic: dtype={dtype!r} is not supported by chainrule (only "
            "chainrule.qint8)"
        )
    if mapping is None:
        mapping = get_default_dynamic_quant_module_mappings()
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    propagate_qconfig_(model, qconfig_spec)
    _convert(model, mapping)
    model.__dict__.pop("qconfig", None)
    return model
