"""A whole GRU layer direction as one op: the time loop inside forward and inside backward.

The GRU counterpart of ``recurrent_seq.py``'s LSTM op, with the same structure (read that
module's docstring): e_t = [dr̂ dẑ r dn̂] of every step is kept, and dW_hh = Eᵀ [h_0; ...;
h_{T-1}], db_hh = Σ_rows E; the time loops run as batch-row blocks on the intra-op threads
(``recurrent_seq._over_batch``). Each step's elementwise work is three compiled passes around
NumPy's exp and tanh forward and one pass backward (``_kernels/recurrent_gru.py``), which
release the GIL so that the two blocks run at once; without Numba (or for arrays it does
not take) the NumPy formulas below run instead, with identical results. Measured with
``benchmarks/bench_seq.py --base-src`` (2026-12-01): the MNIST-1D GRU step 0.68-0.77x of
the NumPy-call loop's time.
"""

from __future__ import annotations

import numpy as np

from .._kernels import recurrent_gru as GK
from .._kernels import recurrent_half as RH
from .._kernels.half_gemm import is_host_half
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._recurrent_math import TensorMath, sigmoid_, wrap
from .recurrent import _gru_backward, _gru_forward, gru_jvp_arrays
from .recurrent_seq import _gemm_ready_transpose, _over_batch, _small_gemms
from .shape import cat

__all__ = ["GRUSeqFn", "gru_sequence"]


def _gru_forward_arrays(xg, h, w_hh, b_hh):
    """The GRU step (``recurrent._gru_forward``'s formulas) on raw arrays with about half the
    NumPy calls and temporaries: r and z share one sigmoid pass. Returns h' and (r, z, n, n̂)."""
    xp = get_array_module(h)
    hidden = h.shape[1]
    hg = h @ w_hh.T
    if b_hh is not None:
        hg += b_hh
    rz = xg[:, : 2 * hidden] + hg[:, : 2 * hidden]
    xp.negative(rz, out=rz)
    sigmoid_(rz)
    r, z, hn = rz[:, :hidden], rz[:, hidden:], hg[:, 2 * hidden :]
    n = r * hn
    n += xg[:, 2 * hidden :]
    xp.tanh(n, out=n)
    h_new = h - n
    h_new *= z
    h_new += n
    return h_new, (r, z, n, hn)


def _gru_backward_arrays(gout, h, w_hh, r, z, n, hn, d):
    """Gradients of one GRU step on raw arrays, written into ``d`` (B, 3H) = dxg = [dr̂ dẑ dn̂];
    returns dh = g z + [dr̂ dẑ r dn̂] W_hh (same formulas as ``recurrent._gru_backward``)."""
    xp = get_array_module(h)
    hidden = h.shape[1]
    dr, dz, dn = d[:, :hidden], d[:, hidden : 2 * hidden], d[:, 2 * hidden :]
    xp.multiply(n, n, out=dn)  # dn̂ = g (1 - z)(1 - n²)
    xp.subtract(1.0, dn, out=dn)
    dn *= gout
    xp.subtract(1.0, z, out=dz)
    dn *= dz
    xp.subtract(h, n, out=dz)  # dẑ = g (h - n) z (1 - z)
    dz *= gout
    dz *= z
    tmp = 1.0 - z
    dz *= tmp
    xp.subtract(1.0, r, out=tmp)  # dr̂ = dn̂ n̂ r (1 - r)
    tmp *= r
    tmp *= hn
    xp.multiply(dn, tmp, out=dr)
    e = d.copy()
    e[:, 2 * hidden :] *= r
    dh = e @ w_hh
    dh += gout * z
    return dh


