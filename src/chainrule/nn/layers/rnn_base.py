"""``RNNBase``: the machinery that ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` share (PyTorch's
``nn.RNNBase``).

It checks the configuration, creates the parameters with PyTorch's names (``weight_ih_l0``,
``weight_hh_l0_reverse``, ``bias_ih_l1``, ``weight_hr_l0`` ...), shapes, gate order (LSTM
i, f, g, o; GRU r, z, n) and initialisation (every parameter U(-1/√hidden, 1/√hidden)), and
runs the network: it validates padded (batched or unbatched) inputs and initial states,
handles :class:`~chainrule.nn.utils.rnn.PackedSequence` inputs, and hands every case to the
time loop of ``_recurrent_loop.py``. The three concrete layers, which only fix ``mode`` and
check their own arguments, are in ``recurrent.py``, which re-exports ``RNNBase``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from ...autograd.tensor import Tensor
from ...creation import empty, zeros
from ...ops._util import ShapeError
from ...ops.gather_scatter import index_select
from .. import init
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from ._recurrent_loop import run_layers

__all__ = ["RNNBase"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _check_config(
    mode: str,
    input_size: Any,
    hidden_size: Any,
    num_layers: Any,
    bias: Any,
    batch_first: Any,
    dropout: Any,
    proj_size: Any,
) -> None:
    if mode not in _GATES:
        raise ValueError("Unrecognized RNN mode: " + str(mode))
    if not isinstance(dropout, (numbers.Number, str)):  # PyTorch's float(dropout) TypeError
        raise TypeError(
            "dropout should be a number in range [0, 1] representing the "
            f"probability of an element being zeroed, got {type(dropout).__name__} {dropout!r}"
        )
    if (
        not isinstance(dropout, numbers.Number)
        or isinstance(dropout, bool)
        or not 0 <= dropout <= 1
    ):
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the "
            f"probability of an element being zeroed, got {dropout!r}"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so "
            "non-zero dropout expects num_layers greater than 1, but got "
            f"dropout={dropout} and num_layers={num_layers}",
            stacklevel=4,
        )
    for name, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
    for name, value in (
        ("input_size", input_size),
        ("hidden_size", hidden_size),
        ("num_layers", num_layers),
    ):  # PyTorch's checks: isinstance(int) (a bool passes), none of num_layers' type
        if name != "num_layers" and not isinstance(value, int):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero, got {value}")
    if isinstance(hidden_size, bool) and mode.startswith("RNN"):
        # passes isinstance(int); PyTorch's plain RNN's gate_size is hidden_size itself (an
        # LSTM's 4 * True is an int), which its weights' empty() refuses
        raise TypeError(
            "empty(): argument 'size' (position 1) must be tuple of ints, but found element of "
            f"type bool at pos 0\n{mode}: hidden_size must be an int, got {hidden_size}"
        )
    if proj_size < 0:
        raise ValueError(
            "proj_size should be a positive integer or zero to disable "
            f"projections, got {proj_size}"
        )
    if proj_size >= hidden_size:
        raise ValueError(
            f"proj_size has to be smaller than hidden_size, got proj_size="
            f"{proj_size} and hidden_size={hidden_size}"
        )


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU (PyTorch's ``nn.RNNBase``).

    Args:
        mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
        input_size, hidden_size: features of x and of h.
        num_layers: stacked layers (layer k > 0 reads layer k-1's output).
        bias: learn b_ih and b_hh.
        batch_first: inputs/outputs are (B, T, *) instead of (T, B, *) (states are not).
        dropout: dropout probability on each layer's output except the last.
        bidirectional: add a reverse-time direction; outputs concatenate both.
        proj_size: LSTM only: project h to this size with ``weight_hr`` (0: none).
    """

    def __init__(
        self,
        mode: str,
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
        super().__init__()
        _check_config(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size
        )
        if proj_size > 0 and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = proj_size
        num_dirs = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else real_hidden * num_dirs
            for direction in range(num_dirs):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [
                    ("weight_ih", (gate_size, layer_in)),
                    ("weight_hh", (gate_size, real_hidden)),
                ]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for base, shape in shapes:
                    setattr(
                        self, base + suffix, Parameter(empty(*shape, dtype=dtype, device=device))
                    )
                    names.append(base + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/√hidden_size, 1/√hidden_size), as PyTorch."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """No-op, kept for PyTorch compatibility.

        PyTorch uses it to pack the weights into one contiguous cuDNN buffer; chainrule's
        cells read each parameter directly (as PyTorch does on the CPU), so there is
        nothing to do.
        """

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """Parameters grouped per layer and direction, in PyTorch's order."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _layer_weights(self) -> list[tuple]:
        out = []
        for names in self._all_weights:
            params = {n.split("_l")[0]: getattr(self, n) for n in names}
            out.append(
                (
                    params["weight_ih"],
                    params["weight_hh"],
                    params.get("bias_ih"),
                    params.get("bias_hh"),
                    params.get("weight_hr"),
                )
            )
        return out

    def _state_sizes(self) -> list[int]:
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        return [real_hidden, self.hidden_size] if self.mode == "LSTM" else [real_hidden]

    def _name(self) -> str:
        return "LSTM" if self.mode == "LSTM" else "GRU" if self.mode == "GRU" else "RNN"

    def _check_input(self, data: Tensor, expected_dim: int) -> None:
        if not isinstance(data, Tensor):
            raise TypeError(
                f"{self._name()}: input must be a Tensor or PackedSequence, got "
                f"{type(data).__name__}"
            )
        weight = self.weight_ih_l0
        if data.dtype != weight.dtype:
            raise ValueError(
                f"RNN input dtype ({data.dtype}) does not match weight dtype "
                f"({weight.dtype}). Convert input: input.to({weight.dtype}), or "
                f"convert model: model.to({data.dtype})"
            )
        if data.ndim != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {data.ndim}")
        if data.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {data.shape[-1]}"
            )

    def _initial_states(self, hx: Any, batched: bool, batch: int, like: Tensor) -> tuple:
        """The initial states as a tuple of (L*D, B, size) tensors, validated."""
        rows = self.num_layers * (2 if self.bidirectional else 1)
        sizes = self._state_sizes()
        if hx is None:
            return tuple(zeros(rows, batch, s, dtype=like.dtype, device=like.device) for s in sizes)
        is_lstm = self.mode == "LSTM"
        if is_lstm:
            _check_lstm_states(hx)
        elif not isinstance(hx, Tensor):  # PyTorch reads hx.dim() first: an AttributeError
            kind = type(hx)
            name = (
                kind.__name__
                if kind.__module__ == "builtins"
                else f"{kind.__module__}.{kind.__name__}"
            )
            raise AttributeError(f"{name!r} object has no attribute 'dim'")
        states = (hx[0], hx[1]) if is_lstm else (hx,)  # a Tensor hx: its first two rows
        want = 3 if batched else 2
        if any(s.ndim != want for s in states):
            dims = ", ".join(f"{s.ndim}-D" for s in states)
            what = "hx and cx" if is_lstm else "hx"
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise RuntimeError(
                f"For {kind} input, {what} should also be {want}-D but got "
                f"({dims}) tensor{'s' if is_lstm else ''}"
            )
        if not batched:
            states = tuple(s.unsqueeze(1) for s in states)
        for k, (s, size) in enumerate(zip(states, sizes)):
            expected = (rows, batch, size)
            if tuple(s.shape) != expected:
                what = f"hidden[{k}]" if is_lstm else "hidden"
                raise RuntimeError(f"Expected {what} size {expected}, got {list(s.shape)}")
        if is_lstm and batched and isinstance(hx, Tensor):
            raise TypeError(_LSTM_TENSOR_HX)
        return states

    def forward(self, input: Tensor | PackedSequence, hx: Any = None) -> tuple:
        """Run the network; returns (output, h_n) or, for LSTM, (output, (h_n, c_n)).

        Shape (T steps, B batch, D = 2 if bidirectional else 1, H_out = proj_size or
        hidden_size): input (T, B, input_size), (B, T, input_size) with batch_first, or
        (T, input_size) unbatched; output (T, B, D * H_out) likewise; h_n (num_layers * D, B,
        H_out); c_n (num_layers * D, B, hidden_size). A PackedSequence input gives a
        PackedSequence output.
        """
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        name = self._name()
        if not isinstance(input, Tensor) or input.ndim not in (2, 3):
            got = f"{input.ndim}D" if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {got} instead")
        batched = input.ndim == 3
        batch_dim = 0 if self.batch_first else 1
        x = input if batched else input.unsqueeze(batch_dim)
        self._check_input(x, 3)
        if self.batch_first:
            x = x.transpose(0, 1)
        steps, batch = x.shape[0], x.shape[1]
        if steps == 0:
            raise ShapeError(  # a RuntimeError in PyTorch
                f"{name}: Expected sequence length to be larger than 0 in RNN (got input of "
                f"shape {tuple(input.shape)})"
            )
        states = self._initial_states(hx, batched, batch, x)
        self._check_bidirectional()
        out, finals = run_layers(
            self.mode,
            x.reshape(steps * batch, self.input_size),
            [batch] * steps,
            states,
            self._layer_weights(),
            self.num_layers,
            self.bidirectional,
            self.dropout,
            self.training,
        )
        out = out.reshape(steps, batch, out.shape[-1])
        if self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(batch_dim)
            finals = tuple(f.squeeze(1) for f in finals)
        return out, (finals if self.mode == "LSTM" else finals[0])

    def _check_bidirectional(self) -> None:
        """PyTorch's kernel parser, when called (padded and packed input alike): a
        ``bidirectional`` that is not a bool is refused there, not at construction."""
        if type(self.bidirectional) is not bool:
            raise TypeError(
                f"{self.mode.lower()}() received an invalid combination of arguments: argument "
                f"'bidirectional' must be bool, not {type(self.bidirectional).__name__}"
            )

    def _forward_packed(self, packed: PackedSequence, hx: Any) -> tuple:
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        self._check_input(data, 2)
        sizes = [int(b) for b in batch_sizes._data]
        states = self._initial_states(hx, True, sizes[0], data)
        if sorted_indices is not None and hx is not None:  # the user's batch order -> sorted
            states = tuple(index_select(s, 1, sorted_indices) for s in states)
        self._check_bidirectional()
        out, finals = run_layers(
            self.mode,
            data,
            sizes,
            states,
            self._layer_weights(),
            self.num_layers,
            self.bidirectional,
            self.dropout,
            self.training,
        )
        if unsorted_indices is not None:
            finals = tuple(index_select(f, 1, unsorted_indices) for f in finals)
        output = PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices)
        return output, (finals if self.mode == "LSTM" else finals[0])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


