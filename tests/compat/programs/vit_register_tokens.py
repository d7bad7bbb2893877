"""A ViT with register tokens ("Vision Transformers Need Registers", Darcet et al. 2024, as
timm's ``VisionTransformer(reg_tokens=...)`` and DINOv2's ``num_register_tokens`` build it):
extra learnable tokens appended after the class token, given no position embedding and dropped
at the output, with the attention-map and token-norm probes the paper uses to find artifacts.

The idioms kept: ``nn.Conv2d(..., kernel_size=patch, stride=patch)`` patch embedding with
``.flatten(2).transpose(1, 2)``; ``self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))`` and
``self.reg_token = nn.Parameter(torch.zeros(1, num_reg, dim))`` initialised with
``nn.init.normal_(..., std=1e-6)`` / ``trunc_normal_(std=.02)``; timm's ``no_embed_class``
order: ``x = x + self.pos_embed`` on the patches first, then ``torch.cat([cls.expand(B, -1,
-1), reg.expand(B, -1, -1), x], dim=1)``; pre-norm blocks with ``qkv.reshape(B, N, 3, heads,
hd).permute(2, 0, 3, 1, 4)`` and ``q.unbind(0)``, ``F.scaled_dot_product_attention`` in
training and the explicit ``(q @ k.transpose(-2, -1)) * scale`` softmax kept for the probe;
``forward_features`` / ``forward_head`` with ``x[:, 0]`` as the pooled token and
``x[:, self.num_prefix_tokens:]`` as the patch tokens; the last block's CLS-to-patch attention
map reshaped to the patch grid; the output-token norms ``x.norm(dim=-1)`` with the
high-norm-outlier test against the median; an ``AdamW`` whose weight decay skips the tokens,
position embedding, norms and biases (``p.ndim <= 1 or name.endswith("token") or "pos_embed"
in name``), as timm's ``param_groups_weight_decay`` does.

Changed: 8x8 single-channel images in 4x4 patches, width 16, 2 heads, 2 blocks, 2 registers,
batches of 4, 3 steps of 3-class classification.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IMG, PATCH, DIM, HEADS, DEPTH, REGS, CLASSES, BATCH, STEPS = 8, 4, 16, 2, 2, 2, 3, 4, 3


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch.nn
    F = nn.functional

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.num_heads = HEADS
            self.scale = (DIM // HEADS) ** -0.5
            self.qkv = nn.Linear(DIM, DIM * 3)
            self.proj = nn.Linear(DIM, DIM)
            self.attn_map = None

        def forward(self, x: Any, keep_map: bool = False) -> Any:
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
            if keep_map:
                attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
                self.attn_map = attn.detach()
                x = attn @ v
            else:
                x = F.scaled_dot_product_attention(q, k, v)
            return self.proj(x.transpose(1, 2).reshape(B, N, C))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(DIM, eps=1e-6)
            self.attn = Attention()
            self.norm2 = nn.LayerNorm(DIM, eps=1e-6)
            self.mlp = nn.Sequential(nn.Linear(DIM, 4 * DIM), nn.GELU(), nn.Linear(4 * DIM, DIM))

        def forward(self, x: Any, keep_map: bool = False) -> Any:
            x = x + self.attn(self.norm1(x), keep_map)
            return x + self.mlp(self.norm2(x))

    class VisionTransformer(nn.Module):
        def __init__(self, reg_tokens: int = REGS) -> None:
            super().__init__()
            self.patch_embed = nn.Conv2d(1, DIM, kernel_size=PATCH, stride=PATCH)
            num_patches = (IMG // PATCH) ** 2
            self.num_prefix_tokens = 1 + reg_tokens
            self.cls_token = nn.Parameter(torch.zeros(1, 1, DIM))
            self.reg_token = nn.Parameter(torch.zeros(1, reg_tokens, DIM))
            self.pos_embed = nn.Parameter(torch.randn(1, num_patches, DIM) * 0.02)
            self.blocks = nn.ModuleList([Block() for _ in range(DEPTH)])
            self.norm = nn.LayerNorm(DIM, eps=1e-6)
            self.head = nn.Linear(DIM, CLASSES)
            nn.init.normal_(self.cls_token, std=1e-6)
            nn.init.trunc_normal_(self.reg_token, std=0.02)

        def forward_features(self, x: Any, keep_map: bool = False) -> Any:
            x = self.patch_embed(x).flatten(2).transpose(1, 2)
            x = x + self.pos_embed
            B = x.shape[0]
            x = torch.cat([self.cls_token.expand(B, -1, -1), self.reg_token.expand(B, -1, -1),
                           x], dim=1)  # fmt: skip
            for i, blk in enumerate(self.blocks):
                x = blk(x, keep_map and i == len(self.blocks) - 1)
            return self.norm(x)

        def forward_head(self, x: Any) -> Any:
            return self.head(x[:, 0])

        def forward(self, x: Any) -> Any:
            return self.forward_head(self.forward_features(x))

    return VisionTransformer()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch.nn.functional
    model = make_model(torch)
    load_numpy_state(torch, model, init)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim <= 1 or name.endswith("token") or "pos_embed" in name:
            no_decay.append(p)
        else:
            decay.append(p)
    optimizer = torch.optim.AdamW([{"params": no_decay, "weight_decay": 0.0},
                                   {"params": decay, "weight_decay": 0.05}], lr=3e-3)  # fmt: skip
    rng = np.random.default_rng(8)
    values: list[float] = [float(len(no_decay)), float(len(decay))]
    for _ in range(STEPS):
        labels = rng.integers(0, CLASSES, BATCH)
        images = rng.standard_normal((BATCH, 1, IMG, IMG)) + labels[:, None, None, None]
        loss = F.cross_entropy(model(as_tensor(torch, images)), as_tensor(torch, labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        values += [loss.item(), model.reg_token.grad.norm().item()]
    model.eval()
    with torch.no_grad():
        images = as_tensor(torch, rng.standard_normal((2, 1, IMG, IMG)))
        feats = model.forward_features(images, keep_map=True)
        patches = feats[:, model.num_prefix_tokens :]
        attn = model.blocks[-1].attn.attn_map
        grid = IMG // PATCH
        cls_map = attn[:, :, 0, model.num_prefix_tokens :].mean(1).reshape(-1, grid, grid)
        norms = feats.norm(dim=-1)
        outliers = (norms > 2 * norms.median(dim=-1, keepdim=True).values).sum()
        reg_share = attn[:, :, 0, 1 : model.num_prefix_tokens].sum(-1).mean()
    values += cls_map.flatten().tolist() + [float(outliers), reg_share.item()]
    return values + [float(patches.shape[1]), model.forward_head(feats).sum().item()]
