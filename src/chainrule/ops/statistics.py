"""Reductions with a numerically careful rule: ``var``, ``std`` and ``logsumexp``.

The variance of a complex tensor is real, the mean of ``|z - mean(z)|^2``: the sum of the
variances of its real and imaginary parts (so ``std``'s gradient follows PyTorch's
convention through ``real``/``imag``).

``var`` subtracts the mean before squaring (no cancellation), ``std``'s square root has a
gradient of 0 at a constant input (:class:`SafeSqrt`, PyTorch's convention, where the
textbook formula gives inf * 0 = NaN), and ``logsumexp`` shifts by the maximum so that it
never overflows.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..autograd.function import Function
from ..autograd.saved_fields import given  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import get_default_dtype, is_bfloat16
from ._util import DtypeError, as_tensor, reduction_axes
from .binary import where
from .binding import tensor_method
from .cast import cast
from .complex_ops import imag, real
from .dim_arguments import dim_type_error
from .fused_statistics import Logsumexp, Std, Var
from .number_arguments import parser_bool
from .overload_errors import UNBIASED_UNSET, refuse_moment_types
from .reduction import _count, sum
from .shape import reshape
from .vector_norms import keepdim_shape

__all__ = ["logsumexp", "std", "var"]


@tensor_method(keywords=True)
def var(
    input: Any,
    dim: Any = None,
    unbiased: Any = UNBIASED_UNSET,
    keepdim: bool = False,
    correction: Any = None,
) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), as PyTorch."""
    if type(keepdim) is not bool or (
        unbiased is not UNBIASED_UNSET and type(unbiased) is not bool  # None too, as PyTorch
    ):
        refuse_moment_types("var", input, dim, unbiased, keepdim, correction)
    if unbiased is UNBIASED_UNSET:
        unbiased = None
    return moment("var", input, dim, unbiased, keepdim, correction)


def moment(
    op: str,
    input: Any,
    dim: Any = None,
    unbiased: Any = None,
    keepdim: bool = False,
    correction: Any = None,
    root: bool = False,
) -> Tensor:
    """``var`` (``root``: ``std``, its square root) with the errors naming ``op``: the body
    shared by ``var``, ``std`` and ``var_mean``/``std_mean``'s composed path."""
    input = as_tensor(input)
    if isinstance(dim, bool) and unbiased is None:  # PyTorch's var(input, unbiased) overload
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:  # two overloads in PyTorch, not one
        raise TypeError(
            f"{op}() received an invalid combination of arguments - got both "
            f"unbiased={unbiased!r} and correction={correction!r}; pass one of them "
            "(unbiased=True is correction=1, unbiased=False is correction=0)"
        )
    # grad_fn._saved_correction as PyTorch's: as given (unbiased as 1 / 0), else 1 where a
    # dim was given (None where neither was: PyTorch's overload without them)
    shown = correction if correction is not None else None if unbiased is None else int(unbiased)
    if shown is None and dim is not None:
        shown = 1
    if correction is None:
        correction = 1 if unbiased is None or unbiased is True else 0
    kind = input.dtype.kind
    if kind not in "fc" and not is_bfloat16(input.dtype):  # PyTorch's words, before the dim
        raise DtypeError(
            "std and var only support floating point and complex dtypes\n"
            f"({op}: got {input.dtype}; call .float() first)"
        )
    axes = reduction_axes(dim, input, op)
    if kind == "c":  # real: E|z - E z|^2 = var(Re z) + var(Im z), as PyTorch
        v = moment(op, real(input), dim, None, keepdim, correction) + moment(
            op, imag(input), dim, None, keepdim, correction
        )
        return SafeSqrt.apply(v) if root else v
    dof = max(_count(input.shape, axes) - correction, 0)
    # 0/0 -> NaN, as PyTorch, which warns naming the op (NumPy's names none); and, as it,
    # for any empty input (its reduction factor, numel in / numel out, is then 0)
    if dof == 0 or 0 in input.shape:
        warnings.warn(
            f"{op}(): degrees of freedom is <= 0. Correction should be strictly less than "
            "the reduction factor (input numel divided by output numel).",
            UserWarning,
            stacklevel=4,
        )
    # one node, VarBackward0 / StdBackward0 as PyTorch (fused_statistics.py)
    # (float16 and bfloat16 accumulate in float32 there, rounded once)
    out = (Std if root else Var).apply(input, axes, keepdim, dof)
    return given(out, dim=dim, correction=shown)  # grad_fn._saved_dim / _correction


