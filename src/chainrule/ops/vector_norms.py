"""Vector norms as fused ops with PyTorch's gradient conventions at the singular points.

``Norm2`` (p = 2), ``PNorm`` (other p > 0) and ``NormZero`` (the count of non-zeros) back
:func:`chainrule.ops.reduction.norm`. Their gradients are 0 where the textbook formula is
0/0 or inf * 0 (a zero vector, or a zero entry when p < 1), exactly as PyTorch defines
them, so ``x.norm()`` at ``x = 0`` never yields NaN. Half-precision inputs accumulate in
float32, as PyTorch does, so ``||[300, 300]||`` does not overflow float16.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import given_dim, given_value  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._result_layout import reduced_layout
from ._ufunc_reduce import add_reduce
from ._util import wide
from .binary import where
from .extremes import _extreme_mask, _tie_shares
from .shape import reshape

__all__ = [
    "Norm1",
    "Norm2",
    "NormInf",
    "NormNegInf",
    "NormZero",
    "PNorm",
    "keepdim_shape",
    "vector_norm_fields",
]


def _shown_dims(node: Any) -> tuple | None:
    v = given_dim(node)  # as given: one dim as a 1-tuple, -1 as 2**64 - 1; None if none
    return v if v is None or type(v) is tuple else (v,)


def vector_norm_fields(keepdim: Any) -> dict:
    """``grad_fn._saved_*`` of PyTorch's ``LinalgVectorNormBackward0`` (saved_fields.py):
    ``dim`` and ``ord`` as the wrapper kept them (``saved_fields.given``), ``keepdim`` read by
    ``keepdim(node)``, the input (saved value 0)."""
    return {
        "dim": _shown_dims,
        "keepdim": keepdim,
        "ord": lambda n: given_value(n, "ord", 2),
        "self": 0,
    }


def keepdim_shape(in_shape: tuple, axes: tuple | None) -> tuple:
    if axes is None:
        return (1,) * len(in_shape)
    return tuple(1 if i in axes else s for i, s in enumerate(in_shape))


class Norm2(Function):
    """Euclidean norm sqrt(sum x^2); gradient x / ||x||, defined as 0 at x = 0 (as PyTorch);
    its second derivative NaN there (PyTorch's masked division differentiated)."""

    raw = True
    node_name = "LinalgVectorNormBackward0"  # PyTorch's name for the node
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)
    saved_fields = {**vector_norm_fields(lambda n: n.keepdim), "result": 1}

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        xp = get_array_module(x)
        xa = wide(x)  # accumulate halves and bfloat16 in float32
        yk = xp.sqrt(add_reduce(xa * xa, axis=axes, keepdims=True)).astype(x.dtype, copy=False)
        yk = xp.asarray(yk, order="C")  # C order whatever x's, as PyTorch's
        y = (
            yk
            if keepdim
            else yk.reshape([s for i, s in enumerate(yk.shape) if not (axes is None or i in axes)])
        )
        # Save the *output* (not the keepdim temporary) so double backward sees y(x).
        ctx.save_for_backward(x, y)
        ctx.axes, ctx.keepdim, ctx.kshape = axes, keepdim, yk.shape
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if x.dtype.char in "eE" and not ctx.create_graph:  # halves: float32, rounded once
            xp = get_array_module(x._data)
            yk = wide(y._data).reshape(ctx.kshape)
            g = wide(grad._data).reshape(ctx.kshape)
            coeff = xp.where(yk == 0, 0, g / xp.where(yk == 0, 1, yk))  # the reduced shape
            gx = xp.asarray(coeff * wide(x._data), x.dtype)
            return Tensor._make(gx, False, None, 0), None, None
        yk = reshape(y, ctx.kshape)
        zero = Tensor._make(yk._data == 0, False, None, 0)
        g = reshape(grad, ctx.kshape)
        if ctx.create_graph:
            # PyTorch's norm_backward op for op, grad * (x / ||x||).masked_fill_(||x|| == 0, 0),
            # so that the second derivative at a zero norm is torch's NaN (the masked 0
            # divided by ||x|| = 0 in the division's backward), not 0
            return g * where(zero, 0.0, x / yk), None, None
        safe = where(zero, 1.0, yk)  # first order: the reduced-size division, cheaper
        return where(zero, 0.0, g / safe) * x, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        xp = get_array_module(x)
        yk = ctx.out.reshape(ctx.kshape)
        low = x.dtype if x.dtype.kind == "V" else None  # bfloat16: in float32, rounded once
        if low is not None:
            yk, x, t = wide(yk), wide(x), wide(t)
        # torch's norm_jvp: sum(x t) / ||x||, masked to 0 where ||x|| = 0 after the sum (a
        # NaN or inf tangent at a zero x then gives 0 there, not NaN; core seed 1001)
        dot = (x * t).sum(axis=ctx.axes, keepdims=True)
        out = xp.where(yk == 0, 0, dot / xp.where(yk == 0, 1, yk))
        out = out if ctx.keepdim else out.reshape(ctx.out.shape)
        return out if low is None else xp.asarray(out, low)


