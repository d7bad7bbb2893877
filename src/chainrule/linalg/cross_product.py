"""The 3-d cross product of ``torch.linalg.cross`` (and ``torch.cross``'s node), with its
derivatives.

    c = a x b        dc = da x b + a x db        grad_a = b x g, grad_b = g x a

Bilinear, so the backward is two more cross products (differentiable again) and the jvp
the sum of two; complex vectors take the same rules (holomorphic: ``Cross`` is listed in
``ops/complex_support.py``). Moved out of ``solve.py`` (session 40), which re-exports
``cross`` and ``Cross`` under their old import path.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import given, given_dim  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops._tensor_args import first_not_tensor
from ..ops._util import norm_dim, torch_words
from ..ops.binding import numpy_keywords
from ..ops.keywords import accepts_torch_keywords
from ..ops.linalg_out import with_out
from ..qtypes import scalar_type_name
from ._common import tensor_arg

__all__ = ["Cross", "cross"]


class Cross(Function):
    raw = True
    node_name = "LinalgCrossBackward0"  # PyTorch's name (torch.cross and linalg.cross)
    # grad_fn._saved_* as PyTorch's: the dim as given where the wrapper kept it
    saved_fields = {"dim": lambda n: given_dim(n, default=n.dim), "other": 1, "self": 0}

    @staticmethod
    def forward(ctx, a, b, dim):
        ctx.dim = dim
        ctx.save_for_backward(a, b)
        return get_array_module(a).cross(a, b, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return Cross.apply(b, grad, ctx.dim), Cross.apply(grad, a, ctx.dim), None

    @staticmethod
    def jvp(ctx, ta, tb, _):
        a, b, dim = ctx.primals
        xp = get_array_module(a)
        out = None
        if ta is not None:
            out = xp.cross(ta, b, axis=dim)
        if tb is not None:
            part = xp.cross(a, tb, axis=dim)
            out = part if out is None else out + part
        return out


def _torch_words(text: str) -> RuntimeError:
    """PyTorch's RuntimeError, its words: marked so that ``torch.cross``'s ``lead_with``
    leaves them unprefixed (CONTRIBUTING.md, "Error messages")."""
    return torch_words(RuntimeError(text))  # type: ignore[return-value]


def _broadcast(sa: tuple, sb: tuple) -> tuple:
    """The broadcast of two shapes of one rank, or PyTorch's RuntimeError, its words."""
    try:
        return np.broadcast_shapes(sa, sb)
    except ValueError:
        k = next(i for i, (m, n) in enumerate(zip(sa, sb)) if m != n and 1 not in (m, n))
        raise _torch_words(
            f"The size of tensor a ({sa[k]}) must match the size of tensor b ({sb[k]}) at "
            f"non-singleton dimension {k}"
        ) from None


@with_out("linalg.cross")
def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The 3-d cross product along ``dim`` (inputs broadcast against each other)."""
    a, b = input, other
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):  # PyTorch's TypeError
        raise first_not_tensor("linalg_cross", (("input", a), ("other", b)))
    if a.dtype != b.dtype:  # PyTorch promotes nothing here: its words
        raise _torch_words(
            f"expected scalar type {scalar_type_name(a.dtype)} but found "
            f"{scalar_type_name(b.dtype)}"
        )
    if a.dtype.kind not in "iu":  # integer vectors of one dtype: exact, as in PyTorch
        a = tensor_arg(input, "linalg.cross", complex_ok=True)
        b = tensor_arg(other, "linalg.cross", complex_ok=True)
    if a.ndim != b.ndim:
        raise _torch_words("linalg.cross: inputs must have the same number of dimensions.")
    if not (type(dim) is int and -a.ndim <= dim < a.ndim):
        norm_dim(dim, a.ndim, "linalg.cross")  # an out-of-range dim: IndexError
    if a.shape[dim] != 3 or b.shape[dim] != 3:  # checked before broadcasting, as PyTorch
        raise _torch_words(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[dim]} and "
            f"{b.shape[dim]}"
        )
    shape = _broadcast(tuple(a.shape), tuple(b.shape))
    if tuple(a.shape) != shape:
        a = a.expand(*shape)
    if tuple(b.shape) != shape:
        b = b.expand(*shape)
    return given(Cross.apply(a, b, dim % len(shape)), dim=dim)  # grad_fn._saved_dim as given


# NumPy's ``axis=`` for ``dim=`` (PyTorch takes ``torch.linalg.cross(a, b, axis=1)`` too)
cross = accepts_torch_keywords(numpy_keywords(keywords="axis")(cross), "linalg_cross")
