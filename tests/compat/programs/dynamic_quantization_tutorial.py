"""PyTorch's "Dynamic Quantization" tutorials (the LSTM word language model and BERT), size-reduced.

The idioms: the word-language-model ``LSTMModel`` (``nn.Embedding`` encoder, ``nn.LSTM``,
``nn.Linear`` decoder, ``nn.Dropout``, ``init_weights`` with ``weight.data.uniform_`` and
``bias.data.zero_()``, ``init_hidden`` from ``next(self.parameters()).new_zeros``) evaluated
with ``repackage_hidden`` and ``criterion(output.view(-1, ntokens), targets)`` under
``torch.no_grad()``; ``torch.quantization.quantize_dynamic(model, {nn.LSTM, nn.Linear},
dtype=torch.qint8)`` (the LSTM tutorial's call), ``{nn.Linear}`` (the BERT tutorial's) and
``quantize_dynamic`` with the ``per_channel_dynamic_qconfig`` spec; ``print(quantized_model)``;
``print_size_of_model`` (``torch.save(model.state_dict(), "temp.p")``, ``os.path.getsize``,
``os.remove``) for the float model, and the ``{nn.Linear}`` model's weight bytes from
``state_dict()`` (the packed ``(weight, bias)`` tuples, ``numel() * element_size()``; chainrule
cannot ``save`` quantized tensors yet); the quantized decoder's
``weight().q_scale()`` / ``int_repr()`` / ``dequantize()``; float vs quantized outputs
compared (``(a - b).abs().max()``); the deprecation warnings silenced with
``warnings.catch_warnings()``.

Changed: the tutorial's Wikitext-2 corpus and 8 M-parameter model -> random tokens, a 12-word
vocabulary and 8/10-wide layers.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DTYPE = "float32"  # quantized layers compute in float32
NTOKENS, NINP, NHID, NLAYERS = 12, 8, 10, 2
BPTT, BATCH = 5, 3


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn

    class LSTMModel(nn.Module):
        """Container module with an encoder, a recurrent module, and a decoder."""

        def __init__(self, ntoken: int, ninp: int, nhid: int, nlayers: int, dropout: float = 0.5):
            super().__init__()
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)
            self.init_weights()
            self.nhid = nhid
            self.nlayers = nlayers

        def init_weights(self) -> None:
            initrange = 0.1
            self.encoder.weight.data.uniform_(-initrange, initrange)
            self.decoder.bias.data.zero_()
            self.decoder.weight.data.uniform_(-initrange, initrange)

        def forward(self, input: Any, hidden: Any) -> tuple[Any, Any]:  # noqa: A002
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output)
            return decoded, hidden

        def init_hidden(self, bsz: int) -> tuple[Any, Any]:
            weight = next(self.parameters())
            return (
                weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid),
            )

    return LSTMModel(ntoken=NTOKENS, ninp=NINP, nhid=NHID, nlayers=NLAYERS, dropout=0.5)


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    nn = torch.nn
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    model.eval()
    rng = np.random.default_rng(0)
    test_data = as_tensor(torch, rng.integers(0, NTOKENS, (4 * BPTT + 1, BATCH)))
    criterion = nn.CrossEntropyLoss()

    def repackage_hidden(h: Any) -> Any:
        """Wraps hidden states in new Tensors, to detach them from their history."""
        if isinstance(h, torch.Tensor):
            return h.detach()
        return tuple(repackage_hidden(v) for v in h)

    def get_batch(source: Any, i: int) -> tuple[Any, Any]:
        seq_len = min(BPTT, len(source) - 1 - i)
        data = source[i : i + seq_len]
        target = source[i + 1 : i + 1 + seq_len].reshape(-1)
        return data, target

    def evaluate(model_: Any, data_source: Any) -> tuple[float, Any]:
        model_.eval()
        total_loss = 0.0
        hidden = model_.init_hidden(BATCH)
        outputs = []
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, BPTT):
                data, targets = get_batch(data_source, i)
                output, hidden = model_(data, hidden)
                hidden = repackage_hidden(hidden)
                output_flat = output.view(-1, NTOKENS)
                total_loss += len(data) * criterion(output_flat, targets).item()
                outputs.append(output_flat)
        return total_loss / (len(data_source) - 1), torch.cat(outputs)

    def print_size_of_model(model_: Any) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "temp.p")
            torch.save(model_.state_dict(), path)
            size = os.path.getsize(path)
            print("Size (MB):", size / 1e6)
            os.remove(path)
        return size

    def weight_bytes(model_: Any) -> int:
        total = 0
        for value in model_.state_dict().values():
            for t in value if isinstance(value, tuple) else (value,):
                if isinstance(t, torch.Tensor):
                    total += t.numel() * t.element_size()
        return total

    # both frameworks warn that torch.ao.quantization (and quantized tensors) are deprecated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        quantized_model = torch.quantization.quantize_dynamic(
            model, {nn.LSTM, nn.Linear}, dtype=torch.qint8
        )
        linear_only = torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
        per_channel = torch.ao.quantization.quantize_dynamic(
            model, {nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}, dtype=torch.qint8
        )
    print(quantized_model)
    assert print_size_of_model(model) > 0
    float_loss, float_out = evaluate(model, test_data)
    q_loss, q_out = evaluate(quantized_model, test_data)
    pc_loss, pc_out = evaluate(per_channel, test_data)
    lin_loss, _ = evaluate(linear_only, test_data)

    w = quantized_model.decoder.weight()
    return [
        float_loss,
        q_loss,
        pc_loss,
        lin_loss,
        float((float_out - q_out).abs().max()),
        float((float_out - pc_out).abs().max()),
        float(q_out.sum()),
        float(w.q_scale()),
        float(w.int_repr().float().sum()),
        float(w.dequantize().abs().sum()),
        float(weight_bytes(model)),
        float(weight_bytes(linear_only)),
        float(quantized_model.decoder.bias().detach().sum()),
    ]
