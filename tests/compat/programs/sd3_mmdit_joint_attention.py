"""Stable Diffusion 3's MMDiT as Stability-AI/sd3.5's reference ``mmditx.py`` writes it, trained
with rectified flow the way diffusers' ``train_dreambooth_sd3.py`` does and sampled with
``FlowMatchEulerDiscreteScheduler``'s Euler step, size-reduced.

The idioms: ``modulate`` (``torch.zeros_like(scale)`` for a missing shift, ``x * (1 +
scale.unsqueeze(1)) + shift.unsqueeze(1)``); ``PatchEmbed`` (strided ``Conv2d``,
``x.flatten(2).transpose(1, 2)``); ``TimestepEmbedder.timestep_embedding`` (``torch.exp(
-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32) / half)
.to(device=t.device)``, ``t[:, None].float() * freqs[None]``, ``torch.is_floating_point(t)``,
``embedding.to(dtype=t.dtype)``); ``VectorEmbedder``; ``RMSNorm`` with ``register_parameter(
"weight", None)`` when not affine and ``x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) +
self.eps)``, ``self.weight.to(device=x.device, dtype=x.dtype)``; ``split_qkv`` (``qkv.reshape(
qkv.shape[0], qkv.shape[1], 3, -1, head_dim).movedim(2, 0)``); per-head QK RMSNorm then
``.reshape(q.shape[0], q.shape[1], -1)``; ``attention`` (``map(lambda t: t.view(b, -1, heads,
dim_head).transpose(1, 2), (q, k, v))``, ``F.scaled_dot_product_attention(q, k, v,
attn_mask=mask, dropout_p=0.0, is_causal=False)``); ``DismantledBlock`` (``nn.LayerNorm(hidden,
elementwise_affine=False, eps=1e-6)``, ``adaLN_modulation(c).chunk(6, dim=1)`` or ``chunk(2)``
for the ``pre_only`` context block of the last layer, the timm ``Mlp`` with ``nn.GELU(
approximate="tanh")``); ``block_mixing`` (``torch.cat((context_qkv[t], x_qkv[t]), dim=1)`` for
the joint attention, split back by ``attn[:, : context_qkv[0].shape[1]]``); ``JointBlock``
(``kwargs.pop("pre_only")``); ``FinalLayer``; ``cropped_pos_embed`` (a 2-D sin-cos table
cropped by ``[:, top : top + h, left : left + w, :]``, einops' ``rearrange`` written as
``reshape``); the register tokens (``torch.cat((self.register.repeat(b, 1, 1), context if
context is not None else torch.Tensor([]).type_as(x)), 1)``); ``unpatchify`` (``x.reshape(
shape=(...))`` by keyword, ``torch.einsum("nhwpqc->nchpwq", x)``); training as the diffusers
script does (logit-normal ``u = torch.nn.functional.sigmoid(u)``, ``indices = (u *
num_train_timesteps).long()``, ``timesteps[indices]``, ``get_sigmas`` with ``(schedule_timesteps
== t).nonzero().item()`` and ``while len(sigma.shape) < n_dim: sigma = sigma.unsqueeze(-1)``,
``noisy = (1.0 - sigmas) * model_input + sigmas * noise``, the ``sigma_sqrt`` weighting
``(sigmas**-2.0).float()``, ``target = noise - model_input``, ``torch.mean((weighting.float() *
(model_pred.float() - target.float()) ** 2).reshape(target.shape[0], -1), 1).mean()``,
``AdamW`` with ``clip_grad_norm_``) and the shifted flow-matching sampler (``shift * sigmas /
(1 + (shift - 1) * sigmas)``, ``torch.cat([sigmas, torch.zeros(1, device=sigmas.device)])``,
``prev_sample = sample + (sigma_next - sigma) * model_output``, classifier-free guidance by
``torch.cat([x] * 2)`` and ``noise_pred.chunk(2)``).

Changed: 1536 wide / 24 layers -> 8 wide, 2 heads, 2 layers; a 16-channel 128x128 latent ->
2 channels 4x4 with patch 2 in a 3x3 position table; T5+CLIP context -> 3 tokens of 5 numbers,
pooled text -> 6 numbers, one register token; 1000 train timesteps -> 20; random numbers come
from NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"

HIDDEN, HEADS, DEPTH, PATCH, IN_CH, SIDE, POS_MAX = 8, 2, 2, 2, 2, 4, 3
CTX_LEN, CTX_DIM, Y_DIM, N_TRAIN_T, SHIFT = 3, 5, 6, 20, 3.0


def _get_2d_sincos_pos_embed(embed_dim: int, grid_size: int) -> np.ndarray:
    """MAE/DiT's NumPy 2-D sin-cos table (``get_2d_sincos_pos_embed``)."""

    def one_d(dim: int, pos: np.ndarray) -> np.ndarray:
        omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
        omega = 1.0 / 10000**omega
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    grid_h = np.arange(grid_size, dtype=np.float32)
    grid = np.stack(np.meshgrid(grid_h, grid_h), axis=0).reshape(2, 1, grid_size, grid_size)
    emb = np.concatenate([one_d(embed_dim // 2, grid[0]), one_d(embed_dim // 2, grid[1])], axis=1)
    return emb


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn
    F = nn.functional

    def modulate(x: Any, shift: Any, scale: Any) -> Any:
        if shift is None:
            shift = torch.zeros_like(scale)
        return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)

    class PatchEmbed(nn.Module):
        def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
            super().__init__()
            self.patch_size = (patch_size, patch_size)
            self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

        def forward(self, x: Any) -> Any:
            return self.proj(x).flatten(2).transpose(1, 2)

    class TimestepEmbedder(nn.Module):
        def __init__(self, hidden_size: int, frequency_embedding_size: int = 8) -> None:
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
            if torch.is_floating_point(t):
                embedding = embedding.to(dtype=t.dtype)
            return embedding

        def forward(self, t: Any, dtype: Any, **kwargs: Any) -> Any:
            t_freq = self.timestep_embedding(t, self.frequency_embedding_size).to(dtype)
            t_emb = self.mlp(t_freq)
            return t_emb

    class VectorEmbedder(nn.Module):
        def __init__(self, input_dim: int, hidden_size: int) -> None:
            super().__init__()
            self.mlp = nn.Sequential(
                nn.Linear(input_dim, hidden_size, bias=True),
                nn.SiLU(),
                nn.Linear(hidden_size, hidden_size, bias=True),
            )

        def forward(self, x: Any) -> Any:
            return self.mlp(x)

    class RMSNorm(nn.Module):
        def __init__(self, dim: int, elementwise_affine: bool = False, eps: float = 1e-6) -> None:
            super().__init__()
            self.eps = eps
            self.learnable_scale = elementwise_affine
            if self.learnable_scale:
                self.weight = nn.Parameter(torch.empty(dim))
            else:
                self.register_parameter("weight", None)
            self.reset_parameters()

        def reset_parameters(self) -> None:
            if self.weight is not None:
                nn.init.ones_(self.weight)

        def _norm(self, x: Any) -> Any:
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        def forward(self, x: Any) -> Any:
            x = self._norm(x)
            if self.learnable_scale:
                return x * self.weight.to(device=x.device, dtype=x.dtype)
            else:
                return x

    def split_qkv(qkv: Any, head_dim: int) -> tuple[Any, Any, Any]:
        qkv = qkv.reshape(qkv.shape[0], qkv.shape[1], 3, -1, head_dim).movedim(2, 0)
        return qkv[0], qkv[1], qkv[2]

    def attention(q: Any, k: Any, v: Any, heads: int, mask: Any = None) -> Any:
        """Convenience wrapper around a basic attention operation"""
        b, _, dim_head = q.shape
        dim_head //= heads
        q, k, v = map(lambda t: t.view(b, -1, heads, dim_head).transpose(1, 2), (q, k, v))
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=0.0, is_causal=False
        )
        return out.transpose(1, 2).reshape(b, -1, heads * dim_head)

    class SelfAttention(nn.Module):
        def __init__(
            self,
            dim: int,
            num_heads: int = 8,
            qkv_bias: bool = False,
            pre_only: bool = False,
            qk_norm: str | None = None,
        ) -> None:
            super().__init__()
            self.num_heads = num_heads
            self.head_dim = dim // num_heads

            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            if not pre_only:
                self.proj = nn.Linear(dim, dim)
            self.pre_only = pre_only

            if qk_norm == "rms":
                self.ln_q = RMSNorm(self.head_dim, elementwise_affine=True, eps=1.0e-6)
                self.ln_k = RMSNorm(self.head_dim, elementwise_affine=True, eps=1.0e-6)
            elif qk_norm == "ln":
                self.ln_q = nn.LayerNorm(self.head_dim, elementwise_affine=True, eps=1.0e-6)
                self.ln_k = nn.LayerNorm(self.head_dim, elementwise_affine=True, eps=1.0e-6)
            elif qk_norm is None:
                self.ln_q = nn.Identity()
                self.ln_k = nn.Identity()
            else:
                raise ValueError(qk_norm)

        def pre_attention(self, x: Any) -> tuple[Any, Any, Any]:
            B, L, C = x.shape
            qkv = self.qkv(x)
            q, k, v = split_qkv(qkv, self.head_dim)
            q = self.ln_q(q).reshape(q.shape[0], q.shape[1], -1)
            k = self.ln_k(k).reshape(q.shape[0], q.shape[1], -1)
            return (q, k, v)

        def post_attention(self, x: Any) -> Any:
            assert not self.pre_only
            x = self.proj(x)
            return x

    class Mlp(nn.Module):
        def __init__(self, in_features: int, hidden_features: int, act_layer: Any) -> None:
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features)
            self.act = act_layer
            self.fc2 = nn.Linear(hidden_features, in_features)

        def forward(self, x: Any) -> Any:
            return self.fc2(self.act(self.fc1(x)))

    class DismantledBlock(nn.Module):
        """A DiT block with gated adaptive layer norm (adaLN) conditioning."""

        def __init__(
            self,
            hidden_size: int,
            num_heads: int,
            mlp_ratio: float = 4.0,
            qkv_bias: bool = False,
            pre_only: bool = False,
            qk_norm: str | None = None,
        ) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
            self.attn = SelfAttention(
                dim=hidden_size,
                num_heads=num_heads,
                qkv_bias=qkv_bias,
                pre_only=pre_only,
                qk_norm=qk_norm,
            )
            if not pre_only:
                self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
            mlp_hidden_dim = int(hidden_size * mlp_ratio)
            if not pre_only:
                self.mlp = Mlp(
                    in_features=hidden_size,
                    hidden_features=mlp_hidden_dim,
                    act_layer=nn.GELU(approximate="tanh"),
                )
            n_mods = 6 if not pre_only else 2
            self.adaLN_modulation = nn.Sequential(
                nn.SiLU(), nn.Linear(hidden_size, n_mods * hidden_size, bias=True)
            )
            self.pre_only = pre_only

        def pre_attention(self, x: Any, c: Any) -> tuple[Any, Any]:
            assert x is not None, "pre_attention called with None input"
            if not self.pre_only:
                shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = (
                    self.adaLN_modulation(c).chunk(6, dim=1)
                )
                qkv = self.attn.pre_attention(modulate(self.norm1(x), shift_msa, scale_msa))
                return qkv, (x, gate_msa, shift_mlp, scale_mlp, gate_mlp)
            else:
                shift_msa, scale_msa = self.adaLN_modulation(c).chunk(2, dim=1)
                qkv = self.attn.pre_attention(modulate(self.norm1(x), shift_msa, scale_msa))
                return qkv, None

        def post_attention(
            self, attn: Any, x: Any, gate_msa: Any, shift_mlp: Any, scale_mlp: Any, gate_mlp: Any
        ) -> Any:
            assert not self.pre_only
            x = x + gate_msa.unsqueeze(1) * self.attn.post_attention(attn)
            x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
            return x

    def block_mixing(context: Any, x: Any, context_block: Any, x_block: Any, c: Any) -> Any:
        assert context is not None, "block_mixing called with None context"
        context_qkv, context_intermediates = context_block.pre_attention(context, c)

        x_qkv, x_intermediates = x_block.pre_attention(x, c)

        o = []
        for t in range(3):
            o.append(torch.cat((context_qkv[t], x_qkv[t]), dim=1))
        q, k, v = tuple(o)

        attn = attention(q, k, v, x_block.attn.num_heads)
        context_attn, x_attn = (
            attn[:, : context_qkv[0].shape[1]],
            attn[:, context_qkv[0].shape[1] :],
        )

        if not context_block.pre_only:
            context = context_block.post_attention(context_attn, *context_intermediates)
        else:
            context = None
        x = x_block.post_attention(x_attn, *x_intermediates)
        return context, x

    class JointBlock(nn.Module):
        """just a small wrapper to serve as a fsdp unit"""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__()
            pre_only = kwargs.pop("pre_only")
            qk_norm = kwargs.pop("qk_norm", None)
            self.context_block = DismantledBlock(
                *args, pre_only=pre_only, qk_norm=qk_norm, **kwargs
            )
            self.x_block = DismantledBlock(*args, pre_only=False, qk_norm=qk_norm, **kwargs)

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return block_mixing(
                *args, context_block=self.context_block, x_block=self.x_block, **kwargs
            )

    class FinalLayer(nn.Module):
        """The final layer of DiT."""

        def __init__(self, hidden_size: int, patch_size: int, out_channels: int) -> None:
            super().__init__()
            self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
            self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels, bias=True)
            self.adaLN_modulation = nn.Sequential(
                nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size, bias=True)
            )

        def forward(self, x: Any, c: Any) -> Any:
            shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
            x = modulate(self.norm_final(x), shift, scale)
            x = self.linear(x)
            return x

    class MMDiTX(nn.Module):
        """Diffusion model with a Transformer backbone."""

        def __init__(self, register_length: int = 1) -> None:
            super().__init__()
            self.in_channels = IN_CH
            self.out_channels = IN_CH
            self.pos_embed_max_size = POS_MAX
            self.x_embedder = PatchEmbed(PATCH, IN_CH, HIDDEN)
            self.t_embedder = TimestepEmbedder(HIDDEN)
            self.y_embedder = VectorEmbedder(Y_DIM, HIDDEN)
            self.context_embedder = nn.Linear(CTX_DIM, HIDDEN)
            self.register_length = register_length
            if register_length > 0:
                self.register = nn.Parameter(torch.randn(1, register_length, HIDDEN))
            pos = torch.from_numpy(_get_2d_sincos_pos_embed(HIDDEN, POS_MAX))
            self.register_buffer("pos_embed", pos.float().unsqueeze(0))
            self.joint_blocks = nn.ModuleList(
                [
                    JointBlock(HIDDEN, HEADS, mlp_ratio=2.0, qkv_bias=True, pre_only=i == DEPTH - 1,
                               qk_norm="rms")
                    for i in range(DEPTH)
                ]
            )  # fmt: skip
            self.final_layer = FinalLayer(HIDDEN, PATCH, self.out_channels)

        def cropped_pos_embed(self, hw: Any) -> Any:
            p = self.x_embedder.patch_size[0]
            h, w = hw
            # patched size
            h = (h + 1) // p
            w = (w + 1) // p
            assert h <= self.pos_embed_max_size, (h, self.pos_embed_max_size)
            assert w <= self.pos_embed_max_size, (w, self.pos_embed_max_size)
            top = (self.pos_embed_max_size - h) // 2
            left = (self.pos_embed_max_size - w) // 2
            spatial_pos_embed = self.pos_embed.reshape(
                1, self.pos_embed_max_size, self.pos_embed_max_size, -1
            )
            spatial_pos_embed = spatial_pos_embed[:, top : top + h, left : left + w, :]
            spatial_pos_embed = spatial_pos_embed.reshape(1, h * w, -1)
            return spatial_pos_embed

        def unpatchify(self, x: Any, hw: Any = None) -> Any:
            """
            x: (N, T, patch_size**2 * C)
            imgs: (N, H, W, C)
            """
            c = self.out_channels
            p = self.x_embedder.patch_size[0]
            if hw is None:
                h = w = int(x.shape[1] ** 0.5)
            else:
                h, w = hw
                h = (h + 1) // p
                w = (w + 1) // p
            assert h * w == x.shape[1]

            x = x.reshape(shape=(x.shape[0], h, w, p, p, c))
            x = torch.einsum("nhwpqc->nchpwq", x)
            imgs = x.reshape(shape=(x.shape[0], c, h * p, w * p))
            return imgs

        def forward_core_with_concat(self, x: Any, c_mod: Any, context: Any = None) -> Any:
            if self.register_length > 0:
                context = torch.cat(
                    (
                        self.register.repeat(x.shape[0], 1, 1),
                        context if context is not None else torch.Tensor([]).type_as(x),
                    ),
                    1,
                )

            # context is B, L', D
            # x is B, L, D
            for block in self.joint_blocks:
                context, x = block(context, x, c=c_mod)

            x = self.final_layer(x, c_mod)  # (N, T, patch_size ** 2 * out_channels)
            return x

        def forward(self, x: Any, t: Any, y: Any = None, context: Any = None) -> Any:
            """
            x: (N, C, H, W) tensor of spatial inputs (images or latent representations of images)
            t: (N,) tensor of diffusion timesteps
            y: (N,) tensor of class labels
            """
            hw = x.shape[-2:]
            x = self.x_embedder(x) + self.cropped_pos_embed(hw)
            c = self.t_embedder(t, dtype=x.dtype)  # (N, D)
            if y is not None:
                y = self.y_embedder(y)  # (N, D)
                c = c + y  # (N, D)

            context = self.context_embedder(context)

            x = self.forward_core_with_concat(x, c, context)

            x = self.unpatchify(x, hw=hw)  # (N, out_channels, H, W)
            return x

    return MMDiTX()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(303)
    model = make_model(torch_like)
    load_numpy_state(torch, model, init)
    values: list[float] = []

    def randn(*shape: int) -> Any:
        return torch.from_numpy(rng.normal(size=shape)).float()

    # FlowMatchEulerDiscreteScheduler(num_train_timesteps=N_TRAIN_T, shift=SHIFT)
    timesteps = np.linspace(1, N_TRAIN_T, N_TRAIN_T, dtype=np.float32)[::-1].copy()
    timesteps = torch.from_numpy(timesteps).to(dtype=torch.float32)
    sigmas = timesteps / N_TRAIN_T
    sigmas = SHIFT * sigmas / (1 + (SHIFT - 1) * sigmas)
    train_timesteps = sigmas * N_TRAIN_T
    values += [sigmas.sum().item(), train_timesteps[-1].item()]

    def get_sigmas(timesteps: Any, n_dim: int = 4, dtype: Any = torch.float32) -> Any:
        sigmas_ = sigmas.to(dtype=dtype)
        schedule_timesteps = train_timesteps
        step_indices = [(schedule_timesteps == t).nonzero().item() for t in timesteps]

        sigma = sigmas_[step_indices].flatten()
        while len(sigma.shape) < n_dim:
            sigma = sigma.unsqueeze(-1)
        return sigma

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    bsz = 3
    for _step in range(4):
        model_input = randn(bsz, IN_CH, SIDE, SIDE)
        context = randn(bsz, CTX_LEN, CTX_DIM)
        pooled = randn(bsz, Y_DIM)
        noise = randn(bsz, IN_CH, SIDE, SIDE)
        # compute_density_for_timestep_sampling(weighting_scheme="logit_normal")
        u = torch.from_numpy(rng.normal(loc=0.0, scale=1.0, size=(bsz,))).float()
        u = torch.nn.functional.sigmoid(u)
        indices = (u * N_TRAIN_T).long()
        t = train_timesteps[indices].to(device=model_input.device)

        s = get_sigmas(t, n_dim=model_input.ndim, dtype=model_input.dtype)
        noisy_model_input = (1.0 - s) * model_input + s * noise

        model_pred = model(noisy_model_input, t, y=pooled, context=context)
        weighting = (s**-2.0).float()  # compute_loss_weighting_for_sd3("sigma_sqrt")
        target = noise - model_input
        loss = torch.mean(
            (weighting.float() * (model_pred.float() - target.float()) ** 2).reshape(
                target.shape[0], -1
            ),
            1,
        )
        loss = loss.mean()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        values += [loss.item(), grad_norm.item()]

    # sampling: 4 Euler steps of the shifted schedule with classifier-free guidance
    model.eval()
    n_steps, guidance = 4, 2.0
    ts = np.linspace(1.0, 1.0 / n_steps, n_steps, dtype=np.float32)
    s_inf = torch.from_numpy(ts).to(dtype=torch.float32)
    s_inf = SHIFT * s_inf / (1 + (SHIFT - 1) * s_inf)
    s_inf = torch.cat([s_inf, torch.zeros(1, device=s_inf.device)])
    latents = randn(2, IN_CH, SIDE, SIDE)
    context = randn(2, CTX_LEN, CTX_DIM)
    pooled = randn(2, Y_DIM)
    with torch.no_grad():
        for i in range(n_steps):
            latent_model_input = torch.cat([latents] * 2)
            timestep = (s_inf[i] * N_TRAIN_T).expand(latent_model_input.shape[0])
            noise_pred = model(
                latent_model_input,
                timestep,
                y=torch.cat([torch.zeros_like(pooled), pooled]),
                context=torch.cat([torch.zeros_like(context), context]),
            )
            noise_pred_uncond, noise_pred_text = noise_pred.chunk(2)
            noise_pred = noise_pred_uncond + guidance * (noise_pred_text - noise_pred_uncond)
            sigma, sigma_next = s_inf[i], s_inf[i + 1]
            latents = latents + (sigma_next - sigma) * noise_pred
            values.append(latents.pow(2).mean().item())
    values += latents.flatten()[:8].tolist()
    return values
