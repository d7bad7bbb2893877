"""LAPACK's compact Householder QR at torch's top level: ``geqrf``, ``orgqr``, ``ormqr``.

``geqrf(A)`` returns ``(a, tau)``: R on and above ``a``'s diagonal, and below it the
Householder vectors ``v_i`` (with an implicit 1 on the diagonal) of the reflectors
``H_i = I - tau_i v_i v_i^T`` whose product is ``Q = H_1 H_2 ... H_k``, ``k = min(m, n)``.
It is computed here in NumPy as LAPACK's ``dgeqr2`` does (``dlarfg``'s sign convention: the
diagonal of R gets the sign opposite to the column's leading entry, ``-0.0`` counting as
positive, and ``tau_i = 0`` when the column below the diagonal is already zero; complex
input as ``zgeqr2``/``zlarfg``, with a real diagonal and ``H_i = I - tau_i v_i v_i^H``), so
its values are torch's (LAPACK's) up to rounding. SciPy is not a runtime dependency of
chainrule, hence no call into ``scipy.linalg.lapack``. As in torch, ``geqrf`` has no
derivative: its outputs take part in autograd, and backward through them raises.

``orgqr`` is ``linalg.householder_product`` (Q's first n columns); ``ormqr`` multiplies by
Q (or Q^T) from the left or right without forming Q, one rank-1 update per reflector, so
its gradient (with respect to the reflectors, tau and the other matrix) comes from matmul.

torch's callable parameter names are ``orgqr(input, input2)`` and ``ormqr(input, input2,
input3, left, transpose)`` (its docs call them ``tau`` and ``other``); chainrule takes the
names torch accepts as keywords.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from ..autograd.function import Function
from ..autograd.lower_precision import autocast_float32_op
from ..autograd.tensor import Tensor
from ..backend import errstate, get_array_module
from ..linalg._common import tensor_arg
from ..linalg.extras import householder_product
from ..meta.array import follow
from ..meta.results import refuse_meta
from ._util import NAMED_ERRORS, DtypeError, as_tensor, lead_with, no_dims_error
from .binding import tensor_method
from .keywords import write_out

__all__ = ["geqrf", "orgqr", "ormqr"]


def _householder_qr(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LAPACK's unblocked ``geqr2`` on a batch of real or complex matrices, in ``a``'s dtype.

    Complex columns follow ``zlarfg``: beta is real, ``-sign(Re alpha) * |(alpha, x)|``,
    ``tau = (beta - alpha) / beta``, and a column is reflected unless ``x`` is zero *and*
    alpha is real; the trailing columns get ``H^H = I - conj(tau) v v^H``."""
    xp = get_array_module(a)  # NumPy or CuPy: the same steps on either
    a = xp.array(a, copy=True)
    m, n = a.shape[-2], a.shape[-1]
    k = min(m, n)
    tau = xp.zeros(a.shape[:-2] + (k,), dtype=a.dtype)
    for i in range(k):
        alpha = a[..., i, i].copy()
        x = a[..., i + 1 :, i]
        xnorm = xp.linalg.norm(x, axis=-1)
        reflect = (xnorm != 0) | (alpha.imag != 0)  # larfg: tau = 0 (H = I) otherwise
        sign = xp.where(alpha.real >= 0, 1.0, -1.0)
        beta = (-sign * xp.hypot(xp.abs(alpha), xnorm)).astype(a.dtype)
        with errstate(xp, divide="ignore", invalid="ignore"):
            t = xp.where(reflect, (beta - alpha) / beta, 0.0)
            scale = xp.where(reflect, 1.0 / (alpha - beta), 1.0)
        a[..., i + 1 :, i] = x * scale[..., None].astype(a.dtype)
        a[..., i, i] = xp.where(reflect, beta, alpha)
        tau[..., i] = t
        if i + 1 < n:  # apply H_i^H to the trailing columns: C - conj(tau) v (v^H C)
            v = xp.concatenate([xp.ones(a.shape[:-2] + (1,), a.dtype), a[..., i + 1 :, i]], -1)
            c = a[..., i:, i + 1 :]
            w = xp.einsum("...r,...rc->...c", v.conj(), c)
            t_h = tau[..., i, None, None].conj()
            with errstate(xp, over="ignore", invalid="ignore"):  # inf/NaN input: as LAPACK,
                a[..., i:, i + 1 :] = c - t_h * v[..., :, None] * w[..., None, :]  # silent
    return a, tau


_LAPACK_DTYPES = tuple(np.dtype(d) for d in (np.float32, np.float64, np.complex64, np.complex128))


def lapack_float(x: Any, op: str, complex_ok: bool = False) -> Tensor:
    """A float32 or float64 tensor (the dtypes LAPACK, and torch's kernels here, support);
    also complex64/complex128 with ``complex_ok`` (``geqrf``; ``ormqr`` and the low-rank
    routines are real-only here and raise NotImplementedError for complex)."""
    t = tensor_arg(x, op, complex_ok)
    if t.dtype not in _LAPACK_DTYPES:
        raise DtypeError(
            f"{op}: not implemented for {t.dtype}; use float32, float64, complex64 or complex128"
        )
    return t


GeqrfResult = return_types.geqrf  # torch.return_types.geqrf


class Geqrf(Function):
    """``(a, tau)`` of LAPACK's geqrf; no derivative, as in torch."""

    raw = True

    @staticmethod
    def forward(ctx, a):
        return _householder_qr(a)

    @staticmethod
    def backward(ctx, ga, gtau):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")

    @staticmethod
    def jvp(ctx, ta):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


