"""Hugging Face diffusers' schedulers and a tiny ``UNet2DModel``, trained a few steps and sampled
with classifier-free guidance, as ``schedulers/scheduling_ddpm.py``, ``scheduling_ddim.py``,
``models/embeddings.py``, ``models/resnet.py``, ``models/attention_processor.py``,
``training_utils.py`` (``EMAModel``), ``optimization.py`` and ``examples/unconditional_image_
generation/train_unconditional.py`` write them, size-reduced.

The idioms: the beta schedules (``torch.linspace(beta_start, beta_end, num_train_timesteps,
dtype=torch.float32)``, "scaled_linear" ``torch.linspace(beta_start**0.5, beta_end**0.5, ...,
dtype=torch.float32) ** 2`` and ``betas_for_alpha_bar`` with ``math.cos`` turned into
``torch.tensor(betas, dtype=torch.float32)``), ``self.alphas_cumprod = torch.cumprod(
self.alphas, dim=0)``, ``self.one = torch.tensor(1.0)``, ``self.timesteps = torch.from_numpy(
np.arange(0, num_train_timesteps)[::-1].copy())``; ``set_timesteps``' "leading" spacing
(``(np.arange(0, num_inference_steps) * step_ratio).round()[::-1].copy().astype(np.int64)``,
``steps_offset``); ``add_noise`` (``self.alphas_cumprod.to(device=...)``, ``.to(dtype=
original_samples.dtype)``, ``alphas_cumprod[timesteps] ** 0.5``, ``.flatten()``, ``while
len(sqrt_alpha_prod.shape) < len(original_samples.shape): sqrt_alpha_prod =
sqrt_alpha_prod.unsqueeze(-1)``); DDPM's and DDIM's ``step`` on a 0-d timestep tensor
(``self.alphas_cumprod[prev_t] if prev_t >= 0 else self.one``, ``pred_original_sample.clamp(
-clip_sample_range, clip_sample_range)``, ``torch.clamp(variance, min=1e-20)``, DDIM's ``eta *
variance ** (0.5)`` with ``variance_noise``); ``get_timestep_embedding`` (``exponent =
-math.log(max_period) * torch.arange(start=0, end=half_dim, dtype=torch.float32, device=...)``,
``timesteps[:, None].float() * emb[None, :]``, ``torch.cat([torch.sin(emb), torch.cos(emb)],
dim=-1)``, ``flip_sin_to_cos``); ``UNet2DModel.forward``'s timestep handling (``torch.is_tensor
(timesteps)``, ``timesteps[None].to(sample.device)``, ``timesteps * torch.ones(sample.shape[0],
dtype=timesteps.dtype, device=timesteps.device)``, ``t_emb.to(dtype=self.dtype)``) and its
``return_dict=False`` tuple; ``ResnetBlock2D`` (``nn.GroupNorm(num_groups=groups,
num_channels=in_channels, eps=1e-6, affine=True)``, ``F.silu``, ``self.time_emb_proj(temb)[:,
:, None, None]``, ``self.conv_shortcut(input_tensor.contiguous())``, ``/
self.output_scale_factor``); the spatial ``Attention`` with ``AttnProcessor2_0``
(``hidden_states.view(batch_size, channel, height * width).transpose(1, 2)``, ``attn.group_norm(
hidden_states.transpose(1, 2)).transpose(1, 2)``, ``.view(batch_size, -1, attn.heads,
head_dim).transpose(1, 2)``, ``F.scaled_dot_product_attention(query, key, value,
attn_mask=None, dropout_p=0.0, is_causal=False)``, ``hidden_states.to(query.dtype)``,
``attn.to_out[0]`` / ``attn.to_out[1]`` in an ``nn.ModuleList``, ``.transpose(-1,
-2).reshape(batch_size, channel, height, width)``, ``/ attn.rescale_output_factor``);
``Upsample2D``'s ``F.interpolate(hidden_states, scale_factor=2.0, mode="nearest")``; classifier-
free guidance (``torch.cat([latents] * 2)``, ``noise_pred.chunk(2)``, ``noise_pred_uncond +
guidance_scale * (noise_pred_text - noise_pred_uncond)``); ``randn_tensor``'s ``torch.randn(
shape, generator=generator, device=rand_device, dtype=dtype, layout=layout)`` with
``torch.Generator().manual_seed(0)``; training with ``F.mse_loss(noise_pred.float(),
noise.float(), reduction="mean")``, ``torch.optim.AdamW``, ``get_cosine_schedule_with_warmup``'s
``LambdaLR``, ``torch.nn.utils.clip_grad_norm_`` and ``EMAModel`` (``[p.clone().detach() for p
in parameters]``, ``get_decay``, ``s_param.sub_(one_minus_decay * (s_param - param))`` and the
``foreach`` form ``torch._foreach_sub_(s_params, torch._foreach_sub(s_params, params),
alpha=one_minus_decay)``, ``copy_to``, ``store`` / ``restore``).

Changed: 8 x 8 two-channel images from NumPy, block channels (8, 16), 50 training timesteps, 3
training steps, 4 inference steps. Every noise draw comes from NumPy (the two libraries'
generators differ); the seeded ``torch.randn(..., generator=g)`` is checked for what holds for
every generator (shape, dtype, same seed same draw) and DDPM's ``step`` takes its noise as DDIM's
does, through ``variance_noise``. The whole run is float32, as diffusers trains.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["DTYPE", "make_model", "run"]

DTYPE = "float32"  # diffusers trains in float32 and its schedulers are float32
IMG, CH, BATCH, T_TRAIN, STEPS, INFER, CLASSES = 8, 2, 3, 50, 3, 4, 3


def betas_for_alpha_bar(torch_like: Any, num_diffusion_timesteps: int, max_beta: float = 0.999):
    def alpha_bar_fn(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = []
    for i in range(num_diffusion_timesteps):
        t1 = i / num_diffusion_timesteps
        t2 = (i + 1) / num_diffusion_timesteps
        betas.append(min(1 - alpha_bar_fn(t2) / alpha_bar_fn(t1), max_beta))
    return torch_like.tensor(betas, dtype=torch_like.float32)


def _schedulers(torch_like: Any) -> tuple[Any, Any]:
    torch = torch_like

    class SchedulerMixin:
        def __init__(
            self,
            num_train_timesteps: int = 1000,
            beta_start: float = 0.0001,
            beta_end: float = 0.02,
            beta_schedule: str = "linear",
            clip_sample: bool = True,
            clip_sample_range: float = 1.0,
            steps_offset: int = 0,
        ) -> None:
            self.num_train_timesteps = num_train_timesteps
            self.clip_sample = clip_sample
            self.clip_sample_range = clip_sample_range
            self.steps_offset = steps_offset
            if beta_schedule == "linear":
                self.betas = torch.linspace(
                    beta_start, beta_end, num_train_timesteps, dtype=torch.float32
                )
            elif beta_schedule == "scaled_linear":
                # this schedule is very specific to the latent diffusion model.
                self.betas = (
                    torch.linspace(
                        beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=torch.float32
                    )
                    ** 2
                )
            elif beta_schedule == "squaredcos_cap_v2":
                self.betas = betas_for_alpha_bar(torch, num_train_timesteps)
            else:
                raise NotImplementedError(f"{beta_schedule} is not implemented for {type(self)}")
            self.alphas = 1.0 - self.betas
            self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
            self.one = torch.tensor(1.0)
            self.init_noise_sigma = 1.0
            self.num_inference_steps = None
            self.timesteps = torch.from_numpy(np.arange(0, num_train_timesteps)[::-1].copy())

        def set_timesteps(self, num_inference_steps: int, device: Any = None) -> None:
            self.num_inference_steps = num_inference_steps
            step_ratio = self.num_train_timesteps // self.num_inference_steps
            timesteps = (np.arange(0, num_inference_steps) * step_ratio).round()[::-1]
            timesteps = timesteps.copy().astype(np.int64)
            timesteps += self.steps_offset
            self.timesteps = torch.from_numpy(timesteps).to(device)

        def scale_model_input(self, sample: Any, timestep: Any = None) -> Any:
            return sample

        def add_noise(self, original_samples: Any, noise: Any, timesteps: Any) -> Any:
            self.alphas_cumprod = self.alphas_cumprod.to(device=original_samples.device)
            alphas_cumprod = self.alphas_cumprod.to(dtype=original_samples.dtype)
            timesteps = timesteps.to(original_samples.device)

            sqrt_alpha_prod = alphas_cumprod[timesteps] ** 0.5
            sqrt_alpha_prod = sqrt_alpha_prod.flatten()
            while len(sqrt_alpha_prod.shape) < len(original_samples.shape):
                sqrt_alpha_prod = sqrt_alpha_prod.unsqueeze(-1)

            sqrt_one_minus_alpha_prod = (1 - alphas_cumprod[timesteps]) ** 0.5
            sqrt_one_minus_alpha_prod = sqrt_one_minus_alpha_prod.flatten()
            while len(sqrt_one_minus_alpha_prod.shape) < len(original_samples.shape):
                sqrt_one_minus_alpha_prod = sqrt_one_minus_alpha_prod.unsqueeze(-1)

            return sqrt_alpha_prod * original_samples + sqrt_one_minus_alpha_prod * noise

    class DDPMScheduler(SchedulerMixin):
        def previous_timestep(self, timestep: Any) -> Any:
            return timestep - self.num_train_timesteps // self.num_inference_steps

        def _get_variance(self, t: Any) -> Any:
            prev_t = self.previous_timestep(t)
            alpha_prod_t = self.alphas_cumprod[t]
            alpha_prod_t_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else self.one
            current_beta_t = 1 - alpha_prod_t / alpha_prod_t_prev
            variance = (1 - alpha_prod_t_prev) / (1 - alpha_prod_t) * current_beta_t
            return torch.clamp(variance, min=1e-20)

        def step(self, model_output: Any, timestep: Any, sample: Any, variance_noise: Any):
            t = timestep
            prev_t = self.previous_timestep(t)
            alpha_prod_t = self.alphas_cumprod[t]
            alpha_prod_t_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else self.one
            beta_prod_t = 1 - alpha_prod_t
            beta_prod_t_prev = 1 - alpha_prod_t_prev
            current_alpha_t = alpha_prod_t / alpha_prod_t_prev
            current_beta_t = 1 - current_alpha_t

            pred_original_sample = (
                sample - beta_prod_t ** (0.5) * model_output
            ) / alpha_prod_t ** (0.5)
            if self.clip_sample:
                pred_original_sample = pred_original_sample.clamp(
                    -self.clip_sample_range, self.clip_sample_range
                )
            pred_original_sample_coeff = (alpha_prod_t_prev ** (0.5) * current_beta_t) / beta_prod_t
            current_sample_coeff = current_alpha_t ** (0.5) * beta_prod_t_prev / beta_prod_t
            pred_prev_sample = (
                pred_original_sample_coeff * pred_original_sample + current_sample_coeff * sample
            )
            variance = 0
            if t > 0:
                variance = (self._get_variance(t) ** 0.5) * variance_noise
            pred_prev_sample = pred_prev_sample + variance
            return (pred_prev_sample, pred_original_sample)

    class DDIMScheduler(SchedulerMixin):
        def __init__(self, *args: Any, set_alpha_to_one: bool = True, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.final_alpha_cumprod = (
                torch.tensor(1.0) if set_alpha_to_one else self.alphas_cumprod[0]
            )

        def _get_variance(self, timestep: Any, prev_timestep: Any) -> Any:
            alpha_prod_t = self.alphas_cumprod[timestep]
            alpha_prod_t_prev = (
                self.alphas_cumprod[prev_timestep]
                if prev_timestep >= 0
                else self.final_alpha_cumprod
            )
            beta_prod_t = 1 - alpha_prod_t
            beta_prod_t_prev = 1 - alpha_prod_t_prev
            return (beta_prod_t_prev / beta_prod_t) * (1 - alpha_prod_t / alpha_prod_t_prev)

        def step(
            self,
            model_output: Any,
            timestep: Any,
            sample: Any,
            eta: float = 0.0,
            variance_noise: Any = None,
            return_dict: bool = False,
        ) -> Any:
            prev_timestep = timestep - self.num_train_timesteps // self.num_inference_steps
            alpha_prod_t = self.alphas_cumprod[timestep]
            alpha_prod_t_prev = (
                self.alphas_cumprod[prev_timestep]
                if prev_timestep >= 0
                else self.final_alpha_cumprod
            )
            beta_prod_t = 1 - alpha_prod_t
            pred_original_sample = (
                sample - beta_prod_t ** (0.5) * model_output
            ) / alpha_prod_t ** (0.5)
            pred_epsilon = model_output
            if self.clip_sample:
                pred_original_sample = pred_original_sample.clamp(
                    -self.clip_sample_range, self.clip_sample_range
                )
            variance = self._get_variance(timestep, prev_timestep)
            std_dev_t = eta * variance ** (0.5)
            pred_sample_direction = (1 - alpha_prod_t_prev - std_dev_t**2) ** (0.5) * pred_epsilon
            prev_sample = alpha_prod_t_prev ** (0.5) * pred_original_sample + pred_sample_direction
            if eta > 0:
                prev_sample = prev_sample + std_dev_t * variance_noise
            return (prev_sample, pred_original_sample)

    return DDPMScheduler, DDIMScheduler


def get_timestep_embedding(
    torch_like: Any,
    timesteps: Any,
    embedding_dim: int,
    flip_sin_to_cos: bool = False,
    downscale_freq_shift: float = 1,
    scale: float = 1,
    max_period: int = 10000,
) -> Any:
    torch = torch_like
    assert len(timesteps.shape) == 1, "Timesteps should be a 1d-array"
    half_dim = embedding_dim // 2
    exponent = -math.log(max_period) * torch.arange(
        start=0, end=half_dim, dtype=torch.float32, device=timesteps.device
    )
    exponent = exponent / (half_dim - downscale_freq_shift)
    emb = torch.exp(exponent)
    emb = timesteps[:, None].float() * emb[None, :]
    emb = scale * emb
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half_dim:], emb[:, :half_dim]], dim=-1)
    if embedding_dim % 2 == 1:
        emb = torch.nn.functional.pad(emb, (0, 1, 0, 0))
    return emb


def make_model(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class ResnetBlock2D(nn.Module):
        def __init__(self, in_channels: int, out_channels: int, temb_channels: int) -> None:
            super().__init__()
            groups, eps = 4, 1e-6
            self.norm1 = nn.GroupNorm(
                num_groups=groups, num_channels=in_channels, eps=eps, affine=True
            )
            self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)
            self.time_emb_proj = nn.Linear(temb_channels, out_channels)
            self.norm2 = nn.GroupNorm(
                num_groups=groups, num_channels=out_channels, eps=eps, affine=True
            )
            self.dropout = nn.Dropout(0.0)
            self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1)
            self.output_scale_factor = 1.0
            self.conv_shortcut = None
            if in_channels != out_channels:
                self.conv_shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=1, padding=0)

        def forward(self, input_tensor: Any, temb: Any) -> Any:
            hidden_states = input_tensor
            hidden_states = self.norm1(hidden_states)
            hidden_states = F.silu(hidden_states)
            hidden_states = self.conv1(hidden_states)
            if self.time_emb_proj is not None:
                temb = F.silu(temb)
                temb = self.time_emb_proj(temb)[:, :, None, None]
            hidden_states = hidden_states + temb
            hidden_states = self.norm2(hidden_states)
            hidden_states = F.silu(hidden_states)
            hidden_states = self.dropout(hidden_states)
            hidden_states = self.conv2(hidden_states)
            if self.conv_shortcut is not None:
                input_tensor = self.conv_shortcut(input_tensor.contiguous())
            return (input_tensor + hidden_states) / self.output_scale_factor

    class Attention(nn.Module):
        def __init__(self, query_dim: int, heads: int, dim_head: int) -> None:
            super().__init__()
            inner_dim = heads * dim_head
            self.heads = heads
            self.rescale_output_factor = 1.0
            self.residual_connection = True
            self.group_norm = nn.GroupNorm(num_channels=query_dim, num_groups=4, eps=1e-6)
            self.to_q = nn.Linear(query_dim, inner_dim, bias=True)
            self.to_k = nn.Linear(query_dim, inner_dim, bias=True)
            self.to_v = nn.Linear(query_dim, inner_dim, bias=True)
            self.to_out = nn.ModuleList([])
            self.to_out.append(nn.Linear(inner_dim, query_dim, bias=True))
            self.to_out.append(nn.Dropout(0.0))

        def forward(self, hidden_states: Any) -> Any:  # AttnProcessor2_0.__call__
            attn = self
            residual = hidden_states
            input_ndim = hidden_states.ndim
            if input_ndim == 4:
                batch_size, channel, height, width = hidden_states.shape
                hidden_states = hidden_states.view(batch_size, channel, height * width).transpose(
                    1, 2
                )
            batch_size, sequence_length, _ = hidden_states.shape
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
            query = attn.to_q(hidden_states)
            encoder_hidden_states = hidden_states
            key = attn.to_k(encoder_hidden_states)
            value = attn.to_v(encoder_hidden_states)
            inner_dim = key.shape[-1]
            head_dim = inner_dim // attn.heads
            query = query.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
            key = key.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
            value = value.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
            hidden_states = F.scaled_dot_product_attention(
                query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False
            )
            hidden_states = hidden_states.transpose(1, 2).reshape(
                batch_size, -1, attn.heads * head_dim
            )
            hidden_states = hidden_states.to(query.dtype)
            hidden_states = attn.to_out[0](hidden_states)
            hidden_states = attn.to_out[1](hidden_states)
            if input_ndim == 4:
                hidden_states = hidden_states.transpose(-1, -2).reshape(
                    batch_size, channel, height, width
                )
            if attn.residual_connection:
                hidden_states = hidden_states + residual
            return hidden_states / attn.rescale_output_factor

    class Upsample2D(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

        def forward(self, hidden_states: Any) -> Any:
            hidden_states = F.interpolate(hidden_states, scale_factor=2.0, mode="nearest")
            return self.conv(hidden_states)

    class TimestepEmbedding(nn.Module):
        def __init__(self, in_channels: int, time_embed_dim: int) -> None:
            super().__init__()
            self.linear_1 = nn.Linear(in_channels, time_embed_dim, True)
            self.act = nn.SiLU()
            self.linear_2 = nn.Linear(time_embed_dim, time_embed_dim, True)

        def forward(self, sample: Any) -> Any:
            return self.linear_2(self.act(self.linear_1(sample)))

    class UNet2DModel(nn.Module):
        def __init__(self, in_channels: int, block_out_channels: tuple[int, int]) -> None:
            super().__init__()
            c0, c1 = block_out_channels
            time_embed_dim = c0 * 4
            self.time_proj_dim = c0
            self.conv_in = nn.Conv2d(in_channels, c0, kernel_size=3, padding=(1, 1))
            self.time_embedding = TimestepEmbedding(c0, time_embed_dim)
            self.class_embedding = nn.Embedding(CLASSES, time_embed_dim)
            self.down_resnet = ResnetBlock2D(c0, c0, time_embed_dim)
            self.downsampler = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
            self.mid_resnet_1 = ResnetBlock2D(c0, c1, time_embed_dim)
            self.mid_attention = Attention(c1, heads=2, dim_head=c1 // 2)
            self.mid_resnet_2 = ResnetBlock2D(c1, c1, time_embed_dim)
            self.upsampler = Upsample2D(c1)
            self.up_resnet = ResnetBlock2D(c1 + c0, c0, time_embed_dim)
            self.conv_norm_out = nn.GroupNorm(num_channels=c0, num_groups=4, eps=1e-6)
            self.conv_act = nn.SiLU()
            self.conv_out = nn.Conv2d(c0, in_channels, kernel_size=3, padding=1)

        @property
        def dtype(self) -> Any:
            return next(self.parameters()).dtype

        def forward(
            self, sample: Any, timestep: Any, class_labels: Any = None, return_dict: bool = True
        ) -> Any:
            timesteps = timestep
            if not torch.is_tensor(timesteps):
                timesteps = torch.tensor([timesteps], dtype=torch.long, device=sample.device)
            elif torch.is_tensor(timesteps) and len(timesteps.shape) == 0:
                timesteps = timesteps[None].to(sample.device)
            timesteps = timesteps * torch.ones(
                sample.shape[0], dtype=timesteps.dtype, device=timesteps.device
            )
            t_emb = get_timestep_embedding(
                torch, timesteps, self.time_proj_dim, flip_sin_to_cos=True, downscale_freq_shift=0
            )
            t_emb = t_emb.to(dtype=self.dtype)
            emb = self.time_embedding(t_emb)
            if class_labels is not None:
                class_emb = self.class_embedding(class_labels).to(dtype=self.dtype)
                emb = emb + class_emb

            sample = self.conv_in(sample)
            skip = self.down_resnet(sample, emb)
            sample = self.downsampler(skip)
            sample = self.mid_resnet_1(sample, emb)
            sample = self.mid_attention(sample)
            sample = self.mid_resnet_2(sample, emb)
            sample = self.upsampler(sample)
            sample = self.up_resnet(torch.cat([sample, skip], dim=1), emb)
            sample = self.conv_out(self.conv_act(self.conv_norm_out(sample)))
            if not return_dict:
                return (sample,)
            return {"sample": sample}

    return UNet2DModel(CH, (8, 16))


def get_cosine_schedule_with_warmup(
    torch_like: Any,
    optimizer: Any,
    num_warmup_steps: int,
    num_training_steps: int,
    num_cycles: float = 0.5,
    last_epoch: int = -1,
) -> Any:
    def lr_lambda(current_step: int) -> float:
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        progress = float(current_step - num_warmup_steps) / float(
            max(1, num_training_steps - num_warmup_steps)
        )
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))

    return torch_like.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, last_epoch)


class EMAModel:
    """diffusers' ``training_utils.EMAModel`` (shadow copies, warm-up decay, foreach update)."""

    def __init__(
        self,
        torch_like: Any,
        parameters: Any,
        decay: float = 0.9999,
        min_decay: float = 0.0,
        update_after_step: int = 0,
        use_ema_warmup: bool = False,
        inv_gamma: float = 1.0,
        power: float = 2 / 3,
        foreach: bool = False,
    ) -> None:
        self.torch = torch_like
        parameters = list(parameters)
        self.shadow_params = [p.clone().detach() for p in parameters]
        self.temp_stored_params = None
        self.decay = decay
        self.min_decay = min_decay
        self.update_after_step = update_after_step
        self.use_ema_warmup = use_ema_warmup
        self.inv_gamma = inv_gamma
        self.power = power
        self.optimization_step = 0
        self.foreach = foreach

    def get_decay(self, optimization_step: int) -> float:
        step = max(0, optimization_step - self.update_after_step - 1)
        if step <= 0:
            return 0.0
        if self.use_ema_warmup:
            cur_decay_value = 1 - (1 + step / self.inv_gamma) ** -self.power
        else:
            cur_decay_value = (1 + step) / (10 + step)
        cur_decay_value = min(cur_decay_value, self.decay)
        return max(cur_decay_value, self.min_decay)

    def step(self, parameters: Any) -> None:
        torch = self.torch
        parameters = list(parameters)
        self.optimization_step += 1
        decay = self.get_decay(self.optimization_step)
        one_minus_decay = 1 - decay
        with torch.no_grad():
            if self.foreach:
                s_params = [s for s, p in zip(self.shadow_params, parameters) if p.requires_grad]
                params = [p for p in parameters if p.requires_grad]
                torch._foreach_sub_(
                    s_params, torch._foreach_sub(s_params, params), alpha=one_minus_decay
                )
            else:
                for s_param, param in zip(self.shadow_params, parameters):
                    if param.requires_grad:
                        s_param.sub_(one_minus_decay * (s_param - param))
                    else:
                        s_param.copy_(param)

    def copy_to(self, parameters: Any) -> None:
        for s_param, param in zip(self.shadow_params, list(parameters)):
            param.data.copy_(s_param.to(param.device).data)

    def store(self, parameters: Any) -> None:
        self.temp_stored_params = [param.detach().cpu().clone() for param in parameters]

    def restore(self, parameters: Any) -> None:
        for c_param, param in zip(self.temp_stored_params, parameters):
            param.data.copy_(c_param.data)
        self.temp_stored_params = None


