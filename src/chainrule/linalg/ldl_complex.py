"""The Hermitian Bunch-Kaufman factorization behind ``ldl_factor(..., hermitian=True)`` on
complex matrices, and its solve: LAPACK's ``hetf2`` / ``hetrs`` (lower triangle) in NumPy.

    P A P^T = L D L^H     L unit lower triangular, D Hermitian block diagonal

The pivot choice is the symmetric one of ``ldl.py`` (threshold alpha = (1 + sqrt 17) / 8) with
LAPACK's complex size ``cabs1(z) = |Re z| + |Im z|`` for the off-diagonal entries and
``|Re a_kk|`` for the diagonal ones: A's diagonal is taken as real (its imaginary parts are
ignored), and every diagonal entry of the packed result (D's 1x1 blocks and the diagonal of
its 2x2 blocks) is stored with a zero imaginary part. What differs from the complex
symmetric case is where conjugates appear:

- swapping rows and columns kk and kp of the lower triangle moves the entries between them
  across the diagonal, so those are conjugated (``A[j, kk] <-> conj(A[kp, j])``), as is the
  entry ``A[kp, kk]`` itself;
- a 1x1 pivot d (real) updates the trailing block by ``-x x^H / d``;
- a 2x2 pivot E = [[a, conj(b)], [b, c]] (a, c real) gives the multipliers ``L = C E^-1`` of
  its columns C and updates the trailing block by ``-C E^-1 C^H``, i.e. entry (i, j) loses
  ``C[i] . conj(L[j])``; with d = |b| the inverse is written as LAPACK does,
  ``E^-1 = (t / d) [[c/d, -conj(b)/d], [-b/d, a/d]]`` with ``t = 1 / ((a/d)(c/d) - 1)``.

``hetrs`` undoes it: ``P^T L`` forward, D block by block (the real part of a 1x1 block, a 2x2
block by Cramer's rule scaled by ``b``), then ``L^H P`` backward. Against PyTorch (MKL's
``hetrf``, checked for n up to 12 and at n = 80) ``pivots`` and ``info`` agree exactly and
``LD`` to rounding (MKL's complex arithmetic rounds differently in the last bit).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ALPHA", "cabs1", "hetf2", "hetrs"]

ALPHA = (1.0 + np.sqrt(17.0)) / 8.0


def cabs1(z: np.ndarray) -> np.ndarray:
    """LAPACK's cheap complex size ``|Re z| + |Im z|`` (exactly ``|z|`` for real ``z``),
    which every complex pivot search compares."""
    return np.abs(np.real(z)) + np.abs(np.imag(z))


def _choose_pivot(a: np.ndarray, k: int, imax: int, colmax: float) -> tuple[int, int]:
    """Bunch-Kaufman's choice at step k where |Re a_kk| < alpha * colmax: (kp, kstep)."""
    n = a.shape[0]
    absakk = abs(a[k, k].real)
    rowmax = np.max(cabs1(a[imax, k:imax]))
    if imax < n - 1:
        rowmax = max(rowmax, np.max(cabs1(a[imax + 1 :, imax])))
    if absakk >= ALPHA * colmax * (colmax / rowmax):
        return k, 1
    if abs(a[imax, imax].real) >= ALPHA * rowmax:
        return imax, 1
    return imax, 2


def _swap(a: np.ndarray, k: int, kk: int, kp: int, kstep: int) -> None:
    """Swaps rows and columns kk < kp of the Hermitian trailing matrix held in ``a``'s lower
    triangle (and, for a 2x2 pivot, the two entries of column k that move with them)."""
    a[kp + 1 :, [kk, kp]] = a[kp + 1 :, [kp, kk]]
    between = a[kk + 1 : kp, kk].copy()
    a[kk + 1 : kp, kk] = np.conj(a[kp, kk + 1 : kp])
    a[kp, kk + 1 : kp] = np.conj(between)
    a[kp, kk] = np.conj(a[kp, kk])
    a[kk, kk], a[kp, kp] = a[kp, kp].real, a[kk, kk].real
    if kstep == 2:
        a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]


def _eliminate_1x1(a: np.ndarray, k: int) -> None:
    """Column k's multipliers x / d and the rank-1 update -x x^H / d of the trailing block
    (its diagonal kept real), d = a_kk real."""
    n = a.shape[0]
    if k == n - 1:
        return
    r = 1.0 / a[k, k].real
    x = a[k + 1 :, k].copy()
    a[k + 1 :, k + 1 :] += np.tril(np.outer(x, -r * np.conj(x)))
    rest = np.arange(k + 1, n)
    a[rest, rest] = a[rest, rest].real
    a[k + 1 :, k] = x * r


