"""Fused recurrent cells: one op per time step for the gate math of RNN, LSTM and GRU.

A recurrent layer first projects the inputs of *all* time steps with one matmul
(``xg = x W_ihᵀ + b``, done outside the time loop as cuDNN-style implementations do); each
step then runs one fused op that adds the recurrent product and applies the gates:

    RNN:  h' = act(xg + h W_hhᵀ)                                  (act = tanh or relu)
    LSTM: [i f g o] = xg + h W_hhᵀ;  i,f,o = σ(·), g = tanh(·)
          c' = f c + i g;  h' = (o tanh c') W_hrᵀ                  (W_hr only with proj_size)
    GRU:  [r̂ ẑ n̂] = h W_hhᵀ + b_hh;  r = σ(xg_r + r̂), z = σ(xg_z + ẑ)
          n = tanh(xg_n + r n̂);  h' = n + z (h - n)

Gate order is PyTorch's (i, f, g, o for LSTM; r, z, n for GRU), so weights move between the
two frameworks unchanged. RNN and LSTM take b_hh folded into ``xg`` (b_ih + b_hh, one add per
layer), or, in float16, as an optional last input added to h W_hhᵀ before PyTorch's rounding
of that product (the layers and cells pass it there: ``ρ(h W_hhᵀ + b_hh)`` and
``ρ(x W_ihᵀ + b_ih)`` are rounded separately, so folding changes about a third of the bits).

Why fused: written with primitives, an LSTM step is ~25 recorded ops; with Python overhead
per op that dominated a small language model. Each cell's backward has two paths computing
the same formulas (for RNN and GRU written once, generic over the math namespaces of
``_recurrent_math.py``; the LSTM's fast path is a hand-tuned copy with fewer NumPy calls,
one exp for all four gates, see ``recurrent_lstm.py``):

* the fast path, when backward is not itself recorded (the usual ``loss.backward()``): raw
  arrays, the gate activations saved by forward, no graph;
* the differentiable path, when ``create_graph=True`` (or forward-mode AD is active, as in
  ``jacfwd(jacrev(f))``): the activations are recomputed from the saved inputs with Tensor
  ops and the gradient formulas are Tensor ops, so double backward works (as PyTorch's CPU
  LSTM/GRU/RNN support it).

Every cell also has a forward-mode rule (``jvp``), the linearisation of its forward.

For equal-length batches the layers run LSTM and GRU through ``recurrent_seq.py`` instead:
the same formulas with the whole time loop inside one op (one graph node per layer and
direction, the recurrent weight's gradient as one GEMM over all steps).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._kernels import recurrent_half as RH
from .._kernels.half_gemm import is_host_half, to_half
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._recurrent_math import ArrayMath, TensorMath, record_backward, wrap
from .joining import Split
from .recurrent_lstm import LSTMCellFn, _half, _wide, lstm_cell

__all__ = [
    "GRUCellFn",
    "LSTMCellFn",
    "RNNCellFn",
    "gru_cell",
    "gru_jvp_arrays",
    "lstm_cell",
    "rnn_cell",
    "split_rows",
]


# ----------------------------------------------------------------------------- GRU


def _gru_forward(m, xg, h, w_hh, b_hh):
    """The GRU step in ``m``'s functions; returns h' and what backward reads."""
    hidden = h.shape[1]
    hg = h @ m.t(w_hh)
    if b_hh is not None:
        hg = hg + b_hh
    r = m.sigmoid(xg[:, :hidden] + hg[:, :hidden])
    z = m.sigmoid(xg[:, hidden : 2 * hidden] + hg[:, hidden : 2 * hidden])
    hn = hg[:, 2 * hidden :]
    n = m.tanh(xg[:, 2 * hidden :] + r * hn)
    return n + z * (h - n), (r, z, n, hn)


def _gru_backward(m, gout, h, w_hh, acts, needs):
    """Gradients for (xg, h, w_hh, b_hh) given that of h'."""
    r, z, n, hn = acts
    dn = gout * (1 - z) * (1 - n * n)
    dr = dn * hn * r * (1 - r)
    dz = gout * (h - n) * z * (1 - z)
    dhg = m.cat([dr, dz, dn * r])
    return (
        m.cat([dr, dz, dn]) if needs[0] else None,
        gout * z + dhg @ w_hh if needs[1] else None,
        m.t(dhg) @ h if needs[2] else None,
        dhg.sum(0) if needs[3] else None,
    )


