"""Hugging Face diffusers' ``examples/text_to_image/train_text_to_image.py`` training loop with the
helpers it imports (``training_utils.compute_snr`` and ``EMAModel``, ``DDPMScheduler.add_noise`` /
``get_velocity``, ``rescale_zero_terminal_snr``, the VAE's ``DiagonalGaussianDistribution``),
size-reduced, as diffusers writes them.

The idioms: the frozen VAE and text encoder (``vae.requires_grad_(False)``,
``text_encoder.requires_grad_(False)``); ``vae.encode(pixel_values).latent_dist.sample()`` with
``mean, logvar = torch.chunk(parameters, 2, dim=1)``, ``torch.clamp(logvar, -30.0, 20.0)``,
``std = torch.exp(0.5 * logvar)`` and ``mean + std * randn_tensor(...)``, times
``vae.config.scaling_factor``; ``noise = torch.randn_like(latents)`` with the ``noise_offset``
term (``torch.randn((latents.shape[0], latents.shape[1], 1, 1))``) and ``input_perturbation``
(``noise + args.input_perturbation * torch.randn_like(noise)``); ``timesteps = torch.randint(0,
num_train_timesteps, (bsz,)).long()``; the "scaled_linear" betas and ``rescale_zero_terminal_snr``
(``alphas_bar_sqrt[0].clone()``, in-place ``-=`` / ``*=``, ``torch.cat([alphas_bar[0:1],
alphas])``); ``add_noise`` and ``get_velocity`` (``alphas_cumprod.to(dtype=sample.dtype)``,
``alphas_cumprod[timesteps] ** 0.5``, ``.flatten()``, ``while len(sqrt_alpha_prod.shape) <
len(sample.shape): sqrt_alpha_prod = sqrt_alpha_prod.unsqueeze(-1)``); ``compute_snr``
(``.to(device=timesteps.device)[timesteps].float()``, ``[..., None]`` growth and
``.expand(timesteps.shape)``, ``(alpha / sigma) ** 2``); the epsilon and v-prediction targets;
the Min-SNR weighting ``torch.stack([snr, args.snr_gamma * torch.ones_like(timesteps)],
dim=1).min(dim=1)[0]`` (a float and an integer tensor stacked: type promotion), divided by
``snr`` or by ``snr + 1`` (v-prediction, where the zero-terminal-SNR step would divide by zero);
``F.mse_loss(model_pred.float(), target.float(), reduction="none")`` then ``loss.mean(dim=list(
range(1, len(loss.shape)))) * mse_loss_weights``; ``loss.repeat(args.train_batch_size).mean()``
(the gathered loss) accumulated as ``train_loss += avg_loss.item() /
args.gradient_accumulation_steps``; a conditional UNet with ``get_timestep_embedding`` (
``flip_sin_to_cos=True``), a ``ResnetBlock2D`` (``GroupNorm``, ``F.silu``, ``temb[:, :, None,
None]``, ``output_scale_factor``) and a cross-attention ``Attention`` block (``to_out =
nn.ModuleList([nn.Linear(...), nn.Dropout(...)])``, ``F.scaled_dot_product_attention``,
``attn_output.transpose(1, 2).reshape(batch_size, -1, heads * head_dim)``), returning a tuple
under ``return_dict=False``; ``clip_grad_norm_``; ``get_scheduler("cosine", ...)``'s
``LambdaLR``; and ``EMAModel`` (``[p.clone().detach() for p in parameters]``, the
``use_ema_warmup`` decay ``1 - (1 + step / inv_gamma) ** -power`` clamped by ``decay`` /
``min_decay``, ``s_param.sub_(one_minus_decay * (s_param - param))`` under ``@torch.no_grad()``,
``store`` / ``copy_to`` / ``restore`` around validation, ``state_dict``/``load_state_dict``).

Changed: Stable Diffusion's VAE / CLIP text encoder / UNet -> a 2-conv encoder, an embedding +
one transformer layer and a one-level conditional UNet of width 8; 1000 train timesteps -> 50;
4x3x8x8 images; two runs (epsilon with Min-SNR gamma 5, and v-prediction on a zero-terminal-SNR
schedule) of three steps each, two micro-batches accumulated per step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

DTYPE = "float32"
T_STEPS, CH, LAT, IMG, TXT, VOCAB, WIDTH = 50, 3, 4, 8, 4, 10, 8


def make_model(torch_like: Any) -> Any:
    torch, nn, F = torch_like, torch_like.nn, torch_like.nn.functional

    class Config(dict):
        __getattr__ = dict.__getitem__

    class DiagonalGaussianDistribution:
        def __init__(self, parameters, deterministic=False):
            self.parameters = parameters
            self.mean, self.logvar = torch.chunk(parameters, 2, dim=1)
            self.logvar = torch.clamp(self.logvar, -30.0, 20.0)
            self.deterministic = deterministic
            self.std = torch.exp(0.5 * self.logvar)
            self.var = torch.exp(self.logvar)
            if self.deterministic:
                self.var = self.std = torch.zeros_like(
                    self.mean, device=self.parameters.device, dtype=self.parameters.dtype
                )

        def sample(self, generator=None):
            sample = torch.randn(
                self.mean.shape, generator=generator, device=self.parameters.device,
                dtype=self.parameters.dtype,
            )  # fmt: skip
            return self.mean + self.std * sample

        def mode(self):
            return self.mean

    class AutoencoderOutput:
        def __init__(self, latent_dist):
            self.latent_dist = latent_dist

    class AutoencoderKL(nn.Module):
        def __init__(self):
            super().__init__()
            self.config = Config(scaling_factor=0.18215)
            self.encoder = nn.Sequential(
                nn.Conv2d(CH, WIDTH, 3, padding=1),
                nn.SiLU(),
                nn.Conv2d(WIDTH, 2 * LAT, 3, padding=1),
            )
            self.quant_conv = nn.Conv2d(2 * LAT, 2 * LAT, 1)

        def encode(self, x, return_dict=True):
            moments = self.quant_conv(self.encoder(x))
            posterior = DiagonalGaussianDistribution(moments)
            if not return_dict:
                return (posterior,)
            return AutoencoderOutput(latent_dist=posterior)

    class CLIPTextModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = nn.Embedding(VOCAB, WIDTH)
            self.position_embedding = nn.Parameter(torch.randn(TXT, WIDTH) * 0.02)
            self.layer = nn.TransformerEncoderLayer(
                WIDTH, 2, 2 * WIDTH, dropout=0.0, batch_first=True, norm_first=True
            )
            self.final_layer_norm = nn.LayerNorm(WIDTH)

        def forward(self, input_ids, return_dict=True):
            h = self.embeddings(input_ids) + self.position_embedding
            last_hidden_state = self.final_layer_norm(self.layer(h))
            return (last_hidden_state, last_hidden_state[:, -1])

    def get_timestep_embedding(
        timesteps, embedding_dim, flip_sin_to_cos=False, downscale_freq_shift=1, scale=1,
        max_period=10000,
    ):  # fmt: skip
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

    class ResnetBlock2D(nn.Module):
        def __init__(self, in_channels, out_channels, temb_channels, groups=4, eps=1e-6,
                     output_scale_factor=1.0):  # fmt: skip
            super().__init__()
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
            self.nonlinearity = nn.SiLU()
            self.output_scale_factor = output_scale_factor
            self.conv_shortcut = (
                nn.Conv2d(in_channels, out_channels, kernel_size=1)
                if in_channels != out_channels
                else None
            )

        def forward(self, input_tensor, temb):
            hidden_states = input_tensor
            hidden_states = self.norm1(hidden_states)
            hidden_states = self.nonlinearity(hidden_states)
            hidden_states = self.conv1(hidden_states)
            temb = self.nonlinearity(temb)
            temb = self.time_emb_proj(temb)[:, :, None, None]
            hidden_states = hidden_states + temb
            hidden_states = self.norm2(hidden_states)
            hidden_states = self.nonlinearity(hidden_states)
            hidden_states = self.dropout(hidden_states)
            hidden_states = self.conv2(hidden_states)
            if self.conv_shortcut is not None:
                input_tensor = self.conv_shortcut(input_tensor.contiguous())
            output_tensor = (input_tensor + hidden_states) / self.output_scale_factor
            return output_tensor

    class Attention(nn.Module):
        def __init__(self, query_dim, cross_attention_dim=None, heads=2, dim_head=4):
            super().__init__()
            inner_dim = dim_head * heads
            cross_attention_dim = (
                cross_attention_dim if cross_attention_dim is not None else query_dim
            )
            self.heads = heads
            self.to_q = nn.Linear(query_dim, inner_dim, bias=False)
            self.to_k = nn.Linear(cross_attention_dim, inner_dim, bias=False)
            self.to_v = nn.Linear(cross_attention_dim, inner_dim, bias=False)
            self.to_out = nn.ModuleList([])
            self.to_out.append(nn.Linear(inner_dim, query_dim, bias=True))
            self.to_out.append(nn.Dropout(0.0))

        def forward(self, hidden_states, encoder_hidden_states=None):  # AttnProcessor2_0
            residual = hidden_states
            input_ndim = hidden_states.ndim
            if input_ndim == 4:
                batch_size, channel, height, width = hidden_states.shape
                hidden_states = hidden_states.view(batch_size, channel, height * width).transpose(
                    1, 2
                )
            batch_size, sequence_length, _ = (
                hidden_states.shape
                if encoder_hidden_states is None
                else encoder_hidden_states.shape
            )
            query = self.to_q(hidden_states)
            if encoder_hidden_states is None:
                encoder_hidden_states = hidden_states
            key = self.to_k(encoder_hidden_states)
            value = self.to_v(encoder_hidden_states)
            inner_dim = key.shape[-1]
            head_dim = inner_dim // self.heads
            query = query.view(batch_size, -1, self.heads, head_dim).transpose(1, 2)
            key = key.view(batch_size, -1, self.heads, head_dim).transpose(1, 2)
            value = value.view(batch_size, -1, self.heads, head_dim).transpose(1, 2)
            hidden_states = F.scaled_dot_product_attention(
                query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False
            )
            hidden_states = hidden_states.transpose(1, 2).reshape(
                batch_size, -1, self.heads * head_dim
            )
            hidden_states = hidden_states.to(query.dtype)
            hidden_states = self.to_out[0](hidden_states)
            hidden_states = self.to_out[1](hidden_states)
            if input_ndim == 4:
                hidden_states = hidden_states.transpose(-1, -2).reshape(
                    batch_size, channel, height, width
                )
            return hidden_states + residual

    class UNet2DConditionModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.dtype = torch.get_default_dtype()
            self.conv_in = nn.Conv2d(LAT, WIDTH, kernel_size=3, padding=1)
            self.time_embedding = nn.Sequential(
                nn.Linear(WIDTH, 2 * WIDTH), nn.SiLU(), nn.Linear(2 * WIDTH, 2 * WIDTH)
            )
            self.resnet = ResnetBlock2D(WIDTH, WIDTH, 2 * WIDTH)
            self.attn = Attention(WIDTH, cross_attention_dim=WIDTH)
            self.conv_norm_out = nn.GroupNorm(num_channels=WIDTH, num_groups=4, eps=1e-5)
            self.conv_act = nn.SiLU()
            self.conv_out = nn.Conv2d(WIDTH, LAT, kernel_size=3, padding=1)

        def forward(self, sample, timestep, encoder_hidden_states, return_dict=True):
            timesteps = timestep
            if not torch.is_tensor(timesteps):
                timesteps = torch.tensor([timesteps], dtype=torch.int64, device=sample.device)
            elif len(timesteps.shape) == 0:
                timesteps = timesteps[None].to(sample.device)
            timesteps = timesteps.expand(sample.shape[0])
            t_emb = get_timestep_embedding(
                timesteps, WIDTH, flip_sin_to_cos=True, downscale_freq_shift=0
            )
            t_emb = t_emb.to(dtype=sample.dtype)
            emb = self.time_embedding(t_emb)
            sample = self.conv_in(sample)
            sample = self.resnet(sample, emb)
            sample = self.attn(sample, encoder_hidden_states=encoder_hidden_states)
            sample = self.conv_out(self.conv_act(self.conv_norm_out(sample)))
            if not return_dict:
                return (sample,)
            return {"sample": sample}

    class Pipeline(nn.Module):
        def __init__(self):
            super().__init__()
            self.vae = AutoencoderKL()
            self.text_encoder = CLIPTextModel()
            self.unet = UNet2DConditionModel()

    return Pipeline()


def rescale_zero_terminal_snr(torch_like: Any, betas: Any) -> Any:
    torch = torch_like
    alphas = 1.0 - betas
    alphas_cumprod = torch.cumprod(alphas, dim=0)
    alphas_bar_sqrt = alphas_cumprod.sqrt()
    alphas_bar_sqrt_0 = alphas_bar_sqrt[0].clone()
    alphas_bar_sqrt_T = alphas_bar_sqrt[-1].clone()
    alphas_bar_sqrt -= alphas_bar_sqrt_T
    alphas_bar_sqrt *= alphas_bar_sqrt_0 / (alphas_bar_sqrt_0 - alphas_bar_sqrt_T)
    alphas_bar = alphas_bar_sqrt**2
    alphas = alphas_bar[1:] / alphas_bar[:-1]
    alphas = torch.cat([alphas_bar[0:1], alphas])
    betas = 1 - alphas
    return betas


def make_scheduler(torch_like: Any, prediction_type: str, rescale_betas_zero_snr: bool) -> Any:
    torch = torch_like

    class DDPMScheduler:
        def __init__(self, num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012):
            self.config = {"num_train_timesteps": num_train_timesteps, "prediction_type": "epsilon"}
            self.betas = (
                torch.linspace(
                    beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=torch.float32
                )
                ** 2
            )
            if rescale_betas_zero_snr:
                self.betas = rescale_zero_terminal_snr(torch_like, self.betas)
            self.alphas = 1.0 - self.betas
            self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
            if rescale_betas_zero_snr:
                self.alphas_cumprod[-1] = 2**-24

        def register_to_config(self, **kwargs):
            self.config.update(kwargs)

        def add_noise(self, original_samples, noise, timesteps):
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
            noisy_samples = sqrt_alpha_prod * original_samples + sqrt_one_minus_alpha_prod * noise
            return noisy_samples

        def get_velocity(self, sample, noise, timesteps):
            self.alphas_cumprod = self.alphas_cumprod.to(device=sample.device)
            alphas_cumprod = self.alphas_cumprod.to(dtype=sample.dtype)
            timesteps = timesteps.to(sample.device)
            sqrt_alpha_prod = alphas_cumprod[timesteps] ** 0.5
            sqrt_alpha_prod = sqrt_alpha_prod.flatten()
            while len(sqrt_alpha_prod.shape) < len(sample.shape):
                sqrt_alpha_prod = sqrt_alpha_prod.unsqueeze(-1)
            sqrt_one_minus_alpha_prod = (1 - alphas_cumprod[timesteps]) ** 0.5
            sqrt_one_minus_alpha_prod = sqrt_one_minus_alpha_prod.flatten()
            while len(sqrt_one_minus_alpha_prod.shape) < len(sample.shape):
                sqrt_one_minus_alpha_prod = sqrt_one_minus_alpha_prod.unsqueeze(-1)
            velocity = sqrt_alpha_prod * noise - sqrt_one_minus_alpha_prod * sample
            return velocity

    scheduler = DDPMScheduler(num_train_timesteps=T_STEPS)
    scheduler.register_to_config(prediction_type=prediction_type)
    return scheduler


def compute_snr(noise_scheduler: Any, timesteps: Any) -> Any:
    alphas_cumprod = noise_scheduler.alphas_cumprod
    sqrt_alphas_cumprod = alphas_cumprod**0.5
    sqrt_one_minus_alphas_cumprod = (1.0 - alphas_cumprod) ** 0.5
    sqrt_alphas_cumprod = sqrt_alphas_cumprod.to(device=timesteps.device)[timesteps].float()
    while len(sqrt_alphas_cumprod.shape) < len(timesteps.shape):
        sqrt_alphas_cumprod = sqrt_alphas_cumprod[..., None]
    alpha = sqrt_alphas_cumprod.expand(timesteps.shape)
    sqrt_one_minus_alphas_cumprod = sqrt_one_minus_alphas_cumprod.to(device=timesteps.device)[
        timesteps
    ].float()
    while len(sqrt_one_minus_alphas_cumprod.shape) < len(timesteps.shape):
        sqrt_one_minus_alphas_cumprod = sqrt_one_minus_alphas_cumprod[..., None]
    sigma = sqrt_one_minus_alphas_cumprod.expand(timesteps.shape)
    snr = (alpha / sigma) ** 2
    return snr


def make_ema(torch_like: Any) -> Any:
    torch = torch_like

    class EMAModel:
        def __init__(self, parameters, decay=0.9999, min_decay=0.0, update_after_step=0,
                     use_ema_warmup=False, inv_gamma=1.0, power=2 / 3):  # fmt: skip
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
            self.cur_decay_value = None

        def get_decay(self, optimization_step: int) -> float:
            step = max(0, optimization_step - self.update_after_step - 1)
            if step <= 0:
                return 0.0
            if self.use_ema_warmup:
                cur_decay_value = 1 - (1 + step / self.inv_gamma) ** -self.power
            else:
                cur_decay_value = (1 + step) / (10 + step)
            cur_decay_value = min(cur_decay_value, self.decay)
            cur_decay_value = max(cur_decay_value, self.min_decay)
            return cur_decay_value

        @torch.no_grad()
        def step(self, parameters):
            parameters = list(parameters)
            self.optimization_step += 1
            decay = self.get_decay(self.optimization_step)
            self.cur_decay_value = decay
            one_minus_decay = 1 - decay
            for s_param, param in zip(self.shadow_params, parameters, strict=True):
                if param.requires_grad:
                    s_param.sub_(one_minus_decay * (s_param - param))
                else:
                    s_param.copy_(param)

        def copy_to(self, parameters) -> None:
            parameters = list(parameters)
            for s_param, param in zip(self.shadow_params, parameters, strict=True):
                param.data.copy_(s_param.to(param.device).data)

        def store(self, parameters) -> None:
            self.temp_stored_params = [param.detach().cpu().clone() for param in parameters]

        def restore(self, parameters) -> None:
            if self.temp_stored_params is None:
                raise RuntimeError("This ExponentialMovingAverage has no `store()`ed weights ")
            for c_param, param in zip(self.temp_stored_params, parameters, strict=True):
                param.data.copy_(c_param.data)
            self.temp_stored_params = None

        def state_dict(self) -> dict:
            return {
                "decay": self.decay,
                "min_decay": self.min_decay,
                "optimization_step": self.optimization_step,
                "update_after_step": self.update_after_step,
                "use_ema_warmup": self.use_ema_warmup,
                "inv_gamma": self.inv_gamma,
                "power": self.power,
                "shadow_params": self.shadow_params,
            }

        def load_state_dict(self, state_dict: dict) -> None:
            self.decay = state_dict.get("decay", self.decay)
            self.optimization_step = state_dict.get("optimization_step", self.optimization_step)
            shadow_params = state_dict.get("shadow_params", None)
            if shadow_params is not None:
                self.shadow_params = shadow_params
                if not all(isinstance(p, torch.Tensor) for p in self.shadow_params):
                    raise ValueError("shadow_params must all be Tensors")

    return EMAModel


def get_cosine_scheduler(
    torch_like: Any, optimizer: Any, num_warmup_steps: int, num_training_steps: int
) -> Any:
    def lr_lambda(current_step):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        progress = float(current_step - num_warmup_steps) / float(
            max(1, num_training_steps - num_warmup_steps)
        )
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(0.5) * 2.0 * progress)))  # noqa: UP018

    return torch_like.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, -1)


def _train(
    torch_like: Any, init: dict, prediction_type: str, zero_snr: bool, seed: int
) -> list[float]:
    torch, F = torch_like, torch_like.nn.functional
    pipe = make_model(torch_like)
    load_numpy_state(torch_like, pipe, init)
    vae, text_encoder, unet = pipe.vae, pipe.text_encoder, pipe.unet
    vae.requires_grad_(False)
    text_encoder.requires_grad_(False)
    unet.train()
    noise_scheduler = make_scheduler(torch_like, prediction_type, zero_snr)
    EMAModel = make_ema(torch_like)
    ema_unet = EMAModel(
        unet.parameters(), decay=0.999, use_ema_warmup=True, inv_gamma=1.0, power=3 / 4
    )
    optimizer = torch.optim.AdamW(
        unet.parameters(), lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-2, eps=1e-08
    )
    lr_scheduler = get_cosine_scheduler(torch_like, optimizer, 1, 3)
    noise_offset, input_perturbation, snr_gamma = 0.05, 0.1, 5.0
    train_batch_size, gradient_accumulation_steps, max_grad_norm = 2, 2, 1.0
    rng = np.random.default_rng(seed)
    pixels = as_tensor(
        torch_like, rng.uniform(-1, 1, (12, train_batch_size, CH, IMG, IMG)).astype("f4")
    )
    ids = as_tensor(torch_like, rng.integers(0, VOCAB, (12, train_batch_size, TXT)))
    torch.manual_seed(seed)
    values: list[float] = []
    train_loss = 0.0
    step = 0
    for micro in range(3 * gradient_accumulation_steps):
        batch = {"pixel_values": pixels[micro], "input_ids": ids[micro]}
        latents = vae.encode(batch["pixel_values"].to(torch.float32)).latent_dist.sample()
        latents = latents * vae.config.scaling_factor
        noise = torch.randn_like(latents)
        if noise_offset:
            noise += noise_offset * torch.randn(
                (latents.shape[0], latents.shape[1], 1, 1), device=latents.device
            )
        if input_perturbation:
            new_noise = noise + input_perturbation * torch.randn_like(noise)
        bsz = latents.shape[0]
        timesteps = torch.randint(
            0, noise_scheduler.config["num_train_timesteps"], (bsz,), device=latents.device
        )
        timesteps = timesteps.long()
        if micro == 0:
            timesteps[-1] = T_STEPS - 1  # the last step (zero SNR on the rescaled schedule)
        if input_perturbation:
            noisy_latents = noise_scheduler.add_noise(latents, new_noise, timesteps)
        else:
            noisy_latents = noise_scheduler.add_noise(latents, noise, timesteps)
        encoder_hidden_states = text_encoder(batch["input_ids"], return_dict=False)[0]
        if noise_scheduler.config["prediction_type"] == "epsilon":
            target = noise
        elif noise_scheduler.config["prediction_type"] == "v_prediction":
            target = noise_scheduler.get_velocity(latents, noise, timesteps)
        else:
            raise ValueError(f"Unknown prediction type {noise_scheduler.config['prediction_type']}")
        model_pred = unet(noisy_latents, timesteps, encoder_hidden_states, return_dict=False)[0]
        snr = compute_snr(noise_scheduler, timesteps)
        if noise_scheduler.config["prediction_type"] == "v_prediction":
            # Velocity objective requires that we add one to SNR values before we divide by them.
            snr = snr + 1
        mse_loss_weights = (
            torch.stack([snr, snr_gamma * torch.ones_like(timesteps)], dim=1).min(dim=1)[0] / snr
        )
        loss = F.mse_loss(model_pred.float(), target.float(), reduction="none")
        loss = loss.mean(dim=list(range(1, len(loss.shape)))) * mse_loss_weights
        loss = loss.mean()
        avg_loss = loss.repeat(train_batch_size).mean()
        train_loss += avg_loss.item() / gradient_accumulation_steps
        (loss / gradient_accumulation_steps).backward()
        if (micro + 1) % gradient_accumulation_steps == 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(unet.parameters(), max_grad_norm)
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad()
            ema_unet.step(unet.parameters())
            step += 1
            values += [
                train_loss,
                grad_norm.item(),
                lr_scheduler.get_last_lr()[0],
                ema_unet.cur_decay_value,
            ]
            values.append(float(mse_loss_weights.dtype == torch.float32))
            train_loss = 0.0

    # validation with the EMA weights, then back to the trained ones
    with torch.no_grad():
        probe_lat = torch.randn((1, LAT, IMG, IMG))
        probe_txt = text_encoder(ids[11][:1], return_dict=False)[0]
        before = unet(probe_lat, torch.tensor(10), probe_txt, return_dict=False)[0]
        ema_unet.store(unet.parameters())
        ema_unet.copy_to(unet.parameters())
        ema_out = unet(probe_lat, 10, probe_txt, return_dict=False)[0]
        ema_unet.restore(unet.parameters())
        after = unet(probe_lat, torch.tensor(10), probe_txt, return_dict=False)[0]
    values += [
        ema_out.sum().item(),
        float(torch.equal(before, after)),
        (ema_out - before).abs().max().item(),
    ]
    state = ema_unet.state_dict()
    fresh = EMAModel(unet.parameters())
    fresh.load_state_dict(state)
    values += [fresh.optimization_step, sum(p.sum().item() for p in fresh.shadow_params)]
    values.append(compute_snr(noise_scheduler, torch.tensor([0, T_STEPS - 1])).sum().item())
    return values


def run(torch_like: Any, init: dict | None) -> list[float]:
    return _train(torch_like, init, "epsilon", False, 0) + _train(
        torch_like, init, "v_prediction", True, 1
    )
