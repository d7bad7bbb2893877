"""``scaled_dot_product_attention``'s gradients in a backward run inside a CPU autocast
block, as PyTorch 2.13's math path (``_scaled_dot_product_attention_math``) computes them.

PyTorch's math path (the one it records where its CPU flash kernel does not run, e.g. a
float mask that requires a gradient) is a graph of ordinary ops: q and kᵀ each scaled by
``sqrt(scale)`` (``mul``), ``bmm(q_s, k_sᵀ)``, the mask added, softmax, ``bmm(P, v)``. Its
backward runs in the caller's autocast state, so the four ``bmm`` products of the backward
are cast to the autocast dtype (each rounded once) and cast back to their input's dtype by
the engine, while the softmax and ``mul`` backward are not. The products here read the
scaled operands as PyTorch's do (``bf16(k * sqrt(scale))``, not ``bf16(k) * scale``). P is
the fused node's own (``q kᵀ * scale`` and NumPy's softmax), which can be an ulp off
PyTorch's (its vectorized exp): the mask's gradient (the softmax backward, not rounded to
bfloat16 after) shows it, the cast products of q, k and v's gradients mostly absorb it.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd.tensor import Tensor
from ._first_order import autocast_products
from .linalg import matmul
from .matmul_autocast import autocast_product_operands
from .shape import transpose

__all__ = ["autocast_attention_grads"]


def autocast_attention_grads(
    ctx: Any,
    grad: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    p: Tensor,
    ks: Tensor | None,
) -> tuple | None:
    """``(dq, dk, dv, dmask)`` of the math path for a backward inside an enabled CPU autocast
    block (see the module); None when nothing is cast (float64, a block that is off).
    ``p`` the probabilities of the forward, ``ks`` the dropout keep-and-scale (or None)."""
    if autocast_product_operands(ctx, grad, ())[2] is None:
        return None
    needs = ctx.needs_input_grad
    dtypes = [None if meta is None else meta[1] for meta in ctx.input_meta]
    ss = math.sqrt(ctx.scale)  # (a Python float: the mul computes in the tensor's dtype)
    qs, kts = q * ss, _mT(k) * ss  # (the math path's saved operands: a mul, not cast)
    dq = dk = dv = dm = None
    if needs[2]:
        pd = p if ks is None else p * ks
        dv = matmul(*autocast_products(_mT(pd), grad)).to(dtypes[2])
    if needs[0] or needs[1] or needs[3]:
        dp = matmul(*autocast_products(grad, _mT(v))).to(p.dtype)
        if ks is not None:
            dp = dp * ks
        ds = p * (dp - (dp * p).sum(-1, keepdim=True))  # softmax backward, not cast
        if needs[0]:
            dq = matmul(*autocast_products(ds, _mT(kts))).to(dtypes[0]) * ss
        if needs[1]:
            dk = _mT(matmul(*autocast_products(_mT(qs), ds)).to(dtypes[1]) * ss)
        dm = ds if needs[3] else None
    return dq, dk, dv, dm


def _mT(x: Tensor) -> Tensor:
    """Swap the last two dims (a view)."""
    return transpose(x, -1, -2)
