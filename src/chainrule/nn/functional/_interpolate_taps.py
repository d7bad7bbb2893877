"""Where ``F.interpolate`` reads its input: for each spatial axis, each output's source
indices and weights (its taps), computed exactly as PyTorch's CPU kernels compute them.

Coordinates follow PyTorch exactly. With ``align_corners=False`` output index i maps to source
``s * (i + 0.5) - 0.5`` (half-pixel centres; clamped at 0 except for bicubic), with
``s = 1 / scale_factor`` when a scale factor is given (and not recomputed), else
``n_in / n_out``. With ``align_corners=True`` it maps to ``i * (n_in - 1) / (n_out - 1)``.
Bicubic uses Keys' kernel with A = -0.75 and clamps taps at the border; the antialiased
path uses PIL's filters (triangle, or cubic with A = -0.5) stretched by the downscale
factor. Coordinates are computed in the input's precision (float32 for float32 input), as
PyTorch's CPU kernels do. The uint8 resampler holds the taps in fixed point
(``_int_weights``).

Split from ``interpolate.py`` (session 38), which applies these taps (through
``ops/interp_taps.py``, ``ops/upsample_nearest.py`` or its uint8 pass); plain NumPy index
and weight arrays, no tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.tensor import Tensor

__all__: list[str] = []  # helpers of interpolate.py; the functional API is there

_CUBIC_A = -0.75


def _opdtype(x: Tensor) -> type:
    return np.float64 if x.dtype == np.float64 else np.float32


def _coord_scale(n_in: int, n_out: int, align_corners: bool, scale: float | None, op: type) -> Any:
    """PyTorch's area_pixel_compute_scale: source step per output step."""
    if align_corners:
        return op(n_in - 1) / op(n_out - 1) if n_out > 1 else op(0)
    if scale is not None and scale > 0:
        return op(1.0 / scale)
    return op(n_in) / op(n_out)


def _source_coords(
    n_in: int, n_out: int, align_corners: bool, scale: float | None, op: type, cubic: bool
) -> np.ndarray:
    s = _coord_scale(n_in, n_out, align_corners, scale, op)
    dst = np.arange(n_out, dtype=op)
    if align_corners:
        return s * dst
    src = s * (dst + op(0.5)) - op(0.5)
    return src if cubic else np.maximum(src, op(0))


def _floor_and_frac(src: np.ndarray, n_in: int, op: type) -> tuple[np.ndarray, np.ndarray]:
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    t = np.clip(src - i0.astype(op), op(0), op(1))
    return i0, t


def _linear_taps(
    n_in: int, n_out: int, align_corners: bool, scale: float | None, op: type
) -> tuple[np.ndarray, np.ndarray]:
    """Each output's two source indices and weights (n_out, 2), as PyTorch's linear kernels.

    An axis kept at its size reads one source twice (weights 1 and 0), as PyTorch does: there
    an inf input gives NaN (inf * 1 + inf * 0) and its neighbours stay finite."""
    if n_in == n_out:
        idx = np.repeat(np.arange(n_in)[:, None], 2, axis=1)
        return idx, np.stack([np.ones(n_in, op), np.zeros(n_in, op)], axis=1)
    src = _source_coords(n_in, n_out, align_corners, scale, op, cubic=False)
    i0, t = _floor_and_frac(src, n_in, op)
    i1 = i0 + (i0 < n_in - 1)
    return np.stack([i0, i1], axis=1), np.stack([op(1) - t, t], axis=1)


def _cubic_coeffs(t: np.ndarray, op: type) -> list[np.ndarray]:
    a = op(_CUBIC_A)

    def near(x):  # |x| <= 1
        return ((a + op(2)) * x - (a + op(3))) * x * x + op(1)

    def far(x):  # 1 < |x| < 2
        return ((a * x - op(5) * a) * x + op(8) * a) * x - op(4) * a

    return [far(t + op(1)), near(t), near(op(1) - t), far(op(2) - t)]


def _cubic_taps(
    n_in: int, n_out: int, align_corners: bool, scale: float | None, op: type
) -> tuple[np.ndarray, np.ndarray]:
    """Each output's four source indices (clamped at the border) and Keys weights (n_out, 4)."""
    src = _source_coords(n_in, n_out, align_corners, scale, op, cubic=True)
    i0, t = _floor_and_frac(src, n_in, op)
    idx = np.stack([np.clip(i0 + j - 1, 0, n_in - 1) for j in range(4)], axis=1)
    return idx, np.stack(_cubic_coeffs(t, op), axis=1)


