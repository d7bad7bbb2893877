"""A small DDPM trained and sampled with DDIM, with the time-conditioned U-Net of Hugging Face's
"The Annotated Diffusion Model" and lucidrains/denoising-diffusion-pytorch
(``denoising_diffusion_pytorch.py``), size-reduced.

The idioms: ``exists`` / ``default``; ``Residual`` (``self.fn(x, *args, **kwargs) + x``);
``Upsample`` (``nn.Upsample(scale_factor=2, mode="nearest")`` then a 3x3 ``nn.Conv2d``) and
``Downsample`` (einops' ``Rearrange("b c (h p1) (w p2) -> b (c p1 p2) h w", p1=2, p2=2)``, here
written with ``reshape`` / ``permute``, then a 1x1 conv); ``SinusoidalPositionEmbeddings``
(``math.log(10000) / (half_dim - 1)``, ``torch.exp(torch.arange(half_dim, device=device) *
-embeddings)``, ``time[:, None] * embeddings[None, :]``, ``torch.cat((embeddings.sin(),
embeddings.cos()), dim=-1)``); ``WeightStandardizedConv2d`` (``eps = 1e-5 if x.dtype ==
torch.float32 else 1e-3``, the mean and ``partial(torch.var, unbiased=False)`` over ``o ...``,
``(weight - mean) * (var + eps).rsqrt()``, ``F.conv2d(x, normalized_weight, self.bias,
self.stride, self.padding, self.dilation, self.groups)``); ``Block`` (``nn.GroupNorm``,
``x * (scale + 1) + shift``, ``nn.SiLU()``); ``ResnetBlock`` (``nn.Sequential(nn.SiLU(),
nn.Linear(time_emb_dim, dim_out * 2))``, ``time_emb.chunk(2, dim=1)``, ``nn.Identity()``
residual); ``Attention`` (``self.to_qkv(x).chunk(3, dim=1)``, ``map(lambda t: ..., qkv)``,
``torch.einsum("b h d i, b h d j -> b h i j", q, k)`` with spaces, ``sim - sim.amax(dim=-1,
keepdim=True).detach()``) and ``LinearAttention`` (``q.softmax(dim=-2)``, ``k.softmax(
dim=-1)``, ``"b h d n, b h e n -> b h d e"``, ``nn.Sequential(nn.Conv2d(hidden_dim, dim, 1),
nn.GroupNorm(1, dim))``); ``PreNorm`` with ``nn.GroupNorm(1, dim)``; the ``Unet`` (``dims =
[init_dim, *map(lambda m: dim * m, dim_mults)]``, ``list(zip(dims[:-1], dims[1:]))``,
``partial(ResnetBlock, groups=resnet_block_groups)``, ``nn.GELU`` in the time MLP,
``nn.ModuleList([])`` of ``nn.ModuleList`` stages unpacked as ``for block1, block2, attn,
downsample in self.downs``, ``h.append`` / ``h.pop()`` skips, ``r = x.clone()``); the
schedules (``torch.linspace(beta_start, beta_end, timesteps)``, the cosine schedule
``torch.cos(((x / timesteps) + s) / (1 + s) * math.pi * 0.5) ** 2`` with ``torch.clip(betas,
0.0001, 0.9999)``), ``torch.cumprod(alphas, axis=0)``, ``F.pad(alphas_cumprod[:-1], (1, 0),
value=1.0)``, ``torch.sqrt(1.0 / alphas)``, the posterior variance; ``extract`` (``a.gather(-1,
t.cpu())``, ``out.reshape(batch_size, *((1,) * (len(x_shape) - 1))).to(t.device)``);
``q_sample``; ``p_losses`` with ``F.l1_loss`` / ``F.mse_loss`` / ``F.smooth_l1_loss``;
``p_sample`` under ``@torch.no_grad()``; and lucidrains' ``ddim_sample`` under
``torch.inference_mode()`` (``torch.linspace(-1, total_timesteps - 1, steps=sampling_timesteps
+ 1)``, ``list(reversed(times.int().tolist()))``, ``zip(times[:-1], times[1:])``,
``torch.full((batch,), time, device=device, dtype=torch.long)``, ``predict_start_from_noise``,
``torch.clamp(x_start, min=-1.0, max=1.0)``, ``eta * ((1 - alpha / alpha_next) * (1 -
alpha_next) / (1 - alpha)).sqrt()``, ``x_start * alpha_next.sqrt() + c * pred_noise + sigma *
noise``).

Changed: 28 x 28 Fashion-MNIST -> 8 x 8 single-channel images from NumPy, ``dim = 8`` with
``dim_mults = (1, 2)``, two heads of 4, 40 timesteps, 3 training steps, 4 DDIM steps; every
noise draw (``torch.randn_like``, ``torch.randint`` timesteps) comes from NumPy through
``torch.from_numpy`` (the two libraries' generators differ); the DDIM ``eta`` is 0, so its
``torch.randn_like`` noise is drawn and multiplied by zero.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

IMG, CHANNELS, DIM, TIMESTEPS, BATCH, STEPS, DDIM_STEPS = 8, 1, 8, 40, 3, 3, 4


def exists(x: Any) -> bool:
    return x is not None


def default(val: Any, d: Any) -> Any:
    if exists(val):
        return val
    return d() if callable(d) else d


def _classes(torch_like: Any) -> Any:
    torch = torch_like
    nn = torch_like.nn
    F = torch_like.nn.functional

    class Residual(nn.Module):
        def __init__(self, fn: Any) -> None:
            super().__init__()
            self.fn = fn

        def forward(self, x: Any, *args: Any, **kwargs: Any) -> Any:
            return self.fn(x, *args, **kwargs) + x

    def Upsample(dim: int, dim_out: int | None = None) -> Any:
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(dim, default(dim_out, dim), 3, padding=1),
        )

    class Rearrange(nn.Module):
        """einops' ``Rearrange("b c (h p1) (w p2) -> b (c p1 p2) h w", p1=2, p2=2)``."""

        def forward(self, x: Any) -> Any:
            b, c, h, w = x.shape
            x = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
            return x.reshape(b, c * 4, h // 2, w // 2)

    def Downsample(dim: int, dim_out: int | None = None) -> Any:
        return nn.Sequential(Rearrange(), nn.Conv2d(dim * 4, default(dim_out, dim), 1))

    class SinusoidalPositionEmbeddings(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.dim = dim

        def forward(self, time: Any) -> Any:
            device = time.device
            half_dim = self.dim // 2
            embeddings = math.log(10000) / (half_dim - 1)
            embeddings = torch.exp(torch.arange(half_dim, device=device) * -embeddings)
            embeddings = time[:, None] * embeddings[None, :]
            return torch.cat((embeddings.sin(), embeddings.cos()), dim=-1)

    class WeightStandardizedConv2d(nn.Conv2d):
        def forward(self, x: Any) -> Any:
            eps = 1e-5 if x.dtype == torch.float32 else 1e-3
            weight = self.weight
            mean = weight.mean(dim=(1, 2, 3), keepdim=True)
            var = partial(torch.var, unbiased=False)(weight, dim=(1, 2, 3), keepdim=True)
            normalized_weight = (weight - mean) * (var + eps).rsqrt()
            return F.conv2d(
                x,
                normalized_weight,
                self.bias,
                self.stride,
                self.padding,
                self.dilation,
                self.groups,
            )

    class Block(nn.Module):
        def __init__(self, dim: int, dim_out: int, groups: int = 8) -> None:
            super().__init__()
            self.proj = WeightStandardizedConv2d(dim, dim_out, 3, padding=1)
            self.norm = nn.GroupNorm(groups, dim_out)
            self.act = nn.SiLU()

        def forward(self, x: Any, scale_shift: Any = None) -> Any:
            x = self.proj(x)
            x = self.norm(x)
            if exists(scale_shift):
                scale, shift = scale_shift
                x = x * (scale + 1) + shift
            return self.act(x)

    class ResnetBlock(nn.Module):
        def __init__(
            self, dim: int, dim_out: int, *, time_emb_dim: int | None = None, groups: int = 8
        ) -> None:
            super().__init__()
            self.mlp = (
                nn.Sequential(nn.SiLU(), nn.Linear(time_emb_dim, dim_out * 2))
                if exists(time_emb_dim)
                else None
            )
            self.block1 = Block(dim, dim_out, groups=groups)
            self.block2 = Block(dim_out, dim_out, groups=groups)
            self.res_conv = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

        def forward(self, x: Any, time_emb: Any = None) -> Any:
            scale_shift = None
            if exists(self.mlp) and exists(time_emb):
                time_emb = self.mlp(time_emb)
                time_emb = time_emb.reshape(*time_emb.shape, 1, 1)  # "b c -> b c 1 1"
                scale_shift = time_emb.chunk(2, dim=1)
            h = self.block1(x, scale_shift=scale_shift)
            h = self.block2(h)
            return h + self.res_conv(x)

    def to_heads(t: Any, heads: int) -> Any:
        """``rearrange(t, "b (h c) x y -> b h c (x y)", h=heads)``."""
        b, hc, x, y = t.shape
        return t.reshape(b, heads, hc // heads, x * y)

    class Attention(nn.Module):
        def __init__(self, dim: int, heads: int = 2, dim_head: int = 4) -> None:
            super().__init__()
            self.scale = dim_head**-0.5
            self.heads = heads
            hidden_dim = dim_head * heads
            self.to_qkv = nn.Conv2d(dim, hidden_dim * 3, 1, bias=False)
            self.to_out = nn.Conv2d(hidden_dim, dim, 1)

        def forward(self, x: Any) -> Any:
            b, c, h, w = x.shape
            qkv = self.to_qkv(x).chunk(3, dim=1)
            q, k, v = map(lambda t: to_heads(t, self.heads), qkv)
            q = q * self.scale
            sim = torch.einsum("b h d i, b h d j -> b h i j", q, k)
            sim = sim - sim.amax(dim=-1, keepdim=True).detach()
            attn = sim.softmax(dim=-1)
            out = torch.einsum("b h i j, b h d j -> b h i d", attn, v)
            out = out.permute(0, 1, 3, 2).reshape(b, -1, h, w)  # "b h (x y) d -> b (h d) x y"
            return self.to_out(out)

    class LinearAttention(nn.Module):
        def __init__(self, dim: int, heads: int = 2, dim_head: int = 4) -> None:
            super().__init__()
            self.scale = dim_head**-0.5
            self.heads = heads
            hidden_dim = dim_head * heads
            self.to_qkv = nn.Conv2d(dim, hidden_dim * 3, 1, bias=False)
            self.to_out = nn.Sequential(nn.Conv2d(hidden_dim, dim, 1), nn.GroupNorm(1, dim))

        def forward(self, x: Any) -> Any:
            b, c, h, w = x.shape
            qkv = self.to_qkv(x).chunk(3, dim=1)
            q, k, v = map(lambda t: to_heads(t, self.heads), qkv)
            q = q.softmax(dim=-2)
            k = k.softmax(dim=-1)
            q = q * self.scale
            context = torch.einsum("b h d n, b h e n -> b h d e", k, v)
            out = torch.einsum("b h d e, b h d n -> b h e n", context, q)
            out = out.reshape(b, -1, h, w)  # "b h c (x y) -> b (h c) x y"
            return self.to_out(out)

    class PreNorm(nn.Module):
        def __init__(self, dim: int, fn: Any) -> None:
            super().__init__()
            self.fn = fn
            self.norm = nn.GroupNorm(1, dim)

        def forward(self, x: Any) -> Any:
            x = self.norm(x)
            return self.fn(x)

    class Unet(nn.Module):
        def __init__(
            self,
            dim: int,
            init_dim: int | None = None,
            out_dim: int | None = None,
            dim_mults: tuple = (1, 2, 4, 8),
            channels: int = 3,
            resnet_block_groups: int = 4,
        ) -> None:
            super().__init__()
            self.channels = channels
            init_dim = default(init_dim, dim)
            self.init_conv = nn.Conv2d(channels, init_dim, 1, padding=0)
            dims = [init_dim, *map(lambda m: dim * m, dim_mults)]
            in_out = list(zip(dims[:-1], dims[1:]))
            block_klass = partial(ResnetBlock, groups=resnet_block_groups)
            time_dim = dim * 4
            self.time_mlp = nn.Sequential(
                SinusoidalPositionEmbeddings(dim),
                nn.Linear(dim, time_dim),
                nn.GELU(),
                nn.Linear(time_dim, time_dim),
            )
            self.downs = nn.ModuleList([])
            self.ups = nn.ModuleList([])
            num_resolutions = len(in_out)
            for ind, (dim_in, dim_out) in enumerate(in_out):
                is_last = ind >= (num_resolutions - 1)
                self.downs.append(
                    nn.ModuleList(
                        [
                            block_klass(dim_in, dim_in, time_emb_dim=time_dim),
                            block_klass(dim_in, dim_in, time_emb_dim=time_dim),
                            Residual(PreNorm(dim_in, LinearAttention(dim_in))),
                            Downsample(dim_in, dim_out)
                            if not is_last
                            else nn.Conv2d(dim_in, dim_out, 3, padding=1),
                        ]
                    )
                )
            mid_dim = dims[-1]
            self.mid_block1 = block_klass(mid_dim, mid_dim, time_emb_dim=time_dim)
            self.mid_attn = Residual(PreNorm(mid_dim, Attention(mid_dim)))
            self.mid_block2 = block_klass(mid_dim, mid_dim, time_emb_dim=time_dim)
            for ind, (dim_in, dim_out) in enumerate(reversed(in_out)):
                is_last = ind == (len(in_out) - 1)
                self.ups.append(
                    nn.ModuleList(
                        [
                            block_klass(dim_out + dim_in, dim_out, time_emb_dim=time_dim),
                            block_klass(dim_out + dim_in, dim_out, time_emb_dim=time_dim),
                            Residual(PreNorm(dim_out, LinearAttention(dim_out))),
                            Upsample(dim_out, dim_in)
                            if not is_last
                            else nn.Conv2d(dim_out, dim_in, 3, padding=1),
                        ]
                    )
                )
            self.out_dim = default(out_dim, channels)
            self.final_res_block = block_klass(dim * 2, dim, time_emb_dim=time_dim)
            self.final_conv = nn.Conv2d(dim, self.out_dim, 1)

        def forward(self, x: Any, time: Any) -> Any:
            x = self.init_conv(x)
            r = x.clone()
            t = self.time_mlp(time)
            h = []
            for block1, block2, attn, downsample in self.downs:
                x = block1(x, t)
                h.append(x)
                x = block2(x, t)
                x = attn(x)
                h.append(x)
                x = downsample(x)
            x = self.mid_block1(x, t)
            x = self.mid_attn(x)
            x = self.mid_block2(x, t)
            for block1, block2, attn, upsample in self.ups:
                x = torch.cat((x, h.pop()), dim=1)
                x = block1(x, t)
                x = torch.cat((x, h.pop()), dim=1)
                x = block2(x, t)
                x = attn(x)
                x = upsample(x)
            x = torch.cat((x, r), dim=1)
            x = self.final_res_block(x, t)
            return self.final_conv(x)

    return Unet


def make_model(torch_like: Any) -> Any:
    return _classes(torch_like)(DIM, channels=CHANNELS, dim_mults=(1, 2))


def cosine_beta_schedule(torch_like: Any, timesteps: int, s: float = 0.008) -> Any:
    torch = torch_like
    steps = timesteps + 1
    x = torch.linspace(0, timesteps, steps)
    alphas_cumprod = torch.cos(((x / timesteps) + s) / (1 + s) * math.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    betas = 1 - (alphas_cumprod[1:] / alphas_cumprod[:-1])
    return torch.clip(betas, 0.0001, 0.9999)


def linear_beta_schedule(torch_like: Any, timesteps: int) -> Any:
    beta_start = 0.0001
    beta_end = 0.02
    return torch_like.linspace(beta_start, beta_end, timesteps)


def extract(a: Any, t: Any, x_shape: Any) -> Any:
    batch_size = t.shape[0]
    out = a.gather(-1, t.cpu())
    return out.reshape(batch_size, *((1,) * (len(x_shape) - 1))).to(t.device)


class Diffusion:
    """The module-level schedule tensors of the Annotated Diffusion notebook, gathered."""

    def __init__(self, torch_like: Any, betas: Any) -> None:
        torch = torch_like
        F = torch_like.nn.functional
        self.torch = torch
        self.betas = betas
        alphas = 1.0 - betas
        self.alphas_cumprod = torch.cumprod(alphas, axis=0)
        self.alphas_cumprod_prev = F.pad(self.alphas_cumprod[:-1], (1, 0), value=1.0)
        self.sqrt_recip_alphas = torch.sqrt(1.0 / alphas)
        self.sqrt_alphas_cumprod = torch.sqrt(self.alphas_cumprod)
        self.sqrt_one_minus_alphas_cumprod = torch.sqrt(1.0 - self.alphas_cumprod)
        self.sqrt_recip_alphas_cumprod = torch.sqrt(1.0 / self.alphas_cumprod)
        self.sqrt_recipm1_alphas_cumprod = torch.sqrt(1.0 / self.alphas_cumprod - 1)
        self.posterior_variance = (
            betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        )

    def q_sample(self, x_start: Any, t: Any, noise: Any) -> Any:
        sqrt_alphas_cumprod_t = extract(self.sqrt_alphas_cumprod, t, x_start.shape)
        sqrt_one_minus_alphas_cumprod_t = extract(
            self.sqrt_one_minus_alphas_cumprod, t, x_start.shape
        )
        return sqrt_alphas_cumprod_t * x_start + sqrt_one_minus_alphas_cumprod_t * noise

    def p_losses(
        self, denoise_model: Any, x_start: Any, t: Any, noise: Any, loss_type: str = "l1"
    ) -> Any:
        F = self.torch.nn.functional
        x_noisy = self.q_sample(x_start=x_start, t=t, noise=noise)
        predicted_noise = denoise_model(x_noisy, t)
        if loss_type == "l1":
            loss = F.l1_loss(noise, predicted_noise)
        elif loss_type == "l2":
            loss = F.mse_loss(noise, predicted_noise)
        elif loss_type == "huber":
            loss = F.smooth_l1_loss(noise, predicted_noise)
        else:
            raise NotImplementedError()
        return loss

    def predict_start_from_noise(self, x_t: Any, t: Any, noise: Any) -> Any:
        return (
            extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t
            - extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape) * noise
        )


def p_sample(
    torch_like: Any, diff: Diffusion, model: Any, x: Any, t: Any, t_index: int, noise: Any
):
    @torch_like.no_grad()
    def inner() -> Any:
        betas_t = extract(diff.betas, t, x.shape)
        sqrt_one_minus_alphas_cumprod_t = extract(diff.sqrt_one_minus_alphas_cumprod, t, x.shape)
        sqrt_recip_alphas_t = extract(diff.sqrt_recip_alphas, t, x.shape)
        model_mean = sqrt_recip_alphas_t * (
            x - betas_t * model(x, t) / sqrt_one_minus_alphas_cumprod_t
        )
        if t_index == 0:
            return model_mean
        posterior_variance_t = extract(diff.posterior_variance, t, x.shape)
        return model_mean + torch_like.sqrt(posterior_variance_t) * noise

    return inner()


def ddim_sample(torch_like: Any, diff: Diffusion, model: Any, img: Any, eta: float = 0.0):
    torch = torch_like
    batch, device, total_timesteps = img.shape[0], img.device, TIMESTEPS
    times = torch.linspace(-1, total_timesteps - 1, steps=DDIM_STEPS + 1)
    times = list(reversed(times.int().tolist()))
    time_pairs = list(zip(times[:-1], times[1:]))
    seen = []
    with torch.inference_mode():
        for time, time_next in time_pairs:
            time_cond = torch.full((batch,), time, device=device, dtype=torch.long)
            pred_noise = model(img, time_cond)
            x_start = diff.predict_start_from_noise(img, time_cond, pred_noise)
            x_start = torch.clamp(x_start, min=-1.0, max=1.0)
            seen.append(time)
            if time_next < 0:
                img = x_start
                continue
            alpha = diff.alphas_cumprod[time]
            alpha_next = diff.alphas_cumprod[time_next]
            sigma = eta * ((1 - alpha / alpha_next) * (1 - alpha_next) / (1 - alpha)).sqrt()
            c = (1 - alpha_next - sigma**2).sqrt()
            noise = torch.randn_like(img)
            img = x_start * alpha_next.sqrt() + c * pred_noise + sigma * noise
    return img, seen


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(31)
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    cosine = cosine_beta_schedule(torch_like, TIMESTEPS)
    values = cosine[::8].tolist()
    diff = Diffusion(torch_like, linear_beta_schedule(torch_like, TIMESTEPS))
    values += diff.alphas_cumprod_prev[:3].tolist() + diff.posterior_variance[::9].tolist()

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = np.tanh(rng.standard_normal((BATCH, CHANNELS, IMG, IMG)))
    for step, loss_type in zip(range(STEPS), ("huber", "l2", "l1")):
        optimizer.zero_grad()
        batch = as_tensor(torch_like, images)
        t = torch.from_numpy(rng.integers(0, TIMESTEPS, (BATCH,))).long()
        noise = torch.from_numpy(rng.standard_normal(batch.shape))
        loss = diff.p_losses(model, batch, t, noise, loss_type=loss_type)
        loss.backward()
        optimizer.step()
        values += [loss.item(), float(step)]

    model.eval()
    img = torch.from_numpy(rng.standard_normal((2, CHANNELS, IMG, IMG)))
    t = torch.full((2,), 5, dtype=torch.long)
    step_noise = torch.from_numpy(rng.standard_normal(img.shape))
    sampled = p_sample(torch_like, diff, model, img, t, 5, step_noise)
    values += [float(sampled.requires_grad)] + sampled[0, 0, 0].tolist()
    final, seen = ddim_sample(torch_like, diff, model, img)
    values += seen + [float(final.is_inference()), float(final.requires_grad)]
    values += final.flatten()[::5].tolist()
    return values
