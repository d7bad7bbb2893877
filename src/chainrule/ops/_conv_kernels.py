"""The three convolution products on raw arrays: forward, input gradient, weight gradient.

Layout (chosen by measurement: no transpose copy between layers): the public layout is
NCHW, but every conv result is computed as ``W @ cols`` with ``cols`` of shape
``(C*kh*kw, N*Ho*Wo)``, so its output lives in memory as (O, N, Ho, Wo) and is handed out
as a transposed *view* ``(N, O, Ho, Wo)``. Elementwise NumPy ufuncs keep that memory
order (order='K'), so a whole CNN keeps (C, N, H, W) memory internally and the next
im2col gathers from it without a transpose copy.

Algorithm, by shape (each measured A/B against the previous kernels in one process, one
thread, alternating; medians):

* **Batch-chunked im2col + GEMM** (:func:`_images_per_chunk`). The 3x3 columns are 9x the
  input: 38 MB for a ResNet-20 stage-1 conv at batch 64, far beyond the caches, so the
  gather writes them to memory and the GEMM reads them back. Gathering a few images at a
  time into one reused ~2 MiB block (cache-resident) and multiplying straight into the
  matching columns of the output measured 19 -> 14 ms per stage-1 forward (one thread).
  GEMMs with many rows (> :data:`CHUNK_MAX_ROWS` output channels) lost from the narrower
  products, so they take the columns whole.
* **Weight gradient as a sum over chunks**: dW = sum_chunks cols_chunk g_chunk^T. The
  same cache effect, and each product is short-K: 1.3-2x faster than one long-K product
  or the shifted-view products it replaces.
* **Input gradient**: for stride 1 a "full" convolution of g with the flipped kernel (one
  gather, chunked as above); otherwise W^T g per chunk, scattered back with col2im.
* Columns of small convs (<= :data:`SAVE_COLS_MAX_BYTES`, LeNet-sized) are kept from the
  forward pass for the weight gradient instead of being gathered twice.
"""

from __future__ import annotations

import numpy as np

from .._kernels import blas, conv_pool, jit, pool_gemm, winograd, winograd_wgrad
from .._kernels.half_gemm import float16_in_float32
from ..backend import get_array_module
from ..meta import kernels as meta_kernels
from ._im2col import gather, out_size, padded_cnhw, scatter_add, windows
from ._workspace import workspace

__all__ = [
    "SAVE_COLS_MAX_BYTES",
    "CHUNK_BYTES",
    "WGRAD_CHUNK_BYTES",
    "CHUNK_MAX_ROWS",
    "CHUNK_MIN_COLUMNS",
    "CHUNK_MIN_TOTAL_BYTES",
    "OG_MAJOR_MIN_ELEMENTS",
    "POOL_CHUNK_BYTES",
    "POOL_FULL_CONV_MAX_ROWS",
    "WINOGRAD_MIN_CHANNELS",
    "WINOGRAD_MIN_SIZE",
    "conv_forward",
    "conv_input_grad",
    "conv_weight_grad",
]

