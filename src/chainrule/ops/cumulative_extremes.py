"""Running extremes and the running log-sum-exp along a dimension: ``cummax``, ``cummin``
and ``logcumsumexp``.

``cummax``/``cummin`` find the running arg-extreme with one vectorised step per position
(as PyTorch: a later equal value takes over the index, NaN propagates from its first
occurrence and each later NaN takes over the index), then gather the values, so the gradient
of each output goes to the element it came from.

``logcumsumexp`` is a primitive computed with ``logaddexp.accumulate`` (no overflow). Its
gradient ``dx_i = sum_{j >= i} g_j exp(x_i - y_j)`` is evaluated in log space with the
positive and negative parts of ``g`` kept apart (PyTorch's and TensorFlow's stable form), from
differentiable ops, so double backward works too.

Complex input (as PyTorch) runs the same scan with a complex log-add-exp,
``lae(a, b) = m + log1p(exp(o - m))`` where ``m`` is the operand of larger real part (``b``,
the new element, on a tie) and ``o`` the other, started from ``-inf + 0j``; so, as in PyTorch,
the imaginary part is not reduced to (-pi, pi] but carried along the scan. As PyTorch: a NaN
in either part of an operand gives NaN + NaNj, and two operands of the same infinite real
part give ``log(exp(a) + exp(b))``. The gradient is PyTorch's conjugate one,
``dx_i = sum_{j >= i} g_j conj(exp(x_i - y_j))``, computed as
``exp(conj x_i + logcumsumexp_{j >= i}(log g_j - conj y_j))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import return_types
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.saved_fields import given, given_dim  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import device_of, errstate, get_array_module, host, to_device
from ..meta.array import is_meta
from ._result_layout import contiguous
from ._util import DtypeError, as_tensor, constant, int_dim
from .binary import where
from .binding import tensor_method
from .cumulative import ZeroDimScan
from .rearranging import flip
from .selected_values import selected_values

__all__ = ["cummax", "cummin", "logcumsumexp"]


def _running_arg(a: Any, d: int, largest: bool) -> Any:
    """Index (along ``d``) of the running maximum (or minimum) of array ``a``."""
    xp = get_array_module(a)
    moved = xp.moveaxis(a, d, -1)
    idx = xp.zeros(a.shape, np.int64)  # row-major whatever ``a`` is, as PyTorch's result
    idx_moved = xp.moveaxis(idx, d, -1)  # a view: filled along the last dim
    if moved.shape[-1] == 0 or moved.size == 0 or is_meta(a):  # (meta: no values to scan)
        return idx
    floats = moved.dtype.kind in "fc"
    best, at = moved[..., 0].copy(), xp.zeros(moved.shape[:-1], np.int64)
    for i in range(1, moved.shape[-1]):
        v = moved[..., i]
        take = v >= best if largest else v <= best
        if floats:
            take = take | xp.isnan(v)
        best = xp.where(take, v, best)
        at = xp.where(take, i, at)
        idx_moved[..., i] = at
    return idx


class RunningArg(Function):
    """:func:`_running_arg` as an op (integers, no gradient), so that ``cr.func.vmap`` runs
    it per sample."""

    raw = True

    @staticmethod
    def forward(ctx, x, d, largest):
        return _running_arg(x, d, largest)

    @staticmethod
    def backward(ctx, grad):
        return None, None, None


def _cum_extreme(op: str, input: Any, dim: int, largest: bool) -> Any:  # noqa: A002
    x = as_tensor(input)
    d = int_dim(dim, x.ndim, op)
    if x.ndim == 0:  # (a complex one too: PyTorch returns the element unordered)
        if x._data.dtype.kind == "c" and x.requires_grad and is_grad_enabled():
            raise RuntimeError(
                f"{op} does not support automatic differentiation for outputs with complex dtype."
            )
        zero = get_array_module(x._data).zeros((), np.int64)
        node = f"{op.capitalize()}Backward0"  # PyTorch's node (the element itself)
        value = given(ZeroDimScan.apply(x, node), dim=dim) if x.dtype.kind in "fc" else x.clone()
        return getattr(return_types, op)(value, constant(zero))
    if x._data.dtype.kind == "c":
        raise NotImplementedError(f"{op}(): complex tensors have no order (got {x.dtype})")
    idx = RunningArg.apply(x.detach(), d, largest)
    values = given(selected_values(op, x, d, idx), dim=dim)  # grad_fn._saved_dim as given
    return getattr(return_types, op)(values, idx)


@tensor_method(keywords=True)
def cummax(input: Any, dim: int) -> return_types.cummax:  # noqa: A002
    """(values, indices) of the running maximum along ``dim``; each value's gradient goes to
    the element it was taken from."""
    return _cum_extreme("cummax", input, dim, largest=True)


@tensor_method(keywords=True)
def cummin(input: Any, dim: int) -> return_types.cummin:  # noqa: A002
    """(values, indices) of the running minimum along ``dim``."""
    return _cum_extreme("cummin", input, dim, largest=False)


def _reverse_logcumsumexp(v: Tensor, d: int) -> Tensor:
    """out_i = log sum_{j >= i} exp(v_j) along ``d`` (differentiable)."""
    return flip(logcumsumexp(flip(v, (d,)), d), (d,))


def _complex_log1p(z: Any) -> Any:
    """log(1 + z) for complex z, accurate for small |z|: 0.5 log1p(2 re + |z|^2) + i atan2."""
    xp = get_array_module(z)
    re, im = z.real, z.imag
    out = 0.5 * xp.log1p(re * (2 + re) + im * im) + 1j * xp.arctan2(im, 1 + re)
    return out.astype(z.dtype)


def _complex_log_add_exp(a: Any, b: Any) -> Any:
    """PyTorch's complex log(exp(a) + exp(b)) of two arrays (see the module docstring)."""
    xp = get_array_module(a)
    take_b = ~(a.real > b.real)
    m, o = xp.where(take_b, b, a), xp.where(take_b, a, b)
    out = m + _complex_log1p(xp.exp(o - m))
    both_inf = (a.real == b.real) & xp.isinf(a.real)
    if both_inf.any():
        out = xp.where(both_inf, xp.log(xp.exp(a) + xp.exp(b)), out)
    return xp.where(xp.isnan(a) | xp.isnan(b), a.dtype.type(complex(np.nan, np.nan)), out)


