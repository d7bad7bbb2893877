"""``F.interpolate(mode='area')`` recorded as PyTorch records it: adaptive average pooling.

PyTorch resizes by area with its adaptive average pooling, so the graph shows
``AdaptiveAvgPool2DBackward0`` (4-D input) or ``AdaptiveAvgPool3DBackward0`` (5-D); a 3-D
input is unsqueezed at -2, pooled in 2-D and squeezed back (``SqueezeBackward1`` over the pool
over ``UnsqueezeBackward0``), and an output of one element per plane is a mean over the
spatial dims (``MeanBackward1``), as PyTorch's adaptive pooling does then.

The pooling itself is the tap resampling of :mod:`.interp_taps` (bin i of m over n inputs
covers ``[floor(i n / m), ceil((i + 1) n / m))``: taps of weight 1, then one division by the
bin size), labelled with PyTorch's node name; like PyTorch's node it saves the input (only its
version is checked: the map is linear), so changing the input in place before backward
raises as there. Its gradient is the transpose (``AdaptiveAvgPool2DBackwardBackward0``), whose
own gradient is the pooling again.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ..autograd.saved_fields import as_uint64  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ._result_layout import in_format, input_format  # (a channels-last input's format)
from .interp_taps import Resample, ResampleTranspose, _Map, _Maps
from .reduction import Mean

__all__ = ["AdaptiveAvgPoolResample", "adaptive_avg_pool", "area_resize", "area_taps"]


class AdaptiveAvgPoolResample(Resample):
    """The area resampling as PyTorch's adaptive average pooling node (saves ``self``)."""

    saved_input_names = ("self",)

    @classmethod
    def forward(cls, ctx, x, const):
        ctx.save_for_backward(x)  # as PyTorch (its backward reads only the shape)
        ctx.const = const
        y = cls.map(x, const)
        return y.copy() if y is x else y  # no axis changes: still a new tensor, as PyTorch

    @classmethod
    def backward(cls, ctx, grad):
        ctx.saved_tensors  # noqa: B018 - reads the input as PyTorch does: its version is checked
        empty = [d for d in range(1, grad.ndim) if grad.shape[d] == 0]
        if empty:  # PyTorch's backward refuses the empty output its forward made
            raise RuntimeError(  # (label: "AdaptiveAvgPool2D")
                f"adaptive_avg_pool{ctx.const.label[-2]}d_backward(): Expected grad_output to "
                "have non-zero size for non-batch dimensions, but grad_output has sizes "
                f"{list(grad.shape)} with dimension {empty[0]} being empty"
            )
        return ResampleTranspose.apply(grad, ctx.const), None


class _TrailingMean(Mean):
    """PyTorch's ``MeanBackward1`` over the trailing dims (adaptive pooling to one element).

    NumPy sums a few trailing elements per row slowly (a strided reduction: 0.37 ms for
    (32, 512, 4, 4)); on a contiguous float32/float64 array the row sums are one BLAS
    matrix-vector product with a ones vector instead (0.05 ms), then the one division.
    Other inputs take :class:`Mean`'s forward; the backward and forward-mode rules are Mean's.
    """

    @staticmethod
    def saved_fields(node):  # grad_fn._saved_* as PyTorch's: the trailing dims as -1, -2, ...
        out = Mean.saved_fields(node)
        out["dim"] = lambda n: tuple(as_uint64(-1 - i) for i in range(len(n.axes)))
        out["keepdim"] = lambda n: vars(n).get("keepdim", True)  # adaptive pooling keeps them
        return out

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        k = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        trailing = tuple(axes) == tuple(range(x.ndim - len(axes), x.ndim))
        if (
            type(x) is np.ndarray
            and x.dtype in (np.float32, np.float64)
            and x.flags.c_contiguous
            and trailing
            and k > 0
            and x.size > 0
        ):
            ctx.in_shape, ctx.axes, ctx.count = x.shape, axes, k
            total = x.reshape(-1, k) @ np.ones(k, x.dtype)
            out_shape = x.shape[: x.ndim - len(axes)] + ((1,) * len(axes) if keepdim else ())
            return (total / x.dtype.type(k)).reshape(out_shape)
        return in_format(Mean.forward(ctx, x, axes, keepdim), input_format(x))  # (as pooling)


def area_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins along one axis as taps: bin i of ``n_out`` covers
    ``[floor(i n_in / n_out), ceil((i + 1) n_in / n_out))``; indices padded with -1 (absent
    taps) to the widest bin, weights 1 for present taps, and the bin sizes as divisors."""
    i = np.arange(n_out)
    lo, hi = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
    width = max(int((hi - lo).max(initial=0)), 1)
    idx = lo[:, None] + np.arange(width)
    present = idx < hi[:, None]
    return np.where(present, idx, -1), present.astype(np.float64), (hi - lo).astype(np.float64)


@lru_cache(maxsize=512)
def _cached_map(axis: int, n_in: int, n_out: int, dtype: np.dtype) -> _Map | None:
    """One axis's pooling map on NumPy arrays of ``dtype`` (None when the axis is unchanged):
    built once per geometry (the dense matrices cost more than a small pooling)."""
    if n_in == n_out:
        return None
    idx, wts, div = area_taps(n_in, n_out)
    return _Map(axis, idx, wts, n_in, np.empty(0, dtype), div)


def adaptive_avg_pool(x: Tensor, out_size: Sequence[int]) -> Tensor:
    """Adaptive average pooling of the last ``len(out_size)`` dims of ``x`` (1, 2 or 3 of
    them; any leading dims), recorded as PyTorch records it.

    An output of one element per plane is PyTorch's mean over those dims (``MeanBackward1``);
    otherwise one ``AdaptiveAvgPool{n}DBackward0`` node (saving ``self``) resamples every
    changed axis with the tap maps of :mod:`.interp_taps`: the bin sums divided by the bin
    sizes (folded into one matrix product per axis when no overflow is possible). A pooling
    that changes no axis is still that node (a copy), as PyTorch's.
    """
    nd = len(out_size)
    first = x.ndim - nd
    if all(int(o) == 1 for o in out_size):
        return _TrailingMean.apply(x, tuple(range(first, x.ndim)), True)
    data = x._data
    maps = []
    for d, n_out in enumerate(out_size):
        axis, n_in = first + d, int(x.shape[first + d])
        if type(data) is np.ndarray:
            m = _cached_map(axis, n_in, int(n_out), data.dtype)
        elif n_in != n_out:  # a device array: its own map
            idx, wts, div = area_taps(n_in, int(n_out))
            m = _Map(axis, idx, wts, n_in, data, div)
        else:
            m = None
        if m is not None:
            maps.append(m)
    plan = _Maps(maps)
    plan.label = f"AdaptiveAvgPool{nd}D"  # (PyTorch's 3-d one is row-major)
    plan.fmt = plan.grad_fmt = input_format(data) if nd == 2 else None
    return AdaptiveAvgPoolResample.apply(x, plan)


def area_resize(x: Tensor, out_size: Sequence[int]) -> Tensor:
    """``x`` (N, C, *spatial) resized by area to ``out_size`` (``F.interpolate(mode='area')``),
    recorded as PyTorch's: its adaptive average pooling, a 3-D input pooled as 1-row planes.

    Args:
        x: a 3-, 4- or 5-D tensor.
        out_size: the output's spatial size.

    Returns:
        The resized tensor, differentiable in any order.
    """
    if x.ndim == 3:  # PyTorch pools a length as a 1-row plane
        return adaptive_avg_pool(x.unsqueeze(-2), (1, *out_size)).squeeze(-2)
    return adaptive_avg_pool(x, out_size)
