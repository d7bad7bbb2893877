"""Winograd F(2x2, 3x3) convolution on chainrule's compiled thread pool (float32, 3x3 kernels,
stride 1, no dilation, one group, any padding).

The algorithm (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each
2x2 block of outputs ("tile") depends on a 4x4 block of the padded input d; with the
filter g transformed once into U = G g Gᵀ (4x4) and the tile into V = Bᵀ d B (4x4),

    y_tile = Aᵀ [ Σ_c U[o, c] ⊙ V[c, tile] ] A,

and the sum over input channels is, for each of the 16 positions ξ of the 4x4 transform, one
GEMM M[ξ] (O, tiles) = U[ξ] (O, C) @ V[ξ] (C, tiles). That is 16 multiply-adds per 2x2 outputs
and channel pair against im2col's 36: 2.25x fewer. The transforms use only additions (and
halvings for the filter), so float32 results differ from the direct sum by rounding only
(measured: see the tests and benchmarks/bench_winograd.py).

Layout as in :mod:`.conv_pool`: input (C, N, H, W) and output (O, N, Ho, Wo) memory. One
launch does the three steps, each thread on its own blocks of images (or, for fewer images
than threads, its own blocks of tile rows of one image): the block's input transform into a
thread-owned V (16, C, P), the 16 single-threaded SGEMMs by address into M (16, O, P), and
the output transform into y; the block size keeps V and M within the core's L2 cache.

The input gradient of such a convolution (stride 1) is the same kind of convolution of the
output gradient with the flipped, transposed filters, padded by 2 - pad: ``flip=True``
transforms the weight that way, so no flipped copy is made.

Measured (2 threads, batch 64, minima of alternating processes, benchmarks/bench_winograd.py,
2026-12-02): ResNet-20's 3x3 layers (16 channels at 32x32, 32 at 16x16, 64 at 8x8) forward
in 1.61 / 1.07 / 0.89 ms against im2col's 2.04 / 1.75 / 1.71 (PyTorch 1.23 / 0.96 / 0.85),
input gradient 1.79 / 1.12 / 0.85 against 2.25 / 1.98 / 1.61; float32 errors (largest, over
the largest output, against float64) 2-4e-7, im2col's 2-7e-7. A single image has too few
tiles: 64 channels at 8x8 took 74 µs against im2col's 42.

The NumPy fallback computes the same transforms and products with array operations; it is the
reference in the tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import blas, jit, pool_gemm

__all__ = [
    "block_plan",
    "MIN_BLOCK_TILES",
    "WINOGRAD_BLOCK_BYTES",
    "applies",
    "conv3x3",
    "winograd_pool",
]

WINOGRAD_BLOCK_BYTES = 1 << 20
"""Bytes of V and M (the transformed input and the products) per thread per block: measured
best near 1 MiB on ResNet-20's shapes (2 MiB of L2 per core), see
benchmarks/bench_winograd.py."""

MIN_BLOCK_TILES = 256
"""Tiles per block at least, whatever the cache budget, when the transformed filters U (16·O·C
floats) outgrow :data:`WINOGRAD_BLOCK_BYTES`: each block's 16 GEMMs read all of U, so wide
layers need wide products (ResNet-18's 256 channels at 8x8,
batch 32: 2 images per block took 15.8 ms, against im2col's 9.5)."""

_SKEW = 16
"""Floats between the 16 matrices of V and of M beyond their size: the transforms read or
write the 16 at once, and at a power-of-two distance (ResNet's shapes) their streams fell in
the same L1 cache sets, evicting each other (a cache line of skew puts each in its own set)."""

# ---- NumPy reference ---------------------------------------------------------------------

_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float32)
_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)
_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float32)


def _filters_numpy(w, flip):  # noqa: ANN001
    """U (16, Oout, Cin) = G g Gᵀ for every filter (of the flipped, transposed w if flip)."""
    if flip:
        w = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    u = np.einsum("ai,ocij,bj->aboc", _G, w.astype(np.float32), _G)
    return np.ascontiguousarray(u.reshape(16, w.shape[0], w.shape[1]))