def _complex_accumulate(x: Any, dim: int) -> Any:
    """The running complex log-add-exp along ``dim``, from -inf + 0j (one step per position)."""
    xp = get_array_module(x)
    xs = xp.moveaxis(x, dim, 0)
    out = xp.empty_like(xs)
    acc = xp.full(xs.shape[1:], complex(-np.inf, 0.0), dtype=x.dtype)
    with errstate(xp, all="ignore"):  # inf/NaN operands follow PyTorch's rules, no warnings
        for j in range(xs.shape[0]):
            acc = out[j] = _complex_log_add_exp(acc, xs[j])
    return xp.moveaxis(out, 0, dim)


def _complex_grad(x: Tensor, y: Tensor, grad: Tensor, d: int) -> Tensor:
    """dx_i = sum_{j >= i} g_j conj(exp(x_i - y_j)), in log space (differentiable); a zero
    g_j enters as a very negative finite log, not log(0), so double backward stays finite."""
    lowest = float(np.finfo(x._data.real.dtype).min) / 2
    nz = constant(grad._data != 0)
    log_g = where(nz, where(nz, grad, 1.0).log(), lowest)
    return (_reverse_logcumsumexp(log_g - y.conj(), d) + x.conj()).exp()


def _logaddexp_accumulate(x: Any, axis: int, dtype: Any = None) -> Any:
    """``logaddexp.accumulate`` along ``axis``. CuPy has no ``ufunc.accumulate`` and
    ``log(cumsum(exp(x - max)))`` loses the small terms beside a large one, so a CuPy array
    makes a round trip to the host for the sequential scan."""
    if get_array_module(x) is np:
        return np.logaddexp.accumulate(x, axis=axis, dtype=dtype)
    out = np.logaddexp.accumulate(host(x), axis=axis, dtype=dtype)
    return to_device(out, device_of(x))


