"""``take``, ``put`` and ``polar`` as one graph node each, under PyTorch's names.

They were compositions: ``take`` a flattening view and an advanced index (two nodes),
``polar`` ``abs * cos(angle)`` and ``abs * sin(angle)`` joined into a complex tensor (five).
As one node each they print as PyTorch's (``TakeBackward0``, ``PolarBackward0``) and save
what PyTorch's save (the input and the index; the result).

* take: ``out = x.flatten()[index]``; the gradient adds ``grad`` at the flat positions
  ``index`` of zeros (repeats summed), recorded through ``put(..., accumulate=True)`` under
  ``create_graph``; the tangent is ``take`` of the tangent.
* put: a copy of ``x`` (its layout kept, PyTorch's ``clone(preserve_format)``) with
  ``source``'s elements written (``accumulate``: added) at the flat positions ``index``;
  PyTorch's ``PutBackward0`` rule: ``x`` gets ``grad`` (``accumulate``) or ``grad`` with
  zeros put at ``index``, ``source`` gets ``grad.take(index)``; it saves the index and the
  source, so a source written in place after the call raises at backward, as PyTorch's.
* polar: ``r = abs * (cos(angle) + i sin(angle))``; PyTorch's rule from the result:
  ``grad_abs = Re(conj(g) sgn(r))``, ``grad_angle = Re(conj(g) i r)`` (``g`` the gradient
  in PyTorch's convention), written with Tensor ops, so it differentiates again; the tangent
  is ``exp(i angle) t_abs + i r t_angle``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._result_layout import elementwise_layout

__all__ = ["PolarFn", "PutFn", "TakeFn"]


def _const(array: Any) -> Tensor:
    return Tensor._make(array, False, None, 0)


def _flat_index(index: Any, n: int) -> Any:
    return index.reshape(-1).astype(np.intp, copy=False) % max(n, 1)


class TakeFn(Function):
    """``x.flatten()[index]`` in the index's shape; ``forward(ctx, x, index)`` with the index
    already checked (int64, in range; negative counts from the end)."""

    raw = True
    complex_grad = True  # a real-linear selection: its transpose is right for complex
    node_name = ("TakeBackward0", (0,))
    saved_fields = {"index": 1, "self": 0}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, x, index):
        ctx.save_for_backward(x, index)
        flat = x.reshape(-1)
        return flat[_flat_index(index, flat.size)].reshape(index.shape)

    @staticmethod
    def backward(ctx, grad):
        x, index = ctx.saved_tensors
        n = x.numel()
        flat = _flat_index(index._data, n)
        if not ctx.create_graph:
            g = grad._data.reshape(-1)
            xp = get_array_module(g)
            if xp is np and g.dtype.kind == "f" and g.dtype.itemsize >= 4:
                out = np.bincount(flat, weights=g, minlength=n).astype(g.dtype, copy=False)
            else:
                out = xp.zeros(n, g.dtype)
                xp.add.at(out, flat, g)
            out.shape = x.shape  # (in place: a reshape would be a view, autograd.grad's _base)
            gx = _const(out)
            gx._vc[0] = 1  # PyTorch's zeros.put_(...): version 1 (a leaf's .grad shows it)
            return gx, None
        # PyTorch's zeros_like(self).put_(index, grad, true): one PutBackward0 node whose
        # source edge is grad's own (no reshape between), the result at version 1
        base = _const(get_array_module(x._data).zeros_like(x._data))
        out = PutFn.apply(base, index, grad, accumulate=True)
        out._vc[0] = 1
        return out, None

    @staticmethod
    def jvp(ctx, t, *_):
        index = ctx.primals[1]
        flat = t.reshape(-1)
        return flat[_flat_index(index, flat.size)].reshape(index.shape)


def _put_into(out: Any, index: Any, values: Any, accumulate: bool) -> None:
    """Write (``accumulate``: add, repeats summed) ``values`` (any shape, flattened) into
    ``out`` at the row-major flat positions ``index`` (checked: in range), in place."""
    xp = get_array_module(out)
    target = out.reshape(1) if out.ndim == 0 else out  # (a view of a 0-d array)
    pos = xp.unravel_index(_flat_index(index, out.size), target.shape)
    values = values.reshape(-1)
    if accumulate:
        xp.add.at(target, pos, values)
    else:
        target[pos] = values


class PutFn(Function):
    """``x`` with ``source`` written at the flat positions ``index``;
    ``forward(ctx, x, index, source, accumulate=...)`` with the arguments already checked
    (index int64 and in range, as many elements as ``source``, one dtype)."""

    raw = True
    complex_grad = True  # a real-linear write: its transpose is right for complex
    node_name = ("PutBackward0", (0, 2))
    saved_fields = {
        "accumulate": lambda node: node.accumulate,
        "index": 0,
        "source": 1,
    }

    @staticmethod
    def forward(ctx, x, index, source, accumulate):
        ctx.accumulate = accumulate
        ctx.shapes = (x.shape, source.shape)
        ctx.save_for_backward(index, source)
        out = x.copy(order="K")
        _put_into(out, index, source, accumulate)
        return out

    @staticmethod
    def backward(ctx, grad):
        index, _ = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if not ctx.create_graph:
            gd = grad._data
            gx = gs = None
            if needs[0]:
                gx = gd.copy(order="K") if not ctx.accumulate else gd
                if not ctx.accumulate:
                    _put_into(gx, index._data, gd.dtype.type(0) * index._data, False)
                gx = _const(gx)
            if needs[2]:
                flat = _flat_index(index._data, gd.size)
                gs = _const(np.ascontiguousarray(gd).reshape(-1)[flat].reshape(ctx.shapes[1]))
            return gx, None, gs
        gx = gs = None
        if needs[0]:  # grad if accumulate else grad.put(index, zeros_like(source))
            zeros = _const(get_array_module(grad._data).zeros(index.shape, grad._data.dtype))
            gx = grad if ctx.accumulate else PutFn.apply(grad, index, zeros, accumulate=False)
        if needs[2]:  # grad.take(index).reshape_as(source)
            gs = TakeFn.apply(grad, index).reshape(ctx.shapes[1])
        return gx, None, gs

    @staticmethod
    def jvp(ctx, tx, _tidx, tsrc):
        x, index = ctx.primals[0], ctx.primals[1]
        xp = get_array_module(x)
        out = xp.zeros_like(x) if tx is None else tx.copy(order="K")
        if tsrc is None:
            tsrc = xp.zeros(index.shape, out.dtype)
        _put_into(out, index, tsrc, ctx.accumulate)
        return out


class PolarFn(Function):
    """``abs * exp(i angle)`` from two real tensors of one dtype whose shapes broadcast;
    saves the result, as PyTorch's node."""

    raw = True
    complex_grad = True  # the rule below is PyTorch's (conjugate) convention already
    node_name = ("PolarBackward0", (0, 1))
    saved_fields = {"result": 0}  # grad_fn._saved_* as PyTorch's

    @staticmethod
    def forward(ctx, r, theta):
        xp = get_array_module(r)
        given = r, theta
        r, theta = xp.broadcast_arrays(r, theta)  # the engine sums each gradient back
        ctype = np.complex64 if r.dtype == np.float32 else np.complex128
        out = xp.empty(r.shape, ctype)
        if not (given[0].flags.c_contiguous and given[1].flags.c_contiguous):
            out = elementwise_layout(out, *given)  # PyTorch's elementwise layout
        out.real = r * xp.cos(theta)
        out.imag = r * xp.sin(theta)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (res,) = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if not ctx.create_graph:
            xp = get_array_module(res._data)
            rd, gd = res._data, grad._data
            m = xp.abs(rd)
            with np.errstate(invalid="ignore", divide="ignore"):
                # Re(conj(g) r / |r|) and Re(conj(g) i r), with sgn(0) = 0
                dot = gd.real * rd.real + gd.imag * rd.imag
                ga = xp.where(m == 0, 0.0, dot / xp.where(m == 0, 1.0, m))
                gt = gd.real * -rd.imag + gd.imag * rd.real
            dt = rd.real.dtype
            return (
                _const(ga.astype(dt, copy=False)) if needs[0] else None,
                _const(gt.astype(dt, copy=False)) if needs[1] else None,
            )
        gc = grad.conj()
        ga = (gc * res.sgn()).real if needs[0] else None
        gt = (gc * (res * 1j)).real if needs[1] else None
        return ga, gt

    @staticmethod
    def jvp(ctx, tr, tt):
        res, theta = ctx.out, ctx.primals[1]
        xp = get_array_module(res)
        out = xp.zeros(res.shape, res.dtype)
        if tr is not None:  # exp(i angle) t_abs (also where abs is 0, as PyTorch's)
            out = out + (xp.cos(theta) + 1j * xp.sin(theta)) * tr
        if tt is not None:
            out = out + 1j * res * tt
        return out.astype(res.dtype, copy=False)