def _winograd_numpy(gemm, x, w, y, pads, flip, nb, chunks, parts):  # noqa: ANN001
    c, n, h, wd = x.shape
    o, _, ho, wo = y.shape
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    pt, pl = pads
    xp = np.zeros((c, n, 2 * th + 2, 2 * tw + 2), np.float32)
    rows, cols = min(h, 2 * th + 2 - pt), min(wd, 2 * tw + 2 - pl)
    xp[:, :, pt : pt + rows, pl : pl + cols] = x[:, :, :rows, :cols]
    s = xp.strides
    tiles = np.lib.stride_tricks.as_strided(
        xp, (c, n, th, tw, 4, 4), (s[0], s[1], 2 * s[2], 2 * s[3], s[2], s[3]), writeable=False
    )
    v = np.einsum("ai,cnpqij,bj->abcnpq", _BT, tiles, _BT).reshape(16, c, -1)
    m = np.matmul(_filters_numpy(w, flip), v).reshape(4, 4, o, n, th, tw)
    out = np.einsum("ai,ijonpq,bj->onpaqb", _AT, m, _AT).reshape(o, n, 2 * th, 2 * tw)
    y[...] = out[:, :, :ho, :wo]


# ---- compiled ----------------------------------------------------------------------------


@jit.inline
def _gg(g0, g1, g2):  # pragma: no cover - inlined
    """G applied to the 3-vector (g0, g1, g2): its 4 transformed values."""
    return g0, (g0 + g1 + g2) * np.float32(0.5), (g0 - g1 + g2) * np.float32(0.5), g2


@jit.inline
def _filters(w, u, us, flip, a0, a1):  # pragma: no cover - inlined
    """u[ξ·us + a·Cin + b] = (G g Gᵀ)[ξ] of each 3x3 filter g = w[a, b] of w (O, C, 3, 3), or
    of the flipped, transposed w (g[a, b] = w[b, a, ::-1, ::-1]) when ``flip``, for output
    channels a0 <= a < a1; ``us`` is the distance between the 16 (Oout, Cin) matrices."""
    o_w, c_w = w.shape[0], w.shape[1]
    oo, cc = (c_w, o_w) if flip else (o_w, c_w)
    wf = w.reshape(-1)
    for a in range(a0, a1):
        for b in range(cc):
            if flip:
                s = (b * c_w + a) * 9
                g00, g01, g02 = wf[s + 8], wf[s + 7], wf[s + 6]
                g10, g11, g12 = wf[s + 5], wf[s + 4], wf[s + 3]
                g20, g21, g22 = wf[s + 2], wf[s + 1], wf[s]
            else:
                s = (a * c_w + b) * 9
                g00, g01, g02 = wf[s], wf[s + 1], wf[s + 2]
                g10, g11, g12 = wf[s + 3], wf[s + 4], wf[s + 5]
                g20, g21, g22 = wf[s + 6], wf[s + 7], wf[s + 8]
            t00, t10, t20, t30 = _gg(g00, g10, g20)  # G g, column by column
            t01, t11, t21, t31 = _gg(g01, g11, g21)
            t02, t12, t22, t32 = _gg(g02, g12, g22)
            d = a * cc + b
            u[d], u[d + us], u[d + 2 * us], u[d + 3 * us] = _gg(t00, t01, t02)  # (G g) Gᵀ
            d += 4 * us
            u[d], u[d + us], u[d + 2 * us], u[d + 3 * us] = _gg(t10, t11, t12)
            d += 4 * us
            u[d], u[d + us], u[d + 2 * us], u[d + 3 * us] = _gg(t20, t21, t22)
            d += 4 * us
            u[d], u[d + us], u[d + 2 * us], u[d + 3 * us] = _gg(t30, t31, t32)


