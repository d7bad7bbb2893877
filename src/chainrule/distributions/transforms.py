"""Invertible transforms with computable log-det-Jacobians, mirroring
``torch.distributions.transforms`` (used by ``TransformedDistribution`` and by
``biject_to``/``transform_to``)."""

from __future__ import annotations

from ._transform_base import (  # noqa: F401  (_InverseTransform: the type of t.inv, as torch)
    ComposeTransform,
    Transform,
    _InverseTransform,
    identity_transform,
)
from ._transforms_functors import CatTransform, StackTransform
from ._transforms_pointwise import (
    AbsTransform,
    AffineTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    SoftplusTransform,
    TanhTransform,
)
from ._transforms_structured import (
    CorrCholeskyTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    SoftmaxTransform,
    StickBreakingTransform,
)
from ._transforms_wrappers import (
    CumulativeDistributionTransform,
    IndependentTransform,
    ReshapeTransform,
)

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "CatTransform",
    "ComposeTransform",
    "CorrCholeskyTransform",
    "CumulativeDistributionTransform",
    "ExpTransform",
    "IndependentTransform",
    "LowerCholeskyTransform",
    "PositiveDefiniteTransform",
    "PowerTransform",
    "ReshapeTransform",
    "SigmoidTransform",
    "SoftplusTransform",
    "TanhTransform",
    "SoftmaxTransform",
    "StackTransform",
    "StickBreakingTransform",
    "Transform",
    "identity_transform",
]