class LogCumSumExp(Function):
    raw = True
    node_name = "LogcumsumexpBackward0"  # PyTorch's name for the node
    # grad_fn._saved_* as PyTorch's (the dim as given where the wrapper kept it)
    saved_fields = {
        "dim": lambda n: given_dim(n, default=n.dim),
        "result": 1,
        "self": 0,
    }
    complex_grad = True  # the complex backward returns PyTorch's conjugate convention

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        xp = get_array_module(x)
        if xp.iscomplexobj(x):
            y = contiguous(_complex_accumulate(x, dim))
        elif x.dtype.char == "e":  # float16: in float32, each value rounded once (PyTorch)
            y = contiguous(_logaddexp_accumulate(x, dim, np.float32).astype(x.dtype))
        else:
            y = contiguous(_logaddexp_accumulate(x, dim))  # as PyTorch
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        d = ctx.dim
        if x._data.dtype.kind == "c":
            return _complex_grad(x, y, grad, d), None
        half = x._data.dtype.char == "e"  # float16: in float32, rounded once at the end
        if half:
            x, y, grad = x.float(), y.float(), grad.float()
        g = grad._data
        lowest = float(np.finfo(x.dtype).min) / 2  # log(0), with room to add y and x
        pos, neg = constant(g > 0), constant(g < 0)
        log_abs = where(constant(g != 0), grad, 1.0).abs().log()
        out_pos = (_reverse_logcumsumexp(where(pos, log_abs, lowest) - y, d) + x).exp()
        out_neg = (_reverse_logcumsumexp(where(neg, log_abs, lowest) - y, d) + x).exp()
        return (out_pos - out_neg).half() if half else out_pos - out_neg, None

    @staticmethod
    def jvp(ctx, t, _):
        x, y, d = ctx.primals[0], ctx.out, ctx.dim
        xp = get_array_module(x)
        if xp.iscomplexobj(x):  # dy_j = sum_{i <= j} t_i exp(x_i - y_j) (holomorphic)
            with errstate(xp, divide="ignore", invalid="ignore", over="ignore"):
                acc = _complex_accumulate(xp.log(t.astype(x.dtype)) + x, d)
                return xp.exp(acc - y).astype(x.dtype)
        with errstate(xp, divide="ignore", invalid="ignore", over="ignore"):
            parts = []
            for part in (xp.where(t > 0, t, 0), xp.where(t < 0, -t, 0)):
                acc = _logaddexp_accumulate(xp.log(part) + x, d)
                parts.append(xp.exp(acc - y))
            out = parts[0] - parts[1]
            if not x.shape[d]:  # empty along dim: no max to take
                return out.astype(x.dtype)
            # PyTorch's logcumsumexp_jvp: e = exp(x - max), cumsum(e t) / (cumsum(e) + 1e-13)
            finite = xp.isfinite(x.max(axis=d, keepdims=True))  # a NaN in the line: NaN max
            # where every element so far is -inf (y = -inf) in a line with a finite max,
            # PyTorch's tangent is 0 (over the 1e-13), not -inf - -inf
            out = xp.where(xp.isneginf(y) & finite, 0, out)
            # a NaN tangent (or an infinite one at x = -inf, 0 * inf) is in neither part: it
            # reaches every later position
            nan = xp.isnan(t) | (xp.isinf(t) & xp.isneginf(x))
            if nan.any():
                out = xp.where(xp.logical_or.accumulate(nan, axis=d), xp.nan, out)
            if not finite.all():  # a line whose max is NaN or +-inf: PyTorch's formula
                # NaN at x = max = +-inf (inf - inf), and throughout a line with a NaN
                e = xp.exp(x - x.max(axis=d, keepdims=True))
                torch_t = xp.cumsum(e * t, axis=d) / (xp.cumsum(e, axis=d) + 1e-13)
                out = xp.where(finite, out, torch_t)
        return out.astype(x.dtype)


@tensor_method(keywords=True)
def logcumsumexp(input: Any, dim: int) -> Tensor:  # noqa: A002
    """y_j = log(exp(x_0) + ... + exp(x_j)) along ``dim``, without overflow.

    Complex input is supported (see the module docstring for its branch of the logarithm).

    Raises:
        NotImplementedError: an integer or bool input.
    """
    x = as_tensor(input)
    if x._data.dtype.kind not in "fcV":  # V: bfloat16
        raise DtypeError(
            f"logcumsumexp: not implemented for {x.dtype} input (floating point or complex); "
            "convert it with .float() first"
        )
    d = int_dim(dim, x.ndim, "logcumsumexp")
    if x.ndim == 0:  # PyTorch's LogcumsumexpBackward0 (the element itself)
        return given(ZeroDimScan.apply(x, "LogcumsumexpBackward0"), dim=dim)
    return given(LogCumSumExp.apply(x, d), dim=dim)  # grad_fn._saved_dim as given
