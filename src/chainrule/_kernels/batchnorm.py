"""Training-mode batch norm forward and backward, per channel, on (C, N, L) views.

The activations come as (C, N, L) views of the (N, C, *spatial) tensor: a channel-major
(C, N, H, W) buffer (chainrule's convolution output) is then C-contiguous, an NCHW one is
strided; both compile to the same loops. Each channel is one parallel task (``prange``):

forward, with m = N L values per channel (statistics accumulated in float64):
    mean = sum x / m,  var = sum (x - mean)^2 / m,  invstd = 1 / sqrt(var + eps)
    xhat = (x - mean) invstd,  y = xhat w + b                   (2 reads of x, 2 writes)
backward, with k = w invstd:
    sum_g = sum g,  sum_gx = sum g xhat
    dx = k g - (k sum_gx / m) xhat - k sum_g / m                 (2 reads of g and xhat)

NumPy's version (``nn.functional.normalization._BatchNorm``) makes 4 forward and ~6
backward passes with float32 sums; results agree to float32 rounding of the statistics.
"""
from __future__ import annotations

import numpy as np

from . import jit

__all__ = ["batch_norm_backward", "batch_norm_forward"]


def _forward_numpy(x, w, b, eps, y, xhat, stats) -> None:
    m = x.shape[1] * x.shape[2]
    mean = x.sum(axis=(1, 2), dtype=np.float64) / m
    xc = x - mean[:, None, None].astype(x.dtype)
    var = np.einsum("cnl,cnl->c", xc, xc, dtype=np.float64) / m
    invstd = 1.0 / np.sqrt(var + eps)
    xhat[...] = xc * invstd[:, None, None].astype(x.dtype)
    y[...] = xhat * w[:, None, None] + b[:, None, None]
    stats[0], stats[1], stats[2] = mean, var, invstd


@jit.kernel(fallback=_forward_numpy)
def batch_norm_forward(x, w, b, eps, y, xhat, stats):  # pragma: no cover - compiled by Numba
    """Fill ``y`` and ``xhat`` (shaped as x, (C, N, L)) and ``stats`` (3, C) float64 rows:
    mean, biased var, invstd. Sums use four accumulators (the loop then pipelines)."""
    c_n, n_n, l_n = x.shape
    m = n_n * l_n
    l4 = l_n - l_n % 4
    for c in jit.prange(c_n):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for n in range(n_n):
            for i in range(0, l4, 4):
                s0 += x[c, n, i]
                s1 += x[c, n, i + 1]
                s2 += x[c, n, i + 2]
                s3 += x[c, n, i + 3]
            for i in range(l4, l_n):
                s0 += x[c, n, i]
        mean = ((s0 + s1) + (s2 + s3)) / m
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for n in range(n_n):
            for i in range(0, l4, 4):
                d0 = x[c, n, i] - mean
                d1 = x[c, n, i + 1] - mean
                d2 = x[c, n, i + 2] - mean
                d3 = x[c, n, i + 3] - mean
                s0 += d0 * d0
                s1 += d1 * d1
                s2 += d2 * d2
                s3 += d3 * d3
            for i in range(l4, l_n):
                d0 = x[c, n, i] - mean
                s0 += d0 * d0
        var = ((s0 + s1) + (s2 + s3)) / m
        inv = 1.0 / np.sqrt(var + eps)
        wc = w[c]
        bc = b[c]
        for n in range(n_n):
            for i in range(l_n):
                xhat[c, n, i] = (x[c, n, i] - mean) * inv
                y[c, n, i] = xhat[c, n, i] * wc + bc
        stats[0, c] = mean
        stats[1, c] = var
        stats[2, c] = inv


def _backward_numpy(g, xhat, k, dx, sums) -> None:
    m = g.shape[1] * g.shape[2]
    sum_g = g.sum(axis=(1, 2), dtype=np.float64)
    sum_gx = np.einsum("cnl,cnl->c", g, xhat, dtype=np.float64)
    a = (k * sum_gx / m).astype(g.dtype)
    c0 = (k * sum_g / m).astype(g.dtype)
    dx[...] = g * k.astype(g.dtype)[:, None, None] - xhat * a[:, None, None] - c0[:, None, None]
    sums[0], sums[1] = sum_g, sum_gx


@jit.kernel(fallback=_backward_numpy)
def batch_norm_backward(g, xhat, k, dx, sums):  # pragma: no cover - compiled by Numba
    """Fill ``dx`` ((C, N, L)) and ``sums`` ((2, C) float64: sum g, sum g xhat) given
    ``k = weight * invstd`` (float64, (C,))."""
    c_n, n_n, l_n = g.shape
    m = n_n * l_n
    l2 = l_n - l_n % 2
    for c in jit.prange(c_n):
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
                sx0 += g0 * np.float64(xhat[c, n, i])
                sx1 += g1 * np.float64(xhat[c, n, i + 1])
            for i in range(l2, l_n):
                g0 = g[c, n, i]
                sg0 += g0
                sx0 += g0 * np.float64(xhat[c, n, i])
        sg = sg0 + sg1
        sgx = sx0 + sx1
        kc = k[c]
        a = kc * sgx / m
        c0 = kc * sg / m
        for n in range(n_n):
            for i in range(l_n):
                dx[c, n, i] = kc * g[c, n, i] - a * xhat[c, n, i] - c0
        sums[0, c] = sg
        sums[1, c] = sgx