# Columns up to this size are kept from the forward pass for the weight gradient instead
# of being gathered again in backward (LeNet-sized convs, where the gather is a large part
# of the step); bigger ones are recomputed so memory stays ~ that of the activations.
SAVE_COLS_MAX_BYTES = 8 << 20
# Column block per chunk in the forward / input-gradient products and in the weight
# gradient (measured on the ResNet-20/18 shapes: 2 and 4 MiB were best respectively).
CHUNK_BYTES = 2 << 20
WGRAD_CHUNK_BYTES = 4 << 20
CHUNK_MIN_COLUMNS = 1024  # narrower GEMMs lose more to BLAS overhead than they gain
# Columns up to this size are taken whole: chunking gained nothing measurable at or below
# ~9 MB (LeNet's convs, ResNet-20's 8x8 stage) and adds BLAS calls (thread wake-ups), while
# ResNet-20's 9.4 MB stride-2 input gradient went 19 -> 13 ms and its 38 MB stage-1
# products 16-17 -> 12-13 ms (one thread).
CHUNK_MIN_TOTAL_BYTES = 8 << 20
CHUNK_MAX_ROWS = 64  # forward GEMMs with more rows per group are not chunked
# Column block per gather of the compiled pool's kernels (each thread its own): 0.5 MiB
# measured best on ResNet-20's step (two threads: 0.25/0.5/1/2/4 MiB gave 216-252, 229-231,
# 233-238, 248-256, 274-278 ms).
POOL_CHUNK_BYTES = 512 << 10
# On the pool, a stride-1 input gradient is the "full" convolution only for at most this many
# output channels per group: with more, its flipped weight copy and the wider gather lost to
# Wᵀ g plus the compiled scatter (2 threads; 16 channels at 32x32: 2.5 against 3.0 ms; 32 at
# 16x16: 2.2 / 2.1; ResNet-18's 64-512 channels: 15.7 / 12.7 to 17.9 / 9.6 ms).
POOL_FULL_CONV_MAX_ROWS = 16
# 3x3 stride-1 float32 convolutions of a batch at least as large as the pool, with outputs
# (forward, weight gradient) or inputs (input gradient) at least this wide, run as Winograd
# F(2x2, 3x3) (_kernels/winograd.py, winograd_wgrad.py): ResNet-20's layers at batch 64 took
# 0.50-0.81x the im2col path's time forward and for the input gradient, 0.61-0.75x for the
# weight gradient (2 threads, benchmarks/bench_winograd*.py); smaller images
# have too few tiles to pay for the transforms (batch 1 and ResNet-18's 4x4 input gradient
# were slower).
WINOGRAD_MIN_SIZE = 8
# ... and at least this many input and output channels: ResNet-20's first conv (3 -> 16
# channels) took 1.0 ms against im2col's 0.62 (its GEMMs are 3 deep).
WINOGRAD_MIN_CHANNELS = 16
# Weight gradients of at least this many elements per group are computed in the weight's own
# (og, kg) layout by the pool kernel (see conv_weight_grad).
OG_MAJOR_MIN_ELEMENTS = 1 << 16


def _images_per_chunk(xp_, n: int, image_bytes: int, columns: int, target: int) -> int:
    """How many images of the batch to gather and multiply at a time."""
    if xp_ is not np or n * image_bytes <= CHUNK_MIN_TOTAL_BYTES:
        return max(n, 1)  # an empty batch: one (empty) chunk
    return min(n, _block_images(image_bytes, columns, target))


