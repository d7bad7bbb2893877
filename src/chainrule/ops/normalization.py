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
from .._layout import dense_order, relaid_tensor
from ..autograd.function import Function
from ..autograd.saved_fields import given_value, tensor_field  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import elementwise
from ._result_layout import grad_in_input_format, input_format
from ._ufunc_reduce import add_reduce
from .grad_laid import GradLaid
from .input_first_grads import plain_layout
from .memory_format import in_suggested_format

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


def _in_input_format(gx: Tensor, x: Any) -> Tensor:
    """Batch norm's input gradient ``gx`` under ``create_graph`` (recorded) in the memory
    format PyTorch's ``native_batch_norm_backward`` allocates it in: the input ``x``'s
    suggested one (channels-last, else row-major), whatever the incoming gradient's."""
    arr = gx._data
    if type(arr) is not np.ndarray or arr.ndim < 3:
        return gx
    if input_format(x) is None:
        return gx if arr.flags.c_contiguous else gx.contiguous()
    return relaid_tensor(gx, [1, *range(arr.ndim - 1, 1, -1), 0])  # C fastest, N outermost


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


def _f32(a: Any) -> Any:
    """A float16 or bfloat16 (NumPy kind 'V') array in float32, layout kept (the norms:
    batch, layer, group, compute those in float32, as PyTorch's CPU kernels); None and
    other dtypes as they are."""
    return (
        a if a is None or (a.dtype != np.float16 and a.dtype.kind != "V") else a.astype(np.float32)
    )


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
    saved_fields = {  # grad_fn._saved_* as PyTorch's; running stats: kept by F.batch_norm
        "eps": lambda n: n.eps,
        "input": 0,
        "result1": 3,  # the batch mean
        "result2": 4,  # and 1 / sqrt(var + eps)
        "running_mean": tensor_field(lambda n: given_value(n, "running_mean")),
        "running_var": tensor_field(lambda n: given_value(n, "running_var")),
        "training": lambda n: True,
        "weight": 1,
    }
    saved_optional_inputs = {1: 1}  # weight: None after backward where none was given

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
            return in_suggested_format(y, x)  # PyTorch: x.suggest_memory_format()
        mean = add_reduce(x, axis=axes) / m
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
        return in_suggested_format(y, x)

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
            # the second order in x's own layout: PyTorch's batchnorm_double_backward builds
            # its terms from input - mean (channels-last, transposed: kept; row-major x: the
            # rebuilt graph's already, no node added)
            arr = xt._data
            plain = type(arr) is not np.ndarray or arr.ndim < 3 or arr.flags.c_contiguous
            order = None if plain else dense_order(arr)
            x = xt if order is None else GradLaid.apply(xt, order)
            gx, xhat = _rebuilt_grad(x, grad if w is None else grad * w.reshape(shp), axes, ctx.eps)
            if needs[0] and plain_layout(x, grad):  # PyTorch's: x's suggested format
                gx = _in_input_format(gx, x._data)
            gb = grad.sum(axes) if needs[2] else None
            gw = (grad * xhat).sum(axes) if needs[1] else None
            return (gx if needs[0] else None), gw, gb, None, None
        g = grad._data
        if type(g) is np.ndarray and not g.flags.c_contiguous and g.size > 1:
            if 0 in g.strides:  # a broadcast gradient (of a sum): one copy, then the kernel
                g = np.ascontiguousarray(g)
            elif input_format(g) is not None and plain_layout(g):
                # channels-last: NumPy's float32 sums over it add row by row, rounding
                # enough otherwise to move a drop-in program's losses (mit_dbvae_debiasing,
                # after relu's gradient took PyTorch's channels-last layout; session 46);
                # dx is laid out in x's suggested format below
                g = np.ascontiguousarray(g)
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
        if gx is not None and (
            not gx._data.flags.c_contiguous or input_format(xt._data) is not None
        ):
            # PyTorch's: dx in x's suggested format whatever g's (row-major x: one flag test)
            laid = grad_in_input_format(gx._data, xt._data)
            if laid is not gx._data:
                gx = Tensor._make(laid, False, None, 0)
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
