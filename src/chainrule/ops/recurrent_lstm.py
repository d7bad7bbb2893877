"""The fused LSTM step (one op per time step); see ``ops/recurrent.py`` for the design.

[i f g o] = xg + h W_hhᵀ (+ b_hh);  i,f,o = σ(·), g = tanh(·);  c' = f c + i g;
h' = (o tanh c') W_hrᵀ  (W_hr only with proj_size)

``b_hh`` is optional: the layers and cells fold it into ``xg`` (one bias add per layer)
except in float16, where PyTorch rounds x W_ihᵀ + b_ih and h W_hhᵀ + b_hh separately and
the cell adds b_hh to its recurrent product before that rounding.
"""

from __future__ import annotations

import numpy as np

from .._kernels import recurrent_half as RH
from .._kernels.half_gemm import is_host_half, to_half, to_single
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._recurrent_math import TensorMath, data_or_none, record_backward, sigmoid_, wrap

__all__ = ["LSTMCellFn", "lstm_cell", "lstm_jvp_arrays"]


def _lstm_forward(m, xg, h, c, w_hh, w_hr):
    """The forward written with ``m``'s functions (TensorMath: the differentiable path)."""
    hidden = c.shape[1]
    gates = xg + h @ m.t(w_hh)
    i = m.sigmoid(gates[:, :hidden])
    f = m.sigmoid(gates[:, hidden : 2 * hidden])
    g = m.tanh(gates[:, 2 * hidden : 3 * hidden])
    o = m.sigmoid(gates[:, 3 * hidden :])
    c_new = f * c + i * g
    tc = m.tanh(c_new)
    hf = o * tc
    h_new = hf if w_hr is None else hf @ m.t(w_hr)
    return h_new, c_new, (i, f, g, o, tc, hf)


def _lstm_backward(m, gh, gc, h, c, w_hh, w_hr, acts, needs):
    """Gradients for (xg, h, c, w_hh, w_hr) given those of (h', c'), in ``m``'s functions."""
    i, f, g, o, tc, hf = acts
    gw_hr = None
    if w_hr is not None:
        if needs[4]:
            gw_hr = m.t(gh) @ hf
        gh = gh @ w_hr
    go = gh * tc
    gct = gc + gh * o * (1 - tc * tc)
    dgates = m.cat(
        [gct * g * i * (1 - i), gct * c * f * (1 - f), gct * i * (1 - g * g), go * o * (1 - o)]
    )
    return (
        dgates if needs[0] else None,
        dgates @ w_hh if needs[1] else None,
        gct * f if needs[2] else None,
        m.t(dgates) @ h if needs[3] else None,
        gw_hr,
    )


def _lstm_forward_arrays(xg, h, c, w_hh, w_hr):
    """The forward on raw arrays with few NumPy calls; returns h', c' and what backward reads.

    All four gates go through one sigmoid, using tanh(x) = 2σ(2x) - 1 for the g block, so
    ``act`` holds [i f g o] side by side.
    """
    hidden = c.shape[1]
    act = h @ w_hh.T
    act += xg
    g = act[:, 2 * hidden : 3 * hidden]
    g *= 2.0
    get_array_module(act).negative(act, out=act)
    sigmoid_(act)
    g *= 2.0
    g -= 1.0
    i, f, o = act[:, :hidden], act[:, hidden : 2 * hidden], act[:, 3 * hidden :]
    c_new = f * c
    c_new += i * g
    tc = get_array_module(c).tanh(c_new)
    hf = o * tc
    h_new = hf if w_hr is None else hf @ w_hr.T
    return h_new, c_new, act, tc, (None if w_hr is None else hf)


