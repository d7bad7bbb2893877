"""The three 3-D convolution products on raw arrays (N, C, D, H, W): forward, input
gradient, weight gradient; :mod:`._conv_kernels` hands its 5-d calls here. Two paths:

* **3-d im2col**: a strided view of every 3-d window of the padded input (:mod:`._im2col`'s
  n-d helpers), copied a batch chunk at a time into a reused block, and one GEMM per group;
  the result lives in (O, N, Do, Ho, Wo) memory, handed out as the transposed
  (N, O, Do, Ho, Wo) view (the 2-d kernels' layout). The input gradient is ``W^T g``
  scattered back by one strided add per kernel tap; the weight gradient ``cols g^T`` summed
  over the chunks. Run with one OpenBLAS thread: beside the copies' threads, two BLAS
  threads on the 2 shared cores made the step up to 10x slower.
* **Depth folded into channels**: the input's depth taps stacked as channels
  (N*Do, C*kd, H, W) (one copy) and the 2-d kernels (compiled pool, Winograd) run on it.
  Chosen by :func:`_folds` where those kernels apply and win.

Forward + backward, float32, min over alternating runs of the former composition (2-d ops
over depth slices) and this op, on the 2 shared cores under heavy load (load average ~8):
(4,8,16,16,16) x (16,8,3,3,3) 16.3 -> 11.8 ms; (2,4,8,32,32) x (8,4,3,3,3) stride 2
3.5 -> 0.76 ms; (1,32,8,8,8) x (32,32,3,3,3) padding 1 8.2 -> 2.8 ms; conv_transpose3d
(4,16,8,8,8) x (16,8,3,3,3) 12.5 -> 3.0 ms. On a quiet machine the im2col path alone took
7.8 ms for the first shape against the composition's 3.0 ms (its Winograd 2-d kernels),
hence the folded path there.
"""

from __future__ import annotations

from math import prod

import numpy as np

from .._kernels import blas
from ..backend import get_array_module, strided_view
from . import _conv_kernels as K2
from ._conv_kernels import (
    CHUNK_BYTES,
    SAVE_COLS_MAX_BYTES,
    WGRAD_CHUNK_BYTES,
    _check_positions,
    _images_per_chunk,
)
from ._im2col import gather, out_size, padded_cnhw, scatter_add, windows_nd
from ._workspace import workspace

__all__ = ["conv3d_forward", "conv3d_input_grad", "conv3d_weight_grad"]


def _outs(sizes: tuple, k: tuple, stride, pad, dil) -> tuple:
    return tuple(
        out_size(s, kk, st, pad[2 * i], pad[2 * i + 1], d)
        for i, (s, kk, st, d) in enumerate(zip(sizes, k, stride, dil))
    )


def _rows(g):
    """(N, O, Do, Ho, Wo) -> (O, N*Do*Ho*Wo); free when g is in (O, N, ...) memory."""
    return g.transpose(1, 0, 2, 3, 4).reshape(g.shape[1], -1)


def _chunks(xp_, win, nb: int):
    """(n0, b, cols) for each chunk of nb images: the windows win (C, *k, N, *out) of
    images n0:n0+b gathered into a reused contiguous block (valid until the next)."""
    n = win.shape[4]
    per = prod(win.shape) // max(n, 1)
    with workspace().empty((per * nb,), win.dtype, xp_) as flat:
        for n0 in range(0, n, nb):
            b = min(n, n0 + nb) - n0
            shape = win.shape[:4] + (b,) + win.shape[5:]
            cols = flat[: per * b].reshape(shape)
            gather(cols, win[:, :, :, :, n0 : n0 + b])
            yield n0, b, cols


