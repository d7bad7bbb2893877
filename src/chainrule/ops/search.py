"""Sorting, searching and counting: ``sort``, ``argsort``, ``topk``, ``searchsorted``,
``bucketize``, ``histc``, ``unique``, and ``multinomial`` sampling.

Indices and counts have no gradient, so most of these are plain functions on arrays, as in
PyTorch. The values ``sort`` and ``topk`` return are differentiable: they are a ``gather`` of
the input at the sorted indices, so their gradient scatters back to where each value came from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from .._layout import is_vmap_batched
from .._user_warnings import warn_once
from ..autograd.saved_fields import given  # grad_fn._saved_*
from ..autograd.state import LOCAL as _vmap
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..dtypes import is_bfloat16, is_floating
from ..float8 import refuse as _refuse_float8
from ..meta import MetaArray
from ..meta.array import ACTIVE as _META
from ..meta.results import any_meta, meta_result
from ..random import Generator, gen
from ._result_layout import like_layout
from ._tensor_args import PYTHON_DATA, invalid_combination
from ._topk_select import nth_element_order
from ._util import ShapeError, as_tensor, no_integer_kernel, norm_dim, refuse_complex_order
from .binding import numpy_keywords, tensor_method
from .no_derivative import record_no_derivative
from .number_arguments import parser_int
from .overload_errors import refuse_searchsorted_types
from .selected_values import selected_values
from .sorting_arguments import UNSET as _UNSET
from .sorting_arguments import refuse_sort_types, refuse_stable_form, refuse_topk_types

__all__ = ["argsort", "bucketize", "histc", "multinomial", "searchsorted", "sort", "topk", "unique"]


_SEARCHSORTED_FORMS = (
    "(Tensor sorted_sequence, Tensor input, *, bool out_int32 = False, bool right = False, "
    "str side = None, Tensor sorter = None, Tensor out = None)",
    "(Tensor sorted_sequence, Number self, *, bool out_int32 = False, bool right = False, "
    "str side = None, Tensor sorter = None, Tensor out = None)",
)
_BUCKETIZE_FORMS = (
    "(Tensor input, Tensor boundaries, *, bool out_int32 = False, bool right = False, "
    "Tensor out = None)",
    "(Number self, Tensor boundaries, *, bool out_int32 = False, bool right = False)",
)
_NOT_NUMBER = (list, tuple, str, type(None))  # Python data no overload takes as its value


def _refuse_python_data(name: str, forms: tuple, params: tuple, options: dict) -> None:
    """PyTorch's TypeError when no overload of ``searchsorted``/``bucketize`` takes the
    arguments: the sorted sequence given as Python data (a list), the values as a list or
    None, the sorter as anything but a Tensor (the error path only)."""
    (seq_name, seq), (_, values) = params
    if seq_name == "input":  # bucketize: (input, boundaries)
        (_, values), (seq_name, seq) = params
    sorter = options.get("sorter")
    if (
        isinstance(seq, PYTHON_DATA)
        or isinstance(values, _NOT_NUMBER)
        or (sorter is not None and isinstance(sorter, PYTHON_DATA))
    ):
        given = tuple((k, v) for k, v in options.items() if v not in (None, False))
        raise invalid_combination(name, params + given, forms)


def _arr(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _index_dtype(out_int32: bool) -> np.dtype:
    return np.dtype(np.int32 if out_int32 else np.int64)


@numpy_keywords
def searchsorted(
    sorted_sequence: Any,
    input: Any,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Any = None,
) -> Tensor:
    """Indices where ``input`` would be inserted into ``sorted_sequence`` to keep it sorted.

    ``sorted_sequence`` is 1-d (shared by all values) or N-d, sorted along its last dim, with
    ``input`` having the same leading dims. ``right``/``side='right'`` returns the last
    suitable position.

    Raises:
        RuntimeError: ``side`` and ``right`` disagree, or leading dims differ.
    """
    if type(right) is not bool or type(out_int32) is not bool:
        refuse_searchsorted_types(sorted_sequence, input, out_int32, right, side, sorter)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise RuntimeError(
                "searchsorted: side and right can't be set to opposites, got "
                "side='left' and right=True"
            )
        right = side == "right"
    if (
        not isinstance(sorted_sequence, Tensor)
        or not isinstance(input, Tensor)
        or (sorter is not None and not isinstance(sorter, Tensor))
    ):
        options = {"out_int32": out_int32, "right": right, "side": side, "sorter": sorter}
        params = (("sorted_sequence", sorted_sequence), ("input", input))
        _refuse_python_data("searchsorted", _SEARCHSORTED_FORMS, params, options)
    _refuse_float8("searchsorted_out_cpu", sorted_sequence, input)
    if _vmap.state.vmap:  # inside cr.func.vmap: batched arguments run per sample
        from ..func._per_sample import per_sample  # noqa: PLC0415 - func imports the ops

        kw = {"out_int32": out_int32, "right": right, "sorter": sorter}
        res = per_sample(searchsorted, sorted_sequence, input, **kw)
        if res is not NotImplemented:
            return res
    for what, t in (("boundary", sorted_sequence), ("input value", input)):
        if (
            isinstance(t, Tensor)
            and not t._data.flags.c_contiguous
            and t._data.size > 1
            and type(t._data) is not MetaArray  # (zero strides: contiguous on meta)
        ):
            warn_once(  # NumPy copies it to a contiguous array first, as PyTorch does
                f"searchsorted_{what}",
                f"torch.searchsorted(): {what} tensor is non-contiguous, this will lower the "
                "performance due to extra data copy when converting non-contiguous tensor to "
                f"contiguous, please use contiguous {what} tensor if possible. This message "
                "will only appear once per program.",
            )
    seq, scalar = _arr(sorted_sequence), not isinstance(input, (Tensor, np.ndarray, list, tuple))
    vals = np.asarray(_arr(input))
    refuse_complex_order("searchsorted", seq, vals, error=NotImplementedError)
    if seq.dtype == np.bool_ and vals.dtype == np.bool_:  # PyTorch: no kernel for a common bool
        raise NotImplementedError(
            "searchsorted: \"searchsorted_out_cpu\" not implemented for 'Bool'"
        )
    if (
        _META
        and any_meta(sorted_sequence, input)
        and (seq.ndim == 1 or (vals.ndim == seq.ndim and vals.shape[:-1] == seq.shape[:-1]))
    ):  # no values to search: the indices' shape and dtype, as PyTorch's meta kernel
        return meta_result(() if scalar else vals.shape, _index_dtype(out_int32))
    if sorter is not None:
        seq = np.take_along_axis(seq, _arr(sorter).astype(np.int64), axis=-1)
    how = "right" if right else "left"
    if seq.ndim == 1:
        out = np.searchsorted(seq, vals, side=how)
    else:
        if vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(
                f"searchsorted: boundaries {tuple(seq.shape)} and input "
                f"{tuple(vals.shape)} must have the same leading dims (all but "
                "the last)"
            )
        rows = int(np.prod(seq.shape[:-1]))  # not -1: ambiguous when a dim is 0
        flat_s = seq.reshape(rows, seq.shape[-1])
        flat_v = vals.reshape(rows, vals.shape[-1])
        found = [np.searchsorted(s, v, side=how) for s, v in zip(flat_s, flat_v)]
        out = (np.stack(found) if rows else np.zeros(0, np.int64)).reshape(vals.shape)
    out = np.asarray(out, dtype=_index_dtype(out_int32))
    return Tensor._new(out.reshape(()) if scalar else out)


@tensor_method(keywords=True)
def bucketize(
    input: Any, boundaries: Any, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    """The bucket of each value given 1-d sorted ``boundaries``: ``right=False`` puts ``x`` in
    bucket ``i`` when ``boundaries[i-1] < x <= boundaries[i]`` (PyTorch's convention)."""
    if not isinstance(input, Tensor) or not isinstance(boundaries, Tensor):
        params = (("input", input), ("boundaries", boundaries))
        options = {"out_int32": out_int32, "right": right}
        _refuse_python_data("bucketize", _BUCKETIZE_FORMS, params, options)
    b = _arr(boundaries)
    if b.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({b.ndim})")
    if is_vmap_batched(b):  # per-sample boundaries (cr.func.vmap)
        b = boundaries
    return searchsorted(b, input, out_int32=out_int32, right=right)


@tensor_method(keywords=True)
def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Histogram with ``bins`` equal-width bins over [min, max] (the data's own range when
    ``min == max``); values outside are ignored. Returns counts in ``input``'s float dtype."""
    x = as_tensor(input)
    _refuse_float8("aminmax_cpu", x)  # (PyTorch's first kernel: the data's range)
    no_integer_kernel("histc", x)  # NotImplementedError, as PyTorch's "not implemented for"
    if not is_floating(x.dtype):
        raise RuntimeError(f"histc: expected a floating-point tensor, got {x.dtype}")
    if type(bins) is not int:  # PyTorch's parser: a NumPy or 0-d tensor int, else its error
        bins = parser_int("histc", "bins", 2, bins)
    if bins <= 0:
        raise RuntimeError(f"histc: bins must be > 0, got {bins!r}")
    if is_vmap_batched(x._data):  # cr.func.vmap: once per sample
        from ..func._per_sample import per_sample  # noqa: PLC0415 - func imports the ops

        return per_sample(histc, x, bins, min, max)
    if type(x._data) is MetaArray:  # no values to count: the counts' shape (PyTorch's meta)
        return meta_result((int(bins),), x.dtype)
    data = np.asarray(x._data).ravel()
    if is_bfloat16(x.dtype):  # NumPy has no bfloat16 arithmetic: count its float32 values
        data = data.astype(np.float32)
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError(f"histc: max must be larger than min, got min={lo}, max={hi}")
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"histc: range of [{lo}, {hi}] is not finite")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    counts = _histc_counts(data, int(bins), lo, hi)
    xp = get_array_module(x._data)
    return Tensor._make(xp.asarray(counts.astype(x.dtype)), False, None, 0)


