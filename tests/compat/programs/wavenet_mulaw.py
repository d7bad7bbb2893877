"""WaveNet as r9y9/wavenet_vocoder and vincentherrmann/pytorch-wavenet write it, size-reduced (a
few dilated layers over a short synthetic waveform).

The idioms: mu-law companding (``torch.sign(x) * torch.log1p(mu * torch.abs(x)) /
math.log1p(mu)``, its inverse ``torch.sign(y) * ((1 + mu) ** torch.abs(y) - 1) / mu`` with a
scalar base), the quantisation ``((x + 1) / 2 * mu + 0.5).long()`` and back; one-hot inputs
via ``torch.zeros(B, C, T).scatter_(1, x.unsqueeze(1), 1.)``; a causal dilated ``Conv1d`` fed
``F.pad(x, (pad, 0))``; r9y9's ``ResidualConv1dGLU`` (``F.dropout(x, p=..., training=
self.training)``, ``a, b = x.split(x.size(splitdim) // 2, dim=splitdim)``, ``torch.tanh(a) *
torch.sigmoid(b)``, 1x1 skip and output convolutions, ``(x + residual) * math.sqrt(0.5)``),
skip sums scaled by ``math.sqrt(1.0 / len(self.conv_layers))``, ``ReLU -> 1x1 -> ReLU -> 1x1``
last layers, ``F.cross_entropy(y_hat[:, :, :-1], target[:, 1:])`` over ``(B, C, T)`` logits;
``nn.utils.clip_grad_norm_`` and Adam; r9y9's incremental generation with linearized
convolutions (``self.weight.transpose(1, 2).contiguous().view(out_channels, -1)``, a rolling
``input_buffer`` written as ``self.input_buffer[:, :-1, :] = self.input_buffer[:, 1:,
:].clone()``, ``input[:, 0::dilation, :].contiguous()``, ``F.linear(input.view(bsz, -1),
weight, self.bias)``), checked against the full causal forward, and sampling under
``torch.no_grad()`` from ``F.softmax(logits / temp, dim=-1)`` (the draws from NumPy's
generator, as vincentherrmann's ``np.random.choice(np.arange(classes), p=prob)``; ``torch.
multinomial`` checked for what holds for every draw).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

MU, RES, GATE, SKIP, LAYERS, STACKS, KERNEL = 15, 8, 12, 8, 4, 2, 2
BATCH, T, STEPS, LR, GEN, TEMP = 2, 24, 3, 3e-3, 6, 0.8


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Conv1d(nn.Conv1d):
        """r9y9's conv with an incremental (linearized) forward for generation."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.clear_buffer()
            self._linearized_weight = None

        def incremental_forward(self, input: Any) -> Any:
            weight = self._get_linearized_weight()
            kw = self.kernel_size[0]
            dilation = self.dilation[0]
            bsz = input.size(0)
            if kw > 1:
                input = input.data
                if self.input_buffer is None:
                    self.input_buffer = input.new(
                        bsz, kw + (kw - 1) * (dilation - 1), input.size(2)
                    )
                    self.input_buffer.zero_()
                else:
                    self.input_buffer[:, :-1, :] = self.input_buffer[:, 1:, :].clone()
                self.input_buffer[:, -1, :] = input[:, -1, :]
                input = self.input_buffer
                if dilation > 1:
                    input = input[:, 0::dilation, :].contiguous()
            output = F.linear(input.view(bsz, -1), weight, self.bias)
            return output.view(bsz, 1, -1)

        def clear_buffer(self) -> None:
            self.input_buffer = None

        def _get_linearized_weight(self) -> Any:
            if self._linearized_weight is None:
                kw = self.kernel_size[0]
                if self.weight.size() == (self.out_channels, self.in_channels, kw):
                    weight = self.weight.transpose(1, 2).contiguous()
                else:
                    weight = self.weight.transpose(2, 1).transpose(1, 0).contiguous()
                assert weight.size() == (self.out_channels, kw, self.in_channels)
                self._linearized_weight = weight.view(self.out_channels, -1)
            return self._linearized_weight

    class ResidualConv1dGLU(nn.Module):
        def __init__(
            self,
            residual_channels: int,
            gate_channels: int,
            kernel_size: int,
            skip_out_channels: int,
            dropout: float,
            dilation: int,
        ) -> None:
            super().__init__()
            self.dropout = dropout
            self.padding = (kernel_size - 1) * dilation
            self.conv = Conv1d(residual_channels, gate_channels, kernel_size, dilation=dilation)
            gate_out_channels = gate_channels // 2
            self.conv1x1_out = Conv1d(gate_out_channels, residual_channels, 1)
            self.conv1x1_skip = Conv1d(gate_out_channels, skip_out_channels, 1)

        def forward(self, x: Any, is_incremental: bool = False) -> tuple[Any, Any]:
            residual = x
            x = F.dropout(x, p=self.dropout, training=self.training)
            if is_incremental:
                splitdim = -1
                x = self.conv.incremental_forward(x)
            else:
                splitdim = 1
                x = self.conv(F.pad(x, (self.padding, 0)))
            a, b = x.split(x.size(splitdim) // 2, dim=splitdim)
            x = torch.tanh(a) * torch.sigmoid(b)
            if is_incremental:
                s = self.conv1x1_skip.incremental_forward(x)
                x = self.conv1x1_out.incremental_forward(x)
            else:
                s = self.conv1x1_skip(x)
                x = self.conv1x1_out(x)
            x = (x + residual) * math.sqrt(0.5)
            return x, s

        def clear_buffer(self) -> None:
            for conv in [self.conv, self.conv1x1_out, self.conv1x1_skip]:
                conv.clear_buffer()

    class WaveNet(nn.Module):
        def __init__(self, out_channels: int = MU + 1) -> None:
            super().__init__()
            self.out_channels = out_channels
            layers_per_stack = LAYERS // STACKS
            self.first_conv = Conv1d(out_channels, RES, 1)
            self.conv_layers = nn.ModuleList()
            for layer in range(LAYERS):
                dilation = 2 ** (layer % layers_per_stack)
                conv = ResidualConv1dGLU(RES, GATE, KERNEL, SKIP, 0.05, dilation)
                self.conv_layers.append(conv)
            self.last_conv_layers = nn.ModuleList(
                [
                    nn.ReLU(inplace=True),
                    Conv1d(SKIP, SKIP, 1),
                    nn.ReLU(inplace=True),
                    Conv1d(SKIP, out_channels, 1),
                ]
            )

        def forward(self, x: Any, softmax: bool = False) -> Any:
            x = self.first_conv(x)
            skips = 0
            for f in self.conv_layers:
                x, h = f(x)
                skips = skips + h
            skips *= math.sqrt(1.0 / len(self.conv_layers))
            x = skips
            for f in self.last_conv_layers:
                x = f(x)
            return F.softmax(x, dim=1) if softmax else x

        def incremental_step(self, x: Any) -> Any:
            """One time step: ``x`` is (B, 1, C) one-hot; returns (B, 1, C) logits."""
            x = self.first_conv.incremental_forward(x)
            skips = 0
            for f in self.conv_layers:
                x, h = f(x, is_incremental=True)
                skips = skips + h
            skips *= math.sqrt(1.0 / len(self.conv_layers))
            x = skips
            for f in self.last_conv_layers:
                x = f.incremental_forward(x) if isinstance(f, Conv1d) else f(x)
            return x

        def clear_buffer(self) -> None:
            self.first_conv.clear_buffer()
            for f in self.conv_layers:
                f.clear_buffer()
            for f in self.last_conv_layers:
                if isinstance(f, Conv1d):
                    f.clear_buffer()

    return WaveNet()


def mulaw(torch_like: Any, x: Any, mu: int = MU) -> Any:
    torch = torch_like
    return torch.sign(x) * torch.log1p(mu * torch.abs(x)) / math.log1p(mu)


def inv_mulaw(torch_like: Any, y: Any, mu: int = MU) -> Any:
    torch = torch_like
    return torch.sign(y) * ((1 + mu) ** torch.abs(y) - 1) / mu


def mulaw_quantize(torch_like: Any, x: Any, mu: int = MU) -> Any:
    return ((mulaw(torch_like, x, mu) + 1) / 2 * mu + 0.5).long()


def inv_mulaw_quantize(torch_like: Any, q: Any, mu: int = MU) -> Any:
    return inv_mulaw(torch_like, 2 * q.to(torch_like.get_default_dtype()) / mu - 1, mu)


def one_hot(torch_like: Any, x: Any, channels: int) -> Any:
    return torch_like.zeros(x.shape[0], channels, x.shape[1]).scatter_(1, x.unsqueeze(1), 1.0)


def waveform(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(T + 1) / 8.0
    wave = 0.6 * np.sin(2 * np.pi * 0.7 * t)[None] * rng.uniform(0.5, 1.0, (BATCH, 1))
    return np.clip(wave + 0.05 * rng.standard_normal((BATCH, T + 1)), -1.0, 1.0)


def generate(torch_like: Any, model: Any, rng: np.random.Generator) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    values, steps, samples = [], [], []
    model.eval()
    model.clear_buffer()
    current = torch.zeros(1, 1, MU + 1)
    current[:, :, MU // 2] = 1.0
    inputs = [current]
    with torch.no_grad():
        for _ in range(GEN):
            logits = model.incremental_step(current)
            steps.append(logits)
            prob = F.softmax(logits.view(-1) / TEMP, dim=-1)
            sample = rng.choice(np.arange(MU + 1), p=prob.numpy() / prob.numpy().sum())
            values += prob.tolist()
            samples.append(int(sample))
            current = torch.zeros(1, 1, MU + 1)
            current[0, 0, sample] = 1.0
            inputs.append(current)
        # the incremental path agrees with the full causal forward on the same inputs
        full = model(torch.cat(inputs[:-1], dim=1).transpose(1, 2))
        incremental = torch.cat(steps, dim=1).transpose(1, 2)
        values += [(full - incremental).abs().max().item(), *full.shape]
        torch.manual_seed(0)
        draws = torch.multinomial(prob, 20, replacement=True)
        values += [float(draws.dtype == torch.int64), *draws.shape]
        values += [float(bool((prob[draws] > 0).all()))]
        values += samples + inv_mulaw_quantize(torch, torch.tensor(samples)).tolist()
    model.clear_buffer()
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    wave = as_tensor(torch, waveform(rng))
    companded = mulaw(torch, wave)
    quantized = mulaw_quantize(torch, wave)
    restored = inv_mulaw_quantize(torch, quantized)
    values = companded[0, :6].tolist() + quantized[0].tolist()
    values += [float(quantized.dtype == torch.int64), (restored - wave).abs().max().item()]

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    for f in model.conv_layers:
        f.dropout = 0.0  # dropout's mask is the generator's: off for the compared steps
    x = one_hot(torch, quantized[:, :-1], MU + 1)
    target = quantized[:, 1:]
    for _step in range(STEPS):
        y_hat = model(x)
        loss = F.cross_entropy(y_hat[:, :, :-1], target[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        values += [loss.item()]
    values += generate(torch, model, rng)
    return values
