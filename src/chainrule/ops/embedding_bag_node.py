"""``F.embedding_bag`` as one node, PyTorch's ``EmbeddingBagBackward0``.

``embedding_bag.py`` reads and checks the arguments and lays out the bags (the kept indices
``idx_k``, their bags ``bag_k``, the bag sizes); this node computes the bags from the weight
and the per-sample weights and lists them as its inputs, saving PyTorch's fields (the flat
indices, the offsets, ``offset2bag`` / ``bag_size`` / ``max_indices`` as ``_saved_result1``
to ``3``, the mode, ``padding_idx`` ...). The math is the composition's it replaces:

    sum   out = scatter_rows(W[idx_k] * psw_k, bag_k)        (psw_k = 1 without weights)
    mean  out = scatter_rows(W[idx_k], bag_k) / max(count, 1)
    max   out[b, d] = W[idx_k[pos[b, d]], d]                  (empty bags: 0)

and its gradients are the adjoints, written with the differentiable gather / scatter ops of
``ops/embedding.py``, so double backward and forward mode work (PyTorch 2.13 has neither).
The composed path stays for ``sparse``, ``scale_grad_by_freq``, half precision and other
array modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import as_uint64, tensor_field
from ..autograd.tensor import Tensor
from .embedding import EmbeddingFn, ScatterRowsFn
from .embedding import _scatter_rows as scatter_rows_raw
from .shape import reshape

__all__ = ["BagPlan", "EmbeddingBagFn"]

_MODE_CODES = {"sum": 0, "mean": 1, "max": 2}


class BagPlan:
    """The bag layout of one call (arrays; ``kept`` None: every index up to ``end``)."""

    __slots__ = (
        "bag_k",
        "counts",
        "end",
        "flat",
        "idx",
        "idx_k",
        "kept",
        "mode",
        "n",
        "nbags",
        "nonempty",
        "offsets",
        "padding_idx",
        "pos",
        "full_offset2bag",
    )

    def __init__(self, **kw: Any) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


def _const(a: Any) -> Tensor:
    return Tensor._make(a, False, None, 0)


def _psw_kept(plan: BagPlan, p: Any) -> Any:
    """The per-sample weights of the kept indices (an array or a tensor, 1-d)."""
    if plan.kept is not None:
        if isinstance(p, np.ndarray):
            return p[plan.kept]
        return reshape(EmbeddingFn.apply(reshape(p, (-1, 1)), plan.kept, None), (-1,))
    return p if plan.end == plan.n else p[: plan.end]


def _denom(plan: BagPlan, dtype: Any) -> Any:
    return np.maximum(np.asarray(plan.counts), 1).astype(dtype)[:, None]


def _forward_arrays(plan: BagPlan, w: Any, p: Any) -> Any:
    num, dim = w.shape
    if plan.mode == "max":
        out = w.reshape(-1)[plan.flat]
        if plan.nonempty.size < plan.nbags:
            out = scatter_rows_raw(out, (plan.nbags, dim), plan.nonempty)
        return out
    rows = w[plan.idx_k]
    if p is not None:
        rows = rows * _psw_kept(plan, p)[:, None]
    out = scatter_rows_raw(rows, (plan.nbags, dim), plan.bag_k)
    if plan.mode == "mean":
        out = out / _denom(plan, w.dtype)
    return out


def _fields() -> dict:
    """grad_fn._saved_* as PyTorch's ``EmbeddingBagBackward0``."""

    def result1(n: Any) -> Any:  # offset2bag: the bag of every index (empty where PyTorch's
        plan = n.plan  # fast float32 sum leaves it out)
        if not plan.full_offset2bag:
            return np.zeros(0, plan.idx.dtype)
        bags = np.zeros(plan.n, plan.idx.dtype)
        sizes = np.diff(np.append(plan.offsets, plan.n)) if plan.offsets.size else bags[:0]
        bags[: sizes.sum()] = np.repeat(np.arange(plan.offsets.size), sizes)
        return bags

    def result2(n: Any) -> Any:  # bag_size (zeros for mode='sum')
        plan = n.plan
        if plan.mode == "sum":
            return np.zeros(plan.nbags, plan.idx.dtype)
        return np.asarray(plan.counts).astype(plan.idx.dtype)

    def result3(n: Any) -> Any:  # max_indices: the weight rows of the maxima (max), else sizes
        plan = n.plan
        if plan.mode != "max":
            return result2(n)
        out = np.zeros((plan.nbags, n.dim), plan.idx.dtype)  # (an empty bag: 0)
        if plan.pos is not None:
            out[plan.nonempty] = plan.idx_k[plan.pos]
        return out

    return {
        "indices": tensor_field(lambda n: _const(n.plan.idx)),
        "mode": lambda n: _MODE_CODES[n.plan.mode],
        "offsets": tensor_field(lambda n: _const(n.plan.offsets)),
        "padding_idx": lambda n: as_uint64(
            -1 if n.plan.padding_idx is None else n.plan.padding_idx
        ),
        "per_sample_weights": 1,
        "result1": tensor_field(lambda n: _const(result1(n))),
        "result2": tensor_field(lambda n: _const(result2(n))),
        "result3": tensor_field(lambda n: _const(result3(n))),
        "scale_grad_by_freq": lambda n: False,
        "sparse": lambda n: False,
        "weight": 0,
        "weight_sym_argsize_0": lambda n: n.num,
    }


