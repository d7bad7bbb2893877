"""Fused LSTM time-step kernels: the elementwise part of one step, forward and backward.

An LSTM step is one small GEMM (``h W_hhᵀ``, done by BLAS outside these kernels) and a dozen
elementwise operations on (B, 4H) and (B, H) arrays. Written with NumPy (the fallbacks
below, the operations of ``ops/recurrent_seq.py``) each is a separate call with its own pass
and, at B = 32, H = 128, a few µs of call overhead: the elementwise part cost more than the
GEMM. Here the arithmetic runs in compiled passes, in the fallback's order and dtype (``one``
is 1 in the arrays' dtype, so float32 stays float32), so both paths give identical bits.

Forward, with ``act`` holding ``h W_hhᵀ`` on entry and z = act + xg::

    [i f o] = σ(z_i, z_f, z_o) = 1 / (1 + e^-z),  g = tanh(z_g) = 2σ(2 z_g) - 1
    c' = f c + i g;  tc = tanh(c');  h' = o tc

as :func:`lstm_pre` (negate, double the g block), NumPy's ``exp``, :func:`lstm_post`
(σ, g, c'), NumPy's ``tanh`` and a product: the exponential and tanh stay NumPy's SIMD
float32 loops, which beat the float64 polynomial exp of :mod:`.transcendental` here
(measured: a one-kernel forward with that exp ran 135 µs per step at B = 32, H = 128,
against 77 µs for the dozen NumPy calls; this split ~50 µs).

Backward, with ĝ = gh + gy (the gradient reaching h' from the next step and from the output)
and the saved activations::

    ĉ = gc + ĝ o (1 - tc²)
    d = [ĉ g i(1-i),  ĉ c f(1-f),  ĉ i (1-g²),  ĝ tc o(1-o)]     (the gate gradients)
    gc_prev = ĉ f

one compiled pass; the caller then forms dh = d W_hh with BLAS.
"""

from __future__ import annotations

import numpy as np

from . import jit
from .jit import eligible

__all__ = ["lstm_compiled", "lstm_step_backward", "lstm_step_forward"]


# ----------------------------------------------------------------------------- forward
def _lstm_pre_numpy(act, xg, one):
    hidden = act.shape[1] // 4
    act += xg
    act[:, 2 * hidden : 3 * hidden] *= 2.0
    np.negative(act, out=act)


@jit.kernel(fallback=_lstm_pre_numpy)
def lstm_pre(act, xg, one):  # pragma: no cover - compiled by Numba
    """act <- -(act + xg), doubled on the g block (so that tanh(z) = 2σ(2z) - 1 there)."""
    rows, width = act.shape
    hidden = width // 4
    for b in range(rows):
        ar = act[b]
        xr = xg[b]
        for j in range(2 * hidden):
            ar[j] = -(ar[j] + xr[j])
        for j in range(2 * hidden, 3 * hidden):
            v = ar[j] + xr[j]
            ar[j] = -(v + v)
        for j in range(3 * hidden, width):
            ar[j] = -(ar[j] + xr[j])


def _lstm_post_numpy(act, c, c_new, one):
    hidden = c.shape[1]
    act += 1
    np.reciprocal(act, out=act)
    g = act[:, 2 * hidden : 3 * hidden]
    g *= 2.0
    g -= 1.0
    np.multiply(act[:, hidden : 2 * hidden], c, out=c_new)
    c_new += act[:, :hidden] * g


@jit.kernel(fallback=_lstm_post_numpy)
def lstm_post(act, c, c_new, one):  # pragma: no cover - compiled by Numba
    """act holds e^-z (e^-2z on g): act <- [σ σ 2σ-1 σ] = [i f g o], c' = f c + i g.
    ``one`` is 1 in the arrays' dtype, so float32 arithmetic stays float32 and each result
    rounds as the fallback's NumPy calls do."""
    rows, width = act.shape
    hidden = width // 4
    for b in range(rows):
        ar = act[b]
        for j in range(width):
            ar[j] = one / (one + ar[j])
        for j in range(2 * hidden, 3 * hidden):
            s = ar[j]
            ar[j] = (s + s) - one
        cr = c[b]
        cn = c_new[b]
        for j in range(hidden):
            cn[j] = ar[hidden + j] * cr[j] + ar[j] * ar[2 * hidden + j]