def _block_images(image_bytes: int, columns: int, target: int) -> int:
    """Images per gathered block: about ``target`` bytes of columns, at least one image and
    at least :data:`CHUNK_MIN_COLUMNS` columns (narrower GEMMs lose to BLAS overhead)."""
    return max(1, target // max(image_bytes, 1), -(-CHUNK_MIN_COLUMNS // max(columns, 1)))


def _grad_rows(g):
    """(N, O, Ho, Wo) -> (O, N*Ho*Wo); free when g is already in (O, N, Ho, Wo) memory."""
    n, o, ho, wo = g.shape
    return g.transpose(1, 0, 2, 3).reshape(o, n * ho * wo)


def _pool_plan(xp_, dtype, n: int, macs: int, small_batch: bool = False) -> tuple | None:
    """(GEMM address, threads) when a conv product runs on the compiled pool
    (:mod:`chainrule._kernels.conv_pool`): NumPy float32/float64 arrays, the pool active, at
    least one image per thread (``small_batch``: or fewer images, whose output rows the
    forward splits over the threads) and :data:`.pool_gemm.MIN_POOL_MACS` of work; else
    None."""
    if xp_ is not np or dtype not in (np.float32, np.float64) or macs < pool_gemm.MIN_POOL_MACS:
        return None
    threads = pool_gemm.pool_active()
    if not threads and jit.backend() == "numba" and not jit.in_forked_child():
        threads = 1  # one thread: still one compiled gather-and-multiply pass, no Python loop
    if not threads or (n < threads and not small_batch):
        return None
    gemm = blas.gemm_address(np.dtype(dtype))
    return None if gemm is None else (gemm, threads)


def _row_parts(n: int, threads: int, image_bytes: int, ho: int) -> int:
    """Blocks of output rows per image in the small-batch forward: enough for every thread
    to have one, and each block's columns within :data:`POOL_CHUNK_BYTES`."""
    return min(ho, max(-(-threads // n), -(-image_bytes // POOL_CHUNK_BYTES)))


def _pool_images(n: int, threads: int, image_bytes: int, columns: int, target: int) -> int:
    """Images per gather in a pool kernel: a cache-sized block of one thread's share."""
    return min(-(-n // threads), _block_images(image_bytes, columns, target))


def _cnhw(x):
    """x (N, C, H, W) as a C-contiguous (C, N, H, W) array (free for a conv output)."""
    xt = x.transpose(1, 0, 2, 3)
    return xt if xt.flags.c_contiguous else np.ascontiguousarray(xt)


def _geometry(kh: int, kw: int, stride, pad, dil) -> tuple:
    return (kh, kw, stride[0], stride[1], dil[0], dil[1], pad[0], pad[2])


def _pointwise(xp_, a, b, trans_a: bool = False):
    """op(a) @ b for 2-d operands: on the compiled pool where it applies, else NumPy."""
    out = pool_gemm.matmul(a, b, trans_a=trans_a)
    if out is None:
        out = xp_.matmul(a.T if trans_a else a, b)
    return out


@float16_in_float32  # no half-precision BLAS: float32 GEMMs, rounded once
def conv_forward(x, w, b, stride, pad, dil, groups, keep_cols=False):
    """y = conv(x, w) + b. x (N, C, H, W), w (O, C/g, kh, kw) -> (N, O, Ho, Wo) view.

    With keep_cols, returns (y, cols) where cols is the im2col array when it is at most
    SAVE_COLS_MAX_BYTES (else None), for :func:`conv_weight_grad`. A 5-d x and w: the 3-d
    convolution (:mod:`._conv3d_kernels`), as the other two products.
    """
    if type(x) is not np.ndarray and meta_kernels.any_meta(x, w):  # the shape only
        return meta_kernels.conv_forward(x, w, stride, pad, dil, keep_cols)
    if x.ndim == 5:
        from ._conv3d_kernels import conv3d_forward  # imports this module

        return conv3d_forward(x, w, b, stride, pad, dil, groups, keep_cols)
    xp_ = get_array_module(x)
    o, cg, kh, kw = w.shape
    n, c, h, wd = x.shape
    ho = out_size(h, kh, stride[0], pad[0], pad[1], dil[0])
    wo = out_size(wd, kw, stride[1], pad[2], pad[3], dil[1])
    og, kg, m = o // groups, cg * kh * kw, ho * wo
    y = xp_.empty((o, n, ho, wo), dtype=x.dtype)
    y3 = y.reshape(groups, og, n * m)
    w3 = w.reshape(groups, og, kg)
    kept = None
    plan = _pool_plan(xp_, x.dtype, n, o * kg * n * m, small_batch=not keep_cols)
    if kh == kw == 1 and stride == (1, 1) and not any(pad):
        # pointwise: the columns are x itself (a copy only if x is not in (C, N, H, W) memory)
        xc = x.transpose(1, 0, 2, 3).reshape(groups, cg, n * m)
        if groups == 1 and plan is not None:
            y3[0] = _pointwise(xp_, np.ascontiguousarray(w3[0]), np.ascontiguousarray(xc[0]))
        else:
            xp_.matmul(w3, xc, out=y3)
    elif (
        plan is not None
        and n >= plan[1]
        and min(ho, wo) >= WINOGRAD_MIN_SIZE
        and min(c, o) >= WINOGRAD_MIN_CHANNELS
        and winograd.applies(x, w, stride, dil, groups)
    ):
        winograd.conv3x3(x, w, pad, out=y)  # 2.25x fewer multiplies; bias as below
    elif plan is not None:
        # one compiled launch: each thread gathers and multiplies its own images (or, for
        # fewer images than threads, its own blocks of output rows)
        gemm, threads = plan
        image_bytes = c * kh * kw * m * x.itemsize
        w2 = xp_.ascontiguousarray(w.reshape(o, kg))
        geom = _geometry(kh, kw, stride, pad, dil)
        with blas.one_blas_thread():
            if n >= threads:
                nb = _pool_images(n, threads, image_bytes, m, POOL_CHUNK_BYTES)
                conv_pool.conv_forward_pool(gemm, _cnhw(x), w2, y, geom, groups, nb, threads)
            else:
                parts = _row_parts(n, threads, image_bytes, ho)
                conv_pool.conv_forward_rows_pool(gemm, _cnhw(x), w2, y, geom, groups, parts)
    elif keep_cols and c * kh * kw * n * m * x.itemsize <= SAVE_COLS_MAX_BYTES:
        with padded_cnhw(x, pad) as xpad:
            kept = xp_.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
            gather(kept, windows(xpad, kh, kw, stride, dil))
        xp_.matmul(w3, kept.reshape(groups, kg, n * m), out=y3)
    else:
        with padded_cnhw(x, pad) as xpad:
            _chunked_forward(xp_, xpad, w3, y, stride, dil, (kh, kw))
    if b is not None:
        y += b.reshape(o, 1, 1, 1)
    y = y.transpose(1, 0, 2, 3)
    return (y, kept) if keep_cols else y


def _chunked_forward(xp_, xpad, w3, y, stride, dil, k: tuple) -> None:
    """y (O, N, Ho, Wo) = w3 @ columns of xpad (C, N, Hp, Wp), a batch chunk at a time."""
    groups, og, kg = w3.shape
    c, n = xpad.shape[:2]
    ho, wo = y.shape[2:]
    kh, kw = k
    m = ho * wo
    nb = (
        max(n, 1)
        if og > CHUNK_MAX_ROWS
        else _images_per_chunk(xp_, n, c * kh * kw * m * y.itemsize, m, CHUNK_BYTES)
    )
    y3 = y.reshape(groups, og, n * m)
    win = windows(xpad, kh, kw, stride, dil)
    with workspace().empty((c * kh * kw * nb * m,), y.dtype, xp_) as flat:
        for n0 in range(0, n, nb):
            b = min(n, n0 + nb) - n0
            cols = flat[: c * kh * kw * b * m]
            gather(cols.reshape(c, kh, kw, b, ho, wo), win[:, :, :, n0 : n0 + b])
            xp_.matmul(w3, cols.reshape(groups, kg, b * m), out=y3[:, :, n0 * m : (n0 + b) * m])


@float16_in_float32  # no half-precision BLAS: float32 GEMMs, rounded once
def conv_input_grad(g, w, x_shape, stride, pad, dil, groups):
    """The transposed convolution: dx = col2im(W^T g). g (N, O, Ho, Wo) -> (N, C, H, W)."""
    if type(g) is not np.ndarray and meta_kernels.any_meta(g, w):  # the shape only
        return meta_kernels.conv_input_grad(g, x_shape)
    if g.ndim == 5:
        from ._conv3d_kernels import conv3d_input_grad

        return conv3d_input_grad(g, w, x_shape, stride, pad, dil, groups)
    xp_ = get_array_module(g)
    o, cg, kh, kw = w.shape
    n, _, ho, wo = g.shape
    dh, dw = dil
    fh, fw = dh * (kh - 1), dw * (kw - 1)
    c_in, h, w_ = x_shape[1:]
    og, kg, m = o // groups, cg * kh * kw, ho * wo
    plan = _pool_plan(xp_, g.dtype, n, o * kg * n * m)
    if (
        plan is not None
        and n >= plan[1]
        and min(h, w_) >= WINOGRAD_MIN_SIZE
        and min(c_in, o) >= WINOGRAD_MIN_CHANNELS
        and max(pad) <= 2
        and winograd.applies(g, w, stride, dil, groups)
        and (h, w_) == (ho + 2 - pad[0] - pad[1], wo + 2 - pad[2] - pad[3])
    ):  # the full convolution of g with the flipped kernel, as Winograd (see conv_forward)
        dx = winograd.conv3x3(g, w, tuple(2 - p for p in pad), flip=True)
        return dx.transpose(1, 0, 2, 3)
    if (
        stride == (1, 1)
        and kh * kw > 1
        and (plan is None or og <= POOL_FULL_CONV_MAX_ROWS)
        and max(pad[:2]) <= fh
        and max(pad[2:]) <= fw
        and ho + fh - pad[0] - pad[1] == h
        and wo + fw - pad[2] - pad[3] == w_
        and o * h * w_ <= 2 * c_in * ho * wo
        and bool(xp_.isfinite(w).all())
    ):
        # Stride 1: dx is a "full" convolution of g with the flipped, transposed kernel.
        # One im2col + matmul beats matmul + kh*kw strided col2im adds when the gathered
        # columns (O*H*W per tap) are not much larger than the scattered ones (C*Ho*Wo):
        # 1.4-1.7x faster on ResNet 3x3 convs, but 2.9x slower on LeNet's 6->16 5x5 conv.
        # Only for a finite kernel: the full convolution multiplies the zero padding by
        # every tap, so a NaN/inf tap would reach outputs it does not touch (0 * inf), where
        # PyTorch's col2im (the path below) adds only the real products.
        wt = w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)
        wt = xp_.ascontiguousarray(wt.reshape(groups * cg, o // groups, kh, kw)[:, :, ::-1, ::-1])
        full = (fh - pad[0], fh - pad[1], fw - pad[2], fw - pad[3])
        return conv_forward(g, wt, None, (1, 1), full, dil, groups)
    g3 = _grad_rows(g).reshape(groups, og, n * m)
    wt = w.reshape(groups, og, kg).transpose(0, 2, 1)
    pt, pb, pl, pr = pad
    if kh == kw == 1 and stride == (1, 1) and not any(pad) and (ho, wo) == (h, w_):
        if groups == 1 and plan is not None:
            w2, g2 = xp_.ascontiguousarray(w.reshape(o, kg)), xp_.ascontiguousarray(g3[0])
            dx = _pointwise(xp_, w2, g2, trans_a=True)
        else:
            dx = xp_.matmul(wt, g3)
        return dx.reshape(c_in, n, h, w_).transpose(1, 0, 2, 3)
    if plan is not None:
        # one compiled launch: each thread multiplies and scatters its own images
        nb = _pool_images(n, plan[1], c_in * kh * kw * m * g.itemsize, m, POOL_CHUNK_BYTES)
        dx = xp_.zeros((c_in, n, h, w_), dtype=g.dtype)
        w2 = xp_.ascontiguousarray(w.reshape(o, kg))
        geom = _geometry(kh, kw, stride, pad, dil)
        with blas.one_blas_thread():
            conv_pool.conv_input_grad_pool(
                plan[0], xp_.ascontiguousarray(g3.reshape(o, n * m)), w2, dx, ho, wo, geom,
                groups, nb, plan[1],
            )  # fmt: skip
        return dx.transpose(1, 0, 2, 3)
    buf = xp_.zeros((c_in, n, h + pt + pb, w_ + pl + pr), dtype=g.dtype)
    nb = _images_per_chunk(xp_, n, c_in * kh * kw * m * g.itemsize, m, CHUNK_BYTES)
    with workspace().empty((c_in * kh * kw * nb * m,), g.dtype, xp_) as flat:
        for n0 in range(0, n, nb):
            n1 = min(n, n0 + nb)
            cols = flat[: c_in * kh * kw * (n1 - n0) * m].reshape(groups, kg, (n1 - n0) * m)
            xp_.matmul(wt, g3[:, :, n0 * m : n1 * m], out=cols)
            scatter_add(buf[:, n0:n1], cols.reshape(c_in, kh, kw, n1 - n0, ho, wo), stride, dil)
    return buf[:, :, pt : pt + h, pl : pl + w_].transpose(1, 0, 2, 3)


@float16_in_float32  # no half-precision BLAS: float32 GEMMs, rounded once
def conv_weight_grad(x, g, w_shape, stride, pad, dil, groups, cols=None):
    """dW = g cols^T: the correlation of input and output gradient, shape w_shape.

    cols: im2col(x) kept from the forward pass, or None to gather it here chunk by chunk.
    """
    if type(x) is not np.ndarray and meta_kernels.any_meta(x, g):  # the shape only
        return meta_kernels.conv_weight_grad(x, w_shape)
    if x.ndim == 5:
        from ._conv3d_kernels import conv3d_weight_grad

        return conv3d_weight_grad(x, g, w_shape, stride, pad, dil, groups, cols)
    xp_ = get_array_module(x)
    o, cg, kh, kw = w_shape
    n, c = x.shape[:2]
    gh, gw = g.shape[2:]
    og, kg, m = o // groups, cg * kh * kw, gh * gw
    # cols @ g^T, then transpose: the same product as g @ cols^T, but OpenBLAS with 2
    # threads ran the latter 5-50x slower on these long-K shapes (measured).
    if cols is not None:
        _check_positions(cols.shape[4:], (gh, gw))
        if cols.shape[4:] != (gh, gw):  # transposed conv with output_padding: crop
            cols = cols[..., :gh, :gw]
        g3 = _grad_rows(g).reshape(groups, og, n * m)
        dwt = xp_.matmul(cols.reshape(groups, kg, n * m), g3.transpose(0, 2, 1))
        return dwt.transpose(0, 2, 1).reshape(w_shape)
    plan = _pool_plan(xp_, x.dtype, n, o * kg * n * m)
    if (
        plan is not None
        and min(gh, gw) >= WINOGRAD_MIN_SIZE
        and min(c, o) >= WINOGRAD_MIN_CHANNELS
        and winograd_wgrad.applies(x, g, w_shape, stride, dil, groups)
        and gh <= x.shape[2] + pad[0] + pad[1] - 2
        and gw <= x.shape[3] + pad[2] + pad[3] - 2
    ):  # the correlation in the Winograd domain (helper-124): 2.25x fewer multiply-adds
        return winograd_wgrad.conv3x3_weight_grad(x, g, pad)
    # g as (O, N*Ho*Wo) rows (a copy unless g is in (O, N, Ho, Wo) memory): only the im2col
    # paths below read it, so the Winograd branch above skips it
    g3 = _grad_rows(g).reshape(groups, og, n * m)
    if plan is not None:
        # one compiled launch: each thread gathers its images and sums its own partial dWᵀ
        h, w_ = x.shape[2:]
        positions = (
            out_size(h, kh, stride[0], pad[0], pad[1], dil[0]),
            out_size(w_, kw, stride[1], pad[2], pad[3], dil[1]),
        )
        _check_positions(positions, (gh, gw))
        nb = _pool_images(n, plan[1], c * kh * kw * m * x.itemsize, m, POOL_CHUNK_BYTES)
        # a large weight's gradient is computed in its own layout: relaying out (kg, og) was
        # a cache-unfriendly transposed copy (ResNet-18: 87 ms of a 950 ms step); a small
        # one's (kg, og) product runs 10-50% faster and its copy costs nothing
        og_major = kg * og >= OG_MAJOR_MIN_ELEMENTS
        shape = (og, kg) if og_major else (kg, og)
        parts = xp_.zeros((plan[1], groups) + shape, dtype=x.dtype)
        geom = _geometry(kh, kw, stride, pad, dil)
        with blas.one_blas_thread():
            conv_pool.conv_weight_grad_pool(
                plan[0], _cnhw(x), xp_.ascontiguousarray(g3.reshape(o, n * m)), parts, gh, gw,
                geom, groups, nb, plan[1], og_major,
            )  # fmt: skip
        dw = parts.sum(0) if plan[1] > 1 else parts[0]
        return (dw if og_major else dw.transpose(0, 2, 1)).reshape(w_shape)
    with padded_cnhw(x, pad) as xpad:
        win = windows(xpad, kh, kw, stride, dil)
        _check_positions(win.shape[4:], (gh, gw))
        win = win[..., :gh, :gw]  # transposed conv with output_padding: extra rows unused
        nb = _images_per_chunk(xp_, n, c * kh * kw * m * x.itemsize, m, WGRAD_CHUNK_BYTES)
        dwt = None
        with workspace().empty((c * kh * kw * nb * m,), x.dtype, xp_) as flat:
            for n0 in range(0, n, nb):
                b = min(n, n0 + nb) - n0
                cols = flat[: c * kh * kw * b * m]
                gather(cols.reshape(c, kh, kw, b, gh, gw), win[:, :, :, n0 : n0 + b])
                part = xp_.matmul(
                    cols.reshape(groups, kg, b * m),
                    g3[:, :, n0 * m : (n0 + b) * m].transpose(0, 2, 1),
                )
                dwt = part if dwt is None else xp_.add(dwt, part, out=dwt)
    if dwt is None:  # an empty batch
        dwt = xp_.zeros((groups, kg, og), dtype=x.dtype)
    return dwt.transpose(0, 2, 1).reshape(w_shape)


def _check_positions(have: tuple, need: tuple) -> None:
    if any(h < w for h, w in zip(have, need)):
        raise RuntimeError(
            f"conv weight gradient: input windows give {tuple(have)} positions "
            f"but the gradient has spatial shape {tuple(need)}"
        )
