"""``MatMul``'s gradients in a backward run inside a CPU autocast block, as PyTorch's.

PyTorch's engine runs the backward in the caller's autocast state, so the ``mm``/``bmm`` of
``matmul``'s backward are cast to the autocast dtype (``amp/autocast_mode.py``). Which
products those are follows ``at::matmul``'s forward: a batched operand against a matrix is
folded into one ``mm`` (the matrix's gradient one product over every batch row, rounded
once), and so is a matrix against a batched operand (the transposed fold; PyTorch 2.13 folds
both whatever the operands' layouts and ``requires_grad``); other batched forms are a
``bmm`` per broadcast batch entry, whose rounded products the engine sums in the inputs'
dtype. The products run through ``MatMul.apply`` (a bfloat16 product computed in float32
and rounded once); each gradient is cast back to its input's dtype here, before the engine
undoes broadcasting, so that the sum is not rounded again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd.tensor import Tensor
from ..dtypes import promote_types
from ._first_order import autocast_products
from .shape import Permute, reshape, transpose

__all__ = [
    "autocast_matmul_grads",
    "autocast_product_operands",
    "autocast_trilinear_grads",
]


def autocast_matmul_grads(
    product: Callable, ctx: Any, grad: Tensor, a: Tensor | None, b: Tensor | None
) -> tuple:
    """``(dA, dB)`` of ``a @ b`` (both at least 2-d; ``grad``, ``a`` and ``b`` already cast by
    autocast, ``a`` None unless dB is wanted, ``b`` unless dA is), by ``product``
    (``MatMul.apply``), cast back to the inputs' dtypes (``ctx.input_meta``)."""
    needs = ctx.needs_input_grad
    ga = gb = None
    if needs[0]:
        dtype = ctx.input_meta[0][1]
        if grad.ndim == 2:
            ga = product(grad, _mT(b)).to(dtype)
        elif b.ndim == 2:  # batch @ matrix, folded: one mm, viewed back after the cast
            g2 = reshape(grad, (math.prod(grad.shape[:-1]), grad.shape[-1]))
            ga = reshape(product(g2, _mT(b)).to(dtype), ctx.input_meta[0][0])
        elif len(ctx.input_meta[0][0]) == 2:  # matrix @ batch, folded: one mm
            nd = grad.ndim  # (m, batch * n) @ (batch * n, k): G's rows beside Bᵀ's
            rows = Permute.apply(grad, (nd - 2, *range(nd - 2), nd - 1))
            g2 = reshape(rows, (grad.shape[-2], math.prod(grad.shape) // grad.shape[-2]))
            bt = reshape(_mT(b), (math.prod(b.shape[:-2]) * b.shape[-1], b.shape[-2]))
            ga = product(g2, bt).to(dtype)
        else:  # bmm per batch entry; the engine sums the broadcast ones
            ga = product(grad, _mT(b)).to(dtype)
    if needs[1]:
        if a.ndim > 2 and len(ctx.input_meta[1][0]) == 2:  # batch @ matrix, folded: one mm
            rows = math.prod(a.shape[:-1])
            a2 = reshape(a, (rows, a.shape[-1]))
            gb = product(transpose(a2, 0, 1), reshape(grad, (rows, grad.shape[-1])))
        else:
            gb = product(_mT(a), grad)
        gb = gb.to(ctx.input_meta[1][1])
    return ga, gb


def _mT(x: Tensor) -> Tensor:
    """Swap the last two dims (a view)."""
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return Permute.apply(x, tuple(axes))


def autocast_product_operands(ctx: Any, grad: Tensor, saved: tuple) -> tuple:
    """``(grad, saved, dtypes)`` for a rule whose PyTorch formula is a ``bmm`` of the
    gradient with the saved operands (``einsum``'s contraction of two operands): inside an
    enabled CPU autocast block the float32/float16 ones cast to the autocast dtype
    (``autocast_products``) and ``dtypes`` the inputs' dtypes (``ctx.input_meta``; None for
    one wanting no gradient), which each product is cast back to, as PyTorch's engine casts
    a gradient to its input's dtype; else the arguments as they are and ``dtypes`` None
    (nothing cast: a float64 graph, a block that is off)."""
    cast = autocast_products(grad, *saved)
    if all(c is t for c, t in zip(cast, (grad, *saved))):
        return grad, saved, None
    dtypes = tuple(None if meta is None else meta[1] for meta in ctx.input_meta)
    return cast[0], tuple(cast[1:]), dtypes  # (no meta: an input wanting no gradient)


def autocast_trilinear_grads(
    product: Callable, ctx: Any, grad: Tensor, a: Tensor, w: Tensor, c: Tensor
) -> tuple | None:
    """bilinear's ``(da, dw, dc)`` (``_trilinear``'s, ``y[n, k] = Σ_ij a[n, i] w[k, i, j]
    c[n, j]``) for a backward inside an enabled CPU autocast block, by ``product``
    (``matmul``); None when nothing is cast (float64, a block that is off).

    PyTorch's ``_trilinear_backward`` runs ``_trilinear`` again, unrolled over ``k``: per
    ``k`` a ``mul`` (not cast) and a ``bmm`` (cast, rounded once), each slice added into a
    zero result of the first operand's dtype one ``k`` at a time (``add_``, rounded to that
    dtype each step). So ``da = Σ_k bmm(g[:, k] w[k], c)`` and ``dc = Σ_k bmm(a, w[k])
    g[:, k]``, while ``dw[k] = bmm(a g[:, k], c)`` (no sum over ``k``)."""
    if autocast_product_operands(ctx, grad, ())[2] is None:
        return None
    needs = ctx.needs_input_grad
    dtypes = [None if meta is None else meta[1] for meta in ctx.input_meta]
    n, k = grad.shape
    ga = gw = gc = None
    if needs[0]:  # per k: (g[:, k] * w[k]) (n, i, j) cast, @ c (n, j, 1)
        gk = reshape(grad, (n, k, 1, 1)) * reshape(w, (1, *w.shape))  # (n, k, i, j)
        p, cc = autocast_products(gk, reshape(c, (n, 1, c.shape[1], 1)))
        ga = _sum_over_k(reshape(product(p, cc), (n, k, a.shape[1])), 1, grad.dtype)
        ga = ga.to(dtypes[0])
    if needs[1]:  # per k: (a * g[:, k]) (n, i) cast, bmm over n with c: (k, i, j)
        ag = reshape(transpose(grad, 0, 1), (k, n, 1)) * reshape(a, (1, n, a.shape[1]))
        p, cc = autocast_products(transpose(ag, 1, 2), c)  # (k, i, n), (n, j)
        gw = product(p, cc).to(a.dtype).to(dtypes[1])
    if needs[2]:  # per k: bmm(a, w[k]) cast (n, j), times g[:, k] (promoted, not cast)
        aa, ww = autocast_products(a, w)
        buf = product(reshape(aa, (1, n, a.shape[1])), ww)  # (k, n, j)
        terms = buf * reshape(transpose(grad, 0, 1), (k, n, 1))
        gc = _sum_over_k(terms, 0, a.dtype).to(dtypes[2])
    return ga, gw, gc


def _sum_over_k(terms: Tensor, dim: int, dtype: Any) -> Tensor:
    """``terms`` summed over ``dim`` one slice at a time into a zero result of ``dtype``
    (PyTorch's ``output.add_(buf)`` per unrolled ``k``: each step rounded to ``dtype``).

    Not recorded (no ``create_graph``) and with the step's promoted dtype a NumPy float, the
    same steps run on the arrays (:func:`_sum_over_k_arrays`, bit for bit); otherwise as
    Tensor ops, four per ``k``."""
    if not terms.requires_grad and type(terms) is Tensor:
        out = _sum_over_k_arrays(terms._data, dim, dtype.dtype)
        if out is not None:
            return Tensor._make(out, False, None, 0)
    out = None
    for i in range(terms.shape[dim]):
        t = terms.select(dim, i)
        out = t.to(dtype) if out is None else (out + t).to(dtype)
    return out


def _sum_over_k_arrays(terms: Any, dim: int, dtype: np.dtype) -> Any:
    """:func:`_sum_over_k`'s steps on a NumPy array, or None where the Tensor steps differ
    (a bfloat16 or complex sum: computed by the ops' own rules). Each Tensor step is
    ``out + t`` in the promoted dtype, then cast to ``dtype``; with ``dtype`` that promoted
    dtype (float32 or float64: the cast does nothing) one in-place add per ``k`` (a running
    sum, left to right, not NumPy's pairwise reduction), else (float16 sums of float32
    terms) one add and one rounding per ``k``. Measured under load (session 43): a
    (32, 64, 16) float32 sum over its 64 ``k``, Tensor steps 2.8 ms, these 0.12 ms."""
    if type(terms) is not np.ndarray:
        return None
    wide = promote_types(dtype, terms.dtype)
    if wide not in _NUMPY_FLOATS:
        return None
    slices = np.moveaxis(terms, dim, 0).astype(wide, copy=False)
    if wide == dtype:
        out = slices[0].copy()
        for t in slices[1:]:
            np.add(out, t, out=out)
        return out
    out = slices[0].astype(dtype)
    for t in slices[1:]:
        out = (out.astype(wide) + t).astype(dtype)
    return out


_NUMPY_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