def _histc_counts(data: np.ndarray, bins: int, lo: float, hi: float) -> np.ndarray:
    """Counts of ``data`` in ``bins`` equal bins over [lo, hi], as PyTorch's CPU kernel finds
    them in the data's dtype: a range wider than the dtype holds (``max - min`` overflows)
    makes its first bin edge ``min + 0 * inf``, NaN, so nothing is counted."""
    with np.errstate(over="ignore", invalid="ignore"):
        if not np.isfinite(data.dtype.type(hi) - data.dtype.type(lo)):
            return np.zeros(bins, np.int64)
    # PyTorch's position (x - min) * bins / (max - min), in the data's dtype (a float32
    # value can round into the bin below NumPy's float64 one), the last edge in the last bin
    t = data.dtype.type if data.dtype.kind == "f" else np.float64
    lo_, hi_ = t(lo), t(hi)
    inside = data[(data >= lo_) & (data <= hi_)].astype(t)
    with np.errstate(over="ignore", invalid="ignore"):
        pos = ((inside - lo_) * t(bins) / (hi_ - lo_)).astype(np.int64)
    return np.bincount(np.clip(pos, 0, bins - 1), minlength=bins)


@tensor_method
def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,  # noqa: A002
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct elements (or slices along ``dim``), in ascending order, with optional
    inverse indices (same shape as ``input``, or its length along ``dim``) and counts."""
    x = as_tensor(input)
    refuse_complex_order("unique", x, error=NotImplementedError)  # PyTorch: no kernel
    _refuse_float8("unique", x)
    if is_vmap_batched(x._data):  # cr.func.vmap: PyTorch refuses
        from ..func._logical import dynamic_shape  # noqa: PLC0415 - func imports the ops

        raise dynamic_shape("aten::_unique2")
    if type(x._data) is MetaArray:  # the distinct values are the data's: none on meta
        np.unique(x._data)  # (the meta device's NotImplementedError, chainrule/meta)
    data = np.asarray(x._data)
    if dim is not None:
        if x.ndim == 0:
            raise IndexError("unique: dim given for a 0-d tensor")
        d = norm_dim(dim, x.ndim, "unique")[0]
        if x.shape[d] and 0 in x.shape:  # as PyTorch (and unique_consecutive)
            raise RuntimeError(
                f"unique: input of shape {tuple(x.shape)} has 0-sized dimensions other than "
                f"dim={dim}, so its slices along dim cannot be compared"
            )
        moved = np.moveaxis(data, d, 0)
        vals, inv, counts = np.unique(moved, axis=0, return_inverse=True, return_counts=True)
        vals = np.moveaxis(vals, 0, d)
        inv = inv.reshape(-1)
    else:
        # each NaN is its own value (NaN != NaN), sorted last, as PyTorch's
        vals, inv, counts = np.unique(
            data, return_inverse=True, return_counts=True, equal_nan=False
        )
        inv = inv.reshape(data.shape)
    out = [record_no_derivative("_unique2", Tensor._new(vals), x)]
    if return_inverse:
        out.append(Tensor._new(inv.astype(np.int64)))
    if return_counts:
        out.append(Tensor._new(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@tensor_method(keywords=True)
def multinomial(
    input: Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Draw ``num_samples`` category indices per row of non-negative ``input`` weights.

    Without replacement (and for one sample) each row yields distinct indices, each draw
    proportional to the remaining weights: the top ``num_samples`` of ``w / e`` with ``e``
    exponential draws (one vectorised pass); once the positive weights are used up,
    zero-weight categories follow. With replacement, each row's float64 uniforms are looked
    up in its normalised cumulative weights. Both draw what PyTorch's CPU kernel draws, so
    a seeded ``multinomial`` (a GPT's sampling, ``WeightedRandomSampler``) gives PyTorch's
    indices.

    Raises:
        RuntimeError: weights negative, non-finite or all zero; too many samples without
            replacement; input not 1-d or 2-d.
    """
    if type(num_samples) is not int:  # PyTorch's parser: an int (NumPy's, a 0-d int tensor)
        num_samples = parser_int("multinomial", "num_samples", 2, num_samples)
    if _vmap.state.vmap and isinstance(input, Tensor):  # inside cr.func.vmap: by its mode
        from ..func._random import batched_call  # noqa: PLC0415 - func imports the ops

        if input.ndim not in (1, 2):
            raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {input.ndim}")

        args, kw = (input, num_samples, replacement), {"generator": generator}
        if (res := batched_call(_multinomial_rows, args, kw, expand=True)) is not None:
            return res
    x = as_tensor(input)
    w = np.asarray(x._data, dtype=np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {w.ndim}")
    if x.dtype.kind not in "fV":  # V: bfloat16
        raise RuntimeError(
            f"multinomial: only supports floating-point dtypes for input, got {x.dtype}"
        )
    rows = w.reshape(-1, w.shape[-1])
    if not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples, got {num_samples!r}")
    if type(x._data) is MetaArray and (replacement or num_samples <= rows.shape[-1]):
        # no weights to draw by: the indices' shape, nothing drawn (PyTorch's meta kernel)
        return meta_result(w.shape[:-1] + (int(num_samples),), np.int64)
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError(
            "multinomial: probability tensor contains either inf, nan or element < 0"
        )
    if (rows.sum(-1) <= 0).any():
        raise RuntimeError(
            "multinomial: invalid multinomial distribution (sum of probabilities <= 0)"
        )
    if not replacement and num_samples > rows.shape[-1]:
        raise RuntimeError(
            f"multinomial: cannot sample n_sample ({num_samples}) > "
            f"prob_dist.size(-1) ({rows.shape[-1]}) samples without replacement"
        )
    rng = gen(generator)
    if replacement and num_samples > 1:
        out = np.stack([categorical_draws(rng, r, int(num_samples), lookup=True) for r in rows])
    else:  # one vectorised pass over the rows
        out = np.argsort(-_exponential_keys(rng, rows), axis=-1, kind="stable")
        out = out[:, : int(num_samples)].astype(np.int64)
    return Tensor._new(out.reshape(w.shape[:-1] + (int(num_samples),)))


def _multinomial_rows(
    input: Tensor, num_samples: int, replacement: bool, *, generator: Generator | None
) -> Tensor:
    """:func:`multinomial` of a physical (batch dims first) tensor of weights under
    ``cr.func.vmap(randomness='different')``: every sample's rows flattened into one 2-d
    draw, in order (PyTorch's batching rule), then the batch dims restored."""
    flat = input.reshape(-1, input.shape[-1])
    out = multinomial(flat, num_samples, replacement, generator=generator)
    return out.reshape(*input.shape[:-1], out.shape[-1])


def _exponential_keys(rng: Any, w: np.ndarray) -> np.ndarray:
    """``w / Exp(1)`` per weight, from PyTorch's float64 uniforms: the top ``n`` keys are a
    draw of ``n`` categories without replacement (torch.multinomial's construction)."""
    with np.errstate(divide="ignore"):
        return w / -np.log1p(-rng.random(w.shape))


def categorical_draws(rng: Any, w: np.ndarray, n: int, *, lookup: bool) -> np.ndarray:
    """``n`` category indices (int64) drawn from 1-d non-negative weights ``w`` as
    ``torch.multinomial`` draws them: ``lookup`` (its path with replacement and more than one
    sample) looks float64 uniforms up in the normalised cumulative weights; otherwise the
    top ``n`` of ``w / Exp(1)`` (distinct categories). Shared by :func:`multinomial` and
    ``WeightedRandomSampler``, which draws its samples in blocks."""
    if lookup:
        found = np.searchsorted(np.cumsum(w) / w.sum(), rng.random(n), "left")
        return np.minimum(found, len(w) - 1).astype(np.int64)
    return np.argsort(-_exponential_keys(rng, w), kind="stable")[:n].astype(np.int64)


def _descending_order(xp: Any, a: Any, axis: int) -> Any:
    """The stable descending order of ``a`` along ``axis``, NaN first: PyTorch takes NaN as
    the largest value, NumPy's argsort puts it last whatever the keys' sign. The NaN check
    is one pass next to the sort; only with a NaN are the orders partitioned (stably), by
    two gathers; under vmap (an array that is not ``xp.ndarray``, whose gathers have no
    per-sample form) by argsorts only, about twice as slow: each element's rank in that
    order (the inverse permutation, an argsort of it) less n for a NaN, sorted again.
    Integers and bools are reversed with ``~`` (-x - 1 for signed, max - x for unsigned, not
    for bool): a strict order reversal that, unlike ``-x``, never wraps (``-(-128)`` is -128
    in int8, ``-1`` is 255 in uint8) and exists for bool (NumPy refuses ``-`` there)."""
    order = xp.argsort(~a if a.dtype.kind in "biu" else -a, axis=axis, kind="stable")
    if a.dtype.kind in "fV" and xp.isnan(a).any():  # V: bfloat16
        if not isinstance(a, xp.ndarray):  # vmap's batched array
            rank = xp.argsort(order, axis=axis, kind="stable")  # NaN last, in their order
            return xp.argsort(rank - xp.isnan(a) * a.shape[axis], axis=axis, kind="stable")
        nan_in_order = xp.isnan(xp.take_along_axis(a, order, axis))
        order = xp.take_along_axis(order, xp.argsort(~nan_in_order, axis=axis, kind="stable"), axis)
    return order


@tensor_method(keywords=True)
def sort(
    input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool | None = _UNSET
) -> return_types.sort:
    """(values, indices) sorted along ``dim``; values are differentiable (a gather).

    The sort is always stable (equal values keep their order), so ``stable=True`` asks for
    what every call gets; PyTorch's ``stable=False`` merely allows another order. As in
    PyTorch, ``stable=`` takes ``dim`` and ``descending`` by keyword only.
    """
    if stable is not _UNSET:
        refuse_stable_form("sort", input, dim, descending, stable)
    if type(descending) is not bool or type(dim) is not int:  # (a NumPy int passes)
        refuse_sort_types("sort", input, dim, descending)
    refuse_complex_order("sort", input)
    given_dim, dim = dim, norm_dim(dim, max(input.ndim, 1), "sort")[0]
    if input.ndim == 0:  # a 0-d tensor is its own sort (PyTorch)
        zero = Tensor._make(np.zeros((), np.int64), False, None, 0)
        return return_types.sort(input.clone(), zero)
    xp = get_array_module(input._data)
    if descending:
        idx = _descending_order(xp, input._data, dim)
    else:
        idx = xp.argsort(input._data, axis=dim, kind="stable")
    # PyTorch: both results in torch.empty_like(input)'s layout (a size-1 dim's stride too)
    idx = like_layout(idx, input._data)
    idx = Tensor._make(idx, False, None, 0)
    values = given(selected_values("sort", input, dim, idx), dim=given_dim)  # _saved_dim
    return return_types.sort(values, idx)


@tensor_method(keywords="axis")
def argsort(
    input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = _UNSET
) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (``sort(...).indices``; always stable;
    ``stable=`` with ``dim``/``descending`` by keyword only, as PyTorch)."""
    if stable is not _UNSET:
        refuse_stable_form("argsort", input, dim, descending, stable)
    if type(descending) is not bool or type(dim) is not int:  # as sort's
        refuse_sort_types("argsort", input, dim, descending)
    return sort(input, dim, descending).indices


def _unsorted_order(a: np.ndarray, k: int, dim: int, largest: bool) -> np.ndarray:
    """``topk(sorted=False)``'s indices: each row's ``k`` first pairs after PyTorch's
    ``std::nth_element`` (see ``_topk_select``)."""
    rows = np.moveaxis(a, dim, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    out = np.empty((flat.shape[0], k), dtype=np.int64)
    for r in range(flat.shape[0]):
        out[r] = nth_element_order(flat[r], k, largest)
    return np.ascontiguousarray(np.moveaxis(out.reshape(*rows.shape[:-1], k), -1, dim))


@tensor_method(keywords=True)
def topk(
    input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
) -> return_types.topk:  # noqa: A002 - PyTorch's name
    """The ``k`` largest (or smallest) entries along ``dim``: (values, indices)."""
    if not (type(k) is int and type(dim) is int and type(largest) is type(sorted) is bool):
        refuse_topk_types(k, dim, largest, sorted)  # PyTorch's parser types (or returns)
    refuse_complex_order("topk", input)
    if input._data.dtype.kind == "b":  # as PyTorch's CPU kernel (checked before dim, as it)
        raise RuntimeError(
            "topk does not support bool dtypes on CPU; convert the input first (x.to(torch.uint8))"
        )
    given_dim, dim = dim, norm_dim(dim, max(input.ndim, 1), "topk")[0]
    n = input.shape[dim] if input.ndim else 1
    if not 0 <= k <= n:
        raise ShapeError(f"topk: k={k} is out of range for dimension {dim} of size {n}")
    if input.ndim == 0:  # PyTorch returns the element itself for k = 0 or 1
        return return_types.topk(*sort(input))
    xp = get_array_module(input._data)
    if not sorted and k * 64 > n and xp is np:  # PyTorch's nth_element order (a partial
        idx = _unsorted_order(input._data, k, dim, largest)  # sort's, sorted, below that)
    else:
        if largest:
            idx = _descending_order(xp, input._data, dim)
        else:
            idx = xp.argsort(input._data, axis=dim, kind="stable")
        idx = xp.take(idx, xp.arange(k), axis=dim)
    idx = Tensor._make(idx, False, None, 0)
    values = given(selected_values("topk", input, dim, idx), dim=given_dim)  # _saved_dim
    return return_types.topk(values, idx)
