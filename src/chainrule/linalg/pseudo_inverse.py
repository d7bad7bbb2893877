"""The Moore-Penrose pseudo-inverse ``linalg.pinv`` and the rank cutoff it shares with
``matrix_rank`` and ``lstsq``.

    X = A^+ = V diag(1/s) U^H   (singular values at or below max(atol, rtol s_max) dropped;
                                 hermitian=True: V diag(1/w) V^H from eigh, |w| for s)

Its derivative (Golub & Pereyra 1973), valid where the rank does not change, in PyTorch's
convention for real or complex ``A`` (``^H``: the transpose for real matrices):

    dX = -X dA X + X X^H dA^H (I - A X) + (I - X A) dA^H X^H X
    gA = -X^H G X^H + (I - A X) G^H X X^H + X^H X G^H (I - X A)

A rank-deficient ``A`` thus gets PyTorch's finite gradient, where differentiating through
the SVD would meet 0/0 (complex singular vectors of a zero singular value). With
``hermitian=True`` only the lower triangle is read for ``X`` while the rule uses ``A`` as
given, as PyTorch does: both agree with the true derivative for a Hermitian ``A``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.lower_precision import autocast_lower_precision
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import MetaArray
from ..ops.linalg_out import with_out
from ._common import LinAlgError, check_float, check_square, mH
from ._overload_checks import UNSET, refuse_tolerance_forms

__all__ = ["Pinv", "cutoff", "finite_for_svd", "pinv"]


def cutoff(s: Any, shape: tuple, atol: Any, rtol: Any) -> Any:
    """max(atol, rtol * largest singular value) per matrix (``s``: an array of singular
    values; PyTorch's default rtol: eps * max(m, n) when neither tolerance is given)."""
    s = getattr(s, "_data", s)
    xp = get_array_module(s)
    smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,))
    if atol is None and rtol is None:
        rtol = np.finfo(s.dtype).eps * max(shape[-2:])
    # tensor tolerances broadcast against the batch dims: one per matrix, as in PyTorch
    a = 0.0 if atol is None else xp.asarray(getattr(atol, "_data", atol))[..., None]
    r = 0.0 if rtol is None else xp.asarray(getattr(rtol, "_data", rtol))[..., None]
    return xp.maximum(a, r * smax)


def finite_for_svd(a: Any, op: str) -> None:
    """Raise PyTorch's LinAlgError for a matrix holding NaN or inf before a full SVD: LAPACK
    fails on NaN (NumPy's own LinAlgError, no RuntimeError) and its gesdd never returns on
    inf (the process hangs). One pass, small next to the SVD."""
    # (a meta matrix has no values: its check's answer is no answer, as PyTorch's meta skips it)
    if not bool(get_array_module(a).isfinite(a).all()) and type(a) is not MetaArray:
        raise LinAlgError(
            f"{op}: The algorithm failed to converge because the input matrix contained "
            "non-finite values."
        )


def _inverted(values: Any, size: Any, shape: tuple, atol: Any, rtol: Any) -> Any:
    """1 / values where ``size`` is above the cutoff, 0 elsewhere."""
    xp = get_array_module(values)
    keep = size > cutoff(size, shape, atol, rtol)
    return xp.where(keep, 1.0 / xp.where(keep, values, 1.0), 0.0)


def _ht(x: Any) -> Any:
    """Conjugate transpose of the last two dims of an array."""
    xp = get_array_module(x)
    t = xp.swapaxes(x, -1, -2)
    return xp.conj(t) if t.dtype.kind == "c" else t


class Pinv(Function):
    """``X = A^+`` with the rule of the module docstring (written with differentiable ops:
    double backward works)."""

    raw = True
    node_name = "LinalgPinvBackward0"  # PyTorch's name for the node
    complex_grad = True  # the rule is written in PyTorch's conjugate convention

    @staticmethod
    def forward(ctx, a, *, hermitian, atol, rtol):
        xp = get_array_module(a)
        if hermitian:
            w, v = xp.linalg.eigh(a, UPLO="L")
            winv = _inverted(w, xp.abs(w), a.shape, atol, rtol).astype(a.dtype)
            x = (v * winv[..., None, :]) @ _ht(v)
        else:
            finite_for_svd(a, "linalg.pinv")
            u, s, vh = xp.linalg.svd(a, full_matrices=False)
            sinv = _inverted(s, s, a.shape, atol, rtol).astype(a.dtype)
            x = (_ht(vh) * sinv[..., None, :]) @ _ht(u)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        xh, gh = mH(x), mH(g)
        ga = -(xh @ g @ xh)
        ga = ga + (gh - a @ (x @ gh)) @ (x @ xh)  # (I - A X) G^H X X^H
        return ga + (xh @ x) @ (gh - (gh @ x) @ a)  # X^H X G^H (I - X A)

    @staticmethod
    def jvp(ctx, t):
        a, x = ctx.primals[0], ctx.out
        xh, th = _ht(x), _ht(t)
        out = -(x @ t @ x)
        out = out + (x @ xh) @ (th - (th @ a) @ x)  # X X^H dA^H (I - A X)
        return out + (th - x @ (a @ th)) @ (xh @ x)  # (I - X A) dA^H X^H X


@with_out("linalg.pinv", "castable")
def pinv(
    A: Tensor,
    rcond: Any = UNSET,
    hermitian: bool = False,
    *,
    atol: Any = None,
    rtol: Any = None,
) -> Tensor:
    """The Moore-Penrose pseudo-inverse of real or complex ``A`` (..., m, n) from the SVD,
    dropping singular values at or below ``max(atol, rtol * s_max)``. ``hermitian=True``:
    from ``eigh`` of the Hermitian matrix that ``A``'s lower triangle stands for (square
    ``A``; ``|w|`` in place of the singular values), as PyTorch. ``rcond`` is PyTorch's
    older overload (``pinv(A, rcond, hermitian)``): ``rtol`` under its old name, not to be
    combined with ``atol``/``rtol``."""
    op = "linalg.pinv"
    if rcond is not UNSET or type(hermitian) is not bool or atol is not None or rtol is not None:
        refuse_tolerance_forms("pinv", A, "rcond", rcond, hermitian, atol, rtol)
    if rcond is not UNSET:
        if atol is not None or rtol is not None:
            raise TypeError(
                "linalg_pinv() received an invalid combination of arguments: rcond cannot be "
                "combined with atol or rtol"
            )
        rtol = rcond
    a = check_float(A, op, True)
    if hermitian:  # PyTorch's pinv goes through eigh: its square check (and name)
        a = check_square(a, "linalg.eigh", complex_ok=True)
    out = Pinv.apply(a, hermitian=bool(hermitian), atol=atol, rtol=rtol)
    # PyTorch composes pinv from a decomposition and a matmul that CPU autocast casts: the
    # result comes back in the autocast dtype (computed here in float32, rounded once)
    return autocast_lower_precision(out)[0]