class NormZero(Function):
    """The "0-norm": the number of non-zero entries. Piecewise constant: it stays in the
    graph (``LinalgVectorNormBackward0``, its result requires grad) but its backward gives
    the input no gradient at all (``x.grad`` stays None, as PyTorch's), and its tangent is 0.
    """

    raw = True
    node_name = "LinalgVectorNormBackward0"  # PyTorch's name for the node

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        y = (x != 0).sum(axis=axes, keepdims=keepdim).astype(x.dtype)
        return reduced_layout(y) if not x.flags.c_contiguous else y  # (row-major: PyTorch's)

    @staticmethod
    def backward(ctx, grad):
        return None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return get_array_module(t).zeros(ctx.out.shape, ctx.out.dtype)


class PNorm(Function):
    """(sum |x|^p)^(1/p) for p other than 0 and 2 (negative too), with PyTorch's gradient
    convention (a negative p's norm is 0 where an entry is 0, its gradient 0 there).

    d/dx = sgn(x) |x|^(p-1) / ||x||^(p-1). Where the norm is 0 (and, for p < 1, where x = 0)
    the formula is 0/0 or inf * 0; PyTorch defines the gradient as 0 there (for p < 1 at a
    zero entry; a zero norm's g * 0^(1-p) is NaN where g is inf), and so do we. The
    backward is PyTorch's formula op for op, so the second derivative (NaN at zeros) too.
    """

    raw = True
    node_name = "LinalgVectorNormBackward0"  # PyTorch's name for the node
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        **vector_norm_fields(lambda n: n.keepdim),
        "ord": lambda n: given_value(n, "ord", n.p),
        "result": 1,
    }

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        xp = get_array_module(x)
        xa = x.astype(np.float32) if x.dtype == np.float16 else x  # accumulate halves in fp32
        yk = (add_reduce(xp.abs(xa) ** p, axis=axes, keepdims=True) ** (1.0 / p)).astype(
            x.dtype, copy=False
        )
        if not x.flags.c_contiguous:  # NumPy's is in x's order; PyTorch's row-major
            yk = reduced_layout(yk)
        y = (
            yk
            if keepdim
            else yk.reshape([s for i, s in enumerate(yk.shape) if not (axes is None or i in axes)])
        )
        ctx.save_for_backward(x, y)
        ctx.p, ctx.axes, ctx.keepdim, ctx.kshape = p, axes, keepdim, yk.shape
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        p = ctx.p
        yk = reshape(y, ctx.kshape)
        g = reshape(grad, ctx.kshape)
        # PyTorch's norm_backward term for term, unmasked where it is unmasked: its second
        # derivative is NaN at a zero entry (|x|^(p-1) or ^(p-2) differentiated there: inf,
        # times a masked 0 or sgn(0)) and, for p > 1, everywhere in a zero norm's slice
        if p < 1.0:  # sgn(x) |x|^(p-1) (0 at x = 0) * g * ||x||^(1 - p)
            xzero = Tensor._make(x._data == 0, False, None, 0)
            scaled = x.sgn() * where(xzero, 0.0, x.abs() ** (p - 1.0))
            return scaled * g * yk ** (1.0 - p), None, None, None
        yzero = Tensor._make(yk._data == 0, False, None, 0)
        scaled = x.sgn() * x.abs() ** (p - 1.0) if p < 2.0 else x * x.abs() ** (p - 2.0)
        return scaled * where(yzero, 0.0, g / yk ** (p - 1.0)), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        xp = get_array_module(t)
        x, p = ctx.primals[0], ctx.p
        yk = ctx.out.reshape(ctx.kshape)
        ax = xp.where(x == 0, 1, xp.abs(x))
        scaled = xp.where(x == 0, 0, xp.sign(x) * ax ** (p - 1.0))
        num = (scaled * t).sum(axis=ctx.axes, keepdims=True)
        if p < 1.0:
            # torch's norm_jvp for p < 1: num * ||x||^(1 - p), unmasked, so a zero norm
            # with a non-finite tangent at a zero entry (0 * inf) gives NaN, not 0
            out = num * yk ** (1.0 - p)
        else:
            out = xp.where(yk == 0, 0, num / xp.where(yk == 0, 1, yk) ** (p - 1.0))
        return out if ctx.keepdim else out.reshape(ctx.out.shape)