class GRUSeqFn(Function):
    """(xg (T·B, 3H), h0 (B, H), W_hh (3H, H), b_hh (3H,) or None) ->
    (outputs (T·B, H), h_T (B, H)); see the module docstring."""

    raw = True
    node_name = "GRUSequenceBackward0"

    @staticmethod
    def forward(ctx, xg, h0, w_hh, b_hh):
        xp = get_array_module(xg)
        b, hidden = h0.shape
        steps = xg.shape[0] // b
        if is_host_half(xg):  # float16: float32 arithmetic rounded as PyTorch's ops round
            out, acts = _gru_half_forward(xg, h0, w_hh, b_hh)
            ctx.steps = steps
            ctx.save_for_backward(xg, h0, w_hh, b_hh, out, *acts)
            h = out[(steps - 1) * b :] if steps else h0
            return out.astype(np.float16), h.astype(np.float16)
        out = xp.empty((steps * b, hidden), dtype=xg.dtype)
        acts = tuple(xp.empty((steps * b, hidden), dtype=xg.dtype) for _ in range(4))
        fused = xp is np and GK.gru_compiled(out, xg, h0, w_hh, *acts)
        w_t = _gemm_ready_transpose(w_hh) if fused else None

        def loop(lo: int, hi: int) -> None:  # batch rows lo:hi, all steps
            h = h0[lo:hi]
            if fused:  # compiled elementwise passes writing into the buffers (no GIL)
                rz = np.empty((hi - lo, 2 * hidden), dtype=xg.dtype)
                for t in range(steps):
                    rows = slice(t * b + lo, t * b + hi)
                    hg = h @ w_t
                    if b_hh is not None:
                        hg += b_hh
                    GK.gru_step_forward(
                        xg[rows], hg, h, rz, *(a[rows] for a in acts), out[rows], True
                    )
                    h = out[rows]
                return
            for t in range(steps):
                rows = slice(t * b + lo, t * b + hi)
                h, step_acts = _gru_forward_arrays(xg[rows], h, w_hh, b_hh)
                out[rows] = h
                for buf, a in zip(acts, step_acts):
                    buf[rows] = a

        with _small_gemms(b, hidden, 3, xp):
            _over_batch(loop, b, hidden, 3, 4 * out.nbytes, xp)
        h = out[(steps - 1) * b :].copy() if steps else h0
        ctx.steps = steps
        # Saved after the inputs: out, kept privately (unguarded: the returned copy may be
        # changed in place, as in torch), and the four activation buffers of every step.
        ctx.save_for_backward(xg, h0, w_hh, b_hh, out, *acts)
        return out.copy(), h

    @staticmethod
    def backward(ctx, g_out, g_h):
        xg, h0, w_hh, b_hh, out, *acts = ctx.saved_tensors
        needs = tuple(ctx.needs_input_grad)
        if ctx.create_graph:
            return _gru_backward_tensors(ctx, xg, h0, w_hh, b_hh, g_out, g_h, needs)
        h0, w, out = h0._data, w_hh._data, out._data
        all_acts = tuple(a._data for a in acts)
        gy, gh = g_out._data, g_h._data
        if is_host_half(gy):  # float32 gradients of the float16-valued states, rounded once
            h0, w, gy, gh = (a.astype(np.float32) for a in (h0, w, gy, gh))
            grads = _gru_seq_backward(ctx.steps, h0, w, out, all_acts, gy, gh, needs)
            return wrap(tuple(None if g is None else g.astype(np.float16) for g in grads))
        return wrap(_gru_seq_backward(ctx.steps, h0, w, out, all_acts, gy, gh, needs))

    @staticmethod
    def jvp(ctx, t_xg, t_h, t_w, t_b):
        _, h0, w_hh, _, out, *all_acts = ctx.saved_arrays
        half = is_host_half(h0)
        if half:  # float32 on the float16 values, rounded once
            h0, w_hh, t_xg, t_h, t_w, t_b = (
                None if a is None else a.astype(np.float32) for a in (h0, w_hh, t_xg, t_h, t_w, t_b)
            )
        b = h0.shape[0]
        t_out = get_array_module(h0).empty_like(out)
        th = t_h
        for t in range(ctx.steps):
            rows = slice(t * b, (t + 1) * b)
            h_prev = h0 if t == 0 else out[(t - 1) * b : t * b]
            th = gru_jvp_arrays(
                None if t_xg is None else t_xg[rows],
                th,
                t_w,
                t_b,
                h_prev,
                w_hh,
                *(a[rows] for a in all_acts),
            )
            t_out[rows] = th
        if half:
            return t_out.astype(np.float16), th.astype(np.float16)
        return t_out, th.copy()


def _gru_half_forward(xg, h0, w_hh, b_hh):
    """The float16 forward (PyTorch's roundings, :mod:`chainrule._kernels.recurrent_half`)
    in float32 buffers holding float16 values: the outputs and (r, z, n, n̂) of every step."""
    f32 = np.float32
    b, hidden = h0.shape
    steps = xg.shape[0] // b
    xg = xg.astype(f32)
    w_t = np.ascontiguousarray(w_hh.T, dtype=f32)
    bias = np.zeros(3 * hidden, f32) if b_hh is None else b_hh.astype(f32)
    out = np.empty((steps * b, hidden), dtype=f32)
    acts = tuple(np.empty((steps * b, hidden), dtype=f32) for _ in range(4))
    h0 = h0.astype(f32)

    def loop(lo: int, hi: int) -> None:  # batch rows lo:hi, all steps
        h = h0[lo:hi]
        hg = np.empty((hi - lo, 3 * hidden), dtype=f32)
        for t in range(steps):
            rows = slice(t * b + lo, t * b + hi)
            np.matmul(h, w_t, out=hg)
            RH.gru_half_step(hg, bias, xg[rows], h, *(a[rows] for a in acts), out[rows])
            h = out[rows]

    with _small_gemms(b, hidden, 3, np):
        _over_batch(loop, b, hidden, 3, 4 * out.nbytes)
    return out, acts


