"""``fuse_modules``: join runs of layers into one module before quantization
(``torch.ao.quantization.fuse_modules``), evaluation mode only.

Conv + BatchNorm folds the batch norm into the convolution's weight and bias
(``W * gamma / sqrt(var + eps)``, ``(b - mean) * gamma / sqrt(var + eps) + beta``, via
:func:`chainrule.nn.utils.fusion.fuse_conv_bn_eval`); a trailing ReLU makes the result a
``ConvReLU{1,2,3}d``. Linear + ReLU becomes ``LinearReLU``, Linear + BatchNorm1d a folded
``Linear``, BatchNorm + ReLU ``BNReLU{2,3}d``. The first listed module's place takes the
fused module and the others become ``nn.Identity``.

``fuse_modules_qat`` (training mode, for quantization-aware training) keeps the batch norm:
Conv2d + BatchNorm2d (+ ReLU) become ``ConvBn2d`` / ``ConvBnReLU2d``, Linear + BatchNorm1d
``LinearBn1d``, which ``prepare_qat`` turns into modules that fold it into the
fake-quantized weight while training.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from ... import nn
from ...nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval
from ..nn import intrinsic as nni

__all__ = [
    "fuse_conv_bn",
    "fuse_conv_bn_relu",
    "fuse_known_modules",
    "fuse_linear_bn",
    "fuse_modules",
    "fuse_modules_qat",
    "get_fuser_method",
]

_CONV_RELU = {nn.Conv1d: nni.ConvReLU1d, nn.Conv2d: nni.ConvReLU2d, nn.Conv3d: nni.ConvReLU3d}
_CONV_BN_QAT = {nn.Conv2d: nni.ConvBn2d}
_CONV_BN_RELU_QAT = {nn.Conv2d: nni.ConvBnReLU2d}
_BN_FOR_CONV = {nn.Conv1d: nn.BatchNorm1d, nn.Conv2d: nn.BatchNorm2d, nn.Conv3d: nn.BatchNorm3d}


def _qat_conv_bn(conv: Any, bn: Any, table: dict, *rest: Any) -> Any:
    """The unfolded ``ConvBn2d``/``ConvBnReLU2d`` of quantization-aware training."""
    name = type(bn).__name__
    if bn.num_features != conv.out_channels:
        raise AssertionError(f"Output channel of Conv2d must match num_features of {name}")
    if not bn.affine:
        raise AssertionError(f"Only support fusing {name} with affine set to True")
    if not bn.track_running_stats:
        raise AssertionError(f"Only support fusing {name} with tracking_running_stats set to True")
    cls = table.get(type(conv))
    if cls is None:
        raise NotImplementedError(
            f"fusion for quantization-aware training of {type(conv).__name__} and {name} "
            "(Conv2d is supported)"
        )
    return cls(conv, bn, *rest)


def fuse_conv_bn(is_qat: bool, conv: Any, bn: Any) -> Any:
    """A convolution with ``bn`` folded into its weight and bias (evaluation mode), or
    for quantization-aware training (``is_qat``) the two kept as a ``ConvBn2d``."""
    if conv.training != bn.training:
        raise AssertionError("Conv and BN both must be in the same mode (train or eval).")
    if is_qat:
        return _qat_conv_bn(conv, bn, _CONV_BN_QAT)
    if conv.training:
        raise AssertionError("Fusion only for eval!")
    return fuse_conv_bn_eval(conv, bn)


def fuse_conv_bn_relu(is_qat: bool, conv: Any, bn: Any, relu: Any) -> Any:
    """``ConvReLU{1,2,3}d`` of the batch-norm-folded convolution and ``relu`` (for
    quantization-aware training a ``ConvBnReLU2d`` of the three)."""
    if conv.training != bn.training or conv.training != relu.training:
        raise AssertionError("Conv and BN both must be in the same mode (train or eval).")
    if is_qat:
        return _qat_conv_bn(conv, bn, _CONV_BN_RELU_QAT, relu)
    if conv.training:
        raise AssertionError("Fusion only for eval!")
    return _CONV_RELU[type(conv)](fuse_conv_bn_eval(conv, bn), relu)


def fuse_linear_bn(is_qat: bool, linear: Any, bn: Any) -> Any:
    """A linear layer with ``bn`` (``BatchNorm1d``) folded into it (evaluation mode), or
    for quantization-aware training (``is_qat``) the two kept as a ``LinearBn1d``."""
    if linear.training != bn.training:
        raise AssertionError("Linear and BN both must be in the same mode (train or eval).")
    if is_qat:
        if bn.num_features != linear.out_features:
            raise AssertionError("Output features of Linear must match num_features of BatchNorm1d")
        if not bn.affine:
            raise AssertionError("Only support fusing BatchNorm1d with affine set to True")
        if not bn.track_running_stats:
            raise AssertionError(
                "Only support fusing BatchNorm1d with tracking_running_stats set to True"
            )
        return nni.LinearBn1d(linear, bn)
    if linear.training:
        raise AssertionError("Fusion only for eval!")
    return fuse_linear_bn_eval(linear, bn)


def _sequential(cls: type) -> Callable[..., Any]:
    def fuse(is_qat: bool, *mods: Any) -> Any:
        return cls(*mods)

    return fuse


_FUSERS: dict[tuple[type, ...], Callable[..., Any]] = {
    (nn.Linear, nn.ReLU): _sequential(nni.LinearReLU),
    (nn.Linear, nn.BatchNorm1d): fuse_linear_bn,
    (nn.BatchNorm2d, nn.ReLU): _sequential(nni.BNReLU2d),
    (nn.BatchNorm3d, nn.ReLU): _sequential(nni.BNReLU3d),
}
for _conv, _bn in _BN_FOR_CONV.items():
    _FUSERS[(_conv, _bn)] = fuse_conv_bn
    _FUSERS[(_conv, _bn, nn.ReLU)] = fuse_conv_bn_relu
    _FUSERS[(_conv, nn.ReLU)] = _sequential(_CONV_RELU[_conv])


def get_fuser_method(op_list: tuple, additional_fuser_method_mapping: Any = None) -> Any:
    """The function that fuses modules of the types ``op_list``."""
    if additional_fuser_method_mapping:
        raise NotImplementedError("get_fuser_method: additional_fuser_method_mapping")
    fuser = _FUSERS.get(tuple(op_list))
    if fuser is None:
        raise AssertionError(f"did not find fuser method for: {tuple(op_list)} ")
    return fuser


def fuse_known_modules(
    mod_list: list, is_qat: bool, additional_fuser_method_mapping: Any = None
) -> list:
    """``mod_list`` fused: the fused module first, ``nn.Identity`` for the others."""
    fuser = get_fuser_method(tuple(type(m) for m in mod_list), additional_fuser_method_mapping)
    fused = fuser(is_qat, *mod_list)
    return [fused] + [nn.Identity() for _ in mod_list[1:]]


def _get(model: nn.Module, name: str) -> nn.Module:
    for part in name.split("."):
        model = getattr(model, part)
    return model


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    *path, last = name.split(".")
    for part in path:
        model = getattr(model, part)
    setattr(model, last, module)


def _fuse(
    model: nn.Module, modules_to_fuse: list, inplace: bool, fuser_func: Callable[..., list],
    fuse_custom_config_dict: Any, is_qat: bool,
) -> nn.Module:  # fmt: skip
    if fuse_custom_config_dict:
        raise NotImplementedError("fuse_modules: fuse_custom_config_dict")
    if not inplace:
        model = copy.deepcopy(model)
    groups = modules_to_fuse
    if groups and all(isinstance(n, str) for n in groups):
        groups = [groups]
    for names in groups:
        mods = [_get(model, n) for n in names]
        new = fuser_func(mods, is_qat, None)
        for name, module in zip(names, new, strict=True):
            _set(model, name, module)
    return model


def fuse_modules(
    model: nn.Module,
    modules_to_fuse: list,
    inplace: bool = False,
    fuser_func: Callable[..., list] = fuse_known_modules,
    fuse_custom_config_dict: Any = None,
) -> nn.Module:
    """``model`` with each list of submodule names in ``modules_to_fuse`` (or the one flat
    list) fused into one module, in a deep copy unless ``inplace``.

    Raises:
        AssertionError: a sequence of types with no fusion, or a fusion of training-mode
            layers that folds batch norm.
    """
    return _fuse(model, modules_to_fuse, inplace, fuser_func, fuse_custom_config_dict, False)


def fuse_modules_qat(
    model: nn.Module,
    modules_to_fuse: list,
    inplace: bool = False,
    fuser_func: Callable[..., list] = fuse_known_modules,
    fuse_custom_config_dict: Any = None,
) -> nn.Module:
    """:func:`fuse_modules` for quantization-aware training (a model in training mode):
    Conv2d + BatchNorm2d (+ ReLU) become ``ConvBn2d`` / ``ConvBnReLU2d`` and Linear +
    BatchNorm1d ``LinearBn1d``, batch norm kept."""
    return _fuse(model, modules_to_fuse, inplace, fuser_func, fuse_custom_config_dict, True)
