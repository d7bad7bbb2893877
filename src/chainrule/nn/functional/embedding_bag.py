"""``F.embedding_bag``: sums, means or maxima of bags of embedding rows, as in
``torch.nn.functional``, without materialising the per-bag embeddings one bag at a time.

A bag is a run of indices: each row of a 2-d ``input`` (B, N), or the runs of a 1-d
``input`` that start at ``offsets``. With K the indices kept (those inside a bag and not
``padding_idx``), ``bag[k]`` the bag of index ``k`` and W the weight:

    sum   out[b] = Σ_{k: bag[k] = b} psw[k] · W[idx[k]]             (psw = 1 without weights)
    mean  out[b] = (Σ_{k: bag[k] = b} W[idx[k]]) / #{k: bag[k] = b}  (0 for an empty bag)
    max   out[b, d] = W[idx[k*], d],  k* = the first k of bag b with the largest W[idx[k], d]

For float32 / float64 weights (no ``sparse``, no ``scale_grad_by_freq``) the bags are one
``EmbeddingBagBackward0`` node, as PyTorch's (``ops/embedding_bag_node.py``: the same math, its
adjoints written with the ops below). Otherwise the op is a composition of the
differentiable ops behind ``F.embedding`` (``ops/embedding.py``), so there is no Python loop
over bags and every derivative is exact:

* sum / mean: one gather ``G = W[idx_kept]`` (K, D) (``EmbeddingFn``), times the
  per-sample weights, then one segment sum over the bag ids (``ScatterRowsFn``: a compiled
  pass or a sort + ``np.add.reduceat``), divided by the bag sizes for the mean. Backward is
  the adjoint chain: one gather of the output gradient's rows, one scatter-add into dW.
* max: the arg-maxima are found on arrays (``np.maximum.reduceat`` / ``np.minimum.reduceat``
  over the bag segments); the output is then one gather of single elements of W
  (``W.reshape(-1, 1)[idx[k*] * D + d]``), whose gradient is one scatter-add of (B, D)
  elements into dW.

Each piece is linear in W (or in the per-sample weights) with its adjoint as backward, so
double backward and forward mode work at any order, where PyTorch 2.13 raises
``NotImplementedError`` for both ("the derivative for '_embedding_bag_backward' is not
implemented"); the first-order values and gradients are PyTorch's.

``scale_grad_by_freq`` divides each index's gradient by its count among the indices in
bags, as ``F.embedding`` does (PyTorch's CPU kernel scales some rows by the count of another
index when ``input`` is not sorted; chainrule follows the documented rule). ``sparse=True``
passes the flag to the gather (``EmbeddingFn``), whose gradient is then PyTorch's sparse one
per looked-up index. Decreasing ``offsets`` are refused (PyTorch does not check them and
returns undefined bags).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..._layout import is_vmap_batched
from ...autograd.grad_mode import no_grad
from ...autograd.tensor import Tensor
from ...backend import get_array_module, host
from ...meta.array import MetaArray, follow, meta_empty
from ...meta.results import any_meta
from ...ops._util import DtypeError, ShapeError
from ...ops.embedding import EmbeddingFn, ScatterRowsFn
from ...ops.embedding_bag_node import BagPlan, EmbeddingBagFn
from ...ops.gather_scatter import IndexOutOfBounds
from ...ops.shape import reshape
from ...ops.subscript_read import IndexAdd
from ._arg_types import as_float, bad_bool
from .embedding_bag_batched import any_batched, embedding_bag_batched
from .linear import embedding

__all__ = ["embedding_bag"]

_OP = "embedding_bag"
_MODES = ("sum", "mean", "max")
# the flags PyTorch's parser reads as Python bools, with their positions
_FLAGS = (("scale_grad_by_freq", 4), ("sparse", 6), ("include_last_offset", 8))
_INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _ndim_of(x: Any, what: str) -> int:
    if not isinstance(x, Tensor) and not hasattr(x, "ndim"):
        raise TypeError(f"{_OP}: {what} must be a Tensor, got {type(x).__name__}")
    return int(x.ndim)


def _shape_of(x: Any) -> tuple:
    return tuple(x.shape)


def _check_index_dtype(arr: Any, what: str) -> None:
    if arr.dtype not in _INDEX_DTYPES:
        raise DtypeError(
            f"{_OP}: {what} must be an int64 (Long) or int32 (Int) tensor, got {arr.dtype}; "
            f"convert it with .long()"
        )


def _scatter_rows(g: Tensor, shape: tuple, ids: Any) -> Tensor:
    """zeros(shape) with row ``g[k]`` added at row ``ids[k]``: the segment sum (and, for the
    max, the placement of non-empty bags among empty ones)."""
    if get_array_module(ids) is not np:  # pragma: no cover - cupy
        return IndexAdd.apply(g, shape, ids)
    return ScatterRowsFn.apply(g, shape, ids)


def _bags(
    idx_shape: tuple, n: int, offsets: Any, include_last_offset: bool
) -> tuple[int, int, np.ndarray]:
    """(number of bags B, end of the last bag, bag sizes (B,)) from the input's layout."""
    if len(idx_shape) == 2:
        rows, cols = idx_shape
        if cols == 0:
            raise ShapeError(
                f"{_OP}: a 2-d input (B, N) is B bags of N indices and needs N >= 1, got "
                f"shape {idx_shape}; use a 1-d input with offsets for empty bags"
            )
        return rows, n, np.full(rows, cols, dtype=np.intp)
    # the offsets are read on the host (one number per bag, from any device)
    off = host(offsets).astype(np.intp, copy=False).reshape(-1)
    if off.size == 0:
        what = "at least 1 (the end of the last bag)" if include_last_offset else "at least 1"
        raise RuntimeError(
            f"{_OP}: offsets must have {what} element(s), got an empty offsets tensor"
        )
    if off[0] != 0:
        raise RuntimeError(
            f"{_OP}: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has "
            f"to start from position 0. However, got {int(off[0])}"
        )
    if off[-1] > n:
        raise RuntimeError(
            f"{_OP}: offsets[-1] can not be greater than input's length {n} but got "
            f"offsets[-1] of {int(off[-1])}"
        )
    if off.size > 1 and bool((off[1:] < off[:-1]).any()):
        raise RuntimeError(
            f"{_OP}: offsets must be non-decreasing (each bag starts where the previous one "
            f"ends or later), got {off.tolist() if off.size <= 16 else 'a decreasing pair'}"
        )
    if include_last_offset:
        return off.size - 1, int(off[-1]), np.diff(off)
    return off.size, n, np.diff(off, append=n)


