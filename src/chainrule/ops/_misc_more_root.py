"""Root functions of ``ops/misc_more.py`` that compute no gradient (re-exported there):
``binomial``, ``histogram``/``histogramdd``, ``nonzero_static``, the deprecated ``range``,
the conjugation/negation-bit queries, ``to_dlpack``, ``frombuffer``, ``empty_permuted``,
the deterministic debug mode and ``init_num_threads``.
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import creation, return_types
from .. import dtypes as _dt
from .._kernels import random_draws
from ..autograd.tensor import Tensor
from ..creation_options import check_layout, write_factory_out
from ..determinism import (
    are_deterministic_algorithms_enabled,
    is_deterministic_algorithms_warn_only_enabled,
    use_deterministic_algorithms,
)
from ..random import Generator, gen
from ..random_mt19937 import TorchStream
from ._util import as_tensor
from .binding import tensor_method
from .no_derivative import record_no_derivative

__all__ = [
    "Histogram",
    "HistogramDD",
    "binomial",
    "empty_permuted",
    "frombuffer",
    "get_deterministic_debug_mode",
    "histogram",
    "histogramdd",
    "init_num_threads",
    "is_conj",
    "is_neg",
    "nonzero_static",
    "range",
    "resolve_conj",
    "resolve_neg",
    "set_deterministic_debug_mode",
    "to_dlpack",
]


Histogram = return_types.histogram  # torch.return_types.histogram
"""``histogram``'s result, with PyTorch's field names (``torch.return_types.histogram``)."""
HistogramDD = return_types.histogramdd  # torch.return_types.histogramdd
"""``histogramdd``'s result (``torch.return_types.histogramdd``); ``bin_edges`` a tuple."""


def binomial(count: Tensor, prob: Tensor, generator: Generator | None = None) -> Tensor:
    """``torch.binomial``: draws from Binomial(``count``, ``prob``), elementwise, with
    chainrule's random generator (or ``generator``); a float tensor of ``count``'s dtype.

    The draws are not differentiable: the result never requires grad (PyTorch's does, and
    raises only when backward reaches it).

    Raises:
        ValueError: ``count`` is not floating (as PyTorch).
        RuntimeError: ``prob`` has another dtype; a probability outside [0, 1] or a negative
            or non-integral count (PyTorch's CPU kernel returns unspecified values there).
    """
    c, p = as_tensor(count), as_tensor(prob)
    if c.dtype.kind != "f":
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: {c.dtype}")
    if p.dtype != c.dtype:
        raise RuntimeError(f"binomial: Found dtype {p.dtype} but expected {c.dtype}")
    n, q = np.broadcast_arrays(np.asarray(c._data, np.float64), np.asarray(p._data, np.float64))
    if not ((q >= 0) & (q <= 1)).all():
        raise RuntimeError("binomial: prob must be in [0, 1]")
    if not ((n >= 0) & (n == np.floor(n)) & np.isfinite(n)).all():
        raise RuntimeError("binomial: count must be non-negative integers (as floats)")
    stream = gen(generator)
    if isinstance(stream, TorchStream):  # PyTorch's draws (see _kernels.random_draws)
        single = c.dtype != np.float64  # float32 parameters round 1 - p and n p
        flat_n, flat_q = (np.ascontiguousarray(v.reshape(-1)) for v in (n, q))
        draws = random_draws.run(random_draws.binomial_torch, stream, flat_n, flat_q, single)
        draws = draws.reshape(n.shape)
    else:
        draws = stream.binomial(n.astype(np.int64), q)
    return Tensor._new(np.asarray(draws).astype(c.dtype))


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


@tensor_method
def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:  # noqa: A002
    """``torch.nonzero_static``: ``nonzero(input)`` cut or padded with rows of
    ``fill_value`` to exactly ``size`` rows, shape ``(size, input.dim())``, int64.

    Raises:
        RuntimeError: a negative ``size``.
    """
    x = as_tensor(input)
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    idx = np.argwhere(np.asarray(x._data)).astype(np.int64)[:size]
    out = np.full((size, x.ndim), fill_value, np.int64)
    out[: len(idx)] = idx
    return Tensor._new(out)


