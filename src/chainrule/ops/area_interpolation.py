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

import numpy as np

from ..autograd.tensor import Tensor
from .interp_taps import Resample, ResampleTranspose, _Map, _Maps

__all__ = ["AdaptiveAvgPoolResample", "area_resize"]


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
        return ResampleTranspose.apply(grad, ctx.const), None


def area_resize(x: Tensor, taps: Sequence[tuple], out_size: Sequence[int]) -> Tensor:
    """``x`` (N, C, *spatial) resized by area to ``out_size``, recorded as PyTorch's.

    Args:
        x: a 3-, 4- or 5-D tensor.
        taps: ``(axis, idx, wts, div)`` per spatial axis that changes (absolute axes, from
            2): the bins as taps and their sizes as divisors.
        out_size: the output's spatial size.

    Returns:
        The resized tensor, differentiable in any order.
    """
    nd = x.ndim - 2
    if nd == 1:  # PyTorch pools a length as a 1-row plane
        taps = [(axis + 1, *rest) for axis, *rest in taps]
        return area_resize(x.unsqueeze(-2), taps, (1, *out_size)).squeeze(-2)
    if all(n == 1 for n in out_size):  # PyTorch's adaptive pooling to one element: a mean
        return x.mean(tuple(range(-nd, 0)), keepdim=True)
    maps = []
    shape = list(x.shape)
    for axis, idx, wts, div in taps:
        idx = np.asarray(idx, np.int64)
        maps.append(_Map(axis, idx, np.asarray(wts), shape[axis], x._data, div))
        shape[axis] = int(idx.shape[0])
    plan = _Maps(maps)
    plan.label = f"AdaptiveAvgPool{nd}D"
    return AdaptiveAvgPoolResample.apply(x, plan)
