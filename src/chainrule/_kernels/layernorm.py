"""Standardisation over the last axis of a C-contiguous (R, n) array, in row passes (the
kernels behind layer norm, and group and instance norm, whose axes are trailing too).

Forward, per row r::

    μ_r = mean(x_r),  σ̂_r = 1 / √(mean((x_r - μ_r)²) + ε),  x̂_r = (x_r - μ_r) σ̂_r

writing x̂ (or y = x̂ w + b) and the per-row ``mean`` and ``rstd`` (float64). Backward, given
the upstream gradient g and the forward's x, μ and σ̂ (x̂ is recomputed, as PyTorch saves
only x, μ and σ̂), with gw = g w::

    dx_r = σ̂_r (gw_r - mean(gw_r) - x̂_r mean(gw_r x̂_r)),  dw = Σ_r g_r x̂_r,  db = Σ_r g_r

NumPy does each direction in five or six passes with temporaries; the kernels read a block
of rows once for its statistics, then once more, while it is in cache, for the outputs.

Where the time went, and the accuracy argument (nanoGPT's (768, 128) float32 rows, 2-core
Xeon, medians): the former kernels (forward 70 µs, backward 87 µs) did every element's
arithmetic in float64, where each float32 -> float64 conversion costs two micro-operations
on the ports that also do the arithmetic and a vector holds half as many values; each row
also waited for its own sum, division and square root before writing its outputs, and
took row views that Numba reference-counts. Now (forward 34-36 µs, backward 47-50 µs):

- Statistics in float64, as before. One pass sums d = x - s and d² around the row's first
  value s (for float32 x, d is exact in float64 or within its rounding); μ = s + Σd/n,
  σ² = Σd²/n - (Σd/n)². The cancellation in that difference multiplies float64 rounding
  by at most 1 + 2·64 when (μ - s)² ≤ 64 σ², leaving σ² within ~1e-12 relative, far below
  float32 rounding. Other rows (and NaN, inf) take the exact second pass Σ(x - μ)², and so
  do all float64 inputs (two passes, as before). A block of :data:`_BLOCK` rows gets its
  statistics before any of its outputs is written, so that the rows' chains of dependent
  operations overlap (row by row: 62 µs).
- Elementwise work in the input's dtype: x̂ = ((x - μ_hi) - μ_lo) σ̂, where μ_hi is μ rounded
  to the dtype and μ_lo the rest (zero for float64, whose x̂ is computed as before). For
  float32 each x̂ is within about 4 float32 roundings (2 ulp) of the exact value, with no
  loss when |μ| ≫ σ (the split keeps μ to ~48 bits); the former float64 path rounded once.
  PyTorch computes in float32 too, and its results on (768, 128) rows measured further
  from a float64 reference than these (y, dx: 8e-7 against 6e-7; dw: 3e-5 against 9e-6).
  Rows whose deviations x - μ might overflow float32 (n σ² near its largest value squared)
  are done in float64 in both directions, as before (PyTorch gives NaN there).
- Backward row sums Σ gw and Σ gw d (d = (x - μ_hi) - μ_lo) in the input's dtype over
  chunks of :data:`_CHUNK` values (vectorised: 32 partial sums of ≤ 4 terms each, added in a
  tree), chunks added in float64: each sum is within ~13 float32 roundings of Σ|terms|,
  whatever n. dw and db are summed in the dtype over a block of rows, blocks added in
  float64 (≤ :data:`_BLOCK` + 4 roundings of the block's Σ|terms|).

``normalize_rows_backward`` (group and instance norm) keeps the former float64 row loop.
The NumPy fallbacks (same signatures) are the reference; the compiled path agrees to the
rounding above (tests: ``tests/kernels/test_layernorm_speed_paths.py``).
"""

from __future__ import annotations

import math

import numpy as np

from . import jit, softmax

__all__ = [
    "layer_norm_rows",
    "layer_norm_rows_backward",
    "normalize_rows",
    "normalize_rows_backward",
]

