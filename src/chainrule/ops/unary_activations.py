"""The activation-shaped functions of one tensor: ``tanh``, ``sigmoid``, ``relu`` and
``softplus``, each a :class:`UnaryElementwise` primitive (stated once: forward on raw arrays,
derivative) whose gradient is one fused pass (``fused_grads.py``) for small-model speed.

Split from ``unary.py`` (session 38), which re-exports these names (``chainrule.sigmoid``,
``x.sigmoid()``, ``from chainrule.ops.unary import sigmoid`` as before). Their float32
forwards follow PyTorch's steps (``_activation_math.py``) or a compiled kernel
(``chainrule._kernels``); the other one-input math (exp, log, roots, abs, erf) is in
``unary.py``.
"""

from __future__ import annotations

import numpy as np

from .._kernels import dispatch as _fast
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import elementwise
from ._activation_math import SOFTPLUS_F32_STEPS, sigmoid_f32, softplus_f32, stable_sigmoid
from ._first_order import grad_tensor, wrapped
from ._util import as_tensor
from .binding import tensor_method
from .checked_arguments import kernel_dtype_error
from .complex_elementwise import ComplexSigmoid
from .elementwise import UnaryElementwise
from .fused_grads import SigmoidGrad, TanhGrad, relu_grad, relu_grad_array, sigmoid_grad, tanh_grad
from .input_first_grads import input_first_layout
from .number_arguments import parser_numbers
from .unary_inputs import _float, _mask, _no_complex

__all__ = ["relu", "sigmoid", "softplus", "tanh"]  # (the nodes are imported by name)


class Tanh(UnaryElementwise):
    """tanh; its gradient g (1 - y^2) is one fused op (``TanhGrad``) for small-model speed.
    Large float32 arrays take the compiled float32 kernel (``_kernels/transcendental``)."""

    saves = "y"

    @staticmethod
    def f(x):
        fast = _fast.tanh(x)
        return fast if fast is not None else get_array_module(x).tanh(x)

    @staticmethod
    def derivative(ctx, x, y):
        return 1 - y * y

    @staticmethod
    def chain(ctx, g, x, y):
        return tanh_grad(g, y)

    @staticmethod
    def array_chain(g, x, y):  # chain's TanhGrad on arrays, first order (_first_order.py)
        return grad_tensor(TanhGrad.f(g, y), g, y)


class Sigmoid(UnaryElementwise):
    """A primitive for stability and speed: ``1 / (1 + exp(-x))`` overflows exp for
    x < -709 and is three recorded ops; its gradient is one fused op (``SigmoidGrad``)."""

    saves = "y"

    @staticmethod
    def f(x):
        y = _fast.sigmoid(x)  # compiled one-pass float32 kernel (chainrule._kernels)
        if y is not None:
            return y
        if x.dtype == np.float32 and type(x) is np.ndarray:  # PyTorch's float32 steps
            return sigmoid_f32(x)
        if x.dtype == np.float16:  # in float32, rounded once, as PyTorch
            return stable_sigmoid(x.astype(np.float32)).astype(np.float16)
        return stable_sigmoid(x)

    @staticmethod
    def derivative(ctx, x, y):
        return y * (1 - y)

    @staticmethod
    def chain(ctx, g, x, y):
        return sigmoid_grad(g, y)

    @staticmethod
    def array_chain(g, x, y):  # chain's SigmoidGrad on arrays, first order (_first_order.py)
        return grad_tensor(SigmoidGrad.f(g, y), g, y)


class Relu(UnaryElementwise):
    """max(x, 0); its gradient is one masked pass (``ReluGrad``) for speed."""

    tie_saved = True  # a mask derivative (see Function.tie_saved)

    saves = "y"

    @staticmethod
    def f(x):
        y = _fast.relu(x)  # compiled one-pass kernel (chainrule._kernels), else NumPy
        # maximum(0, x), not (x, 0): NumPy returns the second operand on a tie, so
        # relu(-0.0) is -0.0, as PyTorch's (and the compiled kernel's) at no extra cost
        return y if y is not None else elementwise(get_array_module(x).maximum, 0, x)

    @staticmethod
    def derivative(ctx, x, y):
        return _mask(~(y._data <= 0), y.dtype)  # 1 at a NaN too (PyTorch's threshold)

    @staticmethod
    def chain(ctx, g, x, y):
        return relu_grad(g, y)

    @staticmethod
    def array_chain(g, x, y):  # chain's ReluGrad on arrays
        out = relu_grad_array(g, y)
        if not y.flags.c_contiguous:  # PyTorch's (y, g) order (a row-major y: row-major out)
            out = input_first_layout(out, y, g)
        return wrapped(out)


class Softplus(UnaryElementwise):
    """softplus(x) = log(1 + e^(beta x)) / beta, linear above ``threshold`` (as PyTorch).

    A primitive for stability: the composition overflows exp for large beta x.
    """

    fused_bfloat16_backward = True  # PyTorch's softplus_backward is one kernel
    saved_fields = {  # grad_fn._saved_* as PyTorch's (saved_fields.py)
        "beta": lambda n: n.params["beta"],
        "self": 0,
        "threshold": lambda n: n.params["threshold"],
    }

    @staticmethod
    def f(x, beta=1.0, threshold=20.0):
        if type(x) is np.ndarray and x.dtype in SOFTPLUS_F32_STEPS:
            return softplus_f32(x, beta, threshold)
        xp = get_array_module(x)
        bx = x * beta
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / beta
        return xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def derivative(ctx, x, y):
        bx = x * ctx.params["beta"]
        linear = _mask(bx._data > ctx.params["threshold"], x.dtype)
        return sigmoid(bx) * (1 - linear) + linear


@tensor_method(inplace=True, keywords=True)
def tanh(input: Tensor) -> Tensor:
    return Tanh.apply(_float(input))


@tensor_method(inplace=True, keywords=True)
def sigmoid(input: Tensor) -> Tensor:
    """Logistic sigmoid, computed without overflow for any finite input."""
    input = _float(input)
    if input._data.dtype.kind == "c":  # the stable real kernel has no complex form
        return ComplexSigmoid.apply(input)
    return Sigmoid.apply(input)


@tensor_method(inplace=True)
def relu(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    x = as_tensor(input)
    kind = x._data.dtype.kind
    if kind == "b":  # PyTorch refuses a mask rather than returning it as integers
        raise RuntimeError(f"relu: Boolean inputs not supported for relu (got {x.dtype})")
    if kind == "c":
        _no_complex("relu", x)
    return Relu.apply(x)


@tensor_method
def softplus(input: Tensor, beta: float = 1, threshold: float = 20) -> Tensor:  # as torch's
    if type(beta) not in (int, float) or type(threshold) not in (int, float):
        beta, threshold = parser_numbers("softplus", (("beta", beta), ("threshold", threshold)))
    if isinstance(input, Tensor) and input._data.dtype.kind in "iubc":  # PyTorch's words
        hint = "(softplus takes floating-point tensors: convert the input with .float())"
        raise kernel_dtype_error("softplus_cpu", input._data.dtype, hint)
    input = _float(input)
    return Softplus.apply(input, beta=beta, threshold=threshold)
