"""Convolution on chainrule's one compiled thread pool: the batch cut into one block of images
per thread, and each thread gathers its images' im2col columns into its own cache-sized
buffer and multiplies them with one single-threaded BLAS GEMM, all in one compiled launch.

Layout (as in ``ops/_conv_kernels.py``): activations live in (C, N, H, W) memory, the
columns of a chunk of ``b`` images are (C, kh, kw, b, Ho, Wo) C-contiguous (rows C·kh·kw,
columns b·Ho·Wo), and a product for images n0..n0+b fills columns n0·Ho·Wo.. of the
(O, N·Ho·Wo) output. The gathers read the unpadded input and write zeros where a window
leaves it, so no padded copy of the input is made; the input gradient's scatter likewise
skips positions outside the input.

Why: the previous kernels ran each gather on chainrule's Python thread pool (a hand-off per
copy, ~100 µs on the project's virtual machines; ResNet-20's step made ~560) and each GEMM on
OpenBLAS's own threads, two pools that took turns on two cores (the GPT step had the same
conflict: :mod:`.pool_gemm`). Here one launch per convolution does both, each thread on its
own images, while OpenBLAS is held at one thread (the caller's ``blas.one_blas_thread``).

The NumPy fallbacks (used in forked children, where OpenMP may not run) compute the same
products from a padded copy and window views; they are the reference in the tests.
"""

from __future__ import annotations

import numpy as np

from . import jit

__all__ = [
    "conv_forward_pool",
    "conv_forward_rows_pool",
    "conv_input_grad_pool",
    "conv_weight_grad_pool",
]


# ---- NumPy reference ---------------------------------------------------------------------


def _padded_numpy(x, geom, ho, wo):  # noqa: ANN001
    """x (C, N, H, W) zero-padded to hold every window of the (ho, wo) positions."""
    kh, kw, sh, sw, dh, dw, pt, pl = geom
    h, w = x.shape[2:]
    hp = max(h + pt, (ho - 1) * sh + (kh - 1) * dh + 1)
    wp = max(w + pl, (wo - 1) * sw + (kw - 1) * dw + 1)
    out = np.zeros(x.shape[:2] + (hp, wp), x.dtype)
    out[:, :, pt : pt + h, pl : pl + w] = x
    return out


def _windows_numpy(x, geom, ho, wo):  # noqa: ANN001
    """(C, kh, kw, N, ho, wo) columns of x (C, N, H, W) as a new array."""
    kh, kw, sh, sw, dh, dw, pt, pl = geom
    xp = _padded_numpy(x, geom, ho, wo)
    c, n = x.shape[:2]
    s0, s1, s2, s3 = xp.strides
    win = np.lib.stride_tricks.as_strided(
        xp, (c, kh, kw, n, ho, wo), (s0, s2 * dh, s3 * dw, s1, s2 * sh, s3 * sw), writeable=False
    )
    return np.ascontiguousarray(win)


