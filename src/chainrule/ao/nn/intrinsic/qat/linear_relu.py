"""``cr.ao.nn.intrinsic.qat.LinearReLU``: ``relu(F.linear(x, weight_fake_quant(weight),
bias))``, what ``prepare_qat`` makes of a fused ``LinearReLU``."""

from __future__ import annotations

from typing import Any

from .....autograd.tensor import Tensor
from .....nn import functional as F
from ... import qat as nnqat
from .. import fused as nni

__all__ = ["LinearReLU"]


class LinearReLU(nnqat.Linear):
    """A QAT linear layer followed by ReLU."""

    _FLOAT_MODULE: Any = nni.LinearReLU

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 - torch's name
        return F.relu(F.linear(input, self.weight_fake_quant(self.weight), self.bias))
