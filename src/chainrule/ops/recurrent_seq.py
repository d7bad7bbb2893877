"""A whole LSTM or GRU layer direction as one op: the time loop inside forward and inside backward.

The per-step cell (``recurrent_lstm.py``) is one recorded op per time step; over a
64-step sequence that is 64 graph nodes forward and, in backward, 64 engine visits, 64
small ``dᵀ h`` products for the recurrent weight and 64 accumulations of a (4H, H)
gradient. When every sequence in the batch has the same length (a padded or plain
``(T, B, ·)`` input: all ``batch_sizes`` equal) and there is no projection (``proj_size``),
this op runs the same per-step array code in a plain loop, and in backward

    D = [d_0; ...; d_{T-1}]  (the gate gradients of all steps, (T·B, 4H)),
    dW_hh = Dᵀ [h_0; ...; h_{T-1}]      (one GEMM instead of T small ones),
    dxg = D,  dh_0 and dc_0 from the last step of the reverse loop.

The GRU op (``recurrent_gru_seq.GRUSeqFn``) does the same with the GRU cell's formulas.

The rows of a batch never interact through time, so when the per-step GEMMs are small
(:data:`SMALL_STEP_MACS`) the NumPy time loops run as contiguous row blocks on the intra-op
threads (``_over_batch``): one thread hand-off per sequence, where splitting each step's
small GEMM would cost one per step. Measured with ``benchmarks/bench_seq.py --base-src``
(2-core machine, 2026-12-01): the char-LSTM training step 0.75-0.84x and the MNIST-1D GRU
step 0.79x of the single-loop code's time. A float32 LSTM block's whole loop, GEMMs included,
is one compiled call without the GIL (:mod:`chainrule._kernels.recurrent_loops`), so the
blocks run in parallel.

Same formulas as the cells (they call the cells' array functions), so results equal the
per-step path to rounding. Under ``create_graph=True`` the backward is rebuilt step by step
from Tensor ops (the cell's differentiable formulas), so double backward works; the
forward-mode rule runs the cell's linearisation step by step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from .._kernels import blas
from .._kernels import recurrent as RK
from .._kernels import recurrent_half as RH
from .._kernels import recurrent_loops as RL
from .._kernels.half_gemm import is_host_half
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..threads import parallel_slices
from ._recurrent_math import TensorMath, sigmoid_, wrap
from .recurrent_lstm import (
    _lstm_backward,
    _lstm_backward_arrays,
    _lstm_forward,
    lstm_jvp_arrays,
)
from .shape import cat

__all__ = ["LSTMSeqFn", "SMALL_STEP_MACS", "lstm_sequence"]

SMALL_STEP_MACS = 1 << 23
"""Per-step recurrent GEMMs up to this many multiply-adds (B·H·4H for LSTM, B·H·3H for GRU)
run with OpenBLAS held at one thread during the time loops. Measured on the shared 2-core
machine (load ~4), LSTM 64 steps B=32 H=128 (2.1M MACs per step) forward + backward, 30
alternating runs in one process: 2 OpenBLAS threads min 61 / median 384 ms, 1 thread min
30 / median 84 ms; GRU 40 steps B=128 H=128 (6.3M MACs): 90 / 301 ms against 47 / 85 ms.
OpenBLAS's threads spin and synchronise on every small GEMM, hundreds of times per sequence.
The large weight-gradient GEMM after the loop keeps OpenBLAS's threads."""


MIN_BLOCK_ROWS = 4
"""The smallest batch block a time loop is cut into for the intra-op threads."""


@contextlib.contextmanager
def _small_gemms(b: int, hidden: int, gates: int, xp) -> Iterator[None]:
    """Hold OpenBLAS at one thread while a time loop runs small per-step GEMMs (see
    :data:`SMALL_STEP_MACS`); a no-op for large steps, other array modules or other BLAS."""
    if xp is not np or b * hidden * gates * hidden > SMALL_STEP_MACS:
        yield
        return
    with blas.one_blas_thread():
        yield


