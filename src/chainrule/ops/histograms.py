"""``histogram`` and ``histogramdd`` (no gradient; re-exported by ``ops/misc_more.py``
through ``_misc_more_root.py``): PyTorch's bin edges (a linspace over the range, or given
edges) and its search of a value's bin, with weights and density."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import creation, return_types
from ..autograd.tensor import Tensor
from ..meta.results import refuse_meta
from ._util import as_tensor
from .binding import tensor_method
from .no_derivative import record_no_derivative

__all__ = ["Histogram", "HistogramDD", "histogram", "histogramdd"]


Histogram = return_types.histogram  # torch.return_types.histogram
"""``histogram``'s result, with PyTorch's field names (``torch.return_types.histogram``)."""
HistogramDD = return_types.histogramdd  # torch.return_types.histogramdd
"""``histogramdd``'s result (``torch.return_types.histogramdd``); ``bin_edges`` a tuple."""


def _hist_args(op: str, x: Tensor, weight: Any) -> np.ndarray | None:
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for {x.dtype} (floating input only)')
    if weight is None:
        return None
    w = as_tensor(weight)
    if w.dtype != x.dtype:
        raise RuntimeError(f"{op}: expected weight to have dtype {x.dtype}, got {w.dtype}")
    return np.asarray(w._data)


def _histogram_bins(
    x: Tensor,
    data: np.ndarray,
    bins: Any,
    range: Any,  # noqa: A002 - PyTorch's name
) -> tuple[Any, tuple[float, float] | None]:
    """``histogram``'s ``bins`` and ``range`` checked as PyTorch checks them (RuntimeError,
    TypeError for a float count or a range given with edges), as NumPy's arguments."""
    if isinstance(bins, Tensor):
        if range is not None:
            raise TypeError("histogram: range= is only accepted with an integer bins count")
        if bins.ndim != 1:
            raise RuntimeError(
                f"histogram: bins tensor should have one dimension, but got {bins.ndim} dimensions"
            )
        if bins.numel() == 0:
            raise RuntimeError("histogram: bins tensor should have at least 1 element, got 0")
        if bins.numel() == 1:  # PyTorch's message: the bin count is 0
            raise RuntimeError(
                "torch.histogram(): bins must be > 0, but got 0 for dimension 0 (one edge)"
            )
        if bins.dtype != x.dtype:
            raise RuntimeError(
                f"histogram: input tensor and bins tensor should have the same dtype, but got "
                f"input with dtype {x.dtype} and bins with dtype {bins.dtype}"
            )
        return np.asarray(bins._data), None
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)):
        raise TypeError(
            f"histogram: bins must be an int or a 1-d tensor of edges, got {type(bins).__name__}"
        )
    if bins <= 0:
        raise RuntimeError(f"histogram: bins must be > 0, but got {bins}")
    if range is not None:
        if len(range) != 2:
            raise RuntimeError(
                f"histogram: for a 1-dimensional histogram range should have 2 elements, "
                f"but got {len(range)}"
            )
        lo, hi = float(range[0]), float(range[1])
        what = "range"
    elif data.size:
        lo, hi = float(data.min()), float(data.max())
        what = "data range"
    else:
        return builtins.int(bins), None
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"histogram: {what} [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError(f"histogram: min should not exceed max, but got min {lo} max {hi}")
    return builtins.int(bins), (lo, hi)