# Rows whose statistics are computed before any of their outputs is written (and whose
# dw, db partial sums are kept in the input's dtype). Measured on (768, 128) float32,
# forward / backward µs: blocks of 8 rows 34 / 52, 16 rows 35 / 50, 32 rows 37 / 51, 64
# rows 39 / 54.
_BLOCK = 16
# Values per vectorised float32 partial sum of the backward's row sums (see the docstring).
_CHUNK = 128
# (μ - s)² ≤ _FAR σ²: the one-pass variance around the shift s is kept (float32 inputs).
_FAR = 64.0
# Rows with n (σ² + ε) ≥ _WIDE, whose deviations |x - μ| ≤ √n σ might pass a quarter of
# float32's largest value, are done in float64 (the former arithmetic; a rare, slower path).
_WIDE = float(np.finfo(np.float32).max / 4) ** 2


def _forward_numpy(x, eps, out, mean, rstd):
    n = x.shape[1]
    mu = x.sum(axis=1, dtype=np.float64) / n
    xc = x - mu[:, None]
    var = np.einsum("ij,ij->i", xc, xc, dtype=np.float64) / n
    inv = 1.0 / np.sqrt(var + eps)
    np.multiply(xc, inv[:, None], out=out, casting="unsafe")
    mean[:] = mu
    rstd[:] = inv


@jit.reduction
def _shifted_sums(x, r, s):  # pragma: no cover - compiled by Numba, called from the kernels
    """Σ d and Σ d² over row r of x, d = x[r, j] - s in float64 (additions reassociated)."""
    a = 0.0
    q = 0.0
    for j in range(x.shape[1]):
        d = np.float64(x[r, j]) - s
        a += d
        q += d * d
    return a, q


@jit.reduction
def _sq_dev_sum(a, mu):  # pragma: no cover - compiled by Numba, called from the kernels
    """Σ (a[j] - mu)² over a row in float64 (additions reassociated: vectorised)."""
    s = 0.0
    for j in range(a.size):
        d = np.float64(a[j]) - mu
        s += d * d
    return s


@jit.reduction
def _dot_standardised(g, a, mu, inv):  # pragma: no cover - compiled by Numba
    """Σ g[j] (a[j] - mu) inv over a row in float64 (additions reassociated: vectorised)."""
    s = 0.0
    for j in range(a.size):
        s += np.float64(g[j]) * ((np.float64(a[j]) - mu) * inv)
    return s


@jit.inline
def _block_stats(x, r0, r1, eps, mean, rstd):  # pragma: no cover - compiled by Numba
    """μ and σ̂ of rows r0..r1-1 into ``mean`` and ``rstd`` (see the module docstring)."""
    n = x.shape[1]
    far = _FAR if x.itemsize == 4 else 0.0
    for r in range(r0, r1):
        s = np.float64(x[r, 0])
        a, q = _shifted_sums(x, r, s)
        m = a / n
        v = q / n - m * m
        mean[r] = s + m
        rstd[r] = v if m * m <= far * v else -1.0  # -1: needs the exact second pass
    for r in range(r0, r1):
        v = rstd[r]
        if not v >= 0.0:
            v = _sq_dev_sum(x[r], mean[r]) / n
        rstd[r] = 1.0 / math.sqrt(v + eps)


@jit.inline
def _wide_row(x, w, b, r, mu, inv, out):  # pragma: no cover - compiled by Numba
    """Row r of y = x̂ w + b with x̂ in float64 (the former arithmetic), for rows whose
    deviations x - μ might overflow float32 (and rows of NaN statistics)."""
    for j in range(x.shape[1]):
        out[r, j] = (np.float64(x[r, j]) - mu) * inv
    if w.size > 0:
        for j in range(x.shape[1]):
            out[r, j] = out[r, j] * w[j]
    if b.size > 0:
        for j in range(x.shape[1]):
            out[r, j] = out[r, j] + b[j]


@jit.inline
def _standardise(x, w, b, eps, out, mean, rstd):  # pragma: no cover - compiled by Numba
    """y = x̂ w + b per row (``w``/``b`` of size n, or size 0 when absent) in x's dtype."""
    rows, n = x.shape
    t = x.dtype.type
    has_w = w.size > 0
    has_b = b.size > 0
    for r0 in range(0, rows if n > 0 else 0, _BLOCK):  # (rows of no values: nothing to do)
        r1 = min(r0 + _BLOCK, rows)
        _block_stats(x, r0, r1, eps, mean, rstd)
        for r in range(r0, r1):
            if not n < _WIDE * (rstd[r] * rstd[r]):  # deviations near float32's limit
                _wide_row(x, w, b, r, mean[r], rstd[r], out)
                continue
            hi = t(mean[r])
            lo = t(mean[r] - hi)
            inv = t(rstd[r])
            if has_w and has_b:
                for j in range(n):
                    out[r, j] = (((x[r, j] - hi) - lo) * inv) * w[j] + b[j]
            elif has_w:
                for j in range(n):
                    out[r, j] = (((x[r, j] - hi) - lo) * inv) * w[j]
            elif has_b:
                for j in range(n):
                    out[r, j] = (((x[r, j] - hi) - lo) * inv) + b[j]
            else:
                for j in range(n):
                    out[r, j] = ((x[r, j] - hi) - lo) * inv


