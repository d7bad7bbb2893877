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
import itertools
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
    "windows_nd",
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
    """Lend x (N, C, H, W) as (C, N, H+pt+pb, W+pl+pr), zero-padded, for one ``with`` block;
    likewise a 3-d x (N, C, D, H, W) with pad (front, back, top, bottom, left, right).

    Without padding this is a transposed view of x (free when x already lives in
    (C, N, H, W) memory). With padding it is a workspace buffer whose zero border is kept
    between loans (a ResNet-20 step did 67 ``np.zeros`` of up to 4.7 MB, ~13 ms), so no
    view of it may outlive the block.
    """
    xp_ = get_array_module(x)
    xt = x.transpose(1, 0, *range(2, x.ndim))
    if not any(pad):
        yield xt
        return
    lo, sizes = tuple(pad[0::2]), tuple(x.shape[2:])
    shape = (x.shape[1], x.shape[0]) + tuple(s + a + b for s, a, b in zip(sizes, lo, pad[1::2]))
    inner = (slice(None), slice(None)) + tuple(slice(a, a + s) for a, s in zip(lo, sizes))
    with workspace().bordered(("pad",) + lo + sizes, shape, x.dtype, xp_) as buf:
        if xp_ is np:
            parallel_copy(buf[inner], xt)
        else:
            buf[inner] = xt
        yield buf


def windows(xpad, kh: int, kw: int, stride, dil):
    """Read-only (C, kh, kw, N, Ho, Wo) view of every window of a padded (C, N, Hp, Wp)."""
    return windows_nd(xpad, (kh, kw), stride, dil)


def windows_nd(xpad, k: tuple, stride, dil):
    """Read-only (C, *k, N, *out) view of every window of a padded (C, N, *spatial): 2-d
    (C, kh, kw, N, Ho, Wo) or 3-d (C, kd, kh, kw, N, Do, Ho, Wo)."""
    c, n = xpad.shape[:2]
    outs = tuple(
        (p - d * (kk - 1) - 1) // s + 1 for p, kk, s, d in zip(xpad.shape[2:], k, stride, dil)
    )
    st = xpad.strides
    taps = tuple(b * d for b, d in zip(st[2:], dil))
    steps = tuple(b * s for b, s in zip(st[2:], stride))
    return strided_view(xpad, (c, *k, n, *outs), (st[0], *taps, st[1], *steps))


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
    """buf (C, N, *padded) += the windows of cols (C, *k, N, *out), 2-d or 3-d: im2col's
    adjoint, as one strided add per kernel tap (channels split over the intra-op threads)."""
    xp_ = get_array_module(cols)
    nd = (cols.ndim - 2) // 2
    k, outs = cols.shape[1 : 1 + nd], cols.shape[2 + nd :]

    def scatter(c0: int, c1: int) -> None:  # channels c0:c1 (disjoint between threads)
        for tap in itertools.product(*map(range, k)):
            at = tuple(
                slice(i * d, i * d + s * (o - 1) + 1, s)
                for i, d, s, o in zip(tap, dil, stride, outs)
            )
            buf[(slice(c0, c1), slice(None)) + at] += cols[(slice(c0, c1),) + tap]

    if xp_ is np:
        parallel_slices(scatter, cols.shape[0], cols.nbytes)
    else:
        scatter(0, cols.shape[0])


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