@tensor_method
def resolve_conj(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input`` itself: chainrule conjugates eagerly (``conj`` makes a new tensor), so no
    tensor carries PyTorch's lazy conjugate bit to resolve."""
    return input


@tensor_method
def resolve_neg(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input`` itself: chainrule has no lazy negative bit (see :func:`resolve_conj`)."""
    return input


@tensor_method
def is_conj(input: Tensor) -> bool:  # noqa: A002 - PyTorch's name
    """False: no chainrule tensor has PyTorch's lazy conjugate bit set."""
    return False


@tensor_method
def is_neg(input: Tensor) -> bool:  # noqa: A002 - PyTorch's name
    """False: no chainrule tensor has PyTorch's lazy negative bit set."""
    return False


def range(  # noqa: A001 - mirrors torch.range
    start: Any = 0,
    end: Any = None,
    step: Any = 1,
    *,
    out: Tensor | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Deprecated ``torch.range``: ``start, start + step, ...`` up to and *including*
    ``end``, of the default float dtype unless ``dtype`` is given; warns, as PyTorch, to use
    ``arange`` (which excludes ``end``). ``out=`` receives the values in its own dtype
    (resized to fit); ``layout=`` takes only ``strided``."""
    check_layout("range", layout)
    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its "
        "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
        "which produces values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    if out is not None:
        return write_factory_out(
            "range", out, dtype, requires_grad, lambda d: _range(start, end, step, d, None, False)
        )
    return _range(start, end, step, dtype, device, requires_grad)


def _range(start: Any, end: Any, step: Any, dtype: Any, device: Any, grad: bool) -> Tensor:
    """``range``'s values (``end`` included) as a new tensor."""
    if end is None:
        raise TypeError("range() missing required argument 'end'")
    if step == 0:
        raise RuntimeError("range: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    n = builtins.int(math.floor((end - start) / step)) + 1
    d = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    values = np.asarray(start, np.float64) + np.arange(n, dtype=np.float64) * step
    return creation.tensor(values.astype(d), device=device, requires_grad=grad)


def to_dlpack(tensor: Tensor) -> Any:
    """``torch.to_dlpack``: a DLPack capsule of ``tensor``'s memory (shared, no copy), for
    ``from_dlpack`` of another library."""
    return as_tensor(tensor)._data.__dlpack__()


def frombuffer(
    buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0, requires_grad: bool = False
) -> Tensor:
    """``torch.frombuffer``: a 1-d tensor over an object with the buffer protocol, sharing
    its memory: ``count`` items of ``dtype`` (all by default) from byte ``offset``. Warns, as
    PyTorch, when the buffer is read-only (writes to the tensor would then fail).

    Raises:
        ValueError: an offset or count outside the buffer, or an empty buffer.
    """
    mem = memoryview(buffer)
    d = _dt.as_dtype(dtype)
    size = mem.nbytes
    if size == 0 or not 0 <= offset < size:
        raise ValueError(
            f"both buffer length ({size}) and offset ({offset}) must be positive and the "
            "offset must be less than the buffer length"
        )
    if count <= 0 and count != -1:
        raise ValueError(f"expected 'count' to be either -1 or a positive number, got {count}")
    avail = (size - offset) // d.itemsize
    if count == -1:
        if (size - offset) % d.itemsize:
            raise ValueError(
                f"buffer length ({size - offset} bytes) after offset ({offset} bytes) must be a "
                f"multiple of element size ({d.itemsize})"
            )
        count = avail
    elif count > avail:
        raise ValueError(
            f"requested buffer length ({count} * {d.itemsize} bytes) after offset ({offset} "
            f"bytes) must not be greater than actual buffer length ({size} bytes)"
        )
    if mem.readonly:
        warnings.warn(
            "The given buffer is not writable, and PyTorch does not support non-writable "
            "tensors. This means you can write to the underlying (supposedly non-writable) "
            "buffer using the tensor. You may want to copy the buffer to protect its data or "
            "make it writable before converting it to a tensor.",
            UserWarning,
            stacklevel=2,
        )
    arr = np.frombuffer(buffer, dtype=d, count=count, offset=offset)
    t = Tensor._make(arr, False, None, 0)  # _new would copy: this one shares the buffer
    return t.requires_grad_() if requires_grad else t


def empty_permuted(
    size: Sequence[int],
    physical_layout: Sequence[int],
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """``torch.empty_permuted``: an uninitialised tensor of ``size`` whose memory is laid
    out in the dim order ``physical_layout`` (outermost first): ``empty_permuted((2, 3, 4),
    (0, 2, 1))`` is channels-last-like, strides ``(12, 1, 3)``.

    Raises:
        RuntimeError: ``physical_layout`` not a permutation of the dims.
        NotImplementedError: ``pin_memory=True`` or a non-strided ``layout``.
    """
    if pin_memory:
        raise NotImplementedError(
            "empty_permuted: pin_memory=True is not supported (no pinned memory)"
        )
    if layout is not None and str(layout) not in ("torch.strided", "strided"):
        raise NotImplementedError(f"empty_permuted: only the strided layout, got {layout}")
    size = tuple(builtins.int(s) for s in size)
    perm = tuple(builtins.int(p) for p in physical_layout)
    if len(perm) != len(size) or sorted(perm) != list(builtins.range(len(size))):
        raise RuntimeError(
            f"Number of dimensions in size does not match the length of the physical_layout; "
            f"or physical_layout {perm} is not a permutation of the {len(size)} dims"
        )
    phys = creation.empty(tuple(size[p] for p in perm), dtype=dtype, device=device)
    out = phys.permute(tuple(np.argsort(perm).tolist())).detach()
    return out.requires_grad_() if requires_grad else out


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode: int | str) -> None:
    """``torch.set_deterministic_debug_mode``: 0 / ``'default'`` turns deterministic
    algorithms off, 1 / ``'warn'`` on with warnings only, 2 / ``'error'`` on (see
    :func:`chainrule.use_deterministic_algorithms`; chainrule's ops are deterministic).

    Raises:
        RuntimeError: another string or int; TypeError: another type (as PyTorch).
    """
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, `warn`, `error`, "
                f"but got {debug_mode}"
            )
        debug_mode = _DEBUG_MODES[debug_mode]
    elif isinstance(debug_mode, bool) or not isinstance(debug_mode, builtins.int):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode).__name__}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(
            f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}"
        )
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """``torch.get_deterministic_debug_mode``: 0 (off), 1 (warn only) or 2 (error)."""
    if not are_deterministic_algorithms_enabled():
        return 0
    return 1 if is_deterministic_algorithms_warn_only_enabled() else 2


def init_num_threads() -> None:
    """``torch.init_num_threads``: initialise the intra-op thread pool of the calling
    thread. chainrule's pool (:func:`chainrule.set_num_threads`) needs no per-thread
    initialisation, so this does nothing, as PyTorch does once initialised."""