class SafeSqrt(Function):
    """sqrt(v) whose gradient is defined as 0 where v = 0 (PyTorch's std/norm convention).

    d sqrt(v)/dv = 1 / (2 sqrt(v)) is infinite at v = 0; std of a constant input has
    dv/dx = 0 there, and inf * 0 would make the whole gradient NaN. PyTorch masks the
    singular points to 0, which is the limit along every direction that keeps v = 0.
    """

    raw = True

    @staticmethod
    def forward(ctx, v):
        y = get_array_module(v).sqrt(v)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        zero = Tensor._make(y._data == 0, False, None, 0)
        return where(zero, 0.0, grad / (2.0 * where(zero, 1.0, y)))

    @staticmethod
    def jvp(ctx, t):
        xp = get_array_module(ctx.out)
        y = ctx.out
        return xp.where(y == 0, 0, t / (2 * xp.where(y == 0, 1, y)))


@tensor_method(keywords=True)
def std(
    input: Any,
    dim: Any = None,
    unbiased: Any = UNBIASED_UNSET,
    keepdim: bool = False,
    correction: Any = None,
) -> Tensor:
    """Standard deviation sqrt(var); its gradient at a constant input is 0 (as PyTorch)."""
    if type(keepdim) is not bool or (
        unbiased is not UNBIASED_UNSET and type(unbiased) is not bool  # None too, as PyTorch
    ):
        refuse_moment_types("std", input, dim, unbiased, keepdim, correction)
    if unbiased is UNBIASED_UNSET:
        unbiased = None
    return moment("std", input, dim, unbiased, keepdim, correction, root=True)


@tensor_method(keywords=True)
def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m = max(x): never overflows.

    ``dim`` is required, as in PyTorch (``dim=None`` is a TypeError there too)."""
    if dim is None:
        raise dim_type_error(dim) or TypeError(
            "logsumexp(): argument 'dim' must be tuple of ints, not NoneType"
        )
    if type(keepdim) is not bool:
        parser_bool("logsumexp", "keepdim", 3, keepdim)
    input = as_tensor(input)
    axes = reduction_axes(dim, input, "logsumexp")
    if input._data.dtype.kind in "biu":  # integers and bool in the default float (PyTorch);
        input = cast(input, get_default_dtype())  # x - max(x) in uint8 would wrap around
    # one node, LogsumexpBackward0 as PyTorch (fused_statistics): float16 and bfloat16 (V)
    # accumulate in float32 there and round once
    if input.dtype.kind in "fV":
        return given(Logsumexp.apply(input, axes, keepdim), dim=dim)  # _saved_dim as given
    # integer (computed in floats) and complex inputs: composed
    xp = get_array_module(input._data)
    if input._data.size == 0:  # sum over nothing is 0, so the result is log(0) = -inf
        m = xp.zeros(keepdim_shape(input.shape, axes), input._data.dtype)
    else:
        m = input._data.max(axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
    mt = Tensor._make(m, False, None, 0)
    if input._data.size == 0:  # log of an empty sum: -inf, still linked to the graph
        out = sum(input, axes, keepdim=True) + float("-inf")
    else:
        out = sum((input - mt).exp(), axes, keepdim=True).log() + mt
    if not keepdim:
        out = reshape(
            out, tuple(s for i, s in enumerate(out.shape) if not (axes is None or i in axes))
        )
    return out
