"""The weight gradient of a 3x3, stride-1, float32 convolution by Winograd F(2x2, 3x3), on
chainrule's compiled thread pool: the adjoint, with respect to the filters, of
:mod:`.winograd`'s forward.

The forward computes each 2x2 output tile as y = Aᵀ [Σ_c U[o, c] ⊙ V[c]] A with U = G w Gᵀ
and V = Bᵀ d B (d: the tile's 4x4 padded input block). Its adjoints, taken one linear map at a
time: y = Aᵀ M A gives dM = A dy Aᵀ (4x4 from the 2x2 output gradient), M = U ⊙ V summed over
tiles gives dU[o, c] = Σ_tiles dM[o] ⊙ V[c], and U = G w Gᵀ gives dw = Gᵀ dU G (3x3). For
each of the 16 positions ξ of the 4x4 transform the sum over tiles is one GEMM
dU[ξ] (O, C) = dM[ξ] (O, tiles) @ V[ξ]ᵀ (tiles, C): 16 multiply-adds per tile and channel pair
against im2col's 36 per 2x2 outputs. Output-gradient tiles past the output (an odd height or
width, the forward's cropped row or column) are zero, so they add nothing.

Layout as in :mod:`.winograd`: input x (C, N, H, W) and output gradient g (O, N, Ho, Wo)
memory. One launch: each thread, on its own blocks of images (cache-sized, as the forward's),
transforms the block's input into V (16, C, P) (the forward's own input transform) and its
output gradient into dM (16, O, P), runs the 16 single-threaded SGEMMs and sums them into its
own partial dU (16, O, C); then, the threads splitting the output channels, the partials are
summed and Gᵀ dU G written into dw (O, C, 3, 3).

Measured (2 threads, minima of alternating processes, benchmarks/bench_winograd_wgrad.py,
2026-12-02), old im2col path / this / PyTorch, ms: ResNet-20's 3x3 layers at batch 64 (16
channels at 32x32, 32 at 16x16, 64 at 8x8) 2.44 / 1.50 / 1.30, 1.58 / 1.02 / 0.92,
1.44 / 1.08 / 0.86; ResNet-18 (CIFAR) at batch 32, 128 at 16x16 9.35 / 6.19 / 5.97, 256 at
8x8 8.42 / 4.58 / 6.31. Float32 errors (largest, relative to the largest gradient, against
float64) 2-8e-7, im2col's 4-5e-7. The 16 GEMMs run near the core's peak; the rest is the two
transforms (16 channels at 32x32: 0.58 ms input, 0.41 ms output gradient, of 1.5-1.8).

The NumPy fallback computes the same transforms and products with array operations; it is the
reference in the tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import blas, jit, winograd
from .winograd import _BT, _G, _SKEW, WINOGRAD_BLOCK_BYTES, block_plan

__all__ = ["WGRAD_BLOCK_BYTES", "applies", "conv3x3_weight_grad", "winograd_wgrad_pool"]

WGRAD_BLOCK_BYTES = WINOGRAD_BLOCK_BYTES
"""Bytes of V and dM (the transformed input and output gradient) per thread per block."""

_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float32)

# ---- NumPy reference ---------------------------------------------------------------------


def _wgrad_numpy(gemm, x, g, dw, parts, pads, nb, chunks, splits):  # noqa: ANN001
    """dw (O, C, 3, 3) = the weight gradient, every step on the whole batch at once."""
    c, n, h, wd = x.shape
    o, _, ho, wo = g.shape
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    pt, pl = pads
    xp = np.zeros((c, n, 2 * th + 2, 2 * tw + 2), np.float32)
    rows, cols = max(0, min(h, 2 * th + 2 - pt)), max(0, min(wd, 2 * tw + 2 - pl))
    xp[:, :, pt : pt + rows, pl : pl + cols] = x[:, :, :rows, :cols]
    s = xp.strides
    tiles = np.lib.stride_tricks.as_strided(
        xp, (c, n, th, tw, 4, 4), (s[0], s[1], 2 * s[2], 2 * s[3], s[2], s[3]), writeable=False
    )
    v = np.einsum("ai,cnpqij,bj->abcnpq", _BT, tiles, _BT).reshape(16, c, -1)
    gp = np.zeros((o, n, 2 * th, 2 * tw), np.float32)
    gp[:, :, :ho, :wo] = g
    gt = gp.reshape(o, n, th, 2, tw, 2)
    dm = np.einsum("ai,onparb,bj->ijonpr", _AT, gt, _AT).reshape(16, o, -1)  # A dy Aᵀ
    du = np.matmul(dm, v.transpose(0, 2, 1)).reshape(4, 4, o, c)
    dw[...] = np.einsum("ia,ijoc,jb->ocab", _G, du, _G)  # Gᵀ dU G


# ---- compiled ----------------------------------------------------------------------------


@jit.inline
def _row_ady(gf, s, wo, grow, e, tw, stride):  # pragma: no cover - inlined
    """grow[e + j·stride + q] = (Aᵀ-side row transform)[j] = (g0, g0 + g1, g0 - g1, -g1) of
    the output-gradient pair (g0, g1) = gf[s + 2q], gf[s + 2q + 1] (zero past ``wo``), q < tw."""
    eu, st, su = np.uint64(e), np.uint64(stride), np.uint64(s)
    one, two, three = np.uint64(1), np.uint64(2), np.uint64(3)
    full = wo // 2
    for q in range(np.uint64(full)):
        i = su + two * q
        g0, g1 = gf[i], gf[i + one]
        j = eu + q
        grow[j] = g0
        grow[j + st] = g0 + g1
        grow[j + two * st] = g0 - g1
        grow[j + three * st] = -g1
    if full < tw:  # odd width: the last pair is (g[wo - 1], 0)
        g0 = gf[s + wo - 1]
        j = e + full
        grow[j] = g0
        grow[j + stride] = g0
        grow[j + 2 * stride] = g0
        grow[j + 3 * stride] = np.float32(0.0)


@jit.inline
def _col_ady(grow, even, odd, dm, base, step, count):  # pragma: no cover - inlined
    """dm[base + i·step + f] = (h0, h0 + h1, h0 - h1, -h1)[i], f < count, for the row
    transforms h0 = grow[even + f] and h1 = grow[odd + f] of a tile's two output rows."""
    eu, ou, bu, stu = np.uint64(even), np.uint64(odd), np.uint64(base), np.uint64(step)
    two, three = np.uint64(2), np.uint64(3)
    for f in range(np.uint64(count)):
        h0 = grow[eu + f]
        h1 = grow[ou + f]
        dm[bu + f] = h0
        dm[bu + stu + f] = h0 + h1
        dm[bu + two * stu + f] = h0 - h1
        dm[bu + three * stu + f] = -h1


