"""Fused GRU time-step kernels: the elementwise part of one step, forward and backward.

A GRU step is one small GEMM (``h W_hhᵀ + b_hh``, by BLAS outside these kernels) and about
a dozen elementwise NumPy calls on (B, 3H) and (B, H) arrays, plus copies of the step's
activations into the sequence buffers. At B = 64, H = 128 each call costs a few µs of
overhead and holds the GIL, so the two intra-op threads that run the time loop on batch
blocks (``ops/recurrent_seq._over_batch``) mostly waited for each other. Here the
arithmetic runs in compiled passes that release the GIL and write the activations straight
into their buffers, in the fallback's order and dtype (``one`` is 1 in the arrays' dtype),
so both paths give identical bits. Formulas (PyTorch's GRU), with hg = h W_hhᵀ + b_hh::

    r = σ(xg_r + hg_r),  z = σ(xg_z + hg_z),  n = tanh(xg_n + r hn)   (hn = hg_n)
    h' = (h - n) z + n

Forward: :func:`gru_pre` (rz = -(xg + hg) on the r, z blocks), NumPy's ``exp``,
:func:`gru_mid` (σ, r, z, hn and the tanh argument into the activation buffers), NumPy's
``tanh``, :func:`gru_post` (h'). The exponential and tanh stay NumPy's SIMD loops, as in
the LSTM kernels (:mod:`.recurrent`).

Backward, with ĝ = gh + gy the gradient reaching h'::

    dn̂ = ĝ (1 - n²)(1 - z),  dẑ = ĝ (h - n) z (1 - z),  dr̂ = dn̂ hn r (1 - r)
    e = [dr̂ dẑ r dn̂],  dh = e W_hh + ĝ z

:func:`gru_backward_kernel` writes d = [dr̂ dẑ dn̂] (the input-gate gradients), e and ĝ z in
one pass; the caller forms e W_hh with BLAS.
"""

from __future__ import annotations

import numpy as np

from . import jit
from .jit import eligible

__all__ = ["gru_compiled", "gru_step_backward", "gru_step_forward"]


# ----------------------------------------------------------------------------- forward
def _gru_pre_numpy(rz, xg, hg, one):
    hidden2 = rz.shape[1]
    np.add(xg[:, :hidden2], hg[:, :hidden2], out=rz)
    np.negative(rz, out=rz)


@jit.kernel(fallback=_gru_pre_numpy)
def gru_pre(rz, xg, hg, one):  # pragma: no cover - compiled by Numba
    """rz <- -(xg + hg) on the r and z blocks (the argument of e^-z in σ)."""
    rows, hidden2 = rz.shape
    for b in range(rows):
        for j in range(hidden2):
            rz[b, j] = -(xg[b, j] + hg[b, j])


def _gru_mid_numpy(rz, xg, hg, r, z, n, hn, one):
    hidden = r.shape[1]
    rz += 1
    np.reciprocal(rz, out=rz)
    r[...] = rz[:, :hidden]
    z[...] = rz[:, hidden:]
    hn[...] = hg[:, 2 * hidden :]
    np.multiply(r, hn, out=n)
    n += xg[:, 2 * hidden :]


@jit.kernel(fallback=_gru_mid_numpy)
def gru_mid(rz, xg, hg, r, z, n, hn, one):  # pragma: no cover - compiled by Numba
    """rz holds e^-(xg + hg): r, z = 1 / (1 + rz); hn = hg_n; n = r hn + xg_n (tanh's
    argument), each written into its buffer row."""
    rows, hidden = r.shape
    for b in range(rows):
        for j in range(hidden):
            rj = one / (one + rz[b, j])
            r[b, j] = rj
            z[b, j] = one / (one + rz[b, hidden + j])
            h = hg[b, 2 * hidden + j]
            hn[b, j] = h
            n[b, j] = rj * h + xg[b, 2 * hidden + j]


def _gru_post_numpy(h, z, n, h_new, one):
    np.subtract(h, n, out=h_new)
    h_new *= z
    h_new += n


