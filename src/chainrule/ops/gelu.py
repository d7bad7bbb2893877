"""The exact GELU as one fused op, and its gradient as another (both differentiable).

    gelu(x) = x Φ(x),  Φ(x) = (1 + erf(x / √2)) / 2,  φ(x) = Φ'(x) = exp(-x² / 2) / √(2π)

    d gelu / dx        = Φ(x) + x φ(x)             (``GeluGrad(g, x) = g (Φ + x φ)``)
    ∂ GeluGrad / ∂g    = Φ(x) + x φ(x)             (``GeluGrad`` again: fused one order up)
    ∂ GeluGrad / ∂x    = g φ(x) (2 - x²)           (since φ'(x) = -x φ(x))

Why fused: written from primitives (``x * 0.5 * (erf(x / √2) + 1)``) GELU is five recorded
ops and five passes over memory forward, and its backward about ten more; in nanoGPT's CPU
configuration (four (12·64, 512) activations per step) that composite cost ~19 ms of a
~140 ms step. Each direction here is one op calling one kernel
(:mod:`chainrule._kernels.gelu`: one compiled pass with Numba, a few NumPy passes without).
Only the input x is saved, as PyTorch does.
"""

from __future__ import annotations

import math

import numpy as np

from .._kernels import eligible, pool_gemm
from .._kernels import gelu as K
from .._kernels.dispatch import split_over_threads
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import parallel_slices
from .elementwise import BinaryElementwise, UnaryElementwise
from .unary import erf, exp, tanh

__all__ = ["Gelu", "GeluGrad", "GeluTanh", "gelu_exact", "gelu_grad", "gelu_tanh"]


def _threaded(fn, out_like, *arrays):
    """``fn(*arrays)`` on NumPy arrays, cut into contiguous slices run on chainrule's intra-op
    threads when all are C-contiguous of one shape (the NumPy path of large activations)."""
    if not all(
        type(a) is np.ndarray and a.flags.c_contiguous and a.shape == out_like.shape for a in arrays
    ):
        return fn(*arrays)
    out = np.empty_like(out_like)
    flat, parts = out.reshape(-1), [a.reshape(-1) for a in arrays]

    def part(lo: int, hi: int) -> None:
        flat[lo:hi] = fn(*(p[lo:hi] for p in parts))

    parallel_slices(part, flat.size, out.nbytes)
    return out


def _gelu_array(x):
    if eligible(x):
        return K.gelu(x.reshape(-1)).reshape(x.shape)
    if get_array_module(x) is not np:  # CuPy: the same formula with its erf
        from ._activation_math import erf_array as _erf  # noqa: PLC0415

        return x * (_erf(x * K.SQRT1_2) + 1) * 0.5
    return _threaded(K._gelu_numpy, x, x)


def _gelu_grad_array(g, x):
    if g.shape == x.shape and eligible(g, x):  # compute-bound: split over the threads
        return _threaded(K.gelu_grad, x, g, x)
    xp = get_array_module(x)
    if xp is not np:
        from ._activation_math import erf_array as _erf  # noqa: PLC0415

        cdf = (_erf(x * K.SQRT1_2) + 1) * 0.5
        return g * (cdf + x * xp.exp(x * x * -0.5) * K.INV_SQRT_2PI)
    return _threaded(K._gelu_grad_numpy, x, g, x)


def _pdf(x):
    """φ(x) = exp(-x² / 2) / √(2π) as a Tensor expression."""
    return exp(x * x * -0.5) * K.INV_SQRT_2PI


def _gelu_with_grad(x):
    """(x Φ(x), Φ(x) + x φ(x)) by one compiled pass, or None where the kernels do not apply."""
    if not eligible(x):
        return None
    y, d = np.empty_like(x), np.empty_like(x)
    flat = (x.reshape(-1), y.reshape(-1), d.reshape(-1))
    threads = pool_gemm.pool_active() if x.dtype == np.float32 else 0
    if threads:  # compute-bound: blocks on the compiled pool (one pool with the GEMMs)
        K.gelu_with_grad_f32_pool(*flat, threads)
    else:  # or split over the intra-op threads
        split_over_threads(K.gelu_with_grad, *flat)
    return y, d