@tensor_method
@autocast_float32_op
def geqrf(input: Tensor, *, out: Any = None) -> GeqrfResult:  # noqa: A002 - torch's name
    """QR of ``input`` (``(*, m, n)``) in LAPACK's compact form ``(a, tau)``: R in ``a``'s upper
    triangle, the Householder vectors below its diagonal and their scalars in ``tau``
    (``(*, min(m, n))``). Use ``orgqr`` for Q and ``ormqr`` to multiply by it. Not
    differentiable (backward raises ``NotImplementedError``, as torch's)."""
    refuse_meta("geqrf", input)  # (no meta kernel in PyTorch)
    a = lapack_float(input, "torch.geqrf", complex_ok=True)
    if a.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    result = GeqrfResult(*Geqrf.apply(a))
    return result if out is None else GeqrfResult(*write_out("geqrf", tuple(result), out))


@tensor_method
@autocast_float32_op
def orgqr(input: Tensor, input2: Tensor, *, out: Any = None) -> Tensor:  # noqa: A002
    """The first ``n`` columns of ``Q = H_1 ... H_k`` from geqrf's ``(input, tau)``: torch's
    alias of ``linalg.householder_product`` (``input2`` is ``tau``)."""
    try:
        result = householder_product(input, input2)
    except NAMED_ERRORS as err:
        lead_with("orgqr", err)
        raise
    return result if out is None else write_out("orgqr", result, out)


def _check_ormqr(a: Tensor, tau: Tensor, c: Tensor, left: bool) -> None:
    """torch's checks, in torch's order and words."""
    op = "torch.ormqr"
    if a.ndim < 2:
        raise RuntimeError(f"{op}: input must have at least 2 dimensions.")
    if c.ndim < 2:
        raise RuntimeError(f"{op}: other must have at least 2 dimensions.")
    cond = -2 if left else -1
    if c.shape[cond] != a.shape[-2]:
        raise RuntimeError(f"{op}: other.shape[{cond}] must be equal to input.shape[-2]")
    if tau.ndim == 0:
        raise no_dims_error(-1)  # (tau's last dim)
    if tau.shape[-1] != min(c.shape[cond], a.shape[-1]):
        raise RuntimeError(
            f"{op}: tau.shape[-1] must be equal to min(other.shape[{cond}], input.shape[-1])"
        )
    if a.ndim - tau.ndim != 1:
        raise RuntimeError(
            f"{op}: Expected tau to have one dimension less than input, but got tau.ndim "
            f"equal to {tau.ndim} and input.ndim is equal to {a.ndim}"
        )
    if a.ndim != c.ndim:
        raise RuntimeError(
            f"{op}: Expected other to have the same number of dimensions as input, but got "
            f"other.ndim equal to {c.ndim} and input.ndim is equal to {a.ndim}"
        )
    batch = tuple(a.shape[:-2])
    if tuple(tau.shape[:-1]) != batch:
        raise RuntimeError(
            f"{op}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
            f"{list(tau.shape[:-1])}"
        )
    if tuple(c.shape[:-2]) != batch:
        raise RuntimeError(
            f"{op}: Expected batch dimensions of other to be equal to input.shape[:-2], but "
            f"got {list(c.shape[:-2])}"
        )
    for name, t in (("tau", tau), ("other", c)):
        if t.dtype != a.dtype:
            raise RuntimeError(
                f"{op}: Expected input and {name} to have the same dtype, but input has dtype "
                f"{a.dtype} and {name} has dtype {t.dtype}"
            )


@tensor_method
@autocast_float32_op
def ormqr(
    input: Tensor,  # noqa: A002 - torch's names
    input2: Tensor,
    input3: Tensor,
    left: bool = True,
    transpose: bool = False,
    *,
    out: Any = None,
) -> Tensor:
    """``op(Q) C`` (``left=True``) or ``C op(Q)`` for ``C`` = ``input3`` and
    ``Q = H_1 ... H_k`` given by geqrf's reflectors ``(input, input2 = tau)``, ``op`` the
    transpose when ``transpose`` is set. Q (m x m, or n x n for ``left=False``) is never
    formed: each reflector is one rank-1 update, ``C - tau_i v_i (v_i^T C)``, applied in the
    order the product needs; the gradient with respect to all three tensors comes from them.
    """
    for name, flag in (("left", left), ("transpose", transpose)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"ormqr(): argument '{name}' must be bool, not {type(flag).__name__}")
    a, tau, c = as_tensor(input), as_tensor(input2), as_tensor(input3)
    _check_ormqr(a, tau, c, left)
    a, tau, c = (lapack_float(t, "torch.ormqr") for t in (a, tau, c))
    mn, r = a.shape[-2], tau.shape[-1]
    eye = get_array_module(a._data).eye(mn, r, dtype=a._data.dtype)
    eye = Tensor._make(follow(eye, a._data), False, None, 0)  # (meta a: a meta identity)
    v = a[..., :, :r].tril(-1) + eye  # the reflectors' vectors, unit lower trapezoid
    # Q = H_1 ... H_r: Q C applies H_r first; Q^T C = H_r ... H_1 C applies H_1 first;
    # C Q applies H_1 first; C Q^T applies H_r first
    order = range(r - 1, -1, -1) if left != transpose else range(r)
    result = c
    for i in order:
        vi = v[..., :, i : i + 1]
        ti = tau[..., i : i + 1].unsqueeze(-1)
        if left:
            result = result - (ti * vi) @ (vi.transpose(-2, -1) @ result)
        else:
            result = result - ((result @ vi) * ti) @ vi.transpose(-2, -1)
    if r == 0:
        result = result.clone()
    return result if out is None else write_out("ormqr", result, out)
