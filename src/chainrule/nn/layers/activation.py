"""Activation modules: thin wrappers over :mod:`chainrule.nn.functional.activation`.

``inplace=True`` writes the result into the input and returns it, as in PyTorch (through the
in-place machinery: the version counter is bumped, a leaf that requires grad raises).
Shape: any; the output has the input's shape.
"""

from __future__ import annotations

import warnings
from typing import Any

from ...autograd.tensor import Tensor
from ...creation import empty
from ...ops._util import NAMED_ERRORS, lead_with
from .. import functional as F
from .. import init
from ..functional._arg_types import as_number
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "CELU",
    "ELU",
    "GELU",
    "GLU",
    "SELU",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "LogSoftmax",
    "Mish",
    "PReLU",
    "RReLU",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softmax2d",
    "Softmin",
    "Softplus",
    "Softshrink",
    "Softsign",
    "Tanh",
    "Tanhshrink",
    "Threshold",
]


class _Simple(Module):
    _fn: Any = None

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Simple):
    """max(x, 0)."""

    _fn = staticmethod(F.relu)


class ReLU6(_Simple):
    """min(max(x, 0), 6)."""

    _fn = staticmethod(lambda input, inplace: F.hardtanh(input, 0.0, 6.0, inplace))
    min_val, max_val = 0.0, 6.0  # PyTorch's ReLU6 is a Hardtanh(0, 6) and keeps its bounds


class SELU(_Simple):
    """scale · elu(x, α) with PyTorch's exact constants."""

    _fn = staticmethod(F.selu)


class SiLU(_Simple):
    """x σ(x)."""

    _fn = staticmethod(F.silu)


class Mish(_Simple):
    """x tanh(softplus(x))."""

    _fn = staticmethod(F.mish)


class Hardsigmoid(_Simple):
    """clamp(x/6 + 1/2, 0, 1)."""

    _fn = staticmethod(F.hardsigmoid)

    def extra_repr(self) -> str:
        return ""  # PyTorch's repr does not show ``inplace`` for this module


class Hardswish(_Simple):
    """x · hardsigmoid(x)."""

    _fn = staticmethod(F.hardswish)

    def extra_repr(self) -> str:
        return ""  # PyTorch's repr does not show ``inplace`` for this module


class _NoArg(Module):
    _fn: Any = None

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input)


class Sigmoid(_NoArg):
    """1 / (1 + e^-x)."""

    _fn = staticmethod(F.sigmoid)


class Tanh(_NoArg):
    """tanh(x)."""

    _fn = staticmethod(F.tanh)


class Softsign(_NoArg):
    """x / (1 + |x|)."""

    _fn = staticmethod(F.softsign)


class LogSigmoid(_NoArg):
    """log σ(x)."""

    _fn = staticmethod(F.logsigmoid)


class Tanhshrink(_NoArg):
    """x - tanh(x)."""

    _fn = staticmethod(F.tanhshrink)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope · x."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """x if x > 0 else a · x with learnable a (one, or one per channel of dim 1).

    Shape: (N, C, *) with num_parameters in (1, C).
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(empty(num_parameters, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """x if x > 0 else α (e^x - 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """max(0, x) + min(0, α (e^(x/α) - 1))."""

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)


class GELU(Module):
    """x Φ(x) (exact erf form), or its tanh approximation with approximate='tanh'."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        # an unknown value raises when the module is called (F.gelu's RuntimeError), as PyTorch
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + e^(βx)) / β, linear where βx > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        if type(self.beta) is not float or type(self.threshold) is not float:
            # PyTorch's parser: numbers (a 0-d tensor read as one)
            beta = as_number("softplus", "beta", self.beta, 2)
            threshold = as_number("softplus", "threshold", self.threshold, 3)
            return F.softplus(input, beta, threshold)
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class HardtanhRangeError(ValueError, AssertionError):
    """Hardtanh's ``max_val <= min_val``: PyTorch's AssertionError, and a ValueError as
    chainrule raised before."""


class Hardtanh(Module):
    """clamp(x, min_val, max_val)."""

    def __init__(
        self,
        min_val: float = -1.0,
        max_val: float = 1.0,
        inplace: bool = False,
        min_value: float | None = None,
        max_value: float | None = None,
    ):
        super().__init__()
        # PyTorch's deprecated spellings, still accepted there with a FutureWarning
        for old, new, given in (
            ("min_value", "min_val", min_value),
            ("max_value", "max_val", max_value),
        ):
            if given is not None:
                warnings.warn(
                    f"keyword argument `{old}` is deprecated and renamed to `{new}`",
                    FutureWarning,
                    stacklevel=2,
                )
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        if max_val <= min_val:  # PyTorch's check (equal refused too, NaN passes)
            raise HardtanhRangeError(
                f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})"
            )
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace_str}"


class Threshold(Module):
    """x if x > threshold else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"threshold={self.threshold}, value={self.value}{inplace_str}"


class _DimModule(Module):
    _fn: Any = None

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_DimModule):
    """e^x_i / Σ_j e^x_j along ``dim`` (max-shifted for stability)."""

    _fn = staticmethod(F.softmax)


class LogSoftmax(_DimModule):
    """x_i - log Σ_j e^x_j along ``dim``."""

    _fn = staticmethod(F.log_softmax)


class Softmin(_DimModule):
    """softmax(-x) along ``dim``."""

    _fn = staticmethod(F.softmin)


class Softmax2d(Module):
    """Softmax over the channels at every spatial location: softmax along dim -3.

    Shape: (N, C, H, W) or (C, H, W); the output has the input's shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        try:
            return F.softmax(input, -3)
        except NAMED_ERRORS as err:
            lead_with("Softmax2d", err)
            raise


class GLU(Module):
    """Gated linear unit: a · σ(b) with a, b the two halves of the input along ``dim``.

    Shape: (*, 2N, *) -> (*, N, *) along ``dim``.
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Hardshrink(Module):
    """x if |x| > lambd else 0."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Module):
    """x - lambd if x > lambd, x + lambd if x < -lambd, else 0."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class RReLU(Module):
    """Randomized leaky ReLU: x if x > 0 else a · x.

    In training mode a is drawn per element uniformly from [lower, upper] (chainrule's
    generator); in eval mode a = (lower + upper) / 2.
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"lower={self.lower}, upper={self.upper}{inplace_str}"