class Gelu(UnaryElementwise):
    """x Φ(x) (``approximate='none'``); its gradient is the fused ``GeluGrad``.

    On the compiled path, a forward that records a gradient also computes the derivative
    Φ + x φ in the same pass (Φ and e^{-x²/2} are evaluated once for both) and keeps it, so
    that a plain backward is one product g · d instead of a second pass over the same math:
    measured on nanoGPT's (12, 64, 512) float32 activation, forward plus
    backward 3.2 -> 2.4 ms on one thread. The input x is saved as well (as PyTorch saves it),
    for ``create_graph=True`` and forward mode, which use ``GeluGrad``; an in-place change
    to x after the forward is detected as before.
    """

    saves = "x"
    saved_fields = {"approximate": lambda n: "none", "self": 0}  # grad_fn._saved_* as PyTorch's

    @classmethod
    def forward(cls, ctx, x):
        if ctx.needs_input_grad[0]:
            both = _gelu_with_grad(x)
            if both is not None:
                y, dgelu = both
                ctx.save_for_backward(x, dgelu)
                return y
        return super().forward(ctx, x)  # saves (x,) alone

    @classmethod
    def backward(cls, ctx, grad):
        x, *dgelu = ctx.saved_tensors  # (x, dgelu) on the compiled path, else (x,)
        if dgelu and not ctx.create_graph:
            d, g = dgelu[0]._data, grad._data
            if type(g) is np.ndarray and g.shape == d.shape and g.dtype == d.dtype:
                return Tensor._make(np.multiply(g, d), False, None, 0)
        return cls.chain(ctx, grad, x, None)

    @staticmethod
    def f(x):
        if x.dtype == np.float16:  # in float32, rounded once, as PyTorch's kernel (float16's
            return _gelu_array(x.astype(np.float32)).astype(np.float16)  # erf tails are off)
        return _gelu_array(x)

    @staticmethod
    def derivative(ctx, x, y):
        return (erf(x * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5 + x * _pdf(x)

    @staticmethod
    def chain(ctx, g, x, y):
        if x.dtype == np.float16:  # float16: in float32, rounded once (PyTorch's kernel)
            return gelu_grad(g.float(), x.float()).to(np.float16)
        return gelu_grad(g, x)


class GeluGrad(BinaryElementwise):
    """g (Φ(x) + x φ(x)) for upstream gradient g and GELU input x."""

    saves_a = "b"
    saves_b = "ab"

    @staticmethod
    def f(g, x):
        return _gelu_grad_array(g, x)

    @staticmethod
    def derivative_a(ctx, g, x, y):
        return Gelu.derivative(ctx, x, None)

    @staticmethod
    def derivative_b(ctx, g, x, y):
        return g * _pdf(x) * (2.0 - x * x)

    @staticmethod
    def chain_a(ctx, gg, g, x, y):
        return gelu_grad(gg, x)


_TANH_K = math.sqrt(2.0 / math.pi)


class GeluTanh(UnaryElementwise):
    """x/2 (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³) (``approximate='tanh'``): one node,
    PyTorch's ``GeluBackward0``; its gradient is composed of Tensor ops (differentiable).

        d/dx = (1 + t) / 2 + x/2 (1 - t²) √(2/π) (1 + 3 · 0.044715 x²),  t = tanh(u)

    The forward takes PyTorch's float32 steps (:func:`.._kernels.gelu.gelu_tanh_f32`,
    compiled with the package's float32 tanh, which the gradient's ``tanh`` op uses too).
    """

    node_name = "GeluBackward0"
    saves = "x"
    saved_fields = {"approximate": lambda n: "tanh", "self": 0}  # as PyTorch's _saved_*
    fused_bfloat16_backward = True  # PyTorch's backward is one kernel (float32 inside)

    @staticmethod
    def f(x):
        half = x.dtype == np.float16  # computed in float32, rounded once (as PyTorch)
        v = x.astype(np.float32) if half else x
        if v.dtype == np.float32 and eligible(v, min_size=1):  # PyTorch's steps, compiled
            y = np.empty_like(v)
            K.gelu_tanh_f32(v.reshape(-1), y.reshape(-1))
        elif type(v) is np.ndarray:
            y = K.gelu_tanh_numpy(v)
        else:  # CuPy: the same formula with its tanh
            inner = (v + v * v * v * 0.044715) * _TANH_K
            y = v * 0.5 * (get_array_module(v).tanh(inner) + 1.0)
        return y.astype(np.float16) if half else y

    @classmethod
    def chain(cls, ctx, g, x, y):
        if x.dtype == np.float16:  # float16: in float32, rounded once (PyTorch's kernel)
            return (g.float() * cls.derivative(ctx, x.float(), None)).to(np.float16)
        return g * cls.derivative(ctx, x, y)

    @staticmethod
    def derivative(ctx, x, y):
        t = tanh((x + x * x * x * 0.044715) * _TANH_K)
        du = (x * x * (3.0 * 0.044715) + 1.0) * _TANH_K
        return (t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * du


def gelu_tanh(x):
    """The tanh approximation of GELU as one op (a floating-point Tensor; callers check)."""
    return GeluTanh.apply(x)


def gelu_exact(x):
    """x Φ(x) as one op (the input is a floating-point Tensor; callers check)."""
    return Gelu.apply(x)


def gelu_grad(g, x):
    """g (Φ(x) + x φ(x)): the gradient of the exact GELU at input x."""
    return GeluGrad.apply(g, x)