def _sign(xp: Any, x: Any) -> Any:
    """``torch.sgn`` of a real array: 0 (not NumPy's NaN) at NaN, so a NaN element gives
    the 1 / inf norms' tangents nothing (torch's ``norm_jvp``; core seed 984)."""
    s = xp.sign(x)
    return xp.where(s != s, 0, s) if x.dtype.kind in "fV" else s


def _reduced_output(yk: Any, axes: Any, keepdim: bool, x: Any) -> Any:
    if keepdim:  # (of an x not row-major: the kept dims' strides row-major, as PyTorch's)
        return yk if x.flags.c_contiguous else reduced_layout(yk)
    return yk.reshape([s for i, s in enumerate(yk.shape) if not (axes is None or i in axes)])


class Norm1(Norm2):
    """sum |x| as PyTorch's one ``LinalgVectorNormBackward0`` (ord 1, not abs then sum):
    the gradient ``sgn(x) * grad``, the tangent ``sum(sgn(x) * t)``."""

    native_bfloat16 = False  # computed in float32 around the node (lower_precision)

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        xp = get_array_module(x)
        yk = add_reduce(xp.abs(wide(x)), axis=axes, keepdims=True).astype(x.dtype, copy=False)
        y = _reduced_output(xp.asarray(yk, order="C"), axes, keepdim, x)
        ctx.save_for_backward(x, y)
        ctx.axes, ctx.keepdim, ctx.kshape = axes, keepdim, yk.shape
        return y

    @staticmethod
    def backward(ctx, grad):
        x, _ = ctx.saved_tensors
        return x.sign() * reshape(grad, ctx.kshape), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        xp = get_array_module(x)
        return (_sign(xp, x) * t).sum(axis=ctx.axes, keepdims=ctx.keepdim).astype(t.dtype)


class NormInf(Norm2):
    """max |x| as PyTorch's one ``LinalgVectorNormBackward0`` (ord inf; not abs then amax):
    the gradient ``sgn(x) * grad`` shared evenly among the tied extremes (a NaN takes it),
    the tangent ``sum(sgn(x) * t * share)``, a NaN or inf tangent in the slice spreading."""

    native_bfloat16 = False
    mode = "max"

    @classmethod
    def forward(cls, ctx, x, axes, keepdim):
        xp = get_array_module(x)
        a = xp.abs(x)
        yk = (
            a.max(axis=axes, keepdims=True)
            if cls.mode == "max"
            else a.min(axis=axes, keepdims=True)
        )
        y = _reduced_output(xp.asarray(yk, order="C"), axes, keepdim, x)
        ctx.save_for_backward(x, y)
        ctx.axes, ctx.keepdim, ctx.kshape = axes, keepdim, yk.shape
        return y

    @staticmethod
    def _shares(ctx, x: Any, y: Any, dtype: Any) -> Any:
        xp = get_array_module(x)
        return _tie_shares(_extreme_mask(xp.abs(x), y.reshape(ctx.kshape)), ctx.axes, dtype)

    @classmethod
    def backward(cls, ctx, grad):
        x, y = ctx.saved_tensors
        w = Tensor._make(cls._shares(ctx, x._data, y._data, grad.dtype), False, None, 0)
        return x.sign() * (reshape(grad, ctx.kshape) * w), None, None

    @classmethod
    def jvp(cls, ctx, t, *_):
        x = ctx.primals[0]
        xp = get_array_module(x)
        w = cls._shares(ctx, x, ctx.out, t.dtype)
        return (_sign(xp, x) * t * w).sum(axis=ctx.axes, keepdims=ctx.keepdim).astype(t.dtype)


class NormNegInf(NormInf):
    """min |x| (ord -inf), as :class:`NormInf`."""

    mode = "min"
