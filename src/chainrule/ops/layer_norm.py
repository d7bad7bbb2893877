"""Layer norm as one op (``LayerNormFn``): the standardisation over the trailing dims with
its affine map, compiled row kernels where they apply, and its backward and forward-mode
rules built on the shared standardisation Jacobian of ``normalization.py``."""

from __future__ import annotations

import numpy as np

from .._kernels import jit
from .._kernels import layernorm as _LN
from ..autograd.function import Function
from ..autograd.saved_fields import input_shape, input_tensor, tensor_field  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..autograd.zero_link import ZeroDerivative
from .loss_layouts import row_major_grad
from .normalization import _f32, _project, _rebuilt_grad, _standardize, _xhat

__all__ = ["LayerNormFn", "layer_norm"]


class LayerNormFn(Function):
    """Layer norm with its affine map in one op: y = x̂ γ + β over the trailing ``n_axes``
    dims (γ, β of those dims' shape, or None).

    ``F.layer_norm`` composes :class:`NormalizeFn` with a product and a sum (two more ops
    forward, and in backward g γ, Σ g x̂ and Σ g as separate passes). Here, on the compiled
    path, forward is one kernel call writing y, and backward one giving dx and, in float64
    accumulators, dγ = Σ_rows g x̂ and dβ = Σ_rows g (:mod:`chainrule._kernels.layernorm`).
    Saved as PyTorch: x, γ and the row statistics (μ, 1/σ̂); not x̂ or y. With
    ``create_graph=True`` the backward is rebuilt from Tensor ops (double backward).

    The compiled path's Python around the kernels is kept short (nanoGPT calls this op 9
    times a step on (768, 128) rows, where the kernels take ~35-50 µs): the eligibility test
    is a few attribute reads (:func:`_ln_rows`), the flat γ and β are found once in forward
    and kept for backward, and absent outputs are shared empty arrays.
    """

    raw = True
    node_name = ("NativeLayerNormBackward0", (0, 1, 2))
    saved_fields = {  # grad_fn._saved_* as PyTorch's
        "bias": tensor_field(lambda n: input_tensor(n, 2)),
        "input": 0,
        "normalized_shape": lambda n: input_shape(n, 0)[len(input_shape(n, 0)) - len(n.axes) :],
        "result1": 2,  # the mean
        "result2": 3,  # and 1 / sqrt(var + eps)
        "weight": 1,
    }
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)

    @staticmethod
    def forward(ctx, x, weight, bias, n_axes, eps):
        # Saved: (x, weight, mean, invstd, flat_w); flat_w is γ flattened for the row kernel
        # (a view of weight), None off the compiled path.
        if x.dtype.char in "eE":  # float16, bfloat16: in float32, rounded once (PyTorch)
            y = LayerNormFn.forward(ctx, _f32(x), _f32(weight), _f32(bias), n_axes, eps)
            ctx.save_for_backward(x, weight, *ctx._saved[2:])  # the arguments themselves
            ctx.bias_dtype = None if bias is None else bias.dtype
            return y.astype(x.dtype)
        ctx.eps = eps
        nd = x.ndim
        ctx.axes = axes = tuple(range(nd - n_axes, nd))
        rows = _ln_rows(x, n_axes)
        if rows is not None:
            w, b = _flat_param(weight, x), _flat_param(bias, x)
            if w is not None and b is not None:
                m = rows.shape[0]
                y = np.empty_like(x)
                mean, invstd = np.empty(m), np.empty(m)
                _LN.layer_norm_rows(rows, w, b, float(eps), y.reshape(rows.shape), mean, invstd)
                kept = x.shape[: nd - n_axes] + (1,) * n_axes
                ctx.save_for_backward(x, weight, mean.reshape(kept), invstd.reshape(kept), w)
                ctx.row_shape = rows.shape
                return y
        y, mean, invstd, _ = _standardize(x, axes, eps, None)
        ctx.save_for_backward(x, weight, mean, invstd, None)
        ctx.row_shape = None
        if weight is not None:
            y *= weight
        if bias is not None:
            y += bias
        # PyTorch's layer norm result is row-major whatever x's layout (observable: a
        # reshape of it is a view, so an in-place write through it reaches y)
        return y if y.flags.c_contiguous else np.ascontiguousarray(y)

    @staticmethod
    def backward(ctx, grad):
        axes = ctx.axes
        x, w, mean, invstd, flat_w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        need_w = len(needs) > 1 and needs[1]
        need_b = len(needs) > 2 and needs[2]
        if ctx.create_graph:  # a differentiable rebuild from x
            lead = tuple(range(x.ndim - len(axes)))
            gx, xhat = _rebuilt_grad(x, grad if w is None else grad * w, axes, ctx.eps)
            gx = row_major_grad(gx)  # PyTorch's dX: row-major whatever x's and grad's layouts
            # no leading dims: nothing to sum (a Tensor's sum(()) would sum every dim)
            gw = (grad * xhat if not lead else (grad * xhat).sum(lead)) if need_w else None
            gb = (grad if not lead else grad.sum(lead)) if need_b else None
            gx, gw, gb = _tied((gx if needs[0] else None, gw, gb), x, w)
            return gx, gw, gb, None, None
        xa, g, mean, invstd = x._data, grad._data, mean._data, invstd._data
        bf16 = xa.dtype.char in "eE"  # halves: in float32, each gradient rounded once
        if bf16:
            xa, g = _f32(xa), _f32(g)
        shape = ctx.row_shape
        if (
            shape is not None
            and type(g) is np.ndarray
            and g.dtype == xa.dtype
            and g.shape == xa.shape
            and g.flags.c_contiguous
        ):
            n = shape[1]
            dx = np.empty_like(g)
            dw = np.empty(n) if need_w else _NO_SUM
            db = np.empty(n) if need_b else _NO_SUM
            _LN.layer_norm_rows_backward(
                g.reshape(shape),
                xa.reshape(shape),
                flat_w._data,
                mean.reshape(-1),
                invstd.reshape(-1),
                dx.reshape(shape),
                dw,
                db,
            )
            pshape = xa.shape[xa.ndim - len(axes) :]
            gw = dw.astype(g.dtype).reshape(pshape) if need_w else None
            gb = db.astype(g.dtype).reshape(pshape) if need_b else None
        else:
            lead = tuple(range(xa.ndim - len(axes)))
            wa = None if w is None else _f32(w._data)
            xhat = _xhat(xa, mean, invstd)
            invstd = invstd.astype(xa.dtype, copy=False)
            dx = _project(g if wa is None else g * wa, xhat, invstd, axes)
            if type(dx) is np.ndarray and dx.ndim > 1 and not dx.flags.c_contiguous:
                dx = np.ascontiguousarray(dx)  # PyTorch's dX: always row-major
            gw = (g * xhat).sum(lead) if need_w else None
            gb = g.sum(lead) if need_b else None
        if bf16:
            dx = dx.astype(x.dtype)
            gw = None if gw is None else gw.astype(w.dtype)
            gb = None if gb is None else gb.astype(ctx.bias_dtype)
        make = Tensor._make
        return (
            make(dx, False, None, 0),
            None if gw is None else make(gw, False, None, 0),
            None if gb is None else make(gb, False, None, 0),
            None,
            None,
        )

    @staticmethod
    def jvp(ctx, tx, tw, tb, *_):
        x, w, mean, invstd, _ = ctx.saved_arrays
        dt = x.dtype
        if dt.char in "eE":  # float16, bfloat16: in float32, rounded once
            x, w, tx, tw, tb = (_f32(a) for a in (x, w, tx, tw, tb))
        xhat = _xhat(x, mean, invstd)
        out = None
        if tx is not None:
            out = _project(tx, xhat, invstd.astype(x.dtype, copy=False), ctx.axes, tangent=True)
            if w is not None:
                out = out * w
        if tw is not None:
            out = xhat * tw if out is None else out + xhat * tw
        if tb is not None:
            out = tb if out is None else out + tb
        return out if dt.char not in "eE" or out is None else out.astype(dt)


