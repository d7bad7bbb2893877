"""softmax and log_softmax along a dimension, fused for stability and speed.

Both subtract the row maximum before exponentiating, so inputs of ±1e4 give exact
finite results. The backward rules are written with Tensor ops (double-differentiable):
    softmax:      dx = y * (g - sum(g * y))
    log_softmax:  dx = g - exp(y) * sum(g)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import dispatch as _fast
from ..autograd.function import Function
from ..autograd.ieee import fp_ignoring
from ..autograd.saved_fields import given, given_dim  # grad_fn._saved_*
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import elementwise
from ._first_order import FUNCTION_SLOTS, PLAIN_APPLY, grad_array, plain_array
from ._result_layout import in_elementwise_layout
from ._ufunc_reduce import add_reduce
from ._util import DtypeError, as_tensor, int_dim, wide_bfloat16
from .binding import tensor_method
from .number_arguments import parser_int, refuse_dtype
from .reduction import sum as _sum

__all__ = ["log_softmax", "softmax"]

_IGNORE_OVER = fp_ignoring("over")  # np.errstate(over="ignore"), entered in 0.4 us, not 1.1


def _shifted(x: Any, dim: int) -> Any:
    """x minus its maximum along ``dim`` (so exp cannot overflow); float16 and bfloat16
    input is computed in float32 (the callers cast the result back)."""
    xa = x.astype("float32") if x.dtype == "float16" or x.dtype.kind == "V" else x
    return xa - xa.max(axis=dim, keepdims=True)


def _rounded(a: Any, dtype: Any) -> Tensor:
    """A float32 result rounded once to bfloat16 ``dtype``, as a graph-less Tensor."""
    return Tensor._make(get_array_module(a).asarray(a, dtype, order="C"), False, None, 0)


class Softmax(Function):
    saved_fields = {"dim": lambda n: given_dim(n, default=n.dim), "result": 0}  # grad_fn._saved_*
    raw = True
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)

    @staticmethod
    def forward(ctx, x, dim):
        dt = x.dtype
        if dt.kind == "V":  # bfloat16: in float32, rounded once (PyTorch's kernel)
            x = x.astype(np.float32)
        e = _fast.softmax_last(x, dim)  # compiled one-pass row kernel (chainrule._kernels)
        if e is None:
            e = get_array_module(x).exp(_shifted(x, dim))
            e /= e.sum(axis=dim, keepdims=True)
            e = e.astype(x.dtype, copy=False)
        e = get_array_module(e).asarray(e, order="C")  # C order whatever x's, as PyTorch's
        if dt.kind == "V":
            e = e.astype(dt)
        ctx.save_for_backward(e)
        ctx.dim = dim
        return e

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        # first order only: the fused kernel records nothing (a profiler sees the recorded
        # ops; bfloat16's float32 rule is kept)
        if not ctx.create_graph and (FUNCTION_SLOTS["apply"] is PLAIN_APPLY or y.dtype.kind == "V"):
            g, yd = grad._data, y._data
            bf16 = yd.dtype.kind == "V"
            if bf16:  # in float32, rounded once
                g, yd = wide_bfloat16(g), wide_bfloat16(yd)
            dx = _fast.softmax_last_grad(g, yd, ctx.dim)
            if bf16:
                if dx is None:
                    dx = yd * (g - (g * yd).sum(axis=ctx.dim, keepdims=True))
                return _rounded(dx, y.dtype), None
            if dx is None and yd.ndim and grad_array(ctx, grad) is not None:
                # below the kernel's size, first order on plain arrays (_first_order.py;
                # halves: the Tensor ops' float32): the NumPy steps of the Tensor expression
                # below, without recording a graph
                if plain_array(y, g) is not None:
                    dx = _softmax_grad(g, yd, ctx.dim)
            if dx is not None:
                return Tensor._make(dx, False, None, 0), None
        return y * (grad - _sum(grad * y, ctx.dim, keepdim=True)), None

    @staticmethod
    def jvp(ctx, t, _):
        y = ctx.out
        if y.dtype.kind == "V":  # bfloat16: in float32, rounded once
            yw, tw = wide_bfloat16(y), wide_bfloat16(t)
            out = yw * (tw - (tw * yw).sum(axis=ctx.dim, keepdims=True))
            return get_array_module(out).asarray(out, y.dtype)
        return y * (t - (t * y).sum(axis=ctx.dim, keepdims=True))


class LogSoftmax(Function):
    saved_fields = {"dim": lambda n: given_dim(n, default=n.dim), "result": 0}  # grad_fn._saved_*
    raw = True
    native_bfloat16 = True  # float32 inside, rounded once (run_in_float32 leaves it alone)

    @staticmethod
    def forward(ctx, x, dim):
        xp = get_array_module(x)
        s = _shifted(x, dim)
        total = xp.exp(s).sum(axis=dim, keepdims=True)
        if s.dtype != x.dtype and dim == x.ndim - 1:
            # float16 / bfloat16 along the last dim: PyTorch's row kernel keeps the row's sum
            # of exponentials, and its log, in the input dtype (other dims stay in float32)
            total = xp.log(total.astype(x.dtype).astype(s.dtype)).astype(x.dtype)
            y = s - total.astype(s.dtype)
        else:
            y = s - xp.log(total)
        with _IGNORE_OVER():  # beyond the half range is -inf, as PyTorch
            y = y.astype(x.dtype, copy=False)
        y = xp.asarray(y, order="C")  # C order whatever x's, as PyTorch's
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        if y.dtype.kind == "V" and not ctx.create_graph:  # bfloat16: float32, rounded once
            g, xp = wide_bfloat16(grad._data), get_array_module(grad._data)
            dx = g - xp.exp(wide_bfloat16(y._data)) * g.sum(axis=ctx.dim, keepdims=True)
            return _rounded(dx, y.dtype), None
        g = grad_array(ctx, grad)  # first order, plain (_first_order.py)
        if g is not None:
            yd = plain_array(y, g)
            if yd is not None:
                return Tensor._make(_log_softmax_grad(g, yd, ctx.dim), False, None, 0), None
        return grad - y.exp() * _sum(grad, ctx.dim, keepdim=True), None

    @staticmethod
    def jvp(ctx, t, _):
        xp = get_array_module(t)
        if t.dtype.kind == "V":  # bfloat16: in float32, rounded once
            tw = wide_bfloat16(t)
            out = tw - (tw * xp.exp(wide_bfloat16(ctx.out))).sum(axis=ctx.dim, keepdims=True)
            return xp.asarray(out, t.dtype)
        p = xp.exp(ctx.out)
        return t - (t * p).sum(axis=ctx.dim, keepdims=True)


def _softmax_grad(g: Any, y: Any, dim: int) -> Any:
    """First order, float32/float64 NumPy arrays of one dtype (``_first_order.grad_array``,
    ``plain_array``), ``y`` at least 1-d: ``y * (g - sum(g * y))`` by the NumPy steps the
    recorded expression takes (Mul's, Sum's, Sub's and Mul's forwards: the same calls in the
    same order, so the same rounding, and their result layouts), for a gradient in any
    layout (a sum's expanded one too: 8x8 float32 ``softmax(x, 1).sum()`` forward +
    backward 77 -> 58 us, thread_time, min of 3 x 7 x 2000, under heavy load; session 38
    took row-major gradients only)."""
    if g.flags.c_contiguous and y.flags.c_contiguous:
        # row-major (the forward's y always is): every layout step below is the identity,
        # and the steps are session 38's plain NumPy expression (the same ufuncs in the same
        # order; 8x8 float32 forward + backward with a dense gradient 27.8 -> 24.9 us,
        # thread_time, min of 9 x 2000, idle machine)
        return y * (g - (g * y).sum(axis=dim, keepdims=True))
    gy = elementwise(np.multiply, g, y)  # Mul.f(grad, y), then BinaryElementwise's layout
    if gy.ndim > 1:
        gy = in_elementwise_layout(gy, g, y)
    total = add_reduce(gy, axis=(dim,), keepdims=True, dtype=None)  # Sum.forward
    if not total.flags.c_contiguous:
        total = np.ascontiguousarray(total)
    d = elementwise(np.subtract, g, total)  # Sub.f(grad, total)
    if d.ndim > 1:
        d = in_elementwise_layout(d, g, total)
    dx = elementwise(np.multiply, y, d)  # Mul.f(y, d)
    return in_elementwise_layout(dx, y, d) if dx.ndim > 1 else dx


def _log_softmax_grad(g: Any, y: Any, dim: int) -> Any:
    """First order, float32/float64 NumPy arrays of one dtype (``_first_order.grad_array``,
    ``plain_array``): ``g - exp(y) * sum(g)`` by the NumPy steps the recorded expression
    takes (Exp's, Sum's, Mul's and Sub's forwards: the same calls in the same order, so the
    same rounding and layout), without its four nodes (8x8 forward + backward -8 us,
    thread_time, min of 9 x 2000, under load)."""
    e = _fast.exp(y)  # Exp.f: the compiled float32 kernel on large arrays, else NumPy's
    if e is None:
        e = np.exp(y)
    total = add_reduce(g, axis=(dim,), keepdims=True, dtype=None)  # Sum.forward
    if not total.flags.c_contiguous:
        total = np.ascontiguousarray(total)
    p = elementwise(np.multiply, e, total)  # Mul.f, then BinaryElementwise's layout
    if p.ndim > 1:
        p = in_elementwise_layout(p, e, total)
    dx = elementwise(np.subtract, g, p)  # Sub.f
    return in_elementwise_layout(dx, g, p) if dx.ndim > 1 else dx


def _dim(x: Tensor, dim: Any, op: str) -> int:
    nd = x.ndim
    if type(dim) is int and -nd <= dim < nd:  # the common case, without int_dim (-0.3 us)
        return dim % nd
    if dim is None:  # only the functional forms (F.softmax) pick a dim for the caller
        parser_int(op, "dim", 2, dim)  # PyTorch's parser's TypeError
    if type(dim) is not int:
        dim = parser_int(op, "dim", 2, dim)
    return int_dim(dim, x.ndim, op)


def _apply(fn: type[Function], op: str, x: Any, dim: Any, dtype: Any) -> Tensor:
    """What softmax and log_softmax share: cast to ``dtype`` first (as PyTorch), resolve the
    dimension, check the dtype, and treat 0-d (a row of one) and empty inputs."""
    x = as_tensor(x)
    if dtype is not None:
        refuse_dtype(op, dtype)
        x = x.to(dtype)
    d = _dim(x, dim, op)
    if x.dtype.kind not in "fV":  # V: bfloat16 (its Function runs in float32)
        raise DtypeError(f"{op}: expects a floating tensor, got {x.dtype}")
    if x.ndim == 0 or x.numel() == 0:  # a 0-d tensor is a row of one; empty stays empty
        return fn.apply(x.reshape(1), 0).reshape(()) if x.ndim == 0 else x * 1
    return given(fn.apply(x, d), dim=dim)  # grad_fn._saved_dim as given


@tensor_method(keywords=True)
def softmax(input: Any, dim: int, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed in ``dtype`` when given."""
    return _apply(Softmax, "softmax", input, dim, dtype)


@tensor_method(keywords=True)
def log_softmax(input: Any, dim: int, dtype: Any = None) -> Tensor:
    """x - log(sum(exp(x))) along ``dim``, computed in ``dtype`` when given."""
    return _apply(LogSoftmax, "log_softmax", input, dim, dtype)
