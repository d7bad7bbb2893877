"""Training-mode batch norm forward and backward, per channel, on (C, N, L) views.

The activations come as (C, N, L) views of the (N, C, *spatial) tensor: a channel-major
(C, N, H, W) buffer (chainrule's convolution output) is then C-contiguous, an NCHW one is
strided; both compile to the same loops. Each channel is one parallel task (``prange``):

forward, with m = N L values per channel (statistics accumulated in float64):
    mean = sum x / m,  var = sum (x - mean)^2 / m,  invstd = 1 / sqrt(var + eps)
    y = (x - mean) invstd w + b                                 (3 reads of x, 1 write)
backward, with k = w invstd and xhat = (x - mean) invstd recomputed from the saved x:
    sum_g = sum g,  sum_gx = sum g xhat
    dx = k g - (k sum_gx / m) xhat - k sum_g / m                 (2 reads of g and x)

x̂ is never stored: like PyTorch, the op keeps only x and the per-channel statistics for
backward (measured on a ResNet-20 step: storing x̂ as well kept 46 MB more alive at the end
of forward, a third of all saved activations). Recomputing it inside the backward loops
reads x where the old kernel read x̂, so it costs no extra pass over memory.

NumPy's version (``ops.normalization.BatchNormFn``) makes 4 forward and ~6
backward passes with float32 sums; results agree to float32 rounding of the statistics.
"""

from __future__ import annotations

import numpy as np

from . import jit

__all__ = ["batch_norm_backward", "batch_norm_forward"]


def _forward_numpy(x, w, b, eps, y, stats) -> None:
    m = x.shape[1] * x.shape[2]
    mean = x.sum(axis=(1, 2), dtype=np.float64) / m
    xc = x - mean[:, None, None].astype(x.dtype)
    var = np.einsum("cnl,cnl->c", xc, xc, dtype=np.float64) / m
    invstd = 1.0 / np.sqrt(var + eps)
    y[...] = xc * (invstd * w)[:, None, None].astype(x.dtype) + b[:, None, None]
    stats[0], stats[1], stats[2] = mean, var, invstd


@jit.inline
def _channel_sum(x, c, mu, square):  # pragma: no cover - inlined into batch_norm_forward
    """sum of d = x[c, n, i] - mu over (n, i), or of d * d when ``square`` (a constant at
    each call, so the compiled loop has no branch), in float64 with four accumulators (the
    additions then pipeline). With mu = 0.0 the subtraction compiles away."""
    n_n, l_n = x.shape[1], x.shape[2]
    l4 = l_n - l_n % 4
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    for n in range(n_n):
        for i in range(0, l4, 4):
            d0 = x[c, n, i] - mu
            d1 = x[c, n, i + 1] - mu
            d2 = x[c, n, i + 2] - mu
            d3 = x[c, n, i + 3] - mu
            s0 += d0 * d0 if square else d0
            s1 += d1 * d1 if square else d1
            s2 += d2 * d2 if square else d2
            s3 += d3 * d3 if square else d3
        for i in range(l4, l_n):
            d0 = x[c, n, i] - mu
            s0 += d0 * d0 if square else d0
    return (s0 + s1) + (s2 + s3)


@jit.kernel(fallback=_forward_numpy)
def batch_norm_forward(x, w, b, eps, y, stats):  # pragma: no cover - compiled by Numba
    """Fill ``y`` (shaped as x, (C, N, L)) and ``stats`` (3, C) float64 rows: mean,
    biased var, invstd."""
    c_n, n_n, l_n = x.shape
    m = n_n * l_n
    for c in jit.prange(c_n):
        mean = _channel_sum(x, c, 0.0, False) / m
        var = _channel_sum(x, c, mean, True) / m
        inv = 1.0 / np.sqrt(var + eps)
        sc = inv * w[c]
        bc = b[c]
        for n in range(n_n):
            for i in range(l_n):
                y[c, n, i] = (x[c, n, i] - mean) * sc + bc
        stats[0, c] = mean
        stats[1, c] = var
        stats[2, c] = inv


def _backward_numpy(g, x, mean, invstd, k, dx, sums) -> None:
    m = g.shape[1] * g.shape[2]
    xhat = (x - mean[:, None, None]) * invstd[:, None, None]  # float64, as the kernel's
    sum_g = g.sum(axis=(1, 2), dtype=np.float64)
    sum_gx = np.einsum("cnl,cnl->c", g, xhat, dtype=np.float64)
    a = (k * sum_gx / m).astype(g.dtype)
    c0 = (k * sum_g / m).astype(g.dtype)
    dx[...] = g * k.astype(g.dtype)[:, None, None] - xhat * a[:, None, None] - c0[:, None, None]
    sums[0], sums[1] = sum_g, sum_gx


@jit.kernel(fallback=_backward_numpy)
def batch_norm_backward(g, x, mean, invstd, k, dx, sums):  # pragma: no cover - Numba
    """Fill ``dx`` ((C, N, L)) and ``sums`` ((2, C) float64: sum g, sum g xhat) from the
    forward's input x and its statistics (``mean``, ``invstd``: float64, (C,)), given
    ``k = weight * invstd`` (float64, (C,)); xhat is recomputed, never stored."""
    c_n, n_n, l_n = g.shape
    m = n_n * l_n
    l2 = l_n - l_n % 2
    for c in jit.prange(c_n):
        mu = mean[c]
        inv = invstd[c]
        sg0 = 0.0
        sg1 = 0.0
        sx0 = 0.0
        sx1 = 0.0
        for n in range(n_n):
            for i in range(0, l2, 2):
                g0 = g[c, n, i]
                g1 = g[c, n, i + 1]
                sg0 += g0
                sg1 += g1
                sx0 += g0 * (x[c, n, i] - mu)
                sx1 += g1 * (x[c, n, i + 1] - mu)
            for i in range(l2, l_n):
                g0 = g[c, n, i]
                sg0 += g0
                sx0 += g0 * (x[c, n, i] - mu)
        sg = sg0 + sg1
        sgx = (sx0 + sx1) * inv
        kc = k[c]
        a = kc * sgx / m * inv
        c0 = kc * sg / m
        for n in range(n_n):
            for i in range(l_n):
                dx[c, n, i] = kc * g[c, n, i] - a * (x[c, n, i] - mu) - c0
        sums[0, c] = sg
        sums[1, c] = sgx
