"""Array primitives behind convolution: zero padding, window views, im2col and col2im.

Layout (chosen by measurement: no transpose copy between layers): the public layout is
NCHW, but every conv result is computed as ``W @ cols`` with ``cols`` of shape
``(C*kh*kw, N*Ho*Wo)``, so its output lives in memory as (O, N, Ho, Wo) and is handed out
as a transposed *view* ``(N, O, Ho, Wo)``. Elementwise NumPy ufuncs keep that memory
order (order='K'), so a whole CNN keeps (C, N, H, W) memory internally and the next
im2col gathers from it without a transpose copy.

All functions take and return raw arrays. ``pad`` is always ``(top, bottom, left, right)``
so 'same' padding with an even kernel can be asymmetric, like PyTorch. The three conv
products built from these live in :mod:`._conv_kernels`.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..backend import get_array_module, strided_view
from ..threads import parallel_copy, parallel_slices
from ._workspace import workspace

__all__ = [
    "MALLOC_TUNED",
    "out_size",
    "padded_cnhw",
    "windows",
    "gather",
    "im2col",
    "scatter_add",
    "col2im",
]


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


def out_size(size: int, k: int, s: int, p0: int, p1: int, d: int) -> int:
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


@contextmanager
def padded_cnhw(x, pad) -> Iterator[Any]:
    """Lend x (N, C, H, W) as (C, N, H+pt+pb, W+pl+pr), zero-padded, for one ``with`` block.

    Without padding this is a transposed view of x (free when x already lives in
    (C, N, H, W) memory). With padding it is a workspace buffer whose zero border is kept
    between loans (a ResNet-20 step did 67 ``np.zeros`` of up to 4.7 MB, ~13 ms), so no
    view of it may outlive the block.
    """
    xp_ = get_array_module(x)
    xt = x.transpose(1, 0, 2, 3)
    pt, pb, pl, pr = pad
    if not (pt or pb or pl or pr):
        yield xt
        return
    n, c, h, w = x.shape
    shape = (c, n, h + pt + pb, w + pl + pr)
    with workspace().bordered(("pad", pt, pl, h, w), shape, x.dtype, xp_) as buf:
        if xp_ is np:
            parallel_copy(buf[:, :, pt : pt + h, pl : pl + w], xt)
        else:
            buf[:, :, pt : pt + h, pl : pl + w] = xt
        yield buf


def windows(xpad, kh: int, kw: int, stride, dil):
    """Read-only (C, kh, kw, N, Ho, Wo) view of every window of a padded (C, N, Hp, Wp)."""
    c, n, hp, wp = xpad.shape
    (sh, sw), (dh, dw) = stride, dil
    ho = (hp - dh * (kh - 1) - 1) // sh + 1
    wo = (wp - dw * (kw - 1) - 1) // sw + 1
    s0, s1, s2, s3 = xpad.strides
    return strided_view(xpad, (c, kh, kw, n, ho, wo), (s0, s2 * dh, s3 * dw, s1, s2 * sh, s3 * sw))


def gather(out, win) -> None:
    """out[...] = win: the im2col copy, split over the intra-op threads when large."""
    if get_array_module(out) is np:
        parallel_copy(out, win)
    else:
        out[...] = win


def im2col(x, kh, kw, stride, pad, dil):
    """(N, C, H, W) -> a new contiguous cols array (C, kh, kw, N, Ho, Wo) (one copy)."""
    xp_ = get_array_module(x)
    with padded_cnhw(x, pad) as xpad:
        win = windows(xpad, kh, kw, stride, dil)
        cols = xp_.empty(win.shape, x.dtype)
        gather(cols, win)
    return cols


def scatter_add(buf, cols, stride, dil) -> None:
    """buf (C, N, Hp, Wp) += the windows of cols (C, kh, kw, N, Ho, Wo): im2col's adjoint,
    as kh*kw strided adds (channels split over the intra-op threads)."""
    xp_ = get_array_module(cols)
    c, kh, kw, _, ho, wo = cols.shape
    (sh, sw), (dh, dw) = stride, dil

    def scatter(c0: int, c1: int) -> None:  # channels c0:c1 (disjoint between threads)
        for i in range(kh):
            for j in range(kw):
                h0, w0 = i * dh, j * dw
                buf[
                    c0:c1, :, h0 : h0 + sh * (ho - 1) + 1 : sh, w0 : w0 + sw * (wo - 1) + 1 : sw
                ] += cols[c0:c1, i, j]

    if xp_ is np:
        parallel_slices(scatter, c, cols.nbytes)
    else:
        scatter(0, c)


def col2im(cols, x_shape, stride, pad, dil):
    """cols (C, kh, kw, N, Ho, Wo) -> (N, C, H, W) by kh*kw strided adds (im2col's adjoint)."""
    xp_ = get_array_module(cols)
    c, kh, kw, n, ho, wo = cols.shape
    _, _, h, w = x_shape
    pt, pb, pl, pr = pad
    if (
        kh == 1
        and kw == 1
        and stride == (1, 1)
        and not (pt or pb or pl or pr)
        and ho == h
        and wo == w
    ):
        return cols.reshape(c, n, h, w).transpose(1, 0, 2, 3)
    buf = xp_.zeros((c, n, h + pt + pb, w + pl + pr), dtype=cols.dtype)
    scatter_add(buf, cols, stride, dil)
    return buf[:, :, pt : pt + h, pl : pl + w].transpose(1, 0, 2, 3)
