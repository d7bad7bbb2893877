"""``take`` and ``polar`` as one graph node each, under PyTorch's names.

They were compositions: ``take`` a flattening view and an advanced index (two nodes),
``polar`` ``abs * cos(angle)`` and ``abs * sin(angle)`` joined into a complex tensor (five).
As one node each they print as PyTorch's (``TakeBackward0``, ``PolarBackward0``) and save
what PyTorch's save (the input and the index; the result).

* take: ``out = x.flatten()[index]``; the gradient adds ``grad`` at the flat positions
  ``index`` of zeros (repeats summed), recorded through ``put(..., accumulate=True)`` under
  ``create_graph``; the tangent is ``take`` of the tangent.
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

__all__ = ["PolarFn", "TakeFn"]


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
        from ..creation import zeros  # noqa: PLC0415
        from .misc_more import put  # noqa: PLC0415

        base = zeros(x.shape, dtype=x.dtype)
        return put(base, _const(flat.astype(np.int64)), grad.reshape(-1), True), None

    @staticmethod
    def jvp(ctx, t, *_):
        index = ctx.primals[1]
        flat = t.reshape(-1)
        return flat[_flat_index(index, flat.size)].reshape(index.shape)


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
