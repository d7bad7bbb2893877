"""Nearest and nearest-exact upsampling as one graph node, under PyTorch's names.

``F.interpolate(mode='nearest' / 'nearest-exact')`` was a chain of gathers (or expand and
reshape for an integer scale), one per spatial dim. As one node it prints as PyTorch's
(``UpsampleNearest1DBackward0`` ... ``UpsampleNearestExact3DBackward0``, by the number of
spatial dims) and, as PyTorch's, saves no tensor (only sizes), so the input may be modified in
place after the forward.

Each of the last ``k`` dims has an index array ``idx`` (n_out,): output ``o`` copies input
``idx[o]``. The indices never decrease, so the outputs read by one input are a run
``[start, start + length)`` (empty when a downscale skips that input). The forward is one
view for the evenly stepping dims (a copy, an integer shrink), then a repeat (integer
upscale) or a gather per other dim: one copy per dim, in all measured faster than the former
expand + reshape / ``index_select`` chain. A scale of 1 is a copy and a node too, as in
PyTorch (the input itself was returned before). The backward sums each input's
run of gradients in the order PyTorch's kernel adds them (the outputs in row-major order, so
its float32 results are matched bit for bit): for every offset ``(i, j, ...)`` inside the
runs, one pass adds the gradient at ``start + offset`` where the offset is inside the run
(strided views of the gradient for integer repeats: no gather). It is linear, and its own
derivative is the upsampling again (:class:`UpsampleNearestBackward`,
``UpsampleNearest2DBackwardBackward0``); the tangent is upsampled.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.saved_fields import input_shape  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..meta.array import MetaArray, meta_empty
from ..threads import elementwise
from ._result_layout import in_format, input_format  # (a channels-last input's format)

__all__ = ["NearestPlan", "UpsampleNearest", "UpsampleNearestBackward", "upsample_fields"]


_SCALE_NAMES = {  # PyTorch's names of the scale factors, by the number of spatial dims
    1: ("scales",),
    2: ("scales_h", "scales_w"),
    3: ("scales_d", "scales_h", "scales_w"),
}


def upsample_fields(node: Any) -> dict | None:
    """``grad_fn._saved_*`` of PyTorch's upsampling nodes (``UpsampleNearest2DBackward0``,
    ``UpsampleBilinear2DBackward0``, ...): the output size, the scale factors as given (None
    where a size was given or the scale recomputed), the input's sizes and, for the
    interpolating modes, ``align_corners``; from what ``F.interpolate`` kept on the node
    (``saved_fields.given``). None (the default view) where it kept nothing."""
    args = node.__dict__.get("_given_args")
    if not args or "output_size" not in args:
        return None
    size, scales = tuple(args["output_size"]), tuple(args["scales"])
    out: dict = {"output_size": lambda n: size, "self_sym_sizes": lambda n: input_shape(n, 0)}
    for name, s in zip(_SCALE_NAMES.get(len(scales), ()), scales):
        out[name] = lambda n, s=s: s
    if "align_corners" in args:
        out["align_corners"] = lambda n: args["align_corners"]
    return out


class NearestPlan:
    """The source index of every output along each of the last ``k`` dims, with what the
    forward and backward derive from it: the integer repeat factor of each dim (None when a
    dim is not a plain repeat ``idx = arange(n_out) // r``), and each input's run of outputs."""

    def __init__(self, idx: tuple, n_in: tuple, exact: bool) -> None:
        self.idx = tuple(np.asarray(i, np.int64) for i in idx)
        self.n_in = tuple(int(n) for n in n_in)
        self.exact = exact
        self.repeat = tuple(_repeat(i, n) for i, n in zip(self.idx, self.n_in))
        self.slices = tuple(_progression(i) for i in self.idx)

    @functools.cached_property
    def runs(self) -> tuple[list, list]:
        """Each dim's ``(starts, lengths)``: input ``i`` feeds outputs
        ``[starts[i], starts[i] + lengths[i])`` (built for the backward only)."""
        starts, lengths = [], []
        for i, n in zip(self.idx, self.n_in):
            counts = np.bincount(i, minlength=n)
            lengths.append(counts)
            starts.append(np.concatenate(([0], np.cumsum(counts)[:-1])))
        return starts, lengths

    @property
    def label(self) -> str:
        return f"UpsampleNearest{'Exact' if self.exact else ''}{len(self.idx)}D"


def _repeat(idx: np.ndarray, n_in: int) -> int | None:
    n_out = idx.shape[0]
    if n_out % n_in:
        return None
    r = n_out // n_in
    return r if np.array_equal(idx, np.arange(n_out) // r) else None


def _progression(idx: np.ndarray) -> slice | None:
    """``idx`` as a slice when it steps evenly forward (a copy, a shrink by an integer factor),
    else None."""
    step = int(idx[1] - idx[0]) if idx.shape[0] > 1 else 1
    if step < 1 or not np.array_equal(idx, idx[0] + step * np.arange(idx.shape[0])):
        return None
    return slice(int(idx[0]), int(idx[-1]) + 1, step)


def _grid(xp: Any, arrays: list) -> tuple:
    """Index arrays on the last ``len(arrays)`` dims, broadcast against each other."""
    k = len(arrays)
    out = []
    for d, a in enumerate(arrays):
        shape = [1] * k
        shape[d] = a.shape[0]
        out.append(xp.asarray(a.reshape(shape)))
    return (Ellipsis, *out)


def upsample_nearest_array(x: Any, plan: NearestPlan) -> Any:
    """``x`` upsampled along its last dims by ``plan``, a fresh C-ordered array."""
    xp = get_array_module(x)
    k = len(plan.idx)
    # the evenly stepping dims as one view; then one copy per other dim, the last dim first
    # (the smallest copy; the earlier dims then copy whole contiguous rows): measured faster
    # than one broadcast copy or one fancy index
    view = tuple(
        sl if r is None and sl is not None else slice(None)
        for r, sl in zip(plan.repeat, plan.slices)
    )
    y, copied = x[(Ellipsis, *view)], False
    for d in range(k - 1, -1, -1):
        axis = x.ndim - k + d
        r = plan.repeat[d]
        if r == 1 or r is None and plan.slices[d] is not None:
            continue
        y = (
            xp.repeat(y, r, axis=axis)
            if r is not None
            else xp.take(y, xp.asarray(plan.idx[d]), axis=axis)
        )
        copied = True
    if type(y) is MetaArray:  # (meta: no contiguous copy of the result's size)
        return meta_empty(y.shape, y.dtype)
    return xp.ascontiguousarray(y) if copied else y.copy()  # a fresh array, never a view


def upsample_nearest_grad_array(g: Any, plan: NearestPlan) -> Any:
    """The adjoint of :func:`upsample_nearest_array`: each input's run of output gradients
    summed in row-major order of the outputs (PyTorch's order), a fresh C-ordered array."""
    xp = get_array_module(g)
    k = len(plan.idx)
    lead = g.shape[: g.ndim - k]
    if type(g) is MetaArray:  # shapes only: no host masks of the input's size per run step
        return meta_empty(lead + plan.n_in, g.dtype)
    if all(r is not None for r in plan.repeat):  # strided views of the runs: no gather
        big = lead + tuple(d for n, r in zip(plan.n_in, plan.repeat) for d in (n, r))
        v = g.reshape(big)
        acc = None
        for offs in itertools.product(*(range(r) for r in plan.repeat)):
            sl = (Ellipsis,) + tuple(s for o in offs for s in (slice(None), o))
            term = v[sl]
            if acc is None:
                acc = term.copy()
            elif type(acc) is np.ndarray:
                elementwise(np.add, acc, term, out=acc)
            else:
                acc += term
        return acc
    out = xp.zeros(lead + plan.n_in, g.dtype)
    starts, lengths = plan.runs
    top = [int(length.max(initial=0)) for length in lengths]
    for offs in itertools.product(*(range(t) for t in top)):
        rows, inside = [], None
        for o, start, length, idx in zip(offs, starts, lengths, plan.idx):
            rows.append(np.minimum(start + o, idx.shape[0] - 1))
            m = o < length
            inside = m if inside is None else inside[..., None] & m
        if not inside.any():
            continue
        term = g[_grid(xp, rows)]
        mask = xp.asarray(inside)
        out = xp.where(mask, out + term, out) if not inside.all() else out + term
    return out


class UpsampleNearest(Function):
    """Nearest / nearest-exact upsampling of the last ``k`` dims
    (``UpsampleNearest2DBackward0``, ``UpsampleNearestExact1DBackward0``, ...)."""

    raw = True
    node_name = staticmethod(lambda node: f"{node.plan.label}Backward0")
    saved_fields = staticmethod(upsample_fields)  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, x, plan):
        ctx.plan, ctx.fmt = plan, input_format(x)  # PyTorch saves only sizes and scales
        return in_format(upsample_nearest_array(x, plan), ctx.fmt)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.create_graph and type(grad._data) is np.ndarray:
            fmt = ctx.fmt if len(ctx.plan.idx) == 2 else None  # (PyTorch's 3-d: row-major)
            g = in_format(upsample_nearest_grad_array(grad._data, ctx.plan), fmt)
            return Tensor._make(g, False, None, 0), None
        return UpsampleNearestBackward.apply(grad, ctx.plan), None

    @staticmethod
    def jvp(ctx, t, _):
        return upsample_nearest_array(t, ctx.plan)


class UpsampleNearestBackward(Function):
    """The backward of :class:`UpsampleNearest` as an op (under ``create_graph``): the
    gradient summed back onto the inputs; its derivative is the upsampling again."""

    raw = True
    node_name = staticmethod(lambda node: f"{node.plan.label}BackwardBackward0")

    @staticmethod
    def forward(ctx, g, plan):
        ctx.plan = plan
        return upsample_nearest_grad_array(g, plan)

    @staticmethod
    def backward(ctx, gg):
        return UpsampleNearest.apply(gg, ctx.plan), None

    @staticmethod
    def jvp(ctx, t, _):
        return upsample_nearest_grad_array(t, ctx.plan)