@jit.kernel(fallback=_forward_numpy)
def normalize_rows(x, eps, out, mean, rstd):  # pragma: no cover - compiled by Numba
    """x̂ of each row of x into ``out``; μ and σ̂ into ``mean`` and ``rstd`` (float64)."""
    none = np.empty(0, x.dtype)
    _standardise(x, none, none, eps, out, mean, rstd)


def _backward_numpy(g, x, mean, rstd, out):
    n = x.shape[1]
    xhat = (x - mean[:, None]) * rstd[:, None]
    a = g.sum(axis=1, dtype=np.float64) / n
    b = np.einsum("ij,ij->i", g, xhat, dtype=np.float64) / n
    d = g - a[:, None]
    d -= xhat * b[:, None]
    d *= rstd[:, None]
    out[...] = d


@jit.kernel(fallback=_backward_numpy)
def normalize_rows_backward(g, x, mean, rstd, out):  # pragma: no cover - compiled by Numba
    """dx of each row (see the module docstring) into ``out``."""
    rows, n = x.shape
    for r in range(rows):
        gr = g[r]
        xr = x[r]
        mu = mean[r]
        inv = rstd[r]
        sg = softmax.row_sum(gr)
        sgx = _dot_standardised(gr, xr, mu, inv)
        a = sg / n
        b = sgx / n
        orow = out[r]
        for j in range(n):
            xh = (np.float64(xr[j]) - mu) * inv
            orow[j] = (np.float64(gr[j]) - a - xh * b) * inv


# ------------------------------------------------------------------ with the affine map
def _affine_forward_numpy(x, w, b, eps, out, mean, rstd):
    _forward_numpy(x, eps, out, mean, rstd)
    if w.size:
        out *= w
    if b.size:
        out += b


@jit.kernel(fallback=_affine_forward_numpy)
def layer_norm_rows(x, w, b, eps, out, mean, rstd):  # pragma: no cover - compiled by Numba
    """y = x̂ w + b per row (``w``/``b`` of size n, or size 0 when absent); μ and σ̂ into
    ``mean`` and ``rstd``. x̂ w and + b round as the fallback's in-place NumPy ops."""
    _standardise(x, w, b, eps, out, mean, rstd)


def _affine_backward_numpy(g, x, w, mean, rstd, dx, dw, db):
    n = x.shape[1]
    xhat = (x - mean[:, None]) * rstd[:, None]
    if dw.size:
        dw[:] = np.einsum("ij,ij->j", g, xhat, dtype=np.float64)
    if db.size:
        db[:] = g.sum(axis=0, dtype=np.float64)
    gw = g * w if w.size else g
    a = gw.sum(axis=1, dtype=np.float64) / n
    c = np.einsum("ij,ij->i", gw, xhat, dtype=np.float64) / n
    d = gw - a[:, None]
    d -= xhat * c[:, None]
    d *= rstd[:, None]
    dx[...] = d


@jit.reduction
def _gw_sums(g, x, w, r, hi, lo):  # pragma: no cover - compiled by Numba
    """Σ g w and Σ g w ((x - hi) - lo) over row r (float64 results): additions in x's dtype
    (reassociated: vectorised) over chunks of :data:`_CHUNK` columns, chunks in float64."""
    t = x.dtype.type
    n = x.shape[1]
    if n <= _CHUNK:  # one chunk; a loop from 0 vectorises best
        s = t(0.0)
        p = t(0.0)
        for j in range(n):
            gw = g[r, j] * w[j]
            s += gw
            p += gw * ((x[r, j] - hi) - lo)
        return np.float64(s), np.float64(p)
    sg = 0.0
    sp = 0.0
    for j0 in range(0, n, _CHUNK):
        s = t(0.0)
        p = t(0.0)
        # unsigned indices: with signed ones Numba's negative-index wrap was not proven
        # away and the loop ran scalar (nanoGPT's backward: 48 -> 120 µs)
        for j in range(np.uint64(j0), np.uint64(min(j0 + _CHUNK, n))):
            gw = g[r, j] * w[j]
            s += gw
            p += gw * ((x[r, j] - hi) - lo)
        sg += np.float64(s)
        sp += np.float64(p)
    return sg, sp


