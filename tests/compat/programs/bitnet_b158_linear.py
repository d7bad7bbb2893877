"""BitNet b1.58 training and inference, as Microsoft's "The Era of 1-bit LLMs: Training Tips, Code
and FAQ" writes ``BitLinear`` and as kyegomez/BitNet's ``bitnet/bitlinear.py`` /
``BitFeedForward`` vendor it, in a tiny pre-norm transformer, size-reduced.

The idioms: ``activation_quant`` with ``scale = 127.0 / x.abs().max(dim=-1,
keepdim=True).values.clamp_(min=1e-5)`` (the per-token absmax) and kyegomez's ``x.abs().amax(dim=-1,
keepdim=True)``, ``(x * scale).round().clamp_(-128, 127) / scale``; ``weight_quant`` with ``scale =
1.0 / w.abs().mean().clamp_(min=1e-5)`` and ``(w * scale).round().clamp_(-1, 1) / scale``; the
straight-through estimators ``x_norm + (activation_quant(x_norm) - x_norm).detach()`` and ``w +
(weight_quant(w) - w).detach()`` into ``F.linear``; ``class BitLinear(nn.Linear)`` normalising
its input with ``nn.RMSNorm(in_features, eps=1e-6, elementwise_affine=False)`` before
quantisation; a llama-style block (``RMSNorm`` module with ``x * torch.rsqrt(x.pow(2).mean(-1,
keepdim=True) + self.eps)``, causal ``F.scaled_dot_product_attention``, a SwiGLU MLP of
``BitLinear``s with ``F.silu(self.w1(x)) * self.w3(x)``) trained with ``AdamW``; and the FAQ's
inference path: ternary ``int8`` weights (``.round().clamp_(-1, 1).to(torch.int8)``, their
``torch.unique(return_counts=True)``), ``activation_norm_quant`` returning int8 codes and
``x_scale``, and the low-bit GEMM as an ``int32`` ``F.linear`` divided by ``w_scale`` and
``x_scale``, which must match the fake-quantised forward.

Changed: width 16, 2 heads, one block, random tokens, a few steps; no ``x.float()`` upcast in
the RMSNorm (the program runs in float64). The qkv ``BitLinear`` keeps ``nn.Linear``'s default
bias (kyegomez's default): without it the first position's attention output is ``v[0]``, a
ratio of integers, whose absmax codes land exactly on rounding ties (``-63.5``) that the last
bit of any sum can flip either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, DIM, HEADS, HIDDEN, SEQ, BATCH, STEPS = 17, 16, 2, 24, 6, 4, 5


def _quant(torch_like: Any) -> tuple:
    def activation_quant(x: Any) -> Any:
        scale = 127.0 / x.abs().max(dim=-1, keepdim=True).values.clamp_(min=1e-5)
        y = (x * scale).round().clamp_(-128, 127) / scale
        return y

    def activation_quant_amax(x: Any) -> Any:
        scale = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
        return (x * scale).round().clamp(-128, 127) / scale

    def weight_quant(w: Any) -> Any:
        scale = 1.0 / w.abs().mean().clamp_(min=1e-5)
        u = (w * scale).round().clamp_(-1, 1) / scale
        return u

    return activation_quant, activation_quant_amax, weight_quant


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional
    activation_quant, activation_quant_amax, weight_quant = _quant(torch)

    class BitLinear(nn.Linear):
        def __init__(
            self, in_features: int, out_features: int, bias: bool = True, use_amax: bool = False
        ) -> None:
            super().__init__(in_features, out_features, bias=bias)
            self.norm = nn.RMSNorm(in_features, eps=1e-6, elementwise_affine=False)
            self.use_amax = use_amax
            self.inference = False

        def forward(self, x: Any) -> Any:
            w = self.weight
            x_norm = self.norm(x)
            quant = activation_quant_amax if self.use_amax else activation_quant
            x_quant = x_norm + (quant(x_norm) - x_norm).detach()
            w_quant = w + (weight_quant(w) - w).detach()
            return F.linear(x_quant, w_quant, self.bias)

    class RMSNorm(nn.Module):
        def __init__(self, dim: int, eps: float = 1e-6) -> None:
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(dim))

        def _norm(self, x: Any) -> Any:
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        def forward(self, x: Any) -> Any:
            return self._norm(x).type_as(x) * self.weight

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(VOCAB, DIM)
            self.attn_norm = RMSNorm(DIM)
            self.wqkv = BitLinear(DIM, 3 * DIM)
            self.wo = BitLinear(DIM, DIM, bias=False, use_amax=True)
            self.ffn_norm = RMSNorm(DIM)
            self.w1 = BitLinear(DIM, HIDDEN, bias=False)
            self.w3 = BitLinear(DIM, HIDDEN, bias=False, use_amax=True)
            self.w2 = BitLinear(HIDDEN, DIM, bias=False)
            self.norm = RMSNorm(DIM)
            self.output = nn.Linear(DIM, VOCAB, bias=False)

        def forward(self, idx: Any) -> Any:
            h = self.tok(idx)
            b, t, _ = h.shape
            q, k, v = self.wqkv(self.attn_norm(h)).chunk(3, dim=-1)
            q, k, v = (z.view(b, t, HEADS, DIM // HEADS).transpose(1, 2) for z in (q, k, v))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            h = h + self.wo(a.transpose(1, 2).reshape(b, t, DIM))
            x = self.ffn_norm(h)
            h = h + self.w2(F.silu(self.w1(x)) * self.w3(x))
            return self.output(self.norm(h))

    return Block()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    rng = np.random.default_rng(15)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.1)
    values: list[float] = []
    for _ in range(STEPS):
        tokens = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.w1.weight.grad.abs().sum().item()]
        values.append(model.wqkv.weight.grad.norm().item())

    # the FAQ's inference path: int8 ternary weights and int8 activation codes
    layer = model.w2
    x = as_tensor(torch, rng.standard_normal((BATCH, SEQ, HIDDEN)))
    with torch.no_grad():
        w = layer.weight
        w_scale = 1.0 / w.abs().mean().clamp_(min=1e-5)
        w_int8 = (w * w_scale).round().clamp_(-1, 1).to(torch.int8)
        uniq, counts = torch.unique(w_int8, return_counts=True)
        values += uniq.tolist() + counts.tolist()

        def activation_norm_quant(x: Any) -> tuple[Any, Any]:
            x = layer.norm(x)
            scale = 127.0 / x.abs().max(dim=-1, keepdim=True).values.clamp_(min=1e-5)
            y = (x * scale).round().clamp_(-128, 127).to(torch.int8)
            return y, scale

        x_quant, x_scale = activation_norm_quant(x)
        y = F.linear(x_quant.to(torch.int32), w_int8.to(torch.int32))
        values += [float(y.dtype == torch.int32), float(x_quant.dtype == torch.int8)]
        y = y / w_scale / x_scale
        fake = layer(x)
        values.append((y - fake).abs().max().item())
        values += y[0, 0].tolist()
        values.append(float(x_quant.abs().max().item()))
    return values
