"""Array kernels behind convolution: im2col, col2im and the three conv products.

Layout (chosen by measurement: no transpose copy between layers): the public layout is
NCHW, but every conv result is computed as ``W @ cols`` with ``cols`` of shape
``(C*kh*kw, N*Ho*Wo)``, so its output lives in memory as (O, N, Ho, Wo) and is handed out
as a transposed *view* ``(N, O, Ho, Wo)``. Elementwise NumPy ufuncs keep that memory
order (order='K'), so a whole CNN keeps (C, N, H, W) memory internally and the next
im2col gathers from it without a transpose copy.

All functions take and return raw arrays. ``pad`` is always ``(top, bottom, left, right)``
so 'same' padding with an even kernel can be asymmetric, like PyTorch.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections import OrderedDict

import numpy as np

from ..backend import get_array_module
from ..threads import parallel_copy, parallel_slices


def _raise_malloc_thresholds() -> bool:
    """Keep large temporaries in glibc's heap instead of mmap/munmap on every conv.

    glibc returns each block above M_MMAP_THRESHOLD (128 KiB by default, adaptive) to the
    OS and page-faults a fresh one in on the next call; for a CNN step that is thousands
    of page faults. Raising the mmap and trim thresholds (measured: ~2x on a LeNet step,
    see "Convolution" in docs/architecture.md) keeps the memory for reuse. Only done on
    glibc Linux; any failure is ignored, since it is purely a speed setting. Set
    CHAINRULE_MALLOC_TUNE=0 to skip it (e.g. to measure its effect).
    """
    if os.environ.get("CHAINRULE_MALLOC_TUNE", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
            return False
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok1 = libc.mallopt(m_mmap_threshold, 1 << 25)  # 32 MiB: glibc's maximum on 64-bit
        ok2 = libc.mallopt(m_trim_threshold, 1 << 30)
        return bool(ok1 and ok2)
    except (OSError, AttributeError, TypeError):  # pragma: no cover - non-glibc systems
        return False


MALLOC_TUNED = _raise_malloc_thresholds()


# Column buffers at least this large come from one reused per-thread scratch block.
# glibc maps every block above 32 MiB (its largest mmap threshold) fresh from the OS, and
# page-faulting in ResNet-20's 38 MB stage-1 columns cost more than gathering them.
SCRATCH_MIN_BYTES = 16 << 20
_LOCAL = threading.local()


def _scratch(xp_, shape, dtype):
    """An uninitialised array for a temporary that dies inside the calling kernel.

    Large NumPy requests reuse one per-thread block; if anything still references the
    block (a view of an earlier result that escaped), a fresh array is handed out
    instead, so a buffer in use is never overwritten.
    """
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize
    for d in shape:
        nbytes *= d
    if xp_ is not np or nbytes < SCRATCH_MIN_BYTES:
        return xp_.empty(shape, dtype)
    buf = getattr(_LOCAL, "buf", None)
    if buf is not None and sys.getrefcount(buf) > 3:  # _LOCAL, `buf`, the call's argument
        return np.empty(shape, dtype)
    if buf is None or buf.nbytes < nbytes:
        buf = _LOCAL.buf = None
        buf = _LOCAL.buf = np.empty(nbytes, np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def out_size(size: int, k: int, s: int, p0: int, p1: int, d: int) -> int:
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


# Zero-bordered buffers reused between calls (see _bordered), per thread, least recently
# used first out once they hold more than this many bytes.
BORDERED_CACHE_BYTES = 64 << 20
BORDERED_MIN_BYTES = 1 << 20


def _bordered(xp_, key, shape, dtype):
    """A zero-filled-outside-the-interior buffer for a temporary that dies in the caller.

    ``key`` names the interior region the caller overwrites completely on every use; the
    rest of the buffer (the zero padding) is never written, so a buffer cached under the
    same key still has its zeros and need not be cleared again (a ResNet-20 step did 67
    ``np.zeros`` of up to 4.7 MB, ~13 ms). A buffer still referenced elsewhere is never
    handed out twice: a fresh one replaces it.
    """
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize * int(np.prod(shape))
    if xp_ is not np or nbytes < BORDERED_MIN_BYTES:
        return xp_.zeros(shape, dtype)
    cache = getattr(_LOCAL, "bordered", None)
    if cache is None:
        cache = _LOCAL.bordered = OrderedDict()
    full_key = (key, tuple(shape), dtype.str)
    buf = cache.pop(full_key, None)
    if buf is None or sys.getrefcount(buf) > 2:  # `buf` and the call's argument
        buf = np.zeros(shape, dtype)
    cache[full_key] = buf
    total = sum(b.nbytes for b in cache.values())
    while total > BORDERED_CACHE_BYTES and len(cache) > 1:
        _, old = cache.popitem(last=False)
        total -= old.nbytes
    return buf


def _padded_cnhw(x, pad, reuse=False):
    """x (N, C, H, W) -> (C, N, H+pt+pb, W+pl+pr) zero-padded; a view when pad is 0.

    reuse: the result is a temporary the caller drops before returning, so a cached
    zero-bordered buffer may be used.
    """
    xp_ = get_array_module(x)
    xt = x.transpose(1, 0, 2, 3)
    pt, pb, pl, pr = pad
    if not (pt or pb or pl or pr):
        return xt
    n, c, h, w = x.shape
    shape = (c, n, h + pt + pb, w + pl + pr)
    if reuse:
        buf = _bordered(xp_, ("pad", pt, pl, h, w), shape, x.dtype)
    else:
        buf = xp_.zeros(shape, dtype=x.dtype)
    if xp_ is np:
        parallel_copy(buf[:, :, pt:pt + h, pl:pl + w], xt)
    else:
        buf[:, :, pt:pt + h, pl:pl + w] = xt
    return buf


def im2col(x, kh, kw, stride, pad, dil):
    """(N, C, H, W) -> cols (C, kh, kw, N, Ho, Wo), contiguous; one strided-view copy.

    Large results live in the scratch block: use them before the next im2col call.
    """
    xp_ = get_array_module(x)
    sh, sw = stride
    dh, dw = dil
    pointwise = kh == 1 and kw == 1 and sh == 1 and sw == 1
    xp = _padded_cnhw(x, pad, reuse=not pointwise)  # the 1x1 path may return the buffer
    c, n, hp, wp = xp.shape
    ho = (hp - dh * (kh - 1) - 1) // sh + 1
    wo = (wp - dw * (kw - 1) - 1) // sw + 1
    if pointwise:
        return xp_.ascontiguousarray(xp).reshape(c, 1, 1, n, ho, wo)
    s0, s1, s2, s3 = xp.strides
    win = xp_.lib.stride_tricks.as_strided(
        xp, (c, kh, kw, n, ho, wo), (s0, s2 * dh, s3 * dw, s1, s2 * sh, s3 * sw),
        writeable=False)
    cols = _scratch(xp_, win.shape, x.dtype)
    if xp_ is np:
        parallel_copy(cols, win)
    else:
        xp_.copyto(cols, win)
    return cols


def col2im(cols, x_shape, stride, pad, dil):
    """cols (C, kh, kw, N, Ho, Wo) -> (N, C, H, W) by kh*kw strided adds (the adjoint of im2col)."""
    xp_ = get_array_module(cols)
    c, kh, kw, n, ho, wo = cols.shape
    _, _, h, w = x_shape
    sh, sw = stride
    dh, dw = dil
    pt, pb, pl, pr = pad
    hp, wp = h + pt + pb, w + pl + pr
    if kh == 1 and kw == 1 and sh == 1 and sw == 1 and not (pt or pb or pl or pr) \
            and ho == h and wo == w:
        return cols.reshape(c, n, h, w).transpose(1, 0, 2, 3)
    buf = xp_.zeros((c, n, hp, wp), dtype=cols.dtype)

    def scatter(c0: int, c1: int) -> None:  # channels c0:c1 (disjoint between threads)
        for i in range(kh):
            for j in range(kw):
                h0, w0 = i * dh, j * dw
                buf[c0:c1, :, h0:h0 + sh * (ho - 1) + 1:sh, w0:w0 + sw * (wo - 1) + 1:sw] += \
                    cols[c0:c1, i, j]

    if xp_ is np:
        parallel_slices(scatter, c, cols.nbytes)
    else:
        scatter(0, c)
    return buf[:, :, pt:pt + h, pl:pl + w].transpose(1, 0, 2, 3)


# Columns up to this size are kept from the forward pass for the weight gradient instead
# of being gathered again in backward (LeNet-sized convs, where the gather is a large part
# of the step); bigger ones are recomputed so memory stays ~ that of the activations.
SAVE_COLS_MAX_BYTES = 8 << 20


def conv_forward(x, w, b, stride, pad, dil, groups, keep_cols=False):
    """y = conv(x, w) + b. x (N, C, H, W), w (O, C/g, kh, kw) -> (N, O, Ho, Wo) view.

    With keep_cols, returns (y, cols) where cols is the im2col array when it is at most
    SAVE_COLS_MAX_BYTES (else None), for :func:`conv_weight_grad`.
    """
    xp_ = get_array_module(x)
    o, cg, kh, kw = w.shape
    cols = im2col(x, kh, kw, stride, pad, dil)
    n, ho, wo = cols.shape[3:]
    if groups == 1:
        y = xp_.matmul(w.reshape(o, -1), cols.reshape(cg * kh * kw, -1))
    else:
        y = xp_.matmul(w.reshape(groups, o // groups, -1),
                       cols.reshape(groups, cg * kh * kw, -1))
    y = y.reshape(o, n, ho, wo)
    if b is not None:
        y += b.reshape(o, 1, 1, 1)
    if keep_cols:
        return y.transpose(1, 0, 2, 3), (cols if cols.nbytes <= SAVE_COLS_MAX_BYTES else None)
    return y.transpose(1, 0, 2, 3)


def _grad_rows(g):
    """(N, O, Ho, Wo) -> (O, N*Ho*Wo); free when g is already in (O, N, Ho, Wo) memory."""
    n, o, ho, wo = g.shape
    return g.transpose(1, 0, 2, 3).reshape(o, n * ho * wo)


def conv_input_grad(g, w, x_shape, stride, pad, dil, groups):
    """The transposed convolution: dx = col2im(W^T g). g (N, O, Ho, Wo) -> (N, C, H, W)."""
    xp_ = get_array_module(g)
    o, cg, kh, kw = w.shape
    n, _, ho, wo = g.shape
    dh, dw = dil
    fh, fw = dh * (kh - 1), dw * (kw - 1)
    c_in, h, w_ = x_shape[1:]
    if (stride == (1, 1) and kh * kw > 1 and max(pad[:2]) <= fh and max(pad[2:]) <= fw
            and ho + fh - pad[0] - pad[1] == h and wo + fw - pad[2] - pad[3] == w_
            and o * h * w_ <= 2 * c_in * ho * wo):
        # Stride 1: dx is a "full" convolution of g with the flipped, transposed kernel.
        # One im2col + matmul beats matmul + kh*kw strided col2im adds when the gathered
        # columns (O*H*W per tap) are not much larger than the scattered ones (C*Ho*Wo):
        # 1.4-1.7x faster on ResNet 3x3 convs, but 2.9x slower on LeNet's 6->16 5x5 conv.
        wt = w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)
        wt = xp_.ascontiguousarray(wt.reshape(groups * cg, o // groups, kh, kw)[:, :, ::-1, ::-1])
        full = (fh - pad[0], fh - pad[1], fw - pad[2], fw - pad[3])
        return conv_forward(g, wt, None, (1, 1), full, dil, groups)
    g2 = _grad_rows(g)
    if groups == 1:
        cols = xp_.matmul(w.reshape(o, -1).T, g2,
                          out=_scratch(xp_, (cg * kh * kw, g2.shape[1]), g.dtype))
    else:
        og = o // groups
        cols = xp_.matmul(w.reshape(groups, og, -1).transpose(0, 2, 1),
                          g2.reshape(groups, og, -1),
                          out=_scratch(xp_, (groups, cg * kh * kw, n * ho * wo), g.dtype))
    cols = cols.reshape(cg * groups, kh, kw, n, ho, wo)
    return col2im(cols, x_shape, stride, pad, dil)


def conv_weight_grad(x, g, w_shape, stride, pad, dil, groups, cols=None):
    """dW = g cols^T: the correlation of input and output gradient, shape w_shape.

    cols: im2col(x) kept from the forward pass, or None to gather it here.
    """
    xp_ = get_array_module(x)
    o, cg, kh, kw = w_shape
    if cols is None:
        if _shifted_ok(x.shape, g.shape, w_shape, stride, pad, dil, groups):
            return _weight_grad_shifted(x, g, w_shape, pad)
        cols = im2col(x, kh, kw, stride, pad, dil)
    n, ho, wo = cols.shape[3:]
    gh, gw = g.shape[2:]
    if ho < gh or wo < gw:
        raise RuntimeError(f"conv weight gradient: input windows give {(ho, wo)} positions but "
                           f"the gradient has spatial shape {(gh, gw)}")
    if (ho, wo) != (gh, gw):  # transposed conv with output_padding: extra rows have no output
        cols = cols[..., :gh, :gw]
    cols = cols.reshape(cg * groups * kh * kw, n * gh * gw)
    g2 = _grad_rows(g)
    # cols @ g2^T, then transpose: the same product as g2 @ cols^T, but OpenBLAS with 2
    # threads ran the latter 5-50x slower on these long-K shapes (measured; docs/architecture.md).
    if groups == 1:
        dw = xp_.matmul(cols, g2.T).T
    else:
        og = o // groups
        dw = xp_.matmul(cols.reshape(groups, cg * kh * kw, -1),
                        g2.reshape(groups, og, -1).transpose(0, 2, 1)).transpose(0, 2, 1)
    return dw.reshape(w_shape)


def _shifted_ok(x_shape, g_shape, w_shape, stride, pad, dil, groups) -> bool:
    """Use :func:`_weight_grad_shifted` for ungrouped stride-1 3x3-style convs whose padded
    plane is at most 30% larger than the output plane (ResNet stages on 32x32 and 16x16:
    measured 8.3 -> 6.6 ms and 5.5 -> 4.6 ms per weight gradient, batch 64; on 8x8
    planes the 56% overhead made it slower)."""
    hp = x_shape[2] + pad[0] + pad[1]
    wp = x_shape[3] + pad[2] + pad[3]
    ho, wo = hp - w_shape[2] + 1, wp - w_shape[3] + 1
    return (stride == (1, 1) and dil == (1, 1) and groups == 1 and w_shape[2] * w_shape[3] > 1
            and tuple(g_shape[2:]) == (ho, wo) and ho > 0 and wo > 0
            and 10 * hp * wp <= 13 * ho * wo)


def _weight_grad_shifted(x, g, w_shape, pad):
    """dW[:, :, i, j] = g_pad X_(i,j)^T without materialising im2col columns.

    With the padded input flattened per channel to S = N*Hp*Wp values, the input window
    for tap (i, j) is the same flat array shifted by i*Wp + j: a plain strided (C, S)
    view that BLAS reads directly. g is zero-padded onto the same (N, Hp, Wp) grid, so the
    shifted reads that fall outside an output position (row/column wrap-around) meet a
    zero and add nothing. Costs kh*kw long-K products instead of one gather + product.
    """
    xp_ = get_array_module(x)
    o, c, kh, kw = w_shape
    n, _, h, wd = x.shape
    pt, pb, pl, pr = pad
    hp, wp = h + pt + pb, wd + pl + pr
    ho, wo = g.shape[2:]
    plane = n * hp * wp
    # tail: the last taps' reach; both buffers keep their zero borders between calls
    flat = _bordered(xp_, ("wgrad-x", c, n, hp, wp, pt, pl, h, wd),
                     (c * plane + (kh - 1) * wp + kw,), x.dtype)
    inner = flat[:c * plane].reshape(c, n, hp, wp)[:, :, pt:pt + h, pl:pl + wd]
    gs = _bordered(xp_, ("wgrad-g", ho, wo), (o, n, hp, wp), g.dtype)
    if xp_ is np:
        parallel_copy(inner, x.transpose(1, 0, 2, 3))
        parallel_copy(gs[:, :, :ho, :wo], g.transpose(1, 0, 2, 3))
    else:
        inner[...] = x.transpose(1, 0, 2, 3)
        gs[:, :, :ho, :wo] = g.transpose(1, 0, 2, 3)
    gt = gs.reshape(o, plane).T
    it = flat.itemsize
    dw = xp_.empty(w_shape, dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            off = i * wp + j
            xs = xp_.lib.stride_tricks.as_strided(flat[off:], (c, plane), (plane * it, it),
                                                  writeable=False)
            # (X gt)^T rather than g X^T: see the orientation note in conv_weight_grad.
            dw[:, :, i, j] = xp_.matmul(xs, gt).T
    return dw