def _gru_seq_backward(steps, h0, w, out, all_acts, gy, gh_in, needs):
    """GRUSeqFn's backward on arrays: the gradients of (xg, h0, W_hh, b_hh)."""
    b, hidden = h0.shape
    xp = get_array_module(gy)
    d_all = xp.empty((out.shape[0], 3 * hidden), dtype=gy.dtype)
    gh = xp.empty_like(h0)
    fused = xp is np and GK.gru_compiled(d_all, gy, gh_in, h0, w, out, *all_acts)

    def loop(lo: int, hi: int) -> None:  # batch rows lo:hi, all steps back in time
        g = gh_in[lo:hi]
        if fused:  # one compiled pass per step (no GIL), then dh = e W_hh + ĝ z
            e = np.empty((hi - lo, 3 * hidden), dtype=gy.dtype)
            gz = np.empty((hi - lo, hidden), dtype=gy.dtype)
            for t in range(steps - 1, -1, -1):
                rows = slice(t * b + lo, t * b + hi)
                h_prev = h0[lo:hi] if t == 0 else out[(t - 1) * b + lo : (t - 1) * b + hi]
                acts = (a[rows] for a in all_acts)
                GK.gru_step_backward(g, gy[rows], h_prev, *acts, d_all[rows], e, gz, True)
                g = e @ w
                g += gz
            gh[lo:hi] = g
            return
        for t in range(steps - 1, -1, -1):
            rows = slice(t * b + lo, t * b + hi)
            h_prev = h0[lo:hi] if t == 0 else out[(t - 1) * b + lo : (t - 1) * b + hi]
            g = _gru_backward_arrays(
                g + gy[rows], h_prev, w, *(a[rows] for a in all_acts), d_all[rows]
            )
        gh[lo:hi] = g

    with _small_gemms(b, hidden, 3, xp):
        _over_batch(loop, b, hidden, 3, d_all.nbytes, xp)
    gw = gb = None
    if needs[2] or needs[3]:
        e = d_all.copy()  # the gradient of h W_hhᵀ + b_hh: [dr̂ dẑ r dn̂]
        e[:, 2 * hidden :] *= all_acts[0]
        if needs[2]:
            gw = e[:b].T @ h0
            if steps > 1:
                gw += e[b:].T @ out[:-b]
        if needs[3]:
            gb = e.sum(0)
    return (d_all if needs[0] else None, gh if needs[1] else None, gw, gb)


def _gru_backward_tensors(ctx, xg, h0, w_hh, b_hh, g_out, g_h, needs):
    """The GRU backward in Tensor ops (the cell's differentiable formulas), for double
    backward: states recomputed from the saved inputs, then gradients back in time."""
    b = h0.shape[0]
    hs, acts = [h0], []
    for t in range(ctx.steps):
        h, a = _gru_forward(TensorMath, xg[t * b : (t + 1) * b], hs[-1], w_hh, b_hh)
        hs.append(h)
        acts.append(a)
    gh, gw, gb = g_h, None, None
    dxg: list = [None] * ctx.steps
    step_needs = (True, True, needs[2], needs[3])
    for t in range(ctx.steps - 1, -1, -1):
        d, gh, dw, db = _gru_backward(
            TensorMath, gh + g_out[t * b : (t + 1) * b], hs[t], w_hh, acts[t], step_needs
        )
        dxg[t] = d
        if dw is not None:
            gw = dw if gw is None else gw + dw
        if db is not None:
            gb = db if gb is None else gb + db
    return (cat(dxg, 0) if needs[0] else None, gh if needs[1] else None, gw, gb)


def gru_sequence(xg: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None = None) -> tuple:
    """Run a GRU direction over T equal-size steps of projected inputs ``xg`` (T·B, 3H)
    (x W_ihᵀ + b_ih; b_hh stays inside, as r ⊙ (h W_hnᵀ + b_hn)).

    Returns (outputs (T·B, H) in the same packed order, h_T).
    """
    if xg.shape[0] % h0.shape[0]:
        raise ValueError(
            f"gru_sequence: {xg.shape[0]} input rows are not a whole number of "
            f"steps of batch {h0.shape[0]}"
        )
    return GRUSeqFn.apply(xg, h0, w_hh, b_hh)