def _aa_filter(x: np.ndarray, cubic: bool) -> np.ndarray:
    """PIL's filters, as PyTorch's antialias path: triangle, or Keys cubic with A = -0.5."""
    x = np.abs(x)
    if not cubic:
        return np.where(x < 1, 1 - x, 0.0)
    a = -0.5
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _windows(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-output input ranges ``[lo, hi)`` as (n_out, k) tap indices, the shorter windows
    padded with absent taps (index -1, see ops/interp_taps.py), and the mask of real taps."""
    idx = lo[:, None] + np.arange(max(int((hi - lo).max()), 1))
    present = idx < hi[:, None]
    return np.where(present, idx, -1), present


def _antialias_taps(
    n_in: int, n_out: int, align_corners: bool, scale: float | None, cubic: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Antialiased resize: when shrinking, the filter is stretched by the scale so every input
    pixel contributes (no aliasing); each window is normalised to sum to one. A window holds
    every input of its range, zero weights included, as PyTorch's (and PIL's) kernel reads
    them: an inf there gives NaN (0 * inf) in PyTorch too."""
    s = float(_coord_scale(n_in, n_out, align_corners, scale, np.float64))
    support = (4 if cubic else 2) * 0.5 * max(s, 1.0)
    inv = 1.0 / s if s >= 1.0 else 1.0
    center = s * (np.arange(n_out) + 0.5)
    lo = np.maximum(np.trunc(center - support + 0.5).astype(np.int64), 0)
    hi = np.minimum(np.trunc(center + support + 0.5).astype(np.int64), n_in)
    idx, present = _windows(lo, hi)
    taps = np.where(present, _aa_filter((idx - center[:, None] + 0.5) * inv, cubic), 0.0)
    total = taps.sum(axis=1, keepdims=True)
    return idx, taps / np.where(total != 0, total, 1.0)


def _is_identity(idx: np.ndarray, wts: np.ndarray, n_in: int) -> bool:
    """Whether the taps copy the axis unchanged (every output reads its own input with weight
    1 and the rest with weight 0): PyTorch skips such an axis, so no 0 * inf arises there."""
    if idx.shape[0] != n_in:
        return False
    own = idx == np.arange(n_in)[:, None]
    return bool(np.all(np.where(own, wts == 1, wts == 0)))


def _nearest_index(
    n_in: int, n_out: int, scale: float | None, op: type, exact: bool, two_d: bool = False
) -> np.ndarray:
    if two_d and not exact and n_out in (n_in, 2 * n_in):
        # PyTorch's 2-D 'nearest' kernel (forward and backward) copies when the output size
        # equals the input's and halves the index when it doubles, whatever scale_factor
        # says (scale_factor=1.2 on 4 rows keeps all 4; 2.08 on 3 gives rows 0,0,1,1,2,2)
        return np.arange(n_out, dtype=np.int64) // (n_out // n_in)
    s = _coord_scale(n_in, n_out, False, scale, op)
    dst = np.arange(n_out, dtype=op)
    src = s * (dst + op(0.5)) if exact else s * dst
    return np.minimum(np.floor(src).astype(np.int64), n_in - 1)


def _int_weights(idx: np.ndarray, wts: np.ndarray, n_in: int) -> tuple[np.ndarray, int]:
    """The (n_out, n_in) tap matrix in fixed point, as PyTorch's uint8 kernels hold it: taps
    that read the same (border-clamped) input merged into one weight, every weight rounded
    to ``round(w * 2**p)`` (int16), with the largest precision ``p <= 22`` that keeps the
    largest merged weight inside int16."""
    rows = np.repeat(np.arange(idx.shape[0])[:, None], idx.shape[1], axis=1)
    real = idx >= 0  # antialias windows pad with absent taps (index -1)
    dense = np.zeros((idx.shape[0], n_in))
    np.add.at(dense, (rows[real], idx[real]), np.asarray(wts, dtype=np.float64)[real])
    top = float(np.abs(dense).max()) if dense.size else 0.0
    p = 0
    while p < 22 and round(top * (1 << (p + 1))) < (1 << 15):
        p += 1
    return np.floor(dense * (1 << p) + 0.5).astype(np.int64), p
