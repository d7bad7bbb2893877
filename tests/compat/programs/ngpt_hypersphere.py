"""nGPT, the normalized transformer (Loshchilov et al. 2024, "nGPT: Normalized Transformer with
Representation Learning on the Hypersphere"), as NVIDIA/ngpt's ``model.py`` and ``train.py``
write it, size-reduced.

The idioms: ``Block.justnorm`` (``x / x.norm(p=2, dim=-1, keepdim=True)``); the learnable
scalings kept as ``torch.nn.Parameter(self.attn_alpha_init_scaling * torch.ones(n_embd,
dtype=torch.float32))`` and read back rescaled (``self.attn_alpha * (self.attn_alpha_init_value
/ self.attn_alpha_init_scaling)``, ``torch.abs(lr)``); ``sqk`` applied to the normalized
queries and keys after ``.view(1, 1, n_head, head_dim)``; ``get_sinusoidal_embeddings``
(``sinusoidal_emb[:, 0::2] = torch.sin(position * div_term)``) and
``apply_rotary_position_embeddings`` (``sinusoidal_pos.chunk(2, dim=-1)``, ``torch.stack((-q[...,
1::2], q[..., ::2]), dim=-1)``, ``torch.reshape(q_rot, q.shape[:-1] + (q.shape[-1] // 2, 2)) *
torch.stack((cos, sin), dim=-1)``); attention with the softmax scale ``sqrt(head_dim)`` (the
flash-attn call as ``F.scaled_dot_product_attention(..., is_causal=True, scale=...)``); the
normalized residual ``res = A_norm + lr * (B_norm - A_norm)``, ``h = self.justnorm(res)``; the
SwiGLU MLP with ``suv * uv`` scaled by ``n_embd ** 0.5`` and ``torch.chunk(uv, 2, dim=-1)``;
the logit scale ``sz``; no weight decay and no warm-up; and ``normalize_matrices`` after every
optimizer step (``weight.data.copy_(self.justnorm(weight.data, 1))`` for the input projections,
dim 0 for the output projections), run once at start.

Changed: ``n_embd`` 1024 -> 8, 2 heads, 2 layers, ``block_size`` 6, vocabulary 13, 4 steps;
flash-attn -> ``scaled_dot_product_attention``; bf16 -> the test's dtype; no DDP.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

VOCAB, N_EMBD, N_HEAD, N_LAYER, T, BATCH, STEPS = 13, 8, 2, 2, 6, 3, 4
BASE_SCALE = 1.0 / N_EMBD**0.5


def justnorm(x: Any, idim: int = -1) -> Any:
    res = x / x.norm(p=2, dim=idim, keepdim=True)
    return res


def get_sinusoidal_embeddings(torch_like: Any, n_positions: int, dim: int) -> Any:
    torch = torch_like
    position = torch.arange(n_positions, dtype=torch.float).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, dim, 2).float() * -(math.log(10000.0) / dim))
    sinusoidal_emb = torch.zeros((n_positions, dim))
    sinusoidal_emb[:, 0::2] = torch.sin(position * div_term)
    sinusoidal_emb[:, 1::2] = torch.cos(position * div_term)
    return sinusoidal_emb


def apply_rotary_position_embeddings(torch_like: Any, sinusoidal_pos: Any, q: Any, k: Any) -> Any:
    torch = torch_like
    sin, cos = sinusoidal_pos.chunk(2, dim=-1)
    q_rot = torch.stack((-q[..., 1::2], q[..., ::2]), dim=-1)
    k_rot = torch.stack((-k[..., 1::2], k[..., ::2]), dim=-1)
    q_rot = torch.reshape(q_rot, q.shape[:-1] + (q.shape[-1] // 2, 2)) * torch.stack(
        (cos, sin), dim=-1
    )
    k_rot = torch.reshape(k_rot, k.shape[:-1] + (k.shape[-1] // 2, 2)) * torch.stack(
        (cos, sin), dim=-1
    )
    q_rot = torch.reshape(q_rot, q.shape)
    k_rot = torch.reshape(k_rot, k.shape)
    return q_rot, k_rot


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    class Block(nn.Module):
        def __init__(self, iblock: int) -> None:
            super().__init__()
            self.key = nn.Linear(N_EMBD, N_EMBD, bias=False)
            self.query = nn.Linear(N_EMBD, N_EMBD, bias=False)
            self.value = nn.Linear(N_EMBD, N_EMBD, bias=False)
            self.att_c_proj = nn.Linear(N_EMBD, N_EMBD, bias=False)
            self.c_fc = nn.Linear(N_EMBD, 2 * 4 * N_EMBD, bias=False)
            self.silu = nn.SiLU()
            self.mlp_c_proj = nn.Linear(4 * N_EMBD, N_EMBD, bias=False)
            self.attn_alpha_init_value = 0.05
            self.attn_alpha_init_scaling = BASE_SCALE
            self.attn_alpha = torch.nn.Parameter(
                self.attn_alpha_init_scaling * torch.ones(N_EMBD, dtype=torch.float32)
            )
            self.mlp_alpha_init_value = 0.05
            self.mlp_alpha_init_scaling = BASE_SCALE
            self.mlp_alpha = torch.nn.Parameter(
                self.mlp_alpha_init_scaling * torch.ones(N_EMBD, dtype=torch.float32)
            )
            self.sqk_init_value = 1.0
            self.sqk_init_scaling = BASE_SCALE
            self.sqk = torch.nn.Parameter(
                self.sqk_init_scaling * torch.ones(N_EMBD, dtype=torch.float32)
            )
            self.suv_init_value = 1.0
            self.suv_init_scaling = 1.0
            self.suv = torch.nn.Parameter(
                self.suv_init_scaling * torch.ones(2 * 4 * N_EMBD, dtype=torch.float32)
            )

        def forward(self, h: Any) -> Any:
            B, T_, C = h.size()
            hin = h
            q = self.query(hin)
            k = self.key(hin)
            v = self.value(hin)
            q = q.view(B, T_, N_HEAD, N_EMBD // N_HEAD)
            k = k.view(B, T_, N_HEAD, N_EMBD // N_HEAD)
            v = v.view(B, T_, N_HEAD, N_EMBD // N_HEAD)
            sinusoidal_pos = get_sinusoidal_embeddings(torch, T_, N_EMBD // N_HEAD).to(
                device=q.device, dtype=q.dtype
            )
            q, k = apply_rotary_position_embeddings(
                torch, sinusoidal_pos, q.transpose(1, 2), k.transpose(1, 2)
            )
            q = q.transpose(2, 1)
            k = k.transpose(2, 1)
            sqk = (self.sqk * (self.sqk_init_value / self.sqk_init_scaling)).view(
                1, 1, N_HEAD, N_EMBD // N_HEAD
            )
            q = sqk * justnorm(q)
            k = sqk * justnorm(k)
            sqrt_head_dim = (N_EMBD / N_HEAD) ** 0.5
            softmax_scale = sqrt_head_dim
            y = F.scaled_dot_product_attention(
                q.transpose(1, 2),
                k.transpose(1, 2),
                v.transpose(1, 2),
                dropout_p=0.0,
                is_causal=True,
                scale=softmax_scale,
            ).transpose(1, 2)
            y = y.to(dtype=q.dtype)
            y = y.contiguous().view(B, T_, N_EMBD)
            h_att = self.att_c_proj(y)
            lr = self.attn_alpha * (self.attn_alpha_init_value / self.attn_alpha_init_scaling)
            lr = torch.abs(lr)
            A_norm = justnorm(h)
            B_norm = justnorm(h_att)
            res = A_norm + lr * (B_norm - A_norm)
            h = justnorm(res)

            hin = h
            uv = self.c_fc(hin)
            suv = self.suv * ((self.suv_init_value / self.suv_init_scaling) * (N_EMBD**0.5))
            uv = suv * uv
            u, v = torch.chunk(uv, 2, dim=-1)
            x_mlp = u * self.silu(v)
            h_mlp = self.mlp_c_proj(x_mlp)
            lr = self.mlp_alpha * (self.mlp_alpha_init_value / self.mlp_alpha_init_scaling)
            lr = torch.abs(lr)
            A_norm = justnorm(h)
            B_norm = justnorm(h_mlp)
            res = A_norm + lr * (B_norm - A_norm)
            h = justnorm(res)
            return h

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = nn.ModuleDict(
                dict(
                    wte=nn.Embedding(VOCAB, N_EMBD),
                    drop=nn.Dropout(0.0),
                    h=nn.ModuleList([Block(il) for il in range(N_LAYER)]),
                )
            )
            self.lm_head = nn.Linear(N_EMBD, VOCAB, bias=False)
            self.apply(self._init_weights)
            self.sz_init_value = 1.00
            self.sz_init_scaling = BASE_SCALE
            self.sz = torch.nn.Parameter(
                self.sz_init_scaling * torch.ones(VOCAB, dtype=torch.float32)
            )

        def _init_weights(self, module: Any) -> None:
            if isinstance(module, nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=BASE_SCALE)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=BASE_SCALE)

        def forward(self, idx: Any, targets: Any = None) -> Any:
            tok_emb = self.transformer.wte(idx)
            x = self.transformer.drop(tok_emb)
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(x)
            sz = self.sz * (self.sz_init_value / self.sz_init_scaling)
            logits = sz * logits
            loss = F.cross_entropy(
                logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
            )
            return logits, loss

    return GPT()


def normalize_matrices(model: Any) -> None:
    model.transformer.wte.weight.data.copy_(justnorm(model.transformer.wte.weight.data, 1))
    model.lm_head.weight.data.copy_(justnorm(model.lm_head.weight.data, 1))
    for layer_idx in range(0, N_LAYER):
        block = model.transformer["h"][layer_idx]
        block.query.weight.data.copy_(justnorm(block.query.weight.data, 1))
        block.key.weight.data.copy_(justnorm(block.key.weight.data, 1))
        block.value.weight.data.copy_(justnorm(block.value.weight.data, 1))
        block.att_c_proj.weight.data.copy_(justnorm(block.att_c_proj.weight.data, 0))
        block.c_fc.weight.data.copy_(justnorm(block.c_fc.weight.data, 1))
        block.mlp_c_proj.weight.data.copy_(justnorm(block.mlp_c_proj.weight.data, 0))


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    normalize_matrices(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, betas=(0.9, 0.95), weight_decay=0.0)
    rng = np.random.default_rng(38)
    data = rng.integers(0, VOCAB, 200)
    values: list[float] = []
    for _ in range(STEPS):
        ix = rng.integers(0, len(data) - T - 1, BATCH)
        x = as_tensor(torch, np.stack([data[i : i + T] for i in ix]))
        y = as_tensor(torch, np.stack([data[i + 1 : i + 1 + T] for i in ix]))
        _, loss = model(x, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        normalize_matrices(model)
        values.append(loss.item())
    with torch.no_grad():
        values.append(model.transformer.h[0].attn_alpha.abs().sum().item())
        values.append(model.lm_head.weight.norm(dim=1).mean().item())
    return values