def _im2col_forward(x, w, b, stride, pad, dil, groups, keep_cols=False):
    """y = conv3d(x, w) + b. x (N, C, D, H, W), w (O, C/g, kd, kh, kw) -> the
    (N, O, Do, Ho, Wo) view; pad (front, back, top, bottom, left, right). With keep_cols,
    (y, cols) where cols (the gathered windows) is None above SAVE_COLS_MAX_BYTES."""
    xp_ = get_array_module(x)
    o, cg, *k = w.shape
    n, c = x.shape[:2]
    outs = _outs(x.shape[2:], k, stride, pad, dil)
    og, kg, m = o // groups, cg * prod(k), prod(outs)
    y = xp_.empty((o, n) + outs, dtype=x.dtype)
    y3 = y.reshape(groups, og, n * m)
    w3 = w.reshape(groups, og, kg)
    image_bytes = c * prod(k) * m * x.itemsize
    kept = None
    with padded_cnhw(x, pad) as xpad:
        win = windows_nd(xpad, k, stride, dil)
        if keep_cols and n * image_bytes <= SAVE_COLS_MAX_BYTES:
            kept = xp_.empty(win.shape, dtype=x.dtype)
            gather(kept, win)
            xp_.matmul(w3, kept.reshape(groups, kg, n * m), out=y3)
        else:
            nb = _images_per_chunk(xp_, n, image_bytes, m, CHUNK_BYTES)
            for n0, nc, cols in _chunks(xp_, win, nb):
                part = y3[:, :, n0 * m : (n0 + nc) * m]
                xp_.matmul(w3, cols.reshape(groups, kg, nc * m), out=part)
    if b is not None:
        y += b.reshape(o, 1, 1, 1, 1)
    y = y.transpose(1, 0, 2, 3, 4)
    return (y, kept) if keep_cols else y


def _im2col_input_grad(g, w, x_shape, stride, pad, dil, groups):
    """The transposed 3-d convolution: dx = col2im(W^T g). g (N, O, Do, Ho, Wo) ->
    (N, C, D, H, W) (x_shape)."""
    xp_ = get_array_module(g)
    o, cg, *k = w.shape
    n = g.shape[0]
    outs = tuple(g.shape[2:])
    c_in, sizes = x_shape[1], tuple(x_shape[2:])
    og, kg, m = o // groups, cg * prod(k), prod(outs)
    g3 = _rows(g).reshape(groups, og, n * m)
    wt = w.reshape(groups, og, kg).transpose(0, 2, 1)
    padded = tuple(s + pad[2 * i] + pad[2 * i + 1] for i, s in enumerate(sizes))
    buf = xp_.zeros((c_in, n) + padded, dtype=g.dtype)
    nb = _images_per_chunk(xp_, n, c_in * prod(k) * m * g.itemsize, m, CHUNK_BYTES)
    with workspace().empty((c_in * prod(k) * nb * m,), g.dtype, xp_) as flat:
        for n0 in range(0, n, nb):
            n1 = min(n, n0 + nb)
            cols = flat[: c_in * prod(k) * (n1 - n0) * m].reshape(groups, kg, (n1 - n0) * m)
            xp_.matmul(wt, g3[:, :, n0 * m : n1 * m], out=cols)
            cols = cols.reshape((c_in, *k, n1 - n0) + outs)
            scatter_add(buf[:, n0:n1], cols, stride, dil)
    inner = tuple(slice(pad[2 * i], pad[2 * i] + s) for i, s in enumerate(sizes))
    return buf[(slice(None), slice(None)) + inner].transpose(1, 0, 2, 3, 4)


