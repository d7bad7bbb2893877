"""QLoRA-style fine-tuning (Dettmers et al.; bitsandbytes' ``Linear4bit`` and PEFT's ``LoraLayer``
as people re-implement them in plain PyTorch), size-reduced.

The idioms: the NF4 code book as a ``torch.tensor`` of the 16 normal-float levels; block-wise
absmax quantisation (``weight.reshape(-1, blocksize)``, ``absmax = blocks.abs().max(dim=-1,
keepdim=True).values``, ``normalized = blocks / absmax``), the nearest code by ``(normalized
.unsqueeze(-1) - code).abs().argmin(dim=-1)`` (checked against ``torch.bucketize`` over the
code-book midpoints), two 4-bit codes packed per byte (``(codes[:, 0::2] << 4) | codes[:, 1::2]``
on ``torch.uint8``), unpacking with ``packed >> 4`` and ``packed & 0x0F`` (``torch.bitwise_and``,
``torch.stack(..., dim=-1).view(...)``), the double quantisation of the absmax constants to
int8 (``torch.round``, ``clamp(-127, 127).to(torch.int8)``), and dequantisation by indexing
(``code[codes.long()] * absmax``); a ``Linear4bit`` module keeping the packed weight as a buffer
(``register_buffer``), ``prepare_model_for_kbit_training``'s ``param.requires_grad_(False)``
loop, a LoRA adapter (``nn.Linear(in, r, bias=False)`` with ``nn.init.kaiming_uniform_(a=
math.sqrt(5))``, ``nn.init.zeros_`` on B, ``scaling = alpha / r``) added to
``F.linear(x, dequantized_weight, self.bias)``, the trainable-parameter count, and a few AdamW
steps on the adapter only; the base codes must be unchanged afterwards.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["check", "make_model", "run"]

IN, HIDDEN, OUT, BATCH, BLOCK, RANK, ALPHA, STEPS = 16, 32, 4, 6, 16, 4, 8, 3

NF4 = [
    -1.0,
    -0.6961928009986877,
    -0.5250730514526367,
    -0.39491748809814453,
    -0.28444138169288635,
    -0.18477343022823334,
    -0.09105003625154495,
    0.0,
    0.07958029955625534,
    0.16093020141124725,
    0.24611230194568634,
    0.33791524171829224,
    0.44070982933044434,
    0.5626170039176941,
    0.7229568362236023,
    1.0,
]


def make_model(torch_like: Any) -> Any:
    nn = torch_like.nn
    return nn.Sequential(
        nn.Linear(IN, HIDDEN),
        nn.GELU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.GELU(),
        nn.Linear(HIDDEN, OUT),
    )


def quantize_nf4(torch_like: Any, weight: Any, code: Any) -> tuple[Any, Any, Any, Any]:
    """Block-wise NF4: packed uint8 codes, int8 absmax with its float scale, and the codes."""
    torch = torch_like
    blocks = weight.reshape(-1, BLOCK)
    absmax = blocks.abs().max(dim=-1, keepdim=True).values
    normalized = blocks / absmax
    codes = (normalized.unsqueeze(-1) - code).abs().argmin(dim=-1)
    midpoints = (code[1:] + code[:-1]) / 2
    assert torch.equal(torch.bucketize(normalized, midpoints), codes)
    codes = codes.to(torch.uint8)
    packed = (codes[:, 0::2] << 4) | codes[:, 1::2]
    # double quantisation of the per-block constants
    absmax_scale = absmax.abs().max() / 127
    absmax_q = torch.round(absmax / absmax_scale).clamp(-127, 127).to(torch.int8)
    return packed, absmax_q, absmax_scale, codes


def dequantize_nf4(torch_like: Any, packed: Any, absmax_q: Any, scale: Any, code: Any) -> Any:
    torch = torch_like
    high = packed >> 4
    low = torch.bitwise_and(packed, 0x0F)
    codes = torch.stack([high, low], dim=-1).view(packed.shape[0], -1)
    absmax = absmax_q.to(scale.dtype) * scale
    return code[codes.long()] * absmax


def make_qlora(torch_like: Any) -> Any:
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Linear4bit(nn.Module):
        def __init__(self, linear: Any, code: Any) -> None:
            super().__init__()
            self.in_features, self.out_features = linear.in_features, linear.out_features
            packed, absmax_q, scale, _ = quantize_nf4(torch_like, linear.weight.detach(), code)
            self.register_buffer("packed", packed)
            self.register_buffer("absmax_q", absmax_q)
            self.register_buffer("absmax_scale", scale)
            self.register_buffer("code", code)
            self.bias = nn.Parameter(linear.bias.detach().clone())

        def dequantized_weight(self) -> Any:
            flat = dequantize_nf4(
                torch_like, self.packed, self.absmax_q, self.absmax_scale, self.code
            )
            return flat.view(self.out_features, self.in_features)

        def forward(self, x: Any) -> Any:
            return F.linear(x, self.dequantized_weight(), self.bias)

    class LoraLinear4bit(nn.Module):
        def __init__(self, base: Any, r: int, alpha: int) -> None:
            super().__init__()
            self.base_layer = base
            self.lora_A = nn.Linear(base.in_features, r, bias=False)
            self.lora_B = nn.Linear(r, base.out_features, bias=False)
            self.lora_dropout = nn.Dropout(p=0.0)
            self.scaling = alpha / r
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)

        def forward(self, x: Any) -> Any:
            result = self.base_layer(x)
            return result + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scaling

    return Linear4bit, LoraLinear4bit


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    rng = np.random.default_rng(7)
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    x = as_tensor(torch, rng.standard_normal((BATCH, IN)))
    y = as_tensor(torch, rng.integers(0, OUT, BATCH))
    code = torch.tensor(NF4, dtype=torch.get_default_dtype())
    linear4bit, lora_cls = make_qlora(torch)

    values: list[float] = []
    with torch.no_grad():
        full_out = model(x)
    for i, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            q = linear4bit(layer, code)
            err = (q.dequantized_weight() - layer.weight).abs()
            values += [err.max().item(), err.mean().item(), q.packed.sum().item()]
            assert q.packed.dtype == torch.uint8 and q.packed.numel() * 2 == layer.weight.numel()
            model[i] = q
    with torch.no_grad():
        values.append((model(x) - full_out).abs().max().item())

    # prepare_model_for_kbit_training: freeze everything, then wrap with LoRA
    for param in model.parameters():
        param.requires_grad_(False)
    torch.manual_seed(0)
    for i, layer in enumerate(model):
        if isinstance(layer, linear4bit):
            model[i] = lora_cls(layer, RANK, ALPHA)
            a = rng.uniform(-0.3, 0.3, model[i].lora_A.weight.shape)
            with torch.no_grad():
                model[i].lora_A.weight.copy_(as_tensor(torch, a))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    values += [float(trainable), float(total)]
    codes_before = [m.base_layer.packed.clone() for m in model if isinstance(m, lora_cls)]

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _step in range(STEPS):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        grad_norm = torch.norm(
            torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None])
        )
        optimizer.step()
        values += [loss.item(), grad_norm.item()]
    codes_after = [m.base_layer.packed for m in model if isinstance(m, lora_cls)]
    values.append(float(all(torch.equal(a, b) for a, b in zip(codes_before, codes_after))))
    values.append(
        float(all(m.base_layer.bias.grad is None for m in model if isinstance(m, lora_cls)))
    )
    values += model[4].lora_B.weight.flatten().tolist()
    return values


def check(values: list[float]) -> None:
    trainable, total = values[10:12]
    assert trainable == RANK * (IN + HIDDEN) + RANK * (HIDDEN + HIDDEN) + RANK * (HIDDEN + OUT)
    assert total == trainable + HIDDEN + HIDDEN + OUT  # the biases stay, frozen
    assert values[12 + 2 * STEPS] == 1.0 and values[13 + 2 * STEPS] == 1.0