class GRUCellFn(Function):
    """One GRU step: (xg, h, W_hh, b_hh or None) -> h'. See the module docstring.

    Backward with upstream g: dn̂ = g (1-z)(1-n²), dr̂ = dn̂ n̂ r(1-r), dẑ = g (h-n) z(1-z);
    dxg = [dr̂ dẑ dn̂], d(hW_hhᵀ+b) = [dr̂ dẑ r dn̂] =: e, dh = g z + e W_hh, dW_hh = eᵀ h,
    db_hh = Σ_rows e.
    """

    raw = True
    node_name = "GRUCellBackward0"

    @staticmethod
    def forward(ctx, xg, h, w_hh, b_hh):
        if is_host_half(xg):  # float16: float32 arithmetic rounded as PyTorch's ops round
            h_new, acts = _gru_half_forward(xg, h, w_hh, b_hh)
            ctx.save_for_backward(xg, h, w_hh, b_hh, *acts)
            return to_half(h_new)
        h_new, acts = _gru_forward(ArrayMath, xg, h, w_hh, b_hh)
        ctx.save_for_backward(xg, h, w_hh, b_hh, *acts)
        return h_new

    @staticmethod
    def backward(ctx, gout):
        saved = ctx.saved_tensors
        xg, h, w_hh, b_hh = saved[:4]
        needs = tuple(ctx.needs_input_grad) + (False,) * 4
        if record_backward():
            _, acts = _gru_forward(TensorMath, xg, h, w_hh, b_hh)
            return _gru_backward(TensorMath, gout, h, w_hh, acts, needs)
        acts = tuple(a._data for a in saved[4:])
        args = (gout._data, h._data, w_hh._data)
        if is_host_half(args[0]):  # float32 on the float16 values, rounded once
            return wrap(_half(_gru_backward(ArrayMath, *_wide(args), acts, needs)))
        return wrap(_gru_backward(ArrayMath, *args, acts, needs))

    @staticmethod
    def jvp(ctx, t_xg, t_h, t_w, t_b):
        xg, h, w_hh, _ = ctx.primals
        args = (t_xg, t_h, t_w, t_b, h, w_hh)
        if is_host_half(h):
            return to_half(gru_jvp_arrays(*_wide(args), *ctx.saved_arrays[4:]))
        return gru_jvp_arrays(*args, *ctx.saved_arrays[4:])


def _gru_half_forward(xg, h, w_hh, b_hh):
    """The float16 GRU step with PyTorch's roundings (:mod:`chainrule._kernels.recurrent_half`)
    in float32 arrays holding float16 values: h' and (r, z, n, n̂)."""
    f32 = np.float32
    batch, hidden = h.shape
    h = np.ascontiguousarray(h, dtype=f32)
    hg = h @ np.ascontiguousarray(w_hh.T, dtype=f32)
    bias = np.zeros(3 * hidden, dtype=f32) if b_hh is None else b_hh.astype(f32)
    acts = tuple(np.empty((batch, hidden), dtype=f32) for _ in range(4))
    h_new = np.empty((batch, hidden), dtype=f32)
    RH.gru_half_step(hg, bias, np.ascontiguousarray(xg, dtype=f32), h, *acts, h_new)
    return h_new, acts


def gru_jvp_arrays(t_xg, t_h, t_w, t_b, h, w_hh, r, z, n, hn):
    """The GRU step's linearisation on raw arrays: the tangent of h' from those of
    (xg, h, W_hh, b_hh) (None = zero), given the forward's saved activations."""
    hidden = h.shape[1]
    xp = get_array_module(h)
    shape = (h.shape[0], 3 * hidden)
    dx = xp.zeros(shape, dtype=h.dtype) if t_xg is None else t_xg
    dhg = xp.zeros(shape, dtype=h.dtype)
    if t_h is not None:
        dhg += t_h @ w_hh.T
    if t_w is not None:
        dhg += h @ t_w.T
    if t_b is not None:
        dhg += t_b
    dr = r * (1 - r) * (dx[:, :hidden] + dhg[:, :hidden])
    dz = z * (1 - z) * (dx[:, hidden : 2 * hidden] + dhg[:, hidden : 2 * hidden])
    dn = (1 - n * n) * (dx[:, 2 * hidden :] + dr * hn + r * dhg[:, 2 * hidden :])
    out = dn + dz * (h - n) - z * dn
    return out if t_h is None else out + z * t_h


def gru_cell(xg: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None = None) -> Tensor:
    """One fused GRU step on projected inputs ``xg`` = x W_ihᵀ + b_ih, shape (B, 3H)."""
    return GRUCellFn.apply(xg, h, w_hh, b_hh)


# ----------------------------------------------------------------------------- Elman RNN


def _rnn_forward(m, xg, h, w_hh, relu_act, b_hh=None):
    """h' = act(xg + h W_hhᵀ (+ b_hh)) in ``m``'s functions."""
    pre = xg + h @ m.t(w_hh)
    if b_hh is not None:
        pre = pre + b_hh
    return m.relu(pre) if relu_act else m.tanh(pre)