def lstm_compiled(*arrays) -> bool:
    """Whether the compiled passes take these arrays (checked once per sequence: row slices
    of C-contiguous buffers stay C-contiguous)."""
    return eligible(*arrays, min_size=1)


def lstm_step_forward(act, xg, c, c_new, tc, h_new, compiled: bool) -> None:
    """The step's elementwise forward in place (``act`` holds h W_hhᵀ on entry; on return
    [i f g o]; c_new, tc = tanh(c_new) and h_new = o tc written). The exponentials and tanh
    stay NumPy's SIMD loops (faster than any float64 polynomial here); the arithmetic
    between them is two compiled passes when ``compiled`` (:func:`lstm_compiled`), else
    NumPy calls. Both paths round identically (the same float operations in the same
    order). Call it under ``np.errstate(over="ignore")``: e^-z = inf gives σ = 0, the
    exact limit."""
    one = act.dtype.type(1)
    (lstm_pre if compiled else _lstm_pre_numpy)(act, xg, one)
    np.exp(act, out=act)
    (lstm_post if compiled else _lstm_post_numpy)(act, c, c_new, one)
    np.tanh(c_new, out=tc)
    np.multiply(act[:, 3 * (act.shape[1] // 4) :], tc, out=h_new)


# ---------------------------------------------------------------------------- backward
def _lstm_backward_numpy(gh, gy, gc, c, act, tc, d, gc_out, one):
    hidden = c.shape[1]
    ght = gh + gy
    i, f, g, o = (act[:, k * hidden : (k + 1) * hidden] for k in range(4))
    gct = tc * tc
    np.subtract(1.0, gct, out=gct)
    gct *= o
    gct *= ght
    gct += gc
    np.multiply(gct, g, out=d[:, :hidden])
    np.multiply(gct, c, out=d[:, hidden : 2 * hidden])
    np.multiply(gct, i, out=d[:, 2 * hidden : 3 * hidden])
    np.multiply(ght, tc, out=d[:, 3 * hidden :])
    deriv = 1.0 - act
    deriv *= act
    dg = deriv[:, 2 * hidden : 3 * hidden]
    np.multiply(g, g, out=dg)
    np.subtract(1.0, dg, out=dg)
    d *= deriv
    np.multiply(gct, f, out=gc_out)


@jit.kernel(fallback=_lstm_backward_numpy)
def lstm_backward_kernel(gh, gy, gc, c, act, tc, d, gc_out, one):  # pragma: no cover - Numba
    """One LSTM step's elementwise backward (see the module docstring); ``gc_out`` may be
    ``gc`` itself."""
    rows, width = act.shape
    hidden = width // 4
    for b in range(rows):
        ar = act[b]
        dr = d[b]
        for j in range(hidden):
            i = ar[j]
            f = ar[hidden + j]
            g = ar[2 * hidden + j]
            o = ar[3 * hidden + j]
            t = tc[b, j]
            ght = gh[b, j] + gy[b, j]
            gct = (one - t * t) * o * ght + gc[b, j]
            dr[j] = gct * g * ((one - i) * i)
            dr[hidden + j] = gct * c[b, j] * ((one - f) * f)
            dr[2 * hidden + j] = gct * i * (one - g * g)
            dr[3 * hidden + j] = ght * t * ((one - o) * o)
            gc_out[b, j] = gct * f


def lstm_step_backward(gh, gy, gc, c, act, tc, d, gc_out, compiled: bool) -> None:
    """The step's elementwise backward, writing the gate gradients into ``d`` and ĉ f into
    ``gc_out`` (the compiled pass when ``compiled`` (:func:`lstm_compiled`), else NumPy)."""
    if compiled:
        lstm_backward_kernel(gh, gy, gc, c, act, tc, d, gc_out, act.dtype.type(1))
    else:
        _lstm_backward_numpy(gh, gy, gc, c, act, tc, d, gc_out, None)
