"""Recurrent layers: ``RNN`` (tanh/relu), ``LSTM`` (with ``proj_size``) and ``GRU``.

PyTorch's modules, with the same constructor arguments, parameter names (``weight_ih_l0``,
``weight_hh_l0_reverse``, ``bias_ih_l1``, ``weight_hr_l0`` ...), shapes, gate order (LSTM
i, f, g, o; GRU r, z, n) and initialisation (every parameter U(-1/√hidden, 1/√hidden)), so
state dicts move between the two unchanged. Inputs may be padded tensors (batched or
unbatched) or :class:`~chainrule.nn.utils.rnn.PackedSequence`. The time loop is in
``_recurrent_loop.py``; each step is one fused op (``ops/recurrent.py``).

Each class here fixes its ``mode`` and checks its own arguments; everything else (the
parameters, input and state checks, padded and packed forward) is their common base
``RNNBase`` in ``rnn_base.py``, re-exported here.
"""

from __future__ import annotations

from typing import Any

from .rnn_base import RNNBase

__all__ = ["GRU", "LSTM", "RNN", "RNNBase"]


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), act tanh or relu.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional:
            see :class:`RNNBase`.
        nonlinearity: "tanh" (default) or "relu".

    Shape: see :meth:`RNNBase.forward`; returns (output, h_n).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNN got unexpected keyword arguments {sorted(kwargs)}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), PyTorch's formulation.

    [i f g o] = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh; i, f, o = σ(·), g = tanh(·);
    c' = f c + i g; h' = o tanh(c'), then h' W_hrᵀ when ``proj_size > 0``.

    Args: see :class:`RNNBase` (``proj_size`` included).

    Shape: see :meth:`RNNBase.forward`; returns (output, (h_n, c_n)); ``hx`` is (h_0, c_0).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014), PyTorch's formulation.

    r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr), z likewise, n = tanh(x W_inᵀ + b_in +
    r ⊙ (h W_hnᵀ + b_hn)), h' = (1 - z) n + z h.

    Args: see :class:`RNNBase`.

    Shape: see :meth:`RNNBase.forward`; returns (output, h_n).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
        **kwargs: Any,
    ):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU got unexpected keyword arguments {sorted(kwargs)}")
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