# PyTorch's error when a batched LSTM gets one tensor for ``hx`` whose first two rows have
# valid state shapes (its kernel wants a tuple of tensors, not the tensor itself).
_LSTM_TENSOR_HX = (
    "lstm() received an invalid combination of arguments - got (Tensor, Tensor, list, bool, "
    "int, float, bool, bool, bool), but expected one of:\n * (Tensor data, Tensor "
    "batch_sizes, tuple of Tensors hx, tuple of Tensors params, bool has_biases, int "
    "num_layers, float dropout, bool train, bool bidirectional)\n * (Tensor input, tuple of "
    "Tensors hx, tuple of Tensors params, bool has_biases, int num_layers, float dropout, "
    "bool train, bool bidirectional, bool batch_first)\n(hx must be a tuple (h_0, c_0))"
)


def _check_lstm_states(hx: Any) -> None:
    """PyTorch's errors for an LSTM ``hx`` that is not a pair ``(h_0, c_0)``: it indexes
    ``hx[1]`` (an IndexError for one state or a tensor with one row), then wants exactly two
    states (RuntimeError for more). A tensor with two or more rows passes here: its rows
    ``hx[0]``, ``hx[1]`` are the states (valid for unbatched input, as in PyTorch)."""
    if isinstance(hx, (tuple, list)):
        if len(hx) < 2:
            raise IndexError("tuple index out of range")
        if len(hx) > 2:
            raise RuntimeError("lstm expects two hidden states")
        return
    if isinstance(hx, Tensor):
        if hx.ndim == 0:
            raise IndexError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            )
        if hx.shape[0] < 2:
            raise IndexError(f"index 1 is out of bounds for dimension 0 with size {hx.shape[0]}")
        return
    raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0) of two tensors, got {type(hx).__name__}")