def _gemm_ready_transpose(w: np.ndarray) -> np.ndarray:
    """``w.T`` laid out C-contiguous, once per sequence, for the per-step ``h @ w.T``.

    OpenBLAS runs a small GEMM with a transposed right operand (``h @ w.T`` reads ``w`` in
    place as the 'T' case) markedly slower than the plain one: one thread, float32,
    (16, 128) @ (128, 512) 35.6 vs 21.4 µs, (64, 128) @ (128, 384) 51 vs 40 µs (2-core
    Xeon, 2026-12-01). A step loop does that GEMM once per step, so one copy of ``w`` per
    sequence pays for itself from the first few steps."""
    return np.ascontiguousarray(w.T)


def _loop_gemm(compiled: bool, like: np.ndarray) -> int | None:
    """The sgemm address for :mod:`chainrule._kernels.recurrent_loops` when the compiled
    per-step passes apply (``compiled``), the arrays are float32 and NumPy's OpenBLAS
    exposes its ILP64 CBLAS; None keeps the Python-driven loop."""
    if not compiled or like.dtype != np.float32:
        return None
    return blas.gemm_address(np.float32)


def _over_batch(loop, b: int, hidden: int, gates: int, nbytes: int, xp=np) -> None:
    """``loop(lo, hi)`` runs a whole time loop for batch rows lo:hi. The rows of a batch
    are independent through time, so a sequence of small per-step GEMMs (see
    :data:`SMALL_STEP_MACS`) is cut into contiguous row blocks run on the intra-op threads,
    one hand-off per sequence instead of one per step (each block's GEMMs and kernels
    release the GIL); larger steps keep one loop and OpenBLAS's own threads."""
    if xp is not np or b * hidden * gates * hidden > SMALL_STEP_MACS or b < 2 * MIN_BLOCK_ROWS:
        loop(0, b)
        return
    parallel_slices(loop, b, nbytes)


def _lstm_step_into(xg, h, c, w_hh, act, c_new, tc, h_new):
    """One LSTM step writing into preallocated rows: the operations of
    ``recurrent_lstm._lstm_forward_arrays`` in the same order (so results are identical),
    without its temporaries and the copies into the sequence buffers."""
    xp = get_array_module(act)
    hidden = c.shape[1]
    xp.matmul(h, w_hh.T, out=act)
    act += xg
    g = act[:, 2 * hidden : 3 * hidden]
    g *= 2.0
    xp.negative(act, out=act)
    sigmoid_(act)
    g *= 2.0
    g -= 1.0
    xp.multiply(act[:, hidden : 2 * hidden], c, out=c_new)
    c_new += act[:, :hidden] * g
    xp.tanh(c_new, out=tc)
    xp.multiply(act[:, 3 * hidden :], tc, out=h_new)


class _LstmStates(NamedTuple):
    """What :class:`LSTMSeqFn` saves after its inputs: the outputs h_1..h_T (private, not
    the returned copy), the gate activations, tanh(c_t) and the cell states c_0..c_T."""

    hs: Any
    acts: Any
    tcs: Any
    cs: Any


