"""``linalg.lstsq``'s solution as one node, PyTorch's ``LinalgLstsqBackward0``.

The values are the LAPACK driver's (``norms.lstsq`` computes them and hands them in); the
derivative is PyTorch's, that of ``X = pinv(A) B`` whatever the driver and ``rcond``
(pseudo_inverse.py has the pseudo-inverse's rule), with ``P = pinv(A)``::

    gB = P^H G
    gA = pinv's rule for the cotangent G B^H
    dX = dP B + P dB

The node lists ``A`` and ``B`` (a 1-d ``B`` as given) and saves ``self`` / ``b`` /
``solution``, as PyTorch's; its backward is written with tensor ops (``Pinv`` for ``P``), so
double backward works.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..backend import get_array_module
from ._common import mH
from .pseudo_inverse import Pinv, _ht, _inverted

__all__ = ["LstsqSolution"]


def _pinv_raw(a: Any) -> Any:
    """``pinv(a)`` on an array, PyTorch's default cutoff (as ``Pinv``'s forward)."""
    xp = get_array_module(a)
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    sinv = _inverted(s, s, a.shape, None, None).astype(a.dtype)
    return (_ht(vh) * sinv[..., None, :]) @ _ht(u)


class LstsqSolution(Function):
    """``X`` given (the driver's values), differentiated as ``pinv(A) @ B``."""

    raw = True
    node_name = "LinalgLstsqBackward0"
    complex_grad = True  # the rule is written in PyTorch's conjugate convention
    saved_fields = {"b": 1, "self": 0, "solution": 2}

    @staticmethod
    def forward(ctx, a, b, *, solution):
        ctx.save_for_backward(a, b, solution)
        return solution

    @staticmethod
    def backward(ctx, g):
        a, b, _ = ctx.saved_tensors
        vector = b.ndim == a.ndim - 1
        if vector:
            b, g = b.unsqueeze(-1), g.unsqueeze(-1)
        p = Pinv.apply(a, hermitian=False, atol=None, rtol=None)
        gb = ga = None
        if ctx.needs_input_grad[1]:
            gb = mH(p) @ g
            gb = gb.squeeze(-1) if vector else gb
            if tuple(gb.shape) != tuple(b.shape[:-1] if vector else b.shape):
                gb = gb.sum_to_size(ctx.saved_tensors[1].shape)
        if ctx.needs_input_grad[0]:
            ph, gh = mH(p), b @ mH(g)  # gh: (G B^H)^H
            ga = -(ph @ mH(gh) @ ph)
            ga = ga + (gh - a @ (p @ gh)) @ (p @ ph)  # (I - A P) (G B^H)^H P P^H
            ga = ga + (ph @ p) @ (gh - (gh @ p) @ a)  # P^H P (G B^H)^H (I - P A)
            if tuple(ga.shape) != tuple(a.shape):
                ga = ga.sum_to_size(a.shape)
        return ga, gb

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.primals[:2]
        vector = b.ndim == a.ndim - 1
        if vector:
            b = b[..., None]
            tb = None if tb is None else tb[..., None]
        p = _pinv_raw(a)
        out = None
        if ta is not None:
            ph, th = _ht(p), _ht(ta)
            dp = -(p @ ta @ p)
            dp = dp + (p @ ph) @ (th - (th @ a) @ p)  # P P^H dA^H (I - A P)
            dp = dp + (th - p @ (a @ th)) @ (ph @ p)  # (I - P A) dA^H P^H P
            out = dp @ b
        if tb is not None:
            term = p @ tb
            out = term if out is None else out + term
        out = out[..., 0] if vector else out
        return get_array_module(out).broadcast_to(out, ctx.out.shape).astype(ctx.out.dtype)