def _forward_numpy(gemm, x, w, y, geom, groups, nb, chunks):  # noqa: ANN001
    o, n, ho, wo = y.shape
    cols = _windows_numpy(x, geom, ho, wo)
    y3 = y.reshape(groups, o // groups, n * ho * wo)
    np.matmul(w.reshape(groups, o // groups, -1), cols.reshape(groups, -1, n * ho * wo), out=y3)


def _weight_grad_numpy(gemm, x, g, parts, ho, wo, geom, groups, nb, chunks, og_major):  # noqa: ANN001
    og = g.shape[0] // groups
    cols = _windows_numpy(x, geom, ho, wo).reshape(groups, -1, g.shape[1])
    g3 = g.reshape(groups, og, -1)
    if og_major:
        parts[0] = np.matmul(g3, cols.transpose(0, 2, 1))
    else:
        parts[0] = np.matmul(cols, g3.transpose(0, 2, 1))
    parts[1:] = 0


def _input_grad_numpy(gemm, g, w, dx, ho, wo, geom, groups, nb, chunks):  # noqa: ANN001
    kh, kw, sh, sw, dh, dw, pt, pl = geom
    c, n, h, wd = dx.shape
    og, kg = w.shape[0] // groups, w.shape[1]
    cols = np.matmul(w.reshape(groups, og, kg).transpose(0, 2, 1), g.reshape(groups, og, -1))
    cols = cols.reshape(c, kh, kw, n, ho, wo)
    buf = _padded_numpy(np.zeros_like(dx), geom, ho, wo)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            buf[:, :, rows, j * dw : j * dw + sw * (wo - 1) + 1 : sw] += cols[:, i, j]
    dx += buf[:, :, pt : pt + h, pl : pl + wd]


# ---- compiled ----------------------------------------------------------------------------


@jit.inline
def _valid_range(wo, sw, off, w):  # pragma: no cover - inlined
    """The output columns ow in [lo, hi) whose input column ow*sw + off lies in [0, w)."""
    lo = 0 if off >= 0 else (sw - 1 - off) // sw
    hi = (w - 1 - off) // sw + 1 if w - 1 - off >= 0 else 0
    hi = min(hi, wo)
    lo = min(lo, wo)
    return lo, max(lo, hi)


@jit.inline
def _gather(x, cols, n0, b, oh0, ho, wo, geom):  # pragma: no cover
    """cols (flat, C-contiguous (C, kh, kw, b, ho, wo)) = the windows of output rows
    oh0..oh0+ho of images n0..n0+b of x (C, N, H, W, C-contiguous), zeros where a window
    leaves the input; ``geom`` = (kh, kw, sh, sw, dh, dw, pt, pl): kernel size, stride,
    dilation, top and left padding."""
    kh, kw, sh, sw, dh, dw, pt, pl = geom
    c_in, n, h, w = x.shape
    xf = x.reshape(-1)
    planes = sh == 1 and sw == 1 and wo == w  # a stride-1 'same'-width conv
    for c in range(c_in):
        for i in range(kh):
            for j in range(kw):
                off = j * dw - pl
                lo, hi = _valid_range(wo, sw, off, w)
                for k in range(b):
                    src0 = (c * n + n0 + k) * h
                    dst0 = (((c * kh + i) * kw + j) * b + k) * ho * wo
                    if planes:
                        r = oh0 + i * dh - pt
                        _gather_plane(cols, dst0, xf, src0, ho, wo, h, r, off, lo, hi)
                        continue
                    for oh in range(ho):
                        ih = (oh0 + oh) * sh + i * dh - pt
                        d = dst0 + oh * wo
                        if ih < 0 or ih >= h:
                            _zero_row(cols, d, wo)
                            continue
                        _zero_row(cols, d, lo)
                        s = (src0 + ih) * w + off + lo * sw  # >= 0: the first valid column
                        if sw == 1:
                            _copy_row(cols, d + lo, xf, s, hi - lo)
                        else:
                            _copy_row_strided(cols, d + lo, xf, s, hi - lo, sw)
                        _zero_row(cols, d + hi, wo - hi)


@jit.inline
def _gather_plane(cols, dst0, xf, src0, ho, wo, h, r, off, lo, hi):  # pragma: no cover
    """One tap's (ho, wo) block of a stride-1 conv whose rows are as wide as the input's:
    output (oh, ow) reads input (oh + r, ow + off), so every valid element lies at one fixed
    offset from its destination and the valid rows are one contiguous copy; the columns that
    wrapped into a neighbouring row (ow outside [lo, hi)) are zeroed after it. Short rows
    (8-16 wide in ResNet-20's later stages) then cost no per-row loop overhead."""
    oh_lo = min(max(0, -r), ho)
    oh_hi = max(min(ho, h - r), oh_lo)
    _zero_row(cols, dst0, oh_lo * wo)
    _zero_row(cols, dst0 + oh_hi * wo, (ho - oh_hi) * wo)
    if oh_hi == oh_lo:
        return
    if hi == lo:
        _zero_row(cols, dst0 + oh_lo * wo, (oh_hi - oh_lo) * wo)
        return
    first = oh_lo * wo + lo
    last = (oh_hi - 1) * wo + hi
    _copy_row(cols, dst0 + first, xf, (src0 + oh_lo + r) * wo + off + lo, last - first)
    if hi - lo < wo:
        for oh in range(oh_lo, oh_hi):
            _zero_row(cols, dst0 + oh * wo, lo)
            _zero_row(cols, dst0 + oh * wo + hi, wo - hi)


# The row helpers index with unsigned integers: Numba then drops its negative-index
# wraparound branch and LLVM vectorizes the loops (a ResNet-20 stage-1 gather, 64 images
# of 16x32x32: 6.8 ms with signed indices, 1.6 ms unsigned, NumPy's strided copy 2.6 ms).
# Every caller passes non-negative offsets and counts.


@jit.inline
def _zero_row(dst, d, count):  # pragma: no cover - inlined
    """dst[d : d + count] = 0."""
    du = np.uint64(d)
    for t in range(np.uint64(count)):
        dst[du + t] = 0


@jit.inline
def _copy_row(dst, d, src, s, count):  # pragma: no cover - inlined
    """dst[d : d + count] = src[s : s + count]."""
    du, su = np.uint64(d), np.uint64(s)
    for t in range(np.uint64(count)):
        dst[du + t] = src[su + t]


@jit.inline
def _copy_row_strided(dst, d, src, s, count, step):  # pragma: no cover - inlined
    """dst[d : d + count] = src[s : s + count * step : step]."""
    du, su, st = np.uint64(d), np.uint64(s), np.uint64(step)
    for t in range(np.uint64(count)):
        dst[du + t] = src[su + t * st]


@jit.inline
def _add_row(dst, d, step, src, s, count):  # pragma: no cover - inlined
    """dst[d : d + count * step : step] += src[s : s + count]."""
    du, su, st = np.uint64(d), np.uint64(s), np.uint64(step)
    for t in range(np.uint64(count)):
        dst[du + t * st] += src[su + t]


@jit.inline
def _scatter_add(cols, dx, n0, b, ho, wo, geom):  # pragma: no cover - inlined
    """dx (C, N, H, W, C-contiguous) += the windows of cols (flat (C, kh, kw, b, ho, wo)) into
    images n0..n0+b, skipping positions outside the input: :func:`_gather`'s adjoint."""
    kh, kw, sh, sw, dh, dw, pt, pl = geom
    c_in, n, h, w = dx.shape
    dxf = dx.reshape(-1)
    for c in range(c_in):
        for i in range(kh):
            for j in range(kw):
                off = j * dw - pl
                lo, hi = _valid_range(wo, sw, off, w)
                for k in range(b):
                    dst0 = (c * n + n0 + k) * h
                    src0 = (((c * kh + i) * kw + j) * b + k) * ho * wo
                    for oh in range(ho):
                        ih = oh * sh + i * dh - pt
                        if ih < 0 or ih >= h:
                            continue
                        d = (dst0 + ih) * w + off + lo * sw  # >= 0: the first valid column
                        _add_row(dxf, d, sw, cols, src0 + oh * wo + lo, hi - lo)


@jit.inline
def _gemm(gemm, ta, tb, m, n, k, pa, lda, pb, ldb, pc, ldc, size):  # pragma: no cover
    if size == 4:
        jit.call_sgemm_t(gemm, ta, tb, m, n, k, pa, lda, pb, ldb, pc, ldc)
    else:
        jit.call_dgemm_t(gemm, ta, tb, m, n, k, pa, lda, pb, ldb, pc, ldc)


@jit.kernel(fallback=_forward_numpy, parallel=True)
def conv_forward_pool(gemm, x, w, y, geom, groups, nb, chunks):  # pragma: no cover
    """y (O, N, Ho, Wo) = conv(x (C, N, H, W), w (O, C/groups·kh·kw)), every array
    C-contiguous; the batch cut into ``chunks`` blocks, each gathered ``nb`` images at a
    time."""
    c_in, n = x.shape[0], x.shape[1]
    o, kg = w.shape
    ho, wo = y.shape[2], y.shape[3]
    kh, kw = geom[0], geom[1]
    m = ho * wo
    og = o // groups
    size = x.itemsize
    for t in jit.prange(chunks):
        buf = np.empty(c_in * kh * kw * nb * m, x.dtype)
        first, last = n * t // chunks, n * (t + 1) // chunks
        for n0 in range(first, last, nb):
            b = min(last, n0 + nb) - n0
            _gather(x, buf, n0, b, 0, ho, wo, geom)
            for gi in range(groups):
                _gemm(
                    gemm, jit.NO_TRANS, jit.NO_TRANS, og, b * m, kg,
                    w.ctypes.data + gi * og * kg * size, kg,
                    buf.ctypes.data + gi * kg * b * m * size, b * m,
                    y.ctypes.data + (gi * og * n * m + n0 * m) * size, n * m, size,
                )  # fmt: skip


def _forward_rows_numpy(gemm, x, w, y, geom, groups, parts):  # noqa: ANN001
    _forward_numpy(gemm, x, w, y, geom, groups, None, None)


@jit.kernel(fallback=_forward_rows_numpy, parallel=True)
def conv_forward_rows_pool(gemm, x, w, y, geom, groups, parts):  # pragma: no cover
    """:func:`conv_forward_pool` for a batch smaller than the pool (a single image at
    inference): each image's output rows cut into ``parts`` blocks, one gather and GEMM per
    (image, block), so every thread has work."""
    c_in, n = x.shape[0], x.shape[1]
    o, kg = w.shape
    ho, wo = y.shape[2], y.shape[3]
    kh, kw = geom[0], geom[1]
    m = ho * wo
    og = o // groups
    size = x.itemsize
    for t in jit.prange(n * parts):
        k, p = t // parts, t % parts
        oh0 = ho * p // parts
        cols = (ho * (p + 1) // parts - oh0) * wo
        buf = np.empty(c_in * kh * kw * cols, x.dtype)
        _gather(x, buf, k, 1, oh0, cols // wo, wo, geom)
        for gi in range(groups):
            _gemm(
                gemm, jit.NO_TRANS, jit.NO_TRANS, og, cols, kg,
                w.ctypes.data + gi * og * kg * size, kg,
                buf.ctypes.data + gi * kg * cols * size, cols,
                y.ctypes.data + (gi * og * n * m + k * m + oh0 * wo) * size, n * m, size,
            )  # fmt: skip


@jit.kernel(fallback=_weight_grad_numpy, parallel=True)
def conv_weight_grad_pool(
    gemm, x, g, parts, ho, wo, geom, groups, nb, chunks, og_major
):  # pragma: no cover  # noqa: E501
    """parts[t] = block t's sum over its images of the weight gradient per group, for x (C,
    N, H, W) and g (O, N·Ho·Wo), C-contiguous: (groups, og, kg) = g colsᵀ when ``og_major``
    (the weight's own layout), else (groups, kg, og) = cols gᵀ (faster for small weights,
    see the caller); ``parts`` zeroed by the caller, who sums it."""
    c_in, n = x.shape[0], x.shape[1]
    kh, kw = geom[0], geom[1]
    kg = c_in // groups * kh * kw
    og = g.shape[0] // groups
    m = ho * wo
    size = x.itemsize
    for t in jit.prange(chunks):
        buf = np.empty(c_in * kh * kw * nb * m, x.dtype)
        part = np.empty(kg * og, x.dtype)
        acc = parts[t].reshape(-1)
        first, last = n * t // chunks, n * (t + 1) // chunks
        for n0 in range(first, last, nb):
            b = min(last, n0 + nb) - n0
            _gather(x, buf, n0, b, 0, ho, wo, geom)
            for gi in range(groups):
                pc = buf.ctypes.data + gi * kg * b * m * size
                pg = g.ctypes.data + (gi * og * n * m + n0 * m) * size
                if og_major:
                    _gemm(
                        gemm, jit.NO_TRANS, jit.TRANS, og, kg, b * m,
                        pg, n * m, pc, b * m, part.ctypes.data, kg, size,
                    )  # fmt: skip
                else:
                    _gemm(
                        gemm, jit.NO_TRANS, jit.TRANS, kg, og, b * m,
                        pc, b * m, pg, n * m, part.ctypes.data, og, size,
                    )  # fmt: skip
                _add_row(acc, gi * kg * og, 1, part, 0, kg * og)


@jit.kernel(fallback=_input_grad_numpy, parallel=True)
def conv_input_grad_pool(gemm, g, w, dx, ho, wo, geom, groups, nb, chunks):  # pragma: no cover
    """dx (C, N, H, W, zeroed by the caller) += col2im(wᵀ g) for g (O, N·Ho·Wo) and w (O,
    C/groups·kh·kw), C-contiguous: per block of images one GEMM into the thread's columns,
    then their windows added into the images (threads own disjoint images)."""
    c_in, n = dx.shape[0], dx.shape[1]
    o, kg = w.shape
    og = o // groups
    m = ho * wo
    size = g.itemsize
    kh, kw = geom[0], geom[1]
    for t in jit.prange(chunks):
        cols = np.empty(c_in * kh * kw * nb * m, g.dtype)
        first, last = n * t // chunks, n * (t + 1) // chunks
        for n0 in range(first, last, nb):
            b = min(last, n0 + nb) - n0
            for gi in range(groups):
                _gemm(
                    gemm, jit.TRANS, jit.NO_TRANS, kg, b * m, og,
                    w.ctypes.data + gi * og * kg * size, kg,
                    g.ctypes.data + (gi * og * n * m + n0 * m) * size, n * m,
                    cols.ctypes.data + gi * kg * b * m * size, b * m, size,
                )  # fmt: skip
            _scatter_add(cols, dx, n0, b, ho, wo, geom)