def _im2col_weight_grad(x, g, w_shape, stride, pad, dil, groups, cols=None):
    """dW = g cols^T: the correlation of input and output gradient, shape w_shape; cols:
    the forward's gathered windows, or None to gather them here a chunk at a time."""
    xp_ = get_array_module(x)
    o, cg, *k = w_shape
    n, c = x.shape[:2]
    outs = tuple(g.shape[2:])
    og, kg, m = o // groups, cg * prod(k), prod(outs)
    g3 = _rows(g).reshape(groups, og, n * m)
    crop = (slice(None),) * 5 + tuple(slice(0, s) for s in outs)
    # cols @ g^T, then transposed: OpenBLAS ran g @ cols^T far slower (see _conv_kernels)
    if cols is not None:
        _check_positions(cols.shape[5:], outs)
        cols = cols[crop]  # a transposed conv with output_padding: unused positions
        dwt = xp_.matmul(cols.reshape(groups, kg, n * m), g3.transpose(0, 2, 1))
        return dwt.transpose(0, 2, 1).reshape(w_shape)
    dwt = None
    with padded_cnhw(x, pad) as xpad:
        win = windows_nd(xpad, k, stride, dil)
        _check_positions(win.shape[5:], outs)
        win = win[crop]
        nb = _images_per_chunk(xp_, n, c * prod(k) * m * x.itemsize, m, WGRAD_CHUNK_BYTES)
        for n0, nc, cols in _chunks(xp_, win, nb):
            g_part = g3[:, :, n0 * m : (n0 + nc) * m].transpose(0, 2, 1)
            part = xp_.matmul(cols.reshape(groups, kg, nc * m), g_part)
            dwt = part if dwt is None else xp_.add(dwt, part, out=dwt)
    if dwt is None:  # an empty batch
        dwt = xp_.zeros((groups, kg, og), dtype=x.dtype)
    return dwt.transpose(0, 2, 1).reshape(w_shape)


# ------------------------------------------------------------- depth folded into channels
def _fold(x, kd: int, sd: int, dd: int, pd: tuple, do: int):
    """x (N, C, D, H, W) -> (N*Do, C*kd, H, W): channel c*kd + i of image (n, t) is the
    depth slice t*sd + i*dd - front of x (zero outside), one copy."""
    xp_ = get_array_module(x)
    n, c, d, h, w = x.shape
    if any(pd):
        xpad = xp_.zeros((n, c, d + pd[0] + pd[1], h, w), dtype=x.dtype)
        xpad[:, :, pd[0] : pd[0] + d] = x
    else:
        xpad = x
    s = xpad.strides
    win = strided_view(xpad, (n, do, c, kd, h, w), (s[0], s[2] * sd, s[1], s[2] * dd, s[3], s[4]))
    out = xp_.empty(win.shape, dtype=x.dtype)
    gather(out, win)
    return out.reshape(n * do, c * kd, h, w)


def _unfold(dxf, x_shape, kd: int, sd: int, dd: int, pd: tuple, do: int):
    """The fold's adjoint: dxf (N*Do, C*kd, H, W) -> (N, C, D, H, W), kd strided adds."""
    xp_ = get_array_module(dxf)
    n, c, d, h, w = x_shape
    buf = xp_.zeros((n, c, d + pd[0] + pd[1], h, w), dtype=dxf.dtype)
    taps = dxf.reshape(n, do, c, kd, h, w)
    for i in range(kd):
        buf[:, :, i * dd : i * dd + sd * (do - 1) + 1 : sd] += taps[:, :, :, i].transpose(
            0, 2, 1, 3, 4
        )
    return buf[:, :, pd[0] : pd[0] + d]


def folded_forward(x, w, b, stride, pad, dil, groups, keep_cols=False):
    o, cg, kd, kh, kw = w.shape
    do = out_size(x.shape[2], kd, stride[0], pad[0], pad[1], dil[0])
    xf = _fold(x, kd, stride[0], dil[0], pad[:2], do)
    w2 = w.reshape(o, cg * kd, kh, kw)
    r = K2.conv_forward(xf, w2, b, stride[1:], pad[2:], dil[1:], groups, keep_cols=keep_cols)
    y2 = r[0] if keep_cols else r
    n = x.shape[0]
    y = y2.reshape(n, do, o, *y2.shape[2:]).transpose(0, 2, 1, 3, 4)
    return (y, (xf, r[1])) if keep_cols else y