def _upper_bound(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """C++'s ``std::upper_bound`` of each value in ``edges``, step for step (a binary search
    that assumes sorted edges; on unsorted ones, or NaN, it lands where that search lands)."""
    first = np.zeros(values.shape, np.int64)
    count = np.full(values.shape, edges.size, np.int64)
    while (count > 0).any():
        step = count // 2
        probe = np.minimum(first + step, edges.size - 1)
        right = (count > 0) & ~(values < edges[probe])
        first = np.where(right, first + step + 1, first)
        count = np.where(right, count - step - 1, np.where(count > 0, step, 0))
    return first


def _unsorted_edges_histogram(
    data: np.ndarray,
    edges: np.ndarray,
    weights: np.ndarray | None,
    density: bool,
    local: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``torch.histogram`` with edges that do not increase (decreasing, unordered, NaN):
    PyTorch raises nothing but counts the values in ``[edges[0], edges[-1]]`` (none when the
    first edge exceeds the last) in the bin its binary search finds; NumPy refuses.
    ``local``: equal bins (a bin count), where PyTorch searches only the edges around the
    bin its linear estimate gives (which decides among edges that rounded together)."""
    keep = (data >= edges[0]) & (data <= edges[-1])
    if local:
        vals = data[keep]
        n = edges.size
        with np.errstate(all="ignore"):
            est = ((vals - edges[0]) * (n - 1) / (edges[-1] - edges[0])).astype(np.int64)
        lo, hi = np.maximum(est - 1, 0), np.minimum(est + 2, n)
        pos = lo - 1
        for j in builtins.range(3):  # upper_bound within edges[lo:hi] (three at most)
            at = np.minimum(lo + j, n - 1)
            pos = np.where((lo + j < hi) & (edges[at] <= vals), lo + j, pos)
    else:
        pos = _upper_bound(edges, data[keep]) - 1
    pos = np.where(pos == edges.size - 1, pos - 1, pos)
    w = None if weights is None else weights[keep]
    hist = np.bincount(pos, weights=w, minlength=edges.size - 1).astype(np.float64)
    if density:
        hist = hist / (hist.sum() * np.diff(edges.astype(np.float64)))
    return hist, edges


@tensor_method(keywords=True)
def histogram(
    input: Tensor,  # noqa: A002 - PyTorch's name
    bins: Any = 100,
    *,
    range: Sequence[float] | None = None,  # noqa: A002 - PyTorch's name
    weight: Tensor | None = None,
    density: bool = False,
) -> Histogram:
    """``torch.histogram``: the counts (or weight sums, or densities) of ``input``'s values
    in ``bins`` equal bins over ``range`` (the data's min to max by default) or between the
    edges of a 1-d tensor ``bins``; the last bin includes its right edge. Not
    differentiable. Returns ``(hist, bin_edges)`` in ``input``'s dtype.

    Raises:
        NotImplementedError: integer input (as PyTorch).
        RuntimeError: a weight of another shape or dtype.
    """
    x = as_tensor(input)
    if x.dtype == np.float16:
        raise NotImplementedError('"histogram" not implemented for torch.float16')
    w = _hist_args("histogram", x, weight)
    if w is not None and w.shape != x.shape:
        raise RuntimeError(
            f"histogram: if weight tensor is provided, it should have the same shape as the "
            f"input tensor, got {tuple(w.shape)} and {tuple(x.shape)}"
        )
    refuse_meta("histogram.bin_ct", x)  # PyTorch has no meta kernel for it
    data = np.asarray(x._data).ravel()
    b, lohi = _histogram_bins(x, data, bins, range)
    weights = w if w is None else w.ravel()
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 densities: NaN, silently
        if isinstance(b, np.ndarray) and not (b[1:] >= b[:-1]).all():
            hist, edges = _unsorted_edges_histogram(data, b, weights, density)
        elif lohi is not None:
            # PyTorch's equal bins: its linspace edges (NumPy's differ by an ulp, and refuse
            # a range a few ulps wide: "Too many bins for data range") and its local search
            lo, hi = lohi if lohi[0] != lohi[1] else (lohi[0] - 0.5, lohi[1] + 0.5)
            edges = creation.linspace_points(lo, hi, b + 1, data.dtype)
            hist, edges = _unsorted_edges_histogram(data, edges, weights, density, local=True)
        else:
            hist, edges = np.histogram(data, b, range=lohi, weights=weights, density=density)
    hist = record_no_derivative("histogram", Tensor._new(hist.astype(x.dtype)), x, weight)
    return Histogram(hist, Tensor._new(edges.astype(x.dtype)))


def histogramdd(
    input: Tensor,  # noqa: A002 - PyTorch's name
    bins: Any,
    *,
    range: Sequence[float] | None = None,  # noqa: A002 - PyTorch's name
    weight: Tensor | None = None,
    density: bool = False,
) -> HistogramDD:
    """``torch.histogramdd``: the multi-dimensional histogram of the points in ``input``'s
    rows (its last dim holds the coordinates); ``bins`` one count, a count per dim or a
    1-d tensor of edges per dim; ``range`` a flat list ``[min0, max0, min1, max1, ...]``.
    Returns ``(hist, bin_edges)``, ``bin_edges`` a tuple of one tensor per dim.

    Raises:
        NotImplementedError: integer input (as PyTorch).
    """
    x = as_tensor(input)
    w = _hist_args("histogramdd", x, weight)
    pts = np.asarray(x._data).reshape(-1, x.shape[-1] if x.ndim else 1)
    k = pts.shape[1]
    if isinstance(bins, (list, tuple)):
        b = [np.asarray(e._data) if isinstance(e, Tensor) else builtins.int(e) for e in bins]
    else:
        b = builtins.int(bins)
    rng = None
    if range is not None:
        if len(range) != 2 * k:
            raise RuntimeError(
                f"torch.histogramdd: for a {k}-dimensional histogram range should have "
                f"{2 * k} elements, but got {len(range)}"
            )
        rng = [(range[2 * i], range[2 * i + 1]) for i in builtins.range(k)]
    hist, edges = np.histogramdd(
        pts, b, range=rng, weights=None if w is None else w.reshape(-1), density=density
    )
    return HistogramDD(
        Tensor._new(hist.astype(x.dtype)),
        tuple(Tensor._new(e.astype(x.dtype)) for e in edges),
    )