class LSTMSeqFn(Function):
    """(xg (T·B, 4H) in packed order, h0 (B, H), c0 (B, H), W_hh (4H, H)) ->
    (outputs (T·B, H), h_T (B, H), c_T (B, H)); see the module docstring."""

    raw = True
    node_name = "LSTMSequenceBackward0"

    @staticmethod
    def forward(ctx, xg, h0, c0, w_hh, b_hh=None):
        xp = get_array_module(xg)
        b, hidden = c0.shape
        steps = xg.shape[0] // b
        ctx.steps = steps
        if is_host_half(xg):  # float16: float32 arithmetic rounded as PyTorch's ops round
            out, acts, tcs, cs = _lstm_half_forward(xg, h0, c0, w_hh, b_hh)
            ctx.save_for_backward(xg, h0, c0, w_hh, b_hh, out, acts, tcs, cs)
            h = out[(steps - 1) * b :] if steps else h0
            return tuple(a.astype(np.float16) for a in (out, h, cs[steps * b :]))
        if b_hh is not None:  # (the layers fold b_hh into xg outside float16)
            xg = xg + b_hh
        out = xp.empty((steps * b, hidden), dtype=xg.dtype)
        acts = xp.empty((steps * b, 4 * hidden), dtype=xg.dtype)
        tcs = xp.empty((steps * b, hidden), dtype=xg.dtype)
        cs = xp.empty(((steps + 1) * b, hidden), dtype=xg.dtype)  # c before each step, c_T
        cs[:b] = c0
        h = h0
        fused = xp is np  # compiled passes per step (chainrule._kernels.recurrent)
        if fused:
            xg, w_hh = np.ascontiguousarray(xg), np.ascontiguousarray(w_hh)
            compiled = RK.lstm_compiled(acts, xg, cs, tcs, out)
            w_t = _gemm_ready_transpose(w_hh)
            gemm = _loop_gemm(compiled, xg)
        with _small_gemms(b, hidden, 4, xp), np.errstate(over="ignore"):
            if fused:
                h0c = np.ascontiguousarray(h0)

                def loop(lo: int, hi: int) -> None:  # batch rows lo:hi, all steps
                    args = (xg, h0c, w_t, acts, cs, tcs, out, b, lo, hi)
                    if gemm is not None:  # the whole loop compiled (_kernels.recurrent_loops)
                        RL.lstm_forward_loop_f32(gemm, *args)
                    else:
                        RL.lstm_forward_steps(*args, compiled)

                _over_batch(loop, b, hidden, 4, acts.nbytes)
                h = out[(steps - 1) * b :] if steps else h0
            else:
                for t in range(steps):
                    rows, nxt = slice(t * b, (t + 1) * b), slice((t + 1) * b, (t + 2) * b)
                    _lstm_step_into(
                        xg[rows], h, cs[rows], w_hh, acts[rows], cs[nxt], tcs[rows], out[rows]
                    )
                    h = out[rows]
        # out is kept privately (unguarded: the returned copy may be changed in place, as
        # in torch), with the gate activations, tanh(c) and the cell states: _LstmStates
        ctx.save_for_backward(xg, h0, c0, w_hh, b_hh, out, acts, tcs, cs)
        return out.copy(), h.copy(), cs[steps * b :].copy()

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        grads = _lstm_seq_backward(ctx, g_out, g_h, g_c)
        return tuple(grads)[: len(ctx.needs_input_grad)]  # (no b_hh input: 4 gradients)

    @staticmethod
    def jvp(ctx, t_xg, t_h, t_c, t_w, t_b=None):
        return _lstm_seq_jvp(ctx, t_xg, t_h, t_c, t_w, t_b)


def _lstm_seq_backward(ctx, g_out, g_h, g_c):
    """LSTMSeqFn's backward: the gradients of (xg, h0, c0, W_hh, b_hh)."""
    xg, h0, c0, w_hh, b_hh, *states = ctx.saved_tensors
    needs = tuple(ctx.needs_input_grad) + (False,) * (5 - len(ctx.needs_input_grad))
    if ctx.create_graph:
        return _backward_tensors(ctx, xg, h0, c0, w_hh, b_hh, g_out, g_h, g_c, needs)
    st = _LstmStates(*(v._data for v in states))
    h0, w, out = h0._data, w_hh._data, st.hs
    gy, gh, gc = g_out._data, g_h._data, g_c._data
    b = h0.shape[0]
    xp = get_array_module(gy)
    if is_host_half(gy):  # float32 gradients of the float16-valued states, rounded once
        h0, w, gy, gh, gc = (a.astype(np.float32) for a in (h0, w, gy, gh, gc))
        d_all = np.empty_like(st.acts)
        grads = _lstm_backward_fused(ctx, st, h0, w, gy, gh, gc, d_all, needs)
        return wrap(tuple(None if g is None else g.astype(np.float16) for g in grads))
    d_all = xp.empty_like(st.acts)
    step_needs = (True, True, True, False, False)
    if xp is np:  # one compiled pass per step, then dh = d W_hh (chainrule._kernels)
        return wrap(_lstm_backward_fused(ctx, st, h0, w, gy, gh, gc, d_all, needs))
    with _small_gemms(b, h0.shape[1], 4, xp):
        for t in range(ctx.steps - 1, -1, -1):
            rows = slice(t * b, (t + 1) * b)
            h_prev = h0 if t == 0 else out[(t - 1) * b : t * b]
            _, gh, gc, _, _ = _lstm_backward_arrays(
                gh + gy[rows],
                gc,
                h_prev,
                st.cs[rows],
                w,
                None,
                st.acts[rows],
                st.tcs[rows],
                None,
                step_needs,
                d_all[rows],
            )
    gw = None
    if needs[3]:
        gw = d_all[:b].T @ h0
        if ctx.steps > 1:
            gw += d_all[b:].T @ out[:-b]
    gb = d_all.sum(0) if needs[4] else None
    return wrap(
        (
            d_all if needs[0] else None,
            gh if needs[1] else None,
            gc if needs[2] else None,
            gw,
            gb,
        )
    )


