"""Rotary position embeddings (RoPE, Su et al. 2021) in a small GPT, written with chainrule ops.

GPT-2 adds a learned vector per position to the token embedding. RoPE instead *rotates*
each query and key: dimension pair i at position m is turned by the angle m·θ_i with
θ_i = base^(-2i/d). A dot product of a query at m with a key at n then depends only on
the offset m - n, because rotations compose: R(m)ᵀR(n) = R(n - m). This script

1. checks that property numerically,
2. swaps the attention of ``cr.models.gpt`` for a rotary one (no position table), and
3. trains both models briefly on the built-in text sample and prints their losses.

RoPE is an example here, not an API: the few lines of ``rope`` are the whole idea.

Run: ``python examples/rotary_attention.py`` (``--quick``: 30 steps instead of 300).
"""

from __future__ import annotations

import sys

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.data.text import CharTokenizer, TokenData, load_corpus, split_tokens
from chainrule.models.gpt import GPT, CausalSelfAttention, GPTConfig
from chainrule.nn import functional as F

QUICK = "--quick" in sys.argv


def rope_tables(T: int, d: int, base: float = 10000.0, dtype=np.float32):
    """cos and sin of the angles m·θ_i, shape (T, d) (each angle used for both halves)."""
    theta = base ** (-np.arange(0, d, 2) / d)  # (d/2,)
    angles = np.outer(np.arange(T), theta)  # (T, d/2)
    angles = np.concatenate([angles, angles], axis=-1)  # (T, d): pairs (i, i + d/2)
    return cr.tensor(np.cos(angles).astype(dtype)), cr.tensor(np.sin(angles).astype(dtype))


def rope(x: cr.Tensor, cos: cr.Tensor, sin: cr.Tensor) -> cr.Tensor:
    """Rotate pairs (x_i, x_{i+d/2}) of x (..., T, d) by the angles of its positions."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    rotated = cr.cat([-x2, x1], dim=-1)  # a 90-degree turn of every pair
    return x * cos + rotated * sin


class RotarySelfAttention(CausalSelfAttention):
    """GPT's causal self-attention with queries and keys rotated by their positions."""

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (t.reshape(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))
        cos, sin = rope_tables(T, hs, dtype=x.dtype)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(B, T, C)))


def rotary_gpt(cfg: GPTConfig) -> GPT:
    """A GPT whose blocks use rotary attention and whose position table is frozen at zero."""
    model = GPT(cfg)
    for block in model.transformer.h:
        rot = RotarySelfAttention(cfg)
        rot.load_state_dict(block.attn.state_dict())
        block.attn = rot
    nn.init.zeros_(model.transformer.wpe.weight)
    model.transformer.wpe.weight.requires_grad_(False)
    return model


def check_relative_property() -> None:
    rng = np.random.default_rng(0)
    q = cr.tensor(rng.standard_normal((1, 16)).repeat(12, 0))  # the same vector everywhere
    k = cr.tensor(rng.standard_normal((1, 16)).repeat(12, 0))
    cos, sin = rope_tables(12, 16, dtype=np.float64)
    scores = (rope(q, cos, sin) @ rope(k, cos, sin).T).data  # (12, 12)
    diag_spread = max(np.ptp(np.diagonal(scores, off)) for off in range(-11, 12))
    print(
        f"1. q·k depends only on the offset: largest spread along a diagonal "
        f"{diag_spread:.1e} (the scores themselves span {np.ptp(scores):.2f})"
    )


def train(model: GPT, data: TokenData, steps: int) -> float:
    opt = cr.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    batches = cr.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = data.get_batch("train", 16, batches)
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with cr.no_grad():
        val = [float(model(*data.get_batch("val", 16, batches))[1].data) for _ in range(10)]
    model.train()
    return float(np.mean(val))


def main() -> None:
    check_relative_property()
    text = load_corpus("sample")
    tok = CharTokenizer.from_text(text)
    data = TokenData(*split_tokens(np.asarray(tok.encode(text)), 0.1), block_size=32)
    cfg = GPTConfig(
        block_size=32, vocab_size=tok.vocab_size, n_layer=2, n_head=4, n_embd=64, bias=False
    )
    steps = 30 if QUICK else 300
    print(f"2./3. training two {cfg.n_layer}-layer GPTs for {steps} steps on the sample text")
    for name, build in (("learned positions", GPT), ("rotary positions ", rotary_gpt)):
        cr.manual_seed(0)
        model = build(cfg)
        print(f"   {name}: validation loss {train(model, data, steps):.3f} nats/token")


if __name__ == "__main__":
    main()