def randn_tensor(torch_like: Any, shape: tuple, generator: Any, dtype: Any) -> Any:
    rand_device = torch_like.device("cpu")
    return torch_like.randn(
        shape, generator=generator, device=rand_device, dtype=dtype, layout=torch_like.strided
    )


def generator_facts(torch_like: Any) -> list[float]:
    """What holds for every generator: the shape and dtype, the same seed gives the same draw."""
    torch = torch_like
    a = randn_tensor(torch, (2, CH, IMG, IMG), torch.Generator().manual_seed(0), torch.float32)
    b = randn_tensor(torch, (2, CH, IMG, IMG), torch.Generator().manual_seed(0), torch.float32)
    g = torch.Generator().manual_seed(1)
    c = torch.randn((2, 3), generator=g)
    return [*a.shape, float(a.dtype == torch.float32), float(torch.equal(a, b)), *c.shape]


def scheduler_facts(torch_like: Any, DDPMScheduler: Any, DDIMScheduler: Any) -> list[float]:
    torch = torch_like
    values: list[float] = []
    for schedule in ("linear", "scaled_linear", "squaredcos_cap_v2"):
        s = DDPMScheduler(T_TRAIN, 0.00085, 0.012, beta_schedule=schedule)
        values += s.betas[::7].tolist() + [s.alphas_cumprod[-1].item()]
        values += [
            float(s.betas.dtype == torch.float32),
            float(s.alphas_cumprod.dtype == torch.float32),
        ]
    s = DDIMScheduler(T_TRAIN, beta_schedule="scaled_linear", steps_offset=1)
    values += s.timesteps[:3].tolist() + [float(s.timesteps.dtype == torch.int64)]
    s.set_timesteps(INFER)
    values += s.timesteps.tolist()
    return values


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    F = torch_like.nn.functional
    rng = np.random.default_rng(21)
    DDPMScheduler, DDIMScheduler = _schedulers(torch)
    values = generator_facts(torch) + scheduler_facts(torch, DDPMScheduler, DDIMScheduler)
    t = as_tensor(torch, np.array([3.0, 40.0, 999.0], dtype=np.float32))
    values += get_timestep_embedding(torch, t, 7, flip_sin_to_cos=True).flatten().tolist()

    model = make_model(torch)
    load_numpy_state(torch, model, init)
    noise_scheduler = DDPMScheduler(T_TRAIN, beta_schedule="squaredcos_cap_v2")
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=1e-3, betas=(0.95, 0.999), weight_decay=1e-6, eps=1e-08
    )
    lr_scheduler = get_cosine_schedule_with_warmup(torch, optimizer, 1, STEPS)
    ema = EMAModel(torch, model.parameters(), decay=0.9999, use_ema_warmup=True, power=3 / 4)
    ema_loop = EMAModel(torch, model.parameters(), decay=0.999)
    clean = as_tensor(torch, np.tanh(rng.standard_normal((BATCH, CH, IMG, IMG))).astype(np.float32))
    labels = as_tensor(torch, np.array([1, 2, 1]))
    model.train()
    for _step in range(STEPS):
        noise = as_tensor(torch, rng.standard_normal(clean.shape).astype(np.float32))
        bsz = clean.shape[0]
        timesteps = as_tensor(torch, rng.integers(0, T_TRAIN, (bsz,))).long()
        noisy_images = noise_scheduler.add_noise(clean, noise, timesteps)
        noise_pred = model(noisy_images, timesteps, labels, return_dict=False)[0]
        loss = F.mse_loss(noise_pred.float(), noise.float(), reduction="mean")
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        lr_scheduler.step()
        optimizer.zero_grad()
        ema.step(model.parameters())
        ema_loop.step(model.parameters())
        values += [loss.item(), grad_norm.item(), lr_scheduler.get_last_lr()[0]]
    ema.foreach = True
    ema.step(model.parameters())
    values += [ema.get_decay(ema.optimization_step), ema_loop.get_decay(5)]
    values += [
        (s - p).abs().max().item() for s, p in zip(ema.shadow_params[:3], model.parameters())
    ]

    ema.store(model.parameters())
    ema.copy_to(model.parameters())
    model.eval()
    scheduler = DDIMScheduler(T_TRAIN, beta_schedule="scaled_linear", clip_sample=True)
    scheduler.set_timesteps(INFER)
    guidance_scale = 3.0
    latents = as_tensor(torch, rng.standard_normal((2, CH, IMG, IMG)).astype(np.float32))
    latents = latents * scheduler.init_noise_sigma
    class_labels = torch.tensor([1, 2])
    null_labels = torch.zeros_like(class_labels)
    with torch.no_grad():
        for t in scheduler.timesteps:
            latent_model_input = torch.cat([latents] * 2)
            latent_model_input = scheduler.scale_model_input(latent_model_input, t)
            noise_pred = model(
                latent_model_input,
                t,
                class_labels=torch.cat([null_labels, class_labels]),
                return_dict=False,
            )[0]
            noise_pred_uncond, noise_pred_text = noise_pred.chunk(2)
            noise_pred = noise_pred_uncond + guidance_scale * (noise_pred_text - noise_pred_uncond)
            variance_noise = as_tensor(torch, rng.standard_normal(latents.shape).astype(np.float32))
            latents, x0 = scheduler.step(
                noise_pred, t, latents, eta=0.5, variance_noise=variance_noise
            )
            values += [latents.abs().mean().item(), x0.abs().max().item()]
        ddpm = DDPMScheduler(T_TRAIN, beta_schedule="linear", clip_sample=True)
        ddpm.set_timesteps(INFER)
        sample = latents
        for t in ddpm.timesteps:
            model_output = model(sample, t, return_dict=True)["sample"]
            noise = as_tensor(torch, rng.standard_normal(sample.shape).astype(np.float32))
            sample, x0 = ddpm.step(model_output, t, sample, variance_noise=noise)
            values += [sample.mean().item(), sample.std().item()]
    image = (sample / 2 + 0.5).clamp(0, 1)
    image = image.cpu().permute(0, 2, 3, 1).numpy()
    values += [float(image.shape == (2, IMG, IMG, CH)), float(image.mean())]
    ema.restore(model.parameters())
    values += [p.abs().sum().item() for p in list(model.parameters())[:4]]
    return values
