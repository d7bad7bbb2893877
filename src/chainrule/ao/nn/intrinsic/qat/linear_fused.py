"""``cr.ao.nn.intrinsic.qat.LinearBn1d`` (``torch.ao.nn.intrinsic.qat.LinearBn1d``): a linear
layer and its ``BatchNorm1d`` for quantization-aware training, what ``prepare_qat`` makes of
the ``LinearBn1d`` that ``fuse_modules_qat`` gives for Linear + BatchNorm1d.

As ``ConvBn2d`` does for a convolution, it fake-quantizes the weight the quantized model will
have, the batch norm folded in, and keeps ``bn`` normalizing (with the batch's statistics in
training mode): with ``f = bn.weight / sqrt(bn.running_var + bn.eps)`` the forward is
``bn(linear(x, weight_fake_quant(weight * f[:, None])) / f[None, :] + bias)``.
``freeze_bn_stats`` fixes ``bn``'s running statistics; ``convert`` folds them into the
weight and bias (a quantized ``Linear``). torch's module-level ``freeze_bn_stats`` /
``update_bn_stats`` (for ``model.apply``) leave this module alone; call its methods.
"""

from __future__ import annotations

from typing import Any

from ..... import nn
from .....autograd.tensor import Tensor
from .....nn import functional as F
from .....nn import init
from .....nn.parameter import Parameter
from .....nn.utils.fusion import fuse_linear_bn_weights
from .. import fused as nni
from .bn_switches import BnStatsSwitches

__all__ = ["LinearBn1d"]


class LinearBn1d(BnStatsSwitches, nn.Linear):
    """Linear + BatchNorm1d with the batch norm folded into the fake-quantized weight."""

    _FLOAT_MODULE: Any = nni.LinearBn1d

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        eps: float = 1e-05,
        momentum: float = 0.1,
        freeze_bn: bool = False,
        qconfig: Any = None,
    ) -> None:
        super().__init__(in_features, out_features, bias)
        if not qconfig:
            raise AssertionError("qconfig must be provided for QAT module")
        self.qconfig = qconfig
        self.freeze_bn = freeze_bn if self.training else True
        self.bn = nn.BatchNorm1d(out_features, eps, momentum, True, True)
        self.weight_fake_quant = self.qconfig.weight()
        self.reset_bn_parameters()
        if self.training and not freeze_bn:
            self.update_bn_stats()
        else:
            self.freeze_bn_stats()

    def reset_running_stats(self) -> None:
        """``bn``'s running mean 0, variance 1, batch count 0."""
        self.bn.reset_running_stats()

    def reset_bn_parameters(self) -> None:
        """Fresh statistics, ``bn.weight`` uniform in [0, 1), ``bn.bias`` 0."""
        self.bn.reset_running_stats()
        init.uniform_(self.bn.weight)
        init.zeros_(self.bn.bias)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - torch's name
        bn = self.bn
        factor = bn.weight / (bn.running_var + bn.eps).sqrt()
        scaled = self.weight_fake_quant(self.weight * factor.reshape(-1, 1))
        out = F.linear(input, scaled) / factor.reshape(1, -1)
        if self.bias is not None:
            out = out + self.bias.reshape(1, -1)
        return bn(out)

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> LinearBn1d:
        """A QAT module sharing the fused float module's linear and batch-norm parameters
        and statistics."""
        if type(mod) is not cls._FLOAT_MODULE:
            raise AssertionError(
                f"qat.{cls.__name__}.from_float only works for {cls._FLOAT_MODULE.__name__}"
            )
        if not getattr(mod, "qconfig", None):
            raise AssertionError("Input float module must have a valid qconfig")
        linear, bn = mod[0], mod[1]
        qat = cls(
            linear.in_features, linear.out_features, linear.bias is not None, bn.eps,
            bn.momentum, False, mod.qconfig,
        )  # fmt: skip
        qat.weight = linear.weight
        qat.bias = linear.bias
        qat.bn.weight = bn.weight
        qat.bn.bias = bn.bias
        qat.bn.running_mean = bn.running_mean
        qat.bn.running_var = bn.running_var
        qat.bn.num_batches_tracked = bn.num_batches_tracked
        return qat

    def to_float(self) -> nn.Linear:
        """A new float ``nn.Linear`` with ``bn``'s running statistics folded into its
        weight and bias (as ``fuse_linear_bn_eval``)."""
        linear = nn.Linear(self.in_features, self.out_features)
        bn = self.bn
        weight, bias = fuse_linear_bn_weights(
            self.weight, self.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
        )
        linear.weight = Parameter(weight.detach())
        linear.bias = Parameter(bias.detach())
        return linear