# The row helpers index with unsigned integers (as :mod:`.conv_pool`'s do): Numba then drops
# its negative-index wraparound branch and LLVM vectorizes the loops. With signed indices and
# one short loop per tile row, the transforms of a ResNet-20 64-channel 8x8 batch took 2.7 ms
# on one core (the GEMMs ~1 ms); unsigned, with the layouts below, ~1.0 ms.
# Every caller passes non-negative offsets and counts; mixed signed / unsigned arithmetic
# would give floats in Numba, so every index below is built from uint64 values.


@jit.inline
def _fill(dst, d, count, value):  # pragma: no cover - inlined
    """dst[d : d + count] = value."""
    du = np.uint64(d)
    for t in range(np.uint64(count)):
        dst[du + t] = value


@jit.inline
def _copy(dst, d, src, s, count):  # pragma: no cover - inlined
    """dst[d : d + count] = src[s : s + count]."""
    du, su = np.uint64(d), np.uint64(s)
    for t in range(np.uint64(count)):
        dst[du + t] = src[su + t]


@jit.inline
def _row_db(xf, s, wd, pl, prow, hrow, e, tw, stride):  # pragma: no cover - inlined
    """hrow[e + j·stride + q] = (d B)[j], d = the 4 padded input values from column 2q - pl
    of the input row xf[s : s + wd], q < tw; ``prow`` (2·tw + 2) holds the padded row."""
    eu, st = np.uint64(e), np.uint64(stride)
    one, two, three = np.uint64(1), np.uint64(2), np.uint64(3)
    if pl == 1 and wd == 2 * tw and tw >= 2:  # 'same' padding, even width: no padded copy
        x0, x1, x2 = xf[s], xf[s + 1], xf[s + 2]  # tile 0: (0, x0, x1, x2)
        hrow[e] = -x1
        hrow[e + stride] = x0 + x1
        hrow[e + 2 * stride] = x1 - x0
        hrow[e + 3 * stride] = x0 - x2
        last = e + tw - 1  # the last tile: (x[wd-3], x[wd-2], x[wd-1], 0)
        d0, d1, d2 = xf[s + wd - 3], xf[s + wd - 2], xf[s + wd - 1]
        hrow[last] = d0 - d2
        hrow[last + stride] = d1 + d2
        hrow[last + 2 * stride] = d2 - d1
        hrow[last + 3 * stride] = d1
        su = np.uint64(s + 1)
        for q in range(np.uint64(tw - 2)):
            i = su + two * q
            d0, d1, d2, d3 = xf[i], xf[i + one], xf[i + two], xf[i + three]
            j = eu + one + q
            hrow[j] = d0 - d2
            hrow[j + st] = d1 + d2
            hrow[j + two * st] = d2 - d1
            hrow[j + three * st] = d1 - d3
        return
    wp = 2 * tw + 2
    cols = max(0, min(wd, wp - pl))
    _fill(prow, 0, pl, 0.0)
    _copy(prow, pl, xf, s, cols)
    _fill(prow, pl + cols, wp - pl - cols, 0.0)
    for q in range(np.uint64(tw)):
        i = two * q
        d0, d1, d2, d3 = prow[i], prow[i + one], prow[i + two], prow[i + three]
        hrow[eu + q] = d0 - d2
        hrow[eu + st + q] = d1 + d2
        hrow[eu + two * st + q] = d2 - d1
        hrow[eu + three * st + q] = d1 - d3


