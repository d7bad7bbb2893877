"""Peebles & Xie 2023 "Scalable Diffusion Models with Transformers" as facebookresearch/DiT's
``models.py`` and ``diffusion/gaussian_diffusion.py`` write it, size-reduced: timm's
``PatchEmbed`` (a ``Conv2d`` with ``kernel_size = stride = patch_size``, ``x.flatten(2)
.transpose(1, 2)``); ``TimestepEmbedder.timestep_embedding`` (``freqs = torch.exp(
-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32) / half)``, ``args =
t[:, None].float() * freqs[None]``, ``torch.cat([torch.cos(args), torch.sin(args)], dim=-1)``)
and its ``nn.Sequential(Linear, SiLU, Linear)``; ``LabelEmbedder`` with the extra null class and
``token_drop`` (``labels = torch.where(drop_ids, self.num_classes, labels)``) for
classifier-free guidance; ``DiTBlock``'s adaLN-Zero (``adaLN_modulation(c).chunk(6, dim=1)``,
``modulate(x, shift, scale) = x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)``, the gated
residuals ``x + gate.unsqueeze(1) * attn(...)``, ``LayerNorm(elementwise_affine=False,
eps=1e-6)``, timm's ``Attention`` (``F.scaled_dot_product_attention`` when ``fused_attn``, else
``(q * scale) @ k.transpose(-2, -1)``) and ``Mlp`` with ``GELU(approximate="tanh")``);
``FinalLayer``; ``initialize_weights`` (``nn.init.xavier_uniform_`` on every ``Linear`` through
``self.apply``, the patch conv's weight through ``w.view([w.shape[0], -1])``, the fixed 2-D
sin-cos ``pos_embed`` copied in with
``.data.copy_(torch.from_numpy(...).float().unsqueeze(0))``, ``nn.init.constant_(..., 0)``
zeroing every adaLN linear and the final layer); ``unpatchify`` (``x.reshape(shape=(N, h, w, p,
p, c))``, ``torch.einsum('nhwpqc->nchpwq', x)``); ``forward_with_cfg`` (the batch's first half
duplicated with ``torch.cat([half, half])``, ``torch.split(eps, len(eps) // 2, dim=0)`` into
conditional and unconditional halves, guidance on the first 3 channels only, as DiT does); and
the diffusion side: ``_extract_into_tensor`` (``torch.from_numpy(arr)[timesteps].float()``
broadcast with ``res[..., None]`` and ``+ torch.zeros(broadcast_shape)``), ``q_sample``, the
MSE-on-epsilon training loss with the learned sigma channels split off, AdamW with
``weight_decay=0``, and a DDPM reverse step (``pred_xstart`` from eps, the posterior mean) on
the guided output under ``torch.no_grad()``.

Changed: latents are 4x8x8 NumPy draws; hidden size 24, 2 heads, depth 2, patch 2, 5 classes;
the random draws (noise, timesteps, class drops) come from a seeded NumPy generator as tensors
(the frameworks' generators differ), the drop mask passed as ``force_drop_ids``; 3 training
steps, 2 guided sampling steps. DiT trains in float32, as here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"
RTOL, ATOL = 2e-4, 2e-6
IN_CH, SIZE, PATCH, HIDDEN, HEADS, DEPTH, CLASSES = 4, 8, 2, 24, 2, 2, 5
FREQ, BATCH, STEPS, T_DIFF = 16, 4, 3, 50


def _pos_embed_2d(embed_dim: int, grid_size: int) -> np.ndarray:
    """MAE/DiT's ``get_2d_sincos_pos_embed`` (NumPy): half the channels encode rows, half
    columns, each as ``concat(sin(pos * omega), cos(pos * omega))``."""

    def one_d(dim: int, pos: np.ndarray) -> np.ndarray:
        omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
        omega = 1.0 / 10000**omega
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    grid_h = np.arange(grid_size, dtype=np.float32)
    grid_w = np.arange(grid_size, dtype=np.float32)
    grid = np.stack(np.meshgrid(grid_w, grid_h), axis=0).reshape(2, 1, grid_size, grid_size)
    emb_h = one_d(embed_dim // 2, grid[0])
    emb_w = one_d(embed_dim // 2, grid[1])
    return np.concatenate([emb_h, emb_w], axis=1)


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = torch_like.nn.functional

    def modulate(x: Any, shift: Any, scale: Any) -> Any:
        return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)

    class PatchEmbed(nn.Module):
        def __init__(self, img_size: int, patch_size: int, in_chans: int, embed_dim: int) -> None:
            super().__init__()
            self.patch_size = (patch_size, patch_size)
            self.num_patches = (img_size // patch_size) ** 2
            self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

        def forward(self, x: Any) -> Any:
            return self.proj(x).flatten(2).transpose(1, 2)

    class Attention(nn.Module):
        def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
            super().__init__()
            self.num_heads = num_heads
            self.head_dim = dim // num_heads
            self.scale = self.head_dim**-0.5
            self.fused_attn = True
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x: Any) -> Any:
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            if self.fused_attn:
                x = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)
            else:
                q = q * self.scale
                attn = q @ k.transpose(-2, -1)
                attn = attn.softmax(dim=-1)
                x = attn @ v
            x = x.transpose(1, 2).reshape(B, N, C)
            return self.proj(x)

    class Mlp(nn.Module):
        def __init__(self, in_features: int, hidden_features: int, act_layer: Any) -> None:
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = act_layer()
            self.fc2 = nn.Linear(hidden_features, in_features)

        def forward(self, x: Any) -> Any:
            return self.fc2(self.act(self.fc1(x)))

    class TimestepEmbedder(nn.Module):
        def __init__(self, hidden_size: int, frequency_embedding_size: int = 256) -> None:
            super().__init__()
            self.mlp = nn.Sequential(
                nn.Linear(frequency_embedding_size, hidden_size, bias=True),
                nn.SiLU(),
                nn.Linear(hidden_size, hidden_size, bias=True),
            )
            self.frequency_embedding_size = frequency_embedding_size

        @staticmethod
        def timestep_embedding(t: Any, dim: int, max_period: int = 10000) -> Any:
            half = dim // 2
            freqs = torch.exp(
                -math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32) / half
            ).to(device=t.device)
            args = t[:, None].float() * freqs[None]
            embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
            if dim % 2:
                embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
            return embedding

        def forward(self, t: Any) -> Any:
            t_freq = self.timestep_embedding(t, self.frequency_embedding_size)
            return self.mlp(t_freq)

    class LabelEmbedder(nn.Module):
        def __init__(self, num_classes: int, hidden_size: int, dropout_prob: float) -> None:
            super().__init__()
            use_cfg_embedding = dropout_prob > 0
            self.embedding_table = nn.Embedding(num_classes + use_cfg_embedding, hidden_size)
            self.num_classes = num_classes
            self.dropout_prob = dropout_prob

        def token_drop(self, labels: Any, force_drop_ids: Any = None) -> Any:
            if force_drop_ids is None:
                drop_ids = torch.rand(labels.shape[0], device=labels.device) < self.dropout_prob
            else:
                drop_ids = force_drop_ids == 1
            return torch.where(drop_ids, self.num_classes, labels)

        def forward(self, labels: Any, train: bool, force_drop_ids: Any = None) -> Any:
            use_dropout = self.dropout_prob > 0
            if (train and use_dropout) or (force_drop_ids is not None):
                labels = self.token_drop(labels, force_drop_ids)
            return self.embedding_table(labels)

    class DiTBlock(nn.Module):
        def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
            self.attn = Attention(hidden_size, num_heads=num_heads, qkv_bias=True)
            self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
            mlp_hidden_dim = int(hidden_size * mlp_ratio)

            def approx_gelu() -> Any:
                return nn.GELU(approximate="tanh")

            self.mlp = Mlp(hidden_size, mlp_hidden_dim, act_layer=approx_gelu)
            self.adaLN_modulation = nn.Sequential(
                nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size, bias=True)
            )

        def forward(self, x: Any, c: Any) -> Any:
            shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(
                c
            ).chunk(6, dim=1)
            x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
            x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
            return x

    class FinalLayer(nn.Module):
        def __init__(self, hidden_size: int, patch_size: int, out_channels: int) -> None:
            super().__init__()
            self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
            self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
            self.adaLN_modulation = nn.Sequential(
                nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size, bias=True)
            )

        def forward(self, x: Any, c: Any) -> Any:
            shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
            x = modulate(self.norm_final(x), shift, scale)
            return self.linear(x)

    class DiT(nn.Module):
        def __init__(
            self,
            input_size: int = SIZE,
            patch_size: int = PATCH,
            in_channels: int = IN_CH,
            hidden_size: int = HIDDEN,
            depth: int = DEPTH,
            num_heads: int = HEADS,
            class_dropout_prob: float = 0.1,
            num_classes: int = CLASSES,
            learn_sigma: bool = True,
        ) -> None:
            super().__init__()
            self.learn_sigma = learn_sigma
            self.in_channels = in_channels
            self.out_channels = in_channels * 2 if learn_sigma else in_channels
            self.patch_size = patch_size
            self.num_heads = num_heads
            self.x_embedder = PatchEmbed(input_size, patch_size, in_channels, hidden_size)
            self.t_embedder = TimestepEmbedder(hidden_size, FREQ)
            self.y_embedder = LabelEmbedder(num_classes, hidden_size, class_dropout_prob)
            num_patches = self.x_embedder.num_patches
            self.pos_embed = nn.Parameter(
                torch.zeros(1, num_patches, hidden_size), requires_grad=False
            )
            self.blocks = nn.ModuleList([DiTBlock(hidden_size, num_heads) for _ in range(depth)])
            self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels)
            self.initialize_weights()

        def initialize_weights(self) -> None:
            def _basic_init(module: Any) -> None:
                if isinstance(module, nn.Linear):
                    torch.nn.init.xavier_uniform_(module.weight)
                    if module.bias is not None:
                        nn.init.constant_(module.bias, 0)

            self.apply(_basic_init)
            pos_embed = _pos_embed_2d(
                self.pos_embed.shape[-1], int(self.x_embedder.num_patches**0.5)
            )
            self.pos_embed.data.copy_(torch.from_numpy(pos_embed).float().unsqueeze(0))
            w = self.x_embedder.proj.weight.data
            nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
            nn.init.constant_(self.x_embedder.proj.bias, 0)
            nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
            nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
            nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
            for block in self.blocks:
                nn.init.constant_(block.adaLN_modulation[-1].weight, 0)
                nn.init.constant_(block.adaLN_modulation[-1].bias, 0)
            nn.init.constant_(self.final_layer.adaLN_modulation[-1].weight, 0)
            nn.init.constant_(self.final_layer.adaLN_modulation[-1].bias, 0)
            nn.init.constant_(self.final_layer.linear.weight, 0)
            nn.init.constant_(self.final_layer.linear.bias, 0)

        def unpatchify(self, x: Any) -> Any:
            c = self.out_channels
            p = self.x_embedder.patch_size[0]
            h = w = int(x.shape[1] ** 0.5)
            assert h * w == x.shape[1]
            x = x.reshape(shape=(x.shape[0], h, w, p, p, c))
            x = torch.einsum("nhwpqc->nchpwq", x)
            return x.reshape(shape=(x.shape[0], c, h * p, h * p))

        def forward(self, x: Any, t: Any, y: Any, force_drop_ids: Any = None) -> Any:
            x = self.x_embedder(x) + self.pos_embed
            t = self.t_embedder(t)
            y = self.y_embedder(y, self.training, force_drop_ids)
            c = t + y
            for block in self.blocks:
                x = block(x, c)
            x = self.final_layer(x, c)
            return self.unpatchify(x)

        def forward_with_cfg(self, x: Any, t: Any, y: Any, cfg_scale: float) -> Any:
            half = x[: len(x) // 2]
            combined = torch.cat([half, half], dim=0)
            model_out = self.forward(combined, t, y)
            eps, rest = model_out[:, :3], model_out[:, 3:]
            cond_eps, uncond_eps = torch.split(eps, len(eps) // 2, dim=0)
            half_eps = uncond_eps + cfg_scale * (cond_eps - uncond_eps)
            eps = torch.cat([half_eps, half_eps], dim=0)
            return torch.cat([eps, rest], dim=1)

    return DiT()


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(5)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    model.blocks[1].attn.fused_attn = False  # timm's eager path in one block, SDPA in the other

    betas = np.linspace(1e-4, 0.05, T_DIFF, dtype=np.float64)
    alphas_cumprod = np.cumprod(1.0 - betas)
    alphas_cumprod_prev = np.append(1.0, alphas_cumprod[:-1])
    sqrt_alphas_cumprod = np.sqrt(alphas_cumprod)
    sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - alphas_cumprod)
    sqrt_recip_alphas_cumprod = np.sqrt(1.0 / alphas_cumprod)
    sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / alphas_cumprod - 1)
    posterior_mean_coef1 = betas * np.sqrt(alphas_cumprod_prev) / (1.0 - alphas_cumprod)
    posterior_mean_coef2 = (
        (1.0 - alphas_cumprod_prev) * np.sqrt(1.0 - betas) / (1.0 - alphas_cumprod)
    )

    def _extract_into_tensor(arr: np.ndarray, timesteps: Any, broadcast_shape: Any) -> Any:
        res = torch.from_numpy(arr).to(device=timesteps.device)[timesteps].float()
        while len(res.shape) < len(broadcast_shape):
            res = res[..., None]
        return res + torch.zeros(broadcast_shape, device=timesteps.device)

    def randn(*shape: int) -> Any:
        return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))

    def q_sample(x_start: Any, t: Any, noise: Any) -> Any:
        return (
            _extract_into_tensor(sqrt_alphas_cumprod, t, x_start.shape) * x_start
            + _extract_into_tensor(sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise
        )

    latents = randn(16, IN_CH, SIZE, SIZE)
    labels = torch.from_numpy(rng.integers(0, CLASSES, 16))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0)
    values: list[float] = []
    model.train()
    for step in range(STEPS):
        idx = torch.from_numpy(rng.integers(0, 16, BATCH))
        x, y = latents[idx], labels[idx]
        t = torch.from_numpy(rng.integers(0, T_DIFF, BATCH))
        noise = randn(*x.shape)
        drop = torch.from_numpy((rng.random(BATCH) < 0.25).astype(np.int64))
        x_t = q_sample(x, t, noise)
        model_output = model(x_t, t, y, force_drop_ids=drop)
        B, C = x_t.shape[:2]
        assert model_output.shape == (B, C * 2, *x_t.shape[2:])
        model_output, _model_var_values = torch.split(model_output, C, dim=1)
        loss = ((noise - model_output) ** 2).mean(dim=list(range(1, len(noise.shape))))
        loss = loss.mean()
        opt.zero_grad()
        loss.backward()
        grad_norm = sum(p.grad.norm() ** 2 for p in model.parameters() if p.grad is not None)
        opt.step()
        values += [loss.item(), float(grad_norm) ** 0.5, model_output.abs().mean().item()]
        if step == 0:
            # adaLN-Zero: at step 0 only the final linear (and its adaLN) receive gradient
            values.append(model.blocks[0].attn.qkv.weight.grad.abs().sum().item())
            values.append(model.final_layer.linear.weight.grad.abs().sum().item())

    # classifier-free guidance sampling, DiT's sample.py: y_null is the extra class
    model.eval()
    n = 2
    z = randn(n, IN_CH, SIZE, SIZE)
    y = torch.tensor([1, 3])
    z = torch.cat([z, z], 0)
    y_null = torch.tensor([CLASSES] * n)
    y = torch.cat([y, y_null], 0)
    with torch.no_grad():
        for i in [T_DIFF - 1, T_DIFF // 2]:
            t = torch.tensor([i] * z.shape[0])
            out = model.forward_with_cfg(z, t, y, cfg_scale=4.0)
            eps, _ = torch.split(out, IN_CH, dim=1)
            pred_xstart = (
                _extract_into_tensor(sqrt_recip_alphas_cumprod, t, z.shape) * z
                - _extract_into_tensor(sqrt_recipm1_alphas_cumprod, t, z.shape) * eps
            ).clamp(-1, 1)
            z = (
                _extract_into_tensor(posterior_mean_coef1, t, z.shape) * pred_xstart
                + _extract_into_tensor(posterior_mean_coef2, t, z.shape) * z
            )
            values += [eps.abs().mean().item(), (eps[:n] - eps[n:]).abs().max().item()]
    samples, _ = z.chunk(2, dim=0)
    values += [samples.mean().item(), samples.std().item()]
    values += samples[0, :, 0, 0].tolist()
    return values
