"""Batching rules for reductions, softmax, matrix products, convolution and losses.

- Reductions and softmax shift their logical dims by one (``None`` = every logical dim).
- ``matmul``: vectors become matrices (unsqueeze), the batched operand gets singleton dims
  after its batch dim up to the other operand's rank, one ``@`` for the whole batch, and
  the added dims are squeezed away.
- ``linear`` with unbatched weights runs as one op on the physical input (batch dims are
  just more leading dims); batched weights compose matmul and add.
- ``conv2d`` folds the batch into N when only the input is batched; with batched weights
  (per-sample gradients) the batch is folded into the channels and run as a grouped
  convolution with ``B * groups`` groups — still one convolution for the whole batch.
- ``cross_entropy``/``nll_loss`` flatten the batch into the rows, compute the per-row
  losses once, and reduce each sample's rows with its own denominator.
- ``mse_loss`` computes the unreduced squares of the aligned operands once, then reduces
  each sample over its logical dims.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..linalg.norms import EuclideanNorm
from ..ops.affine import LinearFn
from ..ops.bce_with_logits import BinaryCrossEntropyWithLogitsFn
from ..ops.binary_cross_entropy import BinaryCrossEntropyFn
from ..ops.circular_padding import CircularPad, CircularPadBackward
from ..ops.conv_functions import Conv2dFn
from ..ops.cumulative import Cumprod, Cumsum
from ..ops.edge_padding import EdgePad, EdgePadBackward
from ..ops.einsum import Einsum
from ..ops.embedding import EmbeddingFn
from ..ops.extremes import Amax, Amin
from ..ops.fused_moments import StdMean, VarMean
from ..ops.fused_products import Addbmm, Addmm, Addmv, Baddbmm
from ..ops.fused_statistics import Logsumexp, Std, Var
from ..ops.gated_linear import Glu
from ..ops.group_norm import GroupNormFn
from ..ops.interp_taps import Resample, ResampleTranspose
from ..ops.layer_norm import LayerNormFn
from ..ops.linalg import MatMul, matmul
from ..ops.losses import CrossEntropyFn, MseLossFn, NLLLossFn, index_weights
from ..ops.masked_scatter import MaskedScatter
from ..ops.normalization import NormalizeFn
from ..ops.padding import Pad
from ..ops.pooling import MaxPool2dFn, WindowGather
from ..ops.reduction import Mean, Prod, Sum
from ..ops.shape import BroadcastTo, Permute, Reshape, transpose
from ..ops.smooth_losses import HuberLossFn, SmoothL1LossFn
from ..ops.softmax import LogSoftmax, Softmax
from ..ops.structural import Diagonal
from ..ops.upsample_nearest import UpsampleNearest, UpsampleNearestBackward
from ..ops.vector_norms import Norm2, NormZero, PNorm
from ._batched import BatchedTensor, Level, physical, unwrap_level, wrap
from ._dispatch import register
from ._rules_elementwise import _shift, align

__all__: list = []

# PyTorch's words (their first sentences) when a per-sample gradient of embedding's weight
# would be sparse (vmap(grad) of F.embedding / F.embedding_bag with sparse=True): its batched
# sparse gradient cannot be viewed
SPARSE_PER_SAMPLE = (
    "Could not run 'aten::view' with arguments from the 'SparseCPU' backend. This could be "
    "because the operator doesn't exist for this backend, or was omitted during the "
    "selective/custom build process (if using custom build)."
)


def _only_first_batched(level: Level, args: tuple) -> bool:
    return all(not (type(a) is BatchedTensor and a._level is level) for a in args[1:])


@register(Sum, Mean, Amax, Amin, Norm2, NormZero, EuclideanNorm)
def _reduce_axes(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, axes, keepdim = args[:3]  # (Amax/Amin's ``whole`` only names x.max()'s node)
    if x.ndim == 0:
        axes = ()
    return wrap(cls.apply(x._value, _shift(axes, x.ndim), keepdim), level)


@register(Var, Std)
def _moments(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, axes, keepdim, dof = args  # dof counts one sample's elements: unchanged by the batch
    axes = () if x.ndim == 0 else _shift(axes, x.ndim)
    return wrap(cls.apply(x._value, axes, keepdim, dof), level)


register(Logsumexp)(_reduce_axes)


@register(VarMean, StdMean)
def _moments_mean(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, axes, keepdim, dof = args  # two outputs, each batched the same way
    axes = () if x.ndim == 0 else _shift(axes, x.ndim)
    moment, mu = cls.apply(physical(x, level), axes, keepdim, dof)
    return wrap(moment, level), wrap(mu, level)


@register(Glu)
def _glu(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, dim = args  # dim is already non-negative (F.glu normalises it)
    return wrap(Glu.apply(physical(x, level), int(dim) + 1), level)


@register(PNorm)
def _pnorm(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, p, axes, keepdim = args
    return wrap(PNorm.apply(x._value, p, _shift(axes, x.ndim) if x.ndim else (), keepdim), level)


@register(Prod)
def _prod(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, axis, keepdim = args
    v = x._value
    if axis is None:
        if keepdim and x.ndim:
            return NotImplemented
        v = Reshape.apply(v, (level.size, -1))
        return wrap(Prod.apply(v, 1, False), level)
    return wrap(Prod.apply(v, _shift(axis, x.ndim), keepdim), level)


@register(Cumsum, Cumprod, Softmax, LogSoftmax)
def _along_dim(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, dim = args
    return wrap(cls.apply(x._value, _shift(dim, x.ndim)), level)


@register(NormalizeFn)
def _normalize(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, axes, eps, stats = args
    if stats is not None or not _only_first_batched(level, args):
        return NotImplemented
    return wrap(NormalizeFn.apply(x._value, _shift(axes, x.ndim), eps, stats), level)


@register(LayerNormFn)
def _layer_norm(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, weight, bias, n_axes, eps = args
    if type(x) is not BatchedTensor or x._level is not level:
        return NotImplemented
    if _only_first_batched(level, args):  # the batch dim is in front of the normalised dims
        return wrap(LayerNormFn.apply(x._value, weight, bias, n_axes, eps), level)
    # batched affine parameters: normalise, then the affine map by the elementwise rules
    y = NormalizeFn.apply(x, tuple(range(x.ndim - n_axes, x.ndim)), eps, None)
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


@register(GroupNormFn)
def _group_norm(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    """Only the input batched: the batch folded into N (statistics are per sample)."""
    x = args[0]
    if type(x) is not BatchedTensor or x._level is not level:
        return NotImplemented
    if not _only_first_batched(level, args):  # batched γ or β: per sample
        return NotImplemented
    v = x._value
    s = tuple(v.shape)
    y = GroupNormFn.apply(Reshape.apply(v, (s[0] * s[1],) + s[2:]), *args[1:])
    return wrap(Reshape.apply(y, s), level)


@register(Pad)
def _pad(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, widths, value = args
    return wrap(Pad.apply(x._value, ((0, 0),) + tuple(widths), value), level)


@register(EdgePad, EdgePadBackward)
def _edge_pad(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, pads, mode = args  # pads name the last dims: the batch dim in front is one more lead
    return wrap(cls.apply(x._value, pads, mode), level)


@register(CircularPad)
def _circular_pad(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, pads = args  # pads name the last dims: the batch dim in front is one more lead
    return wrap(CircularPad.apply(x._value, pads), level)


@register(CircularPadBackward)
def _circular_pad_backward(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    g, pads, in_shape = args  # in_shape is logical: the physical one has the batch in front
    v = g._value
    return wrap(CircularPadBackward.apply(v, pads, (v.shape[0],) + tuple(in_shape)), level)


@register(UpsampleNearest, UpsampleNearestBackward)
def _upsample_nearest(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, plan = args  # the plan names the last dims: the batch dim in front is one more lead
    return wrap(cls.apply(x._value, plan), level)


@register(Resample, ResampleTranspose)
def _resample(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    """The plan names absolute axes (2, 3, ... for F.interpolate): fold the vmapped dim into
    dim 0 so they stay where they are; one resampling for the whole batch."""
    x, plan = args
    if x.ndim == 0 or any(m.axis < 1 for m in plan):
        return NotImplemented  # a resampled dim 0 cannot take the batch
    v = x._value
    s = tuple(v.shape)
    out = cls.apply(Reshape.apply(v, (s[0] * s[1],) + s[2:]), plan)
    return wrap(Reshape.apply(out, s[:2] + tuple(out.shape[1:])), level)


@register(Diagonal)
def _diagonal(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, offset, d1, d2 = args
    n = x.ndim
    return wrap(Diagonal.apply(x._value, offset, d1 % n + 1, d2 % n + 1), level)


@register(MaxPool2dFn, WindowGather)
def _pool2d(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    """Pooling works on each (N, C) plane: fold the batch into N (an unbatched (C, H, W)
    sample: the vmap batch is N)."""
    x = args[0]
    if x.ndim not in (3, 4) or not _only_first_batched(level, args):
        return NotImplemented
    v = x._value
    if x.ndim == 3:
        return wrap(cls.apply(v, *args[1:], **kwargs), level)
    s = tuple(v.shape)
    out = cls.apply(Reshape.apply(v, (s[0] * s[1],) + s[2:]), *args[1:], **kwargs)
    return wrap(Reshape.apply(out, s[:2] + tuple(out.shape[1:])), level)


@register(Einsum)
def _einsum(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    """A fresh subscript letter for the batch dim of every batched operand and the output."""
    ins, out = kwargs["ins"], kwargs["out"]
    used = set("".join(ins) + out)
    letter = next(
        c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in used
    )
    vals, subs = [], []
    for a, sub in zip(args, ins):
        v, batched = unwrap_level(a, level)
        vals.append(v)
        subs.append(letter + sub if batched else sub)
    return wrap(Einsum.apply(*vals, ins=tuple(subs), out=letter + out), level)


def _unsqueeze(v: Tensor, d: int) -> Tensor:
    shape = tuple(v.shape)
    d = d % (len(shape) + 1)
    return Reshape.apply(v, shape[:d] + (1,) + shape[d:])


def _squeeze(v: Tensor, d: int) -> Tensor:
    shape = list(v.shape)
    del shape[d]
    return Reshape.apply(v, tuple(shape))


@register(MatMul)
def _matmul(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    a, b = args
    va, ba = unwrap_level(a, level)
    vb, bb = unwrap_level(b, level)
    ra, rb = a.ndim, b.ndim
    a_vec, b_vec = ra == 1, rb == 1
    if a_vec:  # (k,) -> (1, k)
        va = _unsqueeze(va, -2)
        ra = 2
    if b_vec:  # (k,) -> (k, 1)
        vb = _unsqueeze(vb, -1)
        rb = 2
    rank = max(ra, rb)
    if ba and ra < rank:
        va = Reshape.apply(va, (level.size,) + (1,) * (rank - ra) + tuple(va.shape[1:]))
    if bb and rb < rank:
        vb = Reshape.apply(vb, (level.size,) + (1,) * (rank - rb) + tuple(vb.shape[1:]))
    out = MatMul.apply(va, vb)
    if b_vec:
        out = _squeeze(out, out.ndim - 1)
    if a_vec:
        out = _squeeze(out, out.ndim - (1 if b_vec else 2))
    return wrap(out, level)


@register(Addmm, Addmv, Baddbmm, Addbmm)
def _add_product(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    inp, a, b, beta, alpha = args  # logical ops: matmul's, sum's and the arithmetic's rules
    prod = matmul(a, b)
    if cls is Addbmm:
        prod = prod.sum(0)
    out = prod if alpha == 1 else prod * alpha
    return out if beta == 0 else out + (inp if beta == 1 else inp * beta)


@register(LinearFn)
def _linear(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, w, b = args
    if _only_first_batched(level, args) and type(x) is BatchedTensor:
        return wrap(LinearFn.apply(x._value, w, b), level)

    y = matmul(x, transpose(w, 0, 1))  # logical ops: their own rules batch them
    return y if b is None else y + b


@register(EmbeddingFn)
def _embedding(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    weight, idx = args[0], args[1]
    sparse = args[4] if len(args) > 4 else kwargs.get("sparse", False)
    if sparse and type(weight) is BatchedTensor and weight.requires_grad and is_grad_enabled():
        raise NotImplementedError(SPARSE_PER_SAMPLE)  # PyTorch: no batched sparse gradient
    if (
        type(weight) is BatchedTensor
        or type(idx) is not BatchedTensor
        or type(idx._value) is BatchedTensor
    ):
        return NotImplemented  # per-sample weights: per sample
    return wrap(EmbeddingFn.apply(weight, idx._value, *args[2:], **kwargs), level)


@register(Conv2dFn)
def _conv2d(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, w, bias, params = args
    if x.ndim != 4:
        return NotImplemented
    n = level.size
    if _only_first_batched(level, args):  # only the input: fold the batch into N
        v = x._value
        s = tuple(v.shape)
        out = Conv2dFn.apply(Reshape.apply(v, (n * s[1],) + s[2:]), w, bias, params)
        return wrap(Reshape.apply(out, (n, s[1]) + tuple(out.shape[1:])), level)
    stride, pad, dil, groups = params
    xv = physical(x, level)  # (B, N, C, H, W) -> (N, B*C, H, W)
    bsz, nn_, c, h, wd = xv.shape
    xv = Reshape.apply(Permute.apply(xv, (1, 0, 2, 3, 4)), (nn_, bsz * c, h, wd))
    wv = physical(w, level)  # (B, O, C/g, kh, kw) -> (B*O, C/g, kh, kw)
    o = wv.shape[1]
    wv = Reshape.apply(wv, (bsz * o,) + tuple(wv.shape[2:]))
    bv = None
    if bias is not None:
        bv = Reshape.apply(physical(bias, level), (bsz * o,))
    out = Conv2dFn.apply(xv, wv, bv, (stride, pad, dil, groups * bsz))
    ho, wo = out.shape[2:]
    out = Reshape.apply(out, (nn_, bsz, o, ho, wo))
    return wrap(Permute.apply(out, (1, 0, 2, 3, 4)), level)


def _loss_rows(cls: type, level: Level, args: tuple) -> Any:
    """Shared by cross-entropy and NLL: per-row losses for the whole batch, (B, M)."""
    x, target, weight = args[0], args[1], args[2]
    if type(weight) is BatchedTensor:
        return NotImplemented
    xv, tv = physical(x, level), physical(target, level)
    if type(xv) is BatchedTensor or type(tv) is BatchedTensor:  # nested vmap: per sample
        return NotImplemented
    bsz, m, c = xv.shape
    rest = args[3:-1]
    rows = cls.apply(
        Reshape.apply(xv, (bsz * m, c)), Reshape.apply(tv, (bsz * m,)), weight, *rest, "none"
    )
    return Reshape.apply(rows, (bsz, m)), tv, c


@register(CrossEntropyFn, NLLLossFn)
def _class_loss(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    res = _loss_rows(cls, level, args)
    if res is NotImplemented:
        return res
    rows, tv, c = res
    reduction = args[-1]
    if reduction == "none":
        return wrap(rows, level)
    total = Sum.apply(rows, (1,), False)
    if reduction == "sum":
        return wrap(total, level)
    weight = args[2]
    warr = None if weight is None else weight._data.astype(rows.dtype, copy=False)
    t = tv._data.reshape(-1)
    _, _, wt = index_weights(cls.__name__, t, c, warr, args[3], rows.dtype)
    denom = wt.reshape(tv.shape[0], -1).sum(axis=1)
    return wrap(total / Tensor._make(denom, False, None, 0), level)


@register(MseLossFn)
def _mse_loss(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, y, reduction = args
    rank = max(x.ndim, y.ndim)
    sq = MseLossFn.apply(align(x, level, rank), align(y, level, rank), "none")
    if reduction == "none":
        return wrap(sq, level)
    reduce = Mean if reduction == "mean" else Sum
    return wrap(reduce.apply(sq, tuple(range(1, rank + 1)), False), level)


@register(SmoothL1LossFn, HuberLossFn)
def _smooth_loss(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, y, reduction, b = args  # same logical shapes (the functional expands them)
    rank = max(x.ndim, y.ndim)
    xa, ya = align(x, level, rank), align(y, level, rank)
    if xa.shape != ya.shape:  # one operand not batched: its size-1 batch dim expanded
        shape = tuple(np.broadcast_shapes(xa.shape, ya.shape))
        xa, ya = BroadcastTo.apply(xa, shape), BroadcastTo.apply(ya, shape)
    loss = cls.apply(xa, ya, "none", b)
    if reduction == "none":
        return wrap(loss, level)
    reduce = Mean if reduction == "mean" else Sum
    return wrap(reduce.apply(loss, tuple(range(1, rank + 1)), False), level)


@register(MaskedScatter)
def _masked_scatter(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    """A constant mask: every sample scatters its own source's first ``n`` elements, so the
    batch is one masked_scatter of ``x`` broadcast to (B, *shape) with the samples' sources
    cut to ``n`` and laid end to end (sample order is row-major order)."""
    x, source, mask = args
    if type(mask) is BatchedTensor:
        return NotImplemented
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    shape = tuple(np.broadcast_shapes(tuple(x.shape), m.shape))
    b = level.size
    full = np.broadcast_to(m, (b,) + shape)
    n = int(np.broadcast_to(m, shape).sum())
    xv = physical(x, level)
    if tuple(x.shape) != shape:
        lead = (b,) + (1,) * (len(shape) - x.ndim) + tuple(x.shape)
        xv = BroadcastTo.apply(Reshape.apply(xv, lead), (b,) + shape)
    sv = Reshape.apply(physical(source, level), (b, -1))
    values = Reshape.apply(sv[:, :n], (-1,))
    mask_t = Tensor._make(np.ascontiguousarray(full), False, None, 0)
    return wrap(MaskedScatter.apply(xv, values, mask_t), level)


@register(BinaryCrossEntropyFn)
def _bce(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    """As ``_bce_with_logits``: operands aligned and broadcast, the unreduced loss computed
    once, then each sample reduced over its logical dims."""
    x, t, weight, reduction = args
    rank = max(v.ndim for v in (x, t, weight) if v is not None)
    xa, ta = align(x, level, rank), align(t, level, rank)
    wa = None if weight is None else align(weight, level, rank)
    shape = tuple(np.broadcast_shapes(*(v.shape for v in (xa, ta, wa) if v is not None)))
    if xa.shape != shape:
        xa = BroadcastTo.apply(xa, shape)
    if ta.shape != shape:
        ta = BroadcastTo.apply(ta, shape)
    loss = cls.apply(xa, ta, wa, "none")
    if reduction == "none":
        return wrap(loss, level)
    reduce = Mean if reduction == "mean" else Sum
    return wrap(reduce.apply(loss, tuple(range(1, rank + 1)), False), level)


@register(BinaryCrossEntropyWithLogitsFn)
def _bce_with_logits(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    """Every operand aligned to one physical rank and broadcast to one shape, the
    unreduced loss computed once, then each sample reduced over its logical dims."""
    x, t, weight, pos_weight, reduction = args
    rank = max(v.ndim for v in (x, t, weight, pos_weight) if v is not None)
    xa, ta = align(x, level, rank), align(t, level, rank)
    wa = None if weight is None else align(weight, level, rank)
    pa = None if pos_weight is None else align(pos_weight, level, rank)
    shape = tuple(np.broadcast_shapes(*(v.shape for v in (xa, ta, wa, pa) if v is not None)))
    if xa.shape != shape:
        xa = BroadcastTo.apply(xa, shape)
    if ta.shape != shape:
        ta = BroadcastTo.apply(ta, shape)
    loss = cls.apply(xa, ta, wa, pa, "none")
    if reduction == "none":
        return wrap(loss, level)
    reduce = Mean if reduction == "mean" else Sum
    return wrap(reduce.apply(loss, tuple(range(1, rank + 1)), False), level)