def _tied(grads: tuple, x: Tensor, w: Tensor | None) -> tuple:
    """The rebuilt gradients, each tied (zero derivative) to the saved ``x`` and weight that
    require grad: PyTorch's ``NativeLayerNormBackwardBackward0`` takes them all, so each of
    its gradients requires grad when one of them does, even one that does not depend on them
    (``dγ = Σ g x̂`` of a constant ``x``: its second derivative zeros, not "does not require
    grad")."""
    anchors = [t for t in (x, w) if t is not None and t.requires_grad]
    if not anchors:
        return grads
    return tuple(
        g if g is None or g.requires_grad else ZeroDerivative.apply(g, *anchors) for g in grads
    )


# The dtypes the row kernels take (as dtypes: `in` then also requires native byte order).
_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# A size-0 float64 array for the kernels' skipped sums (dγ, dβ not wanted): never written.
_NO_SUM = np.empty(0)
# Size-0 arrays standing for an absent γ or β, by dtype (the kernels read their size only).
_NO_PARAM = {dt: np.empty(0, dt) for dt in _KERNEL_DTYPES}


def _ln_rows(x, n_axes):
    """x as (rows, n), n the product of its trailing ``n_axes`` dims, when it is a non-empty
    C-contiguous float32/float64 NumPy array and the compiled kernels are active; else None.
    (:func:`_rows_view` for trailing axes, with fewer steps: it runs on every layer norm.)"""
    if (
        type(x) is not np.ndarray
        or x.dtype not in _KERNEL_DTYPES
        or not x.flags.c_contiguous
        or x.size == 0
        or jit.backend() != "numba"
    ):
        return None
    shape = x.shape
    n = shape[-1]
    for d in shape[len(shape) - n_axes : -1]:
        n *= d
    return x.reshape(-1, n)


def _flat_param(p, x):
    """γ or β as a flat C-contiguous array of x's dtype for the kernels (a shared empty one
    for None), or None when it is not a NumPy array of that dtype."""
    if p is None:
        return _NO_PARAM[x.dtype]
    if type(p) is not np.ndarray or p.dtype != x.dtype:
        return None
    return np.ascontiguousarray(p).reshape(-1)


def layer_norm(x: Tensor, weight, bias, n_axes: int, eps: float) -> Tensor:
    """y = x̂ γ + β over the trailing ``n_axes`` dims as one op (arguments already checked
    by ``F.layer_norm``)."""
    return LayerNormFn.apply(x, weight, bias, n_axes, float(eps))