class EmbeddingBagFn(Function):
    """The bags of ``weight`` (and ``per_sample_weights``, 1-d, or None) laid out by ``plan``."""

    raw = True
    node_name = ("EmbeddingBagBackward0", (0, 1))  # weight, per_sample_weights (or None)
    saved_fields = _fields()

    @staticmethod
    def forward(ctx, w, p, *, plan):
        ctx.plan, (ctx.num, ctx.dim) = plan, w.shape
        # PyTorch keeps the weight only for the per-sample weights' gradient
        ctx.save_for_backward(w if p is not None else None, p)
        return _forward_arrays(plan, w, p)

    @staticmethod
    def backward(ctx, g):
        plan = ctx.plan
        w, p = ctx.saved_tensors
        shape = (ctx.num, ctx.dim)
        if plan.mode == "max":
            ge = (
                g if plan.nonempty.size == plan.nbags else EmbeddingFn.apply(g, plan.nonempty, None)
            )
            flat = ScatterRowsFn.apply(
                reshape(ge, (-1, 1)), (ctx.num * ctx.dim, 1), plan.flat.reshape(-1)
            )
            return reshape(flat, shape), None
        if plan.mode == "mean":  # (B, D): divided before the gather to (K, D)
            g = g / _const(_denom(plan, g._data.dtype))
        gr = EmbeddingFn.apply(g, plan.bag_k, None)  # (K, D): each kept index's bag gradient
        gw = gp = None
        if ctx.needs_input_grad[0]:
            scaled = gr if p is None else gr * reshape(_psw_kept(plan, p), (-1, 1))
            gw = ScatterRowsFn.apply(scaled, shape, plan.idx_k)
        if p is not None and ctx.needs_input_grad[1]:
            gk = (gr * EmbeddingFn.apply(w, plan.idx_k, None)).sum(1, keepdim=True)
            where = plan.kept if plan.kept is not None else np.arange(plan.end)
            gp = reshape(ScatterRowsFn.apply(gk, (plan.n, 1), where), (plan.n,))
        return gw, gp

    @staticmethod
    def jvp(ctx, tw, tp):
        plan = ctx.plan
        w, p = ctx.primals
        dt = ctx.out.dtype
        out = np.zeros(ctx.out.shape, dt)
        if tw is not None:
            out = out + _forward_arrays(plan, tw, p)
        if tp is not None:
            rows = w[plan.idx_k] * _psw_kept(plan, tp)[:, None]
            out = out + scatter_rows_raw(rows, (plan.nbags, ctx.dim), plan.bag_k)
        return out.astype(dt, copy=False)