def _rnn_backward(m, gout, h, w_hh, h_new, relu_act, needs):
    """Gradients for (xg, h, w_hh, relu?, b_hh) given that of h' (from h' itself)."""
    d = m.relu_grad(gout, h_new) if relu_act else gout * (1 - h_new * h_new)
    return (
        d if needs[0] else None,
        d @ w_hh if needs[1] else None,
        m.t(d) @ h if needs[2] else None,
        None,
        d.sum(0) if needs[4] else None,
    )


class RNNCellFn(Function):
    """One Elman step: (xg, h, W_hh, relu?[, b_hh]) -> h' = act(xg + h W_hhᵀ (+ b_hh)).

    Backward: d = g (1 - h'²) for tanh, g [h' > 0] for relu; dxg = d, dh = d W_hh,
    dW_hh = dᵀ h, db_hh = Σ_rows d.
    """

    raw = True
    node_name = "RNNCellBackward0"

    @staticmethod
    def forward(ctx, xg, h, w_hh, relu_act, b_hh=None):
        if is_host_half(xg):  # float16: ρ(act ρ(ρ(h W_hhᵀ + b_hh) + xg)), ρ as PyTorch rounds
            f32 = np.float32
            pre = h.astype(f32) @ np.ascontiguousarray(w_hh.T, dtype=f32)
            if b_hh is not None:
                pre += b_hh
            RH.round_half_(pre)
            pre += xg
            RH.round_half_(pre)
            h_new = np.maximum(pre, 0, out=pre) if relu_act else np.tanh(pre, out=pre)
            h_new = to_half(h_new)
        else:
            h_new = _rnn_forward(ArrayMath, xg, h, w_hh, relu_act, b_hh)
        ctx.relu_act = relu_act
        ctx.save_for_backward(xg, h, w_hh, h_new, b_hh)
        return h_new

    @staticmethod
    def backward(ctx, gout):
        xg, h, w_hh, h_new, b_hh = ctx.saved_tensors
        n_in = len(ctx.needs_input_grad)  # 4, or 5 with b_hh
        needs = tuple(ctx.needs_input_grad) + (False,) * 5
        if record_backward():
            h_new = _rnn_forward(TensorMath, xg, h, w_hh, ctx.relu_act, b_hh)
            return _rnn_backward(TensorMath, gout, h, w_hh, h_new, ctx.relu_act, needs)[:n_in]
        args = (gout._data, h._data, w_hh._data, h_new._data)
        if is_host_half(args[0]):  # float32 on the float16 values, rounded once
            grads = _rnn_backward(ArrayMath, *_wide(args), ctx.relu_act, needs)
            return wrap(_half(grads[:n_in]))
        return wrap(_rnn_backward(ArrayMath, *args, ctx.relu_act, needs)[:n_in])

    @staticmethod
    def jvp(ctx, t_xg, t_h, t_w, _, t_b=None):
        xg, h, w_hh = ctx.primals[:3]
        h_new = ctx.out
        half = is_host_half(h)
        if half:
            xg, h, w_hh, h_new, t_xg, t_h, t_w, t_b = _wide(
                (xg, h, w_hh, h_new, t_xg, t_h, t_w, t_b)
            )
        d = get_array_module(h).zeros_like(xg) if t_xg is None else t_xg.copy()
        if t_h is not None:
            d += t_h @ w_hh.T
        if t_w is not None:
            d += h @ t_w.T
        if t_b is not None:
            d += t_b
        if ctx.relu_act:  # PyTorch's threshold_backward: exact zeros (not NaN * 0)
            d = get_array_module(d).where(h_new <= 0, 0, d)
        else:
            d = d * (1 - h_new * h_new)
        return to_half(d) if half else d


def rnn_cell(
    xg: Tensor, h: Tensor, w_hh: Tensor, nonlinearity: str = "tanh", b_hh: Tensor | None = None
) -> Tensor:
    """One fused Elman RNN step on projected inputs ``xg`` = x W_ihᵀ + b_ih, plus b_hh
    unless ``b_hh`` (H,) is given, which is then added to h W_hhᵀ (as PyTorch's float16
    cells round it)."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_cell: unknown nonlinearity {nonlinearity!r}; use 'tanh' or 'relu'")
    if b_hh is None:
        return RNNCellFn.apply(xg, h, w_hh, nonlinearity == "relu")
    return RNNCellFn.apply(xg, h, w_hh, nonlinearity == "relu", b_hh)


# ----------------------------------------------------------------------------- time split


def split_rows(x: Tensor, sizes: Sequence[int]) -> tuple:
    """Row blocks of ``x`` with the given sizes (which must sum to ``x.shape[0]``)."""
    sizes = tuple(int(s) for s in sizes)
    if sum(sizes) != x.shape[0]:
        raise ValueError(
            f"split_rows: sizes {list(sizes)} sum to {sum(sizes)}, but the input "
            f"has {x.shape[0]} rows"
        )
    return Split.apply(x, 0, sizes)
