"""Karras et al. 2022 "Elucidating the Design Space of Diffusion-Based Generative Models" as
NVlabs/edm (``training/networks.py``'s ``EDMPrecond``, ``training/loss.py``'s ``EDMLoss``,
``generate.py``'s ``edm_sampler``) and k-diffusion write it, size-reduced: ``EDMPrecond.forward``
(``sigma = sigma.to(torch.float32).reshape(-1, 1)``, ``c_skip = sigma_data ** 2 / (sigma ** 2 +
sigma_data ** 2)``, ``c_out = sigma * sigma_data / (sigma ** 2 + sigma_data ** 2).sqrt()``,
``c_in = 1 / (sigma_data ** 2 + sigma ** 2).sqrt()``, ``c_noise = sigma.log() / 4``, ``F_x =
self.model((c_in * x).to(dtype), c_noise.flatten())``, ``D_x = c_skip * x + c_out *
F_x.to(torch.float32)``) with ``round_sigma`` (``torch.as_tensor(sigma)``); ``EDMLoss``
(``rnd_normal = torch.randn([B, 1])``, ``sigma = (rnd_normal * P_std + P_mean).exp()``,
``weight = (sigma ** 2 + sigma_data ** 2) / (sigma * sigma_data) ** 2``, ``n = torch.randn_like(y)
* sigma``, ``loss = weight * ((D_yn - y) ** 2)``, summed per sample as the training loop's
``loss.sum().mul(loss_scaling / batch_gpu_total)``); the Karras sigma schedule (``step_indices =
torch.arange(num_steps, dtype=torch.float64)``, ``t_steps = (sigma_max ** (1 / rho) + step_indices
/ (num_steps - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho``, ``t_steps =
torch.cat([net.round_sigma(t_steps), torch.zeros_like(t_steps[:1])])``); and the deterministic
Heun sampler (``S_churn = 0`` so ``gamma = 0`` and ``t_hat = t_cur``; the Euler step ``d_cur =
(x_hat - denoised) / t_hat``; the 2nd-order correction ``x_next = x_hat + (t_next - t_hat) * (0.5
* d_cur + 0.5 * d_prime)`` when ``i < num_steps - 1``) with ``x_next = latents.to(torch.float64)
* t_steps[0]`` under ``torch.no_grad()``; the model's Fourier noise embedding as
``FourierEmbedding`` (a fixed ``register_buffer("freqs", torch.randn(num_channels // 2) *
scale)``, ``x.ger((2 * np.pi * self.freqs).to(x.dtype))``, ``torch.cat([x.cos(), x.sin()],
dim=1)``); ``torch.optim.Adam`` with the EDM learning-rate ramp-up (``g["lr"] = lr *
min(cur_nimg / max(lr_rampup_kimg * 1000, 1e-8), 1)``) and ``torch.nan_to_num(param.grad, nan=0,
posinf=1e5, neginf=-1e5, out=param.grad)``.

Changed: CIFAR-10 is 32 NumPy 4-D vectors from two clusters; the SongUNet/DhariwalUNet is a
4 -> 16 -> 4 MLP conditioned on the noise embedding; ``torch.randn`` draws come from a seeded NumPy
generator (the frameworks' generators differ); 30 steps of batch 8; 6 sampler steps (18 in EDM)
on 16 latents; ``sigma_max`` 80 -> 20. The network runs in float64 (``use_fp16=False``) while
the preconditioning math is float32 as in EDM, so the compared values have float32 tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DTYPE = "float32"
RTOL, ATOL = 2e-4, 1e-5
DIM, HIDDEN, EMB, STEPS, BATCH = 4, 16, 8, 30, 8


def _precond_class(torch_like: Any) -> type:
    torch, nn = torch_like, torch_like.nn

    class FourierEmbedding(nn.Module):
        def __init__(self, num_channels: int, scale: float = 16) -> None:
            super().__init__()
            self.register_buffer("freqs", torch.randn(num_channels // 2) * scale)

        def forward(self, x: Any) -> Any:
            x = x.ger((2 * np.pi * self.freqs).to(x.dtype))
            x = torch.cat([x.cos(), x.sin()], dim=1)
            return x

    class Denoiser(nn.Module):
        def __init__(self, dim: int = DIM, hidden: int = HIDDEN, emb: int = EMB) -> None:
            super().__init__()
            self.map_noise = FourierEmbedding(num_channels=emb, scale=1.0)
            self.map_layer = nn.Linear(emb, hidden)
            self.inp = nn.Linear(dim, hidden)
            self.mid = nn.Linear(hidden, hidden)
            self.out = nn.Linear(hidden, dim)

        def forward(self, x: Any, noise_labels: Any) -> Any:
            emb = torch.nn.functional.silu(self.map_layer(self.map_noise(noise_labels)))
            h = torch.nn.functional.silu(self.inp(x) + emb)
            h = torch.nn.functional.silu(self.mid(h))
            return self.out(h)

    class EDMPrecond(nn.Module):
        def __init__(
            self,
            sigma_min: float = 0,
            sigma_max: float = float("inf"),
            sigma_data: float = 0.5,
            use_fp16: bool = False,
        ) -> None:
            super().__init__()
            self.sigma_min = sigma_min
            self.sigma_max = sigma_max
            self.sigma_data = sigma_data
            self.use_fp16 = use_fp16
            self.model = Denoiser()

        def forward(self, x: Any, sigma: Any) -> Any:
            x = x.to(torch.float32)
            sigma = sigma.to(torch.float32).reshape(-1, 1)
            dtype = torch.float16 if self.use_fp16 else torch.float64

            c_skip = self.sigma_data**2 / (sigma**2 + self.sigma_data**2)
            c_out = sigma * self.sigma_data / (sigma**2 + self.sigma_data**2).sqrt()
            c_in = 1 / (self.sigma_data**2 + sigma**2).sqrt()
            c_noise = sigma.log() / 4

            F_x = self.model((c_in * x).to(dtype), c_noise.flatten().to(dtype))
            assert F_x.dtype == dtype
            D_x = c_skip * x + c_out * F_x.to(torch.float32)
            return D_x

        def round_sigma(self, sigma: Any) -> Any:
            return torch.as_tensor(sigma)

    return EDMPrecond


def make_model(torch_like: Any) -> Any:
    return _precond_class(torch_like)()


def _data(rng: np.random.Generator) -> np.ndarray:
    centers = np.array([[1.0, -1.0, 0.5, 0.0], [-1.0, 0.5, -0.5, 1.0]]) * 0.6
    return (centers[rng.integers(0, 2, 32)] + 0.05 * rng.standard_normal((32, DIM))).astype(
        np.float32
    )


def run(torch_like: Any, init: dict | None) -> list[float]:
    torch = torch_like
    rng = np.random.default_rng(11)
    data = torch.from_numpy(_data(rng))
    net = make_model(torch_like)
    if init is not None:
        net.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    net.model.to(torch.float64)

    P_mean, P_std, sigma_data = -1.2, 1.2, 0.5

    def randn(*shape: int) -> Any:
        return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))

    def edm_loss(net: Any, images: Any) -> Any:
        rnd_normal = randn(images.shape[0], 1)  # torch.randn([B, 1])
        sigma = (rnd_normal * P_std + P_mean).exp()
        weight = (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2
        y = images
        n = randn(*y.shape) * sigma  # torch.randn_like(y) * sigma
        D_yn = net(y + n, sigma)
        loss = weight * ((D_yn - y) ** 2)
        return loss

    lr, lr_rampup_kimg, batch_gpu_total, loss_scaling = 3e-3, 0.1, BATCH, 1.0
    optimizer = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    values: list[float] = []
    cur_nimg = 0
    net.train().requires_grad_(True)
    for _step in range(STEPS):
        optimizer.zero_grad(set_to_none=True)
        images = data[torch.from_numpy(rng.integers(0, data.shape[0], BATCH))]
        loss = edm_loss(net=net, images=images)
        loss.sum().mul(loss_scaling / batch_gpu_total).backward()
        for g in optimizer.param_groups:
            g["lr"] = lr * min(cur_nimg / max(lr_rampup_kimg * 1000, 1e-8), 1)
        for param in net.parameters():
            if param.grad is not None:
                torch.nan_to_num(param.grad, nan=0, posinf=1e5, neginf=-1e5, out=param.grad)
        optimizer.step()
        cur_nimg += batch_gpu_total
        values += [loss.sum().item() / BATCH, optimizer.param_groups[0]["lr"]]

    # preconditioning coefficients at a few sigmas
    sig = torch.tensor([0.002, 0.5, 80.0])
    s = sig.reshape(-1, 1)
    values += (sigma_data**2 / (s**2 + sigma_data**2)).flatten().tolist()
    values += (s.log() / 4).flatten().tolist()

    @torch.no_grad()
    def edm_sampler(
        net: Any,
        latents: Any,
        num_steps: int = 6,
        sigma_min: float = 0.002,
        sigma_max: float = 20,
        rho: float = 7,
        S_churn: float = 0,
        S_min: float = 0,
        S_max: float = float("inf"),
        S_noise: float = 1,
    ) -> tuple[Any, Any]:
        sigma_min = max(sigma_min, net.sigma_min)
        sigma_max = min(sigma_max, net.sigma_max)

        # Time step discretization.
        step_indices = torch.arange(num_steps, dtype=torch.float64, device=latents.device)
        t_steps = (
            sigma_max ** (1 / rho)
            + step_indices / (num_steps - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))
        ) ** rho
        t_steps = torch.cat([net.round_sigma(t_steps), torch.zeros_like(t_steps[:1])])  # t_N = 0

        # Main sampling loop.
        x_next = latents.to(torch.float64) * t_steps[0]
        for i, (t_cur, t_next) in enumerate(zip(t_steps[:-1], t_steps[1:])):  # 0, ..., N-1
            x_cur = x_next

            # Increase noise temporarily.
            gamma = min(S_churn / num_steps, np.sqrt(2) - 1) if S_min <= t_cur <= S_max else 0
            t_hat = net.round_sigma(t_cur + gamma * t_cur)
            x_hat = x_cur + (t_hat**2 - t_cur**2).sqrt() * S_noise * torch.zeros_like(x_cur)

            # Euler step.
            denoised = net(x_hat, t_hat.expand(x_hat.shape[0])).to(torch.float64)
            d_cur = (x_hat - denoised) / t_hat
            x_next = x_hat + (t_next - t_hat) * d_cur

            # Apply 2nd order correction.
            if i < num_steps - 1:
                denoised = net(x_next, t_next.expand(x_next.shape[0])).to(torch.float64)
                d_prime = (x_next - denoised) / t_next
                x_next = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)

        return x_next, t_steps

    net.eval()
    latents = randn(16, DIM)
    x, t_steps = edm_sampler(net, latents)
    values += t_steps.tolist()
    values += [float(x.dtype == torch.float64), float(t_steps.dtype == torch.float64)]
    values += [x.mean().item(), x.std().item(), x.abs().max().item()]
    values += x[0].tolist()
    return values
