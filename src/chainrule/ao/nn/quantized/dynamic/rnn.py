"""``cr.ao.nn.quantized.dynamic.LSTM`` / ``GRU`` (PyTorch's ``DynamicQuantizedLSTM`` /
``DynamicQuantizedGRU``): recurrent layers with int8 weights whose activations are quantized
on the fly, what ``quantize_dynamic`` puts in place of ``nn.LSTM`` / ``nn.GRU``
(:mod:`.._rnn_kernels` has the arithmetic)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..... import nn
from .....autograd.tensor import Tensor
from .....qtypes import qint8
from .....quantized_creation import quantize_per_tensor
from .....quantized_tensor import QuantizedTensor
from .._rnn_kernels import QuantizedWeights, recurrent_layer

__all__ = ["GRU", "LSTM", "PackedParameter"]


class PackedParameter(nn.Module):
    """One layer-direction's weights; its state dict holds them under ``param`` (PyTorch
    stores a TorchScript object there; here the tuple ``(w_ih, w_hh, b_ih, b_hh)``)."""

    def __init__(self, param: tuple) -> None:
        super().__init__()
        self.param = param

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "param"] = self.param

    def _load_from_state_dict(
        self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
        missing_keys: list, unexpected_keys: list, error_msgs: list,
    ) -> None:  # fmt: skip
        if prefix + "param" in state_dict:
            self.param = state_dict[prefix + "param"]
        elif strict:
            missing_keys.append(prefix + "param")
        rest = {k: v for k, v in state_dict.items() if k != prefix + "param"}
        super()._load_from_state_dict(
            rest, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


def _quantize_weight(w: Tensor, observer_factory: Any) -> QuantizedTensor:
    observer = observer_factory()
    if observer.dtype is not qint8 or getattr(observer, "ch_axis", None) is not None:
        raise NotImplementedError(
            "quantized dynamic LSTM/GRU: only per-tensor qint8 weight observers are supported"
        )
    observer(w)
    scale, zp = observer.calculate_qparams()
    return quantize_per_tensor(
        w, float(scale._data.reshape(-1)[0]), int(zp._data.reshape(-1)[0]), qint8
    )


class _RNNBase(nn.Module):
    _mode = ""

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        dtype: Any = qint8,
    ) -> None:  # fmt: skip
        super().__init__()
        if dtype is not qint8:
            raise NotImplementedError(
                f"quantized dynamic {self._mode}: dtype {dtype!r} is not supported "
                "(chainrule.qint8)"
            )
        self.mode = self._mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.dtype, self.version = bidirectional, dtype, 2
        self._all_weight_values = nn.ModuleList()

    def _get_name(self) -> str:
        return f"DynamicQuantized{self._mode}"

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
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

    def __repr__(self) -> str:
        return f"{self._get_name()}({self.extra_repr()})"

    @classmethod
    def from_float(cls, mod: Any, use_precomputed_fake_quant: bool = False) -> Any:
        """The quantized form of float ``mod``: every weight quantized per tensor with the
        weight observer of ``mod.qconfig`` (PyTorch's default dynamic qconfig if none)."""
        if use_precomputed_fake_quant:
            raise NotImplementedError("from_float: use_precomputed_fake_quant")
        if not mod.bias:
            raise AssertionError("mod.bias must be True")
        if getattr(mod, "proj_size", 0):
            raise NotImplementedError(f"quantized dynamic {cls._mode}: proj_size")
        qconfig = getattr(mod, "qconfig", None)
        if qconfig is None:
            # in here: ao.quantization imports this module (its default mapping)
            from ....quantization.qconfig import default_dynamic_qconfig

            qconfig = default_dynamic_qconfig
        out = cls(
            mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first,
            mod.dropout, mod.bidirectional,
        )  # fmt: skip
        for layer in range(mod.num_layers):
            for suffix in ("", "_reverse")[: 2 if mod.bidirectional else 1]:
                name = f"l{layer}{suffix}"
                w_ih = _quantize_weight(getattr(mod, f"weight_ih_{name}").detach(), qconfig.weight)
                w_hh = _quantize_weight(getattr(mod, f"weight_hh_{name}").detach(), qconfig.weight)
                b_ih = getattr(mod, f"bias_ih_{name}", None) if mod.bias else None
                b_hh = getattr(mod, f"bias_hh_{name}", None) if mod.bias else None
                biases = tuple(None if b is None else b.detach().clone() for b in (b_ih, b_hh))
                out._all_weight_values.append(PackedParameter((w_ih, w_hh, *biases)))
        return out

    def _weights(self, index: int) -> QuantizedWeights:
        w_ih, w_hh, b_ih, b_hh = self._all_weight_values[index].param

        def parts(w: QuantizedTensor) -> tuple:
            return (w._q_int, w.q_scale(), w.q_zero_point())

        def arr(b: Tensor | None) -> np.ndarray | None:
            return None if b is None else np.asarray(b.detach()._data, np.float32)

        return QuantizedWeights(parts(w_ih), parts(w_hh), arr(b_ih), arr(b_hh))

    def _run(self, input: Any, hx: Any) -> tuple[np.ndarray, list, list]:  # noqa: A002
        if not isinstance(input, Tensor):
            raise NotImplementedError(
                f"quantized dynamic {self._mode}: input must be a Tensor (PackedSequence is "
                "not supported)"
            )
        x = np.asarray(input.detach()._data)
        if x.dtype != np.float32:
            raise RuntimeError(f"quantized dynamic {self._mode}: expected a float32 input")
        if x.ndim != 3:  # PyTorch's quantized layers take no unbatched input
            raise RuntimeError(f"input must have 3 dimensions, got {x.ndim}")
        if self.batch_first:
            x = x.transpose(1, 0, 2)
        dirs = 2 if self.bidirectional else 1
        shape = (self.num_layers * dirs, x.shape[1], self.hidden_size)
        states = _initial_states(self._mode, hx, shape)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                c0 = None if states[1] is None else states[1][k]
                out, h, c = recurrent_layer(
                    self._mode, x, states[0][k], c0, self._weights(k), reverse=d == 1
                )
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if dirs == 1 else np.concatenate(outs, axis=2)
        if self.batch_first:
            x = x.transpose(1, 0, 2)
        return np.ascontiguousarray(x), h_n, c_n


def _initial_states(mode: str, hx: Any, shape: tuple) -> tuple:
    def arr(t: Tensor) -> np.ndarray:
        a = np.asarray(t.detach()._data, np.float32)
        if a.shape != shape:
            raise RuntimeError(f"Expected hidden size {tuple(shape)}, got {list(a.shape)} ({mode})")
        return a

    if hx is None:
        zeros = np.zeros(shape, np.float32)
        return (zeros, zeros if mode == "LSTM" else None)
    if mode == "LSTM":
        return (arr(hx[0]), arr(hx[1]))
    return (arr(hx), None)


def _out(a: np.ndarray) -> Tensor:
    return Tensor._make(a, False, None, 0)


class LSTM(_RNNBase):
    """A dynamically quantized LSTM: ``output, (h_n, c_n) = lstm(input, (h_0, c_0))``."""

    _mode = "LSTM"

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:  # noqa: A002
        out, h_n, c_n = self._run(input, hx)
        return _out(out), (_out(np.stack(h_n)), _out(np.stack(c_n)))


class GRU(_RNNBase):
    """A dynamically quantized GRU: ``output, h_n = gru(input, h_0)``."""

    _mode = "GRU"

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        out, h_n, _ = self._run(input, hx)
        return _out(out), _out(np.stack(h_n))
