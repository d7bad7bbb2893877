"""PyTorch's raw top-level functions behind its nn layers. The recurrent cells
(``torch.lstm_cell``, ``gru_cell``, ``rnn_tanh_cell``, ``rnn_relu_cell``) are here; the stacked
loops (``torch.lstm``, ``gru``, ``rnn_tanh``, ``rnn_relu``) are in ``raw_recurrent_loops.py``,
``convolution``/``grid_sampler*``/``affine_grid_generator`` in ``raw_conv_sampling.py`` and
``embedding_renorm_``/``norm_except_dim`` in ``raw_misc.py``; this module gathers them.

Nothing here has its own recurrence: a cell is the input projection (one ``linear``) plus the
fused cell op of ``ops/recurrent.py`` that ``nn.LSTMCell``/``GRUCell``/``RNNCell`` use, and a
loop is ``run_layers`` of ``nn/layers/_recurrent_loop.py``, the code path of ``nn.LSTM``/
``GRU``/``RNN``; so gradients, forward mode and double backward are theirs.

PyTorch validates almost nothing in these functions (a wrong ``params`` count or shape reads
the weights wrongly or crashes the process); chainrule checks every argument and raises
naming the op, what it got and what it expects. Like PyTorch's, the raw cells take only
batched 2-d input and the loops 3-d (or packed 2-d) input; the nn layers add unbatched input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._kernels.half_gemm import is_host_half
from ..autograd.lower_precision import autocast_lower_precision_op
from ..autograd.tensor import Tensor
from ._raw_checks import need_floating, need_tensor, same_dtype, shape_of
from .affine import LinearFn
from .raw_conv_sampling import (
    affine_grid_generator,
    convolution,
    grid_sampler,
    grid_sampler_2d,
    grid_sampler_3d,
)
from .raw_misc import embedding_renorm_, norm_except_dim
from .raw_recurrent_loops import gru, lstm, rnn_relu, rnn_tanh
from .recurrent import gru_cell as _gru_step
from .recurrent import lstm_cell as _lstm_step
from .recurrent import rnn_cell as _rnn_step

# The loops and the other raw forms live in their own modules (raw_recurrent_loops.py,
# raw_conv_sampling.py, raw_misc.py); this module's ``__all__`` is the one registered in
# ops/__init__.py, so it lists them too. (raw_misc's Tensor-only resize/resize_as are not here.)
__all__ = [
    "affine_grid_generator",
    "convolution",
    "embedding_renorm_",
    "grid_sampler",
    "grid_sampler_2d",
    "grid_sampler_3d",
    "gru",
    "gru_cell",
    "lstm",
    "lstm_cell",
    "norm_except_dim",
    "rnn_relu",
    "rnn_relu_cell",
    "rnn_tanh",
    "rnn_tanh_cell",
]


# ----------------------------------------------------------------------------- cells


def _check_cell(
    op: str, gates: int, input: Any, states: Sequence, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any
) -> None:
    """PyTorch's checks (same messages) plus the ones it leaves out (ranks, dtypes, w_hh, bias).

    Integer tensors are refused (PyTorch fails on them inside the sigmoid/tanh, or, for
    ``rnn_tanh_cell``, returns a float32 tanh of an integer recurrence) except by
    ``rnn_relu_cell``, which computes in integers, as PyTorch's."""
    need_tensor(op, "input", input, 2)
    need_tensor(op, "w_ih", w_ih, 2)
    need_tensor(op, "w_hh", w_hh, 2)
    if input.shape[1] != w_ih.shape[1]:
        raise RuntimeError(
            f"{op}: input has inconsistent input_size: got {input.shape[1]} expected "
            f"{w_ih.shape[1]}"
        )
    hidden = w_hh.shape[1]
    for name, w in (("weight_ih", w_ih), ("weight_hh", w_hh)):
        if w.shape[0] != gates * hidden:
            raise RuntimeError(
                f"{op}: {name} first dim must be {gates} * hidden_size = {gates * hidden}, "
                f"but got {w.shape[0]}"
            )
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None:
            need_tensor(op, name, b)
            if tuple(b.shape) != (gates * hidden,):
                raise RuntimeError(
                    f"{op}: expected {name} of shape [{gates * hidden}] ({gates} * hidden_size), "
                    f"got {shape_of(b)}"
                )
    for k, s in enumerate(states):
        need_tensor(op, f"hx[{k}]" if len(states) > 1 else "hx", s, 2)
        if s.shape[0] != input.shape[0]:
            raise RuntimeError(
                f"{op}: Input batch size {input.shape[0]} doesn't match hidden{k} batch size "
                f"{s.shape[0]}"
            )
        if s.shape[1] != hidden:
            raise RuntimeError(
                f"{op}: hidden{k} has inconsistent hidden_size: got {s.shape[1]}, expected {hidden}"
            )
    named = [("input", input), ("w_ih", w_ih), ("w_hh", w_hh), ("b_ih", b_ih), ("b_hh", b_hh)]
    named += [(f"hx[{k}]", s) for k, s in enumerate(states)]
    if op != "rnn_relu_cell":
        need_floating(op, named)
    same_dtype(op, named)