def _eliminate_2x2(a: np.ndarray, k: int) -> None:
    """Columns k, k+1's multipliers C E^-1 and the rank-2 update -C E^-1 C^H of the trailing
    block, one column j at a time (its diagonal kept real)."""
    n = a.shape[0]
    if k >= n - 2:
        return
    b = a[k + 1, k]
    d = abs(b)
    c_d = a[k + 1, k + 1].real / d
    a_d = a[k, k].real / d
    b_d = b / d
    scale = (1.0 / (c_d * a_d - 1.0)) / d
    for j in range(k + 2, n):
        w0 = scale * (c_d * a[j, k] - b_d * a[j, k + 1])
        w1 = scale * (a_d * a[j, k + 1] - np.conj(b_d) * a[j, k])
        a[j:, j] -= a[j:, k] * np.conj(w0) + a[j:, k + 1] * np.conj(w1)
        a[j, k], a[j, k + 1] = w0, w1
        a[j, j] = a[j, j].real


def hetf2(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """LAPACK ``zhetf2`` / ``chetf2`` (UPLO='L') on one complex matrix, only its lower
    triangle read: (packed LD, 1-based int32 pivots, info)."""
    a = np.tril(a).astype(a.dtype, copy=True)
    n = a.shape[0]
    ipiv = np.zeros(n, dtype=np.int32)
    info = 0
    k = 0
    while k < n:
        kstep = 1
        absakk = abs(a[k, k].real)
        if k < n - 1:
            sizes = cabs1(a[k + 1 :, k])
            imax = k + 1 + int(np.argmax(sizes))
            colmax = sizes[imax - k - 1]
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0.0 or np.isnan(absakk):
            info = info or k + 1  # D[k, k] is zero: record it, leave the column as it is
            kp = k
            a[k, k] = a[k, k].real
        else:
            kp = k if absakk >= ALPHA * colmax else None
            if kp is None:
                kp, kstep = _choose_pivot(a, k, imax, colmax)
            kk = k + kstep - 1
            if kp != kk:
                _swap(a, k, kk, kp, kstep)
            a[k, k] = a[k, k].real
            a[kk, kk] = a[kk, kk].real
            if kstep == 1:
                _eliminate_1x1(a, k)
            else:
                _eliminate_2x2(a, k)
        if kstep == 1:
            ipiv[k] = kp + 1
        else:
            ipiv[k] = ipiv[k + 1] = -(kp + 1)
        k += kstep
    return a, ipiv, info


def hetrs(ld: np.ndarray, ipiv: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LAPACK ``zhetrs`` (UPLO='L'): solve A X = B with A = P^T L D L^H P from
    :func:`hetf2`. A 1x1 block's imaginary part is ignored (D is Hermitian)."""
    b = b.copy()
    n = ld.shape[0]
    k = 0
    while k < n:  # L D Y = P B
        if ipiv[k] > 0:
            kp = ipiv[k] - 1
            b[[k, kp]] = b[[kp, k]]
            b[k + 1 :] -= np.outer(ld[k + 1 :, k], b[k])
            b[k] *= 1.0 / ld[k, k].real
            k += 1
        else:
            kp = -ipiv[k] - 1
            b[[k + 1, kp]] = b[[kp, k + 1]]
            b[k + 2 :] -= np.outer(ld[k + 2 :, k], b[k]) + np.outer(ld[k + 2 :, k + 1], b[k + 1])
            e = ld[k + 1, k]
            a_e, c_e = ld[k, k] / np.conj(e), ld[k + 1, k + 1] / e
            denom = a_e * c_e - 1.0
            y0, y1 = b[k] / np.conj(e), b[k + 1] / e
            b[k], b[k + 1] = (c_e * y0 - y1) / denom, (a_e * y1 - y0) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^H P X = Y
        b[k] -= np.conj(ld[k + 1 :, k]) @ b[k + 1 :]
        if ipiv[k] > 0:
            kp = ipiv[k] - 1
            k_next = k - 1
        else:
            b[k - 1] -= np.conj(ld[k + 1 :, k - 1]) @ b[k + 1 :]
            kp = -ipiv[k] - 1
            k_next = k - 2
        b[[k, kp]] = b[[kp, k]]
        k = k_next
    return b
