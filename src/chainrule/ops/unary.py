"""Elementwise functions of one tensor: y = f(x), dy = f'(x) * dx.

Each primitive has a forward on raw arrays, a backward written with Tensor ops (so it
can be differentiated again) and a jvp rule on raw arrays for forward mode.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_device
from ..threads import elementwise
from ._util import as_tensor
from .fused_grads import relu_grad, sigmoid_grad, tanh_grad


class Cast(Function):
    """Change dtype; the gradient is cast back to the input's dtype by the engine."""

    raw = True

    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None

    @staticmethod
    def jvp(ctx, t, _):
        return None if t is None else t.astype(ctx.out.dtype)


def cast(x: Tensor, dtype) -> Tensor:
    if x.requires_grad and np.dtype(dtype).kind not in "fc":
        # Casting to an integer/bool type ends the graph, as in PyTorch.
        return Tensor._make(x.data.astype(dtype), False, None, 0)
    return Cast.apply(x, np.dtype(dtype))


class ToDevice(Function):
    raw = True

    @staticmethod
    def forward(ctx, x, device):
        ctx.src = "cpu" if get_array_module(x) is np else f"cuda:{x.device.id}"
        return to_device(x, device)

    @staticmethod
    def backward(ctx, grad):
        return to_device_op(grad, ctx.src), None

    @staticmethod
    def jvp(ctx, t, _):
        return None if t is None else to_device(t, ctx.primals[1])


def to_device_op(x: Tensor, device) -> Tensor:
    return ToDevice.apply(x, device)