@jit.kernel(fallback=_gru_post_numpy)
def gru_post(h, z, n, h_new, one):  # pragma: no cover - compiled by Numba
    """h' = (h - n) z + n."""
    rows, hidden = h.shape
    for b in range(rows):
        for j in range(hidden):
            h_new[b, j] = (h[b, j] - n[b, j]) * z[b, j] + n[b, j]


def gru_compiled(*arrays) -> bool:
    """Whether the compiled passes take these arrays (checked once per sequence: row slices
    of C-contiguous buffers stay C-contiguous)."""
    return eligible(*arrays, min_size=1)


def gru_step_forward(xg, hg, h, rz, r, z, n, hn, h_new, compiled: bool) -> None:
    """The step's elementwise forward: ``hg`` = h W_hhᵀ + b_hh on entry; r, z, n, hn and
    h_new are written (``rz`` is scratch of shape (B, 2H)). Compiled passes when
    ``compiled`` (:func:`gru_compiled`), else NumPy calls; both round identically. e^-z may
    overflow to inf, giving σ = 0, the exact limit."""
    one = h.dtype.type(1)
    (gru_pre if compiled else _gru_pre_numpy)(rz, xg, hg, one)
    with np.errstate(over="ignore"):
        np.exp(rz, out=rz)
    (gru_mid if compiled else _gru_mid_numpy)(rz, xg, hg, r, z, n, hn, one)
    np.tanh(n, out=n)
    (gru_post if compiled else _gru_post_numpy)(h, z, n, h_new, one)


# ---------------------------------------------------------------------------- backward
def _gru_backward_numpy(gh, gy, h, r, z, n, hn, d, e, gz, one):
    hidden = h.shape[1]
    gout = gh + gy
    dr, dz, dn = d[:, :hidden], d[:, hidden : 2 * hidden], d[:, 2 * hidden :]
    np.multiply(n, n, out=dn)  # dn̂ = ĝ (1 - n²)(1 - z)
    np.subtract(1.0, dn, out=dn)
    dn *= gout
    np.subtract(1.0, z, out=dz)
    dn *= dz
    np.subtract(h, n, out=dz)  # dẑ = ĝ (h - n) z (1 - z)
    dz *= gout
    dz *= z
    tmp = 1.0 - z
    dz *= tmp
    np.subtract(1.0, r, out=tmp)  # dr̂ = dn̂ (r (1 - r) hn)
    tmp *= r
    tmp *= hn
    np.multiply(dn, tmp, out=dr)
    e[:, : 2 * hidden] = d[:, : 2 * hidden]
    np.multiply(dn, r, out=e[:, 2 * hidden :])
    np.multiply(gout, z, out=gz)


@jit.kernel(fallback=_gru_backward_numpy)
def gru_backward_kernel(gh, gy, h, r, z, n, hn, d, e, gz, one):  # pragma: no cover - Numba
    """One GRU step's elementwise backward (see the module docstring)."""
    rows, hidden = h.shape
    for b in range(rows):
        for j in range(hidden):
            g = gh[b, j] + gy[b, j]
            nj = n[b, j]
            zj = z[b, j]
            rj = r[b, j]
            dn = (one - nj * nj) * g * (one - zj)
            dz = (h[b, j] - nj) * g * zj * (one - zj)
            dr = dn * ((one - rj) * rj * hn[b, j])
            d[b, j] = dr
            d[b, hidden + j] = dz
            d[b, 2 * hidden + j] = dn
            e[b, j] = dr
            e[b, hidden + j] = dz
            e[b, 2 * hidden + j] = dn * rj
            gz[b, j] = g * zj


def gru_step_backward(gh, gy, h, r, z, n, hn, d, e, gz, compiled: bool) -> None:
    """The step's elementwise backward: d = [dr̂ dẑ dn̂], e = [dr̂ dẑ r dn̂] and ĝ z written
    (the compiled pass when ``compiled`` (:func:`gru_compiled`), else NumPy)."""
    kernel = gru_backward_kernel if compiled else _gru_backward_numpy
    kernel(gh, gy, h, r, z, n, hn, d, e, gz, h.dtype.type(1))
