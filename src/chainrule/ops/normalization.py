"""The normalisation ops: the derivative rules behind ``F.batch_norm``, ``F.layer_norm``,
``F.group_norm`` and ``F.instance_norm``.

Each standardises over some axes, x̂ = (x - μ) / √(σ² + ε). :class:`NormalizeFn` is that
standardisation as one fused op, with the hand-derived backward (m = number of reduced
elements)

    dx = (1/σ̂) · (g - mean(g) - x̂ · mean(g · x̂)),

which needs two reductions instead of the ~8 ops of the composite graph. :class:`BatchNormFn` is
training-mode batch norm with the affine map fused in (instance norm runs it on the input
viewed as one sample of N·C channels, as PyTorch). Both backwards run on raw arrays
unless ``create_graph=True``, when they are rebuilt from Tensor ops (recomputing μ and σ̂
from x) so double backward stays exact. A training-mode op reports the batch statistics it
used in a :class:`BatchStats` (a Function returns only its output). The functions in
``nn/functional/normalization.py`` check the arguments, update running statistics and call
these ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import dispatch as _fast
from .._kernels import jit
from .._kernels import layernorm as _LN
from ..autograd.function import Function
from ..autograd.saved_fields import input_shape, input_tensor, tensor_field  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import elementwise

__all__ = ["BatchNormFn", "BatchStats", "LayerNormFn", "NormalizeFn", "layer_norm"]


class BatchStats:
    """Where a training-mode normalisation op reports the statistics of the batch it
    normalised, for its caller's running averages (a Function returns only its output).

    The op's forward sets, per channel (raw arrays): ``mean``; ``var``, the biased variance
    (``NormalizeFn``, ``BatchNormFn``); or ``unbiased_var`` and ``count``, the variance over
    all processes and their number of values (``SyncBatchNorm``). Unset fields stay None.
    """

    __slots__ = ("count", "mean", "unbiased_var", "var")

    def __init__(self) -> None:
        self.mean = self.var = self.unbiased_var = self.count = None


def _project(t, xhat, invstd, axes, tangent=False):
    """(t - mean(t) - x̂ mean(t x̂)) / σ̂ on raw arrays: the standardisation's Jacobian
    (symmetric) applied to t, so it is both the backward rule and the tangent rule.

    ``tangent``: the second mean over the centred t (equal, as mean(x̂) = 0), as PyTorch's
    forward-mode rules: a tangent constant along the axes then gives exactly 0, not
    rounding noise that an inf downstream would turn into ±inf where PyTorch has NaN."""
    d = t - t.mean(axis=axes, keepdims=True)
    d -= xhat * ((d if tangent else t) * xhat).mean(axis=axes, keepdims=True)
    d *= invstd
    return d


def _rebuilt_grad(x, g, axes, eps):
    """Differentiable rebuild for ``create_graph=True``: x̂ from x with Tensor ops, and the
    gradient w.r.t. x of the standardisation given the gradient g w.r.t. x̂."""
    xc = x - x.mean(axes, keepdim=True)
    invstd = ((xc * xc).mean(axes, keepdim=True) + eps).rsqrt()
    xhat = xc * invstd
    gx = (g - g.mean(axes, keepdim=True) - xhat * (g * xhat).mean(axes, keepdim=True)) * invstd
    return gx, xhat


class NormalizeFn(Function):
    """x̂ = (x - mean(x)) / sqrt(var(x) + eps) over ``axes`` (biased variance).

    Saved for backward, as PyTorch's layer norm: the input x and the statistics (μ, 1/σ̂),
    not x̂, which backward recomputes; so the output may be changed in place. When the axes
    are the trailing ones of a C-contiguous NumPy array and the compiled kernels are active,
    each direction is one row pass (:mod:`chainrule._kernels.layernorm`)."""

    raw = True
    node_name = "NormalizeBackward0"

    @staticmethod
    def forward(ctx, x, axes, eps, stats):
        ctx.axes, ctx.eps = axes, eps
        xhat, mean, invstd, ctx.rows = _standardize(x, axes, eps, stats)
        ctx.save_for_backward(x, mean, invstd)
        return xhat

    @staticmethod
    def backward(ctx, grad):
        axes = ctx.axes
        x, mean, invstd = ctx.saved_tensors
        if ctx.create_graph:  # a differentiable rebuild from x
            return _rebuilt_grad(x, grad, axes, ctx.eps)[0], None, None, None
        x, g, mean, invstd = x._data, grad._data, mean._data, invstd._data
        if (
            ctx.rows
            and type(g) is np.ndarray
            and g.dtype == x.dtype
            and g.shape == x.shape
            and g.flags.c_contiguous
        ):
            n = x.size // mean.size
            dx = np.empty_like(g)
            _LN.normalize_rows_backward(
                g.reshape(-1, n),
                x.reshape(-1, n),
                mean.reshape(-1),
                invstd.reshape(-1),
                dx.reshape(-1, n),
            )
        else:
            dx = _project(g, _xhat(x, mean, invstd), invstd.astype(x.dtype, copy=False), axes)
        return Tensor._make(dx, False, None, 0), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x, mean, invstd = ctx.saved_arrays
        return _project(
            t, _xhat(x, mean, invstd), invstd.astype(x.dtype, copy=False), ctx.axes, tangent=True
        )


def _standardize(x, axes, eps, stats):
    """``(x̂, μ, 1/σ̂, compiled)``: x standardised over ``axes``, with the statistics kept
    (for backward) in the shape that broadcasts against x; ``compiled`` says the row kernel
    ran (``stats`` is then None: only the plain path reports batch statistics)."""
    rows = None if stats is not None else _rows_view(x, axes)
    if rows is not None:  # compiled: statistics in float64, one pass
        xhat = np.empty_like(x)
        mean, invstd = np.empty(rows.shape[0]), np.empty(rows.shape[0])
        _LN.normalize_rows(rows, float(eps), xhat.reshape(rows.shape), mean, invstd)
        kept = x.shape[: x.ndim - len(axes)] + (1,) * len(axes)
        return xhat, mean.reshape(kept), invstd.reshape(kept), True
    mean = x.mean(axis=axes, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=axes, keepdims=True)
    invstd = 1.0 / get_array_module(x).sqrt(var + eps)
    xhat = xc
    xhat *= invstd
    if stats is not None:
        stats.mean, stats.var = mean, var
    return xhat, mean, invstd, False


def _rows_view(x, axes):
    """x as (rows, n) when ``axes`` are its trailing axes, it is a non-empty C-contiguous
    float NumPy array and the compiled kernels are active; else None."""
    if (
        type(x) is not np.ndarray
        or jit.backend() != "numba"
        or x.dtype not in (np.float32, np.float64)
        or x.size == 0
        or not x.flags.c_contiguous
        or sorted(a % x.ndim for a in axes) != list(range(x.ndim - len(axes), x.ndim))
    ):
        return None
    n = 1
    for a in axes:
        n *= x.shape[a]
    return x.reshape(-1, n)


def _xhat(x, mean, invstd):
    """x̂ = (x - μ) / σ̂ recomputed from the input and the saved statistics (x's dtype)."""
    xhat = x - mean.astype(x.dtype, copy=False)
    xhat *= invstd.astype(x.dtype, copy=False)
    return xhat


def _channel_dot(a, b, nd):
    """sum over all axes but 1 of a * b, without materialising the product."""
    xp = get_array_module(a, b)
    sub = "ab" + "cdefgh"[: nd - 2]
    return xp.einsum(f"{sub},{sub}->b", a, b)


class BatchNormFn(Function):
    """Training-mode batch norm in one op: y = γ x̂ + β with x̂ standardised per channel
    over (N, *spatial) with the batch statistics.

    Fusing the affine map into the standardisation halves the passes over the activations
    (forward: 4 instead of 7; backward: ~6 instead of ~12): with g = dy, m values per
    channel and k = γ/σ̂,

        dβ = Σ g,   dγ = Σ g x̂,   dx = k g - (k dγ/m) x̂ - k dβ/m.

    With ``create_graph=True`` the backward is rebuilt from Tensor ops (recomputing the
    statistics from x), so double backward is exact.
    """

    raw = True
    node_name = ("NativeBatchNormBackward0", (0, 1, 2))
    saved_fields = {  # grad_fn._saved_* as PyTorch's; running stats: not inputs here
        "eps": lambda n: n.eps,
        "input": 0,
        "result1": 3,  # the batch mean
        "result2": 4,  # and 1 / sqrt(var + eps)
        "running_mean": tensor_field(lambda n: None),
        "running_var": tensor_field(lambda n: None),
        "training": lambda n: True,
        "weight": 1,
    }

    @staticmethod
    def forward(ctx, x, weight, bias, eps, stats):
        if x.dtype.char == "e":  # float16: in float32, rounded once (PyTorch's CPU kernel)
            y = BatchNormFn.forward(ctx, x.astype(np.float32), _f32(weight), _f32(bias), eps, stats)
            ctx.save_for_backward(x, weight, None, *ctx._saved[3:])  # the arguments themselves
            p = weight if weight is not None else bias  # γ, β: one dtype (F.batch_norm's check)
            ctx.param_dtype = x.dtype if p is None else p.dtype
            return y.astype(x.dtype)
        xp = get_array_module(x)
        nd = x.ndim
        axes = (0,) + tuple(range(2, nd))
        m = x.size // x.shape[1]
        shp = (1, x.shape[1]) + (1,) * (nd - 2)
        # Kept for backward, as PyTorch: x and the per-channel statistics. x̂ is recomputed
        # in backward (storing it kept one more activation-sized array per layer alive).
        # Saved: (x, weight, None, mean, invstd); bias is never read (PyTorch: not saved).
        ctx.eps, ctx.shp, ctx.axes = eps, shp, axes
        fast = _fast.batch_norm_forward(x, weight, bias, eps)  # compiled (chainrule._kernels)
        if fast is not None:
            y, mean, var, invstd = fast
            ctx.save_for_backward(x, weight, None, mean, invstd)
            if stats is not None:
                stats.mean, stats.var = mean, var
            return y
        mean = x.sum(axis=axes) / m
        y = elementwise(xp.subtract, x, mean.reshape(shp))  # x - mean, then x̂ in place
        var = _channel_dot(y, y, nd) / m
        invstd = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        elementwise(xp.multiply, y, invstd.reshape(shp), out=y)
        ctx.save_for_backward(x, weight, None, mean, invstd)
        if stats is not None:
            stats.mean, stats.var = mean, var
        if weight is not None:
            elementwise(xp.multiply, y, weight.reshape(shp), out=y)
        if bias is not None:
            elementwise(xp.add, y, bias.reshape(shp), out=y)
        return y

    @staticmethod
    def _xhat(x, mean, invstd, shp):
        """x̂ = (x - mean) / σ̂ recomputed from the saved input (NumPy path, jvp)."""
        xp = get_array_module(x)
        xhat = elementwise(xp.subtract, x, mean.reshape(shp))
        return elementwise(xp.multiply, xhat, invstd.reshape(shp), out=xhat)

    @staticmethod
    def backward(ctx, grad):
        axes, shp = ctx.axes, ctx.shp
        needs = ctx.needs_input_grad
        xt, w, _, mean, invstd = ctx.saved_tensors
        if ctx.create_graph:  # a differentiable rebuild from x
            x = xt
            gx, xhat = _rebuilt_grad(x, grad if w is None else grad * w.reshape(shp), axes, ctx.eps)
            gb = grad.sum(axes) if needs[2] else None
            gw = (grad * xhat).sum(axes) if needs[1] else None
            return (gx if needs[0] else None), gw, gb, None, None
        g = grad._data
        if type(g) is np.ndarray and 0 in g.strides and g.size > 1:
            g = np.ascontiguousarray(g)  # a broadcast gradient (of a sum): one copy, then kernel
        xp = get_array_module(g)
        x, mean, invstd = xt._data, mean._data, invstd._data
        dt = pdt = g.dtype  # a float16 gradient is computed in float32 and rounded once
        if x.dtype.char == "e":
            x, g, pdt = x.astype(np.float32), g.astype(np.float32), ctx.param_dtype
        m = x.size // x.shape[1]
        k = invstd if w is None else invstd * _f32(w._data)
        fast = (
            _fast.batch_norm_backward(g, x, mean, invstd, k) if needs[0] else None
        )  # compiled (x̂ recomputed inside its loops)
        if fast is not None:
            dx, sum_g, sum_gx = fast
        else:
            xhat = BatchNormFn._xhat(x, mean, invstd, shp)
            sum_g = g.sum(axis=axes)
            sum_gx = _channel_dot(g, xhat, xhat.ndim)
        gx = None if fast is None else Tensor._make(dx.astype(dt, copy=False), False, None, 0)
        if needs[0] and fast is None:
            dx = elementwise(xp.multiply, g, k.reshape(shp))
            tmp = elementwise(xp.multiply, xhat, (k * sum_gx / m).reshape(shp))
            elementwise(xp.add, tmp, (k * sum_g / m).reshape(shp), out=tmp)
            elementwise(xp.subtract, dx, tmp, out=dx)
            gx = Tensor._make(dx.astype(dt, copy=False), False, None, 0)
        gw = (
            Tensor._make(sum_gx.astype(pdt, copy=False), False, None, 0)
            if len(needs) > 1 and needs[1]
            else None
        )
        gb = (
            Tensor._make(sum_g.astype(pdt, copy=False), False, None, 0)
            if len(needs) > 2 and needs[2]
            else None
        )
        return gx, gw, gb, None, None

    @staticmethod
    def jvp(ctx, tx, tw, tb, *_):
        axes, shp = ctx.axes, ctx.shp
        x, w, _, mean, invstd = ctx.saved_arrays
        xhat = BatchNormFn._xhat(x, mean, invstd, shp)
        out = None
        if tx is not None:
            d = _project(tx, xhat, invstd.reshape(shp), axes, tangent=True)
            out = d if w is None else d * w.reshape(shp)
        if tw is not None:
            term = xhat * tw.reshape(shp)
            out = term if out is None else out + term
        if tb is not None:
            term = tb.reshape(shp)
            out = term if out is None else out + term
        return out


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
        return y

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
            # no leading dims: nothing to sum (a Tensor's sum(()) would sum every dim)
            gw = (grad * xhat if not lead else (grad * xhat).sum(lead)) if need_w else None
            gb = (grad if not lead else grad.sum(lead)) if need_b else None
            return (gx if needs[0] else None), gw, gb, None, None
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


def _f32(a: Any) -> Any:
    """A float16 or bfloat16 array (dtype chars 'e', 'E') in float32 (the norms compute
    those in float32, as PyTorch's CPU kernels); None and other dtypes as they are."""
    return a if a is None or a.dtype.char not in "eE" else a.astype(np.float32)


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
