"""The normalisation ops: the derivative rules behind ``F.batch_norm``, ``F.layer_norm``,
``F.group_norm`` and ``F.instance_norm``.

Each standardises over some axes, x̂ = (x - μ) / √(σ² + ε). :class:`NormalizeFn` is that
standardisation as one fused op, with the hand-derived backward (m = number of reduced
elements)

    dx = (1/σ̂) · (g - mean(g) - x̂ · mean(g · x̂)),

which needs two reductions instead of the ~8 ops of the composite graph; layer, group and
instance norm apply their affine map after it with ordinary ops. :class:`BatchNormFn` is
training-mode batch norm with the affine map fused in. Both backwards run on raw arrays
unless ``create_graph=True``, when they are rebuilt from Tensor ops (recomputing μ and σ̂
from x) so double backward stays exact. A training-mode op reports the batch statistics it
used in a :class:`BatchStats` (a Function returns only its output). The functions in
``nn/functional/normalization.py`` check the arguments, update running statistics and call
these ops.
"""

from __future__ import annotations

from .._kernels import dispatch as _fast
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import elementwise

__all__ = ["BatchNormFn", "BatchStats", "NormalizeFn"]


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


def _project(t, xhat, invstd, axes):
    """(t - mean(t) - x̂ mean(t x̂)) / σ̂ on raw arrays: the standardisation's Jacobian
    (symmetric) applied to t, so it is both the backward rule and the tangent rule."""
    d = t - t.mean(axis=axes, keepdims=True)
    d -= xhat * (t * xhat).mean(axis=axes, keepdims=True)
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
    """x̂ = (x - mean(x)) / sqrt(var(x) + eps) over ``axes`` (biased variance)."""

    raw = True
    node_name = "NormalizeBackward"

    @staticmethod
    def forward(ctx, x, axes, eps, stats):
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        invstd = 1.0 / get_array_module(x).sqrt(var + eps)
        xhat = xc
        xhat *= invstd
        ctx.save_for_backward(x, xhat)  # xhat is the output: version-checked in backward
        ctx.axes, ctx.eps, ctx.invstd = axes, eps, invstd
        if stats is not None:
            stats.mean, stats.var = mean, var
        return xhat

    @staticmethod
    def backward(ctx, grad):
        axes = ctx.axes
        x, xhat = ctx.saved_tensors
        if ctx.create_graph:  # a differentiable rebuild from x
            return _rebuilt_grad(x, grad, axes, ctx.eps)[0], None, None, None
        dx = _project(grad._data, xhat._data, ctx.invstd, axes)
        return Tensor._make(dx, False, None, 0), None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return _project(t, ctx.saved_arrays[1], ctx.invstd, ctx.axes)


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
    node_name = "BatchNormBackward"

    @staticmethod
    def forward(ctx, x, weight, bias, eps, stats):
        xp = get_array_module(x)
        nd = x.ndim
        axes = (0,) + tuple(range(2, nd))
        m = x.size // x.shape[1]
        shp = (1, x.shape[1]) + (1,) * (nd - 2)
        # Kept for backward, as PyTorch: x and the per-channel statistics. x̂ is recomputed
        # in backward (storing it kept one more activation-sized array per layer alive).
        ctx.save_for_backward(x, weight, None)  # bias is never read (PyTorch: not saved)
        ctx.eps, ctx.shp, ctx.axes = eps, shp, axes
        fast = _fast.batch_norm_forward(x, weight, bias, eps)  # compiled (chainrule._kernels)
        if fast is not None:
            y, ctx.mean, var, ctx.invstd = fast
            if stats is not None:
                stats.mean, stats.var = ctx.mean, var
            return y
        mean = x.sum(axis=axes) / m
        y = elementwise(xp.subtract, x, mean.reshape(shp))  # x - mean, then x̂ in place
        var = _channel_dot(y, y, nd) / m
        invstd = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        elementwise(xp.multiply, y, invstd.reshape(shp), out=y)
        ctx.mean, ctx.invstd = mean, invstd
        if stats is not None:
            stats.mean, stats.var = mean, var
        if weight is not None:
            elementwise(xp.multiply, y, weight.reshape(shp), out=y)
        if bias is not None:
            elementwise(xp.add, y, bias.reshape(shp), out=y)
        return y

    @staticmethod
    def _xhat(ctx: Function, x):
        """x̂ = (x - mean) / σ̂ recomputed from the saved input (NumPy path, jvp)."""
        xp = get_array_module(x)
        xhat = elementwise(xp.subtract, x, ctx.mean.reshape(ctx.shp))
        return elementwise(xp.multiply, xhat, ctx.invstd.reshape(ctx.shp), out=xhat)

    @staticmethod
    def backward(ctx, grad):
        axes, shp = ctx.axes, ctx.shp
        needs = ctx.needs_input_grad
        if ctx.create_graph:  # a differentiable rebuild from x
            x, w, _ = ctx.saved_tensors
            gx, xhat = _rebuilt_grad(x, grad if w is None else grad * w.reshape(shp), axes, ctx.eps)
            gb = grad.sum(axes) if needs[2] else None
            gw = (grad * xhat).sum(axes) if needs[1] else None
            return (gx if needs[0] else None), gw, gb, None, None
        g = grad._data
        xp = get_array_module(g)
        xt, w, _ = ctx.saved_tensors
        x = xt._data
        m = x.size // x.shape[1]
        k = ctx.invstd if w is None else ctx.invstd * w._data
        fast = (
            _fast.batch_norm_backward(g, x, ctx.mean, ctx.invstd, k) if needs[0] else None
        )  # compiled (x̂ recomputed inside its loops)
        if fast is not None:
            dx, sum_g, sum_gx = fast
        else:
            xhat = BatchNormFn._xhat(ctx, x)
            sum_g = g.sum(axis=axes)
            sum_gx = _channel_dot(g, xhat, xhat.ndim)
        gx = None if fast is None else Tensor._make(dx, False, None, 0)
        if needs[0] and fast is None:
            dx = elementwise(xp.multiply, g, k.reshape(shp))
            tmp = elementwise(xp.multiply, xhat, (k * sum_gx / m).reshape(shp))
            elementwise(xp.add, tmp, (k * sum_g / m).reshape(shp), out=tmp)
            elementwise(xp.subtract, dx, tmp, out=dx)
            gx = Tensor._make(dx, False, None, 0)
        gw = (
            Tensor._make(sum_gx.astype(g.dtype, copy=False), False, None, 0)
            if len(needs) > 1 and needs[1]
            else None
        )
        gb = (
            Tensor._make(sum_g.astype(g.dtype, copy=False), False, None, 0)
            if len(needs) > 2 and needs[2]
            else None
        )
        return gx, gw, gb, None, None

    @staticmethod
    def jvp(ctx, tx, tw, tb, *_):
        axes, shp = ctx.axes, ctx.shp
        xhat = BatchNormFn._xhat(ctx, ctx.primals[0])
        w = ctx.primals[1]
        out = None
        if tx is not None:
            d = _project(tx, xhat, ctx.invstd.reshape(shp), axes)
            out = d if w is None else d * w.reshape(shp)
        if tw is not None:
            term = xhat * tw.reshape(shp)
            out = term if out is None else out + term
        if tb is not None:
            term = tb.reshape(shp)
            out = term if out is None else out + term
        return out
