"""``FeatureAlphaDropout``: alpha dropout of whole channels, for SELU networks (active in
training mode, the identity in evaluation mode)."""

from __future__ import annotations

from ...autograd.tensor import Tensor
from ..functional.dropout_more import feature_alpha_dropout
from .dropout import _DropoutNd

__all__ = ["FeatureAlphaDropout"]


class FeatureAlphaDropout(_DropoutNd):
    """Set whole channels to SELU's negative saturation with probability p, then rescale and
    shift so mean 0 and variance 1 are kept. Shape: (N, C, *), unchanged. As PyTorch's,
    ``inplace`` is kept but not used (the result is a new tensor)."""

    def forward(self, input: Tensor) -> Tensor:
        return feature_alpha_dropout(input, self.p, self.training)
