"""Affine and shape layers: Identity, Flatten, Unflatten, Linear, Bilinear, Maxout."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...autograd.tensor import Tensor
from ...creation import empty
from ...creation_options import NegativeSizeError, size_type_error
from .. import init
from ..functional._arg_types import as_int
from ..functional.activation_piecewise import maxout
from ..functional.linear import bilinear, linear
from ..module import Module
from ..parameter import Parameter

__all__ = ["Bilinear", "Flatten", "Identity", "Linear", "Maxout", "Unflatten"]


class Identity(Module):
    """Return the input unchanged (constructor arguments are ignored, as PyTorch)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim``. Shape: (N, *dims) -> (N, prod(dims))."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        if type(self.start_dim) is not int or type(self.end_dim) is not int:
            # PyTorch's parser (input.flatten(start_dim, end_dim)): ints, not bools/floats
            as_int("flatten", "start_dim", self.start_dim, 1)
            as_int("flatten", "end_dim", self.end_dim, 2)
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand dim ``dim`` into ``unflattened_size``."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]):
        super().__init__()
        # PyTorch's check: a tuple (torch.Size too) or list of Python ints, kept as given
        # (its repr prints what was given)
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(
                "unflattened_size must be a tuple of ints, but found type "
                f"{type(unflattened_size).__name__}"
            )
        for i, elem in enumerate(unflattened_size):
            if not isinstance(elem, int):
                raise TypeError(
                    "unflattened_size must be tuple of ints, but found element of type "
                    f"{type(elem).__name__} at pos {i}"
                )
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        if type(self.dim) is not int and not isinstance(self.dim, str):
            as_int("unflatten", "dim", self.dim, 1)  # PyTorch's parser: an int, not a bool
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


def _size_types(*shape: Any) -> None:
    """PyTorch's TypeError for a weight shape ``empty(shape)`` cannot read: the first size
    must be an int that is not a bool, the others ints (a bool is read as one); a
    one-element integer tensor is read as its int, as PyTorch's parser reads it."""
    for i, n in enumerate(shape):
        if isinstance(n, Tensor) and n.numel() == 1 and n.dtype.kind in "iu":
            continue
        if (i == 0 and isinstance(n, bool)) or not isinstance(n, (int, np.integer)):
            raise size_type_error("empty", shape, i, packed=True, keyword=False)


def _param(*shape: int, dtype: Any = None, device: Any = None) -> Parameter:
    return Parameter(empty(*shape, dtype=dtype, device=device))


class Linear(Module):
    """y = x Wᵀ + b.

    Weights start as kaiming_uniform_(a=√5), i.e. U(-1/√in, 1/√in), and the bias as
    U(-1/√in, 1/√in), exactly PyTorch's default.

    Shape:
        input (*, in_features) -> output (*, out_features).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        _size_types(out_features, in_features)
        if in_features < 0 or out_features < 0:  # PyTorch's RuntimeError (and a ValueError)
            shape = [int(out_features), int(in_features)]  # PyTorch's empty((out, in))
            first = next(n for n in shape if n < 0)
            raise NegativeSizeError(
                f"Trying to create tensor with negative dimension {first}: {shape}\n"
                f"Linear: features must be non-negative, got in_features="
                f"{in_features}, out_features={out_features}"
            )
        self.in_features, self.out_features = in_features, out_features
        self.weight = _param(out_features, in_features, dtype=dtype, device=device)
        if bias:
            self.bias = _param(out_features, dtype=dtype, device=device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """y_k = x1ᵀ A_k x2 + b_k; weight and bias start as U(-1/√in1, 1/√in1).

    Shape:
        input1 (*, in1_features), input2 (*, in2_features) -> (*, out_features).
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        _size_types(out_features, in1_features, in2_features)
        if min(in1_features, in2_features, out_features) < 0:  # PyTorch's RuntimeError
            raise NegativeSizeError(
                "Bilinear: Trying to create tensor with negative dimension: "
                f"[{out_features}, {in1_features}, {in2_features}]"
            )
        if in1_features <= 0:  # PyTorch's check (its bound divides by √in1_features)
            raise ValueError(f"in1_features must be > 0, but got (in1_features={in1_features})")
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = _param(out_features, in1_features, in2_features, dtype=dtype, device=device)
        if bias:
            self.bias = _param(out_features, dtype=dtype, device=device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class Maxout(Module):
    """Maxout unit (Goodfellow et al., 2013): y_j = max_{k<pieces} (W_{j,k} x + b_{j,k}).

    PyTorch has no Maxout layer. The ``pieces`` affine maps are stored as one Linear-style
    weight of shape (out_features · pieces, in_features) so the forward is one matmul,
    followed by a max over the pieces; the gradient reaches only the winning piece.
    Initialised like Linear.

    Shape:
        input (*, in_features) -> output (*, out_features).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        pieces: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout: pieces must be >= 1, got {pieces}")
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.weight = _param(out_features * pieces, in_features, dtype=dtype, device=device)
        if bias:
            self.bias = _param(out_features * pieces, dtype=dtype, device=device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    reset_parameters = Linear.reset_parameters

    def forward(self, input: Tensor) -> Tensor:
        return maxout(input, self.weight, self.bias, self.pieces)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"pieces={self.pieces}, bias={self.bias is not None}"
        )
