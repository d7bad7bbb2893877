"""Fold an eval-mode BatchNorm into the convolution or linear layer before it
(``torch.nn.utils.fusion``): inference then runs one layer instead of two.

With s = bn_w / sqrt(running_var + eps) per channel, BN(conv(x)) = conv'(x) where
w' = w · s (per output channel) and b' = (b - running_mean) · s + bn_b.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from ...autograd.grad_mode import no_grad
from ...autograd.tensor import Tensor
from ...creation import ones_like, zeros_like
from ..layers.conv import _ConvNd
from ..layers.linear import Linear
from ..layers.normalization import _BatchNorm
from ..parameter import Parameter

__all__ = [
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
]

ConvT = TypeVar("ConvT", bound=_ConvNd)
LinearT = TypeVar("LinearT", bound=Linear)


def _check_eval(op: str, layer: Any, bn: Any, layer_cls: type, what: str) -> None:
    if not isinstance(layer, layer_cls):
        raise TypeError(f"{op}: expected {what}, got {type(layer).__name__}")
    if not isinstance(bn, _BatchNorm):
        raise TypeError(f"{op}: expected a BatchNorm module, got {type(bn).__name__}")
    if layer.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")


def fuse_conv_bn_eval(conv: ConvT, bn: _BatchNorm, transpose: bool = False) -> ConvT:
    """A new convolution computing ``bn(conv(x))`` (both must be in eval mode); the inputs are
    not changed. ``transpose``: the conv's weight has its output channels in dim 1
    (ConvTranspose)."""
    _check_eval("fuse_conv_bn_eval", conv, bn, _ConvNd, "a convolution module")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight,
        fused.bias,
        bn.running_mean,
        bn.running_var,
        bn.eps,
        bn.weight,
        bn.bias,
        transpose,
    )
    return fused


def fuse_conv_bn_weights(
    conv_w: Tensor,
    conv_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor | None,
    bn_b: Tensor | None,
    transpose: bool = False,
) -> tuple[Parameter, Parameter]:
    """The fused (weight, bias) Parameters; their dtypes are the conv's, and they require
    grad as ``conv_w`` / ``conv_b`` do (a missing bias is created as zeros)."""
    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else w_dtype
    with no_grad():
        if conv_b is None:
            conv_b = zeros_like(bn_rm)
        if bn_w is None:
            bn_w = ones_like(bn_rm)
        if bn_b is None:
            bn_b = zeros_like(bn_rm)
        var_rsqrt = (bn_rv + bn_eps).rsqrt()
        rest = [1] * (conv_w.ndim - 2)
        shape = [1, -1, *rest] if transpose else [-1, 1, *rest]
        fused_w = (conv_w * (bn_w * var_rsqrt).reshape(shape)).to(w_dtype)
        fused_b = ((conv_b - bn_rm) * var_rsqrt * bn_w + bn_b).to(b_dtype)
    return Parameter(fused_w, conv_w.requires_grad), Parameter(fused_b, conv_b.requires_grad)


def fuse_linear_bn_eval(linear: LinearT, bn: _BatchNorm) -> LinearT:
    """A new Linear computing ``bn(linear(x))`` (both in eval mode; ``bn.num_features`` must
    equal ``linear.out_features`` or be 1)."""
    _check_eval("fuse_linear_bn_eval", linear, bn, Linear, "a Linear module")
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(
            "To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
            f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}"
        )
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
    )
    return fused


def fuse_linear_bn_weights(
    linear_w: Tensor,
    linear_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor,
    bn_b: Tensor,
) -> tuple[Parameter, Parameter]:
    """The fused (weight, bias) Parameters of a Linear followed by a BatchNorm."""
    w_dtype = linear_w.dtype
    b_dtype = linear_b.dtype if linear_b is not None else w_dtype
    with no_grad():
        if linear_b is None:
            linear_b = zeros_like(bn_rm)
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        fused_w = linear_w * scale.unsqueeze(-1).to(w_dtype)
        fused_b = ((linear_b - bn_rm) * scale + bn_b).to(b_dtype)
    return Parameter(fused_w, linear_w.requires_grad), Parameter(fused_b, linear_b.requires_grad)
