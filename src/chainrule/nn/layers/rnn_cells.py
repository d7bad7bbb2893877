"""Single-step recurrent cells: ``RNNCell``, ``LSTMCell`` and ``GRUCell``.

PyTorch's cells: parameters ``weight_ih`` (G·H, input_size), ``weight_hh`` (G·H, H),
``bias_ih`` and ``bias_hh`` (G·H) with G = 1, 4, 3 gates, all U(-1/√H, 1/√H). Each step is
the input projection (one ``linear``) plus one fused cell op from ``ops/recurrent.py``.
"""

from __future__ import annotations

import math
from typing import Any

from ..._kernels.half_gemm import is_host_half
from ...autograd.lower_precision import AUTOCAST
from ...autograd.tensor import Tensor
from ...creation import empty, zeros
from ...creation_options import NegativeSizeError, _shape
from ...ops.recurrent import gru_cell, lstm_cell, rnn_cell
from .. import init
from ..functional.linear import linear
from ..module import Module
from ..parameter import Parameter

__all__ = ["GRUCell", "LSTMCell", "RNNCell", "RNNCellBase"]


class _SizeTypeError(TypeError, ValueError):
    """A cell size that is not an int: PyTorch's TypeError, and the ValueError chainrule
    raised before."""


class RNNCellBase(Module):
    """Parameters, initialisation and input checks shared by the cells."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        gates = num_chunks * hidden_size
        for shape in ((gates, input_size), (gates, hidden_size)):
            try:  # PyTorch's empty((gates, size)): a bool read as an int after the first size
                _shape((shape,), "empty")
            except NegativeSizeError:  # its RuntimeError (NegativeSizeError is a ValueError)
                raise
            except TypeError as err:  # its TypeError (and the ValueError chainrule raised)
                raise _SizeTypeError(str(err)) from None
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(empty(gates, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(empty(gates, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(empty(gates, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(gates, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/√hidden_size, 1/√hidden_size), as PyTorch."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, hx: Any, n_states: int) -> tuple:
        """Validate; returns (2-d input, tuple of 2-d states, batched?)."""
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.ndim not in (1, 2):
            got = f"{input.ndim}D" if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {got} instead")
        states = None
        if hx is not None:
            states = tuple(hx) if n_states == 2 else (hx,)
            if len(states) != n_states or not all(isinstance(s, Tensor) for s in states):
                want = "a tuple (h, c) of two Tensors" if n_states == 2 else "a Tensor"
                raise TypeError(f"{name}: hx must be {want}, got {type(hx).__name__}")
            for k, s in enumerate(states):
                if s.ndim not in (1, 2):
                    what = f"hx[{k}]" if n_states == 2 else "hidden"
                    raise ValueError(
                        f"{name}: Expected {what} to be 1D or 2D, got {s.ndim}D instead"
                    )
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise RuntimeError(
                f"{name}: input has inconsistent input_size: got "
                f"{x.shape[1]} expected {self.input_size}"
            )
        if states is None:
            states = tuple(
                zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
                for _ in range(n_states)
            )
        else:
            states = tuple(s if batched else s.unsqueeze(0) for s in states)
            for s in states:
                if s.ndim != 2 or s.shape[0] != x.shape[0]:
                    raise RuntimeError(
                        f"{name}: Input batch size {x.shape[0]} doesn't match "
                        f"hidden batch size {s.shape[0]} (hidden shape "
                        f"{tuple(s.shape)})"
                    )
                if s.shape[1] != self.hidden_size:
                    raise RuntimeError(
                        f"{name}: hidden has inconsistent hidden_size: got "
                        f"{s.shape[1]}, expected {self.hidden_size}"
                    )
        return x, states, batched

    def _project(self, x: Tensor, fold_bias: bool) -> Tensor:
        if self.bias_ih is None:
            return linear(x, self.weight_ih, None)
        return linear(x, self.weight_ih, self.bias_ih + self.bias_hh if fold_bias else self.bias_ih)

    def _split_bias(self) -> bool:
        """Whether b_hh goes to the cell op, added to h W_hhᵀ (float16 on the CPU, where
        PyTorch rounds x W_ihᵀ + b_ih and h W_hhᵀ + b_hh separately), not folded into the
        input projection."""
        return self.bias_hh is not None and is_host_half(self.weight_hh._data)


class RNNCell(RNNCellBase):
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act = tanh or relu.

    Shape: input (B, input_size) or (input_size,); hx like it with hidden_size (default
    zeros) -> h' (B, hidden_size) or (hidden_size,).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ):
        # PyTorch keeps any nonlinearity and refuses an unknown one when called
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        if self.nonlinearity not in ("tanh", "relu"):  # PyTorch's RuntimeError, when called
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        if AUTOCAST[0]:  # PyTorch's rnn_tanh_cell / rnn_relu_cell, which CPU autocast casts
            from ...ops.raw_functional import rnn_relu_cell, rnn_tanh_cell  # nn imports ops

            cell = rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell
            out = cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        elif self._split_bias():
            xg, b_hh = self._project(x, False), self.bias_hh
            out = rnn_cell(xg, h, self.weight_hh, self.nonlinearity, b_hh)
        else:
            out = rnn_cell(self._project(x, True), h, self.weight_hh, self.nonlinearity)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gate order i, f, g, o): returns (h', c').

    Shape: input (B, input_size) or (input_size,); hx = (h, c) each (B, hidden_size) or
    unbatched (default zeros) -> (h', c') of the same shape.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple[Tensor, Tensor]:
        x, (h, c), batched = self._prepare(input, hx, 2)
        if self._split_bias():
            xg = self._project(x, False)
            h, c = lstm_cell(xg, h, c, self.weight_hh, None, self.bias_hh)
        else:
            h, c = lstm_cell(self._project(x, True), h, c, self.weight_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gate order r, z, n): returns h'.

    Shape: input (B, input_size) or (input_size,); hx (B, hidden_size) or unbatched
    (default zeros) -> h' of the same shape.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        out = gru_cell(self._project(x, False), h, self.weight_hh, self.bias_hh)
        return out if batched else out.squeeze(0)
