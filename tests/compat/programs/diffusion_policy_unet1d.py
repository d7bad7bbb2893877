"""Diffusion Policy (Chi et al. 2023; real-stanford/diffusion_policy, ``model/diffusion/
conditional_unet1d.py``, ``conv1d_components.py``, ``positional_embedding.py``,
``model/diffusion/ema_model.py``; the Colab "diffusion_policy_state_pusht_demo"): a
FiLM-conditioned 1D temporal U-Net denoising action sequences, trained with the DDPM epsilon
loss, its EMA copy, then a few DDPM sampling steps.

The idioms kept: ``SinusoidalPosEmb`` (``math.log(10000) / (half_dim - 1)``, ``torch.exp(
torch.arange(half_dim, device=device) * -emb)``, ``x[:, None] * emb[None, :]``, ``torch.cat((
emb.sin(), emb.cos()), dim=-1)``); ``Conv1dBlock`` (``nn.Conv1d(..., padding=kernel_size // 2)``,
``nn.GroupNorm``, ``nn.Mish()``); ``Downsample1d`` ``nn.Conv1d(dim, dim, 3, 2, 1)`` and
``Upsample1d`` ``nn.ConvTranspose1d(dim, dim, 4, 2, 1)``; ``ConditionalResidualBlock1D``'s FiLM
encoder ``nn.Sequential(nn.Mish(), nn.Linear(cond_dim, cond_channels), nn.Unflatten(-1, (-1,
1)))``, ``embed.reshape(embed.shape[0], 2, self.out_channels, 1)``, ``out = scale * out + bias``
and the ``nn.Conv1d(in_channels, out_channels, 1)`` residual (or ``nn.Identity()``); the U-Net's
``nn.ModuleList`` stages, ``h.append(x)`` / ``torch.cat((x, h.pop()), dim=1)``,
``einops.rearrange(sample, 'b h t -> b t h')`` as ``moveaxis``; ``timesteps.expand(
sample.shape[0])``; the ``squaredcos_cap_v2`` schedule (``betas_for_alpha_bar`` with
``math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2``), ``add_noise`` (``alphas_cumprod[
timesteps] ** 0.5`` flattened and unsqueezed to the sample's rank), the clipped-sample DDPM
``step`` with ``torch.clamp(pred_original_sample, -1, 1)``; ``EMAModel`` (``get_decay``: ``1 -
(1 + step / inv_gamma) ** -power`` clamped to ``[min_value, max_value]``, ``copy.deepcopy(
model)``, ``ema_param.mul_(decay)``, ``ema_param.add_(param.data.to(dtype=ema_param.dtype),
alpha=1 - decay)`` over ``modules()`` / ``parameters(recurse=False)``, BatchNorm/GroupNorm
weights copied not averaged).

Changed: horizon 8, action dim 2, observation (the global condition) 5, down dims (8, 16),
kernel 3, 2 groups, 10 diffusion steps, 5 training steps, 3 sampling steps.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

ACT, OBS, HORIZON, T_STEPS, BATCH, STEPS = 2, 5, 8, 10, 4, 5


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    class SinusoidalPosEmb(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.dim = dim

        def forward(self, x: Any) -> Any:
            device = x.device
            half_dim = self.dim // 2
            emb = math.log(10000) / (half_dim - 1)
            emb = torch.exp(torch.arange(half_dim, device=device) * -emb)
            emb = x[:, None] * emb[None, :]
            return torch.cat((emb.sin(), emb.cos()), dim=-1)

    class Conv1dBlock(nn.Module):
        def __init__(self, inp: int, out: int, kernel_size: int, n_groups: int = 2) -> None:
            super().__init__()
            self.block = nn.Sequential(
                nn.Conv1d(inp, out, kernel_size, padding=kernel_size // 2),
                nn.GroupNorm(n_groups, out),
                nn.Mish(),
            )

        def forward(self, x: Any) -> Any:
            return self.block(x)

    class ConditionalResidualBlock1D(nn.Module):
        def __init__(self, in_channels: int, out_channels: int, cond_dim: int,
                     kernel_size: int = 3) -> None:  # fmt: skip
            super().__init__()
            self.blocks = nn.ModuleList([
                Conv1dBlock(in_channels, out_channels, kernel_size),
                Conv1dBlock(out_channels, out_channels, kernel_size),
            ])  # fmt: skip
            cond_channels = out_channels * 2
            self.out_channels = out_channels
            self.cond_encoder = nn.Sequential(
                nn.Mish(), nn.Linear(cond_dim, cond_channels), nn.Unflatten(-1, (-1, 1))
            )
            self.residual_conv = (
                nn.Conv1d(in_channels, out_channels, 1)
                if in_channels != out_channels
                else nn.Identity()
            )

        def forward(self, x: Any, cond: Any) -> Any:
            out = self.blocks[0](x)
            embed = self.cond_encoder(cond)
            embed = embed.reshape(embed.shape[0], 2, self.out_channels, 1)
            scale = embed[:, 0, ...]
            bias = embed[:, 1, ...]
            out = scale * out + bias
            out = self.blocks[1](out)
            return out + self.residual_conv(x)

    class ConditionalUnet1D(nn.Module):
        def __init__(self, input_dim: int, global_cond_dim: int, dsed: int = 8,
                     down_dims: tuple = (8, 16)) -> None:  # fmt: skip
            super().__init__()
            all_dims = [input_dim] + list(down_dims)
            start_dim = down_dims[0]
            self.diffusion_step_encoder = nn.Sequential(
                SinusoidalPosEmb(dsed), nn.Linear(dsed, dsed * 4), nn.Mish(),
                nn.Linear(dsed * 4, dsed),
            )  # fmt: skip
            cond_dim = dsed + global_cond_dim
            in_out = list(zip(all_dims[:-1], all_dims[1:]))
            mid_dim = all_dims[-1]
            self.mid_modules = nn.ModuleList([
                ConditionalResidualBlock1D(mid_dim, mid_dim, cond_dim),
            ])  # fmt: skip
            self.down_modules = nn.ModuleList([])
            for ind, (dim_in, dim_out) in enumerate(in_out):
                is_last = ind >= (len(in_out) - 1)
                self.down_modules.append(nn.ModuleList([
                    ConditionalResidualBlock1D(dim_in, dim_out, cond_dim),
                    nn.Conv1d(dim_out, dim_out, 3, 2, 1) if not is_last else nn.Identity(),
                ]))  # fmt: skip
            self.up_modules = nn.ModuleList([])
            for ind, (dim_in, dim_out) in enumerate(reversed(in_out[1:])):
                is_last = ind >= (len(in_out) - 1)
                self.up_modules.append(nn.ModuleList([
                    ConditionalResidualBlock1D(dim_out * 2, dim_in, cond_dim),
                    nn.ConvTranspose1d(dim_in, dim_in, 4, 2, 1) if not is_last else nn.Identity(),
                ]))  # fmt: skip
            self.final_conv = nn.Sequential(
                Conv1dBlock(start_dim, start_dim, kernel_size=3), nn.Conv1d(start_dim, input_dim, 1)
            )

        def forward(self, sample: Any, timestep: Any, global_cond: Any) -> Any:
            sample = sample.moveaxis(-1, -2)
            timesteps = timestep
            if not torch.is_tensor(timesteps):
                timesteps = torch.tensor([timesteps], dtype=torch.long, device=sample.device)
            elif torch.is_tensor(timesteps) and len(timesteps.shape) == 0:
                timesteps = timesteps[None].to(sample.device)
            timesteps = timesteps.expand(sample.shape[0])
            global_feature = self.diffusion_step_encoder(timesteps)
            global_feature = torch.cat([global_feature, global_cond], axis=-1)
            x = sample
            h = []
            for resnet, downsample in self.down_modules:
                x = resnet(x, global_feature)
                h.append(x)
                x = downsample(x)
            for mid_module in self.mid_modules:
                x = mid_module(x, global_feature)
            for resnet, upsample in self.up_modules:
                x = torch.cat((x, h.pop()), dim=1)
                x = resnet(x, global_feature)
                x = upsample(x)
            x = self.final_conv(x)
            return x.moveaxis(-1, -2)

    return ConditionalUnet1D(ACT, OBS)


def betas_for_alpha_bar(torch: Any, num_diffusion_timesteps: int, max_beta: float = 0.999) -> Any:
    def alpha_bar(time_step: float) -> float:
        return math.cos((time_step + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = []
    for i in range(num_diffusion_timesteps):
        t1 = i / num_diffusion_timesteps
        t2 = (i + 1) / num_diffusion_timesteps
        betas.append(min(1 - alpha_bar(t2) / alpha_bar(t1), max_beta))
    return torch.tensor(betas, dtype=torch.float32)


class EMAModel:
    def __init__(
        self,
        model: Any,
        update_after_step: int = 0,
        inv_gamma: float = 1.0,
        power: float = 2 / 3,
        min_value: float = 0.0,
        max_value: float = 0.9999,
    ) -> None:
        self.averaged_model = model
        self.averaged_model.eval()
        self.averaged_model.requires_grad_(False)
        self.update_after_step = update_after_step
        self.inv_gamma, self.power = inv_gamma, power
        self.min_value, self.max_value = min_value, max_value
        self.decay = 0.0
        self.optimization_step = 0

    def get_decay(self, optimization_step: int) -> float:
        step = max(0, optimization_step - self.update_after_step - 1)
        value = 1 - (1 + step / self.inv_gamma) ** -self.power
        if step <= 0:
            return 0.0
        return max(self.min_value, min(value, self.max_value))

    def step(self, torch: Any, new_model: Any) -> None:
        nn = torch.nn
        self.decay = self.get_decay(self.optimization_step)
        with torch.no_grad():
            for module, ema_module in zip(new_model.modules(), self.averaged_model.modules()):
                for param, ema_param in zip(module.parameters(recurse=False),
                                            ema_module.parameters(recurse=False)):  # fmt: skip
                    if isinstance(param, dict):
                        raise RuntimeError("Dict parameter not supported")
                    if isinstance(module, nn.modules.batchnorm._BatchNorm | nn.GroupNorm):
                        ema_param.copy_(param.to(dtype=ema_param.dtype).data)
                    elif not param.requires_grad:
                        ema_param.copy_(param.to(dtype=ema_param.dtype).data)
                    else:
                        ema_param.mul_(self.decay)
                        ema_param.add_(param.data.to(dtype=ema_param.dtype), alpha=1 - self.decay)
        self.optimization_step += 1


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    nn = torch.nn
    noise_pred_net = make_model(torch)
    load_numpy_state(torch, noise_pred_net, init)
    ema = EMAModel(copy.deepcopy(noise_pred_net), power=0.75)
    betas = betas_for_alpha_bar(torch, T_STEPS).to(torch.get_default_dtype())
    alphas = 1.0 - betas
    alphas_cumprod = torch.cumprod(alphas, dim=0)
    optimizer = torch.optim.AdamW(noise_pred_net.parameters(), lr=1e-3, weight_decay=1e-6)
    lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 3))
    rng = np.random.default_rng(5)
    torch.manual_seed(9)
    values: list[float] = []
    for _ in range(STEPS):
        nobs = as_tensor(torch, rng.uniform(-1, 1, (BATCH, OBS)))
        naction = torch.tanh(nobs[:, None, :ACT] + 0.2 * torch.arange(HORIZON)[None, :, None])
        noise = torch.randn(naction.shape)
        timesteps = torch.randint(0, T_STEPS, (BATCH,)).long()
        sqrt_alpha_prod = (alphas_cumprod[timesteps] ** 0.5).flatten()
        while len(sqrt_alpha_prod.shape) < len(naction.shape):
            sqrt_alpha_prod = sqrt_alpha_prod.unsqueeze(-1)
        sqrt_one_minus = ((1 - alphas_cumprod[timesteps]) ** 0.5).flatten()
        while len(sqrt_one_minus.shape) < len(naction.shape):
            sqrt_one_minus = sqrt_one_minus.unsqueeze(-1)
        noisy_actions = sqrt_alpha_prod * naction + sqrt_one_minus * noise
        noise_pred = noise_pred_net(noisy_actions, timesteps, global_cond=nobs.flatten(start_dim=1))
        loss = nn.functional.mse_loss(noise_pred, noise)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        lr_scheduler.step()
        ema.step(torch, noise_pred_net)
        values += [loss.item(), ema.decay]
    # DDPM sampling with the EMA network, the last 3 steps
    net = ema.averaged_model
    obs = as_tensor(torch, rng.uniform(-1, 1, (1, OBS)))
    naction = torch.randn((1, HORIZON, ACT))
    with torch.no_grad():
        for t in (2, 1, 0):
            model_output = net(naction, torch.tensor(t), global_cond=obs)
            alpha_prod_t = alphas_cumprod[t]
            alpha_prod_t_prev = alphas_cumprod[t - 1] if t > 0 else torch.tensor(1.0)
            beta_prod_t = 1 - alpha_prod_t
            pred_original_sample = (naction - beta_prod_t**0.5 * model_output) / alpha_prod_t**0.5
            pred_original_sample = torch.clamp(pred_original_sample, -1, 1)
            current_beta_t = 1 - alpha_prod_t / alpha_prod_t_prev
            coef_orig = (alpha_prod_t_prev**0.5 * current_beta_t) / beta_prod_t
            coef_cur = (1 - current_beta_t) ** 0.5 * (1 - alpha_prod_t_prev) / beta_prod_t
            naction = coef_orig * pred_original_sample + coef_cur * naction
            if t > 0:
                variance = (1 - alpha_prod_t_prev) / (1 - alpha_prod_t) * current_beta_t
                naction = naction + variance.clamp(min=1e-20) ** 0.5 * torch.randn(naction.shape)
            values.append(naction.sum().item())
    return values