def _lstm_seq_jvp(ctx, t_xg, t_h, t_c, t_w, t_b):
    """LSTMSeqFn's forward-mode rule."""
    _, h0, c0, w_hh, _, *states = ctx.saved_arrays
    half = is_host_half(h0)
    if half:  # float32 on the float16 values, rounded once
        h0, c0, w_hh, t_xg, t_h, t_c, t_w, t_b = (
            None if a is None else a.astype(np.float32)
            for a in (h0, c0, w_hh, t_xg, t_h, t_c, t_w, t_b)
        )
    if t_b is not None:
        t_xg = t_b if t_xg is None else t_xg + t_b  # a broadcast row: added per step
    st = _LstmStates(*states)
    out = st.hs
    b = h0.shape[0]
    xp = get_array_module(h0)
    t_out = xp.empty_like(out)
    th, tc_ = t_h, t_c
    for t in range(ctx.steps):
        rows = slice(t * b, (t + 1) * b)
        h_prev = h0 if t == 0 else out[(t - 1) * b : t * b]
        th, tc_ = lstm_jvp_arrays(
            None if t_xg is None else t_xg[rows],
            th,
            tc_,
            t_w,
            None,
            h_prev,
            st.cs[rows],
            w_hh,
            None,
            st.acts[rows],
            st.tcs[rows],
            None,
        )
        t_out[rows] = th
    if half:
        return t_out.astype(np.float16), th.astype(np.float16), tc_.astype(np.float16)
    return t_out, th.copy(), tc_


def _lstm_half_forward(xg, h0, c0, w_hh, b_hh):
    """The float16 forward (PyTorch's roundings, :mod:`chainrule._kernels.recurrent_half`)
    in float32 buffers holding float16 values: (outputs, gate activations, tanh(c), cell
    states c_0..c_T), as the float32 path's buffers."""
    f32 = np.float32
    b, hidden = c0.shape
    steps = xg.shape[0] // b
    xg = xg.astype(f32)
    w_t = np.ascontiguousarray(w_hh.T, dtype=f32)
    bias = np.zeros(4 * hidden, f32) if b_hh is None else b_hh.astype(f32)
    out = np.empty((steps * b, hidden), dtype=f32)
    acts = np.empty((steps * b, 4 * hidden), dtype=f32)
    tcs = np.empty((steps * b, hidden), dtype=f32)
    cs = np.empty(((steps + 1) * b, hidden), dtype=f32)
    cs[:b] = c0
    h0 = h0.astype(f32)

    def loop(lo: int, hi: int) -> None:  # batch rows lo:hi, all steps
        h = h0[lo:hi]
        for t in range(steps):
            rows = slice(t * b + lo, t * b + hi)
            nxt = slice((t + 1) * b + lo, (t + 1) * b + hi)
            np.matmul(h, w_t, out=acts[rows])
            RH.lstm_half_step(acts[rows], bias, xg[rows], cs[rows], cs[nxt], tcs[rows], out[rows])
            h = out[rows]

    with _small_gemms(b, hidden, 4, np):
        _over_batch(loop, b, hidden, 4, acts.nbytes)
    return out, acts, tcs, cs