class Neg(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad

    @staticmethod
    def jvp(ctx, t):
        return None if t is None else -t


class Exp(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y

    @staticmethod
    def jvp(ctx, t):
        return t * ctx.out


class Log(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x

    @staticmethod
    def jvp(ctx, t):
        return t / ctx.primals[0]


class Log1p(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x + 1)

    @staticmethod
    def jvp(ctx, t):
        return t / (ctx.primals[0] + 1)


class Expm1(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (y + 1)

    @staticmethod
    def jvp(ctx, t):
        return t * (ctx.out + 1)


class Sqrt(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad / (y * 2)

    @staticmethod
    def jvp(ctx, t):
        return t / (2 * ctx.out)


class Sin(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * cos(x)

    @staticmethod
    def jvp(ctx, t):
        return t * get_array_module(t).cos(ctx.primals[0])


class Cos(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * sin(x)

    @staticmethod
    def jvp(ctx, t):
        return -t * get_array_module(t).sin(ctx.primals[0])


class Tan(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).tan(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (y * y + 1)

    @staticmethod
    def jvp(ctx, t):
        return t * (ctx.out * ctx.out + 1)


class Tanh(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return tanh_grad(grad, y)

    @staticmethod
    def jvp(ctx, t):
        return t * (1 - ctx.out * ctx.out)


def _stable_sigmoid(x):
    """sigma(x) = 1/(1+e^-x) for x >= 0 and e^x/(1+e^x) for x < 0: never overflows."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        y = _stable_sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return sigmoid_grad(grad, y)

    @staticmethod
    def jvp(ctx, t):
        return t * ctx.out * (1 - ctx.out)


class Relu(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        y = elementwise(get_array_module(x).maximum, x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return relu_grad(grad, y)

    @staticmethod
    def jvp(ctx, t):
        return t * (ctx.out > 0)


class Abs(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * sign(x)

    @staticmethod
    def jvp(ctx, t):
        return t * get_array_module(t).sign(ctx.primals[0])


class Erf(Function):
    raw = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (exp(-(x * x)) * (2.0 / math.sqrt(math.pi)))

    @staticmethod
    def jvp(ctx, t):
        x = ctx.primals[0]
        return t * get_array_module(x).exp(-x * x) * (2.0 / math.sqrt(math.pi))


def _erf(x):
    xp = get_array_module(x)
    if xp is not np:
        import cupyx.scipy.special as sp  # type: ignore

        return sp.erf(x)
    try:
        from scipy.special import erf as sp_erf

        return sp_erf(x).astype(x.dtype, copy=False)
    except ImportError:  # vectorised math.erf: exact, slower
        return np.vectorize(math.erf, otypes=[x.dtype])(x)


class Softplus(Function):
    """softplus(x) = log(1 + e^(beta x)) / beta, linear above ``threshold`` (as PyTorch)."""

    raw = True

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        xp = get_array_module(x)
        bx = x * beta
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / beta
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        return xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        mask = Tensor._make((bx.data > ctx.threshold), False, None, 0)
        return grad * where(mask, 1.0, sigmoid(bx)), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        x = ctx.primals[0]
        beta, thr = ctx.beta, ctx.threshold
        s = _stable_sigmoid(x * beta)
        return t * get_array_module(x).where(x * beta > thr, 1.0, s)


class Clamp(Function):
    """clamp(x, min, max); the gradient passes where min <= x <= max (as PyTorch)."""

    raw = True

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = get_array_module(x)
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        y = x
        if lo is not None:
            y = xp.maximum(y, lo)
        if hi is not None:
            y = xp.minimum(y, hi)
        return y.astype(x.dtype, copy=False) if y is not x else x.copy()

    @staticmethod
    def _mask(ctx, x):
        xp = get_array_module(x)
        m = xp.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            m &= x >= ctx.lo
        if ctx.hi is not None:
            m &= x <= ctx.hi
        return m

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        m = Clamp._mask(ctx, x.data).astype(grad.dtype)
        return grad * Tensor._make(m, False, None, 0), None, None

    @staticmethod
    def jvp(ctx, t, *_):
        return t * Clamp._mask(ctx, ctx.primals[0])


def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit values to [min, max]; either bound may be None."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        from .binary import maximum, minimum

        out = x
        if min is not None:
            out = maximum(out, as_tensor(min, x))
        if max is not None:
            out = minimum(out, as_tensor(max, x))
        return out
    if x.dtype.kind in "iub" and (isinstance(min, float) or isinstance(max, float)):
        x = cast(x, np.float32)
    return Clamp.apply(x, min, max)


clip = clamp


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


def exp(x: Tensor) -> Tensor:
    return Exp.apply(_float(x))


def log(x: Tensor) -> Tensor:
    return Log.apply(_float(x))


def log1p(x: Tensor) -> Tensor:
    return Log1p.apply(_float(x))


def expm1(x: Tensor) -> Tensor:
    return Expm1.apply(_float(x))


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(_float(x))


def rsqrt(x: Tensor) -> Tensor:
    return reciprocal(sqrt(x))


def sin(x: Tensor) -> Tensor:
    return Sin.apply(_float(x))


def cos(x: Tensor) -> Tensor:
    return Cos.apply(_float(x))


def tan(x: Tensor) -> Tensor:
    return Tan.apply(_float(x))


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(_float(x))


def sigmoid(x: Tensor) -> Tensor:
    """Logistic sigmoid, computed without overflow for any finite input."""
    return Sigmoid.apply(_float(x))


def relu(x: Tensor) -> Tensor:
    return Relu.apply(x)


def abs(x: Tensor) -> Tensor:  # noqa: A001
    return Abs.apply(x)


def sign(x: Tensor) -> Tensor:
    """sign(x); its gradient is zero everywhere, so the result is a constant."""
    x = as_tensor(x)
    return Tensor._make(get_array_module(x.data).sign(x.data), False, None, 0)


def erf(x: Tensor) -> Tensor:
    return Erf.apply(_float(x))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus.apply(_float(x), beta, threshold)


def reciprocal(x: Tensor) -> Tensor:
    from .binary import div

    return div(1.0, _float(x))


def square(x: Tensor) -> Tensor:
    from .binary import mul

    return mul(x, x)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    from .binary import where as _where

    return _where(cond, a, b)


def _float(x: Any) -> Tensor:
    """Integer inputs to transcendental functions become the default float (PyTorch)."""
    x = as_tensor(x)
    if x.data.dtype.kind not in "fc":
        from .. import dtypes

        return cast(x, dtypes.get_default_dtype())
    return x