def _lstm_backward_arrays(gh, gc, h, c, w_hh, w_hr, act, tc, hf, needs, d=None):
    """The backward on raw arrays (same formulas as ``_lstm_backward``), few NumPy calls;
    the gate gradients go into ``d`` (shaped like ``act``) when given."""
    xp = get_array_module(act)
    hidden = c.shape[1]
    gw_hr = None
    if w_hr is not None:
        if needs[4]:
            gw_hr = gh.T @ hf
        gh = gh @ w_hr
    i, f, g, o = (act[:, k * hidden : (k + 1) * hidden] for k in range(4))
    gct = tc * tc  # gc + gh o (1 - tanh² c')
    xp.subtract(1.0, gct, out=gct)
    gct *= o
    gct *= gh
    gct += gc
    if d is None:
        d = xp.empty_like(act)  # upstream gradient of each activation
    xp.multiply(gct, g, out=d[:, :hidden])
    xp.multiply(gct, c, out=d[:, hidden : 2 * hidden])
    xp.multiply(gct, i, out=d[:, 2 * hidden : 3 * hidden])
    xp.multiply(gh, tc, out=d[:, 3 * hidden :])
    deriv = 1.0 - act  # σ' = σ (1 - σ) on i, f, o; tanh' = 1 - g² on g
    deriv *= act
    dg = deriv[:, 2 * hidden : 3 * hidden]
    xp.multiply(g, g, out=dg)
    xp.subtract(1.0, dg, out=dg)
    d *= deriv
    return (
        d if needs[0] else None,
        d @ w_hh if needs[1] else None,
        gct * f if needs[2] else None,
        d.T @ h if needs[3] else None,
        gw_hr,
    )


class LSTMCellFn(Function):
    """One LSTM step: (xg, h, c, W_hh, W_hr or None) -> (h', c'). See the module docstring.

    Backward, with ĝ = upstream gradient of h' (times W_hr with projection) and
    ĉ = gc + ĝ o (1 - tanh² c'):  d[i f g o] = [ĉ g i(1-i), ĉ c f(1-f), ĉ i (1-g²),
    ĝ tanh(c') o(1-o)];  dxg = d, dh = d W_hh, dc = ĉ f, dW_hh = dᵀ h, dW_hr = gh'ᵀ (o tanh c').
    """

    raw = True
    node_name = "LSTMCellBackward0"

    @staticmethod
    def forward(ctx, xg, h, c, w_hh, w_hr, b_hh=None):
        if is_host_half(xg):  # float16: float32 arithmetic rounded as PyTorch's ops round
            h_new, c_new, act, tc, hf = _lstm_half_forward(xg, h, c, w_hh, w_hr, b_hh)
            ctx.save_for_backward(xg, h, c, w_hh, w_hr, b_hh, act, tc, hf)
            return to_half(h_new), to_half(c_new)
        wide = xg if b_hh is None else xg + b_hh
        h_new, c_new, act, tc, hf = _lstm_forward_arrays(wide, h, c, w_hh, w_hr)
        ctx.save_for_backward(xg, h, c, w_hh, w_hr, b_hh, act, tc, hf)
        return h_new, c_new

    @staticmethod
    def backward(ctx, gh, gc):
        saved = ctx.saved_tensors
        xg, h, c, w_hh, w_hr, b_hh = saved[:6]
        n_in = len(ctx.needs_input_grad)  # 5, or 6 with b_hh
        needs = tuple(ctx.needs_input_grad) + (False,) * 6
        step_needs = (needs[0] or needs[5],) + needs[1:5]  # db_hh = Σ_rows dxg
        if record_backward():
            if b_hh is not None:
                xg = xg + b_hh
            _, _, acts = _lstm_forward(TensorMath, xg, h, c, w_hh, w_hr)
            grads = _lstm_backward(TensorMath, gh, gc, h, c, w_hh, w_hr, acts, step_needs)
            return _with_bias_grad(grads, needs, n_in)
        act, tc, hf = (data_or_none(a) for a in saved[6:])
        args = (gh._data, gc._data, h._data, c._data, w_hh._data, data_or_none(w_hr))
        if is_host_half(args[0]):  # float32 on the float16 values, rounded once
            grads = _lstm_backward_arrays(*_wide(args), act, tc, hf, step_needs)
            return wrap(_half(_with_bias_grad(grads, needs, n_in)))
        grads = _lstm_backward_arrays(*args, act, tc, hf, step_needs)
        return wrap(_with_bias_grad(grads, needs, n_in))

    @staticmethod
    def jvp(ctx, t_xg, t_h, t_c, t_w, t_wr, t_b=None):
        _, h, c, w_hh, w_hr = ctx.primals[:5]
        act, tc, hf = ctx.saved_arrays[6:]
        if t_b is not None:  # b_hh's tangent enters as xg's does
            t_xg = t_b + (get_array_module(h).zeros_like(act) if t_xg is None else t_xg)
        args = (t_xg, t_h, t_c, t_w, t_wr, h, c, w_hh, w_hr)
        if is_host_half(h):
            return _half(lstm_jvp_arrays(*_wide(args), act, tc, hf))
        return lstm_jvp_arrays(*args, act, tc, hf)


