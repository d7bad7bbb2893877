"""MAR, "Autoregressive Image Generation without Vector Quantization" (Li et al. 2024), as LTH14/mar
writes its per-token diffusion loss and random-order masking (``models/diffloss.py``,
``models/mar.py``, ``diffusion/gaussian_diffusion.py``, ``diffusion/diffusion_utils.py``,
``diffusion/__init__.py``), size-reduced.

The idioms: ``MAR.sample_orders`` (a NumPy permutation per image,
``torch.Tensor(np.array(orders)).cuda().long()`` as ``torch.Tensor(...).long()``) and
``random_masking`` (``num_masked_tokens = int(np.ceil(seq_len * mask_rate))``, ``mask =
torch.zeros(bsz, seq_len, device=x.device)``, ``torch.scatter(mask, dim=-1, index=orders[:,
:num_masked_tokens], src=torch.ones(bsz, seq_len, device=x.device))``); ``forward_loss``'s
``target.reshape(bsz * seq_len, -1).repeat(self.diffusion_batch_mul, 1)``, ``z.reshape(bsz *
seq_len, -1).repeat(...)``, ``mask.reshape(bsz * seq_len).repeat(...)``; ``DiffLoss.forward`` (``t =
torch.randint(0, self.train_diffusion.num_timesteps, (target.shape[0],), device=target.device)``
drawn with NumPy here, ``loss = terms["loss"]``, ``(loss * mask).sum() / mask.sum()``); the beta
schedule ``get_named_beta_schedule("cosine", ...)`` (``betas_for_alpha_bar`` with ``math.cos((t +
0.008) / 1.008 * math.pi / 2) ** 2``, ``np.array(betas)``) and ``GaussianDiffusion``'s NumPy tables
(``np.cumprod(alphas, axis=0)``, ``np.append(1.0, self.alphas_cumprod[:-1])``, ``np.sqrt(1.0 /
self.alphas_cumprod - 1)``, the clipped log posterior variance); ``q_sample`` through
``_extract_into_tensor`` (``res =
th.from_numpy(arr).to(device=timesteps.device)[timesteps].float()``, ``while len(res.shape) <
len(broadcast_shape): res = res[..., None]``, ``res + th.zeros(broadcast_shape,
device=timesteps.device)``); ``training_losses``' ``mean_flat((target - model_output) ** 2)`` with
the learned-sigma split ``th.split(model_output, C, dim=1)`` and the variational bound term on
``frozen_out = th.cat([model_output.detach(), model_var_values], dim=1)`` (``normal_kl``,
``discretized``-free continuous ``vb`` as in MAR's ``learn_sigma``, ``mean_flat(kl) /
np.log(2.0)``); ``SimpleMLPAdaLN`` (``TimestepEmbedder.timestep_embedding`` with
``torch.exp(-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32) / half)``,
``modulate(x, shift, scale) = x * (1 + scale) + shift``, ``ResBlock``'s
``self.adaLN_modulation(y).chunk(3, dim=-1)`` and ``x + gate_mlp * h``, ``FinalLayer``'s ``chunk(2,
dim=-1)``, the zero-init of ``adaLN_modulation[-1]`` and the final linear via ``nn.init.constant_``,
``nn.init.xavier_uniform_`` on the rest); ``AdamW(betas=(0.9, 0.95))`` with an EMA of the parameters
``ema_param.mul_(0.999).add_(param, alpha=0.001)`` (zipped over ``model.parameters()``).

Changed: the ViT encoder/decoder -> an ``nn.Linear`` conditioning on the visible tokens' mean; 2
images of 4 tokens of dimension 3, ``diffusion_batch_mul`` 4 -> 2, 50 cosine steps, width 16, depth
2, 3 steps; ``torch.randint`` / ``torch.randn`` draws made with NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import as_tensor, load_numpy_state

__all__ = ["make_model", "run"]

DTYPE = "float32"  # MAR casts its diffusion tables with `.float()`
TOKEN_DIM, SEQ_LEN, BSZ, WIDTH, DEPTH, T_STEPS, MUL, STEPS, Z_DIM = 3, 4, 2, 16, 2, 50, 2, 3, 8


def betas_for_alpha_bar(
    num_diffusion_timesteps: int, alpha_bar: Any, max_beta: float = 0.999
) -> Any:
    betas = []
    for i in range(num_diffusion_timesteps):
        t1 = i / num_diffusion_timesteps
        t2 = (i + 1) / num_diffusion_timesteps
        betas.append(min(1 - alpha_bar(t2) / alpha_bar(t1), max_beta))
    return np.array(betas)


class DiffusionTables:
    def __init__(self) -> None:
        betas = betas_for_alpha_bar(
            T_STEPS, lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
        )
        self.num_timesteps = int(betas.shape[0])
        alphas = 1.0 - betas
        self.alphas_cumprod = np.cumprod(alphas, axis=0)
        self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
        self.sqrt_alphas_cumprod = np.sqrt(self.alphas_cumprod)
        self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - self.alphas_cumprod)
        self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod)
        self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod - 1)
        self.betas = betas
        self.posterior_variance = (
            betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        )
        self.posterior_log_variance_clipped = np.log(
            np.append(self.posterior_variance[1], self.posterior_variance[1:])
        )
        self.posterior_mean_coef1 = (
            betas * np.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        )
        self.posterior_mean_coef2 = (
            (1.0 - self.alphas_cumprod_prev) * np.sqrt(alphas) / (1.0 - self.alphas_cumprod)
        )


def _extract_into_tensor(th: Any, arr: np.ndarray, timesteps: Any, broadcast_shape: tuple) -> Any:
    res = th.from_numpy(arr).to(device=timesteps.device)[timesteps].float()
    while len(res.shape) < len(broadcast_shape):
        res = res[..., None]
    return res + th.zeros(broadcast_shape, device=timesteps.device)


def mean_flat(tensor: Any) -> Any:
    return tensor.mean(dim=list(range(1, len(tensor.shape))))


def normal_kl(th: Any, mean1: Any, logvar1: Any, mean2: Any, logvar2: Any) -> Any:
    return 0.5 * (
        -1.0
        + logvar2
        - logvar1
        + th.exp(logvar1 - logvar2)
        + ((mean1 - mean2) ** 2) * th.exp(-logvar2)
    )


def training_losses(
    th: Any, diff: DiffusionTables, model: Any, x_start: Any, t: Any, c: Any, noise: Any
) -> Any:
    shape = x_start.shape
    x_t = (
        _extract_into_tensor(th, diff.sqrt_alphas_cumprod, t, shape) * x_start
        + _extract_into_tensor(th, diff.sqrt_one_minus_alphas_cumprod, t, shape) * noise
    )
    model_output = model(x_t, t, c)
    B, C = x_t.shape[:2]
    assert model_output.shape == (B, C * 2, *x_t.shape[2:])
    model_output, model_var_values = th.split(model_output, C, dim=1)
    frozen_out = th.cat([model_output.detach(), model_var_values], dim=1)
    # the variational bound with the frozen mean (learn_sigma)
    eps, var_values = th.split(frozen_out, C, dim=1)
    min_log = _extract_into_tensor(th, diff.posterior_log_variance_clipped, t, shape)
    max_log = _extract_into_tensor(th, np.log(diff.betas), t, shape)
    frac = (var_values + 1) / 2
    model_log_variance = frac * max_log + (1 - frac) * min_log
    pred_xstart = (
        _extract_into_tensor(th, diff.sqrt_recip_alphas_cumprod, t, shape) * x_t
        - _extract_into_tensor(th, diff.sqrt_recipm1_alphas_cumprod, t, shape) * eps
    )
    model_mean = (
        _extract_into_tensor(th, diff.posterior_mean_coef1, t, shape) * pred_xstart
        + _extract_into_tensor(th, diff.posterior_mean_coef2, t, shape) * x_t
    )
    true_mean = (
        _extract_into_tensor(th, diff.posterior_mean_coef1, t, shape) * x_start
        + _extract_into_tensor(th, diff.posterior_mean_coef2, t, shape) * x_t
    )
    kl = normal_kl(th, true_mean, min_log, model_mean, model_log_variance)
    vb = mean_flat(kl) / np.log(2.0)
    mse = mean_flat((noise - model_output) ** 2)
    return {"loss": mse + vb, "mse": mse, "vb": vb}


def make_model(torch_like: Any) -> Any:
    torch, nn = torch_like, torch_like.nn

    def modulate(x: Any, shift: Any, scale: Any) -> Any:
        return x * (1 + scale) + shift

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
            return embedding

        def forward(self, t: Any) -> Any:
            t_freq = self.timestep_embedding(t, self.frequency_embedding_size)
            return self.mlp(t_freq)

    class ResBlock(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.in_ln = nn.LayerNorm(channels, eps=1e-6)
            self.mlp = nn.Sequential(
                nn.Linear(channels, channels, bias=True),
                nn.SiLU(),
                nn.Linear(channels, channels, bias=True),
            )
            self.adaLN_modulation = nn.Sequential(
                nn.SiLU(), nn.Linear(channels, 3 * channels, bias=True)
            )

        def forward(self, x: Any, y: Any) -> Any:
            shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(y).chunk(3, dim=-1)
            h = modulate(self.in_ln(x), shift_mlp, scale_mlp)
            h = self.mlp(h)
            return x + gate_mlp * h

    class FinalLayer(nn.Module):
        def __init__(self, model_channels: int, out_channels: int) -> None:
            super().__init__()
            self.norm_final = nn.LayerNorm(model_channels, elementwise_affine=False, eps=1e-6)
            self.linear = nn.Linear(model_channels, out_channels, bias=True)
            self.adaLN_modulation = nn.Sequential(
                nn.SiLU(), nn.Linear(model_channels, 2 * model_channels, bias=True)
            )

        def forward(self, x: Any, c: Any) -> Any:
            shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
            x = modulate(self.norm_final(x), shift, scale)
            return self.linear(x)

    class SimpleMLPAdaLN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.time_embed = TimestepEmbedder(WIDTH)
            self.cond_embed = nn.Linear(Z_DIM, WIDTH)
            self.input_proj = nn.Linear(TOKEN_DIM, WIDTH)
            self.res_blocks = nn.ModuleList([ResBlock(WIDTH) for _ in range(DEPTH)])
            self.final_layer = FinalLayer(WIDTH, TOKEN_DIM * 2)
            self.initialize_weights()

        def initialize_weights(self) -> None:
            def _basic_init(module: Any) -> None:
                if isinstance(module, nn.Linear):
                    torch.nn.init.xavier_uniform_(module.weight)
                    if module.bias is not None:
                        nn.init.constant_(module.bias, 0)

            self.apply(_basic_init)
            nn.init.normal_(self.time_embed.mlp[0].weight, std=0.02)
            nn.init.normal_(self.time_embed.mlp[2].weight, std=0.02)
            for block in self.res_blocks:
                nn.init.constant_(block.adaLN_modulation[-1].weight, 0)
                nn.init.constant_(block.adaLN_modulation[-1].bias, 0)
            nn.init.constant_(self.final_layer.adaLN_modulation[-1].weight, 0)
            nn.init.constant_(self.final_layer.adaLN_modulation[-1].bias, 0)
            nn.init.constant_(self.final_layer.linear.weight, 0)
            nn.init.constant_(self.final_layer.linear.bias, 0)

        def forward(self, x: Any, t: Any, c: Any) -> Any:
            x = self.input_proj(x)
            t = self.time_embed(t)
            c = self.cond_embed(c)
            y = t + c
            for block in self.res_blocks:
                x = block(x, y)
            return self.final_layer(x, y)

    class MARLite(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.z_proj = nn.Linear(TOKEN_DIM + 1, Z_DIM)
            self.pos = nn.Parameter(torch.zeros(1, SEQ_LEN, Z_DIM))
            self.net = SimpleMLPAdaLN()

        def forward(self, x: Any, mask: Any) -> Any:
            visible = x * (1 - mask).unsqueeze(-1)
            z = self.z_proj(torch.cat([visible, mask.unsqueeze(-1)], dim=-1)) + self.pos
            return z + z.mean(dim=1, keepdim=True)

    return MARLite()


def run(torch_like: Any, init: dict) -> list[float]:
    torch = torch_like
    model = make_model(torch_like)
    load_numpy_state(torch_like, model, init)
    # the tables are float64 NumPy: the program runs in float32 through ``.float()``
    diff = DiffusionTables()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.02)
    ema_params = [p.detach().clone() for p in model.parameters()]
    rng = np.random.default_rng(101)
    values: list[float] = []
    for step in range(STEPS):
        x = as_tensor(torch, rng.standard_normal((BSZ, SEQ_LEN, TOKEN_DIM)).astype(np.float32))
        orders = []
        for _ in range(BSZ):
            order = np.array(list(range(SEQ_LEN)))
            rng.shuffle(order)
            orders.append(order)
        orders = torch.Tensor(np.array(orders)).long()
        bsz, seq_len, embed_dim = x.shape
        mask_rate = [0.5, 0.75, 1.0][step]
        num_masked_tokens = int(np.ceil(seq_len * mask_rate))
        mask = torch.zeros(bsz, seq_len, device=x.device)
        mask = torch.scatter(
            mask,
            dim=-1,
            index=orders[:, :num_masked_tokens],
            src=torch.ones(bsz, seq_len, device=x.device),
        )
        z = model(x, mask)
        target = x.reshape(bsz * seq_len, -1).repeat(MUL, 1)
        z = z.reshape(bsz * seq_len, -1).repeat(MUL, 1)
        mask_flat = mask.reshape(bsz * seq_len).repeat(MUL)
        t = as_tensor(torch, rng.integers(0, diff.num_timesteps, (target.shape[0],)))
        noise = as_tensor(torch, rng.standard_normal(target.shape).astype(np.float32))
        terms = training_losses(torch, diff, model.net, target, t, z, noise)
        loss = terms["loss"]
        loss = (loss * mask_flat).sum() / mask_flat.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for ema_param, param in zip(ema_params, model.parameters()):
                ema_param.mul_(0.999).add_(param, alpha=0.001)
        values.extend([loss.item(), terms["vb"].mean().item(), mask.sum().item()])
    values.append(sum(p.sum().item() for p in ema_params))
    return values
