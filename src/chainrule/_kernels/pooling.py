"""2x2 max pooling with stride 2 (windows tiling the input, LeNet's pools) in one pass.

Why compiled: NumPy computes it as a tournament over four stride-2 views (three maxima, two
comparisons, two casts and a select: nine passes over the output). One compiled pass with
flat indices measured 0.44 vs 1.77 ms on LeNet's first pool (64x6x28x28 float32), 0.16 vs
0.56 ms on its second, 0.51 vs 2.7 ms on 128x64x7x7 (medians of 200 alternating calls, one
process). Written with per-row views instead of flat indices it was only 1.0-1.4x faster.

Measured and not kept (slower than or level with NumPy on the same shapes): the backward
(routing g to the argmax: 0.69-0.85 vs 0.34-0.64 ms for NumPy's four masked multiplies into
strided views, written with a select or with a multiply) and col2im (the conv input
gradient's scatter-add: 2.2 vs 2.6 ms on LeNet's conv2, 15.5 vs 13.6 ms on a ResNet stride-2
conv).

Arrays are 4-d in *memory order*: the caller passes the transposed view that is
C-contiguous, so (N, C, H, W) and (C, N, H, W) memory both arrive as a contiguous
(A, B, H, W) array; pooling treats the two leading axes alike. Results equal the NumPy
fallback's (same comparisons, so the same argmax offsets and values; a tie of -0.0 and 0.0
may keep either sign, as NumPy's SIMD maximum does not promise one), which the tests check.

Max pooling semantics are the NumPy path's (and PyTorch's values): NaN propagates through
the max; the argmax offset (0..3, row-major in the window) is the first maximum in scan order
of the pairwise tournament ``max(max(v0, v1), max(v2, v3))``. PyTorch's argmax of a window
holding NaN is its last NaN: the caller (``ops/pooling.py``) repairs those windows after an
``isnan(out).any()`` check (6 us on LeNet's first pool; the same rule inside this loop
measured 8-15% slower on every call).
"""

from __future__ import annotations

import numpy as np

from . import jit

__all__ = ["max_pool2x2"]


# ----------------------------------------------------------------------- max pool forward
def _max_pool2x2_numpy(x: np.ndarray, out: np.ndarray, arg: np.ndarray) -> None:
    ho, wo = out.shape[2:]
    v0 = x[:, :, 0 : 2 * ho : 2, 0 : 2 * wo : 2]
    v1 = x[:, :, 0 : 2 * ho : 2, 1 : 2 * wo : 2]
    v2 = x[:, :, 1 : 2 * ho : 2, 0 : 2 * wo : 2]
    v3 = x[:, :, 1 : 2 * ho : 2, 1 : 2 * wo : 2]
    top, bottom = np.maximum(v0, v1), np.maximum(v2, v3)
    first = (v1 > v0).astype(np.int8)
    second = (v3 > v2).astype(np.int8) + np.int8(2)
    np.copyto(arg, np.where(bottom > top, second, first))
    np.maximum(top, bottom, out=out)


@jit.inline
def _nan_max(a, b):  # pragma: no cover - inlined into compiled kernels
    """np.maximum for two floats: NaN if either is NaN, else the larger (a on ties)."""
    return a if (a >= b or a != a) else b


@jit.kernel(fallback=_max_pool2x2_numpy)
def max_pool2x2(x, out, arg):  # pragma: no cover - compiled by Numba
    """out = max over each 2x2 window of x (stride 2), arg = the window offset (int8).
    Flat indices on the contiguous arrays: 2.3x faster than per-row views (measured)."""
    a, b, ho, wo = out.shape
    h, w = x.shape[2:]
    xf, of, af = x.reshape(-1), out.reshape(-1), arg.reshape(-1)
    for p in range(a * b):
        for i in range(ho):
            s0 = (p * h + 2 * i) * w
            s1 = s0 + w
            o = (p * ho + i) * wo
            for j in range(wo):
                v0, v1 = xf[s0 + 2 * j], xf[s0 + 2 * j + 1]
                v2, v3 = xf[s1 + 2 * j], xf[s1 + 2 * j + 1]
                top = _nan_max(v0, v1)
                bottom = _nan_max(v2, v3)
                k0 = np.int8(1) if v1 > v0 else np.int8(0)
                k1 = np.int8(3) if v3 > v2 else np.int8(2)
                af[o + j] = k1 if bottom > top else k0
                of[o + j] = _nan_max(top, bottom)
