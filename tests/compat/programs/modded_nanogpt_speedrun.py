"""The modded-nanogpt speedrun GPT (KellerJordan/modded-nanogpt, ``train_gpt.py``, 2025
records): the architecture tweaks the speedrun made popular, trained a few steps with its
learning-rate schedule.

The idioms kept: ``norm = F.rms_norm(x, (x.size(-1),))`` without weights; ``CastedLinear``
(an ``nn.Linear`` subclass with ``reset_parameters`` using ``bound = (3 ** 0.5) * 0.5 *
(self.in_features ** -0.5)`` and ``self.weight.uniform_(-bound, bound)`` under
``torch.no_grad()``, ``F.linear(x, self.weight.type_as(x))``); ``Rotary`` with half the
frequencies zero (``(1 / 1024) ** torch.linspace(0, 1, steps=dim // 4, dtype=torch.float32)``
``torch.cat([angular_freq, angular_freq.new_zeros(dim // 4)])``, ``torch.einsum("i,j -> ij",
t, angular_freq)``, ``register_buffer(..., persistent=False)``, ``x_BTHD.to(dtype=
torch.float32).chunk(2, dim=-1)`` and ``.type_as(x_BTHD)``); the attention's single
``qkv_w = nn.Parameter(torch.empty(3, hdim, dim).uniform_(-bound, bound))`` read with
``self.qkv_w.flatten(end_dim=1)`` and ``.chunk(3, dim=-2)``, QK-norm, value embeddings mixed by
``self.lambdas[0] * v + self.lambdas[1] * ve.view_as(v)``, the fixed ``scale=0.12`` and the
zero-initialised ``self.c_proj.weight.detach().zero_()``; the ReLU-squared MLP
``F.relu(x).square()``; each block's ``x = self.lambdas[0] * x + self.lambdas[1] * x0``; the
value-embedding pattern ``[ve[0], ve[1], ve[2]] + [None] * (len(self.blocks) - 6) + [ve[0],
ve[1], ve[2]]``; the U-net ``skip_weights`` with ``skip_connections.append`` / ``.pop()``; the
padded vocabulary ``next_multiple_of_n``; the soft cap ``30 * torch.sigmoid(logits.float() /
7.5)``; ``F.cross_entropy(..., reduction="sum" if self.training else "mean")``; Adam groups by
role with ``betas=(0.8, 0.95), eps=1e-10``, ``group["initial_lr"] = group["lr"]`` and
``group["lr"] = group["initial_lr"] * get_lr(step)`` (constant then linear cooldown).

Changed: no Muon (``lion_muon_optimizers`` covers it; Adam for every group here), no FlexAttention
block masks (causal SDPA), no bfloat16 embeddings, no distributed data; 6 layers of width 16 with
2 heads, vocabulary 20 padded to 24, sequences of 8, 5 steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

# the rotary tables, the rotation and the soft-capped logits are float32 whatever the model's
# dtype (as the speedrun writes them, for its bfloat16 run): float32 cos/sigmoid differ by an ulp
# between libraries, and Adam's eps=1e-10 carries that into the next steps (measured: 8e-8)
RTOL = 1e-6
VOCAB, DIM, HEADS, LAYERS, SEQ, BATCH, STEPS, COOLDOWN = 20, 16, 2, 6, 8, 2, 5, 0.6


def next_multiple_of_n(v: float | int, *, n: int) -> int:
    return next(x for x in range(n, int(v) + 1 + n, n) if x >= v)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    def norm(x: Any) -> Any:
        return F.rms_norm(x, (x.size(-1),))

    class CastedLinear(nn.Linear):
        def __init__(self, in_features: int, out_features: int) -> None:
            super().__init__(in_features, out_features, bias=False)

        def reset_parameters(self) -> None:
            std = 0.5 * (self.in_features**-0.5)
            bound = (3**0.5) * std
            with torch.no_grad():
                self.weight.uniform_(-bound, bound)

        def forward(self, x: Any) -> Any:
            return F.linear(x, self.weight.type_as(x))

    class Rotary(nn.Module):
        def __init__(self, dim: int, max_seq_len: int) -> None:
            super().__init__()
            angular_freq = (1 / 1024) ** torch.linspace(0, 1, steps=dim // 4, dtype=torch.float32)
            angular_freq = torch.cat([angular_freq, angular_freq.new_zeros(dim // 4)])
            t = torch.arange(max_seq_len, dtype=torch.float32)
            theta = torch.einsum("i,j -> ij", t, angular_freq)
            self.register_buffer("cos", theta.cos(), persistent=False)
            self.register_buffer("sin", theta.sin(), persistent=False)

        def forward(self, x_BTHD: Any) -> Any:
            cos, sin = (
                self.cos[None, : x_BTHD.size(-3), None, :],
                self.sin[None, : x_BTHD.size(-3), None, :],
            )
            x1, x2 = x_BTHD.to(dtype=torch.float32).chunk(2, dim=-1)
            y1 = x1 * cos + x2 * sin
            y2 = x1 * (-sin) + x2 * cos
            return torch.cat((y1, y2), 3).type_as(x_BTHD)

    class CausalSelfAttention(nn.Module):
        def __init__(self, dim: int, num_heads: int, max_seq_len: int) -> None:
            super().__init__()
            self.num_heads = num_heads
            self.head_dim = dim // num_heads
            hdim = num_heads * self.head_dim
            std = 0.5 * (dim**-0.5)
            bound = (3**0.5) * std
            self.qkv_w = nn.Parameter(torch.empty(3, hdim, dim).uniform_(-bound, bound))
            self.lambdas = nn.Parameter(torch.tensor([0.5, 0.5]))
            self.rotary = Rotary(self.head_dim, max_seq_len)
            self.c_proj = CastedLinear(hdim, dim)
            self.c_proj.weight.detach().zero_()

        def forward(self, x: Any, ve: Any) -> Any:
            B, T = x.size(0), x.size(1)
            q, k, v = (
                F.linear(x, self.qkv_w.flatten(end_dim=1).type_as(x))
                .view(B, T, 3 * self.num_heads, self.head_dim)
                .chunk(3, dim=-2)
            )
            q, k = norm(q), norm(k)
            q, k = self.rotary(q), self.rotary(k)
            if ve is not None:
                v = self.lambdas[0] * v + self.lambdas[1] * ve.view_as(v)
            else:
                v = self.lambdas[0] * v
            y = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True, scale=0.12
            ).transpose(1, 2)
            y = y.contiguous().view(B, T, self.num_heads * self.head_dim)
            return self.c_proj(y)

    class MLP(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.c_fc = CastedLinear(dim, 4 * dim)
            self.c_proj = CastedLinear(4 * dim, dim)
            self.c_proj.weight.detach().zero_()

        def forward(self, x: Any) -> Any:
            return self.c_proj(F.relu(self.c_fc(x)).square())

    class Block(nn.Module):
        def __init__(self, dim: int, num_heads: int, max_seq_len: int, layer_idx: int) -> None:
            super().__init__()
            self.attn = CausalSelfAttention(dim, num_heads, max_seq_len) if layer_idx != 3 else None
            self.mlp = MLP(dim)
            self.lambdas = nn.Parameter(torch.tensor([1.0, 0.0]))

        def forward(self, x: Any, ve: Any, x0: Any) -> Any:
            x = self.lambdas[0] * x + self.lambdas[1] * x0
            if self.attn is not None:
                x = x + self.attn(norm(x), ve)
            return x + self.mlp(norm(x))

    class GPT(nn.Module):
        def __init__(self, vocab_size: int, num_layers: int, num_heads: int, model_dim: int,
                     max_seq_len: int) -> None:  # fmt: skip
            super().__init__()
            self.embed = nn.Embedding(vocab_size, model_dim)
            self.value_embeds = nn.ModuleList(
                [nn.Embedding(vocab_size, model_dim) for _ in range(3)]
            )
            self.blocks = nn.ModuleList(
                [Block(model_dim, num_heads, max_seq_len, i) for i in range(num_layers)]
            )
            self.lm_head = CastedLinear(model_dim, next_multiple_of_n(vocab_size, n=8))
            self.lm_head.weight.detach().zero_()
            assert num_layers % 2 == 0
            self.skip_weights = nn.Parameter(torch.ones(num_layers // 2))

        def forward(self, input_seq: Any, target_seq: Any) -> Any:
            ve = [value_embed(input_seq) for value_embed in self.value_embeds]
            ve = [ve[0], ve[1], ve[2]] + [None] * (len(self.blocks) - 6) + [ve[0], ve[1], ve[2]]
            assert len(ve) == len(self.blocks)
            x = x0 = norm(self.embed(input_seq))
            skip_connections = []
            n = len(self.skip_weights)
            for i in range(len(self.blocks)):
                if i >= n:
                    x = x + self.skip_weights[i - n] * skip_connections.pop()
                x = self.blocks[i](x, ve[i], x0)
                if i < n:
                    skip_connections.append(x)
            x = norm(x)
            logits = self.lm_head(x)
            logits = 30 * torch.sigmoid(logits.float() / 7.5)
            return F.cross_entropy(
                logits.view(-1, logits.size(-1)),
                target_seq.view(-1),
                reduction="sum" if self.training else "mean",
            )

    return GPT(VOCAB, LAYERS, HEADS, DIM, SEQ)


def get_lr(step: int) -> float:
    x = step / STEPS
    assert 0 <= x < 1
    if x < 1 - COOLDOWN:
        return 1.0
    w = (1 - x) / COOLDOWN
    return w * 1.0 + (1 - w) * 0.1


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    hidden_matrix_params = [p for n, p in model.blocks.named_parameters() if p.ndim >= 2]
    embed_params = [p for n, p in model.named_parameters() if "embed" in n]
    scalar_params = [p for p in model.parameters() if p.ndim < 2]
    head_params = [model.lm_head.weight]
    adam_params = [
        dict(params=head_params, lr=0.02),
        dict(params=embed_params, lr=0.06),
        dict(params=scalar_params, lr=0.004),
        dict(params=hidden_matrix_params, lr=0.01),
    ]
    optimizer = torch.optim.Adam(adam_params, betas=(0.8, 0.95), eps=1e-10)
    for group in optimizer.param_groups:
        group["initial_lr"] = group["lr"]
    rng = np.random.default_rng(123)
    values: list[float] = []
    for step in range(STEPS):
        tokens = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
        inputs, targets = tokens[:, :-1], tokens[:, 1:].contiguous()
        loss = model(inputs, targets)
        loss.backward()
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"] * get_lr(step)
        optimizer.step()
        model.zero_grad(set_to_none=True)
        values.append(loss.item())
    model.eval()
    with torch.no_grad():
        tokens = as_tensor(torch, rng.integers(0, VOCAB, (BATCH, SEQ + 1)))
        values.append(model(tokens[:, :-1], tokens[:, 1:].contiguous()).item())
    values.append(model.skip_weights.sum().item())
    return values