@jit.reduction
def _gw_sums_wide(g, x, w, r, mu):  # pragma: no cover - compiled by Numba
    """Σ g w and Σ g w (x - μ) over row r in float64 (rows of :func:`_wide_row`)."""
    s = 0.0
    p = 0.0
    for j in range(x.shape[1]):
        gw = np.float64(g[r, j]) * w[j]
        s += gw
        p += gw * (np.float64(x[r, j]) - mu)
    return s, p


@jit.inline
def _wide_row_backward(g, x, w, r, mu, inv, a, c, dx, part_w, part_b):  # pragma: no cover
    """Row r of dx, and its terms of dw and db, in float64 (rows of :func:`_wide_row`)."""
    for j in range(x.shape[1]):
        xh = (np.float64(x[r, j]) - mu) * inv
        gj = np.float64(g[r, j])
        dx[r, j] = (gj * w[j] - a - xh * c) * inv
        if part_w.size > 0:
            part_w[j] += gj * xh
    for j in range(part_b.size):
        part_b[j] += g[r, j]


@jit.kernel(fallback=_affine_backward_numpy)
def layer_norm_rows_backward(g, x, w, mean, rstd, dx, dw, db):  # pragma: no cover - Numba
    """dx (into ``dx``), and Σ_rows g x̂ and Σ_rows g (float64, into ``dw`` and ``db`` when
    they have size n; size 0 skips them) of y = x̂ w + b per row (``w`` of size 0: none)."""
    rows, n = x.shape
    t = x.dtype.type
    want_w = dw.size > 0
    want_b = db.size > 0
    wt = np.ones(n, x.dtype) if w.size == 0 else w
    part_w = np.zeros(n if want_w else 0, x.dtype)  # this block's Σ g x̂ and Σ g
    part_b = np.zeros(n if want_b else 0, x.dtype)
    a_c = np.empty((_BLOCK, 2))  # the rows' mean(g w) and mean(g w x̂)
    for j in range(dw.size):
        dw[j] = 0.0
    for j in range(db.size):
        db[j] = 0.0
    for r0 in range(0, rows, _BLOCK):
        r1 = min(r0 + _BLOCK, rows)
        for r in range(r0, r1):
            if n < _WIDE * (rstd[r] * rstd[r]):
                hi = t(mean[r])
                sg, sgd = _gw_sums(g, x, wt, r, hi, t(mean[r] - hi))
            else:  # deviations near float32's limit (see _wide_row)
                sg, sgd = _gw_sums_wide(g, x, wt, r, mean[r])
            a_c[r - r0, 0] = sg / n
            a_c[r - r0, 1] = sgd * rstd[r] / n
        for r in range(r0, r1):
            if not n < _WIDE * (rstd[r] * rstd[r]):
                a, c = a_c[r - r0, 0], a_c[r - r0, 1]
                _wide_row_backward(g, x, wt, r, mean[r], rstd[r], a, c, dx, part_w, part_b)
                continue
            hi = t(mean[r])
            lo = t(mean[r] - hi)
            inv = t(rstd[r])
            a = t(a_c[r - r0, 0])
            c = t(a_c[r - r0, 1])
            if want_w:
                for j in range(n):
                    xh = ((x[r, j] - hi) - lo) * inv
                    gj = g[r, j]
                    dx[r, j] = (gj * wt[j] - a - xh * c) * inv
                    part_w[j] += gj * xh
            else:
                for j in range(n):
                    xh = ((x[r, j] - hi) - lo) * inv
                    dx[r, j] = (g[r, j] * wt[j] - a - xh * c) * inv
            if want_b:
                for j in range(n):
                    part_b[j] += g[r, j]
        for j in range(part_w.size):
            dw[j] += np.float64(part_w[j])
            part_w[j] = 0.0
        for j in range(part_b.size):
            db[j] += np.float64(part_b[j])
            part_b[j] = 0.0
