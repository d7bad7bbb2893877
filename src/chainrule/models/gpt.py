"""GPT-2 (Radford et al., 2019) as a decoder-only Transformer in nanoGPT's layout.

Token and learned position embeddings, ``n_layer`` pre-norm blocks
(x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))) with causal self-attention through the fused
``F.scaled_dot_product_attention``, a final LayerNorm, and a language-model head whose weight
*is* the token embedding (weight tying). Parameter names follow nanoGPT
(``transformer.wte``, ``transformer.h.0.attn.c_attn``, ..., ``lm_head``), so its checkpoints
load with ``load_state_dict``; Hugging Face's GPT-2 stores the four Conv1D matrices transposed
(``attn.c_attn``, ``attn.c_proj``, ``mlp.c_fc``, ``mlp.c_proj``).

Initialisation as GPT-2: N(0, 0.02) for linear and embedding weights, zero biases, and
N(0, 0.02/√(2·n_layer)) for the two projections that write into the residual stream.

The ``gpt2`` configuration (12 layers, 12 heads, 768 wide, 1024 positions, 50 257 tokens,
biases) has 124,439,808 parameters, the tied embedding/head matrix counted once (as
``num_parameters()`` and PyTorch's ``sum(p.numel() for p in model.parameters())`` count it;
counted twice it would be 163,037,184).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

import chainrule

from .. import nn
from ..autograd.tensor import Tensor
from ..nn import functional as F
from ..random import Generator
from .language import generate_tokens
from .registry import register_model

__all__ = ["GPT", "GPTConfig", "gpt", "gpt2"]


@dataclass(frozen=True)
class GPTConfig:
    """The hyper-parameters of a GPT (defaults: GPT-2 small)."""

    block_size: int = 1024
    vocab_size: int = 50257
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True

    def num_parameters(self) -> int:
        """The closed-form parameter count (tied embedding counted once)."""
        e, b = self.n_embd, int(self.bias)
        ln = e * (1 + b)
        block = (
            2 * ln
            + (e * 3 * e + 3 * e * b)
            + (e * e + e * b)
            + (e * 4 * e + 4 * e * b)
            + (4 * e * e + e * b)
        )
        return self.vocab_size * e + self.block_size * e + self.n_layer * block + ln


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t sees positions <= t.

    One matmul produces queries, keys and values (``c_attn``); the heads attend with the
    fused SDPA op (``is_causal=True``); ``c_proj`` mixes the heads back.
    """

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.resid_dropout = nn.Dropout(cfg.dropout)
        self.n_head, self.n_embd, self.dropout = cfg.n_head, cfg.n_embd, cfg.dropout

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        hs = C // self.n_head
        q, k, v = (t.reshape(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Position-wise feed-forward: Linear(E, 4E) - GELU - Linear(4E, E) - dropout."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-norm Transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x))."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """A GPT language model.

    Shape:
        idx (B, T) int64 with T <= block_size -> logits (B, T, vocab_size); with ``targets``
        (B, T) the call returns (logits, mean cross-entropy in nats per token).
    """

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if getattr(cfg, name) < 1:
                raise ValueError(f"GPT: {name} must be >= 1, got {getattr(cfg, name)}")
        if cfg.n_embd % cfg.n_head != 0:
            raise ValueError(
                f"GPT: n_embd ({cfg.n_embd}) must be divisible by n_head ({cfg.n_head})"
            )
        if not 0.0 <= cfg.dropout < 1.0:
            raise ValueError(f"GPT: dropout must be in [0, 1), got {cfg.dropout}")
        self.config = cfg
        self.block_size = cfg.block_size
        self.transformer = nn.ModuleDict(
            {
                "wte": nn.Embedding(cfg.vocab_size, cfg.n_embd),
                "wpe": nn.Embedding(cfg.block_size, cfg.n_embd),
                "drop": nn.Dropout(cfg.dropout),
                "h": nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)]),
                "ln_f": nn.LayerNorm(cfg.n_embd, bias=cfg.bias),
            }
        )
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's initialisation (see the module docstring)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, 0.0, 0.02)
        std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx: Tensor, targets: Tensor | None = None) -> Any:
        if not isinstance(idx, Tensor):
            idx = Tensor._new(np.asarray(idx))
        if idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ValueError(
                f"GPT: expected (batch, time) integer token ids, got shape "
                f"{tuple(idx.shape)} of {idx.dtype}"
            )
        T = idx.shape[1]
        if T > self.block_size:
            raise ValueError(
                f"GPT: cannot forward a sequence of length {T}; block_size is "
                f"only {self.block_size}"
            )
        if isinstance(T, int):
            pos = Tensor._new(np.arange(T, dtype=np.int64))
        else:  # a traced size (a dynamic length under cr.export): the public arange,
            # looked up on the package at call time, where the trace patches it to record
            pos = chainrule.arange(T, dtype=chainrule.int64, device=idx.device)
        tr = self.transformer
        x = tr.drop(tr.wte(idx) + tr.wpe(pos))
        for block in tr.h:
            x = block(x)
        logits = self.lm_head(tr.ln_f(x))
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    def generate(
        self,
        idx: Any,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: Generator | None = None,
    ) -> Tensor:
        """Append ``max_new_tokens`` sampled tokens to ``idx`` (B, T), cropping the context to
        the last ``block_size`` tokens; reproducible with a seeded ``cr.Generator``."""
        return generate_tokens(self, idx, max_new_tokens, temperature, top_k, generator)


@register_model
def gpt(
    vocab_size: int = 65,
    block_size: int = 64,
    n_layer: int = 4,
    n_head: int = 4,
    n_embd: int = 128,
    dropout: float = 0.0,
    bias: bool = False,
) -> GPT:
    """A GPT; the defaults are nanoGPT's small character-level CPU configuration."""
    return GPT(GPTConfig(block_size, vocab_size, n_layer, n_head, n_embd, dropout, bias))


@register_model
def gpt2(**overrides: Any) -> GPT:
    """GPT-2 small: 12 layers, 12 heads, 768 wide, 1024 positions, 50 257 tokens, biases;
    124,439,808 parameters. Keyword arguments override fields of :class:`GPTConfig`."""
    return GPT(replace(GPTConfig(), **overrides))