def folded_input_grad(g, w, x_shape, stride, pad, dil, groups):
    o, cg, kd, kh, kw = w.shape
    n, _, do = g.shape[:3]
    g2 = g.transpose(0, 2, 1, 3, 4).reshape(n * do, o, *g.shape[3:])
    w2 = w.reshape(o, cg * kd, kh, kw)
    xs2 = (n * do, x_shape[1] * kd, *x_shape[3:])
    dxf = K2.conv_input_grad(g2, w2, xs2, stride[1:], pad[2:], dil[1:], groups)
    return _unfold(dxf, tuple(x_shape), kd, stride[0], dil[0], pad[:2], do)


def folded_weight_grad(x, g, w_shape, stride, pad, dil, groups, cols=None):
    o, cg, kd, kh, kw = w_shape
    n, _, do = g.shape[:3]
    if cols is not None:
        xf, cols = cols
    else:
        xf = _fold(x, kd, stride[0], dil[0], pad[:2], do)
    g2 = g.transpose(0, 2, 1, 3, 4).reshape(n * do, o, *g.shape[3:])
    dw = K2.conv_weight_grad(
        xf, g2, (o, cg * kd, kh, kw), stride[1:], pad[2:], dil[1:], groups, cols=cols
    )
    return dw.reshape(w_shape)


# ---------------------------------------------------------------------------- choice
FOLD: bool | None = None  # None: by :func:`_folds`; True / False force one path (A/B runs)
FOLD_MAX_CHANNELS = 8  # inputs with fewer channels than this fold (see _folds)


def _folds(a, w_shape, outs: tuple, stride, dil, groups: int) -> bool:
    """Whether the depth-folded 2-d kernels run this convolution rather than the 3-d
    im2col: where the 2-d kernels' compiled pool takes the folded images (N*Do of them) and
    either their Winograd path applies or the input has few channels (thin GEMMs, where the
    pool's per-image gather-and-multiply wins). ``a``: the input or the output gradient."""
    if FOLD is not None:
        return FOLD
    o, cg, kd, kh, kw = w_shape
    imgs, m = a.shape[0] * outs[0], outs[1] * outs[2]
    plan = K2._pool_plan(get_array_module(a), a.dtype, imgs, o * cg * kd * kh * kw * imgs * m)
    if plan is None or imgs < plan[1]:
        return False
    winograd = (
        a.dtype == np.float32
        and (kh, kw) == (3, 3)
        and tuple(stride[1:]) == (1, 1)
        and tuple(dil[1:]) == (1, 1)
        and groups == 1
        and min(outs[1:]) >= K2.WINOGRAD_MIN_SIZE
        and min(cg * kd, o) >= K2.WINOGRAD_MIN_CHANNELS
    )
    return winograd or cg * groups < FOLD_MAX_CHANNELS


def conv3d_forward(x, w, b, stride, pad, dil, groups, keep_cols=False):
    outs = _outs(x.shape[2:], w.shape[2:], stride, pad, dil)
    if _folds(x, w.shape, outs, stride, dil, groups):
        return folded_forward(x, w, b, stride, pad, dil, groups, keep_cols)
    with blas.one_blas_thread():  # measured: OpenBLAS threads beside the copies' threads thrash
        return _im2col_forward(x, w, b, stride, pad, dil, groups, keep_cols)


def conv3d_input_grad(g, w, x_shape, stride, pad, dil, groups):
    if _folds(g, w.shape, g.shape[2:], stride, dil, groups):
        return folded_input_grad(g, w, x_shape, stride, pad, dil, groups)
    with blas.one_blas_thread():
        return _im2col_input_grad(g, w, x_shape, stride, pad, dil, groups)


def conv3d_weight_grad(x, g, w_shape, stride, pad, dil, groups, cols=None):
    if isinstance(cols, tuple) or (
        cols is None and _folds(g, w_shape, g.shape[2:], stride, dil, groups)
    ):
        return folded_weight_grad(x, g, w_shape, stride, pad, dil, groups, cols)
    with blas.one_blas_thread():
        return _im2col_weight_grad(x, g, w_shape, stride, pad, dil, groups, cols)