def _segment_argmax(vals: np.ndarray, seg_starts: np.ndarray, seg_of: np.ndarray) -> np.ndarray:
    """Per segment and column, the row of the first largest value, as PyTorch's running
    ``if (v > current_max)`` loop: a NaN first in its segment wins, later NaNs are skipped."""
    xp = get_array_module(vals)
    nan = xp.isnan(vals)
    has_nan = bool(nan.any())
    v = xp.where(nan, -xp.inf, vals) if has_nan else vals
    if xp is np:
        top = np.maximum.reduceat(v, seg_starts, axis=0)
        rows = np.arange(v.shape[0])[:, None]
        cand = np.where(v == top[seg_of], rows, v.shape[0])
        pos = np.minimum.reduceat(cand, seg_starts, axis=0)
    else:  # CuPy has no ufunc.reduceat: two stable sorts per column instead
        pos = _segment_argmax_sorted(v, seg_starts, seg_of)
    if has_nan:
        first_nan = nan[seg_starts]
        pos = xp.where(first_nan, seg_starts[:, None], pos)
    return pos


def _segment_argmax_sorted(v: Any, seg_starts: Any, seg_of: Any) -> Any:
    """:func:`_segment_argmax`'s positions of the first largest value (``v`` without NaN,
    its segments contiguous runs of rows) by sorting: per column the rows by descending
    value (a stable sort keeps tied rows in order), then stably by segment, so each
    segment's run starts with its first largest row."""
    xp = get_array_module(v)
    by_value = xp.argsort(-v, axis=0, kind="stable")
    by_segment = xp.argsort(seg_of[by_value], axis=0, kind="stable")
    return xp.take_along_axis(by_value, by_segment, axis=0)[seg_starts]


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sums, means or maxima of bags of rows of ``weight``, without the per-index output.

    Args:
        input: integer (int64/int32) indices: (B, N) for B bags of N indices (``offsets``
            must be None), or (L,) with ``offsets``.
        weight: (num_embeddings, embedding_dim) floating table.
        offsets: (B,) start of each bag in a 1-d ``input`` (offsets[0] == 0, non-decreasing;
            a bag with no index gives zeros); with ``include_last_offset`` (B + 1,), the
            last entry being the end of the last bag (indices after it are ignored).
        max_norm: renormalise, in place, the rows of ``weight`` that ``input`` names whose
            ``norm_type``-norm exceeds it (as ``F.embedding``, which does it here).
        norm_type: the p of the p-norm for ``max_norm``.
        scale_grad_by_freq: divide each index's gradient by its count in the mini-batch
            (not with mode='max').
        mode: 'sum', 'mean' or 'max'.
        sparse: give ``weight`` a sparse gradient, as PyTorch: an uncoalesced COO tensor
            with one entry per index in a bag (input order, ``padding_idx`` left out), its
            value that index's share of its bag's gradient (not with mode='max').
        per_sample_weights: same shape as ``input``, weight dtype; each row is scaled by its
            weight before the sum (mode='sum' only).
        include_last_offset: whether ``offsets`` ends with the end of the last bag.
        padding_idx: an index left out of every bag (and of the mean's count); its row gets
            no gradient. Negative counts from the end.

    Returns:
        (B, embedding_dim) in ``weight``'s dtype.

    Raises:
        ValueError: wrong ranks, ``offsets`` with a 2-d input or missing with a 1-d one, a
            ``per_sample_weights`` shape different from ``input``'s, an unknown ``mode``,
            mode='max' with ``scale_grad_by_freq`` or ``sparse``.
        RuntimeError: bad offsets, an index or ``padding_idx`` out of range (an
            ``IndexError`` too), non-integer indices or offsets, a non-floating weight or a
            ``per_sample_weights`` dtype other than the weight's.
        NotImplementedError: ``per_sample_weights`` with a mode other than 'sum' (as
            PyTorch).

    Example:
        >>> import chainrule as cr
        >>> w = cr.arange(8.0).reshape(4, 2)
        >>> cr.nn.functional.embedding_bag(
        ...     cr.tensor([0, 1, 3]), w, cr.tensor([0, 2]), mode="sum"
        ... )
        tensor([[2., 4.],
                [6., 7.]])
    """
    _ndim_of(input, "input")
    _ndim_of(weight, "weight")
    if not isinstance(weight, Tensor):
        raise TypeError(f"{_OP}: weight must be a Tensor, got {type(weight).__name__}")
    if _raw(weight).dtype.kind in "iu" and _raw(input).dtype.kind == "f":
        # PyTorch's backward compatibility: embedding_bag(weight, input, ...) still works
        warnings.warn(
            "Argument order of nn.functional.embedding_bag was changed. "
            "Usage `embedding_bag(weight, input, ...)` is deprecated, "
            "and should now be `embedding_bag(input, weight, ...)`.",
            stacklevel=2,
        )
        weight, input = input, weight  # type: ignore[assignment]
        if not isinstance(weight, Tensor):
            raise TypeError(f"{_OP}: weight must be a Tensor, got {type(weight).__name__}")
    if per_sample_weights is not None:
        if not isinstance(per_sample_weights, Tensor):
            raise TypeError(
                f"{_OP}: per_sample_weights must be a Tensor, got "
                f"{type(per_sample_weights).__name__}"
            )
        if _shape_of(per_sample_weights) != _shape_of(input):
            raise ValueError(
                f"{_OP}: If per_sample_weights ({_shape_of(per_sample_weights)}) is not None, "
                f"then it must have the same shape as the input ({_shape_of(input)})"
            )
    if weight.ndim != 2:
        raise ValueError(
            f"{_OP}: weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}"
        )
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(
                f"{_OP}: if input is 2D, then offsets has to be None, as input is treated "
                f"is a mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}"
            )
        include_last_offset = False
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError(f"{_OP}: offsets has to be a 1D Tensor but got None")
        if _ndim_of(offsets, "offsets") != 1:
            raise ValueError(f"{_OP}: offsets has to be a 1D Tensor")
    else:
        raise ValueError(
            f"{_OP}: input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}"
        )
    if mode not in _MODES:
        raise ValueError(f"{_OP}: mode has to be one of sum, mean or max, got {mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError(f"{_OP}: max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError(f"{_OP}: max mode does not support sparse weights")
    if max_norm is not None and type(max_norm) is not float:  # PyTorch's parser
        max_norm = as_float("embedding_renorm_", "max_norm", max_norm, 3)
    flags = (scale_grad_by_freq, sparse, include_last_offset)
    if type(flags[0]) is not bool or type(flags[1]) is not bool or type(flags[2]) is not bool:
        for (name, pos), flag in zip(_FLAGS, flags):  # PyTorch's parser: Python bools only
            bad_bool(_OP, name, flag, pos)

    idx_arr = _raw(input)
    _check_index_dtype(idx_arr, "indices (input)")
    if offsets is not None:
        _check_index_dtype(_raw(offsets), "offsets")
    w = weight._data
    if w.dtype.kind not in "fV":  # V: bfloat16
        raise DtypeError(
            f"{_OP}: weight must be a floating tensor (float16/float32/float64), got {w.dtype}"
        )
    if per_sample_weights is not None and _raw(per_sample_weights).dtype != w.dtype:
        raise DtypeError(
            f"{_OP}: per_sample_weights must have the weight's dtype {w.dtype}, got "
            f"{_raw(per_sample_weights).dtype}"
        )
    num, dim = w.shape
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise RuntimeError(
                f"{_OP}: padding_idx must be within the number of embeddings, -{num} through "
                f"{num - 1}, but got {padding_idx}"
            )
        if isinstance(padding_idx, bool):  # PyTorch's parser (its int() would take it)
            raise TypeError(f"{_OP}(): argument 'padding_idx' (position 9) must be int, not bool")
        padding_idx = int(padding_idx) % num

    if any_batched(input, offsets, per_sample_weights):  # per sample, as Tensor ops
        return embedding_bag_batched(
            input, weight, offsets, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
            per_sample_weights, include_last_offset, padding_idx,
        )  # fmt: skip
    xp = get_array_module(w)
    idx = idx_arr.reshape(-1)
    n = idx.size
    nbags, end, sizes = _bags(tuple(idx_arr.shape), n, _raw(offsets), include_last_offset)
    checked = idx if max_norm is not None else idx[:end]  # the renorm reads every index
    if checked.size and (int(checked.min()) < 0 or int(checked.max()) >= num):
        raise IndexOutOfBounds(
            f"{_OP}: index out of range: expected 0 <= idx < num_embeddings = {num}, but the "
            f"indices span [{int(checked.min())}, {int(checked.max())}]"
        )
    # meta: no indices or offsets to read; every bag's rows are meta, laid out by shape
    meta = type(w) is MetaArray or type(idx) is MetaArray or any_meta(offsets)
    if max_norm is not None and not meta:  # F.embedding's in-place renorm (no graph)
        with no_grad():
            embedding(
                Tensor._make(xp.unique(idx), False, None, 0), weight, None, max_norm, norm_type
            )
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"{_OP}: per_sample_weights was not None. per_sample_weights is only supported "
            f"for mode='sum' (got mode='{mode}'). Please open a feature request on GitHub."
        )

    kept = None  # positions of the kept indices among the first `end` (None: all of them)
    if meta:
        idx_k = bag_k = meta_empty((n,), np.intp)
        counts, end = meta_empty((nbags,), np.intp), n
    else:
        bag_of = xp.repeat(xp.arange(nbags), xp.asarray(sizes))  # (end,): each index's bag
        if padding_idx is not None:
            keep = idx[:end] != padding_idx
            if not bool(keep.all()):
                kept = xp.flatnonzero(keep)
        # private copies of the kept indices: changing ``input`` in place after this call
        # must not change the gradient (the ops save these arrays, not ``input``)
        idx_k = idx[:end].astype(xp.intp) if kept is None else idx[kept]
        bag_k = bag_of if kept is None else bag_of[kept]
        counts = sizes if kept is None else xp.bincount(bag_k, minlength=nbags)

    if mode == "max" and idx_k.size and is_vmap_batched(w):
        return _bag_max_per_sample(weight, idx_k, counts, nbags)  # weight batched by vmap
    if not (meta or sparse or scale_grad_by_freq) and xp is np and w.dtype.char in "fd":
        # one EmbeddingBagBackward0 node, as PyTorch's (ops/embedding_bag_node.py)
        offs = (
            _raw(offsets).reshape(-1)
            if offsets is not None
            else np.arange(0, n, max(idx_arr.shape[-1], 1), dtype=idx.dtype)
        )
        plan = BagPlan(
            mode=mode, idx=idx, n=n, end=end, nbags=nbags, idx_k=idx_k, bag_k=bag_k,
            counts=counts, kept=kept, offsets=offs, padding_idx=padding_idx,
            full_offset2bag=mode != "sum" or padding_idx is not None or w.dtype != np.float32,
        )  # fmt: skip
        if mode == "max":
            _max_plan(plan, w)
        psw = per_sample_weights
        if psw is not None and psw.ndim != 1:  # PyTorch's flat view of a 2-d one
            psw = reshape(psw, (-1,))
        return EmbeddingBagFn.apply(weight, psw, plan=plan)
    if mode == "max" and idx_k.size and not meta:  # (meta: the shape of the sums)
        return _bag_max(weight, idx_k, bag_k, counts, nbags)
    rows = EmbeddingFn.apply(weight, idx_k, None, bool(scale_grad_by_freq), bool(sparse))
    if per_sample_weights is not None:
        psw = reshape(per_sample_weights, (-1, 1))
        if kept is not None:
            psw = EmbeddingFn.apply(psw, kept, None)
        elif end < n:
            psw = psw[:end]
        rows = rows * psw
    out = _scatter_rows(rows, (nbags, dim), bag_k)
    if mode == "mean":
        denom = follow(xp.maximum(xp.asarray(counts), 1).astype(w.dtype)[:, None], counts)
        out = out / Tensor._make(denom, False, None, 0)
    return out


def _max_plan(plan: BagPlan, w: np.ndarray) -> None:
    """mode='max': the non-empty bags, the arg-maxima ``pos`` (rows of ``idx_k``) and the
    flat positions in ``w`` of the maxima (``flat``, (B', D)) on ``plan``."""
    dim = w.shape[1]
    counts = np.asarray(plan.counts)
    plan.nonempty = np.flatnonzero(counts)
    if plan.idx_k.size == 0:
        plan.flat = np.zeros((0, dim), np.intp)
        return
    seg_starts = (np.cumsum(counts) - counts)[plan.nonempty]
    seg_of = np.repeat(np.arange(plan.nonempty.size), counts[plan.nonempty])
    plan.pos = _segment_argmax(w[plan.idx_k], seg_starts, seg_of)  # (B', D) rows of idx_k
    plan.flat = plan.idx_k[plan.pos].astype(np.intp) * dim + np.arange(dim)


def _bag_max(weight: Tensor, idx_k: Any, bag_k: Any, counts: Any, nbags: int) -> Tensor:
    """mode='max' for at least one kept index: arg-maxima on arrays, then one element gather
    of W (its gradient: one scatter-add of (B, D) elements into dW)."""
    w = weight._data
    xp = get_array_module(w)
    num, dim = w.shape
    counts = xp.asarray(counts)
    nonempty = xp.flatnonzero(counts)
    seg_starts = (xp.cumsum(counts) - counts)[nonempty]
    seg_of = xp.repeat(xp.arange(nonempty.size), counts[nonempty])
    pos = _segment_argmax(w[idx_k], seg_starts, seg_of)  # (B', D) rows of idx_k
    flat = idx_k[pos].astype(xp.intp) * dim + xp.arange(dim)
    out = reshape(EmbeddingFn.apply(reshape(weight, (num * dim, 1)), flat, None), pos.shape)
    if nonempty.size < nbags:
        out = _scatter_rows(out, (nbags, dim), nonempty)
    return out


def _bag_max_per_sample(weight: Tensor, idx_k: Any, counts: Any, nbags: int) -> Tensor:
    """mode='max' of a weight batched by ``cr.func.vmap`` (its raw array a per-sample
    ``LogicalArray``): each sample's arg-maxima from the physical array (the same first
    largest value as :func:`_bag_max`), then one element gather of the flattened weight with
    those per-sample positions, which the ops' batching rules run (its gradient: a scatter
    into each sample's dW), as PyTorch batches ``embedding_bag``."""
    w = weight._data
    if w.phys is None:  # a nested-vmap value: no single physical array
        w.__getattr__("embedding_bag(mode='max') of a nested-vmap weight")
    num, dim = w.shape
    counts = np.asarray(counts)
    nonempty = np.flatnonzero(counts)
    seg_starts = (np.cumsum(counts) - counts)[nonempty]
    seg_of = np.repeat(np.arange(nonempty.size), counts[nonempty])
    flat = np.stack(
        [
            idx_k[_segment_argmax(sample[idx_k], seg_starts, seg_of)].astype(np.int64) * dim
            + np.arange(dim)
            for sample in np.asarray(w.phys)
        ]
    )  # (batch, B', D): flat positions in each sample's weight
    pos = Tensor._make(type(w).of(flat.reshape(flat.shape[0], -1), w.level), False, None, 0)
    out = reshape(reshape(weight, (num * dim,)).gather(0, pos), (nonempty.size, dim))
    if nonempty.size < nbags:
        out = _scatter_rows(out, (nbags, dim), nonempty)
    return out