@jit.inline
def _grad_transform(g, dm, ms, grow, n0, b, r0, r1, tw):  # pragma: no cover - inlined
    """dm (flat (16, O, P)) = A dy Aᵀ of the output-gradient tiles in tile rows r0..r1 of
    images n0..n0+b of g (O, N, Ho, Wo), tiles ordered as :func:`.winograd._input_transform`'s
    (p = (row·b + k)·tw + col); values past Ho or Wo are zero. As the input transform does,
    the rows first (into ``grow``, (4, 2, rows / 2, b·tw): j, row parity, row // 2, tile), then
    one long loop per j down the columns of all the block's tile rows and images."""
    o_n, n, ho, wo = g.shape
    gf = g.reshape(-1)
    nr = r1 - r0
    bt = b * tw
    p_all = nr * bt
    for o in range(o_n):
        for rr in range(2 * nr):
            oh = 2 * r0 + rr
            e = ((rr % 2) * nr + rr // 2) * bt
            if oh >= ho:  # odd height: the last tile row's second row is zero
                for j in range(4):
                    winograd._fill(grow, e + 2 * j * p_all, bt, 0.0)
                continue
            for k in range(b):
                s = ((o * n + n0 + k) * ho + oh) * wo
                _row_ady(gf, s, wo, grow, e + k * tw, tw, 2 * p_all)
        for j in range(4):
            even = 2 * j * p_all
            _col_ady(grow, even, even + p_all, dm, j * ms + o * p_all, 4 * ms, p_all)


@jit.inline
def _gtg(u0, u1, u2, u3):  # pragma: no cover - inlined
    """Gᵀ applied to the 4-vector (u0, u1, u2, u3): its 3 values."""
    h = (u1 + u2) * np.float32(0.5)
    return u0 + h, (u1 - u2) * np.float32(0.5), h + u3


@jit.kernel(fallback=_wgrad_numpy, parallel=True)
def winograd_wgrad_pool(gemm, x, g, dw, parts, pads, nb, chunks, splits):  # pragma: no cover
    """dw (O, C, 3, 3) = the weight gradient of the 3x3 conv of x (C, N, H, W) with top/left
    padding ``pads`` whose output gradient is g (O, N, Ho, Wo), every array C-contiguous
    float32; ``parts`` (chunks, 16·O·C): the threads' partial sums. With ``splits == 1`` the
    batch is cut into ``chunks`` blocks of images, each transformed and multiplied ``nb``
    images at a time; with ``splits > 1`` ``chunks`` = N·splits blocks, each a ``splits``-th
    of one image's tile rows."""
    c_in, n = x.shape[0], x.shape[1]
    o_n, ho, wo = g.shape[0], g.shape[2], g.shape[3]
    pt, pl = pads
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    oc = o_n * c_in
    span = th if splits == 1 else -(-th // splits)  # most tile rows per block
    p_max = span * nb * tw
    for t in jit.prange(chunks):
        v = np.empty(16 * (c_in * p_max + _SKEW), np.float32)
        dm = np.empty(16 * (o_n * p_max + _SKEW), np.float32)
        hrow = np.empty((2 * span + 2) * 4 * nb * tw, np.float32)
        line = np.empty(4 * tw, np.float32)
        grow = np.empty(8 * span * nb * tw, np.float32)
        tmp = np.empty(16 * oc, np.float32)
        acc = parts[t]
        if splits == 1:
            first, last, step = n * t // chunks, n * (t + 1) // chunks, nb
            r0, r1 = 0, th
        else:
            first, last, step = t // splits, t // splits + 1, 1
            r0, r1 = th * (t % splits) // splits, th * (t % splits + 1) // splits
        started = False
        for n0 in range(first, last, step):
            b = min(last, n0 + step) - n0
            p = b * (r1 - r0) * tw
            if p == 0:
                continue
            vs, ms = c_in * p + _SKEW, o_n * p + _SKEW
            winograd._input_transform(x, v, vs, line, hrow, n0, b, r0, r1, pt, pl, tw)
            _grad_transform(g, dm, ms, grow, n0, b, r0, r1, tw)
            dst = tmp.ctypes.data if started else acc.ctypes.data  # the first block: in place
            for xi in range(16):
                jit.call_sgemm_t(
                    gemm, jit.NO_TRANS, jit.TRANS, o_n, c_in, p,
                    dm.ctypes.data + xi * ms * 4, p,
                    v.ctypes.data + xi * vs * 4, p,
                    dst + xi * oc * 4, c_in,
                )  # fmt: skip
            if started:
                for i in range(np.uint64(16 * oc)):
                    acc[i] += tmp[i]
            started = True
        if not started:
            acc[:] = 0.0
    wf = dw.reshape(-1)
    blocks = min(chunks, o_n)
    for t in jit.prange(blocks):  # the partials summed, then Gᵀ dU G, a block of channels each
        du = np.empty(16 * c_in, np.float32)
        for o in range(o_n * t // blocks, o_n * (t + 1) // blocks):
            du[:] = 0.0
            for t2 in range(parts.shape[0]):
                for xi in range(16):
                    s = np.uint64(xi * oc + o * c_in)
                    d = np.uint64(xi * c_in)
                    for c in range(np.uint64(c_in)):
                        du[d + c] += parts[t2, s + c]
            for c in range(c_in):  # dU G: Gᵀ along each of the 4 rows, then Gᵀ down the columns
                a0, a1, a2 = _gtg(du[c], du[c_in + c], du[2 * c_in + c], du[3 * c_in + c])
                b0, b1, b2 = _gtg(
                    du[4 * c_in + c], du[5 * c_in + c], du[6 * c_in + c], du[7 * c_in + c]
                )
                e0, e1, e2 = _gtg(
                    du[8 * c_in + c], du[9 * c_in + c], du[10 * c_in + c], du[11 * c_in + c]
                )
                f0, f1, f2 = _gtg(
                    du[12 * c_in + c], du[13 * c_in + c], du[14 * c_in + c], du[15 * c_in + c]
                )
                d = (o * c_in + c) * 9
                wf[d], wf[d + 3], wf[d + 6] = _gtg(a0, b0, e0, f0)
                wf[d + 1], wf[d + 4], wf[d + 7] = _gtg(a1, b1, e1, f1)
                wf[d + 2], wf[d + 5], wf[d + 8] = _gtg(a2, b2, e2, f2)


def applies(x: Any, g: Any, w_shape: tuple, stride: tuple, dil: tuple, groups: int) -> bool:
    """Whether :func:`conv3x3_weight_grad` takes this weight gradient: float32 NumPy x and g,
    a 3x3 kernel, stride 1, no dilation, one group, and the compiled path active (Numba, not
    a forked child) with NumPy's OpenBLAS SGEMM found."""
    return (
        type(x) is np.ndarray
        and type(g) is np.ndarray
        and x.dtype == np.float32
        and g.dtype == np.float32
        and tuple(w_shape[2:]) == (3, 3)
        and tuple(stride) == (1, 1)
        and tuple(dil) == (1, 1)
        and groups == 1
        and jit.backend() == "numba"
        and not jit.in_forked_child()
        and blas.gemm_address(np.dtype(np.float32)) is not None
    )


def _cnhw(a: Any) -> np.ndarray:
    at = a.transpose(1, 0, 2, 3)
    return at if at.flags.c_contiguous else np.ascontiguousarray(at)


def conv3x3_weight_grad(x: Any, g: Any, pad: tuple) -> np.ndarray:
    """The weight gradient (O, C, 3, 3) of the 3x3 stride-1 convolution of x (N, C, H, W)
    padded by ``pad`` = (top, bottom, left, right), for the output gradient g (N, O, Ho, Wo),
    both in any memory order ((C, N, H, W) and (O, N, Ho, Wo) memory, a chainrule network's,
    are used without a copy). Ho and Wo may be less than the padded input gives (a transposed
    conv's output_padding): the windows past them are unused. Callers check :func:`applies`
    and that Ho <= H + top + bottom - 2, Wo <= W + left + right - 2."""
    n, c, h, wd = x.shape
    o, ho, wo = g.shape[1], g.shape[2], g.shape[3]
    pt, pb, pl, pr = pad
    if ho > h + pt + pb - 2 or wo > wd + pl + pr - 2 or g.shape[0] != n:
        raise ValueError(
            f"conv3x3_weight_grad: output gradient {tuple(g.shape)} does not fit input "
            f"{tuple(x.shape)} padded by {tuple(pad)}"
        )
    dw = np.empty((o, c, 3, 3), np.float32)
    if n == 0 or ho == 0 or wo == 0 or o == 0 or c == 0:
        dw.fill(0.0)  # the empty sum
        return dw
    xc, gc = _cnhw(x), _cnhw(g)
    nb, chunks, splits = block_plan(n, c, o, ho, wo, WGRAD_BLOCK_BYTES)
    parts = np.empty((chunks, 16 * o * c), np.float32)
    gemm = blas.gemm_address(np.dtype(np.float32))
    with blas.one_blas_thread():
        winograd_wgrad_pool(gemm, xc, gc, dw, parts, (pt, pl), nb, chunks, splits)
    return dw
