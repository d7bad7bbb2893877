"""The elementwise middle of scaled dot-product attention, one row pass each way.

Forward, on the raw scores S = Q Kᵀ (unscaled) of shape (R, n) (R = batch·heads·L rows,
row r being query position l = r mod L), in place::

    P[r, j] = exp(c S[r, j] - m_r) / Σ_k exp(c S[r, k] - m_r)   for the keys j the row sees,
    P[r, j] = 0                                                  for the others,

with c the scale, m_r the row maximum of c S, ``lse[r] = m_r + log Σ`` (float64) and, when
``causal``, row l seeing keys 0..l (``tril(ones(L, n))``, PyTorch's ``is_causal``). This
replaces the scaling of Q (one pass), the addition of the causal -inf mask (one), the row
maximum, subtraction, exp, row sum and division (five) by one pass over the rows' visible
part, in cache; a causal row's exponentials stop at the diagonal (half the work).

Backward, given dP = g Vᵀ and P, in place on dP::

    dS[r, j] = c · P[r, j] (dP[r, j] - Σ_k dP[r, k] P[r, k])

(the softmax gradient and the scale c that the caller otherwise applied to dQ and dK in two
more passes); zero where P is zero by masking.

The compiled forward is float32 only (its exp is :func:`.transcendental.exp_poly`, accurate
to float32, evaluated in float64); float64 scores keep the NumPy fallback, which is the
reference (tests compare them). The backward compiles for both float dtypes (row dot
products accumulated in float64). A row whose visible scores are all -inf, or that holds
NaN, is reported (the forward returns the number of such rows) so that the caller can run
its general path, which defines those rows as PyTorch does.
"""

from __future__ import annotations

import numpy as np

from . import jit, softmax, transcendental

__all__ = ["softmax_backward", "softmax_forward"]


def _visible(rows: int, n: int, length: int, causal: bool) -> np.ndarray:
    """How many leading keys each row sees."""
    if not causal:
        return np.full(rows, n)
    return np.minimum(np.arange(rows) % length + 1, n)


def _forward_numpy(s, scale, length, causal, lse):
    rows, n = s.shape
    s *= s.dtype.type(scale)
    if causal:
        blocked = np.arange(n)[None, :] >= _visible(rows, n, length, True)[:, None]
        s[blocked] = -np.inf
    m = s.max(axis=-1, keepdims=True)
    bad = ~np.isfinite(m[:, 0]) | np.isnan(s).any(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):  # bad rows: reported, not used
        s -= m
        np.exp(s, out=s)
        den = s.sum(axis=-1, keepdims=True)
        s /= den
        lse[:] = (m + np.log(den))[:, 0]
    return int(bad.sum())


@jit.kernel(fallback=_forward_numpy)
def softmax_forward_f32(s, scale, length, causal, lse):  # pragma: no cover - compiled by Numba
    """The forward above on a float32 (R, n) array; returns the number of bad rows."""
    rows, n = s.shape
    bad = 0
    for r in range(rows):
        row = s[r]
        k = n
        if causal:
            k = min(r % length + 1, n)
        m = np.float64(row[0]) * scale
        for j in range(1, k):
            v = np.float64(row[j]) * scale
            m = v if v > m or v != v else m
        if m != m or m == -np.inf or m == np.inf:
            bad += 1
            continue
        # the exponentials run to a multiple of 16 keys (past the diagonal: zeroed below), so
        # that the whole loop is vector code, without a scalar remainder
        kpad = min((k + 15) // 16 * 16, n)
        for j in range(kpad):
            v = np.float64(row[j]) * scale - m  # <= 0 below k
            v = v if v > -110.0 else -110.0
            row[j] = transcendental.exp_poly(v if v < 0.0 else 0.0, True)
        for j in range(k, n):
            row[j] = 0.0
        total = softmax.row_sum(row[:k])
        inv = 1.0 / total
        for j in range(k):
            row[j] = row[j] * inv
        lse[r] = m + np.log(total)
    return bad


def softmax_forward(s: np.ndarray, scale: float, length: int, causal: bool, lse) -> int:
    """The forward in place on C-contiguous (R, n) scores (compiled for float32 when Numba
    is active, else NumPy); writes ``lse`` (R,) float64 and returns the number of rows with
    NaN or no finite visible score (their contents are then unspecified)."""
    if s.dtype == np.float32 and jit.eligible(s, min_size=1):
        return softmax_forward_f32(s, float(scale), int(length), bool(causal), lse)
    return _forward_numpy(s, scale, length, causal, lse)


def _backward_numpy(dp, p, scale, length, causal):
    dot = (dp * p).sum(axis=-1, keepdims=True)
    dp -= dot
    dp *= p
    dp *= dp.dtype.type(scale)


@jit.kernel(fallback=_backward_numpy)
def softmax_backward_kernel(dp, p, scale, length, causal):  # pragma: no cover - Numba
    """The backward above, in place on dP (R, n)."""
    rows, n = dp.shape
    for r in range(rows):
        gr = dp[r]
        pr = p[r]
        k = n
        if causal:
            k = min(r % length + 1, n)
        d = softmax.row_dot(gr[:k], pr[:k])
        for j in range(k):
            gr[j] = (np.float64(gr[j]) - d) * np.float64(pr[j]) * scale
        for j in range(k, n):
            gr[j] = 0.0


def softmax_backward(dp: np.ndarray, p: np.ndarray, scale: float, length: int, causal: bool):
    """dS = scale · P (dP - rowsum(dP P)) in place on C-contiguous (R, n) ``dp``."""
    if jit.eligible(dp, p, min_size=1):
        softmax_backward_kernel(dp, p, float(scale), int(length), bool(causal))
    else:
        _backward_numpy(dp, p, scale, length, causal)