def _with_bias_grad(grads: tuple, needs: tuple, n_in: int) -> tuple:
    """A cell's gradients for its inputs before b_hh, the first (that of xg, computed when
    xg or b_hh needs one) dropped unless wanted, then b_hh's (Σ over the batch rows) when
    b_hh was passed; ``n_in`` gradients in all."""
    dxg = grads[0]
    out = (dxg if needs[0] else None,) + tuple(grads[1:])
    if n_in > len(grads):
        out += (dxg.sum(0) if needs[len(grads)] else None,)
    return out[:n_in]


def _wide(arrays) -> tuple:
    """float16 arrays (None kept) as float32 copies."""
    return tuple(None if a is None else to_single(a) for a in arrays)


def _half(arrays) -> tuple:
    """float32 results rounded to float16 (None kept)."""
    return tuple(None if a is None else to_half(a) for a in arrays)


def _lstm_half_forward(xg, h, c, w_hh, w_hr, b_hh=None):
    """The float16 step with PyTorch's roundings (:mod:`chainrule._kernels.recurrent_half`)
    in float32 arrays holding float16 values: (h', c', [i f g o], tanh c', o tanh c')."""
    f32 = np.float32
    batch, hidden = c.shape
    act = np.ascontiguousarray(h, dtype=f32) @ np.ascontiguousarray(w_hh.T, dtype=f32)
    c_new, tc, hf = (np.empty((batch, hidden), dtype=f32) for _ in range(3))
    bias = np.zeros(4 * hidden, dtype=f32) if b_hh is None else b_hh.astype(f32)
    xg, c = (np.ascontiguousarray(a, dtype=f32) for a in (xg, c))
    RH.lstm_half_step(act, bias, xg, c, c_new, tc, hf)
    if w_hr is None:
        return hf, c_new, act, tc, None
    h_new = RH.round_half_(hf @ w_hr.T.astype(f32))
    return h_new, c_new, act, tc, hf


def lstm_jvp_arrays(t_xg, t_h, t_c, t_w, t_wr, h, c, w_hh, w_hr, act, tc, hf):
    """The step's linearisation on raw arrays: tangents of (h', c') from those of
    (xg, h, c, W_hh, W_hr) (None = zero), given the forward's saved activations."""
    hidden = c.shape[1]
    i, f, g, o = (act[:, k * hidden : (k + 1) * hidden] for k in range(4))
    xp = get_array_module(h)
    d = xp.zeros((h.shape[0], 4 * hidden), dtype=h.dtype) if t_xg is None else t_xg.copy()
    if t_h is not None:
        d += t_h @ w_hh.T
    if t_w is not None:
        d += h @ t_w.T
    di, df = d[:, :hidden] * i * (1 - i), d[:, hidden : 2 * hidden] * f * (1 - f)
    dg = d[:, 2 * hidden : 3 * hidden] * (1 - g * g)
    do = d[:, 3 * hidden :] * o * (1 - o)
    dc = df * c + di * g + i * dg
    if t_c is not None:
        dc = dc + f * t_c
    dhf = do * tc + o * (1 - tc * tc) * dc
    if w_hr is None:
        return dhf, dc
    dh = dhf @ w_hr.T
    if t_wr is not None:
        dh = dh + hf @ t_wr.T
    return dh, dc


def lstm_cell(
    xg: Tensor,
    h: Tensor,
    c: Tensor,
    w_hh: Tensor,
    w_hr: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One fused LSTM step on projected inputs ``xg`` (B, 4H): x W_ihᵀ + b_ih, plus b_hh
    unless ``b_hh`` (4H,) is given, which is then added to the recurrent product h W_hhᵀ
    (as PyTorch's float16 cells round it).

    Shapes: h (B, P or H), c (B, H), w_hh (4H, P or H), w_hr (P, H) -> (h' (B, P or H), c').
    """
    if b_hh is None:
        return LSTMCellFn.apply(xg, h, c, w_hh, w_hr)
    return LSTMCellFn.apply(xg, h, c, w_hh, w_hr, b_hh)