@jit.inline
def _col_btd(hrow, even, odd, bt, v, base, step, count):  # pragma: no cover - inlined
    """v[base + i·step + f] = (Bᵀ h)[i], f < count, of the 4 row transforms h = hrow[even + f],
    hrow[odd + f], hrow[even + bt + f], hrow[odd + bt + f] (padded rows 2r..2r+3 of tile row
    r = f // bt, from the even and odd padded rows' arrays)."""
    eu, ou, btu = np.uint64(even), np.uint64(odd), np.uint64(bt)
    bu, stu = np.uint64(base), np.uint64(step)
    two, three = np.uint64(2), np.uint64(3)
    for f in range(np.uint64(count)):
        h0 = hrow[eu + f]
        h1 = hrow[ou + f]
        h2 = hrow[eu + btu + f]
        h3 = hrow[ou + btu + f]
        v[bu + f] = h0 - h2
        v[bu + stu + f] = h1 + h2
        v[bu + two * stu + f] = h2 - h1
        v[bu + three * stu + f] = h1 - h3


@jit.inline
def _input_transform(x, v, vs, prow, hrow, n0, b, r0, r1, pt, pl, tw):  # pragma: no cover
    """v (flat (16, C, P)) = Bᵀ d B of the tiles in tile rows r0..r1 of images n0..n0+b of x
    (C, N, H, W), P = (r1 - r0)·b·tw, tile p = (row·b + k)·tw + col: a tile row of all the
    block's images is one contiguous run. ``hrow`` holds the row transforms d B of the block's
    padded input rows as (4, 2, rows / 2, b·tw) (j, parity, row // 2, tile): the column
    transform of tile row r reads rows 2r, 2r+1 (one run each of the even and odd rows' arrays)
    and 2r+2, 2r+3 (the next), so that one loop covers all tile rows of all the images, and
    rows shared by two tile rows are transformed once. ``prow`` holds one padded input row."""
    c_in, n, h, wd = x.shape
    xf = x.reshape(-1)
    nr = r1 - r0
    bt = b * tw
    p_all = nr * bt
    half = (nr + 1) * bt  # one parity's rows of one j
    for c in range(c_in):
        for rr in range(2 * nr + 2):  # d B along each padded row
            ih = 2 * r0 + rr - pt
            e = ((rr % 2) * (nr + 1) + rr // 2) * bt
            if ih < 0 or ih >= h:
                for j in range(4):
                    _fill(hrow, e + 2 * j * half, bt, 0.0)
                continue
            for k in range(b):
                s = ((c * n + n0 + k) * h + ih) * wd
                _row_db(xf, s, wd, pl, prow, hrow, e + k * tw, tw, 2 * half)
        for j in range(4):  # Bᵀ (d B) down the columns
            even = 2 * j * half
            _col_btd(hrow, even, even + half, bt, v, j * vs + c * p_all, 4 * vs, p_all)


@jit.inline
def _tile_atma(m, i0, su, s4, s8, s12):  # pragma: no cover - inlined
    """The 2x2 outputs Aᵀ M A of the products m[i0 + ξ·step] (su = step, s4 = 4·step, ...)."""
    i1 = i0 + su
    i2 = i1 + su
    i3 = i2 + su
    s00 = m[i0] + m[i0 + s4] + m[i0 + s8]
    s01 = m[i1] + m[i1 + s4] + m[i1 + s8]
    s02 = m[i2] + m[i2 + s4] + m[i2 + s8]
    s03 = m[i3] + m[i3 + s4] + m[i3 + s8]
    s10 = m[i0 + s4] - m[i0 + s8] - m[i0 + s12]
    s11 = m[i1 + s4] - m[i1 + s8] - m[i1 + s12]
    s12_ = m[i2 + s4] - m[i2 + s8] - m[i2 + s12]
    s13 = m[i3 + s4] - m[i3 + s8] - m[i3 + s12]
    return s00 + s01 + s02, s01 - s02 - s03, s10 + s11 + s12_, s11 - s12_ - s13


@jit.inline
def _output_transform(m, ms, y, line, n0, b, r0, r1, tw):  # pragma: no cover - inlined
    """y (O, N, Ho, Wo) rows of tile rows r0..r1 of images n0..n0+b = Aᵀ M A of the products
    m (flat (16, O, P), tiles ordered as :func:`_input_transform`'s). Even Ho and Wo: written
    in place; otherwise through ``line`` (two rows (2, 2·tw)), cropped."""
    o_n, n, ho, wo = y.shape
    nr = r1 - r0
    bt = b * tw
    p_all = nr * bt
    yf = y.reshape(-1)
    su = np.uint64(ms)
    s4, s8, s12 = np.uint64(4) * su, np.uint64(8) * su, np.uint64(12) * su
    one, two = np.uint64(1), np.uint64(2)
    wu = np.uint64(wo)
    for o in range(o_n):
        for r in range(nr):
            oh = 2 * (r0 + r)
            for k in range(b):
                i0 = np.uint64(o * p_all + r * bt + k * tw)
                d = np.uint64(((o * n + n0 + k) * ho + oh) * wo)
                if oh + 2 <= ho and 2 * tw == wo:
                    for q in range(np.uint64(tw)):
                        y00, y01, y10, y11 = _tile_atma(m, i0 + q, su, s4, s8, s12)
                        yf[d + two * q] = y00
                        yf[d + two * q + one] = y01
                        yf[d + wu + two * q] = y10
                        yf[d + wu + two * q + one] = y11
                    continue
                w2 = np.uint64(2 * tw)
                for q in range(np.uint64(tw)):
                    y00, y01, y10, y11 = _tile_atma(m, i0 + q, su, s4, s8, s12)
                    line[two * q] = y00
                    line[two * q + one] = y01
                    line[w2 + two * q] = y10
                    line[w2 + two * q + one] = y11
                for a in range(min(2, ho - oh)):
                    _copy(yf, d + np.uint64(a * wo), line, a * 2 * tw, wo)


@jit.kernel(fallback=_winograd_numpy, parallel=True)
def winograd_pool(gemm, x, w, y, pads, flip, nb, chunks, parts):  # pragma: no cover
    """y (O, N, Ho, Wo) = conv3x3(x (C, N, H, W), w) with top/left padding ``pads``, every
    array C-contiguous float32 (w (O, C, 3, 3), or (C, O, 3, 3) used flipped and transposed
    when ``flip``). With ``parts == 1`` the batch is cut into ``chunks`` blocks of images, each
    transformed and multiplied ``nb`` images at a time; with ``parts > 1`` (fewer images than
    threads) ``chunks`` = N·parts blocks, each ``parts``-th of one image's tile rows."""
    c_in, n = x.shape[0], x.shape[1]
    o_n, ho, wo = y.shape[0], y.shape[2], y.shape[3]
    pt, pl = pads
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    us = o_n * c_in + _SKEW
    u = np.empty(16 * us, np.float32)
    for t in jit.prange(min(chunks, o_n)):  # the filters, a block of output channels each
        _filters(w, u, us, flip, o_n * t // min(chunks, o_n), o_n * (t + 1) // min(chunks, o_n))
    span = th if parts == 1 else -(-th // parts)  # most tile rows per block
    p_max = span * nb * tw
    for t in jit.prange(chunks):
        v = np.empty(16 * (c_in * p_max + _SKEW), np.float32)
        mm = np.empty(16 * (o_n * p_max + _SKEW), np.float32)
        hrow = np.empty((2 * span + 2) * 4 * nb * tw, np.float32)
        line = np.empty(4 * tw, np.float32)
        if parts == 1:
            first, last, step = n * t // chunks, n * (t + 1) // chunks, nb
            r0, r1 = 0, th
        else:
            first, last, step = t // parts, t // parts + 1, 1
            r0, r1 = th * (t % parts) // parts, th * (t % parts + 1) // parts
        for n0 in range(first, last, step):
            b = min(last, n0 + step) - n0
            p = b * (r1 - r0) * tw
            if p == 0:
                continue
            vs, ms = c_in * p + _SKEW, o_n * p + _SKEW
            _input_transform(x, v, vs, line, hrow, n0, b, r0, r1, pt, pl, tw)
            for xi in range(16):
                jit.call_sgemm_t(
                    gemm, jit.NO_TRANS, jit.NO_TRANS, o_n, p, c_in,
                    u.ctypes.data + xi * us * 4, c_in,
                    v.ctypes.data + xi * vs * 4, p,
                    mm.ctypes.data + xi * ms * 4, p,
                )  # fmt: skip
            _output_transform(mm, ms, y, line, n0, b, r0, r1, tw)


def applies(x: Any, w: Any, stride: tuple, dil: tuple, groups: int) -> bool:
    """Whether :func:`conv3x3` takes this convolution: float32 NumPy arrays, a 3x3 kernel,
    stride 1, no dilation, one group, and the compiled path active (Numba, not a forked
    child) with NumPy's OpenBLAS SGEMM found."""
    return (
        type(x) is np.ndarray
        and x.dtype == np.float32
        and w.dtype == np.float32
        and w.shape[2:] == (3, 3)
        and tuple(stride) == (1, 1)
        and tuple(dil) == (1, 1)
        and groups == 1
        and jit.backend() == "numba"
        and not jit.in_forked_child()
        and blas.gemm_address(np.dtype(np.float32)) is not None
    )


def block_plan(n: int, c: int, o: int, ho: int, wo: int, block_bytes: int) -> tuple:
    """How a Winograd launch cuts its work: ``(images per block, chunks, row parts)``. With at
    least as many images as threads, each thread takes blocks of images whose transformed
    tiles fit ``block_bytes`` (wider when the transformed filters alone exceed it); with
    fewer, each image's tile rows are split into ``parts`` so every thread has work. Shared
    by the forward/input-gradient kernel and the weight gradient (``winograd_wgrad.py``)."""
    threads = pool_gemm.pool_active() or 1
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    if n >= threads:
        nb = block_bytes // max(16 * (c + o) * th * tw * 4, 1)
        if 16 * o * c * 4 >= block_bytes:  # the filters beyond the cache budget: wide blocks
            nb = max(nb, -(-MIN_BLOCK_TILES // (th * tw)))
        return max(1, min(-(-n // threads), nb)), threads, 1
    parts = max(1, min(th, -(-threads // max(n, 1))))
    return 1, n * parts, parts


def conv3x3(x: Any, w: Any, pad: tuple, flip: bool = False, out: Any = None) -> np.ndarray:
    """The Winograd convolution of x (N, C, H, W), any memory order, with w (O, C, 3, 3)
    padded by ``pad`` = (top, bottom, left, right): an (O, N, Ho, Wo) array (the layout
    :mod:`chainrule.ops._conv_kernels` hands out as an (N, O, Ho, Wo) view). With ``flip``,
    w is (C, O, 3, 3) and used flipped and transposed: the input gradient of a stride-1 conv
    is ``conv3x3(g, w, (2 - pt, 2 - pb, 2 - pl, 2 - pr), flip=True)``. ``out``: a C-contiguous
    float32 (O, N, Ho, Wo) array to write into instead of a new one. Callers check
    :func:`applies` first."""
    n, c, h, wd = x.shape
    o = w.shape[1] if flip else w.shape[0]
    pt, pb, pl, pr = pad
    ho, wo = h + pt + pb - 2, wd + pl + pr - 2
    y = np.empty((o, n, ho, wo), np.float32) if out is None else out
    if y.size == 0 or c == 0:
        y.fill(0.0)  # no input channels: the empty sum
        return y
    xc = x.transpose(1, 0, 2, 3)
    if not xc.flags.c_contiguous:
        xc = np.ascontiguousarray(xc)
    nb, chunks, parts = block_plan(n, c, o, ho, wo, WINOGRAD_BLOCK_BYTES)
    gemm = blas.gemm_address(np.dtype(np.float32))
    with blas.one_blas_thread():
        winograd_pool(gemm, xc, np.ascontiguousarray(w), y, (pt, pl), flip, nb, chunks, parts)
    return y
