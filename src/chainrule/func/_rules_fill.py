"""Batching rule for ``fill_`` / ``zero_`` (``ops/inplace_names._Fill``) and PyTorch's
refusal of an in-place write of per-sample values into a tensor vmap does not batch.

``x.fill_(v)`` under vmap writes one value into every element of every sample: with an
unbatched ``v`` that is one ``_Fill`` of the physical tensor (whatever its batch size);
with a batched 0-d ``v`` (each sample its own value) the physical result is ``v``'s
physical values with singleton dims, broadcast to ``x``'s physical shape, so the gradient
of ``v`` is the sum of the gradient over its sample (``FillBackward3``'s) and ``x`` gets
none. A write of per-sample values into an unbatched tensor has no per-sample form:
PyTorch refuses it (:func:`._logical.inplace_unbatched`).
"""

from __future__ import annotations

from typing import Any

from ..ops.inplace_names import _Fill
from ..ops.shape import BroadcastTo, Reshape
from ._batched import BatchedTensor, Level, unwrap_level, wrap
from ._dispatch import register
from ._logical import inplace_unbatched

__all__: list = []


@register(_Fill)
def _fill(cls: type, level: Level, args: tuple, kwargs: dict) -> Any:
    x, value = args[0], args[1]
    xv, x_batched = unwrap_level(x, level)
    vv, v_batched = unwrap_level(value, level)
    if not x_batched:
        raise inplace_unbatched("fill_")
    if not v_batched:
        return wrap(_Fill.apply(xv, value, *args[2:], **kwargs), level)
    if type(vv) is BatchedTensor:  # nested levels in the value: per sample
        return NotImplemented
    n = level.size
    shape = tuple(xv.shape)
    v = Reshape.apply(vv, (n,) + (1,) * (len(shape) - 1))
    if v.dtype != xv.dtype:
        v = v.to(xv.dtype)
    return wrap(BroadcastTo.apply(v, shape), level)
