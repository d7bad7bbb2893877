"""The time loop shared by ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``.

Every input, padded or packed, is handled in the packed layout: a (N, I) matrix holding the
rows of time step 0, then those of step 1, ..., with ``batch_sizes[t]`` rows at step t (a
padded (T, B, I) input is simply ``batch_sizes = [B] * T``). Per layer and direction:

1. one matmul projects the inputs of all time steps (``linear`` with W_ih and the biases);
2. ``split_rows`` cuts that projection into per-step blocks (one op);
3. one fused cell op per step (``ops/recurrent.py``) updates the state;
4. one ``cat`` joins the per-step outputs back into the packed layout.

Steps 2-4 become a single op (``ops/recurrent_seq.py``: the loop inside forward and backward,
the recurrent weight's gradient as one GEMM) for LSTM without ``proj_size`` and GRU in the
forward direction when all sequences have the same length (measured: the LSTM language
model's layer forward + backward ~26% faster, its training step ~25%).

Sequences end at different steps in a packed batch (they are sorted longest first), so in
the forward direction the state shrinks as sequences finish (their rows are kept as final
states) and in the reverse direction it grows as sequences start (from their initial
state). Dropout is applied to each layer's output except the last, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..._kernels.half_gemm import is_host_half
from ...autograd.tensor import Tensor
from ...ops.recurrent import gru_cell, lstm_cell, rnn_cell, split_rows
from ...ops.recurrent_gru_seq import gru_sequence
from ...ops.recurrent_seq import lstm_sequence
from ...ops.shape import cat, stack
from ..functional.dropout import dropout as _dropout
from ..functional.linear import linear

__all__ = ["run_layers"]


def _step_fn(mode: str, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None):
    """The per-step update ``state -> state`` for one layer and direction (``b_hh``: None
    when folded into the projection, which GRU never does)."""
    if mode == "LSTM":
        return lambda xg, s: lstm_cell(xg, s[0], s[1], w_hh, w_hr, b_hh)
    if mode == "GRU":
        return lambda xg, s: (gru_cell(xg, s[0], w_hh, b_hh),)
    nonlinearity = "relu" if mode == "RNN_RELU" else "tanh"
    return lambda xg, s: (rnn_cell(xg, s[0], w_hh, nonlinearity, b_hh),)


def _project(mode: str, x: Tensor, w_ih: Tensor, b_ih: Tensor | None, b_hh: Tensor | None):
    """x W_ihᵀ + b for all time steps at once; GRU keeps b_hh inside its cell (r ⊙ (W h + b))."""
    if b_ih is None:
        return linear(x, w_ih, None)
    bias = b_ih if mode == "GRU" else b_ih + b_hh
    return linear(x, w_ih, bias)


def _run_direction(
    step, blocks: tuple, batch_sizes: Sequence[int], state0: tuple, reverse: bool
) -> tuple[Tensor, tuple]:
    """Run one direction of one layer; returns (packed outputs, final state)."""
    n_steps = len(batch_sizes)
    outs: list = [None] * n_steps
    if not reverse:
        state, finished = state0, []
        for t in range(n_steps):
            bs = batch_sizes[t]
            if bs < state[0].shape[0]:  # sequences that ended at t-1 keep their state
                finished.append(tuple(s[bs:] for s in state))
                state = tuple(s[:bs] for s in state)
            state = step(blocks[t], state)
            outs[t] = state[0]
        if finished:
            parts = [state] + finished[::-1]
            state = tuple(cat([p[k] for p in parts], 0) for k in range(len(state)))
    else:
        first = batch_sizes[-1]
        state = state0 if first == state0[0].shape[0] else tuple(s[:first] for s in state0)
        for t in range(n_steps - 1, -1, -1):
            bs, have = batch_sizes[t], state[0].shape[0]
            if bs > have:  # sequences that start here begin from their initial state
                state = tuple(cat([s, s0[have:bs]], 0) for s, s0 in zip(state, state0))
            state = step(blocks[t], state)
            outs[t] = state[0]
    return (outs[0] if n_steps == 1 else cat(outs, 0)), state


def run_layers(
    mode: str,
    x: Tensor,
    batch_sizes: Sequence[int],
    hx: tuple,
    weights: Sequence[tuple],
    num_layers: int,
    bidirectional: bool,
    dropout: float,
    training: bool,
) -> tuple[Tensor, tuple]:
    """Run a stacked (bi)directional recurrent network on packed-layout input.

    Args:
        mode: "LSTM", "GRU", "RNN_TANH" or "RNN_RELU".
        x: (N, input_size) rows in packed order, N = sum(batch_sizes).
        batch_sizes: rows per time step, non-increasing.
        hx: initial states, each (num_layers * num_directions, batch_sizes[0], size):
            (h0,) or (h0, c0) for LSTM.
        weights: per layer and direction (layer-major), (w_ih, w_hh, b_ih, b_hh, w_hr).
        num_layers, bidirectional, dropout, training: as the module's.

    Returns:
        (output (N, num_directions * out_size), final states shaped like ``hx``).
    """
    num_dirs = 2 if bidirectional else 1
    sizes = list(batch_sizes)
    finals: list = []
    layer_in = x
    for layer in range(num_layers):
        dir_outs = []
        for d in range(num_dirs):
            k = layer * num_dirs + d
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[k]
            fused = sizes[0] == sizes[-1] > 0  # a batch of 0 has no step count in its rows
            fused = mode in ("LSTM", "GRU") and w_hr is None and d == 0 and fused
            # float16 LSTM and RNN: b_hh joins each step's h W_hhᵀ, rounded with it, as in
            # PyTorch (GRU keeps b_hh in its cell anyway)
            sep = mode != "GRU" and b_ih is not None and is_host_half(w_hh._data)
            xg = linear(layer_in, w_ih, b_ih) if sep else _project(mode, layer_in, w_ih, b_ih, b_hh)
            if fused:
                # equal lengths, forward direction: the whole loop as one op
                if mode == "LSTM":
                    out, *state = lstm_sequence(xg, hx[0][k], hx[1][k], w_hh, b_hh if sep else None)
                else:
                    out, *state = gru_sequence(xg, hx[0][k], w_hh, b_hh)
                dir_outs.append(out)
                finals.append(tuple(state))
                continue
            blocks = split_rows(xg, sizes)
            step = _step_fn(mode, w_hh, b_hh if sep or mode == "GRU" else None, w_hr)
            out, state = _run_direction(
                step, blocks, sizes, tuple(h[k] for h in hx), reverse=d == 1
            )
            dir_outs.append(out)
            finals.append(state)
        layer_in = dir_outs[0] if num_dirs == 1 else cat(dir_outs, 1)
        if dropout > 0 and training and layer < num_layers - 1:
            layer_in = _dropout(layer_in, dropout, True)
    final_states = tuple(stack([s[j] for s in finals], 0) for j in range(len(hx)))
    return layer_in, final_states