def _folded_bias(b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor | None:
    """b_ih + b_hh, either alone when the other is None (PyTorch adds each that is given)."""
    if b_hh is not None and is_host_half(b_hh._data):  # the cell adds b_hh: see _cell_bias
        return b_ih
    if b_ih is None or b_hh is None:
        return b_ih if b_hh is None else b_hh
    return b_ih + b_hh


def _cell_bias(b_hh: Tensor | None) -> Tensor | None:
    """b_hh for the fused cell op: float16 on the CPU, where PyTorch rounds x W_ihᵀ + b_ih
    and h W_hhᵀ + b_hh separately (None elsewhere: folded into the input projection)."""
    return b_hh if b_hh is not None and is_host_half(b_hh._data) else None


def lstm_cell(
    input: Tensor,
    hx: Sequence[Tensor],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step (gate order i, f, g, o), PyTorch's ``torch.lstm_cell``: returns (h', c').

    Shapes: input (B, I), hx = (h, c) each (B, H), w_ih (4H, I), w_hh (4H, H), b_ih/b_hh (4H,)
    (each optional); [i f g o] = input w_ihᵀ + b_ih + h w_hhᵀ + b_hh, c' = σ(f) c + σ(i)
    tanh(g), h' = σ(o) tanh(c').
    """
    if not isinstance(hx, (tuple, list)) or not all(isinstance(s, Tensor) for s in hx):
        raise TypeError(
            f"lstm_cell(): argument 'hx' must be a tuple of Tensors, not {type(hx).__name__}"
        )
    if len(hx) != 2:
        raise RuntimeError(f"lstm_cell expects two hidden states, got {len(hx)}")
    _check_cell("lstm_cell", 4, input, hx, w_ih, w_hh, b_ih, b_hh)
    xg = LinearFn.apply(input, w_ih, _folded_bias(b_ih, b_hh))
    return _lstm_step(xg, hx[0], hx[1], w_hh, None, _cell_bias(b_hh))


def gru_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One GRU step (gate order r, z, n), PyTorch's ``torch.gru_cell``: returns h'.

    Shapes: input (B, I), hx (B, H), w_ih (3H, I), w_hh (3H, H), b_ih/b_hh (3H,) (each
    optional); r, z = σ(x w_i·ᵀ + b_i· + h w_h·ᵀ + b_h·), n = tanh(x w_inᵀ + b_in + r (h w_hnᵀ
    + b_hn)), h' = (1 - z) n + z h.
    """
    _check_cell("gru_cell", 3, input, (hx,), w_ih, w_hh, b_ih, b_hh)
    return _gru_step(LinearFn.apply(input, w_ih, b_ih), hx, w_hh, b_hh)


def _rnn_cell(
    op: str, act: str, input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any
) -> Tensor:
    _check_cell(op, 1, input, (hx,), w_ih, w_hh, b_ih, b_hh)
    xg = LinearFn.apply(input, w_ih, _folded_bias(b_ih, b_hh))
    return _rnn_step(xg, hx, w_hh, act, _cell_bias(b_hh))


@autocast_lower_precision_op
def rnn_tanh_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One Elman step h' = tanh(input w_ihᵀ + b_ih + hx w_hhᵀ + b_hh), ``torch.rnn_tanh_cell``.

    Shapes: input (B, I), hx (B, H), w_ih (H, I), w_hh (H, H), biases (H,) (each optional).
    """
    return _rnn_cell("rnn_tanh_cell", "tanh", input, hx, w_ih, w_hh, b_ih, b_hh)


@autocast_lower_precision_op
def rnn_relu_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One Elman step h' = relu(input w_ihᵀ + b_ih + hx w_hhᵀ + b_hh), ``torch.rnn_relu_cell``.

    Shapes: input (B, I), hx (B, H), w_ih (H, I), w_hh (H, H), biases (H,) (each optional).
    """
    return _rnn_cell("rnn_relu_cell", "relu", input, hx, w_ih, w_hh, b_ih, b_hh)