def _lstm_backward_fused(ctx, st, h0, w, gy, gh, gc, d_all, needs):
    """LSTMSeqFn's backward on NumPy arrays (``st``: the saved :class:`_LstmStates`): per
    step, one fused elementwise pass (:func:`chainrule._kernels.recurrent.lstm_step_backward`)
    and the GEMM dh = d W_hh."""
    b = h0.shape[0]
    out = st.hs
    gy = np.ascontiguousarray(gy)
    gh = np.array(gh, order="C")  # fresh: the step loop writes into these buffers
    gc = np.array(gc, order="C")
    w = np.ascontiguousarray(w)
    compiled = RK.lstm_compiled(st.acts, gh, gy, gc, st.cs, st.tcs, d_all)
    gemm = _loop_gemm(compiled, gy)

    def loop(lo: int, hi: int) -> None:  # batch rows lo:hi, all steps back in time
        if gemm is not None:  # the whole loop compiled (_kernels.recurrent_loops)
            RL.lstm_backward_loop_f32(gemm, gy, gh, gc, st.cs, st.acts, st.tcs, d_all, w, b, lo, hi)
            return
        RL.lstm_backward_steps(gy, gh, gc, st.cs, st.acts, st.tcs, d_all, w, b, lo, hi, compiled)

    with _small_gemms(b, h0.shape[1], 4, np):
        _over_batch(loop, b, h0.shape[1], 4, d_all.nbytes)
    gw = None
    if needs[3]:
        gw = d_all[:b].T @ h0
        if ctx.steps > 1:
            gw += d_all[b:].T @ out[:-b]
    return (
        d_all if needs[0] else None,
        gh if needs[1] else None,
        gc if needs[2] else None,
        gw,
        d_all.sum(0) if needs[4] else None,
    )


def _backward_tensors(ctx, xg, h0, c0, w_hh, b_hh, g_out, g_h, g_c, needs):
    """The backward in Tensor ops (the cell's differentiable formulas), for double backward:
    the states are recomputed from the saved inputs, then the gradients run back in time."""
    b = h0.shape[0]
    if b_hh is not None:
        xg = xg + b_hh
    hs, cs, acts = [h0], [c0], []
    for t in range(ctx.steps):
        h, c, a = _lstm_forward(TensorMath, xg[t * b : (t + 1) * b], hs[-1], cs[-1], w_hh, None)
        hs.append(h)
        cs.append(c)
        acts.append(a)
    gh, gc, gw = g_h, g_c, None
    dxg: list = [None] * ctx.steps
    step_needs = (True, True, True, needs[3], False)
    for t in range(ctx.steps - 1, -1, -1):
        d, gh, gc, dw, _ = _lstm_backward(
            TensorMath,
            gh + g_out[t * b : (t + 1) * b],
            gc,
            hs[t],
            cs[t],
            w_hh,
            None,
            acts[t],
            step_needs,
        )
        dxg[t] = d
        if dw is not None:
            gw = dw if gw is None else gw + dw
    gx = cat(dxg, 0) if needs[0] or needs[4] else None
    return (
        gx if needs[0] else None,
        gh if needs[1] else None,
        gc if needs[2] else None,
        gw,
        gx.sum(0) if needs[4] else None,
    )


def lstm_sequence(
    xg: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, b_hh: Tensor | None = None
) -> tuple:
    """Run an LSTM direction over T equal-size steps of projected inputs ``xg`` (T·B, 4H).

    ``b_hh`` (4H,), when given, is added to each step's recurrent product (the layers pass
    it for float16, where PyTorch rounds x W_ihᵀ + b_ih and h W_hhᵀ + b_hh separately;
    otherwise they fold it into ``xg``).

    Returns (outputs (T·B, H) in the same packed order, h_T, c_T).
    """
    if xg.shape[0] % h0.shape[0]:
        raise ValueError(
            f"lstm_sequence: {xg.shape[0]} input rows are not a whole number of "
            f"steps of batch {h0.shape[0]}"
        )
    if b_hh is None:
        return LSTMSeqFn.apply(xg, h0, c0, w_hh)
    return LSTMSeqFn.apply(xg, h0, c0, w_hh, b_hh)
